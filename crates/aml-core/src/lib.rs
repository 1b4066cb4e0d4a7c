//! What every aml-* crate shares and no backend owns: errors and exit codes, settings,
//! Azure ML v2 YAML and references, the model, job and endpoint types both backends
//! speak, digests and file trees, job plans, child processes, CI output and CLI plumbing.
//! It knows nothing about HTTP, SQLite or any backend.

pub mod approvals;
pub mod arm_template;
pub mod chart;
pub mod ci;
pub mod cli;
pub mod collected;
pub mod components;
pub mod data_assets;
pub mod digest;
pub mod duration;
pub mod environments;
pub mod error;
pub mod ids;
pub mod job_view;
pub mod jobplan;
pub mod jobs;
pub mod lineage;
pub mod location;
pub mod logging;
pub mod model;
pub mod names;
pub mod online;
pub mod process;
pub mod progress;
pub mod redact;
pub mod refs;
pub mod requests;
pub mod rules;
pub mod settings;
pub mod time;
pub mod tree;
pub mod usage;
pub mod yaml;

#[cfg(test)]
mod properties;

pub use error::{Error, Result};
