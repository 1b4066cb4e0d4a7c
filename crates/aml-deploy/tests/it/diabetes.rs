//! The worked example end to end: train two models, deploy the first (blue), prove it with
//! the example's smoke cases, then roll out the second (green) blue/green with a smoke test
//! between traffic steps. Every file used is the one in examples/diabetes.

use aml_client::testing::{TestWorkspace, binary, json, render};

/// Deletes the example's endpoint when the test ends, however it ends.
pub(crate) struct Cleanup<'a>(pub(crate) &'a TestWorkspace);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&binary("aml-deploy"), &["delete", "diabetes"]);
    }
}

pub(crate) fn ok(output: std::process::Output) -> std::process::Output {
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    output
}

#[test]
fn the_example_trains_deploys_and_rolls_out() {
    let ws = TestWorkspace::new();
    ws.copy_example("diabetes");
    let _cleanup = Cleanup(&ws);
    for (name, alpha) in [("train-1", "0.1"), ("train-2", "0.5")] {
        ok(ws.run(
            &binary("aml-train"),
            &["run", "diabetes/job.yml", "--name", name, "--set", &format!("inputs.alpha={alpha}"), "-q"],
        ));
        ok(ws.run(&binary("aml-register"), &["model", "-f", "diabetes/model.yml", "--job", name]));
    }
    ok(ws.run(&binary("aml-deploy"), &["apply", "-f", "diabetes/endpoint.yml"]));
    ok(ws.run(&binary("aml-deploy"), &["apply", "-f", "diabetes/deployment-blue.yml", "-q"]));
    let smoke = ok(ws.run(
        &binary("smoke-test"),
        &["run", "--endpoint", "diabetes", "--cases", "diabetes/smoke.jsonl", "-o", "json"],
    ));
    assert_eq!(json(&smoke)["failed"], 0);
    // blue collects no data: its score.py's collector says so in the log, once, at start.
    let logs = ok(ws.run(&binary("aml-deploy"), &["logs", "diabetes", "blue"]));
    let log = String::from_utf8_lossy(&logs.stdout);
    assert_eq!(log.matches("data collection: custom logging is not enabled").count(), 1, "{log}");
    profile_recommends_what_the_deployment_uses(&ws);

    let bin = binary("aml-deploy").parent().unwrap().display().to_string();
    let rollout = ws
        .command(&binary("aml-deploy"))
        .env("PATH", format!("{bin}:{}", std::env::var("PATH").unwrap_or_default()))
        .args([
            "rollout",
            "--endpoint",
            "diabetes",
            "-f",
            "diabetes/deployment-green.yml",
            "--steps",
            "10,50,100",
            "--interval",
            "200ms",
            "--check",
            "smoke-test run --endpoint diabetes --cases diabetes/smoke.jsonl",
            "-q",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let rollout = json(&ok(rollout));
    assert_eq!(rollout["traffic"], serde_json::json!({"blue": 0, "green": 100}));
    let show = json(&ok(ws.run(&binary("aml-deploy"), &["show", "diabetes", "-o", "json"])));
    let models: Vec<(String, String)> = show["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap().into(), d["model"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        models,
        [("blue".to_string(), "diabetes:1".to_string()), ("green".to_string(), "diabetes:2".to_string())]
    );
}

/// `profile --recommend` sizes blue from what it used: its memory figure agrees with the peak
/// resident memory the kernel itself records for blue's processes (VmHWM, read here from
/// /proc), and the chart it draws is well-formed SVG.
fn profile_recommends_what_the_deployment_uses(ws: &TestWorkspace) {
    let profile = json(&ok(ws.run(
        &binary("smoke-test"),
        &[
            "profile",
            "--endpoint",
            "diabetes",
            "--cases",
            "diabetes/smoke.jsonl",
            "--p99",
            "10s",
            "--step",
            "1s",
            "--max-concurrency",
            "2",
            "--recommend",
            "--target-rps",
            "1000",
            "--plot",
            "charts/profile.svg",
            "-o",
            "json",
        ],
    )));
    let recommendation = &profile["recommendation"];
    assert_eq!(recommendation["deployment"], "blue", "{profile}");
    let per_instance = recommendation["per_instance_requests_per_second"].as_f64().unwrap();
    let instances = recommendation["instance_count"].as_u64().unwrap();
    assert_eq!(instances, (1000.0 / per_instance).ceil() as u64, "{recommendation}");
    for step in profile["steps"].as_array().unwrap() {
        assert!(step["cpu_cores"].as_f64().unwrap() > 0.0, "a step under load used no CPU: {step}");
    }

    let recommended_mib: f64 =
        recommendation["resources"]["requests"]["memory"].as_str().unwrap().trim_end_matches("Mi").parse().unwrap();
    let kernel_peak_mib = peak_resident_mib(deployment_session(ws, "blue"));
    let off = (recommended_mib - kernel_peak_mib).abs() / kernel_peak_mib;
    eprintln!(
        "recommended memory {recommended_mib} Mi; the kernel's peak for blue's processes {kernel_peak_mib:.1} Mi"
    );
    assert!(
        off <= 0.10,
        "recommended {recommended_mib} Mi, the kernel's peak for blue's processes {kernel_peak_mib:.1} Mi ({:.0}% off)",
        off * 100.0
    );
    let yaml = recommendation["yaml"].as_str().unwrap();
    assert!(yaml.contains(&format!("memory: {recommended_mib}Mi")), "{yaml}");

    let svg = ws.path().join("charts/profile.svg");
    let parsed = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sys, xml.etree.ElementTree as ET; root = ET.parse(sys.argv[1]).getroot(); ns = '{http://www.w3.org/2000/svg}'; print(root.tag == ns + 'svg', len(root.findall(ns + 'polyline')), len(root.findall(ns + 'circle')))")
        .arg(&svg)
        .output()
        .unwrap();
    let steps = profile["steps"].as_array().unwrap().len();
    assert_eq!(String::from_utf8_lossy(&parsed.stdout).trim(), format!("True 3 {}", 3 * steps), "{}", render(&parsed));
}

/// A deployment's recorded server pid, which leads the session of every process serving it.
fn deployment_session(ws: &TestWorkspace, deployment: &str) -> u32 {
    let out = std::process::Command::new("python3")
        .args(["-c", &format!("import sqlite3,json; r=sqlite3.connect('{}').execute(\"select record from deployments where name='{deployment}'\").fetchone()[0]; print(json.loads(r)['pid'])", ws.workspace().join("registry.db").display())])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no pid for `{deployment}`: {}", render(&out)))
}

/// The kernel's peak resident memory (VmHWM) summed over a session's processes, in MiB.
fn peak_resident_mib(session: u32) -> f64 {
    let mut kib = 0u64;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let in_session =
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(3)) == Some(&session.to_string());
        if !in_session {
            continue;
        }
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        kib += status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    assert!(kib > 0, "no process in session {session}");
    kib as f64 / 1024.0
}
