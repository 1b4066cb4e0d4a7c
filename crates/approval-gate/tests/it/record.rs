//! `approval-gate record` against a local server that answers with the approval bodies the
//! CI systems document (`contracts/ci/`), and refuses any request their specs do not
//! describe: the path template, the declared query parameters and their enums, the
//! api-version, the token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aml_client::testing::{TestWorkspace, binary, json, render, repo_root};
use serde_json::Value;

const ADO_TOKEN: &str = "ado-secret-token-0123";
const GITHUB_TOKEN: &str = "ghs_secretTOKEN4567";
const APPROVED: &str = "aab27959-a5be-4ee3-97ca-f19b3602cd2f";
const PENDING: &str = "ee14f612-6838-43c0-b445-db238ef14153";

fn contract(path: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join("contracts/ci").join(path)).unwrap();
    serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap()
}

/// One documented operation: its path template, declared query parameters (name → enum),
/// the token it wants, and what it answers.
struct Operation {
    template: Vec<String>,
    query: HashMap<String, Option<Vec<String>>>,
    required_query: Vec<(String, String)>,
    token: String,
    answers: HashMap<String, (u16, String)>,
}

fn ado_operation() -> Operation {
    let spec = contract("ado-rest/7.1/pipelinesapproval.json");
    let template = "/{organization}/{project}/_apis/pipelines/approvals/{approvalId}";
    let parameters = spec["paths"][template]["get"]["parameters"].as_array().unwrap();
    let mut query: HashMap<String, Option<Vec<String>>> = parameters
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["enum"].as_array().map(|e| e.iter().map(|v| v.as_str().unwrap().to_string()).collect()),
            )
        })
        .collect();
    query.insert("api-version".into(), None);
    // The documented bodies: an approved approval (from the PATCH example's answer) and a
    // pending one (GET example), served with the byte-order mark the files carry.
    let approved =
        contract("ado-rest/7.1/httpExamples/approvals/PATCH__UpdateApproval.json")["responses"]["200"]["body"]["value"]
            [0]
        .clone();
    let pending =
        contract("ado-rest/7.1/httpExamples/approvals/GET__Approval.json")["responses"]["200"]["body"].clone();
    assert_eq!((approved["id"].as_str(), pending["id"].as_str()), (Some(APPROVED), Some(PENDING)));
    Operation {
        template: template.split('/').map(str::to_owned).collect(),
        query,
        required_query: vec![("api-version".into(), "7.1".into())],
        token: ADO_TOKEN.into(),
        answers: HashMap::from([
            (APPROVED.to_string(), (200, format!("\u{feff}{approved}"))),
            (PENDING.to_string(), (200, format!("\u{feff}{pending}"))),
        ]),
    }
}

fn github_operation() -> Operation {
    let spec = contract("github-rest/actions-deployments-dispatch.openapi.json");
    let template = "/repos/{owner}/{repo}/actions/runs/{run_id}/approvals";
    assert!(spec["paths"][template]["get"].is_object());
    let example = spec["components"]["examples"]["environment-approvals-items"]["value"].clone();
    Operation {
        template: template.split('/').map(str::to_owned).collect(),
        query: HashMap::new(),
        required_query: Vec::new(),
        token: GITHUB_TOKEN.into(),
        answers: HashMap::from([("42".to_string(), (200, example.to_string()))]),
    }
}

struct SpecServer {
    url: String,
    refused: Arc<Mutex<Vec<String>>>,
}

impl SpecServer {
    /// Serve `operation` until the test ends; what it refuses is kept for the test to see.
    fn start(operation: Operation) -> SpecServer {
        let refused = Arc::new(Mutex::new(Vec::new()));
        let log = refused.clone();
        let port = aml_client::testing::http_server(move |head| match answer(&operation, head) {
            Ok((status, body)) => (status, vec![("content-type".into(), "application/json".into())], body),
            Err(why) => {
                log.lock().unwrap().push(why.clone());
                (400, vec![("content-type".into(), "application/json".into())], format!("{{\"message\": {why:?}}}"))
            }
        })
        .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        SpecServer { url, refused }
    }
}

fn answer(operation: &Operation, head: &[String]) -> Result<(u16, String), String> {
    let request_line = head.first().ok_or("no request line")?;
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        return Err(format!("method {method}"));
    }
    let headers: HashMap<String, String> = head[1..]
        .iter()
        .filter_map(|h| h.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    if headers.get("authorization") != Some(&format!("Bearer {}", operation.token)) {
        return Ok((401, "{\"message\": \"Bad credentials\"}".into()));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() != operation.template.len() {
        return Err(format!("path {path} does not match the documented template"));
    }
    let mut key = None;
    for (segment, template) in segments.iter().zip(&operation.template) {
        if template.starts_with('{') {
            if segment.is_empty() {
                return Err(format!("empty {template} in {path}"));
            }
            key = Some(segment.to_string());
        } else if segment != template {
            return Err(format!("path {path}: `{segment}` where the spec has `{template}`"));
        }
    }
    let pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).unwrap_or((p.to_string(), String::new()))
        })
        .collect();
    for (name, value) in &pairs {
        match operation.query.get(name) {
            None => return Err(format!("query parameter `{name}` is not in the spec")),
            Some(Some(allowed)) if !allowed.contains(value) => {
                return Err(format!("`{name}={value}` is not one of {allowed:?}"));
            }
            _ => {}
        }
    }
    for (name, value) in &operation.required_query {
        if !pairs.contains(&(name.clone(), value.clone())) {
            return Err(format!("`{name}={value}` is missing"));
        }
    }
    // The last path parameter names the resource.
    Ok(operation
        .answers
        .get(key.as_deref().unwrap_or(""))
        .cloned()
        .unwrap_or((404, "{\"message\": \"Not Found\"}".into())))
}

