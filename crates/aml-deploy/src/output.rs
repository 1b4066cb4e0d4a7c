//! What `aml-deploy` prints. The JSON is a public contract: `show` guarantees `name`,
//! `scoring_uri`, `traffic` (deployment → weight), `mirror_traffic`, `kind` (`managed` or
//! `kubernetes`, with its `compute`; `batch`, with its `default_deployment`) and `deployments`
//! (each with `name`, `model`, `state`); `invoke` prints the job as `aml-train run` does.
//! Fields are only ever added. No key is ever printed.

use std::collections::BTreeMap;
use std::io::{self, Write};

use aml_client::cli::Report;
use aml_client::online::{ApplyOutcome, Endpoint, EndpointKind};
use serde::Serialize;
use serde_json::Value;

fn split(traffic: &BTreeMap<String, u32>) -> String {
    if traffic.is_empty() {
        return "none".into();
    }
    traffic.iter().map(|(k, v)| format!("{k}={v}%")).collect::<Vec<_>>().join(" ")
}

pub struct EndpointView(pub Endpoint);

impl Report for EndpointView {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let e = &self.0;
        if e.kind == EndpointKind::Batch {
            writeln!(out, "batch endpoint {}  (aml-deploy invoke {} --input PATH)", e.name, e.name)?;
            writeln!(out, "  default  {}", e.default_deployment.as_deref().unwrap_or("(none)"))?;
        } else {
            writeln!(out, "endpoint {}  {}", e.name, e.scoring_uri.as_deref().unwrap_or("(not serving)"))?;
        }
        if let Some(compute) = &e.compute {
            writeln!(out, "  compute  {compute} (kubernetes)")?;
        }
        if e.kind != EndpointKind::Batch {
            writeln!(out, "  traffic  {}", split(&e.traffic))?;
        }
        if !e.mirror_traffic.is_empty() {
            writeln!(out, "  mirror   {}", split(&e.mirror_traffic))?;
        }
        for d in &e.deployments {
            let error =
                d.error.as_ref().map(|e| format!("  ({})", e.lines().next().unwrap_or_default())).unwrap_or_default();
            let restarts = match d.restarts {
                Some(1) => "  (restarted once)".to_string(),
                Some(n) => format!("  (restarted {n} times)"),
                None => String::new(),
            };
            writeln!(
                out,
                "  deployment {}  {}  model {}{error}{restarts}",
                d.name,
                d.state,
                d.model.as_deref().unwrap_or("-")
            )?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        vec![("endpointName", self.0.name.clone()), ("scoringUri", self.0.scoring_uri.clone().unwrap_or_default())]
    }
}

pub struct Endpoints(pub Vec<Endpoint>);

impl Report for Endpoints {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.0.is_empty() {
            return writeln!(out, "no endpoints");
        }
        for e in &self.0 {
            if e.kind == EndpointKind::Batch {
                let default = e.default_deployment.as_deref().unwrap_or("-");
                writeln!(out, "{}  batch  default {default}", e.name)?;
                continue;
            }
            let kind = e.compute.as_ref().map(|c| format!("  kubernetes:{c}")).unwrap_or_default();
            writeln!(out, "{}  {}  {}{kind}", e.name, e.scoring_uri.as_deref().unwrap_or("-"), split(&e.traffic))?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}

#[derive(Serialize)]
pub struct Applied {
    /// `endpoint` or `deployment`.
    pub kind: &'static str,
    pub name: String,
    pub outcome: ApplyOutcome,
    pub endpoint: Endpoint,
}

impl Report for Applied {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let what = match self.outcome {
            ApplyOutcome::Created => "created",
            ApplyOutcome::Updated => "updated",
            ApplyOutcome::Unchanged => "unchanged (same spec, model and code; nothing restarted)",
        };
        writeln!(out, "{} {}: {what}", self.kind, self.name)?;
        EndpointView(self.endpoint.clone()).render_text(out)
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("endpointName", self.endpoint.name.clone()),
            ("scoringUri", self.endpoint.scoring_uri.clone().unwrap_or_default()),
        ]
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// What happened: `mirror`, `traffic`, `confirm`.
    pub kind: &'static str,
    /// The new deployment's weight (or mirrored percent) at this step.
    pub weight: u32,
    pub traffic: BTreeMap<String, u32>,
    pub check: Option<CheckRun>,
    /// With `--analysis`: each analysis of the step (more than one when failures are tolerated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub analysis: Vec<crate::analysis::Decision>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckRun {
    pub command: String,
    pub passed: bool,
    pub exit_code: Option<i32>,
    pub attempts: u32,
}

