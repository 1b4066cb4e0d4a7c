//! The YAML our tools accept is the YAML `az ml` accepts: every example and fixture is
//! loaded with azure-ai-ml's own loaders (the oracle of `shared/contracts/azureml/ORACLE.md`),
//! and the schema errors we reject, it rejects too.

use std::path::{Path, PathBuf};

use aml_client::testing::{TestWorkspace, binary, render, repo_root, venv_python};

/// (loader, file relative to the repository, accepted?)
const CASES: &[(&str, &str, bool)] = &[
    ("job", "examples/diabetes/job.yml", true),
    ("job", "examples/diabetes/pipeline.yml", true),
    ("job", "examples/diabetes/sweep.yml", true),
    ("job", "crates/aml-train/tests/fixtures/mlflow/sweep-bandit.yml", true),
    ("model", "examples/diabetes/model.yml", true),
    ("job", "crates/aml-train/tests/fixtures/echo/job.yml", true),
    ("job", "crates/aml-train/tests/fixtures/echo/pipeline.yml", true),
    ("job", "crates/aml-train/tests/fixtures/echo/sleep.yml", true),
    ("job", "crates/aml-train/tests/fixtures/echo/pipeline-components.yml", true),
    ("component", "crates/aml-train/tests/fixtures/echo/component.yml", true),
    ("job", "crates/aml-train/tests/fixtures/bad/typo_field/job.yml", false),
    ("job", "crates/aml-train/tests/fixtures/bad/bad_input_type/job.yml", false),
    ("job", "crates/aml-train/tests/fixtures/bad/malformed_yaml/job.yml", false),
    ("job", "crates/aml-train/tests/oracle/unknown_step_field.yml", false),
    ("job", "crates/aml-train/tests/oracle/unknown_output_field.yml", false),
    ("model", "crates/aml-train/tests/oracle/model_typo.yml", false),
    ("endpoint", "examples/diabetes/endpoint.yml", true),
    ("deployment", "examples/diabetes/deployment-blue.yml", true),
    ("deployment", "examples/diabetes/deployment-green.yml", true),
    ("endpoint", "examples/diabetes/endpoint-qa.yml", true),
    ("deployment", "examples/diabetes/deployment-qa.yml", true),
    ("endpoint", "examples/diabetes/endpoint-prod.yml", true),
    ("deployment", "examples/diabetes/deployment-prod.yml", true),
    ("batch-endpoint", "examples/diabetes/endpoint-batch.yml", true),
    ("batch-deployment", "examples/diabetes/deployment-batch.yml", true),
    ("pipeline-batch-deployment", "examples/diabetes/deployment-batch-pipeline.yml", true),
    ("endpoint", "crates/aml-deploy/tests/fixtures/linear/endpoint-kubernetes.yml", true),
    ("deployment", "crates/aml-deploy/tests/fixtures/linear/deployment-kubernetes.yml", true),
    ("endpoint", "crates/aml-deploy/tests/fixtures/linear/endpoint.yml", true),
    ("deployment", "crates/aml-deploy/tests/fixtures/linear/deployment-blue.yml", true),
    ("deployment", "crates/aml-deploy/tests/fixtures/linear/deployment-broken.yml", true),
    ("endpoint", "crates/aml-train/tests/oracle/endpoint_typo.yml", false),
    ("deployment", "crates/aml-train/tests/oracle/deployment_typo.yml", false),
];

fn oracle() -> serde_json::Value {
    let mut command = std::process::Command::new(venv_python());
    command.current_dir(repo_root()).arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/load.py"));
    for (kind, path, _) in CASES {
        command.arg(format!("{kind}:{path}"));
    }
    let output = command.output().expect("run the oracle");
    assert!(output.status.success(), "the oracle failed: {}", render(&output));
    serde_json::from_slice(&output.stdout).expect("the oracle prints JSON")
}

/// Our verdict: `aml-train validate` for jobs, a registration into a scratch workspace for models.
fn ours(ws: &TestWorkspace, kind: &str, path: &Path) -> std::process::Output {
    match kind {
        "job" => ws.run(&binary("aml-train"), &["validate", &path.display().to_string()]),
        // Endpoint and deployment files: parsed by aml-deploy's loader (which has no dry run).
        "endpoint" | "deployment" | "batch-endpoint" | "batch-deployment" | "pipeline-batch-deployment" => online(path),
        // Components are checked as pipelines use them (the pipeline fixture above).
        "component" => ws.run(
            &binary("aml-train"),
            &["validate", &path.with_file_name("pipeline-components.yml").display().to_string()],
        ),
        _ => {
            ws.write("weights.bin", "weights");
            ws.run(&binary("aml-register"), &["model", "-f", &path.display().to_string(), "--path", "weights.bin"])
        }
    }
}

/// Our loader's verdict on an endpoint or deployment file, as the exit code `aml-deploy` gives.
fn online(path: &Path) -> std::process::Output {
    let code = match aml_client::yaml::deploy_file::load_online(path, &[]) {
        Ok(_) => "exit 0",
        Err(e) => {
            eprintln!("{e}");
            "exit 2"
        }
    };
    std::process::Command::new("sh").args(["-c", code]).output().unwrap()
}

#[test]
fn our_yaml_verdicts_match_azure_ai_ml() {
    let verdicts = oracle();
    let mut disagreements = Vec::new();
    for (kind, relative, accepted) in CASES {
        let path: PathBuf = repo_root().join(relative);
        let theirs = &verdicts[*relative];
        if theirs.is_null() != *accepted {
            disagreements
                .push(format!("azure-ai-ml {} {relative}: {theirs}", if *accepted { "rejected" } else { "accepted" }));
        }
        let ws = TestWorkspace::new();
        let output = ours(&ws, kind, &path);
        let expected = if *accepted { Some(0) } else { Some(2) };
        if output.status.code() != expected {
            disagreements.push(format!(
                "we gave {:?} for {relative}, expected {expected:?}: {}",
                output.status.code(),
                render(&output)
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
