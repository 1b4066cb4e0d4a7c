//! Names and files a careless or hostile user gives: each is refused with exit 2 before
//! anything is opened, and nothing outside (or inside) the workspace changes.

use std::path::Path;
use std::process::Output;

use aml_client::testing::{TestWorkspace, binary, render};

fn deploy(ws: &TestWorkspace, args: &[&str]) -> Output {
    ws.run(&binary("aml-deploy"), args)
}

fn fixture(ws: &TestWorkspace) {
    ws.copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/linear"), "linear");
}

fn refused(output: &Output, mentions: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", render(output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(mentions), "the message does not name `{mentions}`: {}", render(output));
}

/// A folder beside the workspace that a path built from `../../victim` would reach.
fn victim(ws: &TestWorkspace) -> std::path::PathBuf {
    let precious = ws.write("victim/precious.txt", "keep me");
    precious.parent().unwrap().to_path_buf()
}

fn untouched(victim: &Path) {
    let names: Vec<_> = std::fs::read_dir(victim).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("precious.txt")], "the folder outside the workspace changed");
    assert_eq!(std::fs::read_to_string(victim.join("precious.txt")).unwrap(), "keep me");
}

#[test]
fn endpoint_names_that_escape_or_are_empty_are_refused_before_anything_is_written() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let victim = victim(&ws);
    for name in ["../../victim", "''", ".", "..", "a/b", "ab", "1abc", "a-very-long-endpoint-name-over-32-chars"] {
        ws.write("linear/hostile.yml", &format!("name: {name}\nauth_mode: key\n"));
        let output = deploy(&ws, &["apply", "-f", "linear/hostile.yml"]);
        refused(&output, "name");
        assert!(!ws.workspace().exists(), "`name: {name}` created the workspace");
    }
    untouched(&victim);
}

#[test]
fn deployment_names_endpoint_names_and_scoring_scripts_are_checked_in_the_file() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let victim = victim(&ws);
    let blue = std::fs::read_to_string(ws.path().join("linear/deployment-blue.yml")).unwrap();
    let cases = [
        ("name: blue", "name: ../../victim", "name"),
        ("endpoint_name: linear", "endpoint_name: ../../victim", "endpoint_name"),
        ("endpoint_name: linear", "endpoint_name: ''", "endpoint_name"),
        ("scoring_script: score.py", "scoring_script: /etc/passwd", "scoring_script"),
        ("scoring_script: score.py", "scoring_script: ../../victim/precious.txt", "scoring_script"),
        ("instance_count: 1", "instance_count: 0", "instance_count"),
    ];
    for (from, to, field) in cases {
        ws.write("linear/hostile.yml", &blue.replace(from, to));
        let output = deploy(&ws, &["apply", "-f", "linear/hostile.yml"]);
        refused(&output, field);
        assert!(!ws.workspace().exists(), "`{to}` created the workspace");
    }
    untouched(&victim);
}

#[test]
fn delete_and_other_verbs_refuse_names_that_would_reach_outside_an_endpoint_folder() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let victim = victim(&ws);
    let created = deploy(&ws, &["apply", "-f", "linear/endpoint.yml"]);
    assert_eq!(created.status.code(), Some(0), "{}", render(&created));
    let endpoints = ws.workspace().join("endpoints");
    assert!(endpoints.join("linear").is_dir());

    for args in [
        vec!["delete", "../../victim"],
        vec!["delete", ""],
        vec!["delete", "."],
        vec!["delete", "linear", "--deployment", "../../../victim"],
        vec!["delete", "linear", "--deployment", ""],
        vec!["show", "../.."],
        vec!["logs", "linear", "../../../victim"],
        vec!["traffic", "../../victim", "blue=100"],
        vec!["rollout", "--endpoint", "../../victim", "-f", "linear/deployment-blue.yml"],
    ] {
        let output = deploy(&ws, &args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", render(&output));
        assert!(endpoints.join("linear").is_dir(), "{args:?} removed the endpoint's folder");
    }
    untouched(&victim);
    let shown = deploy(&ws, &["show", "linear"]);
    assert_eq!(shown.status.code(), Some(0), "{}", render(&shown));
    let deleted = deploy(&ws, &["delete", "linear"]);
    assert_eq!(deleted.status.code(), Some(0), "{}", render(&deleted));
}

