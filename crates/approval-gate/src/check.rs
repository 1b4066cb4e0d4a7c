//! `approval-gate check`: resolve both sides, refuse rules whose metrics are missing,
//! evaluate every rule, decide, and record the decision before reporting it.

use std::collections::BTreeMap;

use aml_client::approvals::NewAuditEntry;
use aml_client::cli::Session;
use aml_client::{Access, Error, Result, Workspace};

use crate::cli::{CheckArgs, NoChampion};
use crate::output::{Decision, RuleResult};
use crate::subjects::{self, Subject};
use aml_client::rules::{Rule, Side};

fn known(metrics: &BTreeMap<String, f64>) -> String {
    if metrics.is_empty() {
        "it has no metrics at all".into()
    } else {
        format!("it has: {}", metrics.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "))
    }
}

/// A metric that one side lacks is bad input: a gate never passes on a value it did not see.
fn check_metrics(rules: &[Rule], candidate: &Subject, champion: Option<&Subject>) -> Result<()> {
    for rule in rules {
        for metric in rule.metrics() {
            let subject = match metric.side {
                Side::Candidate => candidate,
                Side::Champion => match champion {
                    Some(champion) => champion,
                    None => continue,
                },
            };
            if !subject.metrics.contains_key(&metric.name) {
                let near = aml_client::yaml::closest(
                    &metric.name,
                    &subject.metrics.keys().map(String::as_str).collect::<Vec<_>>(),
                )
                .map(|n| format!("did you mean `{}.{n}`? ", metric.side))
                .unwrap_or_default();
                return Err(Error::usage(
                    format!(
                        "rule `{}` reads `{}.{}`, but the {} `{}` has no metric `{}`",
                        rule.text, metric.side, metric.name, metric.side, subject.reference, metric.name
                    ),
                    format!("{near}{}", known(&subject.metrics)),
                ));
            }
        }
    }
    Ok(())
}

fn evaluate(rule: &Rule, candidate: &Subject, champion: Option<&Subject>) -> Result<RuleResult> {
    let mut values = BTreeMap::new();
    let (mut candidate_values, mut champion_values) = (Vec::new(), Vec::new());
    for metric in rule.metrics() {
        let value = match metric.side {
            Side::Candidate => candidate.metrics.get(&metric.name).copied(),
            Side::Champion => champion.and_then(|c| c.metrics.get(&metric.name).copied()),
        };
        if let Some(value) = value {
            values.insert(format!("{}.{}", metric.side, metric.name), value);
            match metric.side {
                Side::Candidate => candidate_values.push(value),
                Side::Champion => champion_values.push(value),
            }
        }
    }
    let one = |v: &[f64]| (v.len() == 1).then(|| v[0]);
    let passed = match champion {
        None if rule.uses_champion() => None,
        _ => {
            let none = BTreeMap::new();
            let decided = rule.evaluate(&candidate.metrics, champion.map(|c| &c.metrics).unwrap_or(&none));
            Some(decided.map_err(|e| {
                Error::usage(
                    format!("rule `{}` cannot be evaluated: {e}", rule.text),
                    "a rule must give a number at every step for these metrics; nothing was recorded",
                )
            })?)
        }
    };
    Ok(RuleResult {
        expression: rule.text.clone(),
        candidate: one(&candidate_values),
        champion: one(&champion_values),
        values,
        passed,
    })
}

pub async fn run(args: CheckArgs, workspace: &str, session: &Session) -> Result<Decision> {
    let gate = crate::rules::gather(&args)?;
    let mut ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
    let candidate = subjects::candidate(&ws, &args.candidate).await?;
    let champion = match &args.champion {
        Some(reference) => subjects::champion(&mut ws, reference).await?,
        None => Err("no `--champion` was given".to_string()),
    };
    let (champion, no_champion_because) = match champion {
        Ok(subject) => (Some(subject), None),
        Err(why) => (None, Some(why)),
    };
    check_metrics(&gate.rules, &candidate, champion.as_ref())?;
    if let (Some(champion), Some(id)) = (&champion, candidate.model_id())
        && champion.model_id().as_deref() == Some(id.as_str())
    {
        aml_client::status!("note: the candidate {id} is the champion itself");
    }

    let rules: Vec<RuleResult> =
        gate.rules.iter().map(|r| evaluate(r, &candidate, champion.as_ref())).collect::<Result<_>>()?;
    let rules_pass = rules.iter().all(|r| r.passed != Some(false));
    let passed = match &champion {
        Some(_) => rules_pass,
        None => gate.no_champion == NoChampion::Pass && rules_pass,
    };
    let forced = !passed && args.force;
    let mut decision = Decision {
        decision: if passed || forced { "pass" } else { "fail" }.into(),
        candidate,
        champion,
        no_champion: no_champion_because.map(|why| (why, gate.no_champion)),
        rules,
        forced,
        reason: if forced { args.reason.clone() } else { None },
        audit_id: None,
    };

    let entry = NewAuditEntry {
        kind: "gate".into(),
        model: decision.candidate.model_id(),
        job: decision.candidate.is_job().then(|| decision.candidate.job.clone()).flatten(),
        request: None,
        decision: decision.decision.clone(),
        by: session.ci.requester.clone(),
        details: decision.details(),
        ci_run: session.ci.run_url.clone(),
    };
    let tags = BTreeMap::from([
        ("gate.decision".to_string(), decision.decision.clone()),
        (
            "gate.champion".to_string(),
            decision.champion.as_ref().map(|c| c.reference.clone()).unwrap_or_else(|| "none".into()),
        ),
        ("gate.forced".to_string(), forced.to_string()),
    ]);
    let recorded = ws.record_audit(&entry, &tags).await?;
    decision.audit_id = Some(recorded.id);
    Ok(decision)
}
