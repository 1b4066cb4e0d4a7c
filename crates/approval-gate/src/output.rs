//! What `approval-gate` prints. The JSON of `check` is a public contract: `decision`
//! (`pass`|`fail`), `candidate`, `champion` (null when none), `rules` (each with
//! `expression`, `candidate`, `champion`, `passed`) and `forced`. Requests print an
//! `ApprovalRequest` (`id`, `model`, `stage`, `approvers`, `state`, `decided_by`…);
//! `history` an array of audit entries. Fields are only ever added.

use std::collections::BTreeMap;
use std::io::{self, Write};

use aml_client::approvals::{ApprovalRequest, ApprovalState, AuditEntry};
use aml_client::cli::Report;
use serde::Serialize;
use serde_json::{Value, json};

use crate::cli::NoChampion;
use crate::subjects::Subject;

#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub expression: String,
    /// The candidate's value when the rule reads one candidate metric (else see `values`).
    pub candidate: Option<f64>,
    /// The champion's value when the rule reads one champion metric.
    pub champion: Option<f64>,
    /// Every metric the rule read: `candidate.rmse` → value.
    pub values: BTreeMap<String, f64>,
    /// `null` when the rule needs a champion and there is none.
    pub passed: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub decision: String,
    pub candidate: Subject,
    pub champion: Option<Subject>,
    /// Why there is no champion, and what was decided for that case.
    pub no_champion: Option<(String, NoChampion)>,
    pub rules: Vec<RuleResult>,
    pub forced: bool,
    pub reason: Option<String>,
    pub audit_id: Option<i64>,
}

fn number(value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" { "0".into() } else { text.to_string() }
}

fn verdict(passed: Option<bool>) -> &'static str {
    match passed {
        Some(true) => "pass",
        Some(false) => "FAIL",
        None => "skip",
    }
}

impl Decision {
    /// Rules in the order to read them: failures first.
    fn ordered(&self) -> Vec<&RuleResult> {
        let mut rules: Vec<&RuleResult> = self.rules.iter().collect();
        rules.sort_by_key(|r| match r.passed {
            Some(false) => 0,
            None => 1,
            Some(true) => 2,
        });
        rules
    }

    /// What the audit trail keeps: the whole decision.
    pub fn details(&self) -> Value {
        self.to_json()
    }
}

impl Report for Decision {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let against = match (&self.champion, &self.no_champion) {
            (Some(champion), _) => match &champion.serving {
                Some(s) => format!(
                    "{} (serving {}% of endpoint {} as {})",
                    champion.reference, s.traffic, s.endpoint, s.deployment
                ),
                None => champion.reference.clone(),
            },
            (None, Some((why, rule))) => {
                format!("no champion: {why}; --no-champion {}", if *rule == NoChampion::Pass { "pass" } else { "fail" })
            }
            (None, None) => "no champion".into(),
        };
        let headline = match (self.decision.as_str(), self.forced) {
            ("pass", true) => "gate FORCED through",
            ("pass", false) => "gate passed",
            _ => "gate FAILED",
        };
        writeln!(out, "{headline}: {} vs {against}", self.candidate.reference)?;
        let width = self.rules.iter().map(|r| r.expression.chars().count()).max().unwrap_or(0);
        for rule in self.ordered() {
            let values = rule.values.iter().map(|(k, v)| format!("{k}={}", number(*v))).collect::<Vec<_>>().join("  ");
            let values = if rule.passed.is_none() { format!("{values}  (needs a champion)") } else { values };
            writeln!(out, "  {}  {:width$}  {values}", verdict(rule.passed), rule.expression)?;
        }
        if let Some(reason) = &self.reason {
            writeln!(out, "override: {reason}")?;
        }
        if let Some(id) = self.audit_id {
            let on = self.candidate.model_id().map(|m| format!(" and on {m}")).unwrap_or_default();
            writeln!(out, "recorded: audit entry {id}{on}")?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        json!({
            "decision": self.decision,
            "candidate": self.candidate,
            "champion": self.champion,
            "no_champion": self.no_champion.as_ref().map(|(why, rule)| json!({"reason": why, "decision": if *rule == NoChampion::Pass { "pass" } else { "fail" }})),
            "rules": self.rules,
            "forced": self.forced,
            "reason": self.reason,
            "audit_id": self.audit_id,
        })
    }

