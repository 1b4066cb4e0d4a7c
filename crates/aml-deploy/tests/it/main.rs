//! `aml-deploy`'s integration tests, one binary for the crate (fewer links, less disk): a module
//! per area, each running the real binaries.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is the test failing

mod analysis;
mod azure;
mod batch;
mod batch_azure;
mod collection;
mod data_collection;
mod deploy;
mod diabetes;
mod hostile;
mod kubernetes;
mod limits;
mod metrics;
