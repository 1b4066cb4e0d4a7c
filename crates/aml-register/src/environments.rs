//! `aml-register environment`: register, list and show environments. The JSON shape is a
//! public contract: `EnvironmentView` (`name`, `version`, `id`, `digest`, `image`, `python`,
//! `packages` guaranteed); `list` prints an array of them. Fields are only ever added.

use std::collections::BTreeMap;
use std::io::{self, Write};

use aml_client::cli::{Report, Session};
use aml_client::environments::{EnvironmentVersion, NewEnvironment};
use aml_client::jobplan::EnvPlan;
use aml_client::{Access, Error, Result, Workspace};
use serde::Serialize;
use serde_json::Value;

use crate::cli::{AssetAction, AssetArgs};

pub async fn run(args: AssetArgs, workspace: &str, session: &Session) -> Result<Box<dyn Report>> {
    match args.action {
        Some(AssetAction::List { name }) => {
            let ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
            let versions = ws.environment_versions(name.as_deref()).await?;
            if let (Some(name), true) = (&name, versions.is_empty()) {
                // The same message and hint as a missing environment anywhere else.
                ws.environment_version(name).await?;
            }
            Ok(Box::new(EnvironmentListing(versions.iter().map(EnvironmentView::from).collect())))
        }
        Some(AssetAction::Show { reference }) => {
            let ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
            Ok(Box::new(EnvironmentView::from(&ws.environment_version(&reference).await?)))
        }
        Some(AssetAction::Promote { reference, to }) => {
            let source = Workspace::open(workspace, Access::Existing, &session.settings).await?;
            let version = source.environment_version(&reference).await?;
            crate::promotion::check(&source, &to, "environment", session).await?;
            let mut target = Workspace::open(&to, Access::CreateIfMissing, &session.settings).await?;
            let (promoted, reused) = target.register_environment(&version.to_new()).await?;
            let mut view = EnvironmentView::from(&promoted);
            view.reused = Some(reused);
            Ok(Box::new(EnvironmentRegistration(view)))
        }
        None => {
            let Some(file) = &args.file else {
                return Err(Error::usage(
                    "no environment file given",
                    "register one with `aml-register environment -f env.yml`, or `list` / `show` them",
                ));
            };
            // The file is checked whole before a workspace is created.
            let new = NewEnvironment::from_file(file, &args.sets, args.name.as_deref(), args.version.as_deref())?;
            for warning in &new.warnings {
                aml_client::status!("warning: {warning}");
            }
            let mut ws = Workspace::open(workspace, Access::CreateIfMissing, &session.settings).await?;
            let (version, reused) = ws.register_environment(&new).await?;
            let mut view = EnvironmentView::from(&version);
            view.reused = Some(reused);
            Ok(Box::new(EnvironmentRegistration(view)))
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentView {
    pub name: String,
    pub version: String,
    /// `name:version`; jobs name it `azureml:name:version`.
    pub id: String,
    pub digest: String,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub image: Option<String>,
    /// The Python its packages are for, if the file names one.
    pub python: Option<String>,
    /// The packages a local job gets (pip requirements), as frozen when registered.
    pub packages: Vec<String>,
    /// Why a local job cannot run with it, if it cannot (Azure ML can).
    pub not_built_here: Option<String>,
    pub created_at: String,
    /// Only from registering: the same environment was already this version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reused: Option<bool>,
}

impl From<&EnvironmentVersion> for EnvironmentView {
    fn from(version: &EnvironmentVersion) -> Self {
        let (python, packages) = match &version.plan {
            EnvPlan::Packages { python, packages, .. } => (python.clone(), packages.clone()),
            EnvPlan::BaseInterpreter { .. } | EnvPlan::Registered { .. } | EnvPlan::DockerBuild { .. } => {
                (None, Vec::new())
            }
        };
        let id = version.id();
        EnvironmentView {
            name: version.name.clone(),
            version: version.version.clone(),
            not_built_here: version.plan.blocker(std::path::Path::new(&id), "environment").map(|b| b.problem),
            id,
            digest: version.digest.to_string(),
            description: version.description.clone(),
            tags: version.tags.clone(),
            image: version.image.clone(),
            python,
            packages,
            created_at: version.created_at.clone(),
            reused: None,
        }
    }
}

impl Report for EnvironmentView {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}  {}", self.id, self.digest)?;
        if let Some(image) = &self.image {
            writeln!(out, "  image     {image}")?;
        }
        if let Some(python) = &self.python {
            writeln!(out, "  python    {python}")?;
        }
        if !self.packages.is_empty() {
            writeln!(out, "  packages  {}", self.packages.join(" "))?;
        }
        if let Some(why) = &self.not_built_here {
            writeln!(out, "  locally   not built: {why}")?;
        }
        if let Some(description) = &self.description {
            writeln!(out, "  about     {description}")?;
        }
        if !self.tags.is_empty() {
            let tags = self.tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
            writeln!(out, "  tags      {tags}")?;
        }
        writeln!(out, "  created   {}", self.created_at)
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

struct EnvironmentRegistration(EnvironmentView);

impl Report for EnvironmentRegistration {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let e = &self.0;
        if e.reused == Some(true) {
            writeln!(out, "{} is already this environment; no new version was made", e.id)
        } else {
            writeln!(out, "registered environment {}  (jobs name it `azureml:{}`)", e.id, e.id)
        }
    }

    fn to_json(&self) -> Value {
        self.0.to_json()
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        vec![("environmentName", self.0.name.clone()), ("environmentVersion", self.0.version.clone())]
    }
}

struct EnvironmentListing(Vec<EnvironmentView>);

impl Report for EnvironmentListing {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.0.is_empty() {
            return writeln!(out, "no environments");
        }
        let name_width = self.0.iter().map(|v| v.name.len()).max().unwrap_or(4).max(4);
        let version_width = self.0.iter().map(|v| v.version.len()).max().unwrap_or(7).max(7);
        writeln!(out, "{:name_width$}  {:version_width$}  {:20}  IMAGE / PACKAGES", "NAME", "VERSION", "CREATED")?;
        for v in &self.0 {
            let what = match (&v.image, v.packages.len()) {
                (Some(image), 0) => image.clone(),
                (Some(image), n) => format!("{image} + {n} packages"),
                (None, n) => format!("{n} packages"),
            };
            writeln!(out, "{:name_width$}  {:version_width$}  {:20}  {what}", v.name, v.version, v.created_at)?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}
