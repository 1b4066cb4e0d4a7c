//! Environments registered in an Azure ML workspace, as `az ml environment create` registers
//! them: an EnvironmentVersion with the image and the conda file's text, and our digest and
//! local plan as `aml.*` properties so the same file again is the same version and `show`
//! reads back what a local workspace would print.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use aml_core::digest::Digest;
use aml_core::environments::{EnvironmentVersion, NewEnvironment};
use aml_core::error::{Error, Result};
use aml_core::jobplan::EnvPlan;
use aml_core::model::VersionSelector;

use crate::AzureWorkspace;

impl AzureWorkspace {
    fn environments_path(&self, name: &str) -> String {
        format!("{}/environments/{name}", self.prefix)
    }

    pub async fn register_environment(&self, new: &NewEnvironment) -> Result<(EnvironmentVersion, bool)> {
        if new.has_build_context {
            return Err(Error::usage(
                format!("environment `{}` has a build context, which this build does not upload to Azure ML", new.name),
                "give it an `image:` and a `conda_file:`, or register it with `az ml environment create -f FILE`",
            ));
        }
        let Some(image) = &new.image else {
            return Err(Error::usage(
                format!("environment `{}` has no `image`", new.name),
                "an environment on Azure ML starts from an image, e.g. `mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04`",
            ));
        };
        let container: Option<Value> = self.arm.get_optional(&self.environments_path(&new.name)).await?;
        let latest = container.as_ref().and_then(|c| c["properties"]["latestVersion"].as_str()).map(str::to_string);
        let asked = new.version.clone().or(latest.clone());
        if let Some(version) = &asked
            && let Some(existing) = self.environment_at(&new.name, version).await?
        {
            if existing.digest == new.digest {
                return Ok((existing, true));
            }
            if new.version.is_some() {
                return Err(Error::usage(
                    format!("environment `{}` already has a version `{version}`, holding something else", new.name),
                    "a version cannot change: leave `version` out to get the next free one, or pick another",
                ));
            }
        }
        let version = match &new.version {
            Some(version) => version.clone(),
            None => (latest.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) + 1).to_string(),
        };
        let mut properties = json!({
            "image": image,
            "tags": new.tags,
            "properties": {
                "aml.digest": new.digest.to_string(),
                "aml.plan": serde_json::to_string(&new.plan).unwrap_or_default(),
            },
            "isAnonymous": false,
            "isArchived": false,
        });
        if let Some(conda) = &new.conda_file {
            properties["condaFile"] = json!(conda);
        }
        if let Some(description) = &new.description {
            properties["description"] = json!(description);
        }
        if let Some(os) = &new.os_type {
            properties["osType"] = json!(if os.eq_ignore_ascii_case("windows") { "Windows" } else { "Linux" });
        }
        let created: Value = self
            .arm
            .put(
                &format!("{}/versions/{version}", self.environments_path(&new.name)),
                &json!({ "properties": properties }),
            )
            .await?;
        Ok((environment_from_arm(&new.name, &created), false))
    }

    pub async fn environment_version(&self, name: &str, selector: &VersionSelector) -> Result<EnvironmentVersion> {
        let version = match selector {
            VersionSelector::Exact(version) => Some(version.clone()),
            VersionSelector::Latest | VersionSelector::Tag { .. } => {
                let container: Option<Value> = self.arm.get_optional(&self.environments_path(name)).await?;
                container.and_then(|c| c["properties"]["latestVersion"].as_str().map(str::to_string))
            }
        };
        let found = match &version {
            Some(version) => self.environment_at(name, version).await?,
            None => None,
        };
        found.ok_or_else(|| {
            Error::usage(
                format!(
                    "there is no environment `{name}{}` in this workspace",
                    version.map(|v| format!(":{v}")).unwrap_or_default()
                ),
                "`aml-register environment list` shows the environments there are",
            )
        })
    }

    /// A name's versions, newest first; without a name, the newest version of each.
    pub async fn environment_versions(&self, name: Option<&str>) -> Result<Vec<EnvironmentVersion>> {
        let Some(name) = name else {
            let containers: Vec<Value> = self.arm.list(&format!("{}/environments", self.prefix)).await?;
            let mut newest = Vec::new();
            for container in containers {
                let (Some(name), Some(version)) =
                    (container["name"].as_str(), container["properties"]["latestVersion"].as_str())
                else {
                    continue;
                };
                newest.extend(self.environment_at(name, version).await?);
            }
            return Ok(newest);
        };
        let resources: Vec<Value> = self.arm.list(&format!("{}/versions", self.environments_path(name))).await?;
        let mut versions: Vec<EnvironmentVersion> = resources.iter().map(|r| environment_from_arm(name, r)).collect();
        versions.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(versions)
    }

    async fn environment_at(&self, name: &str, version: &str) -> Result<Option<EnvironmentVersion>> {
        let found: Option<Value> =
            self.arm.get_optional(&format!("{}/versions/{version}", self.environments_path(name))).await?;
        Ok(found.map(|resource| environment_from_arm(name, &resource)))
    }
}

/// An EnvironmentVersion read back; one registered by other tools has no plan of ours, so it
/// reads as an image alone, its digest that of what it is made of.
fn environment_from_arm(name: &str, resource: &Value) -> EnvironmentVersion {
    let props = &resource["properties"];
    let own: BTreeMap<String, String> = serde_json::from_value(props["properties"].clone()).unwrap_or_default();
    let image = props["image"].as_str().map(str::to_string);
    let digest = own.get("aml.digest").and_then(|d| d.parse::<Digest>().ok()).unwrap_or_else(|| {
        Digest::of_bytes(format!("{}\n{}", image.as_deref().unwrap_or_default(), props["condaFile"]).as_bytes())
    });
    let plan = own
        .get("aml.plan")
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or(EnvPlan::BaseInterpreter { image: image.clone() });
    EnvironmentVersion {
        name: name.to_string(),
        version: resource["name"].as_str().unwrap_or_default().to_string(),
        description: props["description"].as_str().map(str::to_string),
        tags: serde_json::from_value(props["tags"].clone()).unwrap_or_default(),
        image,
        conda_file: props["condaFile"].as_str().map(str::to_string),
        plan,
        digest,
        created_at: resource["systemData"]["createdAt"].as_str().unwrap_or_default().to_string(),
    }
}
