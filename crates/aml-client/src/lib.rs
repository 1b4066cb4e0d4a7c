//! The façade every aml-* tool imports. `Workspace` is the seam between the tools and the
//! backends: an enum with one variant per backend, so a tool names no backend and only this
//! crate knows both. The vocabulary the tools share (errors, YAML, references, CI output,
//! CLI plumbing) is re-exported from `aml-core`; images from `aml-oci`; scoring and CI REST
//! calls from `aml-http`; Azure Databricks compute from `aml-databricks`.

pub mod infra;
pub mod workspace;

pub use aml_core::{
    approvals, arm_template, chart, ci, cli, collected, components, data_assets, digest, duration, environments, error,
    ids, job_view, jobplan, jobs, lineage, location, model, names, online, process, progress, refs, requests, rules,
    settings, status, time, tree, usage, yaml,
};
pub use aml_databricks as databricks;
pub use aml_http::{get as http, scoring, url};
pub use aml_oci as oci;

#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result};
pub use location::Access;
pub use workspace::Workspace;
