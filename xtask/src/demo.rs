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
    step("building the tools (the dev profile the tests use)");
    setup::run(setup::cargo().args(["build", "--quiet", "--bins"]))?;
    let bin = target_dir().join("debug");
    let demo = target_dir().join("demo");
    if demo.exists() {
        std::fs::remove_dir_all(&demo).map_err(|e| format!("cannot clear {}: {e}", demo.display()))?;
    }
    std::fs::create_dir_all(&demo).map_err(|e| format!("cannot create {}: {e}", demo.display()))?;
    let example = root().join("examples").join("diabetes");
    let rel = |file: &str| example.join(file).display().to_string();

    let tool = |name: &str, args: &[String]| -> Result<(), String> {
        eprintln!("\n$ {name} {}", args.join(" "));
        let mut command = Command::new(bin.join(name));
        command.args(args).current_dir(&demo).env("AML_WORKSPACE", "local:.aml").env("PATH", setup::path_with_venv());
        setup::run(&mut command)
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    step("1/6 check the job and its data before spending compute");
    tool("aml-train", &s(&["validate", &rel("job.yml"), "--data-contract", &rel("data-contract.yml")]))?;
    step("2/6 train once with a different alpha (the first run builds the environment; later runs reuse it)");
    tool("aml-train", &s(&["run", &rel("job.yml"), "--set", "inputs.alpha=0.5", "--name", "demo-train"]))?;
    step("3/6 run the prep → train → evaluate pipeline");
    tool("aml-train", &s(&["run", &rel("pipeline.yml"), "--name", "demo-pipeline"]))?;
    step("4/6 register the pipeline's model, with its metrics and lineage");
    tool("aml-register", &s(&["model", "-f", &rel("model.yml"), "--job", "demo-pipeline", "--tag", "stage=candidate"]))?;
    step("5/6 registering the same bytes again returns the same version");
    tool("aml-register", &s(&["model", "-f", &rel("model.yml"), "--job", "demo-pipeline"]))?;
    step("6/6 the registered model, as templates and scripts read it");
    tool("aml-register", &s(&["show", "diabetes:1", "--output", "json"]))?;

    let ws = demo.join(".aml");
    eprintln!(
        "\nwhere to look:\n  workspace      {ws}\n  registry       {ws}/registry.db (SQLite)\n  job folders    {ws}/jobs/demo-train, {ws}/jobs/demo-pipeline_*\n  a job's log    aml-train logs demo-pipeline   (run in {demo})\n  model files    aml-register download diabetes:1 ./model",
        ws = ws.display(),
        demo = relative(&demo)
    );
    Ok(())
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).map(|p| p.display().to_string()).unwrap_or_else(|_| path.display().to_string())
}
