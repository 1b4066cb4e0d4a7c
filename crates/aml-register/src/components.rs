//! `aml-register component`: register, list and show command components. The JSON shape is a
//! public contract: `ComponentView` (`name`, `version`, `id`, `digest`, `command`, `inputs`,
//! `outputs` guaranteed); `list` prints an array of them. Fields are only ever added.

use std::collections::BTreeMap;
use std::io::{self, Write};

use aml_client::cli::{Report, Session};
use aml_client::components::{ComponentVersion, NewComponent};
use aml_client::{Access, Error, Result, Workspace};
use serde::Serialize;
use serde_json::Value;

use crate::cli::{AssetAction, AssetArgs};

pub async fn run(args: AssetArgs, workspace: &str, session: &Session) -> Result<Box<dyn Report>> {
    match args.action {
        Some(AssetAction::List { name }) => {
            let ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
            let versions = ws.component_versions(name.as_deref()).await?;
            if let (Some(name), true) = (&name, versions.is_empty()) {
                // The same message and hint as a missing component anywhere else.
                ws.component_version(name).await?;
            }
            Ok(Box::new(ComponentListing(versions.iter().map(ComponentView::from).collect())))
        }
        Some(AssetAction::Show { reference }) => {
            let ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
            Ok(Box::new(ComponentView::from(&ws.component_version(&reference).await?)))
        }
        Some(AssetAction::Promote { reference, to }) => {
            let source = Workspace::open(workspace, Access::Existing, &session.settings).await?;
            let version = source.component_version(&reference).await?;
            crate::promotion::check(&source, &to, "component", session).await?;
            // The frozen file registers as what it is: the same folder, the same digest.
            let frozen = source.component_file(&version)?;
            let new = NewComponent::from_file(&frozen, &[], None, None)?;
            let mut target = Workspace::open(&to, Access::CreateIfMissing, &session.settings).await?;
            let (promoted, reused) = target.register_component(&new).await?;
            let mut view = ComponentView::from(&promoted);
            view.reused = Some(reused);
            Ok(Box::new(ComponentRegistration(view)))
        }
        None => {
            let Some(file) = &args.file else {
                return Err(Error::usage(
                    "no component file given",
                    "register one with `aml-register component -f component.yml`, or `list` / `show` them",
                ));
            };
            // The file is checked whole before a workspace is created.
            let new = NewComponent::from_file(file, &args.sets, args.name.as_deref(), args.version.as_deref())?;
            for warning in &new.warnings {
                aml_client::status!("warning: {warning}");
            }
            let mut ws = Workspace::open(workspace, Access::CreateIfMissing, &session.settings).await?;
            let (version, reused) = ws.register_component(&new).await?;
            let mut view = ComponentView::from(&version);
            view.reused = Some(reused);
            Ok(Box::new(ComponentRegistration(view)))
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentView {
    pub name: String,
    pub version: String,
    /// `name:version`; pipeline steps name it `component: azureml:name:version`.
    pub id: String,
    pub digest: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub command: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub environment: String,
    pub code_files: u64,
    pub created_at: String,
    /// Only from registering: the same component was already this version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reused: Option<bool>,
}

impl From<&ComponentVersion> for ComponentView {
    fn from(version: &ComponentVersion) -> Self {
        ComponentView {
            name: version.name.clone(),
            version: version.version.clone(),
            id: version.id(),
            digest: version.digest.to_string(),
            display_name: version.display_name.clone(),
            description: version.description.clone(),
            tags: version.tags.clone(),
            command: version.command.clone(),
            inputs: version.inputs.clone(),
            outputs: version.outputs.clone(),
            environment: version.environment.clone(),
            code_files: version.code_files,
            created_at: version.created_at.clone(),
            reused: None,
        }
    }
}

impl Report for ComponentView {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}  {}", self.id, self.digest)?;
        writeln!(out, "  command   {}", self.command.trim())?;
        writeln!(out, "  inputs    {}", self.inputs.join(" "))?;
        writeln!(out, "  outputs   {}", self.outputs.join(" "))?;
        writeln!(out, "  env       {}", self.environment)?;
        writeln!(out, "  code      {} files", self.code_files)?;
        if let Some(description) = &self.description {
            writeln!(out, "  about     {description}")?;
        }
        writeln!(out, "  created   {}", self.created_at)
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

struct ComponentRegistration(ComponentView);

impl Report for ComponentRegistration {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let c = &self.0;
        if c.reused == Some(true) {
            writeln!(out, "{} is already this component; no new version was made", c.id)
        } else {
            writeln!(out, "registered component {}  (steps name it `component: azureml:{}`)", c.id, c.id)
        }
    }

    fn to_json(&self) -> Value {
        self.0.to_json()
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        vec![("componentName", self.0.name.clone()), ("componentVersion", self.0.version.clone())]
    }
}

struct ComponentListing(Vec<ComponentView>);

impl Report for ComponentListing {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.0.is_empty() {
            return writeln!(out, "no components");
        }
        let name_width = self.0.iter().map(|v| v.name.len()).max().unwrap_or(4).max(4);
        let version_width = self.0.iter().map(|v| v.version.len()).max().unwrap_or(7).max(7);
        writeln!(out, "{:name_width$}  {:version_width$}  {:20}  INPUTS → OUTPUTS", "NAME", "VERSION", "CREATED")?;
        for v in &self.0 {
            writeln!(
                out,
                "{:name_width$}  {:version_width$}  {:20}  {} → {}",
                v.name,
                v.version,
                v.created_at,
                v.inputs.join(","),
                v.outputs.join(",")
            )?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}
