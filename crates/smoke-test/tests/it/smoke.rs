//! `smoke-test` against a real local endpoint (the inference server behind the router).

use std::path::Path;

use aml_client::testing::{TestWorkspace, binary, json, render, repo_root};

struct Endpoint {
    ws: TestWorkspace,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.ws.run(&binary("aml-deploy"), &["delete", "linear"]);
    }
}

fn endpoint() -> Endpoint {
    let ws = TestWorkspace::new();
    ws.copy_dir(&repo_root().join("crates/aml-deploy/tests/fixtures/linear"), "linear");
    for file in ["linear/endpoint.yml", "linear/deployment-blue.yml"] {
        let out = ws.run(&binary("aml-deploy"), &["apply", "-f", file, "-q"]);
        assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    }
    Endpoint { ws }
}

fn smoke(e: &Endpoint, args: &[&str]) -> std::process::Output {
    e.ws.run(&binary("smoke-test"), args)
}

fn xsd_valid(file: &Path) {
    for schema in ["junit.xsd", "junit-windyroad.xsd"] {
        let xsd = repo_root().join("contracts/ci/junit").join(schema);
        let out = std::process::Command::new(aml_client::testing::set_up_program("xmllint"))
            .arg("--noout")
            .arg("--schema")
            .arg(&xsd)
            .arg(file)
            .output()
            .expect("xmllint (cargo xtask test installs libxml2-utils)");
        assert!(
            out.status.success(),
            "{} is not valid against {schema}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn passing_cases_give_exit_0_json_and_valid_junit() {
    let e = endpoint();
    let out = smoke(
        &e,
        &["run", "--endpoint", "linear", "--cases", "linear/cases.jsonl", "--junit", "reports/smoke.xml", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let report = json(&out);
    assert_eq!((report["passed"].as_u64(), report["failed"].as_u64()), (Some(2), Some(0)));
    assert_eq!(report["cases"].as_array().unwrap().len(), 2);
    for key in ["p50", "p95", "p99"] {
        assert!(report["latency_ms"][key].as_f64().unwrap() > 0.0, "{report}");
    }
    assert!(report["requests_per_second"].as_f64().unwrap() > 0.0);
    xsd_valid(&e.ws.path().join("reports/smoke.xml"));
}

#[test]
fn a_wrong_answer_fails_naming_the_case_expected_and_got() {
    let e = endpoint();
    e.ws.write(
        "wrong.jsonl",
        concat!(
            r#"{"name": "right", "request": {"data": [[1, 1]]}, "expect": [3.5]}"#,
            "\n",
            r#"{"name": "wrong", "request": {"data": [[1, 1]]}, "expect": [3.0], "tolerance": {"absolute": 0.1}}"#,
            "\n",
            r#"{"name": "bad shape", "request": {"data": [[1, 1]]}, "shape": {"type": "array", "minItems": 2}}"#,
            "\n",
        ),
    );
    let out = smoke(&e, &["run", "--endpoint", "linear", "--cases", "wrong.jsonl", "--junit", "wrong.xml"]);
    assert_eq!(out.status.code(), Some(1), "{}", render(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "FAIL wrong (line 2, 1 of 1 request): $[0]: expected 3 ± 0.1, got 3.5", "{stdout}");
    assert_eq!(lines[1], "FAIL bad shape (line 3, 1 of 1 request): $: 1 items, fewer than 2", "{stdout}");
    assert!(lines[2].starts_with("ok   right"), "{stdout}");
    let xml = std::fs::read_to_string(e.ws.path().join("wrong.xml")).unwrap();
    assert!(xml.contains("failures=\"2\""), "{xml}");
    xsd_valid(&e.ws.path().join("wrong.xml"));
}

#[test]
fn load_checks_every_answer_and_holds_budgets() {
    let e = endpoint();
    let out = smoke(
        &e,
        &[
            "run",
            "--endpoint",
            "linear",
            "--cases",
            "linear/cases.jsonl",
            "--concurrency",
            "4",
            "--requests",
            "200",
            "--p95",
            "2s",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let report = json(&out);
    assert_eq!(report["requests"], 200);
    assert_eq!(report["concurrency"], 4);
    let per_case: u64 = report["cases"].as_array().unwrap().iter().map(|c| c["requests"].as_u64().unwrap()).sum();
    assert_eq!(per_case, 200);
    assert_eq!(report["budgets"][0]["passed"], true);
    // A budget nobody can meet fails the run, with the budget named.
    let tight = smoke(
        &e,
        &["run", "--endpoint", "linear", "--cases", "linear/cases.jsonl", "--requests", "20", "--p50", "1us"],
    );
    assert!(matches!(tight.status.code(), Some(1) | Some(2)), "{}", render(&tight));
    let tight = smoke(
        &e,
        &["run", "--endpoint", "linear", "--cases", "linear/cases.jsonl", "--requests", "20", "--p50", "0.001ms"],
    );
    assert_eq!(tight.status.code(), Some(1), "{}", render(&tight));
    assert!(String::from_utf8_lossy(&tight.stdout).contains("FAIL latency p50 ≤ 0.00 ms"), "{}", render(&tight));
}

#[test]
fn a_url_with_the_key_from_an_environment_variable() {
    let e = endpoint();
    let location = format!("local:{}", e.ws.workspace().display());
    let access = aml_client::testing::block_on(async {
        let mut ws =
            aml_client::Workspace::open(&location, aml_client::Access::Existing, &aml_client::testing::settings())
                .await?;
        ws.endpoint_access("linear").await
    })
    .unwrap();
    let out =
        e.ws.command(&binary("smoke-test"))
            .env("ENDPOINT_KEY", &access.key)
            .args(["run", "--url", &access.scoring_uri, "--key-env", "ENDPOINT_KEY", "--cases", "linear/cases.jsonl"])
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains(&access.key), "the key was printed");
    let missing = e.ws.run(
        &binary("smoke-test"),
        &["run", "--url", &access.scoring_uri, "--key-env", "NOT_SET_ANYWHERE", "--cases", "linear/cases.jsonl"],
    );
    assert_eq!(missing.status.code(), Some(2), "{}", render(&missing));
}

#[test]
fn profile_finds_the_throughput_within_a_budget() {
    let e = endpoint();
    let out = smoke(
        &e,
        &[
            "profile",
            "--endpoint",
            "linear",
            "--cases",
            "linear/cases.jsonl",
            "--p99",
            "5s",
            "--step",
            "500ms",
            "--max-concurrency",
            "4",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let report = json(&out);
    let concurrency: Vec<u64> =
        report["steps"].as_array().unwrap().iter().map(|s| s["concurrency"].as_u64().unwrap()).collect();
    assert_eq!(concurrency, [1, 2, 4]);
    assert!(report["best"]["requests_per_second"].as_f64().unwrap() > 0.0, "{report}");
    // The deployment serves on this machine: what it used is read at each step.
    assert_eq!(report["deployment"], "blue", "{report}");
    for step in report["steps"].as_array().unwrap() {
        assert!(step["peak_memory_bytes"].as_u64().unwrap() > 10 << 20, "{step}");
        assert!(step["cpu_cores"].as_f64().unwrap() > 0.0, "{step}");
    }
    assert_eq!(report["recommendation"], serde_json::Value::Null, "only asked for with --recommend");
}

/// Malformed cases files are bad input: exit 2, naming the file and line; nothing is sent.
#[test]
fn malformed_cases_name_the_line() {
    let ws = TestWorkspace::new();
    let cases: &[(&str, &str)] = &[
        ("not json", "{\"name\": \"a\", \"request\": {}}\n{\"name\": \"b\", \"request\": {\n"),
        ("unknown field", "{\"name\": \"a\", \"request\": {}, \"expected\": [1]}\n"),
        ("no request", "{\"name\": \"a\", \"status\": 200}\n"),
        ("duplicate name", "{\"name\": \"a\", \"request\": {}}\n{\"name\": \"a\", \"request\": {}}\n"),
        ("bad shape keyword", "{\"name\": \"a\", \"request\": {}, \"shape\": {\"type\": \"array\", \"lenght\": 2}}\n"),
        ("empty", "\n"),
    ];
    let mut transcript = String::new();
    for (what, text) in cases {
        ws.write("cases.jsonl", text);
        // No endpoint exists: the file is rejected before anything is looked up or sent.
        let out =
            ws.run(&binary("smoke-test"), &["run", "--url", "http://127.0.0.1:9/score", "--cases", "cases.jsonl"]);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", render(&out));
        transcript.push_str(&format!("## {what}\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    insta::assert_snapshot!(transcript);
}

#[test]
fn an_endpoint_that_does_not_answer_is_a_service_failure() {
    let ws = TestWorkspace::new();
    ws.write("cases.jsonl", "{\"name\": \"a\", \"request\": {}}\n");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/score");
    let out = ws.run(&binary("smoke-test"), &["run", "--url", &url, "--cases", "cases.jsonl", "--timeout", "2s"]);
    assert_eq!(out.status.code(), Some(3), "{}", render(&out));
    // In CI the annotation says it is the service, not the input, that failed.
    let out = ws
        .command(&binary("smoke-test"))
        .args(["run", "--url", &url, "--cases", "cases.jsonl", "--timeout", "2s"])
        .env("AML_CI", "azure-devops")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "##vso[task.logissue type=error]service or storage failure (exit 3; the input is fine, retrying may help): "
        ),
        "{stderr}"
    );
}

#[test]
fn hostile_flags_are_refused_and_a_url_s_credentials_never_print() {
    let ws = TestWorkspace::new();
    ws.write("cases.jsonl", "{\"name\": \"one\", \"request\": {\"data\": [[1, 2]]}}\n");
    let run = |args: &[&str]| ws.run(&binary("smoke-test"), args);
    // Well-formed, the same flags reach for the (absent) endpoint: exit 3, not 2.
    let baseline = run(&["run", "--url", "http://127.0.0.1:1/score", "--cases", "cases.jsonl"]);
    assert_eq!(baseline.status.code(), Some(3), "{}", render(&baseline));
    for args in [
        &["run", "--url", "http://127.0.0.1:1/score", "--cases", "cases.jsonl", "--concurrency", "0"][..],
        &["run", "--url", "http://127.0.0.1:1/score", "--cases", "cases.jsonl", "--concurrency", "100000"],
        &["run", "--url", "http://127.0.0.1:1/score", "--cases", "cases.jsonl", "--deployment", "../.."],
        &["run", "--endpoint", "../../victim", "--cases", "cases.jsonl"],
        &["run", "--endpoint", "", "--cases", "cases.jsonl"],
        &["run", "--url", "http://127.0.0.1:1/score", "--cases", "cases.jsonl", "--duration", "99999999999999999999s"],
        &["profile", "--url", "http://127.0.0.1:1/score", "--cases", "cases.jsonl", "--max-concurrency", "0"],
        &["profile", "--url", "http://127.0.0.1:1/score", "--cases", "cases.jsonl", "--p99", "1s", "--recommend"],
        &["profile", "--url", "http://127.0.0.1:1/score", "--cases", "cases.jsonl", "--p99", "1s", "--target-rps", "5"],
        &[
            "profile",
            "--url",
            "http://127.0.0.1:1/score",
            "--cases",
            "cases.jsonl",
            "--p99",
            "1s",
            "--recommend",
            "--target-rps",
            "-3",
        ],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", render(&out));
    }
    let out = run(&["run", "--url", "http://operator:s3cr3t-pw@127.0.0.1:1/score?sig=t0ken", "--cases", "cases.jsonl"]);
    assert_eq!(out.status.code(), Some(3), "{}", render(&out));
    let shown = render(&out);
    assert!(!shown.contains("s3cr3t-pw") && !shown.contains("t0ken"), "a credential was printed: {shown}");
    assert!(shown.contains("127.0.0.1:1"), "the target is still named: {shown}");
}

mod properties {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any cases file loads, or is refused naming its line: never a panic.
        #[test]
        fn any_cases_line_loads_or_is_refused_with_its_line(line in prop_oneof![
            r#"\{"name": "[a-z]{0,5}", "request": \{"data": \[\[[0-9, ]{0,6}\]\]\}(, "status": [0-9]{1,4})?(, "expect": [0-9\[\], .]{0,8})?\}"#,
            r#"\{("[a-z_]{1,8}": [0-9"a-z\{\}\[\], ]{0,12}){0,3}\}"#,
            any::<String>(),
        ]) {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("cases.jsonl");
            std::fs::write(&file, format!("{line}\n")).unwrap();
            if let Err(error) = smoke_test::cases::load(&file) {
                let said = error.to_string();
                prop_assert!(said.contains("cases.jsonl"), "{said}");
            }
        }
    }
}
