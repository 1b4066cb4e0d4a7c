//! What registered environments, data assets and components share on Azure ML: a container whose
//! `latestVersion` names the newest version, versions read back into our records, and the
//! rule for which version a registration is (the one that already holds the same content, or
//! the next number).

use serde_json::Value;

use aml_core::digest::Digest;
use aml_core::error::{Error, Result};
use aml_core::model::VersionSelector;

use crate::AzureWorkspace;

/// One kind of asset: its path segment (`environments`, `data`), what users call it, and how
/// a version reads back.
pub(crate) struct AssetKind<T> {
    pub segment: &'static str,
    pub what: &'static str,
    /// The `aml-register` subcommand that lists them.
    pub verb: &'static str,
    pub from_arm: fn(&str, &Value) -> T,
    pub digest: fn(&T) -> Digest,
    pub created_at: fn(&T) -> &str,
}

/// Which version a registration is.
pub(crate) enum Registration<T> {
    /// The version that already holds this content.
    Existing(T),
    /// The version to create.
    New(String),
}

impl AzureWorkspace {
    pub(crate) fn asset_path<T>(&self, kind: &AssetKind<T>, name: &str) -> String {
        format!("{}/{}/{name}", self.prefix, kind.segment)
    }

    async fn latest_version_name<T>(&self, kind: &AssetKind<T>, name: &str) -> Result<Option<String>> {
        let container: Option<Value> = self.arm.get_optional(&self.asset_path(kind, name)).await?;
        Ok(container.and_then(|c| c["properties"]["latestVersion"].as_str().map(str::to_string)))
    }

    async fn asset_at<T>(&self, kind: &AssetKind<T>, name: &str, version: &str) -> Result<Option<T>> {
        let path = format!("{}/versions/{version}", self.asset_path(kind, name));
        let found: Option<Value> = self.arm.get_optional(&path).await?;
        Ok(found.map(|resource| (kind.from_arm)(name, &resource)))
    }

    /// The version asked for (or the newest) if it holds `digest`; else the version to
    /// create — the one asked for (exit 2 if it holds something else), or the next number.
    pub(crate) async fn registration<T>(
        &self,
        kind: &AssetKind<T>,
        name: &str,
        asked: Option<&str>,
        digest: &Digest,
    ) -> Result<Registration<T>> {
        let latest = self.latest_version_name(kind, name).await?;
        if let Some(version) = asked.map(str::to_string).or(latest.clone())
            && let Some(existing) = self.asset_at(kind, name, &version).await?
        {
            if (kind.digest)(&existing) == *digest {
                return Ok(Registration::Existing(existing));
            }
            if asked.is_some() {
                return Err(Error::usage(
                    format!("{} `{name}` already has a version `{version}`, holding something else", kind.what),
                    "a version cannot change: leave `version` out to get the next free one, or pick another",
                ));
            }
        }
        Ok(Registration::New(match asked {
            Some(version) => version.to_string(),
            None => (latest.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) + 1).to_string(),
        }))
    }

    /// Create version `version` of `name` with these properties; the version as read back.
    pub(crate) async fn create_version<T>(
        &self,
        kind: &AssetKind<T>,
        name: &str,
        version: &str,
        properties: Value,
    ) -> Result<T> {
        let path = format!("{}/versions/{version}", self.asset_path(kind, name));
        let created: Value = self.arm.put(&path, &serde_json::json!({ "properties": properties })).await?;
        Ok((kind.from_arm)(name, &created))
    }

    pub(crate) async fn asset_version<T>(
        &self,
        kind: &AssetKind<T>,
        name: &str,
        selector: &VersionSelector,
    ) -> Result<T> {
        let version = match selector {
            VersionSelector::Exact(version) => Some(version.clone()),
            VersionSelector::Latest | VersionSelector::Tag { .. } => self.latest_version_name(kind, name).await?,
        };
        let found = match &version {
            Some(version) => self.asset_at(kind, name, version).await?,
            None => None,
        };
        found.ok_or_else(|| {
            Error::usage(
                format!(
                    "there is no {} `{name}{}` in this workspace",
                    kind.what,
                    version.map(|v| format!(":{v}")).unwrap_or_default()
                ),
                format!("`aml-register {} list` shows the ones there are", kind.verb),
            )
        })
    }

    /// A name's versions, newest first; without a name, the newest version of each.
    pub(crate) async fn asset_versions<T>(&self, kind: &AssetKind<T>, name: Option<&str>) -> Result<Vec<T>> {
        let Some(name) = name else {
            let containers: Vec<Value> = self.arm.list(&format!("{}/{}", self.prefix, kind.segment)).await?;
            let mut newest = Vec::new();
            for container in containers {
                let (Some(name), Some(version)) =
                    (container["name"].as_str(), container["properties"]["latestVersion"].as_str())
                else {
                    continue;
                };
                newest.extend(self.asset_at(kind, name, version).await?);
            }
            return Ok(newest);
        };
        let resources: Vec<Value> = self.arm.list(&format!("{}/versions", self.asset_path(kind, name))).await?;
        let mut versions: Vec<T> = resources.iter().map(|r| (kind.from_arm)(name, r)).collect();
        versions.sort_by(|a, b| (kind.created_at)(b).cmp((kind.created_at)(a)));
        Ok(versions)
    }
}
