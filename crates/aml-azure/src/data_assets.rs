//! Data assets registered in an Azure ML workspace, as `az ml data create` registers them: a
//! local file or folder uploaded where azure-ai-ml uploads it (`LocalUpload/<object hash>/…`
//! in the default datastore), a path elsewhere sent as written, and a DataVersion naming it,
//! with our digest as an `aml.*` property so the same content again is the same version.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use aml_core::data_assets::{DataContent, DataVersion, NewData};
use aml_core::digest::Digest;
use aml_core::error::Result;
use aml_core::model::VersionSelector;
use aml_core::yaml::io::AssetType;

use crate::AzureWorkspace;
use crate::assets::{AssetKind, Registration};

impl AzureWorkspace {
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
        let version = match self.registration(&DATA, &new.name, new.version.as_deref(), &digest).await? {
            Registration::Existing(existing) => return Ok((existing, true)),
            Registration::New(version) => version,
        };
        let (uri, source) = match &new.content {
            DataContent::Local(path) => (self.upload_input(path).await?, path.display().to_string()),
            DataContent::Elsewhere(path) => (path.clone(), path.clone()),
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
        Ok((self.create_version(&DATA, &new.name, &version, properties).await?, false))
    }

    pub async fn data_version(&self, name: &str, selector: &VersionSelector) -> Result<DataVersion> {
        self.asset_version(&DATA, name, selector).await
    }

    /// A name's versions, newest first; without a name, the newest version of each.
    pub async fn data_versions(&self, name: Option<&str>) -> Result<Vec<DataVersion>> {
        self.asset_versions(&DATA, name).await
    }
}

const DATA: AssetKind<DataVersion> = AssetKind {
    segment: "data",
    what: "data asset",
    verb: "data",
    from_arm: data_from_arm,
    digest: |version| version.digest,
    created_at: |version| &version.created_at,
};

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
