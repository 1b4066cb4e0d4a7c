//! A rollout step's analysis: rules in the approval gate's language over the new and the old
//! deployment's metrics for the step's window (`error_rate < 0.01`, `p99_ms < 300`,
//! `new.p99_ms <= old.p99_ms * 1.2`; a bare name is the new deployment's). Too few requests
//! to the new deployment, or a rule that cannot be decided (a metric of an old deployment
//! that got no requests), makes the step inconclusive; `--inconclusive` says what then.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use aml_client::requests::DeploymentMetrics;
use aml_client::rules::{Rule, Side, Vocabulary};
use aml_client::{Error, Result, Workspace};

/// The metrics a rule may name, per deployment.
pub const METRICS: [&str; 8] =
    ["requests", "requests_per_second", "errors", "error_rate", "p50_ms", "p90_ms", "p95_ms", "p99_ms"];

/// What an inconclusive step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Inconclusive {
    /// Stop where it is, traffic and all, for a person to decide (`--resume` goes on)
    Pause,
    /// Roll back
    Fail,
    /// Go on to the next step
    Pass,
}

/// The analysis rules, checked when the rollout starts.
pub struct Analysis {
    rules: Vec<Rule>,
    pub min_requests: u64,
    pub inconclusive: Inconclusive,
}

impl Analysis {
    pub fn parse(texts: &[String], min_requests: u64, inconclusive: Inconclusive) -> Result<Option<Analysis>> {
        if texts.is_empty() {
            return Ok(None);
        }
        let mut rules = Vec::new();
        for text in texts {
            let rule = Rule::parse_with(text, Vocabulary::ANALYSIS).map_err(|e| {
                Error::usage(
                    format!("`--analysis {text}`, column {}: {}", e.column, e.message),
                    "write a comparison of metrics, e.g. `error_rate < 0.01` or `new.p99_ms <= old.p99_ms * 1.2`",
                )
            })?;
            for metric in rule.metrics() {
                if !METRICS.contains(&metric.name.as_str()) {
                    let near = aml_client::yaml::closest(&metric.name, &METRICS)
                        .map(|n| format!("did you mean `{n}`? "))
                        .unwrap_or_default();
                    return Err(Error::usage(
                        format!("`--analysis {text}`, column {}: no metric `{}`", metric.column, metric.name),
                        format!("{near}the metrics are {}", METRICS.join(", ")),
                    ));
                }
            }
            rules.push(rule);
        }
        Ok(Some(Analysis { rules, min_requests, inconclusive }))
    }

    /// Decide on the window that has passed since the step's traffic moved.
    pub async fn decide(
        &self,
        ws: &Workspace,
        endpoint: &str,
        new: &str,
        old: Option<&str>,
        window: Duration,
    ) -> Result<Decision> {
        let metrics = ws.endpoint_metrics(endpoint, None, window).await?;
        let values = |name: Option<&str>| -> BTreeMap<String, f64> {
            name.and_then(|n| metrics.deployments.iter().find(|d| d.deployment == n)).map(figures).unwrap_or_default()
        };
        let (new_values, old_values) = (values(Some(new)), values(old));
        let new_requests = new_values.get("requests").copied().unwrap_or(0.0) as u64;
        let rows: Vec<Row> = self
            .rules
            .iter()
            .map(|rule| {
                let observed: BTreeMap<String, Option<f64>> = rule
                    .metrics()
                    .iter()
                    .map(|m| {
                        let (word, values) = match m.side {
                            Side::Candidate => ("new", &new_values),
                            Side::Champion => ("old", &old_values),
                        };
                        (format!("{word}.{}", m.name), values.get(&m.name).copied())
                    })
                    .collect();
                let (verdict, problem) = match rule.evaluate(&new_values, &old_values) {
                    Ok(true) => ("pass", None),
                    Ok(false) => ("fail", None),
                    Err(e) => ("undecided", Some(e.to_string())),
                };
                Row { rule: rule.text.clone(), observed, verdict, problem }
            })
            .collect();
        let verdict = if new_requests < self.min_requests {
            "inconclusive"
        } else if rows.iter().any(|r| r.verdict == "fail") {
            "failed"
        } else if rows.iter().any(|r| r.verdict == "undecided") {
            "inconclusive"
        } else {
            "passed"
        };
        Ok(Decision {
            verdict,
            figures: BTreeMap::from([("new".to_string(), new_values.clone()), ("old".to_string(), old_values.clone())]),
            window_seconds: window.as_secs_f64(),
            new_requests,
            min_requests: self.min_requests,
            old: old.map(str::to_owned),
            rows,
        })
    }
}

fn figures(d: &DeploymentMetrics) -> BTreeMap<String, f64> {
    BTreeMap::from([
        ("requests".to_string(), d.requests as f64),
        ("requests_per_second".to_string(), d.requests_per_second),
        ("errors".to_string(), d.errors as f64),
        ("error_rate".to_string(), d.error_rate),
        ("p50_ms".to_string(), d.latency_ms.p50),
        ("p90_ms".to_string(), d.latency_ms.p90),
        ("p95_ms".to_string(), d.latency_ms.p95),
        ("p99_ms".to_string(), d.latency_ms.p99),
    ])
}

/// One step's analysis: each rule with the figures it read and its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// `passed`, `failed` or `inconclusive`.
    pub verdict: &'static str,
    pub window_seconds: f64,
    pub new_requests: u64,
    pub min_requests: u64,
    /// The deployment `old.` names: the one that had the most traffic before the rollout.
    pub old: Option<String>,
    pub rows: Vec<Row>,
    /// Every metric of both deployments over the window (`new`, `old`; empty where none).
    pub figures: BTreeMap<String, BTreeMap<String, f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub rule: String,
    /// Each metric the rule read (`new.error_rate`), null where that deployment had none.
    pub observed: BTreeMap<String, Option<f64>>,
    /// `pass`, `fail` or `undecided`.
    pub verdict: &'static str,
    pub problem: Option<String>,
}

impl Row {
    /// `new.error_rate=0.0490, old.p99_ms=none`: what the rule read, for the text and summary.
    pub fn observed_text(&self) -> String {
        let figures: Vec<String> = self
            .observed
            .iter()
            .map(|(k, v)| format!("{k}={}", v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "none".into())))
            .collect();
        figures.join(", ")
    }
}

impl Decision {
    /// The rules that failed, for a rollback's reason.
    pub fn failed_rules(&self) -> String {
        self.rows.iter().filter(|r| r.verdict == "fail").map(|r| format!("`{}`", r.rule)).collect::<Vec<_>>().join(", ")
    }
}
