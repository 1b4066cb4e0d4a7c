//! Environments registered in a workspace (`az ml environment create -f env.yml`), as both
//! backends record them and the tools print them: what a job naming `azureml:NAME@latest` or
//! `azureml:NAME:V` runs with. A version freezes what the file said when it was registered —
//! the packages of its conda file (read then, not when a job uses it), its Python, its image —
//! so a later edit of the file is a new version, as on Azure ML.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::jobplan::{EnvPlan, plan_environment};
use crate::model::VersionSelector;
use crate::names::NameKind;
use crate::yaml::environment::{CondaFileRef, Environment, EnvironmentRef};
use crate::yaml::{Scalar, SetArg};

/// A registered environment version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnvironmentVersion {
    pub name: String,
    pub version: String,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub image: Option<String>,
    /// The conda file's text as registered (what Azure ML builds the image with).
    #[serde(default)]
    pub conda_file: Option<String>,
    /// What the local backend builds: packages on a Python, an image alone, or a build
    /// context it cannot build (said when a job uses it).
    pub plan: EnvPlan,
    /// Of what decides the environment (image and plan), not of its description or tags.
    pub digest: Digest,
    pub created_at: String,
}

impl EnvironmentVersion {
    pub fn id(&self) -> String {
        format!("{}:{}", self.name, self.version)
    }

    /// This version as a registration in another workspace: the same environment, so the
    /// same digest; the next free version there.
    pub fn to_new(&self) -> NewEnvironment {
        NewEnvironment {
            name: self.name.clone(),
            version: None,
            description: self.description.clone(),
            tags: self.tags.clone(),
            image: self.image.clone(),
            conda_file: self.conda_file.clone(),
            has_build_context: matches!(self.plan, EnvPlan::DockerBuild { .. }),
            os_type: None,
            plan: self.plan.clone(),
            digest: self.digest,
            warnings: Vec::new(),
        }
    }
}

/// An environment file read and checked, ready to register.
#[derive(Debug, Clone)]
pub struct NewEnvironment {
    pub name: String,
    /// None: the next free number, or the newest version if it is the same environment.
    pub version: Option<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub image: Option<String>,
    /// The conda file's text (as written, or the inline mapping written out), which Azure ML
    /// builds the image with.
    pub conda_file: Option<String>,
    /// A build context: Azure ML builds it from the uploaded folder.
    pub has_build_context: bool,
    pub os_type: Option<String>,
    pub plan: EnvPlan,
    pub digest: Digest,
    /// What planning had to say (conda packages taken from PyPI, a Dockerfile not run here).
    pub warnings: Vec<String>,
}

impl NewEnvironment {
    /// Read an environment file as `az ml environment create --file` does; `name` and
    /// `version` override the file's.
    pub fn from_file(file: &Path, sets: &[SetArg], name: Option<&str>, version: Option<&str>) -> Result<Self> {
        let text = crate::yaml::read(file)?;
        let spec: Environment = crate::yaml::parse_with_sets(file, &text, sets)?;
        let (name, version) = asset_identity(
            file,
            NameKind::Environment,
            "environment",
            (spec.name.as_ref(), spec.version.as_ref()),
            (name, version),
        )?;
        let mut warnings = Vec::new();
        // Planned as a job's `environment:` is; the file's own fields are named without it.
        let plan =
            plan_environment(file, "environment", &EnvironmentRef::Inline(Box::new(spec.clone())), &mut warnings)
                .map_err(|e| match e {
                    Error::BadInput(mut bad) => {
                        bad.field = bad.field.map(|f| f.strip_prefix("environment.").unwrap_or(&f).to_string());
                        Error::BadInput(bad)
                    }
                    other => other,
                })?;
        let digest = Digest::of_bytes(
            serde_json::to_string(&(&spec.image, &plan))
                .map_err(|e| Error::failed(format!("cannot describe the environment: {e}"), None))?
                .as_bytes(),
        );
        let conda_file = match &spec.conda_file {
            Some(CondaFileRef::Path(path)) => Some(crate::yaml::read(&crate::yaml::resolve_path(file, path))?),
            Some(CondaFileRef::Inline(conda)) => Some(yaml_serde::to_string(conda).map_err(|e| {
                Error::in_file(
                    file,
                    Some("conda_file"),
                    format!("cannot be written back as YAML: {e}"),
                    "write it in a file and name the file",
                )
            })?),
            None => None,
        };
        Ok(NewEnvironment {
            name,
            version,
            conda_file,
            has_build_context: spec.build.is_some(),
            os_type: spec.os_type.clone(),
            description: spec.description.clone(),
            tags: spec.tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            image: spec.image.clone(),
            plan,
            digest,
            warnings,
        })
    }
}

