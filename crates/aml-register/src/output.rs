//! What `aml-register` prints. The JSON shapes are a public contract: `model` and `show`
//! print a `ModelView` (`name`, `version`, `digest`, `tags`, `metrics`, `lineage` are
//! guaranteed), `list` prints an array of them. Fields are only ever added.

use std::collections::BTreeMap;
use std::io::{self, Write};

use aml_client::approvals::AuditEntry;
use aml_client::cli::Report;
use aml_client::model::{Lineage, ModelVersion};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct ModelView {
    pub name: String,
    pub version: String,
    /// `name:version`, the reference other tools take.
    pub id: String,
    pub digest: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub properties: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
    pub lineage: Lineage,
    pub source: String,
    pub size: u64,
    pub file_count: u64,
    pub created_at: String,
    pub created_by: Option<String>,
    /// Only from `model`: the bytes were already registered and this version was returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reused: Option<bool>,
    /// Only from `show`: gate decisions and approvals about this version or its job,
    /// oldest first (`approval-gate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decisions: Option<Vec<AuditEntry>>,
}

impl From<&ModelVersion> for ModelView {
    fn from(v: &ModelVersion) -> Self {
        ModelView {
            name: v.name.clone(),
            version: v.version.clone(),
            id: v.id(),
            digest: v.digest.to_string(),
            kind: v.kind.as_str().to_string(),
            description: v.description.clone(),
            tags: v.tags.clone(),
            properties: v.properties.clone(),
            metrics: v.metrics.clone(),
            lineage: v.lineage.clone(),
            source: v.source.clone(),
            size: v.size,
            file_count: v.file_count,
            created_at: v.created_at.clone(),
            created_by: v.created_by.clone(),
            reused: None,
            decisions: None,
        }
    }
}

pub use aml_client::cli::human_size;

fn short_digest(digest: &str) -> &str {
    &digest[..digest.len().min("sha256:".len() + 12)]
}

fn pairs(map: &BTreeMap<String, String>) -> String {
    map.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

fn number(value: f64) -> String {
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn files(count: u64, size: u64) -> String {
    format!("{count} file{}, {}", if count == 1 { "" } else { "s" }, human_size(size))
}

/// The answer to `aml-register model`.
pub struct Registration(pub ModelView);

impl Report for Registration {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let m = &self.0;
        if m.reused == Some(true) {
            writeln!(out, "{} already holds these bytes ({}); no new version was made", m.id, short_digest(&m.digest))
        } else {
            writeln!(
                out,
                "registered {}  {}  ({})  from {}",
                m.id,
                short_digest(&m.digest),
                files(m.file_count, m.size),
                m.source
            )
        }
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        let m = &self.0;
        vec![
            ("modelName", m.name.clone()),
            ("modelVersion", m.version.clone()),
            ("modelId", m.id.clone()),
            ("modelDigest", m.digest.clone()),
        ]
    }

    fn summary(&self) -> Option<String> {
        let m = &self.0;
        let mut md = format!("### aml-register: `{}`\n\n- digest `{}`\n- source `{}`\n", m.id, m.digest, m.source);
        if m.reused == Some(true) {
            md.push_str("- identical bytes were already registered; no new version\n");
        }
        for (k, v) in &m.metrics {
            md.push_str(&format!("- {k}: {}\n", number(*v)));
        }
        Some(md)
    }
}

impl Report for ModelView {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}  {}  {}", self.id, self.kind, self.digest)?;
        writeln!(out, "  size      {}", files(self.file_count, self.size))?;
        writeln!(out, "  source    {}", self.source)?;
        if let Some(description) = &self.description {
            writeln!(out, "  about     {description}")?;
        }
        if !self.tags.is_empty() {
            writeln!(out, "  tags      {}", pairs(&self.tags))?;
        }
        if !self.properties.is_empty() {
            writeln!(out, "  props     {}", pairs(&self.properties))?;
        }
        if !self.metrics.is_empty() {
            let metrics = self.metrics.iter().map(|(k, v)| format!("{k}={}", number(*v))).collect::<Vec<_>>().join(" ");
            writeln!(out, "  metrics   {metrics}")?;
        }
        let lineage = &self.lineage;
        if let Some(job) = &lineage.job {
            writeln!(out, "  job       {job} (experiment {})", lineage.experiment.as_deref().unwrap_or("-"))?;
        }
        if let Some(code) = &lineage.code_digest {
            writeln!(out, "  code      {}", short_digest(&code.to_string()))?;
        }
        if let Some(git) = &lineage.git {
            writeln!(
                out,
                "  git       {}{}",
                &git.commit[..git.commit.len().min(12)],
                if git.dirty { " (with uncommitted changes)" } else { "" }
            )?;
        }
        for data in &lineage.data {
            let digest = data.digest.map(|d| d.to_string()).unwrap_or_default();
            writeln!(out, "  data      {} {} {}", data.input, short_digest(&digest), data.uri)?;
        }
        if let Some(run) = &lineage.ci_run {
            writeln!(out, "  ci run    {run}")?;
        }
        writeln!(out, "  created   {} by {}", self.created_at, self.created_by.as_deref().unwrap_or("unknown"))?;
        for entry in self.decisions.iter().flatten() {
            writeln!(out, "  decision  {}", entry.summary())?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The answer to `aml-register list`: a JSON array.
pub struct Listing {
    pub versions: Vec<ModelView>,
}

impl Report for Listing {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.versions.is_empty() {
            return writeln!(out, "no models");
        }
        let name_width = self.versions.iter().map(|v| v.name.len()).max().unwrap_or(4).max(4);
        let version_width = self.versions.iter().map(|v| v.version.len()).max().unwrap_or(7).max(7);
        writeln!(out, "{:name_width$}  {:version_width$}  {:19}  {:20}  TAGS", "NAME", "VERSION", "DIGEST", "CREATED")?;
        for v in &self.versions {
            writeln!(
                out,
                "{:name_width$}  {:version_width$}  {:19}  {:20}  {}",
                v.name,
                v.version,
                short_digest(&v.digest),
                v.created_at,
                pairs(&v.tags)
            )?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(&self.versions).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Serialize)]
pub struct Download {
    pub name: String,
    pub version: String,
    pub digest: String,
    pub directory: String,
    pub files: Vec<String>,
}

impl Report for Download {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for file in &self.files {
            writeln!(out, "{file}")?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
