//! Every scoring request a local endpoint answers is recorded, and `aml-deploy metrics`
//! reads per-deployment figures from those records: the same figures an independent script
//! computes from the same files.

use std::time::Duration;

use aml_client::scoring::{Bytes, ScoringClient};
use aml_client::testing::{block_on, json, render};

use crate::deploy::{Endpoint, port_and_key, raw_exchange, wait_until};

#[test]
fn metrics_equal_an_independent_reading_of_the_request_records() {
    let endpoint = Endpoint::with_blue();
    let green = endpoint.deploy(&["apply", "-f", "linear/deployment-green.yml", "-q"]);
    assert_eq!(green.status.code(), Some(0), "{}", render(&green));

    let access = endpoint.access();
    let client = |deployment: Option<&str>| {
        ScoringClient::new(&access, deployment.map(str::to_owned), Duration::from_secs(10)).unwrap()
    };
    let good = Bytes::from_static(br#"{"data": [[1, 1]]}"#);
    let broken = Bytes::from_static(br#"{"rows": []}"#);
    // blue: 30 answers, 5 of them errors (a request the model cannot read); green: 10, pinned.
    for i in 0..30 {
        let answer = block_on(client(None).score(if i % 6 == 0 { broken.clone() } else { good.clone() }));
        assert!(answer.status == 200 || answer.status >= 500, "{}", answer.status);
    }
    for _ in 0..10 {
        assert_eq!(block_on(client(Some("green")).score(good.clone())).status, 200);
    }
    // Refused before any deployment: a wrong key.
    let stranger = aml_client::online::EndpointAccess { scoring_uri: access.scoring_uri.clone(), key: "wrong".into() };
    let refused = block_on(ScoringClient::new(&stranger, None, Duration::from_secs(10)).unwrap().score(good.clone()));
    assert_eq!(refused.status, 401);

    let metrics = || json(&endpoint.deploy(&["metrics", "linear", "--since", "10m", "-o", "json"]));
    wait_until("the records of all 41 requests", || {
        let m = metrics();
        let routed: u64 = m["deployments"].as_array().unwrap().iter().map(|d| d["requests"].as_u64().unwrap()).sum();
        routed == 40 && m["unrouted_requests"] == 1
    });
    let ours = metrics();
    let blue = &ours["deployments"][0];
    assert_eq!(
        (blue["deployment"].as_str(), blue["requests"].as_u64(), blue["errors"].as_u64()),
        (Some("blue"), Some(30), Some(5))
    );
    assert_eq!(ours["deployments"][1]["requests"], 10);

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/metrics.py");
    let folder = endpoint.ws.workspace().join("endpoints/linear/requests");
    let theirs = std::process::Command::new("python3")
        .arg(&script)
        .arg(&folder)
        .arg(ours["since"].as_str().unwrap())
        .arg(ours["until"].as_str().unwrap())
        .output()
        .unwrap();
    assert!(theirs.status.success(), "{}", render(&theirs));
    let theirs: serde_json::Value = serde_json::from_slice(&theirs.stdout).unwrap();
    assert_eq!(theirs["unrouted_requests"], ours["unrouted_requests"]);
    assert_eq!(theirs["deployments"].as_array().unwrap().len(), 2);
    for (t, o) in theirs["deployments"].as_array().unwrap().iter().zip(ours["deployments"].as_array().unwrap()) {
        for field in ["deployment", "requests", "errors", "latency_ms"] {
            assert_eq!(t[field], o[field], "{field}: script {t} against ours {o}");
        }
        for field in ["requests_per_second", "error_rate"] {
            let (t, o) = (t[field].as_f64().unwrap(), o[field].as_f64().unwrap());
            assert!((t - o).abs() < 1e-9, "{field}: script {t} against ours {o}");
        }
    }

    // Each answer names its request: the caller's id is kept, else one is made.
    let text = std::fs::read_to_string(folder.read_dir().unwrap().next().unwrap().unwrap().path()).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["request_id"].as_str().unwrap().len(), 36, "a made id is a UUID: {first}");
    let (port, key) = port_and_key(&endpoint);
    let body = r#"{"data": [[1, 1]]}"#;
    let answer = raw_exchange(
        port,
        format!(
            "POST /score HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {key}\r\nx-request-id: caller-id-7\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert!(answer.to_ascii_lowercase().contains("x-request-id: caller-id-7"), "{answer}");
    wait_until("the caller's id in the records", || {
        std::fs::read_to_string(folder.read_dir().unwrap().next().unwrap().unwrap().path())
            .unwrap()
            .contains(r#""request_id":"caller-id-7""#)
    });
    // The chart: two panels (latency, errors), three lines per deployment, valid SVG.
    let charted =
        json(&endpoint.deploy(&["metrics", "linear", "--plot", "charts/m.svg", "--bucket", "1s", "-o", "json"]));
    assert_eq!(charted["plot"], "charts/m.svg");
    let parsed = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sys, xml.etree.ElementTree as ET; ns = '{http://www.w3.org/2000/svg}'; root = ET.parse(sys.argv[1]).getroot(); panels = root.findall(ns + 'svg'); print(len(panels), sum(len(p.findall(ns + 'polyline')) for p in panels))")
        .arg(endpoint.ws.path().join("charts/m.svg"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&parsed.stdout).trim(), "2 6", "{}", render(&parsed));
    let too_fine =
        endpoint.deploy(&["metrics", "linear", "--since", "1000d", "--plot", "charts/x.svg", "--bucket", "1s"]);
    assert_eq!(too_fine.status.code(), Some(2), "{}", render(&too_fine));
    assert!(!endpoint.ws.path().join("charts/x.svg").exists(), "nothing is written for bad input");
    let unknown = endpoint.deploy(&["metrics", "linear", "--deployment", "teal"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", render(&unknown));
}
