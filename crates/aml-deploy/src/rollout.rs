//! Blue/green rollouts: bring the new deployment up beside the old at 0%, optionally mirror
//! traffic to it, then move traffic in steps with a check after each, as progressive-delivery
//! tools (Flagger, Argo Rollouts) do. Any failure, or a cancelled run, puts the traffic back
//! as it was and shows the new deployment's log; a rollout that completes ends with the new
//! deployment at its final weight, read back from the endpoint.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aml_client::approvals::{ApprovalRequest, ApprovalState, NewAuditEntry};
use aml_client::ci::Ci;
use aml_client::online::{Endpoint, JournalUpdate, RolloutJournal, TrafficChange, TrafficOutcome};
use aml_client::process::{Cancellation, ChildSpec, Outcome, run_child};
use aml_client::workspace::DeployOptions;
use aml_client::yaml::deploy_file::{OnlineSpec, load_online};
use aml_client::{Error, Result, Workspace};

use crate::analysis::{Analysis, Inconclusive};
use crate::cli::RolloutArgs;
use crate::output::{CheckRun, Rollout, Step};

/// The split at `weight` for the new deployment, the others keeping their proportions.
pub fn split_at(previous: &BTreeMap<String, u32>, new: &str, weight: u32) -> BTreeMap<String, u32> {
    let others: Vec<(&String, u32)> =
        previous.iter().filter(|(name, w)| name.as_str() != new && **w > 0).map(|(n, w)| (n, *w)).collect();
    let total: u32 = others.iter().map(|(_, w)| w).sum();
    let mut split = BTreeMap::from([(new.to_string(), weight)]);
    if total == 0 {
        return split;
    }
    let remaining = 100 - weight;
    // Largest remainder: shares are floored, the points left go to the largest fractions.
    let mut shares: Vec<(String, u32, u64)> = others
        .iter()
        .map(|(name, w)| {
            let exact = u64::from(remaining) * u64::from(*w);
            ((*name).clone(), (exact / u64::from(total)) as u32, exact % u64::from(total))
        })
        .collect();
    let mut left = remaining - shares.iter().map(|(_, s, _)| s).sum::<u32>();
    shares.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    for share in shares.iter_mut() {
        if left == 0 {
            break;
        }
        share.1 += 1;
        left -= 1;
    }
    for (name, share, _) in shares {
        split.insert(name, share);
    }
    split
}

struct Context<'a> {
    ws: &'a mut Workspace,
    endpoint: String,
    deployment: String,
    workspace_location: String,
    quiet: bool,
    /// The endpoint's key: scrubbed from every command we print.
    secret: Option<String>,
    cancel: Cancellation,
    steps: Vec<Step>,
    previous: Endpoint,
    /// The split (live, mirror) as this rollout last left it: any other split found before a
    /// move means someone else changed the endpoint.
    expected: (BTreeMap<String, u32>, BTreeMap<String, u32>),
    /// Who runs the rollout, recorded with each move.
    by: Option<String>,
    /// Kept with the endpoint, updated with each move: what a killed rollout leaves for the
    /// next one to resume or put back.
    journal: RolloutJournal,
    /// Who decides a paused rollout (`--approvers`), and the CI run to name in the request.
    approvers: Vec<String>,
    ci_run: Option<String>,
    /// The new deployment's registered model, once it is applied.
    new_model: Option<String>,
}

