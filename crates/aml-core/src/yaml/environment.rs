//! Environments (EnvironmentSchema in azure-ai-ml) and the conda files they point at.

use std::fmt;
use std::path::Path;

use serde::de::{MapAccess, Visitor, value::MapAccessDeserializer};
use serde::{Deserialize, Deserializer, Serialize};
use yaml_serde::Value;

use super::{OrderedMap, Scalar, string_map};
use crate::error::{Error, Result};

/// `environment:` in a job: a registered reference (`azureml:name:1`, `azureml:name@latest`)
/// or an inline definition.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum EnvironmentRef {
    Registered(String),
    Inline(Box<Environment>),
}

impl<'de> Deserialize<'de> for EnvironmentRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct RefVisitor;
        impl<'de> Visitor<'de> for RefVisitor {
            type Value = EnvironmentRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`azureml:<name>:<version>` or a mapping with `image` and `conda_file`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<EnvironmentRef, E> {
                // azure-ai-ml takes a string only as a reference: `azureml:NAME@latest`,
                // `azureml:NAME:V`, an ARM id after `azureml:`, or `azureml://registries/…`.
                if v.starts_with("azureml:") {
                    return Ok(EnvironmentRef::Registered(v.to_string()));
                }
                Err(E::custom(format!(
                    "`{v}` is not an environment: name a registered one as `azureml:NAME@latest`, `azureml:NAME:VERSION` or `azureml://registries/REGISTRY/environments/NAME/versions/V`, or define one inline with `image:` and `conda_file:`"
                )))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<EnvironmentRef, A::Error> {
                Environment::deserialize(MapAccessDeserializer::new(map)).map(|e| EnvironmentRef::Inline(Box::new(e)))
            }
        }
        deserializer.deserialize_any(RefVisitor)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, deserialize_with = "crate::names::optional_environment")]
    pub name: Option<String>,
    pub version: Option<Scalar>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    pub image: Option<String>,
    pub conda_file: Option<CondaFileRef>,
    pub build: Option<BuildContext>,
    pub os_type: Option<String>,
    pub inference_config: Option<Value>,
    pub datastore: Option<String>,
}

/// `conda_file:` is a path, or (as the SDK allows) the conda mapping itself.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum CondaFileRef {
    Path(String),
    Inline(CondaFile),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BuildContext {
    pub path: String,
    pub dockerfile_path: Option<String>,
}

/// A conda environment file. Only `dependencies` matter locally; other keys are kept by conda.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct CondaFile {
    pub name: Option<String>,
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default)]
    pub dependencies: Vec<CondaDependency>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum CondaDependency {
    Package(String),
    Pip { pip: Vec<String> },
}

impl Scalar {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Scalar {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

pub fn load_conda_file(path: &Path) -> Result<CondaFile> {
    let text = super::read(path)?;
    let conda: CondaFile = super::parse(path, &text)?;
    if conda.dependencies.is_empty() {
        return Err(Error::in_file(
            path,
            Some("dependencies"),
            "lists no packages",
            "list the packages the job needs, e.g. `- pip: [scikit-learn]`",
        ));
    }
    Ok(conda)
}
