//! The one library the aml-* tools share: the `Workspace` seam and its local backend,
//! Azure ML v2 YAML, references, CLI plumbing, CI output and the error type.

pub mod approvals;
pub mod azure;
pub mod ci;
pub mod cli;
pub mod databricks;
pub mod digest;
pub mod duration;
pub mod error;
pub mod http;
pub mod ids;
pub mod jobplan;
pub mod jobs;
pub mod lineage;
pub mod local;
pub mod model;
pub mod oci;
pub mod online;
pub mod process;
pub mod refs;
pub mod scoring;
pub mod time;
pub mod tree;
pub mod workspace;
pub mod yaml;

#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result};
pub use workspace::{Access, Workspace};
