//! A job as the tools print it (`aml-train run|show`, `aml-deploy invoke`). The JSON shape
//! is a public contract read by templates and scripts: fields are only ever added. `name`,
//! `status`, `metrics` (name → number) and `outputs` (name → URI) are guaranteed.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use crate::cli::Report;
use crate::jobs::{Job, JobInputRecord, JobStatus};
use crate::model::GitInfo;

#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub display_name: Option<String>,
    pub experiment_name: String,
    /// The file's tags, and `best_child_run_id` on a sweep (its best trial), as Azure ML says it.
    pub tags: BTreeMap<String, String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_seconds: Option<f64>,
    pub metrics: BTreeMap<String, f64>,
    pub params: BTreeMap<String, String>,
    pub inputs: BTreeMap<String, JobInputRecord>,
    /// Output name → `azureml://jobs/<job>/outputs/<name>`, the reference every tool understands.
    pub outputs: BTreeMap<String, String>,
    /// Output name → where it is on this machine (local workspace).
    pub output_paths: BTreeMap<String, String>,
    pub code_digest: Option<String>,
    pub environment: Option<String>,
    /// The command as it ran, placeholders expanded.
    pub command: Option<String>,
    pub git: Option<GitInfo>,
    pub error: Option<String>,
    pub file: Option<String>,
    /// The job's log; a pipeline's logs are its steps'.
    pub log: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub step: String,
    pub name: String,
    /// A sweep trial's says its values (`trial 2: alpha=0.1`).
    pub display_name: Option<String>,
    pub status: String,
    pub duration_seconds: Option<f64>,
    pub metrics: BTreeMap<String, f64>,
    pub outputs: BTreeMap<String, String>,
    pub command: Option<String>,
    pub error: Option<String>,
    pub log: String,
}

fn duration(job: &Job) -> Option<f64> {
    crate::time::seconds_between(job.started_at.as_deref()?, job.ended_at.as_deref()?)
}

impl JobView {
    pub fn new(
        job: &Job,
        metrics: BTreeMap<String, f64>,
        params: BTreeMap<String, String>,
        log: Option<String>,
        steps: Vec<StepView>,
    ) -> JobView {
        JobView {
            name: job.name.to_string(),
            kind: job.kind.clone(),
            status: job.status.to_string(),
            display_name: job.display_name.clone(),
            experiment_name: job.experiment_name.clone(),
            tags: job.tags.clone(),
            created_at: job.created_at.clone(),
            started_at: job.started_at.clone(),
            ended_at: job.ended_at.clone(),
            duration_seconds: duration(job),
            metrics,
            params,
            inputs: job.inputs.clone(),
            outputs: job.outputs.iter().map(|(k, o)| (k.clone(), o.uri.clone())).collect(),
            output_paths: job.outputs.iter().map(|(k, o)| (k.clone(), o.path.clone())).collect(),
            code_digest: job.code_digest.map(|d| d.to_string()),
            environment: job.environment.clone(),
            command: job.command.clone(),
            git: job.git.clone(),
            error: job.error.clone(),
            file: job.file.clone(),
            log,
            steps,
        }
    }
}

impl StepView {
    pub fn new(job: &Job, metrics: BTreeMap<String, f64>, log: String) -> StepView {
        StepView {
            step: job.step.clone().unwrap_or_default(),
            name: job.name.to_string(),
            display_name: job.display_name.clone(),
            status: job.status.to_string(),
            duration_seconds: duration(job),
            metrics,
            outputs: job.outputs.iter().map(|(k, o)| (k.clone(), o.uri.clone())).collect(),
            command: job.command.clone(),
            error: job.error.clone(),
            log,
        }
    }
}

fn format_metrics(metrics: &BTreeMap<String, f64>) -> String {
    metrics.iter().map(|(k, v)| format!("{k}={}", short_number(*v))).collect::<Vec<_>>().join("  ")
}

/// Numbers as people read them: 4 significant decimals, no float noise.
pub fn short_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Report for JobView {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let took = self.duration_seconds.map(|s| format!(" in {s:.0}s")).unwrap_or_default();
        writeln!(out, "job {}: {}{took} ({}, experiment {})", self.name, self.status, self.kind, self.experiment_name)?;
        if !self.metrics.is_empty() {
            writeln!(out, "  metrics  {}", format_metrics(&self.metrics))?;
        }
        for (name, uri) in &self.outputs {
            writeln!(out, "  output   {name}  {uri}")?;
        }
        for step in &self.steps {
            let took = step.duration_seconds.map(|s| format!(" in {s:.0}s")).unwrap_or_default();
            writeln!(out, "  step     {}: {}{took}  {}", step.step, step.status, format_metrics(&step.metrics))?;
        }
        if let Some(error) = &self.error {
            writeln!(out, "  error    {}", error.replace('\n', "\n           "))?;
        }
        match &self.log {
            Some(log) => writeln!(out, "  log      {log}"),
            None => writeln!(out, "  logs     aml-train logs {}", self.name),
        }
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn exit_code(&self) -> u8 {
        if self.status == JobStatus::Completed.as_str() { 0 } else { 1 }
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        vec![("jobName", self.name.clone()), ("jobStatus", self.status.clone())]
    }

    fn summary(&self) -> Option<String> {
        let mut md = format!("### job `{}` {}\n\n", self.name, self.status);
        if !self.metrics.is_empty() {
            md.push_str("| metric | value |\n|---|---|\n");
            for (k, v) in &self.metrics {
                md.push_str(&format!("| {k} | {} |\n", short_number(*v)));
            }
        }
        for (name, uri) in &self.outputs {
            md.push_str(&format!("\n- output `{name}`: `{uri}`"));
        }
        Some(md)
    }
}
