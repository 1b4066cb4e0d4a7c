//! What `smoke-test` prints. The JSON is a public contract: `run` guarantees `passed`,
//! `failed`, `cases`, `latency_ms` (`p50`, `p95`, `p99`) and `requests_per_second`.

use std::io::{self, Write};

use aml_client::cli::Report;
use serde::Serialize;
use serde_json::Value;

use crate::load::ProfileStep;
use crate::recommend::Recommendation;

#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub name: String,
    pub line: usize,
    pub passed: bool,
    pub requests: u64,
    pub failures: u64,
    /// The first wrong answer: expected vs got.
    pub error: Option<String>,
    pub latency_ms: Latency,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub mean: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub percentile: String,
    pub limit_ms: f64,
    pub actual_ms: f64,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The endpoint's name, or the URL given.
    pub target: String,
    pub deployment: Option<String>,
    pub passed: usize,
    pub failed: usize,
    pub cases: Vec<CaseResult>,
    pub requests: u64,
    /// Requests that got no answer (refused, reset, timed out).
    pub errors: u64,
    pub concurrency: usize,
    pub duration_seconds: f64,
    pub requests_per_second: f64,
    pub latency_ms: Latency,
    pub budgets: Vec<Budget>,
    pub junit: Option<String>,
}

fn requests(n: u64) -> String {
    format!("{n} request{}", if n == 1 { "" } else { "s" })
}

fn ms(value: f64) -> String {
    if value < 10.0 { format!("{value:.2} ms") } else { format!("{value:.0} ms") }
}

