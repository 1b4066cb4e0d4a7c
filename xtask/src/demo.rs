//! `cargo xtask demo`: the whole flow on a fresh local workspace, printing each command
//! as a user would type it, then where to look.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::setup::{self, root, step};

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"))
}

pub fn run() -> Result<(), String> {
    setup::ensure_venv()?;
    setup::ensure_debian_packages(&[])?;
    let base_tar = setup::ensure_base_image()?;
    step("building the tools (the dev profile the tests use)");
    setup::run(setup::cargo().args(["build", "--quiet", "--bins"]))?;
    let bin = target_dir().join("debug");
    let demo = target_dir().join("demo");
    if demo.join(".aml").exists() {
        // The last demo's endpoint still runs: stop it before its folder goes.
        let _ = Command::new(bin.join("aml-deploy")).args(["delete", "diabetes", "--workspace"]).arg(format!("local:{}", demo.join(".aml").display())).output();
    }
    if demo.exists() {
        std::fs::remove_dir_all(&demo).map_err(|e| format!("cannot clear {}: {e}", demo.display()))?;
    }
    std::fs::create_dir_all(&demo).map_err(|e| format!("cannot create {}: {e}", demo.display()))?;
    let example = root().join("examples").join("diabetes");
    let rel = |file: &str| example.join(file).display().to_string();

    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let command = |name: &str, args: &[&str]| -> Command {
        let mut command = Command::new(bin.join(name));
        let path = format!("{}:{}", bin.display(), setup::path_with_venv());
        command.args(args).current_dir(&demo).env("AML_WORKSPACE", "local:.aml").env("PATH", path).env("AML_CACHE_DIR", setup::test_cache());
        command
    };
    let tool = |name: &str, args: &[String]| -> Result<(), String> {
        eprintln!("\n$ {name} {}", quoted(args.iter().map(String::as_str)));
        setup::run(&mut command(name, &args.iter().map(String::as_str).collect::<Vec<_>>()))
    };

    step("1/13 check the job and its data before spending compute");
    tool("aml-train", &s(&["validate", &rel("job.yml"), "--data-contract", &rel("data-contract.yml")]))?;
    step("2/13 run the prep → train → evaluate pipeline (the first run builds the environment; later runs reuse it)");
    tool("aml-train", &s(&["run", &rel("pipeline.yml"), "--name", "demo-pipeline"]))?;
    step("3/13 register the pipeline's model, with its metrics and lineage: diabetes:1");
    tool("aml-register", &s(&["model", "-f", &rel("model.yml"), "--job", "demo-pipeline", "--tag", "stage=production"]))?;
    step("4/13 registering the same bytes again returns the same version");
    tool("aml-register", &s(&["model", "-f", &rel("model.yml"), "--job", "demo-pipeline"]))?;
    step("5/13 train a second model with another alpha, and register it: diabetes:2");
    tool("aml-train", &s(&["run", &rel("job.yml"), "--set", "inputs.alpha=0.5", "--name", "demo-train", "--quiet"]))?;
    tool("aml-register", &s(&["model", "-f", &rel("model.yml"), "--job", "demo-train", "--tag", "stage=candidate"]))?;
    step("6/13 package diabetes:1 as an OCI image on a Debian base (no Docker daemon)");
    tool("aml-package", &s(&["base", "--rootfs-tar", &base_tar.display().to_string(), "--to", "oci:images/base:bookworm"]))?;
    tool("aml-package", &s(&["image", "--model", "diabetes:1", "--environment", &rel("environment/score.yml"), "--code", &rel("src"), "--base", "oci:images/base:bookworm", "--to", "oci:images/diabetes", "--quiet"]))?;
    step("7/13 deploy diabetes:1 to a staging endpoint: the Azure ML inference server behind a router with key auth");
    tool("aml-deploy", &s(&["apply", "-f", &rel("endpoint.yml")]))?;
    tool("aml-deploy", &s(&["apply", "-f", &rel("deployment-blue.yml"), "--quiet"]))?;
    step("8/13 smoke-test it: the example's cases, then 5 s of load with a latency budget, with a JUnit report");
    tool("smoke-test", &s(&["run", "--endpoint", "diabetes", "--cases", &rel("smoke.jsonl"), "--junit", "reports/smoke.xml"]))?;
    tool("smoke-test", &s(&["run", "--endpoint", "diabetes", "--cases", &rel("smoke.jsonl"), "--concurrency", "8", "--duration", "5s", "--p95", "200ms"]))?;
    step("9/13 gate diabetes:2 against the model the endpoint serves now (its champion)");
    tool("approval-gate", &s(&["check", "--candidate", "diabetes:2", "--champion", "endpoint:diabetes", "--rule", "candidate.rmse <= champion.rmse * 1.02", "--rule", "candidate.r2 >= 0.35", "--no-champion", "pass"]))?;
    step("10/13 ask for a manual approval; a second process plays the approver");
    let args = ["request", "--model", "diabetes:2", "--stage", "production", "--approvers", "ml-lead,qa-lead", "--requester", "demo"];
    eprintln!("\n$ approval-gate {}", quoted(args.iter().copied()));
    let requested = command("approval-gate", &args).output().map_err(|e| format!("approval-gate request: {e}"))?;
    eprint!("{}", String::from_utf8_lossy(&requested.stderr));
    if !requested.status.success() {
        return Err("approval-gate request failed".into());
    }
    let id = String::from_utf8_lossy(&requested.stdout).trim().to_string();
    eprintln!("{id}");
    let approver_args = ["approve", &id, "--by", "qa-lead", "--comment", "metrics hold; approved by the demo's stand-in approver"];
    let approver_line = format!("[approver: a second process standing in for qa-lead] $ approval-gate {}", quoted(approver_args.iter().copied()));
    let mut approver = command("approval-gate", &approver_args);
    let approver = std::thread::spawn(move || {
        // A person would take longer; two seconds shows `wait` waiting.
        std::thread::sleep(std::time::Duration::from_secs(2));
        eprintln!("\n{approver_line}");
        approver.status()
    });
    tool("approval-gate", &s(&["wait", &id, "--timeout", "2m", "--interval", "250ms"]))?;
    match approver.join() {
        Ok(Ok(status)) if status.success() => {}
        _ => return Err("the stand-in approver failed".into()),
    }
    tool("approval-gate", &s(&["history", "diabetes:2"]))?;
    step("11/13 roll out diabetes:2 blue/green: 10% → 50% → 100%, a smoke test after each step");
    let check = format!("smoke-test run --endpoint diabetes --cases {}", rel("smoke.jsonl"));
    tool("aml-deploy", &s(&["rollout", "--endpoint", "diabetes", "-f", &rel("deployment-green.yml"), "--steps", "10,50,100", "--interval", "2s", "--check", &check, "--quiet"]))?;
    step("12/13 the endpoint now, as templates and scripts read it");
    tool("aml-deploy", &s(&["show", "diabetes", "--output", "json"]))?;
    step("13/13 the model now serving, with its metrics, lineage, gate decision and approval");
    tool("aml-register", &s(&["show", "diabetes:2"]))?;

    let ws = demo.join(".aml");
    eprintln!(
        "\nwhere to look (commands run in {demo}, workspace local:.aml):\n  registry       {ws}/registry.db (SQLite)\n  job folders    {ws}/jobs/demo-pipeline_*, {ws}/jobs/demo-train\n  a job's log    aml-train logs demo-pipeline\n  the image      {demo}/images/diabetes (OCI layout)\n  JUnit report   {demo}/reports/smoke.xml\n  the endpoint   aml-deploy show diabetes · aml-deploy logs diabetes green\n\nThe endpoint keeps serving; `aml-deploy delete diabetes` (in {demo}) stops it, and the next demo does too.",
        ws = ws.display(),
        demo = relative(&demo)
    );
    Ok(())
}

/// Arguments as a shell would need them, so a printed command can be pasted back.
fn quoted<'a>(args: impl Iterator<Item = &'a str>) -> String {
    args.map(|a| if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"<>*;&|$`\\".contains(c)) { format!("'{}'", a.replace('\'', "'\\''")) } else { a.to_string() })
        .collect::<Vec<_>>()
        .join(" ")
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).map(|p| p.display().to_string()).unwrap_or_else(|_| path.display().to_string())
}
