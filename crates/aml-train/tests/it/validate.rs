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
      "notes": [],
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
fn jobs_and_steps_of_types_azure_ml_runs_are_valid_and_named_by_their_type_when_refused() {
    let ws = TestWorkspace::new();
    ws.write(
        "automl-pipeline.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\n\
         type: pipeline\n\
         jobs:\n  classify:\n    type: automl\n    task: classification\n    primary_metric: accuracy\n\
         \x20   outputs:\n      best_model:\n        type: mlflow_model\n\
         \x20 score:\n    command: echo ${{inputs.model}}\n    environment:\n      image: python\n\
         \x20   inputs:\n      model: ${{parent.jobs.classify.outputs.best_model}}\n",
    );
    // `validate` judges the file as azure-ai-ml does: valid, with a note saying where it runs.
    let checked = ws.run(&binary("aml-train"), &["validate", "automl-pipeline.yml", "--output", "json"]);
    assert_eq!(checked.status.code(), Some(0), "{}", render(&checked));
    let view: serde_json::Value = serde_json::from_slice(&checked.stdout).unwrap();
    let notes = view["notes"].to_string();
    assert!(notes.contains("jobs.classify.type: step `classify` has type `automl`"), "{notes}");
    assert!(notes.contains("az ml job create -f") && notes.contains("automl-pipeline.yml"), "{notes}");
    // `run` refuses it by its type, never as an unknown field, before a workspace exists.
    let run = ws.run(&binary("aml-train"), &["run", "automl-pipeline.yml"]);
    assert_eq!(run.status.code(), Some(2), "{}", render(&run));
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(said.contains("field `jobs.classify.type`: step `classify` has type `automl`"), "{said}");
    assert!(!said.contains("unknown field"), "{said}");
    assert!(!ws.workspace().exists(), "a refused run created the workspace");

    // A binding to an output the step does not declare is still caught in the other steps.
    ws.write(
        "spark.yml",
        "type: spark\nentry:\n  file: main.py\nconf:\n  spark.driver.cores: 1\n\
         inputs:\n  data:\n    type: uri_file\n    path: https://example.com/data.csv\n    mode: direct\n",
    );
    let checked = ws.run(&binary("aml-train"), &["validate", "spark.yml"]);
    assert_eq!(checked.status.code(), Some(0), "{}", render(&checked));
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(said.contains("note: type: `spark` jobs are Azure ML's"), "{said}");
    assert!(said.contains("ok: spark.yml (spark job, 1 input, 0 outputs)"), "{said}");
    // Its fields are Azure ML's to judge, but the ones every job has are ours.
    ws.write("bad-spark.yml", "type: spark\nname: ../escape\nentry:\n  file: main.py\n");
    let bad = ws.run(&binary("aml-train"), &["validate", "bad-spark.yml"]);
    assert_eq!(bad.status.code(), Some(2), "{}", render(&bad));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a valid job name"), "{}", render(&bad));
}

#[test]
fn inputs_only_azure_ml_reaches_are_valid_and_refused_locally_naming_the_field() {
    let ws = TestWorkspace::new();
    ws.write(
        "remote.yml",
        "command: cat ${{inputs.iris}} ${{inputs.registered}}\nenvironment:\n  image: python\n\
         inputs:\n  iris:\n    type: uri_file\n    path: wasbs://datasets@example.blob.core.windows.net/iris.csv?sv=1&sig=secret\n\
         \x20 registered:\n    type: uri_folder\n    path: azureml:sampledata@latest\n",
    );
    let checked = ws.run(&binary("aml-train"), &["validate", "remote.yml"]);
    assert_eq!(checked.status.code(), Some(0), "{}", render(&checked));
    let said = render(&checked);
    assert!(said.contains("note: inputs.iris.path:"), "{said}");
    assert!(
        said.contains("note: inputs.registered.path: `azureml:sampledata@latest` names a registered data asset"),
        "{said}"
    );
    assert!(!said.contains("secret") && !said.contains("sig=abc"), "a credential was printed: {said}");
    let run = ws.run(&binary("aml-train"), &["run", "remote.yml"]);
    assert_eq!(run.status.code(), Some(2), "{}", render(&run));
    let said = render(&run);
    assert!(said.contains("remote.yml: field `inputs.iris.path`"), "{said}");
    assert!(said.contains("--workspace azureml://"), "{said}");
    assert!(!said.contains("secret") && !said.contains("sig=abc"), "a credential was printed: {said}");
    assert!(!ws.workspace().exists(), "a refused run created the workspace");

    // Data a script makes before the run: the file is valid (azure-ai-ml loads it), no
    // backend runs it while the data is missing.
    ws.write(
        "later.yml",
        "command: cat ${{inputs.data}}\nenvironment:\n  image: python\n\
         inputs:\n  data:\n    type: uri_file\n    path: ./made-later.csv\n",
    );
    let checked = ws.run(&binary("aml-train"), &["validate", "later.yml"]);
    assert_eq!(checked.status.code(), Some(0), "{}", render(&checked));
    assert!(render(&checked).contains("note: inputs.data.path: `./made-later.csv` is not an existing file"));
    let run = ws.run(&binary("aml-train"), &["run", "later.yml"]);
    assert_eq!(run.status.code(), Some(2), "{}", render(&run));
    assert!(render(&run).contains("later.yml: field `inputs.data.path`"), "{}", render(&run));
    assert!(!ws.workspace().exists(), "a refused run created the workspace");
    ws.write("made-later.csv", "a\n1\n");
    let checked = ws.run(&binary("aml-train"), &["validate", "later.yml"]);
    assert!(!render(&checked).contains("note:"), "{}", render(&checked));
}

