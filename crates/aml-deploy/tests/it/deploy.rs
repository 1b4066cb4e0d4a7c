//! Local endpoints for real: the Azure ML inference server behind our router, through the
//! real binaries. A guard deletes each test's endpoint, so no server outlives its test.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use aml_client::online::EndpointAccess;
use aml_client::scoring::{Bytes, ScoringClient};
use aml_client::testing::{TestWorkspace, binary, block_on, json, render, settings};
use aml_client::{Access, Workspace};

pub(crate) struct Endpoint {
    pub(crate) ws: TestWorkspace,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.ws.run(&binary("aml-deploy"), &["delete", "linear"]);
    }
}

impl Endpoint {
    /// A workspace with the `linear` endpoint and its `blue` deployment serving 100%.
    pub(crate) fn with_blue() -> Endpoint {
        let endpoint = Endpoint::empty();
        let created = endpoint.deploy(&["apply", "-f", "linear/endpoint.yml"]);
        assert_eq!(created.status.code(), Some(0), "{}", render(&created));
        let blue = endpoint.deploy(&["apply", "-f", "linear/deployment-blue.yml", "-q"]);
        assert_eq!(blue.status.code(), Some(0), "{}", render(&blue));
        endpoint
    }

    pub(crate) fn empty() -> Endpoint {
        let ws = TestWorkspace::new();
        ws.copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/linear"), "linear");
        Endpoint { ws }
    }

    pub(crate) fn deploy(&self, args: &[&str]) -> Output {
        self.ws.run(&binary("aml-deploy"), args)
    }

    pub(crate) fn smoke(&self, args: &[&str]) -> Output {
        self.ws.run(&binary("smoke-test"), args)
    }

    pub(crate) fn show(&self) -> serde_json::Value {
        json(&self.deploy(&["show", "linear", "-o", "json"]))
    }

    pub(crate) fn record(&self, deployment: &str) -> serde_json::Value {
        let show = self.show();
        show["deployments"].as_array().unwrap().iter().find(|d| d["name"] == deployment).cloned().unwrap_or_default()
    }

    /// The endpoint's scoring URI and key, as a client looks them up.
    pub(crate) fn access(&self) -> EndpointAccess {
        let location = format!("local:{}", self.ws.workspace().display());
        block_on(async {
            let mut ws = Workspace::open(&location, Access::Existing, &settings()).await?;
            ws.endpoint_access("linear").await
        })
        .unwrap()
    }

