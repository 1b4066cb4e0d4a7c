//! Manual approvals on the workspace: a request names its approvers; approving checks the
//! person against them (and against the requester, unless self-approval is allowed);
//! closing a request is one conditional update, so of racing decisions exactly one lands.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aml_client::approvals::{ApprovalRequest, ApprovalState, NewAuditEntry};
use aml_client::cli::Session;
use aml_client::{Access, Error, Result, Workspace};
use serde_json::json;

use crate::cli::{DecideArgs, RequestArgs, WaitArgs};

/// Ten hex digits from the operating system's random source: short to type, unlikely to collide.
fn new_id() -> Result<String> {
    aml_client::ids::random_hex::<5>()
}

/// An audit entry about a request: `(kind, decision)`, who, and what else to keep.
fn audit_entry(
    request: &ApprovalRequest,
    (kind, decision): (&str, &str),
    by: Option<String>,
    details: serde_json::Value,
    session: &Session,
) -> NewAuditEntry {
    NewAuditEntry {
        kind: kind.into(),
        model: Some(request.model.clone()),
        job: None,
        request: Some(request.id.clone()),
        decision: decision.into(),
        by,
        details,
        ci_run: session.ci.run_url.clone(),
    }
}

fn who(given: Option<&str>, flag: &str, session: &Session) -> Result<String> {
    given
        .map(str::to_owned)
        .or_else(|| session.ci.requester.clone())
        .filter(|w| !w.trim().is_empty())
        .ok_or_else(|| Error::usage("cannot tell who you are", format!("pass `{flag} NAME`")))
}

pub async fn request(args: RequestArgs, workspace: &str, session: &Session) -> Result<ApprovalRequest> {
    let approvers: Vec<String> =
        args.approvers.iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
    if approvers.is_empty() {
        return Err(Error::usage(
            "`--approvers` names nobody",
            "give the people who may approve: `--approvers ml-lead,qa-lead`",
        ));
    }
    if args.stage.trim().is_empty() {
        return Err(Error::usage(
            "`--stage` is empty",
            "name the stage the model is approved for: `--stage production`",
        ));
    }
    let requester = who(args.requester.as_deref(), "--requester", session)?;
    let mut ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
    let model = ws.model_version(&args.model.parse()?).await?;
    let request = ApprovalRequest {
        id: new_id()?,
        model: model.id(),
        stage: args.stage.trim().to_string(),
        approvers,
        requester: requester.clone(),
        allow_self_approval: args.allow_self_approval,
        state: ApprovalState::Pending,
        decided_by: None,
        comment: None,
        created_at: aml_client::time::now(),
        decided_at: None,
        ci_run: session.ci.run_url.clone(),
    };
    let entry = audit_entry(
        &request,
        ("approval-requested", "requested"),
        Some(requester),
        json!({"stage": request.stage, "approvers": request.approvers, "allow_self_approval": request.allow_self_approval}),
        session,
    );
    ws.request_approval(&request, &entry).await?;
    aml_client::status!(
        "asked {} to approve {} for {}; they run `approval-gate approve {} --by NAME` (or `reject`), and `approval-gate wait {}` waits for it",
        request.approvers.join(" or "),
        request.model,
        request.stage,
        request.id,
        request.id
    );
    Ok(request)
}

fn closed_already(request: &ApprovalRequest) -> Error {
    let by = request.decided_by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default();
    let at = request.decided_at.as_ref().map(|a| format!(" at {a}")).unwrap_or_default();
    Error::usage(
        format!("request `{}` is already {}{by}{at}; nothing was changed", request.id, request.state),
        format!("`approval-gate history {}` shows what was decided", request.model),
    )
}

/// Approve (`approve == true`) or reject.
pub async fn decide(args: DecideArgs, approve: bool, workspace: &str, session: &Session) -> Result<ApprovalRequest> {
    let by = who(args.by.as_deref(), "--by", session)?;
    let mut ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
    let request = ws.approval(&args.id).await?;
    if request.state != ApprovalState::Pending {
        return Err(closed_already(&request));
    }
    let is_requester = by == request.requester;
    let is_approver = request.approvers.contains(&by);
    // The requester may always withdraw (reject) their own request.
    if !(is_approver || (!approve && is_requester)) {
        return Err(Error::usage(
            format!("`{by}` is not an approver of request `{}`", request.id),
            format!("its approvers are: {}", request.approvers.join(", ")),
        ));
    }
    if approve && is_requester && !request.allow_self_approval {
        return Err(Error::usage(
            format!("`{by}` asked for request `{}` and cannot approve it too", request.id),
            format!(
                "another approver must: {}",
                request.approvers.iter().filter(|a| **a != by).cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let state = if approve { ApprovalState::Approved } else { ApprovalState::Rejected };
    let outcome = state.to_string();
    let entry = audit_entry(
        &request,
        (&outcome, &outcome),
        Some(by.clone()),
        json!({"stage": request.stage, "comment": args.comment, "requester": request.requester}),
        session,
    );
    let tags = BTreeMap::from([
        (format!("approval.{}", request.stage), state.to_string()),
        (format!("approval.{}.by", request.stage), by.clone()),
    ]);
    let decided = ws.close_approval(&request.id, state, Some(&by), args.comment.as_deref(), &entry, &tags).await?;
    if !decided.won {
        return Err(closed_already(&decided.request));
    }
    Ok(decided.request)
}

pub async fn wait(args: WaitArgs, workspace: &str, session: &Session) -> Result<ApprovalRequest> {
    let timeout = aml_client::duration::parse(&args.timeout).map_err(|e| {
        Error::usage(format!("`--timeout {}`: {e}", args.timeout), "write a duration: `30m`, `2h`, `90s`")
    })?;
    let interval = aml_client::duration::parse(&args.interval)
        .map_err(|e| Error::usage(format!("`--interval {}`: {e}", args.interval), "write a duration: `1s`, `250ms`"))?;
    let mut ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
    let request = ws.approval(&args.id).await?;
    if request.state == ApprovalState::Pending {
        aml_client::status!(
            "waiting up to {} for {} to approve {} for {} (request {})",
            args.timeout,
            request.approvers.join(" or "),
            request.model,
            request.stage,
            request.id
        );
    }
    let start = Instant::now();
    let mut last_note = Instant::now();
    // Interrupting the wait leaves the request pending: another `wait` picks it up.
    loop {
        let request = ws.approval(&args.id).await?;
        if request.state != ApprovalState::Pending {
            return Ok(request);
        }
        if start.elapsed() >= timeout {
            let why = "no decision in time";
            let entry = audit_entry(
                &request,
                ("expired", "expired"),
                None,
                json!({"stage": request.stage, "comment": format!("{why} (waited {})", args.timeout)}),
                session,
            );
            let tags = BTreeMap::from([(format!("approval.{}", request.stage), "expired".to_string())]);
            let decided =
                ws.close_approval(&request.id, ApprovalState::Expired, None, Some(why), &entry, &tags).await?;
            return Ok(decided.request);
        }
        if last_note.elapsed() >= Duration::from_secs(60) {
            last_note = Instant::now();
            let left = timeout.saturating_sub(start.elapsed()).as_secs();
            aml_client::status!(
                "still waiting for {} ({}m{:02}s left)",
                request.approvers.join(" or "),
                left / 60,
                left % 60
            );
        }
        std::thread::sleep(interval.min(timeout.saturating_sub(start.elapsed())).max(Duration::from_millis(10)));
    }
}
