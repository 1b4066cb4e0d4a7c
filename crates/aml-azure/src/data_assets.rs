//! Data assets registered in an Azure ML workspace, as `az ml data create` registers them: a
//! local file or folder uploaded where azure-ai-ml uploads it (`LocalUpload/<object hash>/…`
//! in the default datastore), a path elsewhere sent as written, and a DataVersion naming it,
//! with our digest as an `aml.*` property so the same content again is the same version.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use aml_core::data_assets::{DataContent, DataVersion, NewData};
use aml_core::digest::Digest;
use aml_core::error::{Error, Result};
use aml_core::model::VersionSelector;
use aml_core::yaml::io::AssetType;

use crate::AzureWorkspace;

impl AzureWorkspace {
    fn data_path(&self, name: &str) -> String {
        format!("{}/data/{name}", self.prefix)
    }

    pub async fn register_data(&self, new: &NewData) -> Result<(DataVersion, bool)> {
        let (digest, copied) = match &new.content {
            DataContent::Local(path) => {
                let hashed = crate::hash::hash_tree(path)?;
                let sizes = (hashed.manifest.total_size(), hashed.manifest.entries.len() as u64);
                (hashed.manifest.digest(), Some(sizes))
            }
            DataContent::Elsewhere(path) => {
                (Digest::of_bytes(format!("{}\n{path}", new.kind.as_str()).as_bytes()), None)
            }
        };
        let container: Option<Value> = self.arm.get_optional(&self.data_path(&new.name)).await?;
        let latest = container.as_ref().and_then(|c| c["properties"]["latestVersion"].as_str()).map(str::to_string);
        if let Some(version) = new.version.clone().or(latest.clone())
            && let Some(existing) = self.data_at(&new.name, &version).await?
        {
            if existing.digest == digest {
                return Ok((existing, true));
            }
            if new.version.is_some() {
                return Err(Error::usage(
                    format!("data asset `{}` already has a version `{version}`, holding something else", new.name),
                    "a version cannot change: leave `version` out to get the next free one, or pick another",
                ));
            }
        }
        let (uri, source) = match &new.content {
            DataContent::Local(path) => (self.upload_input(path).await?, path.display().to_string()),
            DataContent::Elsewhere(path) => (path.clone(), path.clone()),
        };
        let version = match &new.version {
            Some(version) => version.clone(),
            None => (latest.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) + 1).to_string(),
        };
        let mut own: BTreeMap<String, String> = new.properties.clone();
        own.insert("aml.digest".into(), digest.to_string());
        own.insert("aml.source".into(), source);
        if let Some((size, files)) = copied {
            own.insert("aml.copied".into(), format!("{size} {files}"));
        }
        let mut properties = json!({
            "dataType": new.kind.as_str(),
            "dataUri": uri,
            "tags": new.tags,
            "properties": own,
            "isAnonymous": false,
            "isArchived": false,
        });
        if let Some(description) = &new.description {
            properties["description"] = json!(description);
        }
        let created: Value = self
            .arm
            .put(&format!("{}/versions/{version}", self.data_path(&new.name)), &json!({ "properties": properties }))
            .await?;
        Ok((data_from_arm(&new.name, &created), false))
    }

    pub async fn data_version(&self, name: &str, selector: &VersionSelector) -> Result<DataVersion> {
        let version = match selector {
            VersionSelector::Exact(version) => Some(version.clone()),
            VersionSelector::Latest | VersionSelector::Tag { .. } => {
                let container: Option<Value> = self.arm.get_optional(&self.data_path(name)).await?;
                container.and_then(|c| c["properties"]["latestVersion"].as_str().map(str::to_string))
            }
        };
        let found = match &version {
            Some(version) => self.data_at(name, version).await?,
            None => None,
        };
        found.ok_or_else(|| {
            Error::usage(
                format!(
                    "there is no data asset `{name}{}` in this workspace",
                    version.map(|v| format!(":{v}")).unwrap_or_default()
                ),
                "`aml-register data list` shows the data assets there are",
            )
        })
    }

    /// A name's versions, newest first; without a name, the newest version of each.
    pub async fn data_versions(&self, name: Option<&str>) -> Result<Vec<DataVersion>> {
        let Some(name) = name else {
            let containers: Vec<Value> = self.arm.list(&format!("{}/data", self.prefix)).await?;
            let mut newest = Vec::new();
            for container in containers {
                let (Some(name), Some(version)) =
                    (container["name"].as_str(), container["properties"]["latestVersion"].as_str())
                else {
                    continue;
                };
                newest.extend(self.data_at(name, version).await?);
            }
            return Ok(newest);
        };
        let resources: Vec<Value> = self.arm.list(&format!("{}/versions", self.data_path(name))).await?;
        let mut versions: Vec<DataVersion> = resources.iter().map(|r| data_from_arm(name, r)).collect();
        versions.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(versions)
    }

    async fn data_at(&self, name: &str, version: &str) -> Result<Option<DataVersion>> {
        let found: Option<Value> =
            self.arm.get_optional(&format!("{}/versions/{version}", self.data_path(name))).await?;
        Ok(found.map(|resource| data_from_arm(name, &resource)))
    }
}

/// A DataVersion read back; one registered by other tools has no digest of ours: its digest
/// is that of its type and URI.
fn data_from_arm(name: &str, resource: &Value) -> DataVersion {
    let props = &resource["properties"];
    let own: BTreeMap<String, String> = serde_json::from_value(props["properties"].clone()).unwrap_or_default();
    let kind = match props["dataType"].as_str() {
        Some("uri_file") => AssetType::UriFile,
        Some("mltable") => AssetType::Mltable,
        _ => AssetType::UriFolder,
    };
    let uri = props["dataUri"].as_str().unwrap_or_default().to_string();
    let digest = own
        .get("aml.digest")
        .and_then(|d| d.parse::<Digest>().ok())
        .unwrap_or_else(|| Digest::of_bytes(format!("{}\n{uri}", kind.as_str()).as_bytes()));
    let copied = own.get("aml.copied").and_then(|c| {
        let (size, files) = c.split_once(' ')?;
        Some((size.parse().ok()?, files.parse().ok()?))
    });
    DataVersion {
        name: name.to_string(),
        version: resource["name"].as_str().unwrap_or_default().to_string(),
        kind,
        description: props["description"].as_str().map(str::to_string),
        tags: serde_json::from_value(props["tags"].clone()).unwrap_or_default(),
        properties: own.iter().filter(|(k, _)| !k.starts_with("aml.")).map(|(k, v)| (k.clone(), v.clone())).collect(),
        path: own.get("aml.source").cloned().unwrap_or(uri),
        digest,
        copied,
        created_at: resource["systemData"]["createdAt"].as_str().unwrap_or_default().to_string(),
    }
}