    fn exit_code(&self) -> u8 {
        if self.decision == "pass" { 0 } else { 1 }
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("decision", self.decision.clone()),
            ("champion", self.champion.as_ref().map(|c| c.reference.clone()).unwrap_or_default()),
            ("candidate", self.candidate.reference.clone()),
            ("candidateModel", self.candidate.name.clone().unwrap_or_default()),
            ("candidateVersion", self.candidate.version.clone().unwrap_or_default()),
            ("candidateJob", self.candidate.job.clone().unwrap_or_default()),
            ("forced", self.forced.to_string()),
        ]
    }

    fn named_ci_outputs(&self) -> Vec<(String, String)> {
        let value = |v: Option<f64>| v.map(number).unwrap_or_default();
        self.rules
            .iter()
            .enumerate()
            .flat_map(|(i, r)| {
                let n = i + 1;
                [
                    (format!("rule{n}Passed"), r.passed.map(|p| p.to_string()).unwrap_or_else(|| "skipped".into())),
                    (format!("rule{n}Candidate"), value(r.candidate)),
                    (format!("rule{n}Champion"), value(r.champion)),
                ]
            })
            .collect()
    }

    fn summary(&self) -> Option<String> {
        let champion = self.champion.as_ref().map(|c| format!("`{}`", c.reference)).unwrap_or_else(|| "none".into());
        let mut md = format!(
            "### approval-gate: {}{}\n\ncandidate `{}` vs champion {champion}\n\n| rule | candidate | champion | result |\n|---|---|---|---|\n",
            self.decision,
            if self.forced { " (forced)" } else { "" },
            self.candidate.reference
        );
        for rule in self.ordered() {
            let value = |v: Option<f64>| v.map(number).unwrap_or_else(|| "-".into());
            md.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                rule.expression,
                value(rule.candidate),
                value(rule.champion),
                verdict(rule.passed)
            ));
        }
        if let Some(reason) = &self.reason {
            md.push_str(&format!("\nOverride: {reason}\n"));
        }
        Some(md)
    }
}

/// One request, after `request`, `approve`, `reject` or `wait`.
pub struct RequestView {
    pub request: ApprovalRequest,
    /// `wait` exits 1 unless approved; the others exit 0 once they did what was asked.
    pub waited: bool,
}

impl Report for RequestView {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let r = &self.request;
        match r.state {
            ApprovalState::Pending => writeln!(out, "{}", r.id),
            state => {
                let by = r.decided_by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default();
                let comment = r.comment.as_ref().map(|c| format!(": {c}")).unwrap_or_default();
                writeln!(out, "{} {state}{by} for {} ({}){comment}", r.model, r.stage, r.id)
            }
        }
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(&self.request).unwrap_or(Value::Null)
    }

    fn exit_code(&self) -> u8 {
        if self.waited && self.request.state != ApprovalState::Approved { 1 } else { 0 }
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("approvalId", self.request.id.clone()),
            ("approvalState", self.request.state.to_string()),
            (
                "approvedBy",
                if self.request.state == ApprovalState::Approved {
                    self.request.decided_by.clone().unwrap_or_default()
                } else {
                    String::new()
                },
            ),
            ("modelId", self.request.model.clone()),
        ]
    }
}

pub struct RequestList(pub Vec<ApprovalRequest>);

impl Report for RequestList {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.0.is_empty() {
            return writeln!(out, "no approval requests");
        }
        for r in &self.0 {
            let by = r.decided_by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default();
            writeln!(
                out,
                "{}  {:8}  {} for {}  asked by {} of {}{by}",
                r.id,
                r.state.to_string(),
                r.model,
                r.stage,
                r.requester,
                r.approvers.join(", ")
            )?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}

pub struct History {
    pub subject: String,
    pub entries: Vec<AuditEntry>,
}

impl Report for History {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.entries.is_empty() {
            return writeln!(out, "nothing recorded about {}", self.subject);
        }
        for entry in &self.entries {
            writeln!(out, "{}", entry.summary())?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(&self.entries).unwrap_or(Value::Null)
    }
}

/// An approval from the CI, as recorded.
pub struct Recorded(pub AuditEntry);

impl Report for Recorded {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let e = &self.0;
        let system = e.details.get("system").and_then(Value::as_str).unwrap_or("ci");
        writeln!(out, "recorded from {system}: {}", e.summary())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }

    fn exit_code(&self) -> u8 {
        if self.0.decision == "approved" { 0 } else { 1 }
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("approvalState", self.0.decision.clone()),
            (
                "approvedBy",
                if self.0.decision == "approved" { self.0.by.clone().unwrap_or_default() } else { String::new() },
            ),
        ]
    }
}