#[test]
fn a_traffic_split_naming_a_deployment_twice_or_a_bad_name_is_refused() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let created = deploy(&ws, &["apply", "-f", "linear/endpoint.yml"]);
    assert_eq!(created.status.code(), Some(0), "{}", render(&created));
    let twice = deploy(&ws, &["traffic", "linear", "blue=50", "blue=50"]);
    refused(&twice, "blue");
    let escaping = deploy(&ws, &["traffic", "linear", "../x=100"]);
    refused(&escaping, "../x");
    let deleted = deploy(&ws, &["delete", "linear"]);
    assert_eq!(deleted.status.code(), Some(0), "{}", render(&deleted));
}

#[test]
fn durations_too_long_to_represent_are_refused_not_a_panic() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    for wait in ["99999999999999999999s", "1e300s", "31d", "-1s", "NaNs"] {
        let output =
            deploy(&ws, &["rollout", "-f", "linear/deployment-blue.yml", "--interval", wait, "--check", "true"]);
        assert_eq!(output.status.code(), Some(2), "--interval {wait}: {}", render(&output));
        assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"), "{}", render(&output));
    }
}

#[test]
fn a_dangling_link_in_the_code_folder_is_bad_input_before_anything_starts() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let created = deploy(&ws, &["apply", "-f", "linear/endpoint.yml"]);
    assert_eq!(created.status.code(), Some(0), "{}", render(&created));
    std::os::unix::fs::symlink(ws.path().join("gone.pkl"), ws.path().join("linear/src/gone.pkl")).unwrap();
    let output = deploy(&ws, &["apply", "-f", "linear/deployment-blue.yml"]);
    refused(&output, "gone.pkl");
    let shown = aml_client::testing::json(&deploy(&ws, &["show", "linear", "-o", "json"]));
    assert_eq!(shown["deployments"].as_array().unwrap().len(), 0, "{shown}");
    let deleted = deploy(&ws, &["delete", "linear"]);
    assert_eq!(deleted.status.code(), Some(0), "{}", render(&deleted));
}

#[test]
fn validate_checks_a_file_as_apply_would_and_writes_nothing() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let endpoint = deploy(&ws, &["validate", "-f", "linear/endpoint.yml"]);
    assert_eq!(endpoint.status.code(), Some(0), "{}", render(&endpoint));
    assert_eq!(String::from_utf8_lossy(&endpoint.stdout), "ok: linear/endpoint.yml (endpoint `linear`)\n");
    let blue = deploy(&ws, &["validate", "-f", "linear/deployment-blue.yml"]);
    assert_eq!(blue.status.code(), Some(0), "{}", render(&blue));
    assert_eq!(
        String::from_utf8_lossy(&blue.stdout),
        "ok: linear/deployment-blue.yml (deployment `blue` of endpoint `linear`)\n"
    );
    let registered = deploy(&ws, &["validate", "-f", "linear/deployment-blue.yml", "--set", "model=azureml:linear:3"]);
    assert_eq!(registered.status.code(), Some(0), "{}", render(&registered));
    assert!(String::from_utf8_lossy(&registered.stdout).contains("note: model `azureml:linear:3` is looked up"));
    let missing = deploy(
        &ws,
        &["validate", "-f", "linear/deployment-blue.yml", "--set", "code_configuration.scoring_script=nope.py"],
    );
    refused(&missing, "scoring_script");
    assert!(!ws.workspace().exists(), "validate created a workspace");
}

#[test]
fn auth_mode_is_read_in_any_casing_azure_ai_ml_accepts() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    for (written, read) in [("Key", "key"), ("AMLToken", "aml_token"), ("aadToken", "aad_token")] {
        ws.write("linear/cased.yml", &format!("name: linear\nauth_mode: {written}\n"));
        let out = deploy(&ws, &["validate", "-f", "linear/cased.yml", "-o", "json"]);
        assert_eq!(out.status.code(), Some(0), "`{written}` ({read}): {}", render(&out));
    }
    ws.write("linear/cased.yml", "name: linear\nauth_mode: token\n");
    refused(&deploy(&ws, &["validate", "-f", "linear/cased.yml"]), "auth_mode");
}

