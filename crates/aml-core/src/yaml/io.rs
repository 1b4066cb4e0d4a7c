//! A job's inputs and outputs as `az ml` writes them: literals, data assets by type, path
//! and mode, and output bindings. Shared by every kind of job.

use std::fmt;

use serde::de::{MapAccess, Visitor, value::MapAccessDeserializer};
use serde::{Deserialize, Deserializer, Serialize};

use super::Scalar;

/// An input value: a literal (`0.5`, `"${{parent.inputs.x}}"`) or an asset (`{type, path, mode}`).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum JobInput {
    Literal(Literal),
    Asset(AssetInput),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Literal {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Bool(b) => write!(f, "{}", if *b { "True" } else { "False" }),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => write!(f, "{x}"),
            Literal::Str(s) => f.write_str(s),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AssetInput {
    #[serde(rename = "type", default = "default_input_type")]
    pub kind: AssetType,
    pub path: Option<String>,
    pub mode: Option<InputMode>,
    pub datastore: Option<String>,
    pub path_on_compute: Option<String>,
    pub description: Option<String>,
}

fn default_input_type() -> AssetType {
    AssetType::UriFolder
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetType {
    UriFile,
    /// `path`, azure-ai-ml's older name for a folder, means the same.
    #[serde(alias = "path")]
    UriFolder,
    Mltable,
    MlflowModel,
    CustomModel,
    TritonModel,
}

impl AssetType {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::UriFile => "uri_file",
            AssetType::UriFolder => "uri_folder",
            AssetType::Mltable => "mltable",
            AssetType::MlflowModel => "mlflow_model",
            AssetType::CustomModel => "custom_model",
            AssetType::TritonModel => "triton_model",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputMode {
    RoMount,
    Download,
    Direct,
    EvalMount,
    EvalDownload,
}

impl<'de> Deserialize<'de> for JobInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct InputVisitor;
        impl<'de> Visitor<'de> for InputVisitor {
            type Value = JobInput;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a literal value or a mapping with `type` and `path`")
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<JobInput, E> {
                Ok(JobInput::Literal(Literal::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<JobInput, E> {
                Ok(JobInput::Literal(Literal::Int(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<JobInput, E> {
                i64::try_from(v).map(|v| JobInput::Literal(Literal::Int(v))).map_err(|_| E::custom("integer too large"))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<JobInput, E> {
                Ok(JobInput::Literal(Literal::Float(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<JobInput, E> {
                Ok(JobInput::Literal(Literal::Str(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<JobInput, A::Error> {
                AssetInput::deserialize(MapAccessDeserializer::new(map)).map(JobInput::Asset)
            }
        }
        deserializer.deserialize_any(InputVisitor)
    }
}

/// An output: nothing (a folder), `{type, mode, path}`, or a binding `${{parent.outputs.x}}`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum JobOutput {
    Default,
    Binding(String),
    Asset(AssetOutput),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AssetOutput {
    #[serde(rename = "type", default = "default_input_type")]
    pub kind: AssetType,
    pub mode: Option<OutputMode>,
    pub path: Option<String>,
    pub name: Option<String>,
    pub version: Option<Scalar>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputMode {
    /// `mount`, azure-ai-ml's older spelling, means the same.
    #[serde(alias = "mount")]
    RwMount,
    Upload,
    Direct,
}

impl JobOutput {
    pub fn kind(&self) -> AssetType {
        match self {
            JobOutput::Asset(a) => a.kind,
            _ => AssetType::UriFolder,
        }
    }
}

impl<'de> Deserialize<'de> for JobOutput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct OutputVisitor;
        impl<'de> Visitor<'de> for OutputVisitor {
            type Value = JobOutput;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("nothing, a binding like `${{parent.outputs.x}}`, or a mapping with `type`")
            }
            fn visit_unit<E>(self) -> std::result::Result<JobOutput, E> {
                Ok(JobOutput::Default)
            }
            fn visit_none<E>(self) -> std::result::Result<JobOutput, E> {
                Ok(JobOutput::Default)
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<JobOutput, E> {
                Ok(JobOutput::Binding(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<JobOutput, A::Error> {
                AssetOutput::deserialize(MapAccessDeserializer::new(map)).map(JobOutput::Asset)
            }
        }
        deserializer.deserialize_any(OutputVisitor)
    }
}
