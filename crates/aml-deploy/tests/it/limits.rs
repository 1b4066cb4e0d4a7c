//! A `type: kubernetes` deployment served locally runs under its `resources.limits`, as the
//! cluster would run it: over its memory limit the kernel kills it and the deployment is
//! reported `OOMKilled`; its CPU limit caps how fast it answers.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aml_client::scoring::{Bytes, ScoringClient};
use aml_client::testing::{block_on, render};

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

/// What one CPU-bound request took, pinned to a deployment: the time it took, and the CPU
/// time the model itself says it had meanwhile.
fn timed_request(client: &ScoringClient) -> (Duration, f64) {
    // About a quarter of a second of CPU a request: several of the kernel's 100 ms periods.
    let body = Bytes::from_static(br#"{"data": [[1, 1]], "work": 30000000}"#);
    let start = Instant::now();
    let answer = block_on(client.score(body));
    let took = start.elapsed();
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let reported: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    (took, reported["cpu_seconds"].as_f64().unwrap())
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
    let access = endpoint.access();
    let client = |d: &str| ScoringClient::new(&access, Some(d.to_string()), Duration::from_secs(30)).unwrap();
    let (half, whole) = (client("half"), client("whole"));

    // A cap shows only when the machine has a core to spare: other processes slow both alike
    // and can hide it. So requests alternate until the unlimited one has had most of a core
    // for one whole request (its own CPU time over its wall time), and the fastest of each
    // is compared: nothing else can make a request faster, only slower.
    let started = Instant::now();
    let (mut fastest_half, mut fastest_whole) = (Duration::MAX, Duration::MAX);
    let mut best_share = 0.0f64;
    let mut rounds = 0;
    while (rounds < 5 || best_share < 0.8) && started.elapsed() < Duration::from_secs(120) {
        let (took, _) = timed_request(&half);
        fastest_half = fastest_half.min(took);
        let (took, cpu) = timed_request(&whole);
        fastest_whole = fastest_whole.min(took);
        best_share = best_share.max(cpu / took.as_secs_f64());
        rounds += 1;
    }
    assert!(
        best_share >= 0.8,
        "in {rounds} rounds the unlimited deployment never had 80% of a core for a request (best {best_share:.2}): the machine is too busy to tell a cap from contention"
    );
    // One request at a time: throughput is the inverse of the latency. Half a core gives
    // about 0.55 here (the first 50 ms of each request run unthrottled).
    let ratio = fastest_whole.as_secs_f64() / fastest_half.as_secs_f64();
    eprintln!("throughput at half a core over throughput with no CPU limit: {ratio:.2} ({rounds} rounds)");
    assert!(
        ratio < 0.8,
        "half a core should answer at most about half as fast as no limit: {ratio:.2} ({fastest_half:?} against {fastest_whole:?})"
    );
}
