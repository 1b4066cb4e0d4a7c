//! Command components (`component: ./train.yml` in a pipeline step), as CommandComponentSchema
//! in azure-ai-ml: declared inputs with defaults, outputs, and the command to run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use yaml_serde::Value;

use super::environment::EnvironmentRef;
use super::io::{AssetType, InputMode, Literal, OutputMode};
use super::{OrderedMap, Scalar, string_map};
use crate::error::Result;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommandComponent {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Held to Azure ML's rule only when the component is registered on its own
    /// ([`load_component`]); a pipeline's step components are anonymous.
    pub name: Option<String>,
    pub version: Option<Scalar>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub properties: OrderedMap<String>,
    pub is_deterministic: Option<bool>,
    pub code: Option<String>,
    /// Files and folders copied into the code folder's root when the component is
    /// registered (relative to the component file), as Azure ML does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_includes: Vec<String>,
    pub environment: EnvironmentRef,
    pub command: String,
    #[serde(default, deserialize_with = "string_map")]
    pub environment_variables: OrderedMap<String>,
    #[serde(default)]
    pub inputs: OrderedMap<InputDeclaration>,
    #[serde(default)]
    pub outputs: OrderedMap<OutputDeclaration>,
    pub resources: Option<Value>,
    pub distribution: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputDeclaration {
    #[serde(rename = "type")]
    pub kind: DeclaredType,
    pub default: Option<Literal>,
    #[serde(default)]
    pub optional: bool,
    pub description: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    #[serde(rename = "enum")]
    pub allowed: Option<Vec<Scalar>>,
    pub mode: Option<InputMode>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputDeclaration {
    #[serde(rename = "type")]
    pub kind: AssetType,
    pub mode: Option<OutputMode>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredType {
    String,
    Integer,
    Number,
    Boolean,
    UriFile,
    /// `path`, azure-ai-ml's older name for a folder input, means the same.
    #[serde(alias = "path")]
    UriFolder,
    Mltable,
    MlflowModel,
    CustomModel,
    TritonModel,
}

impl<'de> Deserialize<'de> for Literal {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        match super::super::yaml::job::JobInput::deserialize(deserializer)? {
            super::job::JobInput::Literal(l) => Ok(l),
            super::job::JobInput::Asset(_) => Err(serde::de::Error::custom("expected a literal value")),
        }
    }
}

pub struct LoadedComponent {
    pub file: PathBuf,
    pub spec: CommandComponent,
}

/// A component file as a pipeline step uses it: anonymous, as azure-ai-ml submits it, so
/// its `name` is not held to the rule for registered components (`r-iris-example` runs).
pub fn load_step_component(path: &Path) -> Result<LoadedComponent> {
    let text = super::read(path)?;
    let spec = super::parse(path, &text)?;
    Ok(LoadedComponent { file: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()), spec })
}

/// A component file to register under its own name, held to Azure ML's rule for it.
pub fn load_component(path: &Path) -> Result<LoadedComponent> {
    let loaded = load_step_component(path)?;
    if let Some(name) = &loaded.spec.name {
        let kind = crate::names::NameKind::Component;
        kind.check(name).map_err(|problem| {
            crate::error::Error::in_file(path, Some("name"), problem, format!("a component name is {}", kind.rule()))
        })?;
    }
    Ok(loaded)
}