pub async fn rollout(ws: &mut Workspace, workspace_location: &str, args: RolloutArgs, ci: &Ci) -> Result<Rollout> {
    let mut spec = match load_online(&args.file, &args.sets)? {
        OnlineSpec::Deployment { file, spec } => (file, spec),
        OnlineSpec::Endpoint { .. } => {
            return Err(Error::in_file(
                &args.file,
                None,
                "is an endpoint file; a rollout takes a deployment file",
                "give the new deployment's YAML with `-f`",
            ));
        }
        OnlineSpec::BatchEndpoint { file, .. } | OnlineSpec::BatchDeployment { file, .. } => {
            return Err(Error::in_file(
                &file,
                Some("$schema"),
                "is a batch file; a rollout shifts an online endpoint's traffic, and a batch endpoint has none",
                "apply it with `aml-deploy apply -f FILE` (add `--all-traffic` to make it the endpoint's default deployment)",
            ));
        }
    };
    if let Some(endpoint) = &args.endpoint {
        spec.1.endpoint_name = aml_client::names::EndpointName::new(endpoint)?;
    }
    let endpoint = spec.1.endpoint_name.to_string();
    let deployment = spec.1.name.to_string();
    if args.steps.is_empty() || args.steps.windows(2).any(|w| w[0] >= w[1]) || args.steps.last() == Some(&0) {
        return Err(Error::usage(
            format!("`--steps {}` must rise and end above 0", join(&args.steps)),
            "write e.g. `--steps 10,50,100`",
        ));
    }
    let analysis = Analysis::parse(&args.analysis, args.min_requests, args.inconclusive)?;
    if !args.approvers.is_empty() && (analysis.is_none() || args.inconclusive != Inconclusive::Pause) {
        return Err(Error::usage(
            "`--approvers` decide a rollout paused by an inconclusive analysis, and this one cannot pause",
            "add `--analysis RULE --inconclusive pause`, or drop `--approvers`",
        ));
    }
    let found = ws.endpoint(&endpoint).await?;
    if analysis.is_some() {
        // Where metrics cannot be read, say so now, before anything is deployed.
        ws.endpoint_metrics(&endpoint, None, Duration::from_secs(1)).await?;
    }
    let (previous, resumed) = match (found.rollout.clone(), args.resume) {
        (None, true) => {
            return Err(Error::usage(
                format!("endpoint `{endpoint}` has no interrupted rollout to resume"),
                "start a rollout without `--resume`",
            ));
        }
        (Some(journal), true) if journal.deployment != deployment => {
            return Err(Error::usage(
                format!("the interrupted rollout on `{endpoint}` is of `{}`, not `{deployment}`", journal.deployment),
                "resume it with its own deployment file, or leave out `--resume` to put its traffic back first",
            ));
        }
        (Some(journal), true) => {
            aml_client::status!(
                "resuming the rollout of {deployment} on {endpoint} from {}% (it is at {})",
                journal.reached,
                describe(&found.traffic)
            );
            let mut previous = found.clone();
            previous.traffic = journal.previous.clone();
            previous.mirror_traffic = journal.previous_mirror.clone();
            (previous, Some(journal))
        }
        (Some(journal), false) => {
            aml_client::status!(
                "a rollout of {} on {endpoint} was interrupted at {}%: putting back {} first",
                journal.deployment,
                journal.reached,
                describe(&journal.previous)
            );
            let back = TrafficChange {
                traffic: Some(journal.previous.clone()),
                mirror: Some(journal.previous_mirror.clone()),
                by: ci.requester.clone(),
                journal: JournalUpdate::Clear,
                expected: Some((found.traffic.clone(), found.mirror_traffic.clone())),
            };
            if let TrafficOutcome::NotAsExpected(now) = ws.change_traffic(&endpoint, back).await? {
                return Err(Error::usage(
                    format!(
                        "the traffic on `{endpoint}` changed while it was being put back: {}",
                        describe(&now.traffic)
                    ),
                    "run the rollout again",
                ));
            }
            (ws.endpoint(&endpoint).await?, None)
        }
        (None, false) => (found.clone(), None),
    };
    if resumed.is_none() && previous.traffic.get(&deployment).copied().unwrap_or(0) > 0 {
        return Err(Error::usage(
            format!(
                "deployment `{deployment}` already gets traffic on `{endpoint}`; a rollout brings in a deployment that gets none"
            ),
            "give the new deployment another name (blue/green), or use `aml-deploy traffic`",
        ));
    }
    // Nothing serves yet: there is nothing to shift traffic from, so the only step is 100%.
    let nothing_serves = previous.traffic.values().sum::<u32>() == 0;
    let (steps, reached) = match &resumed {
        Some(journal) => (journal.steps.iter().copied().filter(|s| *s > journal.reached).collect(), journal.reached),
        None if nothing_serves => (vec![100], 0),
        None => (args.steps.clone(), 0),
    };
    // What `old.` names in an analysis: the deployment that had the most traffic before.
    let old = previous
        .traffic
        .iter()
        .filter(|(name, w)| name.as_str() != deployment && **w > 0)
        .max_by_key(|(_, w)| **w)
        .map(|(name, _)| name.clone());
    let journal = RolloutJournal {
        deployment: deployment.clone(),
        steps: resumed.as_ref().map_or_else(|| steps.clone(), |j| j.steps.clone()),
        reached,
        previous: previous.traffic.clone(),
        previous_mirror: previous.mirror_traffic.clone(),
        by: resumed.as_ref().map_or_else(|| ci.requester.clone(), |j| j.by.clone()),
    };

    let cancel = Cancellation::install()?;
    {
        let mut cx = Context {
            ws,
            endpoint: endpoint.clone(),
            deployment: deployment.clone(),
            workspace_location: workspace_location.to_string(),
            quiet: args.quiet,
            secret: None,
            cancel,
            steps: Vec::new(),
            previous: previous.clone(),
            // Resumed, the rollout goes on from the split it finds (its own last move).
            expected: match &resumed {
                Some(_) => (found.traffic.clone(), found.mirror_traffic.clone()),
                None => (previous.traffic.clone(), previous.mirror_traffic.clone()),
            },
            by: ci.requester.clone(),
            journal,
            approvers: args.approvers.iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect(),
            ci_run: ci.run_url.clone(),
            new_model: None,
        };
        // Checks often carry the key: the CI masks it in its logs, and we never print it.
        if let Ok(access) = cx.ws.endpoint_access(&endpoint).await {
            ci.mask(&access.key);
            cx.secret = Some(access.key);
        }
        aml_client::status!(
            "rolling out {deployment} on {endpoint}: starting it beside {}",
            describe(&previous.traffic)
        );
        let spec = OnlineSpec::Deployment { file: spec.0, spec: spec.1 };
        match cx
            .ws
            .apply_online(
                &spec,
                &DeployOptions {
                    keep_traffic: true,
                    all_traffic: false,
                    stream_logs: !args.quiet,
                    requested_by: ci.requester.clone(),
                },
            )
            .await
        {
            Ok((applied, _)) => {
                // What the new deployment serves: the model its analyses and approvals are about.
                cx.new_model = applied.deployments.iter().find(|d| d.name == deployment).and_then(|d| d.model.clone());
            }
            Err(Error::Failed { message, .. }) => return cx.roll_back(message, false).await,
            Err(other) => return Err(other),
        }
        let resuming = reached > 0;
        if let Some(command) = args.confirm.as_ref().filter(|_| !resuming) {
            ci.group("rollout: confirm");
            let run = cx.run_check(command, 0, 0).await?;
            ci.end_group();
            let passed = run.passed;
            cx.steps.push(Step {
                kind: "confirm",
                weight: 0,
                traffic: previous.traffic.clone(),
                check: Some(run),
                analysis: Vec::new(),
            });
            if !passed {
                return cx.roll_back(format!("the confirmation `{command}` did not pass"), false).await;
            }
        }
        if let Some(percent) = args.mirror.filter(|_| !resuming) {
            let mut mirror = previous.mirror_traffic.clone();
            mirror.insert(deployment.clone(), percent);
            let journal = JournalUpdate::Set(cx.journal.clone());
            if let Some(found) = cx.move_traffic(None, Some(mirror), journal).await? {
                return cx.overridden(found).await;
            }
            aml_client::status!("mirroring {percent}% of requests to {deployment}");
            if !cx.pause(args.interval).await {
                return cx.roll_back("canceled".into(), true).await;
            }
            let check = match &args.check {
                Some(command) => Some(cx.run_check(command, percent, args.max_failures).await?),
                None => None,
            };
            let passed = check.as_ref().is_none_or(|c| c.passed);
            cx.steps.push(Step {
                kind: "mirror",
                weight: percent,
                traffic: previous.traffic.clone(),
                check,
                analysis: Vec::new(),
            });
            if !passed {
                return cx.roll_back(format!("the check failed while {percent}% was mirrored"), true).await;
            }
            let journal = JournalUpdate::Set(cx.journal.clone());
            if let Some(found) = cx.move_traffic(None, Some(previous.mirror_traffic.clone()), journal).await? {
                return cx.overridden(found).await;
            }
        }
        for weight in &steps {
            let split = split_at(&previous.traffic, &deployment, *weight);
            ci.group(&format!("rollout: {deployment} at {weight}%"));
            cx.journal.reached = *weight;
            let journal = JournalUpdate::Set(cx.journal.clone());
            match cx.move_traffic(Some(split.clone()), None, journal).await {
                Ok(None) => {}
                Ok(Some(found)) => {
                    ci.end_group();
                    return cx.overridden(found).await;
                }
                Err(e) => {
                    ci.end_group();
                    return cx.roll_back(format!("could not move traffic to {weight}%: {e}"), true).await;
                }
            }
            let mut window_start = Instant::now();
            aml_client::status!("{deployment} at {weight}%: {}", describe(&split));
            if !cx.pause(args.interval).await {
                ci.end_group();
                return cx.roll_back("canceled".into(), true).await;
            }
            let check = match &args.check {
                Some(command) => Some(cx.run_check(command, *weight, args.max_failures).await?),
                None => None,
            };
            let passed = check.as_ref().is_none_or(|c| c.passed);
            cx.steps.push(Step { kind: "traffic", weight: *weight, traffic: split, check, analysis: Vec::new() });
            if !passed {
                ci.end_group();
                return cx.roll_back(format!("the check failed with {deployment} at {weight}%"), true).await;
            }
            let Some(analysis) = &analysis else {
                ci.end_group();
                continue;
            };
            let mut failures = 0;
            loop {
                let decision =
                    analysis.decide(cx.ws, &endpoint, &deployment, old.as_deref(), window_start.elapsed()).await?;
                aml_client::status!(
                    "analysis at {weight}%: {} ({} requests to {deployment})",
                    decision.verdict,
                    decision.new_requests
                );
                let verdict = decision.verdict;
                let failed_rules = decision.failed_rules();
                let requests = decision.new_requests;
                cx.audit_analysis(&decision, *weight).await?;
                if let Some(step) = cx.steps.last_mut() {
                    step.analysis.push(decision);
                }
                let stop = match (verdict, analysis.inconclusive) {
                    ("passed", _) | ("inconclusive", Inconclusive::Pass) => None,
                    ("inconclusive", Inconclusive::Pause) => {
                        ci.end_group();
                        return cx.paused(format!(
                            "the analysis at {weight}% was inconclusive ({requests} requests to {deployment}, {} needed, or a rule could not be decided)",
                            analysis.min_requests
                        ))
                        .await;
                    }
                    ("inconclusive", Inconclusive::Fail) => Some(format!(
                        "the analysis at {weight}% was inconclusive ({requests} requests to {deployment}, {} needed, or a rule could not be decided)",
                        analysis.min_requests
                    )),
                    _ => {
                        failures += 1;
                        if failures <= args.failure_limit && cx.pause(args.interval).await {
                            aml_client::status!(
                                "analysis failed ({failures} of {} tolerated); analysing again",
                                args.failure_limit + 1
                            );
                            window_start = Instant::now();
                            continue;
                        }
                        Some(format!("the analysis failed with {deployment} at {weight}%: {failed_rules}"))
                    }
                };
                if let Some(reason) = stop {
                    ci.end_group();
                    return cx.roll_back(reason, true).await;
                }
                break;
            }
            ci.end_group();
        }
        let last = cx.journal.steps.last().copied().unwrap_or(100);
        // Done: the journal goes, in a change that also proves nobody moved the traffic.
        if let Some(found) = cx.move_traffic(None, None, JournalUpdate::Clear).await? {
            return cx.overridden(found).await;
        }
        let now = cx.ws.endpoint(&endpoint).await?;
        if now.traffic.get(&deployment).copied().unwrap_or(0) != last {
            return cx
                .roll_back(
                    format!(
                        "the endpoint reports {} after the last step, not {deployment}={last}%",
                        describe(&now.traffic)
                    ),
                    true,
                )
                .await;
        }
        Ok(Rollout {
            endpoint,
            deployment,
            status: "completed",
            reason: None,
            previous_traffic: previous.traffic,
            traffic: now.traffic,
            steps: cx.steps,
            log_tail: None,
            approval_request: None,
        })
    }
}

