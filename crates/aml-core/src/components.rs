//! Command components registered in a workspace (`az ml component create -f component.yml`),
//! as both backends record them and the tools print them: what a pipeline step naming
//! `component: azureml:NAME@latest` or `azureml:NAME:V` runs. A version freezes the component
//! as it is registered: its file, its code folder's files and its conda file's packages, so a
//! later edit of any of them is a new version, as on Azure ML.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::model::VersionSelector;
use crate::names::NameKind;
use crate::yaml::SetArg;
use crate::yaml::component::CommandComponent;
use crate::yaml::environment::{CondaFileRef, EnvironmentRef, load_conda_file};

/// Where a registered component's code folder is, inside its frozen folder.
pub const CODE_FOLDER: &str = "code";
/// The component file inside its frozen folder.
pub const COMPONENT_FILE: &str = "component.yml";

/// A registered component version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ComponentVersion {
    pub name: String,
    pub version: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub command: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    /// The environment as the file names it (inline ones as `inline`).
    pub environment: String,
    /// Of the frozen component file and its code's files.
    pub digest: Digest,
    pub code_files: u64,
    pub created_at: String,
}

impl ComponentVersion {
    pub fn id(&self) -> String {
        format!("{}:{}", self.name, self.version)
    }
}

/// A component file read, checked and frozen, ready to register.
#[derive(Debug, Clone)]
pub struct NewComponent {
    pub name: String,
    pub version: Option<String>,
    /// The component as it will be stored: its code at `./code`, its conda file inline.
    pub frozen: String,
    /// The code folder whose files go in with it.
    pub code: Option<PathBuf>,
    /// `additional_includes`: each file or folder goes into the code folder's root under its
    /// own name.
    pub includes: Vec<PathBuf>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub command: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub environment: String,
    pub warnings: Vec<String>,
}

impl NewComponent {
    /// Read a command component file as `az ml component create --file` does; `name` and
    /// `version` override the file's.
    pub fn from_file(file: &Path, sets: &[SetArg], name: Option<&str>, version: Option<&str>) -> Result<Self> {
        let text = crate::yaml::read(file)?;
        let mut spec: CommandComponent = crate::yaml::parse_with_sets(file, &text, sets)?;
        if let Some(kind) = spec.kind.as_deref().filter(|k| *k != "command") {
            return Err(Error::in_file(
                file,
                Some("type"),
                format!("`{kind}` components are not registered here; only command components are"),
                "register it on Azure ML with `az ml component create -f FILE`",
            ));
        }
        let (name, version) = crate::environments::asset_identity(
            file,
            NameKind::Component,
            "component",
            (spec.name.as_ref(), spec.version.as_ref()),
            (name, version),
        )?;
        let code = crate::jobplan::plan_code(file, "code", spec.code.as_deref())?;
        let mut includes = Vec::new();
        for (i, include) in spec.additional_includes.iter().enumerate() {
            let field = format!("additional_includes[{i}]");
            let path = crate::jobplan::plan_code(file, &field, Some(include))?.unwrap_or_default();
            if path.file_name().is_none() {
                return Err(Error::in_file(
                    file,
                    Some(&field),
                    format!("`{include}` has no name to copy it under"),
                    "name a file or a folder",
                ));
            }
            includes.push(path);
        }
        let mut warnings = Vec::new();
        crate::jobplan::plan_environment(file, "environment", &spec.environment, &mut warnings)?;
        let environment = match &mut spec.environment {
            EnvironmentRef::Registered(reference) => reference.clone(),
            EnvironmentRef::Inline(env) => {
                // Frozen with the component: the conda file's packages as they are now.
                if let Some(CondaFileRef::Path(path)) = &env.conda_file {
                    let conda = load_conda_file(&crate::yaml::resolve_path(file, path))?;
                    env.conda_file = Some(CondaFileRef::Inline(conda));
                }
                if let Some(build) = &mut env.build {
                    build.path = crate::yaml::resolve_path(file, &build.path).display().to_string();
                }
                "inline".to_string()
            }
        };
        spec.code = (code.is_some() || !includes.is_empty()).then(|| format!("./{CODE_FOLDER}"));
        // Merged into the frozen code folder.
        spec.additional_includes.clear();
        spec.name = Some(name.clone());
        let frozen = yaml_serde::to_string(&spec).map_err(|e| {
            Error::in_file(file, None, format!("cannot be written back as YAML: {e}"), "check the file's values")
        })?;
        Ok(NewComponent {
            name,
            version,
            frozen,
            code,
            includes,
            display_name: spec.display_name.clone(),
            description: spec.description.clone(),
            tags: spec.tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            command: spec.command.clone(),
            inputs: spec.inputs.keys().map(str::to_string).collect(),
            outputs: spec.outputs.keys().map(str::to_string).collect(),
            environment,
            warnings,
        })
    }
}

/// `azureml:NAME@latest`, `azureml:NAME:V`, or without `azureml:`: the name and which version.
pub fn parse_reference(text: &str) -> Result<(String, VersionSelector)> {
    crate::environments::parse_asset_reference(text, NameKind::Component)
}
