//! Data assets registered in a workspace (`az ml data create -f data.yml`), as both backends
//! record them and the tools print them: what a job input naming `azureml:NAME@latest` or
//! `azureml:NAME:V` reads. A local file or folder is copied into the workspace when it is
//! registered (a version does not change when the files do, as on Azure ML, which uploads
//! them); a path elsewhere (`https://`, `azureml://datastores/…`, `wasbs://`) is kept as
//! written and read as a job input written with it would be.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::model::VersionSelector;
use crate::names::NameKind;
use crate::refs::DataRef;
use crate::yaml::io::AssetType;
use crate::yaml::{OrderedMap, Scalar, SetArg, string_map};

/// A data asset file (azure-ai-ml's DataSchema).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    #[serde(rename = "$schema", default)]
    pub schema: Option<String>,
    #[serde(default, deserialize_with = "crate::names::optional_data")]
    pub name: Option<String>,
    pub version: Option<Scalar>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub properties: OrderedMap<String>,
    #[serde(rename = "type")]
    pub kind: Option<AssetType>,
    pub path: Option<String>,
    pub datastore: Option<String>,
    pub stage: Option<String>,
    pub auto_delete_setting: Option<yaml_serde::Value>,
}

/// A registered data asset version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataVersion {
    pub name: String,
    pub version: String,
    #[serde(rename = "type")]
    pub kind: AssetType,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub properties: BTreeMap<String, String>,
    /// The local file or folder it was copied from, or the path elsewhere it names.
    pub path: String,
    /// Of the copied files (their manifest), or of the type and path it names.
    pub digest: Digest,
    /// Copied into the workspace: (total bytes, files); None for a path elsewhere.
    pub copied: Option<(u64, u64)>,
    pub created_at: String,
}

impl DataVersion {
    pub fn id(&self) -> String {
        format!("{}:{}", self.name, self.version)
    }
}

/// Where a data asset's content is.
#[derive(Debug, Clone, PartialEq)]
pub enum DataContent {
    /// A local file or folder, to copy in.
    Local(PathBuf),
    /// A path elsewhere, kept as written.
    Elsewhere(String),
}

/// A data asset file read and checked, ready to register.
#[derive(Debug, Clone)]
pub struct NewData {
    pub name: String,
    pub version: Option<String>,
    pub kind: AssetType,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub properties: BTreeMap<String, String>,
    pub content: DataContent,
}

impl NewData {
    /// Read a data asset file as `az ml data create --file` does; `name` and `version`
    /// override the file's.
    pub fn from_file(file: &Path, sets: &[SetArg], name: Option<&str>, version: Option<&str>) -> Result<Self> {
        let text = crate::yaml::read(file)?;
        let spec: DataSpec = crate::yaml::parse_with_sets(file, &text, sets)?;
        let (name, version) = crate::environments::asset_identity(
            file,
            NameKind::Data,
            "data asset",
            (spec.name.as_ref(), spec.version.as_ref()),
            (name, version),
        )?;
        // azure-ai-ml's default type for a data asset.
        let kind = spec.kind.unwrap_or(AssetType::UriFolder);
        if !matches!(kind, AssetType::UriFile | AssetType::UriFolder | AssetType::Mltable) {
            return Err(Error::in_file(
                file,
                Some("type"),
                format!("`{}` is a model type", kind.as_str()),
                "a data asset is `uri_file`, `uri_folder` or `mltable`; register models with `aml-register model`",
            ));
        }
        let Some(path) = &spec.path else {
            return Err(Error::in_file(file, Some("path"), "is missing", "give the file or folder the asset holds"));
        };
        let content = match DataRef::parse(path) {
            DataRef::LocalPath(local) => {
                let resolved = crate::yaml::resolve_path(file, &local);
                let fits = match kind {
                    AssetType::UriFile => resolved.is_file(),
                    _ => resolved.is_dir(),
                };
                if !fits {
                    let what = if kind == AssetType::UriFile { "file" } else { "folder" };
                    return Err(Error::in_file(
                        file,
                        Some("path"),
                        format!("`{path}` is not an existing {what} (looked for `{}`)", resolved.display()),
                        format!(
                            "a `{}` asset is a {what}; paths are relative to the folder of `{}`",
                            kind.as_str(),
                            file.display()
                        ),
                    ));
                }
                DataContent::Local(resolved)
            }
            DataRef::Registered(other) => {
                return Err(Error::in_file(
                    file,
                    Some("path"),
                    format!("`{other}` is a registered asset; a data asset holds a path"),
                    "give a local path, a datastore path (`azureml://datastores/…`) or a URL",
                ));
            }
            DataRef::JobOutput { .. } | DataRef::Datastore { .. } | DataRef::Remote(_) => {
                DataContent::Elsewhere(path.clone())
            }
        };
        let pairs = |map: &OrderedMap<String>| map.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Ok(NewData {
            name,
            version,
            kind,
            description: spec.description.clone(),
            tags: pairs(&spec.tags),
            properties: pairs(&spec.properties),
            content,
        })
    }
}

/// `azureml:NAME@latest`, `azureml:NAME:V`, or without `azureml:`: the name and which version.
pub fn parse_reference(text: &str) -> Result<(String, VersionSelector)> {
    crate::environments::parse_asset_reference(text, NameKind::Data)
}
