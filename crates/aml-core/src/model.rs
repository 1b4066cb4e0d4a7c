//! Model versions as both backends describe them: the same names Azure ML uses
//! (name, version, type, tags, properties), plus our digest, metrics and lineage.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::yaml::model::ModelType;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    pub digest: Digest,
    pub kind: ModelType,
    pub description: Option<String>,
    /// What was registered: a path, or `azureml://jobs/<job>/outputs/<output>`.
    pub source: String,
    pub size: u64,
    pub file_count: u64,
    pub tags: BTreeMap<String, String>,
    pub properties: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
    pub lineage: Lineage,
    pub created_at: String,
    pub created_by: Option<String>,
}

impl ModelVersion {
    pub fn id(&self) -> String {
        format!("{}:{}", self.name, self.version)
    }
}

/// Where a model version came from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Lineage {
    /// The job whose output was registered.
    pub job: Option<String>,
    pub experiment: Option<String>,
    /// Digest of the job's code snapshot.
    pub code_digest: Option<Digest>,
    pub git: Option<GitInfo>,
    /// Data the job read, with digests of the bytes it saw.
    #[serde(default)]
    pub data: Vec<DataInput>,
    pub created_by: Option<String>,
    pub created_at: Option<String>,
    pub ci_run: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GitInfo {
    pub commit: String,
    /// Uncommitted changes existed when the lineage was taken.
    pub dirty: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataInput {
    pub input: String,
    pub uri: String,
    pub digest: Option<Digest>,
}

/// A request to register a model version.
#[derive(Debug, Clone)]
pub struct NewModelVersion {
    pub name: String,
    pub version: Option<String>,
    pub kind: ModelType,
    pub description: Option<String>,
    pub source: String,
    pub source_path: PathBuf,
    pub tags: BTreeMap<String, String>,
    pub properties: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
    pub lineage: Lineage,
    pub force_new: bool,
}

#[derive(Debug, Clone)]
pub struct Registered {
    pub version: ModelVersion,
    /// The same bytes were already registered under this name; nothing new was stored.
    pub reused: bool,
}

/// Which version of a model a reference means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSelector {
    Exact(String),
    Latest,
    Tag { key: String, value: String },
}
