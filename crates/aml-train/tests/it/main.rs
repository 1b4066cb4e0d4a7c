//! `aml-train`'s integration tests, one binary for the crate (fewer links, less disk): a module
//! per area, each running the real binaries.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is the test failing

mod azure;
mod corpus;
mod databricks;
mod diabetes;
mod oracle;
mod parallel;
mod registry_environments;
mod run;
mod validate;