#[test]
fn a_registered_environment_is_valid_and_refused_only_where_it_cannot_be_built() {
    let ws = TestWorkspace::new();
    ws.write(
        "registry-env.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n\
         command: echo hello\n\
         environment: azureml:team-sklearn@latest\n",
    );
    let checked = ws.run(&binary("aml-train"), &["validate", "registry-env.yml"]);
    assert_eq!(checked.status.code(), Some(0), "{}", render(&checked));
    assert!(render(&checked).contains("this local workspace has none by that name"), "{}", render(&checked));
    let run = ws.run(&binary("aml-train"), &["run", "registry-env.yml"]);
    assert_eq!(run.status.code(), Some(2), "{}", render(&run));
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(said.contains("registry-env.yml: field `environment`"), "{said}");
    assert!(said.contains("--workspace azureml://"), "{said}");
    assert!(!ws.workspace().exists(), "a refused run created the workspace");
}

#[test]
fn a_sweep_too_large_to_run_here_is_said_without_being_drawn() {
    let ws = TestWorkspace::new();
    let dimensions: String = (0..12)
        .map(|d| {
            format!(
                "  d{d}:\n    type: choice\n    values: [{}]\n",
                (0..100).map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    ws.write(
        "huge.yml",
        &format!(
            "type: sweep\ntrial:\n  command: echo ${{{{search_space.d0}}}}\n  environment:\n    image: python\n\
             sampling_algorithm: grid\nobjective:\n  goal: Maximize\n  primary_metric: acc\nsearch_space:\n{dimensions}"
        ),
    );
    // 100^12 points: judged in an instant, never drawn.
    let checked = ws.run(&binary("aml-train"), &["validate", "huge.yml"]);
    assert_eq!(checked.status.code(), Some(0), "{}", render(&checked));
    assert!(render(&checked).contains("more than the 1000 a local sweep runs"), "{}", render(&checked));
    let run = ws.run(&binary("aml-train"), &["run", "huge.yml"]);
    assert_eq!(run.status.code(), Some(2), "{}", render(&run));
    assert!(render(&run).contains("field `limits.max_total_trials`"), "{}", render(&run));
    // A name the search space lacks, and a grid over a continuous dimension, are not valid.
    ws.write(
        "typo.yml",
        "type: sweep\ntrial:\n  command: echo ${{search_space.alhpa}}\n  environment:\n    image: python\n\
         sampling_algorithm: grid\nobjective:\n  goal: minimize\n  primary_metric: rmse\n\
         search_space:\n  alpha:\n    type: uniform\n    min_value: 0\n    max_value: 1\n",
    );
    let typo = ws.run(&binary("aml-train"), &["validate", "typo.yml"]);
    assert_eq!(typo.status.code(), Some(2), "{}", render(&typo));
    assert!(render(&typo).contains("grid sampling takes `choice` dimensions only"), "{}", render(&typo));
    let random = ws.run(&binary("aml-train"), &["validate", "typo.yml", "--set", "sampling_algorithm=random"]);
    assert_eq!(random.status.code(), Some(2), "{}", render(&random));
    assert!(render(&random).contains("the search space has no `alhpa`"), "{}", render(&random));
}
