//! `approval-gate record`: an approval given in the CI system itself (an Azure DevOps
//! environment check or ManualValidation, a GitHub environment's required reviewers, a
//! Jenkins `input`) written into the workspace's audit trail and onto the model version,
//! with who approved as that system reports it. The CI's token is sent, never shown.

use std::collections::BTreeMap;
use std::time::Duration;

use aml_client::approvals::{AuditEntry, NewAuditEntry};
use aml_client::cli::Session;
use aml_client::settings::{EnvVars, Settings};
use aml_client::{Access, Error, Result, Workspace};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cli::{CiSource, RecordArgs};

/// What the CI system says was decided.
struct Verdict {
    decision: String,
    approvers: Vec<String>,
    comment: Option<String>,
    evidence: Value,
}

fn variable(settings: &Settings, name: &str, how: &str) -> Result<String> {
    settings.get(name).map(str::to_owned).ok_or_else(|| Error::usage(format!("`{name}` is not set"), how.to_string()))
}

async fn fetch(settings: &Settings, url: &str, headers: &[(&str, &str)], what: &str) -> Result<Value> {
    let response = aml_client::http::get(settings, url, headers, Duration::from_secs(30)).await?;
    match response.status {
        200 => {
            // Azure DevOps' documents may start with a byte-order mark.
            let text = String::from_utf8_lossy(&response.body);
            serde_json::from_str(text.trim_start_matches('\u{feff}'))
                .map_err(|e| Error::service(format!("{what}: the answer is not the JSON documented ({e})"), None))
        }
        401 | 403 => Err(Error::usage(
            format!("{what}: the token was refused (HTTP {})", response.status),
            "check the token's scopes: Azure DevOps needs `vso.build_execute`; GitHub's `GITHUB_TOKEN` needs `actions: read`",
        )),
        404 => Err(Error::usage(
            format!("{what}: not found (HTTP 404) at {url}"),
            "check the id, the project or repository, and that the token can see it",
        )),
        status => Err(Error::service(format!("{what}: HTTP {status} from {url}"), None)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdoIdentity {
    display_name: Option<String>,
    unique_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdoStep {
    actual_approver: Option<AdoIdentity>,
    status: Option<String>,
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdoApproval {
    id: String,
    status: String,
    #[serde(default)]
    steps: Vec<AdoStep>,
}

/// Azure DevOps: `GET {collection}{project}/_apis/pipelines/approvals/{id}?$expand=steps&api-version=7.1`.
async fn azure_devops(args: &RecordArgs, settings: &Settings) -> Result<Verdict> {
    let id = args.approval_id.as_deref().ok_or_else(|| {
        Error::usage(
            "`--from azure-devops` needs `--approval-id`",
            "the approval's id (a GUID), from the Approvals REST query or the check's URL",
        )
    })?;
    let collection = variable(
        settings,
        EnvVars::SYSTEM_COLLECTIONURI,
        "run inside an Azure DevOps job (it sets System.CollectionUri)",
    )?;
    let project =
        variable(settings, EnvVars::SYSTEM_TEAMPROJECT, "run inside an Azure DevOps job (it sets System.TeamProject)")?;
    let token = variable(
        settings,
        EnvVars::SYSTEM_ACCESSTOKEN,
        "map the job's token into the step: `env: { SYSTEM_ACCESSTOKEN: $(System.AccessToken) }`",
    )?;
    let url = format!(
        "{}/{project}/_apis/pipelines/approvals/{id}?$expand=steps&api-version=7.1",
        collection.trim_end_matches('/')
    );
    let authorization = format!("Bearer {token}");
    let body = fetch(
        settings,
        &url,
        &[("authorization", &authorization), ("accept", "application/json")],
        &format!("Azure DevOps approval `{id}`"),
    )
    .await?;
    let approval: AdoApproval = serde_json::from_value(body.clone())
        .map_err(|e| Error::service(format!("Azure DevOps approval `{id}`: unexpected shape ({e})"), None))?;
    let decided: Vec<&AdoStep> =
        approval.steps.iter().filter(|s| s.status.as_deref() == Some(approval.status.as_str())).collect();
    let approvers = decided
        .iter()
        .filter_map(|s| s.actual_approver.as_ref())
        .filter_map(|a| a.unique_name.clone().or_else(|| a.display_name.clone()))
        .collect();
    let comment = decided.iter().filter_map(|s| s.comment.clone()).next();
    Ok(Verdict {
        decision: approval.status.clone(),
        approvers,
        comment,
        evidence: json!({"system": "azure-devops", "approval_id": approval.id, "url": url}),
    })
}

#[derive(Deserialize)]
struct GithubEnvironment {
    name: String,
}

#[derive(Deserialize)]
struct GithubUser {
    login: String,
}

#[derive(Deserialize)]
struct GithubReview {
    state: String,
    comment: Option<String>,
    #[serde(default)]
    environments: Vec<GithubEnvironment>,
    user: GithubUser,
}

/// GitHub: `GET {api}/repos/{repo}/actions/runs/{run}/approvals`, the reviews of this run's
/// environments; the newest one for the environment decides.
async fn github(args: &RecordArgs, settings: &Settings) -> Result<Verdict> {
    let api = variable(settings, EnvVars::GITHUB_API_URL, "run inside a GitHub Actions job (it sets GITHUB_API_URL)")?;
    let repository =
        variable(settings, EnvVars::GITHUB_REPOSITORY, "run inside a GitHub Actions job (it sets GITHUB_REPOSITORY)")?;
    let run = variable(settings, EnvVars::GITHUB_RUN_ID, "run inside a GitHub Actions job (it sets GITHUB_RUN_ID)")?;
    let token = variable(
        settings,
        EnvVars::GITHUB_TOKEN,
        "pass the token to the step: `env: { GITHUB_TOKEN: ${{ github.token }} }`",
    )?;
    let environment = args.environment.clone().unwrap_or_else(|| args.stage.clone());
    let url = format!("{}/repos/{repository}/actions/runs/{run}/approvals", api.trim_end_matches('/'));
    let authorization = format!("Bearer {token}");
    let body = fetch(
        settings,
        &url,
        &[
            ("authorization", &authorization),
            ("accept", "application/vnd.github+json"),
            ("x-github-api-version", "2022-11-28"),
            ("user-agent", "approval-gate"),
        ],
        &format!("GitHub run {run}'s approvals"),
    )
    .await?;
    let reviews: Vec<GithubReview> = serde_json::from_value(body)
        .map_err(|e| Error::service(format!("GitHub run {run}'s approvals: unexpected shape ({e})"), None))?;
    let seen: Vec<String> = reviews.iter().flat_map(|r| r.environments.iter().map(|e| e.name.clone())).collect();
    // GitHub lists the newest review first.
    let review = reviews.iter().find(|r| r.environments.iter().any(|e| e.name == environment)).ok_or_else(|| {
        Error::failed(
            format!("run {run} has no review for environment `{environment}`"),
            Some(if seen.is_empty() {
                "no environment of this run was reviewed (yet)".into()
            } else {
                format!("reviewed environments: {}; pick one with `--environment`", seen.join(", "))
            }),
        )
    })?;
    Ok(Verdict {
        decision: review.state.clone(),
        approvers: vec![review.user.login.clone()],
        comment: review.comment.clone().filter(|c| !c.is_empty()),
        evidence: json!({"system": "github", "environment": environment, "run": run, "url": url}),
    })
}

/// Jenkins: the `input` step's `submitterParameter` holds who approved; Jenkins has already
/// checked them against `submitter`, and the build URL is the evidence.
fn jenkins(args: &RecordArgs, settings: &Settings) -> Result<Verdict> {
    let approver = args.approver.clone().filter(|a| !a.is_empty()).ok_or_else(|| {
        Error::usage("`--from jenkins` needs `--approver`", "pass the `input` step's submitter: `input(..., submitterParameter: 'APPROVER')`, then `--approver \"$APPROVER\"`")
    })?;
    let build = variable(settings, EnvVars::BUILD_URL, "run inside a Jenkins build (it sets BUILD_URL)")?;
    Ok(Verdict {
        decision: "approved".into(),
        approvers: vec![approver],
        comment: None,
        evidence: json!({"system": "jenkins", "build": build}),
    })
}

pub async fn record(args: RecordArgs, workspace: &str, session: &Session) -> Result<AuditEntry> {
    let verdict = match args.from {
        CiSource::AzureDevops => azure_devops(&args, &session.settings).await?,
        CiSource::Github => github(&args, &session.settings).await?,
        CiSource::Jenkins => jenkins(&args, &session.settings)?,
    };
    if verdict.decision != "approved" && verdict.decision != "rejected" {
        return Err(Error::failed(
            format!("the approval is `{}`, not decided: nothing was recorded", verdict.decision),
            Some("record it once it is approved or rejected".into()),
        ));
    }
    let mut ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
    let model = ws.model_version(&args.model.parse()?).await?;
    let by = (!verdict.approvers.is_empty()).then(|| verdict.approvers.join(", "));
    let mut details = verdict.evidence;
    details["stage"] = json!(args.stage);
    details["comment"] = json!(verdict.comment);
    details["approvers"] = json!(verdict.approvers);
    let entry = NewAuditEntry {
        kind: "ci-approval".into(),
        model: Some(model.id()),
        job: None,
        request: None,
        decision: verdict.decision.clone(),
        by: by.clone(),
        details,
        ci_run: session.ci.run_url.clone(),
    };
    let mut tags = BTreeMap::from([(format!("approval.{}", args.stage), verdict.decision.clone())]);
    if let Some(by) = &by {
        tags.insert(format!("approval.{}.by", args.stage), by.clone());
    }
    ws.record_audit(&entry, &tags).await
}