fn describe(traffic: &BTreeMap<String, u32>) -> String {
    let serving: Vec<String> = traffic.iter().filter(|(_, w)| **w > 0).map(|(k, v)| format!("{k}={v}%")).collect();
    if serving.is_empty() { "nothing serving".into() } else { serving.join(" ") }
}

/// The check's output goes to a per-process file in the temp folder while it runs.
const CHECK_LOG: &str = "aml-rollout-check-";

/// A rollout killed mid-check (`kill -9`) leaves its check log behind: removed by the next
/// rollout once no process has its pid.
fn remove_stale_check_logs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(CHECK_LOG).and_then(|rest| rest.strip_suffix(".log")) else { continue };
        if pid.parse::<u32>().is_ok() && !std::path::Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn join(steps: &[u32]) -> String {
    steps.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

impl Context<'_> {
    fn scrub(&self, text: &str) -> String {
        match &self.secret {
            Some(secret) if !secret.is_empty() => text.replace(secret.as_str(), "***"),
            _ => text.to_string(),
        }
    }

    /// Wait out a step; false when the run was cancelled meanwhile.
    async fn pause(&mut self, interval: Duration) -> bool {
        let cancel = &mut self.cancel;
        tokio::select! {
            () = tokio::time::sleep(interval) => !cancel.requested(),
            () = cancel.wait() => false,
        }
    }

    /// Run the check, retrying after each interval while failures stay within the budget.
    async fn run_check(&mut self, command: &str, weight: u32, max_failures: u32) -> Result<CheckRun> {
        let log: PathBuf = std::env::temp_dir().join(format!("{CHECK_LOG}{}.log", std::process::id()));
        remove_stale_check_logs();
        let shell = ["/bin/bash", "/bin/sh"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("sh"));
        let mut attempts = 0;
        loop {
            attempts += 1;
            aml_client::status!("check: {}", self.scrub(command));
            let spec = ChildSpec {
                program: shell.clone(),
                args: vec!["-c".into(), command.to_string()],
                cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
                env: vec![
                    // The check's own tools talk to the same workspace and endpoint.
                    ("AML_WORKSPACE".into(), self.workspace_location.clone()),
                    ("AML_ROLLOUT_ENDPOINT".into(), self.endpoint.clone()),
                    ("AML_ROLLOUT_DEPLOYMENT".into(), self.deployment.clone()),
                    ("AML_ROLLOUT_WEIGHT".into(), weight.to_string()),
                ],
                log: log.clone(),
                prefix: "[check] ".into(),
                echo: !self.quiet,
                timeout: None,
            };
            let cancel = &mut self.cancel;
            let outcome = run_child(spec, cancel).await?;
            let _ = std::fs::remove_file(&log);
            let exit_code = match outcome {
                Outcome::Exited(code) => code,
                _ => None,
            };
            let passed = exit_code == Some(0);
            if passed || attempts > max_failures || self.cancel.requested() {
                return Ok(CheckRun { command: self.scrub(command), passed, exit_code, attempts });
            }
            aml_client::status!("check failed ({attempts} of {} tolerated); trying again", max_failures + 1);
        }
    }

    /// Move the traffic unless someone else changed it since this rollout's last move; then
    /// the endpoint as found.
    async fn move_traffic(
        &mut self,
        traffic: Option<BTreeMap<String, u32>>,
        mirror: Option<BTreeMap<String, u32>>,
        journal: JournalUpdate,
    ) -> Result<Option<Endpoint>> {
        let expected = Some(self.expected.clone());
        let change = TrafficChange { traffic, mirror, expected, by: self.by.clone(), journal };
        match self.ws.change_traffic(&self.endpoint, change).await? {
            TrafficOutcome::Changed(now) => {
                self.expected = (now.traffic, now.mirror_traffic);
                Ok(None)
            }
            TrafficOutcome::NotAsExpected(found) => Ok(Some(found)),
        }
    }

    /// Someone else changed the traffic during the rollout (an operator's rollback, say):
    /// theirs stands. Stop, say who changed what, and touch nothing.
    async fn overridden(&mut self, found: Endpoint) -> Result<Rollout> {
        let who = found.changed_by.as_deref().map(|by| format!(" by {by}")).unwrap_or_default();
        let reason = format!(
            "the traffic was changed{who} while the rollout ran: it is {}, where the rollout had left {}; \
             the rollout stops and leaves it",
            describe(&found.traffic),
            describe(&self.expected.0)
        );
        aml_client::status!("stopping: {reason}");
        // Theirs stands: only the journal goes, so nothing resumes or undoes it later.
        let forget = TrafficChange { by: self.by.clone(), journal: JournalUpdate::Clear, ..TrafficChange::default() };
        self.ws.change_traffic(&self.endpoint, forget).await?;
        Ok(Rollout {
            endpoint: self.endpoint.clone(),
            deployment: self.deployment.clone(),
            status: "overridden",
            reason: Some(reason),
            previous_traffic: self.previous.traffic.clone(),
            traffic: found.traffic,
            steps: std::mem::take(&mut self.steps),
            log_tail: None,
            approval_request: None,
        })
    }

    /// Stop where the rollout is, traffic and journal kept, for a person to decide:
    /// `--resume` goes on from this step, `aml-deploy traffic` decides otherwise.
    async fn paused(&mut self, reason: String) -> Result<Rollout> {
        aml_client::status!("pausing: {reason}");
        let now = self.ws.endpoint(&self.endpoint).await?;
        let approval_request = match self.approvers.is_empty() {
            true => None,
            false => Some(self.request_decision(&reason).await?),
        };
        Ok(Rollout {
            endpoint: self.endpoint.clone(),
            deployment: self.deployment.clone(),
            status: "paused",
            reason: Some(reason),
            previous_traffic: self.previous.traffic.clone(),
            traffic: now.traffic,
            steps: std::mem::take(&mut self.steps),
            log_tail: None,
            approval_request,
        })
    }

    /// Each analysis joins the audit trail of the new deployment's model, as a gate's
    /// decision does (`approval-gate history MODEL` shows it).
    async fn audit_analysis(&mut self, decision: &crate::analysis::Decision, weight: u32) -> Result<()> {
        let Some(model) = self.new_model.clone() else { return Ok(()) };
        let entry = NewAuditEntry {
            kind: "rollout-analysis".into(),
            model: Some(model),
            job: None,
            request: None,
            decision: decision.verdict.into(),
            by: self.by.clone(),
            details: serde_json::json!({
                "endpoint": self.endpoint, "deployment": self.deployment, "weight": weight, "analysis": decision,
            }),
            ci_run: self.ci_run.clone(),
        };
        self.ws.record_audit(&entry, &BTreeMap::new()).await?;
        Ok(())
    }

    /// File an approval request for the new deployment's model, as `approval-gate request`
    /// does: its approvers decide whether the rollout goes on.
    async fn request_decision(&mut self, reason: &str) -> Result<String> {
        let model = self.new_model.clone().ok_or_else(|| {
            Error::usage(
                format!("deployment `{}` serves no registered model to file an approval request for", self.deployment),
                "drop `--approvers` and decide with `aml-deploy rollout --resume` or `aml-deploy traffic`",
            )
        })?;
        let requester = self.by.clone().unwrap_or_else(|| "aml-deploy rollout".into());
        let request = ApprovalRequest {
            id: aml_client::ids::random_hex::<5>()?,
            model,
            stage: format!("rollout of {} on {}", self.deployment, self.endpoint),
            approvers: self.approvers.clone(),
            requester: requester.clone(),
            allow_self_approval: false,
            state: ApprovalState::Pending,
            decided_by: None,
            comment: None,
            created_at: aml_client::time::now(),
            decided_at: None,
            ci_run: self.ci_run.clone(),
        };
        let entry = NewAuditEntry {
            kind: "approval-requested".into(),
            model: Some(request.model.clone()),
            job: None,
            request: Some(request.id.clone()),
            decision: "requested".into(),
            by: Some(requester),
            details: serde_json::json!({"stage": request.stage, "approvers": request.approvers, "reason": reason}),
            ci_run: self.ci_run.clone(),
        };
        self.ws.request_approval(&request, &entry).await?;
        aml_client::status!(
            "asked {} to decide: `approval-gate approve {} --by NAME` (or `reject`); `approval-gate wait {}` waits for it",
            request.approvers.join(" or "),
            request.id,
            request.id
        );
        Ok(request.id)
    }

    /// Put traffic back as it was and report the failure with the new deployment's log.
    async fn roll_back(&mut self, reason: String, traffic_moved: bool) -> Result<Rollout> {
        aml_client::status!("rolling back: {reason}");
        if traffic_moved {
            let back = (Some(self.previous.traffic.clone()), Some(self.previous.mirror_traffic.clone()));
            if let Some(found) = self.move_traffic(back.0, back.1, JournalUpdate::Clear).await? {
                return self.overridden(found).await;
            }
        }
        let now = self.ws.endpoint(&self.endpoint).await?;
        let log_tail = self
            .ws
            .deployment_log(&self.endpoint, &self.deployment, Some(25))
            .await
            .ok()
            .map(|(_, text)| text)
            .filter(|t| !t.is_empty());
        Ok(Rollout {
            endpoint: self.endpoint.clone(),
            deployment: self.deployment.clone(),
            status: "rolled_back",
            reason: Some(reason),
            previous_traffic: self.previous.traffic.clone(),
            traffic: now.traffic,
            steps: std::mem::take(&mut self.steps),
            log_tail,
            approval_request: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(previous: &[(&str, u32)], weight: u32, expected: &[(&str, u32)]) {
        let previous = previous.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let expected: BTreeMap<String, u32> = expected.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert_eq!(split_at(&previous, "green", weight), expected);
    }

    #[test]
    fn one_old_deployment() {
        check(&[("blue", 100)], 10, &[("blue", 90), ("green", 10)]);
        check(&[("blue", 100)], 100, &[("blue", 0), ("green", 100)]);
    }

    #[test]
    fn several_keep_their_proportions_and_add_up() {
        check(&[("blue", 80), ("red", 20)], 10, &[("blue", 72), ("green", 10), ("red", 18)]);
        check(&[("a", 34), ("b", 33), ("c", 33)], 50, &[("a", 17), ("b", 17), ("c", 16), ("green", 50)]);
    }

    #[test]
    fn nothing_serving_yet() {
        check(&[], 100, &[("green", 100)]);
    }
}
