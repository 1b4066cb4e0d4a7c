//! `cargo xtask demo`: the whole flow on a fresh local workspace, printing each command
//! as a user would type it, then where to look.

use std::path::Path;
use std::process::Command;

use crate::setup::{self, root, step};

/// The order of the tools in one round, as the recipes run them.
const FLOW: &str = include_str!("../demo-flow.txt");

pub fn run() -> Result<(), String> {
    setup::ensure_venv()?;
    setup::ensure_debian_packages(&[])?;
    let base_tar = setup::ensure_base_image()?;
    step("building the tools (the dev profile the tests use)");
    setup::run(setup::cargo().args(["build", "--quiet", "--bins"]))?;
    let bin = crate::setup::target_dir().join("debug");
    let demo = crate::setup::target_dir().join("demo");
    if demo.join(".aml").exists() {
        // The last demo's endpoint still runs: stop it before its folder goes.
        for endpoint in ["diabetes", "diabetes-qa"] {
            let _ = Command::new(bin.join("aml-deploy"))
                .args(["delete", endpoint, "--workspace"])
                .arg(format!("local:{}", demo.join(".aml").display()))
                .output();
        }
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
        command
            .args(args)
            .current_dir(&demo)
            .env("AML_WORKSPACE", "local:.aml")
            .env("PATH", path)
            .env("AML_CACHE_DIR", setup::test_cache());
        command
    };
    // The tools each round ran, in order: checked against xtask/demo-flow.txt, which the
    // recipes are checked against too.
    let ran = std::cell::RefCell::new(Vec::<String>::new());
    let tool = |name: &str, args: &[String]| -> Result<(), String> {
        eprintln!("\n$ {name} {}", quoted(args.iter().map(String::as_str)));
        if ran.borrow().last().map(String::as_str) != Some(name) {
            ran.borrow_mut().push(name.to_string());
        }
        setup::run(&mut command(name, &args.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let end_of_round = |round: &str| -> Result<(), String> {
        let flow: Vec<&str> = FLOW.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        let done = ran.replace(Vec::new());
        if done != flow {
            return Err(format!(
                "the demo's {round} ran {} but xtask/demo-flow.txt (and the recipes) say {}",
                done.join(" → "),
                flow.join(" → ")
            ));
        }
        Ok(())
    };
    let approve = |model: &str| -> Result<(), String> {
        let args = [
            "request",
            "--model",
            model,
            "--stage",
            "production",
            "--approvers",
            "ml-lead,qa-lead",
            "--requester",
            "demo",
        ];
        eprintln!("\n$ approval-gate {}", quoted(args.iter().copied()));
        ran.borrow_mut().push("approval-gate".into());
        let requested = command("approval-gate", &args).output().map_err(|e| format!("approval-gate request: {e}"))?;
        eprint!("{}", String::from_utf8_lossy(&requested.stderr));
        if !requested.status.success() {
            return Err("approval-gate request failed".into());
        }
        let id = String::from_utf8_lossy(&requested.stdout).trim().to_string();
        eprintln!("{id}");
        let approver_args = [
            "approve",
            &id,
            "--by",
            "qa-lead",
            "--comment",
            "smoke tests pass on QA; approved by the demo's stand-in approver",
        ];
        let approver_line = format!(
            "[approver: a second process standing in for qa-lead] $ approval-gate {}",
            quoted(approver_args.iter().copied())
        );
        let mut approver = command("approval-gate", &approver_args);
        let approver = std::thread::spawn(move || {
            // A person would take longer; two seconds shows `wait` waiting.
            std::thread::sleep(std::time::Duration::from_secs(2));
            eprintln!("\n{approver_line}");
            approver.status()
        });
        tool("approval-gate", &s(&["wait", &id, "--timeout", "2m", "--interval", "250ms"]))?;
        match approver.join() {
            Ok(Ok(status)) if status.success() => Ok(()),
            _ => Err("the stand-in approver failed".into()),
        }
    };
    let rules =
        ["--rule", "candidate.rmse <= champion.rmse * 1.02", "--rule", "candidate.r2 >= 0.35", "--no-champion", "pass"];
    let smoke = format!("smoke-test run --endpoint diabetes --cases {}", rel("smoke.jsonl"));

    eprintln!(
        "\nTwo rounds of recipes/azure-devops/train-gate-deploy.yml on a local workspace: the first model, then a second one against it."
    );
    step("round 1 · 1/9 check the job and its data before spending compute");
    tool("aml-train", &s(&["validate", &rel("job.yml"), "--data-contract", &rel("data-contract.yml")]))?;
    step(
        "round 1 · 2/9 run the prep → train → evaluate pipeline (the first run builds the environment; later runs reuse it)",
    );
    tool("aml-train", &s(&["run", &rel("pipeline.yml"), "--name", "demo-pipeline"]))?;
    step(
        "round 1 · 3/9 gate it against the model production serves: no endpoint yet, so no champion, and the rules on the candidate decide",
    );
    tool(
        "approval-gate",
        &s(&[&["check", "--candidate", "job:demo-pipeline", "--champion", "endpoint:diabetes"][..], &rules].concat()),
    )?;
    step(
        "round 1 · 4/9 register the pipeline's model with its metrics and lineage (diabetes:1); the same bytes again give the same version",
    );
    tool("aml-register", &s(&["model", "-f", &rel("model.yml"), "--job", "demo-pipeline"]))?;
    tool("aml-register", &s(&["model", "-f", &rel("model.yml"), "--job", "demo-pipeline"]))?;
    step("round 1 · 5/9 package diabetes:1 as an OCI image on a Debian base (no Docker daemon)");
    tool(
        "aml-package",
        &s(&["base", "--rootfs-tar", &base_tar.display().to_string(), "--to", "oci:images/base:bookworm"]),
    )?;
    tool(
        "aml-package",
        &s(&[
            "image",
            "--model",
            "diabetes:1",
            "--environment",
            &rel("environment/score.yml"),
            "--code",
            &rel("src"),
            "--base",
            "oci:images/base:bookworm",
            "--to",
            "oci:images/diabetes",
            "--quiet",
        ]),
    )?;
    step("round 1 · 6/9 deploy it to the QA endpoint: the Azure ML inference server behind a router with key auth");
    tool("aml-deploy", &s(&["apply", "-f", &rel("endpoint-qa.yml")]))?;
    tool(
        "aml-deploy",
        &s(&[
            "apply",
            "-f",
            &rel("deployment-qa.yml"),
            "--set",
            "model=azureml:diabetes:1",
            "--all-traffic",
            "--quiet",
        ]),
    )?;
    step(
        "round 1 · 7/9 smoke-test QA: the example's cases with a JUnit report, then 5 s of load with a latency budget",
    );
    tool(
        "smoke-test",
        &s(&["run", "--endpoint", "diabetes-qa", "--cases", &rel("smoke.jsonl"), "--junit", "reports/smoke.xml"]),
    )?;
    tool(
        "smoke-test",
        &s(&[
            "run",
            "--endpoint",
            "diabetes-qa",
            "--cases",
            &rel("smoke.jsonl"),
            "--concurrency",
            "8",
            "--duration",
            "5s",
            "--p95",
            "200ms",
        ]),
    )?;
    step(
        "round 1 · 8/9 a manual approval for production (in CI: the environment's approval, recorded with `approval-gate record`)",
    );
    approve("diabetes:1")?;
    step(
        "round 1 · 9/9 production: create the endpoint and roll diabetes:1 out (the first deployment takes all the traffic)",
    );
    tool("aml-deploy", &s(&["apply", "-f", &rel("endpoint.yml")]))?;
    tool(
        "aml-deploy",
        &s(&[
            "rollout",
            "--endpoint",
            "diabetes",
            "-f",
            &rel("deployment-green.yml"),
            "--set",
            "model=azureml:diabetes:1",
            "--set",
            "name=diabetes-1",
            "--steps",
            "100",
            "--interval",
            "1s",
            "--check",
            &smoke,
            "--quiet",
        ]),
    )?;
    end_of_round("first round")?;

    step("round 2 · 1/9 check the job and its data again");
    tool("aml-train", &s(&["validate", &rel("job.yml"), "--data-contract", &rel("data-contract.yml")]))?;
    step("round 2 · 2/9 train a second model with another alpha");
    tool("aml-train", &s(&["run", &rel("job.yml"), "--set", "inputs.alpha=0.5", "--name", "demo-train", "--quiet"]))?;
    step("round 2 · 3/9 gate it against the model production serves now (diabetes:1, from endpoint:diabetes)");
    tool(
        "approval-gate",
        &s(&[&["check", "--candidate", "job:demo-train", "--champion", "endpoint:diabetes"][..], &rules].concat()),
    )?;
    step("round 2 · 4/9 it passed: register it (diabetes:2)");
    tool("aml-register", &s(&["model", "-f", &rel("model.yml"), "--job", "demo-train"]))?;
    step("round 2 · 5/9 package diabetes:2 (the base, dependency and code layers come from the cache)");
    tool(
        "aml-package",
        &s(&[
            "image",
            "--model",
            "diabetes:2",
            "--environment",
            &rel("environment/score.yml"),
            "--code",
            &rel("src"),
            "--base",
            "oci:images/base:bookworm",
            "--to",
            "oci:images/diabetes",
            "--quiet",
        ]),
    )?;
    step("round 2 · 6/9 deploy it to QA in place of diabetes:1");
    tool(
        "aml-deploy",
        &s(&[
            "apply",
            "-f",
            &rel("deployment-qa.yml"),
            "--set",
            "model=azureml:diabetes:2",
            "--all-traffic",
            "--quiet",
        ]),
    )?;
    step("round 2 · 7/9 smoke-test QA");
    tool(
        "smoke-test",
        &s(&["run", "--endpoint", "diabetes-qa", "--cases", &rel("smoke.jsonl"), "--junit", "reports/smoke-2.xml"]),
    )?;
    step("round 2 · 8/9 the manual approval for production");
    approve("diabetes:2")?;
    step("round 2 · 9/9 roll diabetes:2 out blue/green: 10% → 50% → 100%, a smoke test after each step");
    tool("aml-deploy", &s(&["apply", "-f", &rel("endpoint.yml")]))?;
    tool(
        "aml-deploy",
        &s(&[
            "rollout",
            "--endpoint",
            "diabetes",
            "-f",
            &rel("deployment-green.yml"),
            "--set",
            "model=azureml:diabetes:2",
            "--set",
            "name=diabetes-2",
            "--steps",
            "10,50,100",
            "--interval",
            "2s",
            "--check",
            &smoke,
            "--quiet",
        ]),
    )?;
    end_of_round("second round")?;

    step("the production endpoint now, as templates and scripts read it");
    tool("aml-deploy", &s(&["show", "diabetes", "--output", "json"]))?;
    step("the model now serving, with its metrics, lineage, gate decision and approval");
    tool("aml-register", &s(&["show", "diabetes:2"]))?;

    let ws = demo.join(".aml");
    eprintln!(
        "\nwhere to look (commands run in {demo}, workspace local:.aml):\n  registry       {ws}/registry.db (SQLite)\n  job folders    {ws}/jobs/demo-pipeline_*, {ws}/jobs/demo-train\n  a job's log    aml-train logs demo-pipeline\n  the image      {demo}/images/diabetes (OCI layout)\n  JUnit reports  {demo}/reports/\n  the endpoints  aml-deploy list · aml-deploy show diabetes · aml-deploy logs diabetes diabetes-2\n  decisions      approval-gate history diabetes:2\n\nThe endpoints keep serving; `aml-deploy delete diabetes` and `aml-deploy delete diabetes-qa` (in {demo}) stop them, and the next demo does too.",
        ws = ws.display(),
        demo = relative(&demo)
    );
    Ok(())
}

fn quoted<'a>(args: impl Iterator<Item = &'a str>) -> String {
    args.map(|a| {
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"<>*;&|$`\\".contains(c)) {
            format!("'{}'", a.replace('\'', "'\\''"))
        } else {
            a.to_string()
        }
    })
    .collect::<Vec<_>>()
    .join(" ")
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).map(|p| p.display().to_string()).unwrap_or_else(|_| path.display().to_string())
}
