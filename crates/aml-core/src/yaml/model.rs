//! Model assets as `az ml model create --file` reads them (ModelSchema in azure-ai-ml).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use yaml_serde::Value;

use super::{OrderedMap, Scalar, SetArg, string_map};
use crate::error::Result;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, deserialize_with = "crate::names::optional_model")]
    pub name: Option<String>,
    pub version: Option<Scalar>,
    /// A local file or folder, or `azureml://jobs/<job>/outputs/<output>`.
    pub path: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<ModelType>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub properties: OrderedMap<String>,
    pub stage: Option<String>,
    pub flavors: Option<Value>,
    pub job_name: Option<String>,
    pub datastore: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum ModelType {
    CustomModel,
    MlflowModel,
    TritonModel,
}

impl ModelType {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelType::CustomModel => "custom_model",
            ModelType::MlflowModel => "mlflow_model",
            ModelType::TritonModel => "triton_model",
        }
    }
}

/// A model file with the folder its relative `path` is resolved against.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    pub file: PathBuf,
    pub spec: ModelSpec,
}

pub fn load_model(path: &Path, sets: &[SetArg]) -> Result<LoadedModel> {
    let text = super::read(path)?;
    let spec = super::parse_with_sets(path, &text, sets)?;
    Ok(LoadedModel { file: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()), spec })
}

impl std::str::FromStr for ModelType {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s.to_string()))
            .map_err(|_| format!("unknown model type `{s}`"))
    }
}