#[derive(Serialize)]
pub struct Rollout {
    pub endpoint: String,
    pub deployment: String,
    /// `completed`, `rolled_back`, `overridden` (someone else changed the endpoint's traffic
    /// meanwhile: the rollout stopped and left their split), or `paused` (an inconclusive
    /// analysis with `--inconclusive pause`: traffic left at the step, `--resume` goes on).
    pub status: &'static str,
    pub reason: Option<String>,
    pub previous_traffic: BTreeMap<String, u32>,
    pub traffic: BTreeMap<String, u32>,
    pub steps: Vec<Step>,
    /// On failure: the end of the new deployment's log.
    pub log_tail: Option<String>,
    /// Paused with `--approvers`: the approval request filed for a person to decide.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_request: Option<String>,
}

impl Report for Rollout {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for step in &self.steps {
            let check = step
                .check
                .as_ref()
                .map(|c| format!("  check {}", if c.passed { "passed" } else { "FAILED" }))
                .unwrap_or_default();
            writeln!(out, "  {} {}%: {}{check}", step.kind, step.weight, split(&step.traffic))?;
            for decision in &step.analysis {
                writeln!(
                    out,
                    "    analysis {} ({} requests to {} in {:.0}s, at least {} needed)",
                    decision.verdict.to_uppercase(),
                    decision.new_requests,
                    self.deployment,
                    decision.window_seconds,
                    decision.min_requests
                )?;
                for row in &decision.rows {
                    writeln!(out, "      {:<9} {}  [{}]", row.verdict, row.rule, row.observed_text())?;
                }
            }
        }
        match self.status {
            "completed" => {
                writeln!(out, "rollout of {} on {} completed: {}", self.deployment, self.endpoint, split(&self.traffic))
            }
            "paused" => {
                writeln!(
                    out,
                    "rollout of {} on {} PAUSED: {}",
                    self.deployment,
                    self.endpoint,
                    self.reason.as_deref().unwrap_or("")
                )?;
                writeln!(
                    out,
                    "  traffic left at: {} (`aml-deploy rollout --resume` goes on; `aml-deploy traffic` decides otherwise)",
                    split(&self.traffic)
                )
            }
            "overridden" => {
                writeln!(
                    out,
                    "rollout of {} on {} STOPPED: {}",
                    self.deployment,
                    self.endpoint,
                    self.reason.as_deref().unwrap_or("")
                )?;
                writeln!(out, "  traffic left as found: {}", split(&self.traffic))
            }
            _ => {
                writeln!(
                    out,
                    "rollout of {} on {} ROLLED BACK: {}",
                    self.deployment,
                    self.endpoint,
                    self.reason.as_deref().unwrap_or("")
                )?;
                writeln!(out, "  traffic restored: {}", split(&self.traffic))?;
                if let Some(tail) = &self.log_tail {
                    writeln!(out, "  last lines of {}'s log:\n{tail}", self.deployment)?;
                }
                Ok(())
            }
        }
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn exit_code(&self) -> u8 {
        match self.status {
            "completed" => 0,
            "paused" => 4,
            _ => 1,
        }
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        let mut outputs = vec![("rolloutStatus", self.status.to_string())];
        if let Some(id) = &self.approval_request {
            outputs.push(("approvalRequestId", id.clone()));
        }
        outputs
    }

    fn summary(&self) -> Option<String> {
        let mut md = format!(
            "### aml-deploy rollout: `{}` on `{}` {}\n\n| step | traffic | check |\n|---|---|---|\n",
            self.deployment, self.endpoint, self.status
        );
        for step in &self.steps {
            let check = step.check.as_ref().map(|c| if c.passed { "passed" } else { "failed" }).unwrap_or("-");
            md.push_str(&format!("| {} {}% | {} | {check} |\n", step.kind, step.weight, split(&step.traffic)));
        }
        let analysed: Vec<&Step> = self.steps.iter().filter(|s| !s.analysis.is_empty()).collect();
        if !analysed.is_empty() {
            md.push_str("\n| step | rule | observed | verdict |\n|---|---|---|---|\n");
            for step in analysed {
                for decision in &step.analysis {
                    for row in &decision.rows {
                        md.push_str(&format!(
                            "| {}% ({}, {} requests) | `{}` | {} | {} |\n",
                            step.weight,
                            decision.verdict,
                            decision.new_requests,
                            row.rule.replace('|', "\\|"),
                            row.observed_text(),
                            row.verdict
                        ));
                    }
                }
            }
            md.push_str(&latency_chart(&self.steps));
        }
        Some(md)
    }
}

pub struct Logs {
    pub path: String,
    pub text: String,
}

impl Report for Logs {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(self.text.as_bytes())
    }

    fn to_json(&self) -> Value {
        serde_json::json!({ "path": self.path, "text": self.text })
    }
}

pub struct Deleted {
    pub what: String,
}

impl Report for Deleted {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "deleted {}", self.what)
    }

    fn to_json(&self) -> Value {
        serde_json::json!({ "deleted": self.what })
    }
}

