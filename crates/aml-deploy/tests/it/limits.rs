//! A `type: kubernetes` deployment served locally runs under its `resources.limits`, as the
//! cluster would run it: over its memory limit the kernel kills it and the deployment is
//! reported `OOMKilled`; its CPU limit caps how fast it answers.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aml_client::scoring::{Bytes, ScoringClient};
use aml_client::testing::{block_on, render, settings};
use aml_client::{Access, Workspace};

use crate::deploy::{BLUE, Endpoint, GREEN};

/// The `linear` endpoint on a Kubernetes compute, with its `blue` deployment (1 CPU, 1Gi).
fn kubernetes_endpoint() -> Endpoint {
    let endpoint = Endpoint::empty();
    let created = endpoint.deploy(&["apply", "-f", "linear/endpoint-kubernetes.yml", "-q"]);
    assert_eq!(created.status.code(), Some(0), "{}", render(&created));
    let blue = endpoint.deploy(&["apply", "-f", "linear/deployment-kubernetes.yml", "-q"]);
    assert_eq!(blue.status.code(), Some(0), "{}", render(&blue));
    endpoint
}

const GREEN_OVER_ITS_MEMORY: [&str; 8] = [
    "--set",
    "name=green",
    "--set",
    "model.path=./model-v2",
    "--set",
    "environment_variables.ALLOCATE_MB=500",
    "--set",
    "resources.limits.memory=200Mi",
];

#[test]
fn a_deployment_over_its_memory_limit_is_oom_killed_and_traffic_stays_as_it_was() {
    let endpoint = kubernetes_endpoint();
    assert_eq!(endpoint.answers(5, None), BTreeMap::from([(BLUE.to_string(), 5)]));

    let mut rollout =
        vec!["rollout", "--endpoint", "linear", "-f", "linear/deployment-kubernetes.yml", "--steps", "50,100"];
    rollout.extend(GREEN_OVER_ITS_MEMORY);
    rollout.extend(["--interval", "100ms", "-q"]);
    let output = endpoint.deploy(&rollout);
    assert_eq!(output.status.code(), Some(1), "{}", render(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("deployment `green` never became ready: OOMKilled (limit 200Mi)"), "{stdout}");
    assert!(stdout.contains("last lines of its log"), "the log tail is shown: {stdout}");
    assert_eq!(endpoint.show()["traffic"], serde_json::json!({"blue": 100}));
    assert_eq!(endpoint.answers(10, None), BTreeMap::from([(BLUE.to_string(), 10)]));

    // Applied directly: exit 1, and the same reason.
    let mut apply = vec!["apply", "-f", "linear/deployment-kubernetes.yml"];
    apply.extend(GREEN_OVER_ITS_MEMORY);
    let output = endpoint.deploy(&apply);
    assert_eq!(output.status.code(), Some(1), "{}", render(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("OOMKilled (limit 200Mi)"), "{}", render(&output));

    // The same deployment with room for its model serves.
    apply.extend(["--set", "resources.limits.memory=1Gi", "-q"]);
    let output = endpoint.deploy(&apply);
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    assert_eq!(endpoint.answers(3, Some("green")), BTreeMap::from([(GREEN.to_string(), 3)]));
    assert_eq!(endpoint.show()["traffic"], serde_json::json!({"blue": 100}));
}

#[test]
fn kubernetes_deployments_are_checked_against_their_endpoint_and_their_figures() {
    let endpoint = kubernetes_endpoint();
    let refusals: [(&[&str], &str); 3] = [
        (&["-f", "linear/deployment-green.yml"], "field `type`"),
        (
            &["-f", "linear/deployment-kubernetes.yml", "--set", "resources.limits.memory=lots"],
            "resources.limits.memory",
        ),
        (&["-f", "linear/deployment-kubernetes.yml", "--set", "resources.requests.cpu=2"], "resources.requests.cpu"),
    ];
    for (args, field) in refusals {
        let mut apply = vec!["apply", "--set", "name=other"];
        apply.extend(args);
        let output = endpoint.deploy(&apply);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", render(&output));
        assert!(String::from_utf8_lossy(&output.stderr).contains(field), "{args:?}: {}", render(&output));
    }
    let names: Vec<String> = endpoint.show()["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["blue"], "nothing was written for a refused file");
}

/// The shortest time one request took, pinned to each deployment in turn (interleaved, so
/// that whatever else the machine does slows them alike; the shortest, because another
/// process can only lengthen a request, never shorten it).
fn fastest_answers(endpoint: &Endpoint, deployments: &[&str], requests: usize) -> Vec<Duration> {
    let location = format!("local:{}", endpoint.ws.workspace().display());
    let access = block_on(async {
        let mut ws = Workspace::open(&location, Access::Existing, &settings()).await?;
        ws.endpoint_access("linear").await
    })
    .unwrap();
    let clients: Vec<ScoringClient> = deployments
        .iter()
        .map(|d| ScoringClient::new(&access, Some(d.to_string()), Duration::from_secs(30)).unwrap())
        .collect();
    let mut times = vec![Vec::new(); deployments.len()];
    // About a quarter of a second of CPU a request: several of the kernel's 100 ms periods.
    let body = Bytes::from_static(br#"{"data": [[1, 1]], "work": 30000000}"#);
    for _ in 0..requests {
        for (client, times) in clients.iter().zip(&mut times) {
            let start = Instant::now();
            let answer = block_on(client.score(body.clone()));
            assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
            times.push(start.elapsed());
        }
    }
    times.into_iter().map(|t| t.into_iter().min().unwrap()).collect()
}

#[test]
fn a_cpu_limit_of_half_a_core_caps_throughput() {
    let endpoint = kubernetes_endpoint();
    let apply = |name: &str, limits: &str| {
        let output = endpoint.deploy(&[
            "apply",
            "-f",
            "linear/deployment-kubernetes.yml",
            "--set",
            &format!("name={name}"),
            "--set",
            &format!("resources.limits={limits}"),
            "-q",
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    };
    apply("half", "{cpu: '0.5', memory: 1Gi}");
    apply("whole", "{memory: 1Gi}");
    let fastest = fastest_answers(&endpoint, &["half", "whole"], 7);
    // One request at a time: throughput is the inverse of the latency. Half a core gives
    // about 0.55 here (the first 50 ms of each request run unthrottled).
    let ratio = fastest[1].as_secs_f64() / fastest[0].as_secs_f64();
    assert!(ratio < 0.8, "half a core should answer at most about half as fast as no limit: {ratio:.2} ({fastest:?})");
}
