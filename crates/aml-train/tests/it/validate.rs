//! `aml-train validate` and bad input, through the real binary.

use std::path::Path;

use aml_client::testing::{TestWorkspace, binary, render, repo_root};

fn aml_train() -> std::path::PathBuf {
    binary("aml-train")
}

fn with_repo_filter(ws: &TestWorkspace) -> insta::Settings {
    let mut settings = ws.settings();
    settings.add_filter(&repo_root().display().to_string().replace('.', r"\."), "[REPO]");
    settings
}

#[test]
fn the_example_job_and_its_data_pass() {
    let ws = TestWorkspace::new();
    let example = ws.copy_example("diabetes");
    let output =
        ws.run(&aml_train(), &["validate", "diabetes/job.yml", "--data-contract", "diabetes/data-contract.yml"]);
    assert!(example.exists());
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&output), @r"
    exit_code: 0
    ----- stdout -----
    data ok: input `training_data` ([TMP]/diabetes/data/diabetes.csv, 442 rows)
    ok: diabetes/job.yml (command job, 2 inputs, 1 output)
    ----- stderr -----
    ")
    });
}

#[test]
fn the_example_pipeline_validates_as_json() {
    let ws = TestWorkspace::new();
    ws.copy_example("diabetes");
    let output = ws.run(&aml_train(), &["validate", "diabetes/pipeline.yml", "--output", "json"]);
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&output), @r#"
    exit_code: 0
    ----- stdout -----
    {
      "data_checks": [],
      "file": "diabetes/pipeline.yml",
      "inputs": [
        "raw_data",
        "alpha"
      ],
      "outputs": [
        "model"
      ],
      "steps": [
        "prep",
        "train",
        "evaluate"
      ],
      "type": "pipeline",
      "valid": true,
      "warnings": []
    }
    ----- stderr -----
    "#)
    });
}

#[test]
fn data_that_breaks_its_contract_fails_with_the_lines_named() {
    let ws = TestWorkspace::new();
    ws.copy_example("diabetes");
    let csv = ws.path().join("diabetes/data/diabetes.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("200,3,32.1,101,157,93.2,38,4,4.8598,87,151\n"); // age and sex out of range
    text.push_str("50,1,,101,157,93.2,38,4,4.8598,87,151\n"); // bmi missing
    text.push_str("50,1,abc,101,157,93.2,38,4,4.8598,87,151\n"); // bmi not a number
    std::fs::write(&csv, text).unwrap();
    let output =
        ws.run(&aml_train(), &["validate", "diabetes/job.yml", "--data-contract", "diabetes/data-contract.yml"]);
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&output), @r"
    exit_code: 1
    ----- stdout -----
    data FAILED: input `training_data` ([TMP]/diabetes/data/diabetes.csv, 445 rows)
      `age` must be ≤ 120 (1 rows): line 444 `200`
      `bmi` must not be empty (1 rows): line 445 ``
      `bmi` must be a number (1 rows): line 446 `abc`
      `sex` must be one of 1, 2 (1 rows): line 444 `3`
    invalid: diabetes/job.yml (command job, 2 inputs, 1 output): data breaks its contract
    ----- stderr -----
    ")
    });
    // `run` checks the same contract first and does not start the job.
    let run = ws.run(&aml_train(), &["run", "diabetes/job.yml", "--data-contract", "diabetes/data-contract.yml"]);
    assert_eq!(run.status.code(), Some(1), "{}", render(&run));
    assert!(!ws.workspace().exists(), "a job that never started created a workspace");
}

#[test]
fn a_contract_naming_an_input_the_job_lacks_is_bad_input() {
    let ws = TestWorkspace::new();
    ws.copy_example("diabetes");
    ws.write("contract.yml", "inputs:\n  raw:\n    columns:\n      age: {type: number}\n");
    let output = ws.run(&aml_train(), &["validate", "diabetes/job.yml", "--data-contract", "contract.yml"]);
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&output), @r"
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: contract.yml: field `inputs.raw`: `[TMP]/diabetes/job.yml` has no input `raw`
    hint: the job's inputs: `training_data`, `alpha`
    ")
    });
}