    /// Send `n` requests through the router (pinned to `deployment` if given); count the
    /// answers by what they are.
    pub(crate) fn answers(&self, n: usize, deployment: Option<&str>) -> BTreeMap<String, usize> {
        let access = self.access();
        let client = ScoringClient::new(&access, deployment.map(str::to_owned), Duration::from_secs(10)).unwrap();
        let mut counts = BTreeMap::new();
        for _ in 0..n {
            let answer = block_on(client.score(Bytes::from_static(br#"{"data": [[1, 1]]}"#)));
            let key = format!("{} {}", answer.status, String::from_utf8_lossy(&answer.body));
            *counts.entry(key).or_default() += 1;
        }
        counts
    }
}

pub(crate) const BLUE: &str = "200 [3.5]";
pub(crate) const GREEN: &str = "200 [4.5]";

fn pid_alive(pid: u64) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z")
}

pub(crate) fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < Duration::from_secs(90), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_deployment_serves_with_key_auth_and_apply_is_idempotent() {
    let endpoint = Endpoint::with_blue();
    let show = endpoint.show();
    let mut redacted = show.clone();
    for field in ["scoring_uri", "created_at", "updated_at"] {
        redacted[field] = "[redacted]".into();
    }
    for d in redacted["deployments"].as_array_mut().unwrap() {
        for field in ["created_at", "updated_at", "model_digest"] {
            d[field] = "[redacted]".into();
        }
    }
    insta::assert_json_snapshot!(redacted, @r#"
    {
      "auth_mode": "key",
      "created_at": "[redacted]",
      "deployments": [
        {
          "created_at": "[redacted]",
          "endpoint": "linear",
          "error": null,
          "model": "linear-blue:1",
          "model_digest": "[redacted]",
          "name": "blue",
          "state": "Succeeded",
          "updated_at": "[redacted]"
        }
      ],
      "description": null,
      "kind": "managed",
      "mirror_traffic": {},
      "name": "linear",
      "provisioning_state": "Succeeded",
      "scoring_uri": "[redacted]",
      "tags": {},
      "traffic": {
        "blue": 100
      },
      "updated_at": "[redacted]"
    }
    "#);
    let uri = show["scoring_uri"].as_str().unwrap();
    assert!(uri.starts_with("http://127.0.0.1:") && uri.ends_with("/score"), "{uri}");
    assert!(!serde_json::to_string(&show).unwrap().contains("key\":\""), "the key must not be shown");

    let smoke = endpoint.smoke(&["run", "--endpoint", "linear", "--cases", "linear/cases.jsonl"]);
    assert_eq!(smoke.status.code(), Some(0), "{}", render(&smoke));

    // Wrong and missing keys are refused by the router.
    let wrong = endpoint
        .ws
        .command(&binary("smoke-test"))
        .env("WRONG_KEY", "not-the-key")
        .args(["run", "--url", uri, "--key-env", "WRONG_KEY", "--cases", "linear/cases.jsonl"])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stdout).contains("expected status 200, got 401"), "{}", render(&wrong));
    let none = endpoint.smoke(&["run", "--url", uri, "--cases", "linear/cases.jsonl", "-o", "json"]);
    assert_eq!(json(&none)["failed"], 2);

    // The same spec again restarts nothing.
    let pid_before = deployment_pid(&endpoint.ws.workspace(), "blue");
    let again = endpoint.deploy(&["apply", "-f", "linear/deployment-blue.yml", "-q", "-o", "json"]);
    assert_eq!(json(&again)["outcome"], "unchanged", "{}", render(&again));
    assert_eq!(deployment_pid(&endpoint.ws.workspace(), "blue"), pid_before, "an unchanged apply restarted the server");
    // A changed spec is a new revision, switched to once ready.
    let changed = endpoint.deploy(&[
        "apply",
        "-f",
        "linear/deployment-blue.yml",
        "-q",
        "--set",
        "environment_variables.NOTE=v2",
        "-o",
        "json",
    ]);
    assert_eq!(json(&changed)["outcome"], "updated", "{}", render(&changed));
    assert_eq!(endpoint.answers(5, None), BTreeMap::from([(BLUE.to_string(), 5)]));
}

#[test]
fn traffic_splits_by_weight_pins_by_header_and_mirrors() {
    let endpoint = Endpoint::with_blue();
    let green = endpoint.deploy(&["apply", "-f", "linear/deployment-green.yml", "-q"]);
    assert_eq!(green.status.code(), Some(0), "{}", render(&green));
    // A second deployment gets no traffic until asked.
    assert_eq!(endpoint.show()["traffic"], serde_json::json!({"blue": 100}));
    assert_eq!(endpoint.answers(20, None), BTreeMap::from([(BLUE.to_string(), 20)]));
    assert_eq!(endpoint.answers(5, Some("green")), BTreeMap::from([(GREEN.to_string(), 5)]));

    let split = endpoint.deploy(&["traffic", "linear", "blue=50", "green=50"]);
    assert_eq!(split.status.code(), Some(0), "{}", render(&split));
    let counts = endpoint.answers(200, None);
    let (blue, green) = (counts.get(BLUE).copied().unwrap_or(0), counts.get(GREEN).copied().unwrap_or(0));
    assert_eq!(blue + green, 200, "{counts:?}");
    assert!((60..=140).contains(&blue), "a 50/50 split gave {counts:?}");
    // Uneven splits, both ways: 400 requests at 90/10 put 40 on the 10% side, give or take
    // 6 (one standard deviation); a bound of 5 deviations fails on swapped weights (360)
    // with no false alarm in millions of runs.
    for (blue_weight, green_weight) in [(90, 10), (10, 90)] {
        let set =
            endpoint.deploy(&["traffic", "linear", &format!("blue={blue_weight}"), &format!("green={green_weight}")]);
        assert_eq!(set.status.code(), Some(0), "{}", render(&set));
        let counts = endpoint.answers(400, None);
        let green = counts.get(GREEN).copied().unwrap_or(0);
        assert_eq!(counts.values().sum::<usize>(), 400, "{counts:?}");
        let expected = 400.0 * f64::from(green_weight) / 100.0;
        let deviation = (400.0 * 0.1 * 0.9_f64).sqrt();
        assert!(
            (green as f64 - expected).abs() <= 5.0 * deviation,
            "blue={blue_weight} green={green_weight} gave {counts:?}"
        );
    }

    // Mirror half of blue's requests to green: green answers them, the client never sees it.
    let mirrored = endpoint.deploy(&["traffic", "linear", "blue=100", "green=0", "--mirror", "green=50"]);
    assert_eq!(mirrored.status.code(), Some(0), "{}", render(&mirrored));
    let log = endpoint.ws.workspace().join("endpoints/linear/green/server.log");
    let scored = || std::fs::read_to_string(&log).unwrap_or_default().matches("POST /score 200").count();
    let before = scored();
    assert_eq!(endpoint.answers(100, None), BTreeMap::from([(BLUE.to_string(), 100)]));
    wait_until("mirrored requests to reach green", || scored() - before >= 20);
    let mirrored_count = scored() - before;
    assert!((20..=80).contains(&mirrored_count), "green saw {mirrored_count} of 100 mirrored at 50%");

    // Bad splits are refused and change nothing.
    for args in [
        &["traffic", "linear", "blue=60", "green=60"][..],
        &["traffic", "linear", "purple=100"],
        &["traffic", "linear", "blue=100", "--mirror", "green=80"],
    ] {
        let refused = endpoint.deploy(args);
        assert_eq!(refused.status.code(), Some(2), "{}", render(&refused));
    }
    assert_eq!(endpoint.show()["traffic"], serde_json::json!({"blue": 100, "green": 0}));
}

#[test]
fn a_rollout_moves_traffic_in_checked_steps() {
    let endpoint = Endpoint::with_blue();
    // What a rollout killed mid-check left behind (no process has this pid) goes with the next.
    let stale = std::env::temp_dir().join("aml-rollout-check-4194305.log");
    std::fs::write(&stale, "a killed rollout's check").unwrap();
    let check = "smoke-test run --endpoint linear --deployment green --cases linear/cases-green.jsonl";
    let bin = binary("aml-deploy").parent().unwrap().display().to_string();
    let output = endpoint
        .ws
        .command(&binary("aml-deploy"))
        .env("PATH", format!("{bin}:{}", std::env::var("PATH").unwrap_or_default()))
        .args([
            "rollout",
            "--endpoint",
            "linear",
            "-f",
            "linear/deployment-green.yml",
            "--steps",
            "10,50,100",
            "--interval",
            "200ms",
            "--check",
            check,
            "-q",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    let rollout = json(&output);
    assert_eq!(rollout["status"], "completed");
    assert_eq!(rollout["traffic"], serde_json::json!({"blue": 0, "green": 100}));
    assert!(!stale.exists(), "the stale check log was left");
    let steps: Vec<(u64, bool)> = rollout["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["weight"].as_u64().unwrap(), s["check"]["passed"].as_bool().unwrap()))
        .collect();
    assert_eq!(steps, [(10, true), (50, true), (100, true)]);
    assert_eq!(endpoint.answers(10, None), BTreeMap::from([(GREEN.to_string(), 10)]));
}

#[test]
fn a_failing_check_rolls_back_and_shows_the_log() {
    let endpoint = Endpoint::with_blue();
    let output = endpoint.deploy(&[
        "rollout",
        "--endpoint",
        "linear",
        "-f",
        "linear/deployment-green.yml",
        "--steps",
        "25,100",
        "--interval",
        "100ms",
        "--check",
        "exit 7",
        "-q",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", render(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("ROLLED BACK: the check failed with green at 25%"), "{stdout}");
    assert!(stdout.contains("traffic restored: blue=100%"), "{stdout}");
    assert!(stdout.contains("last lines of green's log"), "{stdout}");
    assert_eq!(endpoint.show()["traffic"], serde_json::json!({"blue": 100}));
    // A tolerated failure is retried.
    let flaky = endpoint.ws.path().join("flaky");
    let check = format!("test -e {0} || {{ touch {0}; exit 1; }}", flaky.display());
    let output = endpoint.deploy(&[
        "rollout",
        "--endpoint",
        "linear",
        "-f",
        "linear/deployment-green.yml",
        "--set",
        "name=teal",
        "--steps",
        "100",
        "--interval",
        "100ms",
        "--check",
        &check,
        "--max-failures",
        "1",
        "-q",
        "-o",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    assert_eq!(json(&output)["steps"][0]["check"]["attempts"], 2);
}

#[test]
fn a_deployment_that_never_becomes_ready_gets_no_traffic() {
    let endpoint = Endpoint::with_blue();
    let output = endpoint.deploy(&[
        "rollout",
        "--endpoint",
        "linear",
        "-f",
        "linear/deployment-broken.yml",
        "--steps",
        "10,100",
        "--interval",
        "100ms",
        "-q",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", render(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("deployment `broken` never became ready: the server exited before it was ready"),
        "{stdout}"
    );
    assert!(
        stdout.contains("init failed on purpose (FAIL_INIT is set)"),
        "the failing deployment's log is shown: {stdout}"
    );
    assert_eq!(endpoint.show()["traffic"], serde_json::json!({"blue": 100}));
    assert_eq!(endpoint.record("broken")["state"], "Failed");
    assert_eq!(endpoint.answers(10, None), BTreeMap::from([(BLUE.to_string(), 10)]));
    // Applied directly, the same deployment fails the same way, with exit code 1.
    let apply = endpoint.deploy(&["apply", "-f", "linear/deployment-broken.yml", "-q"]);
    assert_eq!(apply.status.code(), Some(1), "{}", render(&apply));
}

#[test]
fn the_endpoint_comes_back_after_crashes_and_a_taken_port() {
    let endpoint = Endpoint::with_blue();
    let registry = |field: &str| -> u64 { endpoint_field(&endpoint.ws.workspace(), field) };
    // The deployment's server dies: the router starts it again.
    let blue_pid = deployment_pid(&endpoint.ws.workspace(), "blue");
    kill(blue_pid);
    wait_until("blue to be restarted", || {
        deployment_pid(&endpoint.ws.workspace(), "blue") != blue_pid
            && pid_alive(deployment_pid(&endpoint.ws.workspace(), "blue"))
    });
    wait_until("blue to answer again", || endpoint.answers(1, None).contains_key(BLUE));
    assert_eq!(endpoint.record("blue")["restarts"], 1, "{}", endpoint.show());

    // The router dies and its port is taken meanwhile: the next command brings the endpoint
    // back on a new port, with its traffic split.
    let router_pid = registry("router_pid");
    let old_port = registry("port") as u16;
    kill(router_pid);
    wait_until("the router to exit", || !pid_alive(router_pid));
    // Take the port. Right after the kill the kernel may refuse for a moment (the dead
    // router's connections are still closing), so try for a few seconds.
    let start = Instant::now();
    let squatter = loop {
        match std::net::TcpListener::bind(("127.0.0.1", old_port)) {
            Ok(listener) => break listener,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && start.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("cannot take port {old_port}: {e}"),
        }
    };
    let show = endpoint.show();
    let new_uri = show["scoring_uri"].as_str().unwrap().to_string();
    assert!(!new_uri.contains(&format!(":{old_port}/")), "{new_uri} still uses the taken port {old_port}");
    assert_eq!(show["traffic"], serde_json::json!({"blue": 100}));
    assert_eq!(endpoint.answers(5, None), BTreeMap::from([(BLUE.to_string(), 5)]));
    drop(squatter);
}

#[test]
fn delete_stops_everything() {
    let endpoint = Endpoint::with_blue();
    let blue = deployment_pid(&endpoint.ws.workspace(), "blue");
    let router = endpoint_field(&endpoint.ws.workspace(), "router_pid");
    let refused = endpoint.deploy(&["delete", "linear", "--deployment", "blue"]);
    assert_eq!(refused.status.code(), Some(2), "a deployment with traffic cannot be deleted: {}", render(&refused));
    let deleted = endpoint.deploy(&["delete", "linear"]);
    assert_eq!(deleted.status.code(), Some(0), "{}", render(&deleted));
    wait_until("the processes to exit", || !pid_alive(blue) && !pid_alive(router));
    assert!(!endpoint.ws.workspace().join("endpoints/linear").exists());
    let gone = endpoint.deploy(&["show", "linear"]);
    assert_eq!(gone.status.code(), Some(2));
}

#[test]
fn bad_input_changes_nothing() {
    let endpoint = Endpoint::empty();
    let orphan = endpoint.deploy(&["apply", "-f", "linear/deployment-blue.yml"]);
    insta::assert_snapshot!(render(&orphan).replace(endpoint.ws.path().to_str().unwrap(), "[TMP]"), @r"
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: linear/deployment-blue.yml: field `endpoint_name`: endpoint `linear` does not exist: there is no workspace here yet
    hint: apply the endpoint file first (`aml-deploy apply -f endpoint.yml`)
    ");
    assert!(!endpoint.ws.workspace().exists());
    endpoint.ws.write("linear/typo.yml", "name: linear\nauth_mod: key\n");
    let typo = endpoint.deploy(&["apply", "-f", "linear/typo.yml"]);
    assert_eq!(typo.status.code(), Some(2), "{}", render(&typo));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("did you mean `auth_mode`?"), "{}", render(&typo));
    let missing = endpoint.deploy(&["show", "linear"]);
    assert_eq!(missing.status.code(), Some(2));
}

fn kill(pid: u64) {
    assert!(std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success());
}

/// Read a field of the stored endpoint record straight from SQLite, as an operator would.
fn endpoint_field(workspace: &Path, field: &str) -> u64 {
    let out = std::process::Command::new("python3")
        .args(["-c", &format!("import sqlite3,json; r=sqlite3.connect('{}').execute(\"select record from endpoints where name='linear'\").fetchone()[0]; print(json.loads(r)['{field}'])", workspace.join("registry.db").display())])
        .output()
        .unwrap();
    // Unreadable is a failure, never a 0 a comparison could pass with.
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no `{field}` read: {}", render(&out)))
}

/// The recorded pid of a deployment's server, 0 when none is recorded; unreadable is a failure.
fn deployment_pid(workspace: &Path, deployment: &str) -> u64 {
    let out = std::process::Command::new("python3")
        .args(["-c", &format!("import sqlite3,json; r=sqlite3.connect('{}').execute(\"select record from deployments where name='{deployment}'\").fetchone()[0]; print(json.loads(r)['pid'])", workspace.join("registry.db").display())])
        .output()
        .unwrap();
    match String::from_utf8_lossy(&out.stdout).trim() {
        "None" if out.status.success() => 0,
        text => text.parse().unwrap_or_else(|_| panic!("no pid read for `{deployment}`: {}", render(&out))),
    }
}

/// The sessions (process groups we started) of every live process marked as serving the
/// endpoint `linear` of this workspace, read from /proc as an operator would with `ps`.
fn serving_sessions(ws: &TestWorkspace) -> std::collections::BTreeSet<u64> {
    let folder = ws.workspace().join("endpoints").join("linear");
    let marks = [folder.clone(), folder.canonicalize().unwrap_or(folder)]
        .map(|f| format!("AML_SERVES={}", f.display()).into_bytes());
    let mut sessions = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        if !environ.split(|b| *b == 0).any(|var| marks.iter().any(|m| var == m.as_slice())) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        if fields.first().is_some_and(|state| *state != "Z") {
            sessions.insert(fields[3].parse().unwrap());
        }
    }
    sessions
}

#[test]
fn an_apply_killed_while_its_server_starts_leaves_nothing_running_after_the_next_command() {
    let endpoint = Endpoint::empty();
    let created = endpoint.deploy(&["apply", "-f", "linear/endpoint.yml"]);
    assert_eq!(created.status.code(), Some(0), "{}", render(&created));
    let router = endpoint_field(&endpoint.ws.workspace(), "router_pid");
    let mut apply = endpoint
        .ws
        .command(&binary("aml-deploy"))
        .args(["apply", "-f", "linear/deployment-blue.yml", "-q"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once its server runs, before the server is ready and recorded.
    wait_until("the inference server to start", || serving_sessions(&endpoint.ws).len() > 1);
    apply.kill().unwrap();
    apply.wait().unwrap();
    let orphans: Vec<u64> = serving_sessions(&endpoint.ws).into_iter().filter(|s| *s != router).collect();
    assert_eq!(orphans.len(), 1, "the killed apply's server should be running unrecorded: {orphans:?}");
    assert_eq!(deployment_pid(&endpoint.ws.workspace(), "blue"), 0, "the server was recorded");

    // The next command that changes the endpoint stops it, and starts one server of its own.
    let again = endpoint.deploy(&["apply", "-f", "linear/deployment-blue.yml", "-q"]);
    assert_eq!(again.status.code(), Some(0), "{}", render(&again));
    assert!(!pid_alive(orphans[0]), "the orphan from the killed apply still runs");
    let blue = deployment_pid(&endpoint.ws.workspace(), "blue");
    let router = endpoint_field(&endpoint.ws.workspace(), "router_pid");
    assert_eq!(serving_sessions(&endpoint.ws), [blue, router].into_iter().collect());

    let deleted = endpoint.deploy(&["delete", "linear"]);
    assert_eq!(deleted.status.code(), Some(0), "{}", render(&deleted));
    assert!(serving_sessions(&endpoint.ws).is_empty(), "delete left processes running");
}

#[test]
fn two_applies_of_one_deployment_at_once_start_one_server_and_delete_stops_all() {
    let endpoint = Endpoint::empty();
    let created = endpoint.deploy(&["apply", "-f", "linear/endpoint.yml"]);
    assert_eq!(created.status.code(), Some(0), "{}", render(&created));
    let racers: Vec<_> = (0..2)
        .map(|_| {
            endpoint
                .ws
                .command(&binary("aml-deploy"))
                .args(["apply", "-f", "linear/deployment-blue.yml", "-q"])
                .spawn()
                .unwrap()
        })
        .collect();
    for racer in racers {
        let out = racer.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    }
    let blue = deployment_pid(&endpoint.ws.workspace(), "blue");
    let router = endpoint_field(&endpoint.ws.workspace(), "router_pid");
    assert_eq!(serving_sessions(&endpoint.ws), [blue, router].into_iter().collect(), "one server, one router");
    let deleted = endpoint.deploy(&["delete", "linear"]);
    assert_eq!(deleted.status.code(), Some(0), "{}", render(&deleted));
    assert!(serving_sessions(&endpoint.ws).is_empty(), "delete left processes running");
}

#[test]
fn an_operator_s_traffic_change_during_a_rollout_stands_and_the_rollout_stops() {
    let endpoint = Endpoint::with_blue();
    let bin = binary("aml-deploy").parent().unwrap().display().to_string();
    // The check at the first step is the operator: an emergency rollback to blue.
    let operator = "aml-deploy traffic linear blue=100 green=0";
    let output = endpoint
        .ws
        .command(&binary("aml-deploy"))
        .env("PATH", format!("{bin}:{}", std::env::var("PATH").unwrap_or_default()))
        .env("USER", "operator-on-call")
        .args(["rollout", "-f", "linear/deployment-green.yml", "--steps", "10,50,100", "--interval", "100ms"])
        .args(["--check", operator, "-q", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", render(&output));
    let rollout = json(&output);
    assert_eq!(rollout["status"], "overridden", "{rollout}");
    let reason = rollout["reason"].as_str().unwrap();
    assert!(reason.contains("blue=100%") && reason.contains("green=10%"), "{reason}");
    assert!(reason.contains("operator-on-call"), "who changed it is not said: {reason}");
    let steps: Vec<u64> = rollout["steps"].as_array().unwrap().iter().map(|s| s["weight"].as_u64().unwrap()).collect();
    assert_eq!(steps, [10], "the rollout went on after the operator's change");
    assert_eq!(endpoint.show()["traffic"], serde_json::json!({"blue": 100, "green": 0}));
    assert_eq!(endpoint.answers(10, None), BTreeMap::from([(BLUE.to_string(), 10)]));
}

/// A rollout of green killed (`kill -9`, by its own check) right after its first step.
fn rollout_killed_at_10(endpoint: &Endpoint) {
    let output = endpoint.deploy(&[
        "rollout",
        "-f",
        "linear/deployment-green.yml",
        "--steps",
        "10,50,100",
        "--interval",
        "100ms",
        "--check",
        "kill -9 $PPID; sleep 2",
        "-q",
    ]);
    assert_eq!(output.status.code(), None, "the rollout was not killed: {}", render(&output));
    assert_eq!(endpoint.show()["traffic"], serde_json::json!({"blue": 90, "green": 10}));
}

#[test]
fn a_killed_rollout_is_resumed_from_the_step_it_reached() {
    let endpoint = Endpoint::with_blue();
    let nothing = endpoint.deploy(&["rollout", "-f", "linear/deployment-green.yml", "--resume", "-q"]);
    assert_eq!(nothing.status.code(), Some(2), "{}", render(&nothing));
    rollout_killed_at_10(&endpoint);
    let resumed = endpoint.deploy(&[
        "rollout",
        "-f",
        "linear/deployment-green.yml",
        "--resume",
        "--interval",
        "100ms",
        "--check",
        "true",
        "-q",
        "-o",
        "json",
    ]);
    assert_eq!(resumed.status.code(), Some(0), "{}", render(&resumed));
    let rollout = json(&resumed);
    let steps: Vec<u64> = rollout["steps"].as_array().unwrap().iter().map(|s| s["weight"].as_u64().unwrap()).collect();
    assert_eq!(steps, [50, 100], "{rollout}");
    assert_eq!(rollout["previous_traffic"], serde_json::json!({"blue": 100}), "{rollout}");
    assert_eq!(endpoint.show()["traffic"], serde_json::json!({"blue": 0, "green": 100}));
    let again = endpoint.deploy(&["rollout", "-f", "linear/deployment-green.yml", "--resume", "-q"]);
    assert_eq!(again.status.code(), Some(2), "a finished rollout left its journal: {}", render(&again));
}

#[test]
fn after_a_killed_rollout_a_new_one_puts_its_traffic_back_first() {
    let endpoint = Endpoint::with_blue();
    rollout_killed_at_10(&endpoint);
    let fresh = endpoint.deploy(&[
        "rollout",
        "-f",
        "linear/deployment-green.yml",
        "--steps",
        "100",
        "--interval",
        "100ms",
        "--check",
        "true",
        "-q",
        "-o",
        "json",
    ]);
    assert_eq!(fresh.status.code(), Some(0), "{}", render(&fresh));
    let said = String::from_utf8_lossy(&fresh.stderr);
    assert!(said.contains("was interrupted at 10%: putting back blue=100% first"), "{said}");
    assert_eq!(json(&fresh)["previous_traffic"], serde_json::json!({"blue": 100}));
    assert_eq!(endpoint.show()["traffic"], serde_json::json!({"blue": 0, "green": 100}));
}

/// The endpoint's port and key, as a client gets them.
pub(crate) fn port_and_key(endpoint: &Endpoint) -> (u16, String) {
    let access = endpoint.access();
    let port = access.scoring_uri.rsplit_once(':').unwrap().1.trim_end_matches("/score").parse().unwrap();
    (port, access.key)
}

/// Write `request` on a new connection and read what comes back until the server closes it
/// or five seconds pass.
pub(crate) fn raw_exchange(port: u16, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn status_of(answer: &str) -> &str {
    answer.split_whitespace().nth(1).unwrap_or("(no answer)")
}

#[test]
fn an_abused_endpoint_answers_413_400_and_closes_slow_connections() {
    let endpoint = Endpoint::with_blue();
    let (port, key) = port_and_key(&endpoint);
    let head = |extra: &str| {
        format!(
            "POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nConnection: close\r\n{extra}\r\n"
        )
    };

    // Over the body limit (1.5 MiB): refused on its stated length, and when sent chunked.
    let stated = raw_exchange(port, head("Content-Length: 2000000\r\n").as_bytes());
    assert_eq!(status_of(&stated), "413", "{stated}");
    let mut chunked = head("Transfer-Encoding: chunked\r\n").into_bytes();
    for _ in 0..3 {
        chunked.extend(format!("{:x}\r\n", 1 << 20).as_bytes());
        chunked.extend(std::iter::repeat_n(b' ', 1 << 20));
        chunked.extend(b"\r\n");
    }
    chunked.extend(b"0\r\n\r\n");
    let streamed = raw_exchange(port, &chunked);
    assert_eq!(status_of(&streamed), "413", "{streamed}");

    // Framed two ways, read as chunked (Transfer-Encoding wins), a body that is no chunk;
    // or aimed at a proxy: 400, not 500.
    let body = r#"{"data": [[1, 1]]}"#;
    let both = raw_exchange(
        port,
        format!("{}{body}", head(&format!("Content-Length: {}\r\nTransfer-Encoding: chunked\r\n", body.len())))
            .as_bytes(),
    );
    assert_eq!(status_of(&both), "400", "{both}");
    let absolute = format!(
        "POST http://evil.example/score HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let proxied = raw_exchange(port, absolute.as_bytes());
    assert_eq!(status_of(&proxied), "400", "{proxied}");

    // A client that never finishes its header is cut off, not held forever.
    use std::io::{Read, Write};
    let mut slow = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.write_all(b"POST /score HTTP/1.1\r\nHost: x\r\n").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let closed = slow.read_to_end(&mut rest);
    assert!(closed.is_ok() && started.elapsed() < Duration::from_secs(30), "the slow connection was held: {closed:?}");

    // And the endpoint still serves.
    assert_eq!(endpoint.answers(3, None), BTreeMap::from([(BLUE.to_string(), 3)]));
}

#[test]
fn request_settings_give_408_past_the_timeout_and_429_past_the_concurrency() {
    let endpoint = Endpoint::with_blue();
    let blue = std::fs::read_to_string(endpoint.ws.path().join("linear/deployment-blue.yml")).unwrap();
    let limited = blue.replace("name: blue", "name: limited")
        + "request_settings:\n  request_timeout_ms: 2000\n  max_concurrent_requests_per_instance: 1\n";
    endpoint.ws.write("linear/deployment-limited.yml", &limited);
    let applied = endpoint.deploy(&["apply", "-f", "linear/deployment-limited.yml", "-q"]);
    assert_eq!(applied.status.code(), Some(0), "{}", render(&applied));
    let (port, key) = port_and_key(&endpoint);
    let ask = move |sleep: f64| {
        let body = format!(r#"{{"data": [[1, 1]], "sleep": {sleep}}}"#);
        let request = format!(
            "POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nazureml-model-deployment: limited\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        raw_exchange(port, request.as_bytes())
    };
    // Twice max_concurrent_requests_per_instance × instance_count in flight; the next is 429.
    let in_flight: Vec<_> = (0..3)
        .map(|i| {
            let ask = ask.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100 * i));
                status_of(&ask(0.6)).to_string()
            })
        })
        .collect();
    let mut statuses: Vec<String> = in_flight.into_iter().map(|t| t.join().unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses, ["200", "200", "429"]);
    let late = ask(3.0);
    assert_eq!(status_of(&late), "408", "{late}");
}

#[test]
fn a_dead_server_means_503_with_retry_after_and_show_says_so_until_it_is_back() {
    let endpoint = Endpoint::with_blue();
    let (port, key) = port_and_key(&endpoint);
    let blue = deployment_pid(&endpoint.ws.workspace(), "blue");
    // The whole group: the server and its workers.
    assert!(std::process::Command::new("kill").args(["-9", "--", &format!("-{blue}")]).status().unwrap().success());
    wait_until("the server to exit", || !pid_alive(blue));
    let body = r#"{"data": [[1, 1]]}"#;
    let request = format!(
        "POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = raw_exchange(port, request.as_bytes());
    let restarted = deployment_pid(&endpoint.ws.workspace(), "blue") != blue;
    if !restarted {
        assert_eq!(status_of(&answer), "503", "{answer}");
        assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
    }
    wait_until("blue to answer again", || endpoint.answers(1, None).contains_key(BLUE));
    // The new server listens on the old port, so it may answer a moment before the router
    // has recorded its pid; `show` must catch up, not keep calling it dead.
    wait_until("show to call blue healthy again", || endpoint.record("blue")["error"].is_null());
    assert_eq!(endpoint.record("blue")["state"], "Succeeded");
}

#[test]
fn an_mlflow_model_without_a_scoring_script_is_served_as_azure_ml_serves_it() {
    let endpoint = Endpoint::empty();
    endpoint.ws.copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mlflow"), "mlflow");
    let checked = endpoint.deploy(&["validate", "-f", "mlflow/deployment.yml"]);
    assert_eq!(checked.status.code(), Some(0), "{}", render(&checked));
    assert!(render(&checked).contains("no `code_configuration`"), "{}", render(&checked));
    let created = endpoint.deploy(&["apply", "-f", "linear/endpoint.yml"]);
    assert_eq!(created.status.code(), Some(0), "{}", render(&created));

    // A model that is not an MLflow model cannot be served without a scoring script: said
    // before anything is registered or started.
    let refused = endpoint.deploy(&["apply", "-f", "mlflow/deployment-not-mlflow.yml", "-q"]);
    assert_eq!(refused.status.code(), Some(2), "{}", render(&refused));
    assert!(
        render(&refused).contains("field `model.path`: `./not-mlflow` is not an MLflow model"),
        "{}",
        render(&refused)
    );
    assert!(endpoint.record("weights").is_null(), "a refused deployment was recorded");

    // No code and no environment: the model's requirements.txt and the inference server.
    let applied = endpoint.deploy(&["apply", "-f", "mlflow/deployment.yml", "-q"]);
    assert_eq!(applied.status.code(), Some(0), "{}", render(&applied));
    assert_eq!(endpoint.record("doubler")["state"], "Succeeded");
    let smoke = endpoint.smoke(&["run", "--endpoint", "linear", "--cases", "mlflow/cases.jsonl"]);
    assert_eq!(smoke.status.code(), Some(0), "{}", render(&smoke));
    // Applying it again changes nothing.
    let again = endpoint.deploy(&["apply", "-f", "mlflow/deployment.yml", "-q", "-o", "json"]);
    assert_eq!(again.status.code(), Some(0), "{}", render(&again));
    assert!(render(&again).contains("unchanged"), "{}", render(&again));
}
