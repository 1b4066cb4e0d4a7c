//! `aml-register data`: register, list and show data assets. The JSON shape is a public
//! contract: `DataView` (`name`, `version`, `id`, `type`, `path`, `digest` guaranteed); `list`
//! prints an array of them. Fields are only ever added.

use std::collections::BTreeMap;
use std::io::{self, Write};

use aml_client::cli::{Report, Session};
use aml_client::data_assets::{DataVersion, NewData};
use aml_client::{Access, Error, Result, Workspace};
use serde::Serialize;
use serde_json::Value;

use crate::cli::{AssetAction, AssetArgs};

pub async fn run(args: AssetArgs, workspace: &str, session: &Session) -> Result<Box<dyn Report>> {
    match args.action {
        Some(AssetAction::List { name }) => {
            let ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
            let versions = ws.data_versions(name.as_deref()).await?;
            if let (Some(name), true) = (&name, versions.is_empty()) {
                // The same message and hint as a missing data asset anywhere else.
                ws.data_version(name).await?;
            }
            Ok(Box::new(DataListing(versions.iter().map(DataView::from).collect())))
        }
        Some(AssetAction::Show { reference }) => {
            let ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
            Ok(Box::new(DataView::from(&ws.data_version(&reference).await?)))
        }
        Some(AssetAction::Promote { reference, to }) => {
            let source = Workspace::open(workspace, Access::Existing, &session.settings).await?;
            let version = source.data_version(&reference).await?;
            crate::promotion::check(&source, &to, "data asset", session).await?;
            let new = NewData {
                name: version.name.clone(),
                version: None,
                kind: version.kind,
                description: version.description.clone(),
                tags: version.tags.clone(),
                properties: version.properties.clone(),
                content: source.data_content(&version)?,
            };
            let mut target = Workspace::open(&to, Access::CreateIfMissing, &session.settings).await?;
            let (promoted, reused) = target.register_data(&new).await?;
            let mut view = DataView::from(&promoted);
            view.reused = Some(reused);
            Ok(Box::new(DataRegistration(view)))
        }
        None => {
            let Some(file) = &args.file else {
                return Err(Error::usage(
                    "no data asset file given",
                    "register one with `aml-register data -f data.yml`, or `list` / `show` them",
                ));
            };
            // The file is checked whole before a workspace is created.
            let new = NewData::from_file(file, &args.sets, args.name.as_deref(), args.version.as_deref())?;
            let mut ws = Workspace::open(workspace, Access::CreateIfMissing, &session.settings).await?;
            let (version, reused) = ws.register_data(&new).await?;
            let mut view = DataView::from(&version);
            view.reused = Some(reused);
            Ok(Box::new(DataRegistration(view)))
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DataView {
    pub name: String,
    pub version: String,
    /// `name:version`; job inputs name it `azureml:name:version`.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The local file or folder it was copied from, or the path elsewhere it names.
    pub path: String,
    /// Whether its files were copied into the workspace (a local path) or are read where
    /// they are.
    pub copied: bool,
    pub size: Option<u64>,
    pub file_count: Option<u64>,
    pub digest: String,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub properties: BTreeMap<String, String>,
    pub created_at: String,
    /// Only from registering: the same content was already this version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reused: Option<bool>,
}

impl From<&DataVersion> for DataView {
    fn from(version: &DataVersion) -> Self {
        DataView {
            name: version.name.clone(),
            version: version.version.clone(),
            id: version.id(),
            kind: version.kind.as_str().to_string(),
            path: version.path.clone(),
            copied: version.copied.is_some(),
            size: version.copied.map(|(size, _)| size),
            file_count: version.copied.map(|(_, files)| files),
            digest: version.digest.to_string(),
            description: version.description.clone(),
            tags: version.tags.clone(),
            properties: version.properties.clone(),
            created_at: version.created_at.clone(),
            reused: None,
        }
    }
}

impl Report for DataView {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}  {}  {}", self.id, self.kind, self.digest)?;
        match (self.size, self.file_count) {
            (Some(size), Some(files)) => writeln!(out, "  copied    {files} files, {size} bytes, from {}", self.path)?,
            _ => writeln!(out, "  path      {} (read where it is)", self.path)?,
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

struct DataRegistration(DataView);

impl Report for DataRegistration {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let d = &self.0;
        if d.reused == Some(true) {
            writeln!(out, "{} already holds this; no new version was made", d.id)
        } else {
            writeln!(out, "registered data asset {}  {}  (job inputs name it `azureml:{}`)", d.id, d.kind, d.id)
        }
    }

    fn to_json(&self) -> Value {
        self.0.to_json()
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        vec![("dataName", self.0.name.clone()), ("dataVersion", self.0.version.clone())]
    }
}

struct DataListing(Vec<DataView>);

impl Report for DataListing {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.0.is_empty() {
            return writeln!(out, "no data assets");
        }
        let name_width = self.0.iter().map(|v| v.name.len()).max().unwrap_or(4).max(4);
        let version_width = self.0.iter().map(|v| v.version.len()).max().unwrap_or(7).max(7);
        writeln!(out, "{:name_width$}  {:version_width$}  {:10}  {:20}  PATH", "NAME", "VERSION", "TYPE", "CREATED")?;
        for v in &self.0 {
            writeln!(
                out,
                "{:name_width$}  {:version_width$}  {:10}  {:20}  {}",
                v.name, v.version, v.kind, v.created_at, v.path
            )?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}