/// What `validate` found: the file is valid (else it exited 2), what it is, and notes.
#[derive(Serialize)]
pub struct Validated {
    pub file: String,
    /// `endpoint` or `deployment`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub endpoint: String,
    pub valid: bool,
    pub notes: Vec<String>,
}

impl Validated {
    pub fn new(
        file: &std::path::Path,
        spec: &aml_client::yaml::deploy_file::OnlineSpec,
        notes: Vec<String>,
    ) -> Validated {
        use aml_client::yaml::deploy_file::OnlineSpec;
        let (kind, name, endpoint) = match spec {
            OnlineSpec::Endpoint { spec, .. } => ("endpoint", spec.name.to_string(), spec.name.to_string()),
            OnlineSpec::Deployment { spec, .. } => {
                ("deployment", spec.name.to_string(), spec.endpoint_name.to_string())
            }
            OnlineSpec::BatchEndpoint { spec, .. } => ("batch endpoint", spec.name.to_string(), spec.name.to_string()),
            OnlineSpec::BatchDeployment { spec, .. } => {
                ("batch deployment", spec.name().to_string(), spec.endpoint_name().to_string())
            }
        };
        Validated { file: file.display().to_string(), kind, name, endpoint, valid: true, notes }
    }
}

impl Report for Validated {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for note in &self.notes {
            writeln!(out, "note: {note}")?;
        }
        match self.kind {
            "endpoint" | "batch endpoint" => writeln!(out, "ok: {} ({} `{}`)", self.file, self.kind, self.name),
            _ => writeln!(out, "ok: {} ({} `{}` of endpoint `{}`)", self.file, self.kind, self.name, self.endpoint),
        }
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// `aml-deploy collected`: the lines as they are stored (JSON Lines), or one document.
pub struct Collected {
    pub lines: Vec<aml_client::collected::CollectedLine>,
}

impl Report for Collected {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for line in &self.lines {
            writeln!(out, "{}", serde_json::to_string(line).map_err(io::Error::other)?)?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::json!({ "count": self.lines.len(), "lines": self.lines })
    }
}

/// `aml-deploy metrics`: one line per deployment.
pub struct Metrics {
    pub metrics: aml_client::requests::EndpointMetrics,
    /// The chart written with `--plot`.
    pub plot: Option<String>,
}

impl Report for Metrics {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let m = &self.metrics;
        writeln!(out, "endpoint {}: {:.0}s from {} to {}", m.endpoint, m.window_seconds, m.since, m.until)?;
        if m.deployments.is_empty() {
            writeln!(out, "  no requests in the window")?;
        }
        for d in &m.deployments {
            writeln!(
                out,
                "  {:<16} {:>7} requests  {:>8.2} req/s  errors {:>5.1}%  p50 {:.1} ms  p90 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms",
                d.deployment,
                d.requests,
                d.requests_per_second,
                d.error_rate * 100.0,
                d.latency_ms.p50,
                d.latency_ms.p90,
                d.latency_ms.p95,
                d.latency_ms.p99
            )?;
        }
        if m.unrouted_requests > 0 {
            writeln!(
                out,
                "  {} request(s) refused before reaching a deployment (no key, malformed, no traffic)",
                m.unrouted_requests
            )?;
        }
        if let Some(note) = &m.note {
            writeln!(out, "  ({note})")?;
        }
        if let Some(plot) = &self.plot {
            writeln!(out, "chart: {plot}")?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        let mut json = serde_json::to_value(&self.metrics).unwrap_or(Value::Null);
        if let (Some(plot), Some(object)) = (&self.plot, json.as_object_mut()) {
            object.insert("plot".into(), Value::String(plot.clone()));
        }
        json
    }
}

/// A mermaid chart of the new and old deployments' p99 at each analysed step (the last
/// analysis of each), for the step summary.
fn latency_chart(steps: &[Step]) -> String {
    let analysed: Vec<(&Step, &crate::analysis::Decision)> =
        steps.iter().filter_map(|s| s.analysis.last().map(|d| (s, d))).collect();
    let p99 = |side: &str| -> Vec<String> {
        analysed
            .iter()
            .map(|(_, d)| format!("{:.2}", d.figures.get(side).and_then(|f| f.get("p99_ms")).copied().unwrap_or(0.0)))
            .collect()
    };
    let labels: Vec<String> = analysed.iter().map(|(s, _)| format!("\"{}%\"", s.weight)).collect();
    format!(
        "\n```mermaid\nxychart-beta\n    title \"p99 latency (ms) of the new and the old deployment at each step\"\n    x-axis \"step\" [{}]\n    y-axis \"p99 (ms)\"\n    line [{}]\n    line [{}]\n```\n",
        labels.join(", "),
        p99("new").join(", "),
        p99("old").join(", ")
    )
}
