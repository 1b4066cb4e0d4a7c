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
    /// The file it was read from.
    pub file: PathBuf,
    pub name: String,
    pub version: Option<String>,
    /// The component as it will be stored: its code at `./code`, its conda file inline.
    pub frozen: String,
    /// The code folder whose files go in with it.
    pub code: Option<PathBuf>,
    /// `additional_includes`: each file or folder goes into the code folder's root under its
    /// own name.
    pub includes: Vec<PathBuf>,
    /// `additional_includes` as the file writes them (Azure ML keeps them in the spec).
    pub additional_includes: Vec<String>,
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
        let includes = additional_includes(file, &spec.additional_includes)?;
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
        let additional_includes = std::mem::take(&mut spec.additional_includes);
        spec.name = Some(name.clone());
        let frozen = yaml_serde::to_string(&spec).map_err(|e| {
            Error::in_file(file, None, format!("cannot be written back as YAML: {e}"), "check the file's values")
        })?;
        Ok(NewComponent {
            file: file.to_path_buf(),
            name,
            version,
            frozen,
            code,
            includes,
            additional_includes,
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

impl NewComponent {
    /// Its code as it registers: the code folder's files, and `additional_includes` merged in.
    pub fn code_files(&self) -> Result<Vec<(String, PathBuf)>> {
        merged_code_files(self.code.as_deref(), &self.includes)
    }
}

/// A component file's `additional_includes`, each checked and resolved against the file.
pub fn additional_includes(file: &Path, written: &[String]) -> Result<Vec<PathBuf>> {
    let mut includes = Vec::new();
    for (i, include) in written.iter().enumerate() {
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
    Ok(includes)
}

/// A code folder's files (`.amlignore`/`.gitignore` applied) with each include merged into its
/// root under its own name, as Azure ML merges them, sorted by path; a path both in the folder
/// and among the includes is refused.
pub fn merged_code_files(code: Option<&Path>, includes: &[PathBuf]) -> Result<Vec<(String, PathBuf)>> {
    let mut files = match code {
        Some(code) => crate::tree::code_files(code)?,
        None => Vec::new(),
    };
    for include in includes {
        let under = include.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let included = crate::tree::code_files(include)?;
        if include.is_file() {
            files.extend(included);
        } else {
            files.extend(included.into_iter().map(|(name, file)| (format!("{under}/{name}"), file)));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(twice) = files.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::usage(
            format!("`{}` is both in the code folder and among `additional_includes`", twice[0].0),
            "rename one of them, or leave it out of `additional_includes`",
        ));
    }
    Ok(files)
}

/// `azureml:NAME@latest`, `azureml:NAME:V`, or without `azureml:`: the name and which version.
pub fn parse_reference(text: &str) -> Result<(String, VersionSelector)> {
    crate::environments::parse_asset_reference(text, NameKind::Component)
}