impl Report for RunReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        // Failures first: they are what the reader is looking for.
        for case in self.cases.iter().filter(|c| !c.passed) {
            writeln!(
                out,
                "FAIL {} (line {}, {} of {}): {}",
                case.name,
                case.line,
                case.failures,
                requests(case.requests),
                case.error.as_deref().unwrap_or("")
            )?;
        }
        for case in self.cases.iter().filter(|c| c.passed) {
            writeln!(out, "ok   {} ({}, p50 {})", case.name, requests(case.requests), ms(case.latency_ms.p50))?;
        }
        for budget in &self.budgets {
            writeln!(
                out,
                "{} latency {} ≤ {}: {}",
                if budget.passed { "ok  " } else { "FAIL" },
                budget.percentile,
                ms(budget.limit_ms),
                ms(budget.actual_ms)
            )?;
        }
        writeln!(
            out,
            "{} cases: {} passed, {} failed · {} requests in {:.1}s at {} connection(s): {:.0} req/s · p50 {} p95 {} p99 {}",
            self.cases.len(),
            self.passed,
            self.failed,
            self.requests,
            self.duration_seconds,
            self.concurrency,
            self.requests_per_second,
            ms(self.latency_ms.p50),
            ms(self.latency_ms.p95),
            ms(self.latency_ms.p99)
        )
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn exit_code(&self) -> u8 {
        if self.failed == 0 && self.budgets.iter().all(|b| b.passed) { 0 } else { 1 }
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("smokePassed", self.passed.to_string()),
            ("smokeFailed", self.failed.to_string()),
            ("smokeP95Ms", format!("{:.2}", self.latency_ms.p95)),
            ("smokeRequestsPerSecond", format!("{:.1}", self.requests_per_second)),
        ]
    }

    fn summary(&self) -> Option<String> {
        let mut md = format!(
            "### smoke-test `{}`: {} passed, {} failed\n\n| case | result | requests | p50 |\n|---|---|---|---|\n",
            self.target, self.passed, self.failed
        );
        for case in &self.cases {
            let result = if case.passed {
                "pass".to_string()
            } else {
                format!("**fail**: {}", case.error.as_deref().unwrap_or("").replace('|', "\\|"))
            };
            md.push_str(&format!("| {} | {result} | {} | {} |\n", case.name, case.requests, ms(case.latency_ms.p50)));
        }
        md.push_str(&format!(
            "\n{:.0} req/s · p50 {} · p95 {} · p99 {}\n",
            self.requests_per_second,
            ms(self.latency_ms.p50),
            ms(self.latency_ms.p95),
            ms(self.latency_ms.p99)
        ));
        Some(md)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfileReport {
    pub target: String,
    /// The deployment whose CPU and memory were read, where this machine serves it.
    pub deployment: Option<String>,
    pub budget: Budget,
    pub steps: Vec<ProfileStep>,
    /// The highest throughput within the budget, and at how many connections.
    pub best: Option<ProfileStep>,
    /// With `--recommend`: resources and an instance count (see `recommend`).
    pub recommendation: Option<Recommendation>,
    /// The SVG chart written with `--plot`.
    pub plot: Option<String>,
}

/// `cpu 0.31  mem 120Mi` where the step's figures were read.
fn used(step: &ProfileStep) -> String {
    match (step.cpu_cores, step.peak_memory_bytes) {
        (Some(cpu), Some(memory)) => format!("  cpu {cpu:.2}  mem {}Mi", memory.div_ceil(1024 * 1024)),
        _ => String::new(),
    }
}

impl Report for ProfileReport {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for step in &self.steps {
            writeln!(
                out,
                "{:>3} connections: {:>7.0} req/s  p50 {}  p95 {}  p99 {}{}{}",
                step.concurrency,
                step.requests_per_second,
                ms(step.p50_ms),
                ms(step.p95_ms),
                ms(step.p99_ms),
                used(step),
                if step.within_budget { "" } else { "  (over budget)" }
            )?;
        }
        match &self.best {
            Some(best) => writeln!(
                out,
                "holds {:.0} req/s at {} connections within {} ≤ {}",
                best.requests_per_second,
                best.concurrency,
                self.budget.percentile,
                ms(self.budget.limit_ms)
            )?,
            None => writeln!(
                out,
                "not even one connection stays within {} ≤ {}",
                self.budget.percentile,
                ms(self.budget.limit_ms)
            )?,
        }
        if let Some(r) = &self.recommendation {
            writeln!(
                out,
                "\nfor {:.0} req/s within {} ≤ {}: {} instance(s) of {:.0} req/s; in {}'s deployment file:\n",
                r.target_requests_per_second,
                self.budget.percentile,
                ms(self.budget.limit_ms),
                r.instance_count,
                r.per_instance_requests_per_second,
                r.deployment
            )?;
            write!(out, "{}", r.yaml)?;
        }
        if let Some(plot) = &self.plot {
            writeln!(out, "\nchart: {plot}")?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn exit_code(&self) -> u8 {
        if self.best.is_some() { 0 } else { 1 }
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        let best = self.best.as_ref();
        vec![
            ("profileRequestsPerSecond", best.map(|b| format!("{:.1}", b.requests_per_second)).unwrap_or_default()),
            ("profileConcurrency", best.map(|b| b.concurrency.to_string()).unwrap_or_default()),
        ]
    }

    fn summary(&self) -> Option<String> {
        let mut md = format!(
            "### smoke-test profile `{}`: {}\n\n",
            self.target,
            match &self.best {
                Some(best) => format!(
                    "{:.0} req/s at {} connections within {} ≤ {}",
                    best.requests_per_second,
                    best.concurrency,
                    self.budget.percentile,
                    ms(self.budget.limit_ms)
                ),
                None => format!("over {} ≤ {} from one connection", self.budget.percentile, ms(self.budget.limit_ms)),
            }
        );
        md.push_str(&crate::plot::mermaid(&self.steps));
        if let Some(r) = &self.recommendation {
            md.push_str(&format!(
                "\nFor {:.0} req/s, in `{}`'s deployment file:\n\n```yaml\n{}```\n",
                r.target_requests_per_second, r.deployment, r.yaml
            ));
        }
        Some(md)
    }
}
