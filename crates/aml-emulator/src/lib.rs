//! A strict stand-in for Azure in tests: Azure ML's ARM subset the tools use and the token
//! endpoints (Entra client credentials and federated assertions, App Service managed
//! identity, GitHub Actions' OIDC request) over TLS on 127.0.0.1 with a self-signed leaf
//! certificate, since azure_identity refuses a non-https authority. Every request body and
//! every answer is held to the classes Microsoft generated from the REST spec
//! (`schema.rs`); anything else is a violation that fails the test. Faults can be injected
//! per operation. Blob storage is Azurite (`azurite.rs`), reached through a proxy that can
//! drop connections mid-body (`proxy.rs`).

mod acr;
mod arm;
pub mod azurite;
mod batch;
mod blob_rest;
mod cluster;
mod code_hash;
pub mod common;
pub mod databricks;
mod deployments;
pub mod harness;
mod insights;
mod jobs;
mod online;
pub mod proxy;
mod resources;
mod runner;
pub mod schema;
mod server;
mod state;

pub use common::{
    ACR_HOST, CLIENT_ID, CLIENT_SECRET, FEDERATED_ASSERTION, GITHUB_REQUEST_TOKEN, IDENTITY_HEADER, RESOURCE_GROUP,
    SUBSCRIPTION, Storage, TENANT, WORKSPACE, databricks_schema, oracle_schema, parse_form, repo_root,
};
pub use server::Emulator;
pub use state::Fault;