fn workspace_with_model() -> TestWorkspace {
    let ws = TestWorkspace::new();
    ws.write("model/weights.json", "{}");
    let out = ws.run(&binary("aml-register"), &["model", "--name", "scored", "--path", "model"]);
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    ws
}

fn record(ws: &TestWorkspace, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut command = ws.command(&binary("approval-gate"));
    command.args([&["record", "--model", "scored:1", "--stage", "production"], args].concat());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn no_secret(out: &std::process::Output) {
    let all = render(out);
    assert!(!all.contains(ADO_TOKEN) && !all.contains(GITHUB_TOKEN), "a token was printed: {all}");
}

#[test]
fn a_github_environment_review_is_recorded_with_its_reviewer() {
    let ws = workspace_with_model();
    let server = SpecServer::start(github_operation());
    let env = [
        ("GITHUB_API_URL", server.url.as_str()),
        ("GITHUB_REPOSITORY", "contoso/models"),
        ("GITHUB_RUN_ID", "42"),
        ("GITHUB_TOKEN", GITHUB_TOKEN),
    ];
    let out = record(&ws, &env, &["--from", "github", "--environment", "staging", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    no_secret(&out);
    let entry = json(&out);
    assert_eq!(
        (entry["kind"].as_str(), entry["decision"].as_str(), entry["by"].as_str()),
        (Some("ci-approval"), Some("approved"), Some("octocat"))
    );
    assert_eq!(entry["details"]["comment"], "Ship it!");
    assert_eq!(entry["details"]["environment"], "staging");
    let shown = json(&ws.run(&binary("aml-register"), &["show", "scored:1", "-o", "json"]));
    assert_eq!(
        (shown["tags"]["approval.production"].as_str(), shown["tags"]["approval.production.by"].as_str()),
        (Some("approved"), Some("octocat"))
    );
    // The environment defaults to the stage; this run has no review for `production`.
    let out = record(&ws, &env, &["--from", "github"]);
    assert_eq!(out.status.code(), Some(1), "{}", render(&out));
    assert!(
        render(&out)
            .contains("run 42 has no review for environment `production`\nhint: reviewed environments: staging"),
        "{}",
        render(&out)
    );
    assert!(server.refused.lock().unwrap().is_empty(), "{:?}", server.refused.lock().unwrap());
}

#[test]
fn an_azure_devops_approval_is_recorded_pending_is_not() {
    let ws = workspace_with_model();
    let server = SpecServer::start(ado_operation());
    let collection = format!("{}/fabrikam/", server.url);
    let env = [
        ("SYSTEM_COLLECTIONURI", collection.as_str()),
        ("SYSTEM_TEAMPROJECT", "RM"),
        ("SYSTEM_ACCESSTOKEN", ADO_TOKEN),
    ];
    let out = record(&ws, &env, &["--from", "azure-devops", "--approval-id", APPROVED]);
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&out), @r"
    exit_code: 0
    ----- stdout -----
    recorded from azure-devops: [TIME]  #1   scored:1  approved for production: Approving by uniqueName
    ----- stderr -----
    ")
    });
    let out = record(&ws, &env, &["--from", "azure-devops", "--approval-id", PENDING]);
    assert_eq!(out.status.code(), Some(1), "{}", render(&out));
    assert!(render(&out).contains("the approval is `pending`, not decided: nothing was recorded"), "{}", render(&out));
    let history = json(&ws.run(&binary("approval-gate"), &["history", "scored:1", "-o", "json"]));
    assert_eq!(history.as_array().unwrap().len(), 1, "the pending approval wrote nothing");
    // A wrong token: exit 2, and the token is not in the message.
    let wrong = [
        ("SYSTEM_COLLECTIONURI", collection.as_str()),
        ("SYSTEM_TEAMPROJECT", "RM"),
        ("SYSTEM_ACCESSTOKEN", "ado-secret-token-WRONG"),
    ];
    let out = record(&ws, &wrong, &["--from", "azure-devops", "--approval-id", APPROVED]);
    assert_eq!(out.status.code(), Some(2), "{}", render(&out));
    assert!(!render(&out).contains("WRONG"));
    assert!(render(&out).contains("the token was refused (HTTP 401)"), "{}", render(&out));
    no_secret(&out);
    assert!(server.refused.lock().unwrap().is_empty(), "{:?}", server.refused.lock().unwrap());
}

#[test]
fn missing_ci_variables_say_how_to_map_them() {
    let ws = workspace_with_model();
    let out = record(
        &ws,
        &[("SYSTEM_COLLECTIONURI", "http://127.0.0.1:9/org/"), ("SYSTEM_TEAMPROJECT", "RM")],
        &["--from", "azure-devops", "--approval-id", APPROVED],
    );
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&out), @r"
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: `SYSTEM_ACCESSTOKEN` is not set
    hint: map the job's token into the step: `env: { SYSTEM_ACCESSTOKEN: $(System.AccessToken) }`
    ")
    });
    let out = record(
        &ws,
        &[("BUILD_URL", "http://jenkins/job/models/7/")],
        &["--from", "jenkins", "--approver", "alice", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let entry = json(&out);
    assert_eq!(
        (entry["by"].as_str(), entry["details"]["build"].as_str()),
        (Some("alice"), Some("http://jenkins/job/models/7/"))
    );
}