/// `azureml:NAME@latest`, `azureml:NAME:V`, or without `azureml:` (`NAME`, `NAME:V`, as
/// `aml-register environment show` takes them): the name and which version.
pub fn parse_reference(text: &str) -> Result<(String, VersionSelector)> {
    parse_asset_reference(text, NameKind::Environment)
}

/// The same for any asset whose name is held to `kind`'s rule.
pub fn parse_asset_reference(text: &str, kind: NameKind) -> Result<(String, VersionSelector)> {
    let bare = text.strip_prefix("azureml:").unwrap_or(text);
    let (name, selector) = match (bare.split_once('@'), bare.rsplit_once(':')) {
        (Some((name, "latest")), _) => (name, VersionSelector::Latest),
        (Some((_, label)), _) => {
            return Err(Error::usage(
                format!("`{text}`: `@{label}` is not a version; assets take `@latest`"),
                "write `NAME@latest` or `NAME:VERSION`",
            ));
        }
        (None, Some((name, version))) => {
            NameKind::Version.usage(version)?;
            (name, VersionSelector::Exact(version.to_string()))
        }
        (None, None) => (bare, VersionSelector::Latest),
    };
    kind.usage(name)?;
    Ok((name.to_string(), selector))
}

/// An asset file's name and version — the flags' over the file's — each held to Azure ML's
/// rule (`kind` for the name); a missing name is bad input naming the field.
pub(crate) fn asset_identity(
    file: &Path,
    kind: NameKind,
    what: &str,
    written: (Option<&String>, Option<&Scalar>),
    given: (Option<&str>, Option<&str>),
) -> Result<(String, Option<String>)> {
    let Some(name) = given.0.map(str::to_string).or_else(|| written.0.cloned()) else {
        return Err(Error::in_file(
            file,
            Some("name"),
            "is missing",
            format!("give the {what} a name (`name:` or `--name`)"),
        ));
    };
    kind.usage(&name).map_err(|e| e.in_field(file, "name"))?;
    let version = given.1.map(str::to_string).or_else(|| written.1.map(|v| v.as_str().to_string()));
    if let Some(version) = &version {
        NameKind::Version.usage(version).map_err(|e| e.in_field(file, "version"))?;
    }
    Ok((name, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_read_as_azure_ml_writes_them() {
        let latest = |n: &str| Ok::<_, String>((n.to_string(), VersionSelector::Latest));
        let exact = |n: &str, v: &str| Ok::<_, String>((n.to_string(), VersionSelector::Exact(v.into())));
        for (text, expected) in [
            ("azureml:my-env@latest", latest("my-env")),
            ("azureml:my-env:3", exact("my-env", "3")),
            ("my-env", latest("my-env")),
            ("my_env.1:v2", exact("my_env.1", "v2")),
        ] {
            assert_eq!(parse_reference(text).map_err(|e| e.to_string()), expected, "{text}");
        }
        for bad in ["azureml:my-env@prod", "azureml:../x:1", "azureml:my-env:", "-env@latest", ""] {
            assert!(parse_reference(bad).is_err(), "{bad}");
        }
    }
}