/// Every folder under `fixtures/bad/` is a job file (plus optional extra arguments, one per
/// line in `args`) that both `validate` and `run` must reject with exit code 2, writing nothing.
/// A new case is a new folder; its snapshot is `snapshots/validate__bad_<folder>.snap`.
#[test]
fn bad_input_is_rejected_with_file_line_and_field() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let mut cases: Vec<_> = std::fs::read_dir(&fixtures).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    assert!(cases.len() >= 10, "the bad-input fixtures are missing");
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let job = case.join("job.yml");
        let extra: Vec<String> = std::fs::read_to_string(case.join("args"))
            .map(|a| a.lines().map(str::to_owned).collect())
            .unwrap_or_default();
        let ws = TestWorkspace::new();
        let run = |command: &str| ws.command(&aml_train()).arg(command).arg(&job).args(&extra).output().unwrap();
        let validate = run("validate");
        with_repo_filter(&ws).bind(|| insta::assert_snapshot!(format!("bad_{name}"), render(&validate)));
        assert_eq!(validate.status.code(), Some(2), "{name}");
        let started = run("run");
        assert_eq!(started.status.code(), Some(2), "{name}: {}", render(&started));
        assert!(!ws.workspace().exists(), "{name}: bad input created a workspace");
    }
}

#[test]
fn a_missing_job_file_is_bad_input() {
    let ws = TestWorkspace::new();
    let output = ws.run(&aml_train(), &["validate", "nope.yml"]);
    insta::assert_snapshot!(render(&output), @r"
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: nope.yml: file not found
    hint: check the path; it is relative to the current directory
    ");
}

#[test]
fn reading_commands_need_an_existing_workspace() {
    let ws = TestWorkspace::new();
    let output = ws.run(&aml_train(), &["show", "some_job", "--workspace", "local:missing"]);
    ws.settings().bind(|| insta::assert_snapshot!(render(&output), @r"
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: no local workspace at `[TMP]/missing`
    hint: run `aml-train run` or `aml-register model` to create one, or point `--workspace local:DIR` (AML_WORKSPACE) at an existing one
    "));
    // An Azure workspace with no identity configured: exit 3 listing every source tried.
    let output = ws.run(
        &aml_train(),
        &["show", "some_job", "--workspace", "azureml://subscriptions/s/resourceGroups/g/workspaces/w"],
    );
    assert_eq!(output.status.code(), Some(3), "{}", render(&output));
    assert!(render(&output).contains("no Azure identity to act as; tried: client secret"), "{}", render(&output));
    assert!(!Path::new(&ws.path().join("missing")).exists());
}

#[test]
fn help_teaches_the_commands() {
    let output = TestWorkspace::new().run(&aml_train(), &["--help"]);
    insta::assert_snapshot!(render(&output));
}

#[test]
fn steps_of_types_not_run_here_are_named_by_their_type_not_an_unknown_field() {
    let ws = TestWorkspace::new();
    ws.write(
        "automl-pipeline.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\n\
         type: pipeline\n\
         jobs:\n  classify:\n    type: automl\n    task: classification\n    primary_metric: accuracy\n",
    );
    let out = ws.run(&binary("aml-train"), &["validate", "automl-pipeline.yml"]);
    assert_eq!(out.status.code(), Some(2), "{}", render(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("field `jobs.classify.type`: step `classify` has type `automl`"), "{said}");
    assert!(!said.contains("unknown field"), "{said}");
    assert!(said.contains("az ml job create -f automl-pipeline.yml"), "{said}");
}

#[test]
fn a_registered_environment_is_valid_and_refused_only_where_it_cannot_be_built() {
    let ws = TestWorkspace::new();
    ws.write(
        "registry-env.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n\
         command: echo hello\n\
         environment: azureml://registries/azureml/environments/sklearn-1.5/labels/latest\n",
    );
    let checked = ws.run(&binary("aml-train"), &["validate", "registry-env.yml"]);
    assert_eq!(checked.status.code(), Some(0), "{}", render(&checked));
    assert!(String::from_utf8_lossy(&checked.stderr).contains("Azure ML resolves it"), "{}", render(&checked));
    let run = ws.run(&binary("aml-train"), &["run", "registry-env.yml"]);
    assert_eq!(run.status.code(), Some(2), "{}", render(&run));
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(said.contains("registry-env.yml: field `environment`"), "{said}");
    assert!(said.contains("--workspace azureml://"), "{said}");
    assert!(!ws.workspace().exists(), "a refused run created the workspace");
}
