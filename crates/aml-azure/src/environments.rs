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
use crate::assets::{AssetKind, Registration};

impl AzureWorkspace {
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
        let version = match self.registration(&ENVIRONMENTS, &new.name, new.version.as_deref(), &new.digest).await? {
            Registration::Existing(existing) => return Ok((existing, true)),
            Registration::New(version) => version,
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
        Ok((self.create_version(&ENVIRONMENTS, &new.name, &version, properties).await?, false))
    }

    pub async fn environment_version(&self, name: &str, selector: &VersionSelector) -> Result<EnvironmentVersion> {
        self.asset_version(&ENVIRONMENTS, name, selector).await
    }

    /// A name's versions, newest first; without a name, the newest version of each.
    pub async fn environment_versions(&self, name: Option<&str>) -> Result<Vec<EnvironmentVersion>> {
        self.asset_versions(&ENVIRONMENTS, name).await
    }
}

const ENVIRONMENTS: AssetKind<EnvironmentVersion> = AssetKind {
    segment: "environments",
    what: "environment",
    verb: "environment",
    from_arm: environment_from_arm,
    digest: |version| version.digest,
    created_at: |version| &version.created_at,
};

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
