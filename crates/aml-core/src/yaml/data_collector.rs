//! An online deployment's `data_collector:` as azure-ai-ml reads it: named collections
//! (`model_inputs`, `model_outputs`, `request`, `response`, or any name a scoring script
//! logs to), each `enabled: 'True'|'False'` (a string: a YAML boolean is refused, as
//! azure-ai-ml refuses it) with an optional data asset, a `sampling_rate` between 0 and 1,
//! a `rolling_rate` of minute, hour or day, and the request headers to log.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::OrderedMap;
use crate::error::{Error, Result};
use crate::names::NameKind;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataCollector {
    #[serde(default)]
    pub collections: OrderedMap<Collection>,
    pub rolling_rate: Option<String>,
    pub sampling_rate: Option<f64>,
    pub request_logging: Option<RequestLogging>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Collection {
    #[serde(deserialize_with = "quoted_required")]
    pub enabled: String,
    pub data: Option<CollectionData>,
    pub client_id: Option<String>,
}

/// Where a collection's data goes: a data asset to register (by default
/// `<endpoint>-<deployment>-<collection>`, version 1, under the workspace blob store's
/// `modelDataCollector/<endpoint>/<deployment>/<collection>`), or the id of one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CollectionData {
    Asset(DataAsset),
    Id(String),
}

/// A string is an id; a mapping is a data asset, whose own errors (`version: 1`, an
/// unknown field) are reported as they are, not as "matches no variant".
impl<'de> Deserialize<'de> for CollectionData {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct DataVisitor;
        impl<'de> serde::de::Visitor<'de> for DataVisitor {
            type Value = CollectionData;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a data asset (`name`, `path`, `version`) or a data asset's id")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> std::result::Result<CollectionData, E> {
                Ok(CollectionData::Id(text.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> std::result::Result<CollectionData, A::Error> {
                DataAsset::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(CollectionData::Asset)
            }
        }
        deserializer.deserialize_any(DataVisitor)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataAsset {
    pub name: Option<String>,
    pub path: Option<String>,
    /// A string, as azure-ai-ml requires (`version: 1` is refused).
    #[serde(default, deserialize_with = "quoted")]
    pub version: Option<String>,
    pub data_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequestLogging {
    pub capture_headers: Option<Vec<String>>,
}

/// Only a YAML string: azure-ai-ml's `fields.Str` refuses a number ("Not a valid string").
fn quoted<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Option<String>, D::Error> {
    match Option::<yaml_serde::Value>::deserialize(deserializer)? {
        None => Ok(None),
        Some(yaml_serde::Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(serde::de::Error::custom(format!(
            "{} is not a string; quote it (`version: '{}'`), as azure-ai-ml requires",
            yaml_serde::to_string(&other).unwrap_or_default().trim(),
            yaml_serde::to_string(&other).unwrap_or_default().trim()
        ))),
    }
}

fn quoted_required<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<String, D::Error> {
    match yaml_serde::Value::deserialize(deserializer)? {
        yaml_serde::Value::String(text) => Ok(text),
        other => Err(serde::de::Error::custom(format!(
            "{} is not a string; write 'True' or 'False' (quoted), as azure-ai-ml requires",
            yaml_serde::to_string(&other).unwrap_or_default().trim()
        ))),
    }
}

/// Where azure-ai-ml puts collected data when the file names no path.
pub const DEFAULT_PATH: &str = "azureml://datastores/workspaceblobstore/paths/modelDataCollector";

impl DataCollector {
    /// The values azure-ai-ml checks beyond their types.
    pub fn check(&self, file: &Path) -> Result<()> {
        for (name, collection) in self.collections.iter() {
            // The collection's name becomes part of its data asset's name.
            let field = format!("data_collector.collections.{name}");
            check_name(file, &field, NameKind::Model, name)?;
            if let Some(CollectionData::Asset(asset)) = &collection.data {
                if let Some(asset_name) = &asset.name {
                    check_name(file, &format!("{field}.data.name"), NameKind::Model, asset_name)?;
                }
                if let Some(version) = &asset.version {
                    check_name(file, &format!("{field}.data.version"), NameKind::Version, version)?;
                }
            }
            if !["true", "false"].contains(&collection.enabled.to_ascii_lowercase().as_str()) {
                return Err(Error::in_file(
                    file,
                    Some(&format!("data_collector.collections.{name}.enabled")),
                    format!("`{}` is not 'True' or 'False'", collection.enabled),
                    "write `enabled: 'True'` (quoted: azure-ai-ml reads a string)",
                ));
            }
        }
        if let Some(rate) = self.sampling_rate
            && !(0.0..=1.0).contains(&rate)
        {
            return Err(Error::in_file(
                file,
                Some("data_collector.sampling_rate"),
                format!("{rate} is not a share of requests"),
                "write a number from 0.0 to 1.0 (0.25 collects one request in four)",
            ));
        }
        if let Some(rolling) = &self.rolling_rate
            && !["minute", "hour", "day"].contains(&rolling.to_ascii_lowercase().as_str())
        {
            return Err(Error::in_file(
                file,
                Some("data_collector.rolling_rate"),
                format!("`{rolling}` is not a rolling rate"),
                "write minute, hour or day",
            ));
        }
        Ok(())
    }
}

fn check_name(file: &Path, field: &str, kind: NameKind, text: &str) -> Result<()> {
    kind.check(text).map_err(|problem| Error::in_file(file, Some(field), problem, kind.rule()))
}

impl Collection {
    pub fn is_enabled(&self) -> bool {
        self.enabled.eq_ignore_ascii_case("true")
    }
}
