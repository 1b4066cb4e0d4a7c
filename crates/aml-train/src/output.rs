//! What `aml-train` prints. The JSON shapes here are a public contract read by templates
//! and scripts: fields are only ever added. `run` and `show` print a `JobView`:
//! `name`, `status`, `metrics` (name → number) and `outputs` (name → URI) are guaranteed.

use std::collections::BTreeMap;
use std::io::{self, Write};

use aml_client::cli::Report;
pub use aml_client::job_view::{JobView, short_number};
use aml_client::jobs::JobStatus;
use serde::Serialize;
use serde_json::Value;

use crate::contract::DataCheck;

/// `cancel`'s answer: the job as it ended; success is that it ended Canceled.
pub struct CancelView(pub JobView);

impl Report for CancelView {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        self.0.render_text(out)
    }

    fn to_json(&self) -> Value {
        self.0.to_json()
    }

    fn exit_code(&self) -> u8 {
        if self.0.status == JobStatus::Canceled.as_str() { 0 } else { 1 }
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        self.0.ci_outputs()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricsView {
    pub name: String,
    pub metrics: BTreeMap<String, f64>,
}

impl Report for MetricsView {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let width = self.metrics.keys().map(String::len).max().unwrap_or(0);
        for (k, v) in &self.metrics {
            writeln!(out, "{k:width$}  {}", short_number(*v))?;
        }
        Ok(())
    }

    /// The contract for `metrics` is the map itself: name → number.
    fn to_json(&self) -> Value {
        serde_json::to_value(&self.metrics).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LogsView {
    pub name: String,
    /// Step (or the job's name) → log text, in the order the steps ran.
    pub logs: Vec<LogPart>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogPart {
    pub step: Option<String>,
    pub job: String,
    pub path: String,
    pub text: String,
}

impl Report for LogsView {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let many = self.logs.len() > 1;
        for part in &self.logs {
            if many {
                writeln!(out, "==> step {} ({}) <==", part.step.as_deref().unwrap_or("-"), part.job)?;
            }
            out.write_all(part.text.as_bytes())?;
            if many && !part.text.ends_with('\n') {
                writeln!(out)?;
            }
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

#[derive(Debug, Clone, Serialize)]
pub struct ValidateView {
    pub file: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub valid: bool,
    pub steps: Vec<String>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub warnings: Vec<String>,
    /// What keeps this valid file from running on some backend, and where it runs.
    pub notes: Vec<String>,
    pub data_checks: Vec<DataCheck>,
}

impl Report for ValidateView {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let shape = match self.kind.as_str() {
            "pipeline" => format!("pipeline job, {} steps: {}", self.steps.len(), self.steps.join(" → ")),
            kind => {
                format!("{kind} job, {}, {}", count(self.inputs.len(), "input"), count(self.outputs.len(), "output"))
            }
        };
        for note in &self.notes {
            writeln!(out, "note: {note}")?;
        }
        for check in &self.data_checks {
            if check.passed {
                writeln!(out, "data ok: input `{}` ({}, {} rows)", check.input, check.file, check.rows)?;
                continue;
            }
            writeln!(out, "data FAILED: input `{}` ({}, {} rows)", check.input, check.file, check.rows)?;
            for v in &check.violations {
                let lines =
                    v.examples.iter().map(|e| format!("line {} `{}`", e.line, e.value)).collect::<Vec<_>>().join(", ");
                writeln!(out, "  {} ({} rows): {}", v.message, v.count, lines)?;
            }
        }
        if self.valid {
            writeln!(out, "ok: {} ({shape})", self.file)
        } else {
            writeln!(out, "invalid: {} ({shape}): data breaks its contract", self.file)
        }
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn exit_code(&self) -> u8 {
        if self.valid { 0 } else { 1 }
    }

    fn summary(&self) -> Option<String> {
        (!self.valid).then(|| {
            let mut md = format!("### aml-train validate: `{}` breaks its data contract\n\n", self.file);
            for check in self.data_checks.iter().filter(|c| !c.passed) {
                for v in &check.violations {
                    md.push_str(&format!("- `{}`: {} ({} rows)\n", check.input, v.message, v.count));
                }
            }
            md
        })
    }
}