#[test]
fn a_deployment_with_a_registered_environment_is_valid_but_not_applied_locally() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let registered = ["--set", "environment=azureml:team-sklearn@latest"];
    let checked = deploy(&ws, &[&["validate", "-f", "linear/deployment-blue.yml"][..], &registered].concat());
    assert_eq!(checked.status.code(), Some(0), "{}", render(&checked));
    assert!(String::from_utf8_lossy(&checked.stdout).contains("note: environment `azureml:team-sklearn@latest`"));
    let created = deploy(&ws, &["apply", "-f", "linear/endpoint.yml"]);
    assert_eq!(created.status.code(), Some(0), "{}", render(&created));
    let applied = deploy(&ws, &[&["apply", "-f", "linear/deployment-blue.yml"][..], &registered].concat());
    refused(&applied, "field `environment`");
    let shown = aml_client::testing::json(&deploy(&ws, &["show", "linear", "-o", "json"]));
    assert_eq!(shown["deployments"].as_array().unwrap().len(), 0, "{shown}");
    let deleted = deploy(&ws, &["delete", "linear"]);
    assert_eq!(deleted.status.code(), Some(0), "{}", render(&deleted));
}

#[test]
fn a_placeholder_in_a_file_is_refused_with_its_line_and_replaced_by_set() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let text = std::fs::read_to_string(ws.path().join("linear/deployment-blue.yml")).unwrap();
    let placeholder = text.replace("endpoint_name: linear", "endpoint_name: <ENDPOINT_NAME>");
    assert_ne!(text, placeholder, "the fixture names its endpoint");
    ws.write("linear/deployment-placeholder.yml", &placeholder);
    let refused_here = deploy(&ws, &["validate", "-f", "linear/deployment-placeholder.yml"]);
    refused(&refused_here, "field `endpoint_name`: `<ENDPOINT_NAME>` is not a valid endpoint name");
    assert!(render(&refused_here).contains("--set FIELD=VALUE"), "{}", render(&refused_here));
    // As `az ml online-deployment create --endpoint-name` does, a --set gives the name.
    let set = deploy(&ws, &["validate", "-f", "linear/deployment-placeholder.yml", "--set", "endpoint_name=linear"]);
    assert_eq!(set.status.code(), Some(0), "{}", render(&set));
    // A --set elsewhere leaves the file's own error said with its line.
    let elsewhere = deploy(&ws, &["validate", "-f", "linear/deployment-placeholder.yml", "--set", "instance_count=2"]);
    refused(&elsewhere, "deployment-placeholder.yml:");
}

#[test]
fn a_deployment_that_is_only_a_container_is_valid_and_said_to_need_azure_ml_here() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    ws.write(
        "linear/container.yml",
        "name: container\nendpoint_name: linear\nenvironment:\n  image: mcr.microsoft.com/azureml/minimal-ubuntu22.04-py311-cpu-inference:latest\n  inference_config:\n    liveness_route: {port: 5001, path: /}\n    readiness_route: {port: 5001, path: /}\n    scoring_route: {port: 5001, path: /score}\ninstance_type: Standard_DS3_v2\ninstance_count: 1\n",
    );
    let checked = deploy(&ws, &["validate", "-f", "linear/container.yml"]);
    assert_eq!(checked.status.code(), Some(0), "{}", render(&checked));
    let created = deploy(&ws, &["apply", "-f", "linear/endpoint.yml"]);
    assert_eq!(created.status.code(), Some(0), "{}", render(&created));
    let applied = deploy(&ws, &["apply", "-f", "linear/container.yml"]);
    refused(&applied, "field `environment`: with no code and no model, the environment is the whole server");
    let deleted = deploy(&ws, &["delete", "linear"]);
    assert_eq!(deleted.status.code(), Some(0), "{}", render(&deleted));
}
