//! Promotion decisions as both backends keep them: an audit trail of gate decisions and
//! approvals, and manual approval requests that move from pending to exactly one outcome.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One line of a workspace's audit trail. `details` holds what the kind needs (a gate's
/// rules and values, an approval's stage and comment); the other fields are indexed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    /// `gate`, `approval-requested`, `approved`, `rejected`, `expired`, `ci-approval`.
    pub kind: String,
    /// `name:version` of the model version the entry is about.
    pub model: Option<String>,
    /// The job it is about (a gate run on a job's metrics, before registration).
    pub job: Option<String>,
    /// The approval request it belongs to.
    pub request: Option<String>,
    /// `pass`, `fail`, `approved`, `rejected`, `expired`, `requested`.
    pub decision: String,
    /// Who decided or asked: the approver, or the CI's requester.
    pub by: Option<String>,
    pub ci_run: Option<String>,
    pub at: String,
    pub details: serde_json::Value,
}

impl AuditEntry {
    /// One line for people: when, what, about which version or job, and who.
    pub fn summary(&self) -> String {
        let by = self.by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default();
        let about = self.model.clone().or_else(|| self.job.as_ref().map(|j| format!("job:{j}"))).unwrap_or_default();
        let detail = match self.kind.as_str() {
            "gate" => {
                let champion = self
                    .details
                    .get("champion")
                    .and_then(|c| c.get("reference"))
                    .and_then(Value::as_str)
                    .unwrap_or("no champion");
                let forced =
                    if self.details.get("forced").and_then(Value::as_bool) == Some(true) { " (forced)" } else { "" };
                format!("gate {}{forced} vs {champion}", self.decision)
            }
            "approval-requested" => {
                format!("approval requested for {}", self.details.get("stage").and_then(Value::as_str).unwrap_or("?"))
            }
            _ => {
                let stage =
                    self.details.get("stage").and_then(Value::as_str).map(|s| format!(" for {s}")).unwrap_or_default();
                let comment =
                    self.details.get("comment").and_then(Value::as_str).map(|c| format!(": {c}")).unwrap_or_default();
                format!("{}{stage}{comment}", self.decision)
            }
        };
        format!("{}  #{:<3} {about}  {detail}{by}", self.at, self.id)
    }
}

/// An entry before the workspace numbers and stamps it.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub kind: String,
    pub model: Option<String>,
    pub job: Option<String>,
    pub request: Option<String>,
    pub decision: String,
    pub by: Option<String>,
    pub details: serde_json::Value,
    /// The CI run it was decided in (`Ci::run_url`).
    pub ci_run: Option<String>,
}

impl NewAuditEntry {
    /// The entry as stored under number `id`: stamped now, with the CI run it came from.
    pub fn stamp(&self, id: i64) -> AuditEntry {
        AuditEntry {
            id,
            kind: self.kind.clone(),
            model: self.model.clone(),
            job: self.job.clone(),
            request: self.request.clone(),
            decision: self.decision.clone(),
            by: self.by.clone(),
            ci_run: self.ci_run.clone(),
            at: crate::time::now(),
            details: self.details.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalState {
    Pending,
    Approved,
    Rejected,
    Expired,
}

impl fmt::Display for ApprovalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Expired => "expired",
        })
    }
}

/// A request for a person to approve a model version for a stage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApprovalRequest {
    pub id: String,
    /// `name:version`, resolved when the request was made.
    pub model: String,
    pub stage: String,
    pub approvers: Vec<String>,
    pub requester: String,
    pub allow_self_approval: bool,
    pub state: ApprovalState,
    pub decided_by: Option<String>,
    pub comment: Option<String>,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub ci_run: Option<String>,
}

impl ApprovalRequest {
    /// Closed as `state`, by whom and why, now.
    pub fn close(&mut self, state: ApprovalState, by: Option<&str>, comment: Option<&str>) {
        self.state = state;
        self.decided_by = by.map(str::to_owned);
        self.comment = comment.map(str::to_owned);
        self.decided_at = Some(crate::time::now());
    }
}

/// The outcome of trying to close a request: the request as it is now, and whether this
/// call is the one that closed it (only one of several racing calls is).
#[derive(Debug, Clone)]
pub struct Decided {
    pub request: ApprovalRequest,
    pub won: bool,
}
