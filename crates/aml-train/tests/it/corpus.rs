//! Fidelity on files we did not write: every `az ml` asset file of Azure/azureml-examples'
//! `cli/` (vendored in `tests/corpus/`), judged by our tools and by azure-ai-ml (the oracle,
//! `tests/corpus/oracle.py`, run live from the test venv). Agreement — both accept or both
//! refuse — is reported per kind; the test fails if it falls below what was reached (the
//! ratchet), and prints every disagreement with both sides' reasons.

use std::collections::BTreeMap;
use std::path::Path;

use aml_client::testing::{TestWorkspace, binary, repo_root, venv_python};

/// Agreement reached so far (of the files we have a verb for, batch excluded); raise it as
/// causes are solved, never lower it.
const REACHED: usize = 356;
/// Agreement on the batch endpoint and deployment files, judged apart.
const BATCH_REACHED: usize = 41;
/// The goal: 95 in 100.
const TARGET_PERCENT: usize = 95;

/// Every disagreement left, and why we keep it: each is a rule Azure ML's service holds the
/// file to when it is created, which azure-ai-ml does not check when it loads the file. A
/// disagreement not listed here fails the test: fix its cause, or say here why it stays.
const EXPLAINED: &[(&str, &str)] = &[
    (
        "cli/endpoints/batch/deploy-models/imagenet-classifier/imagenet-sample-unlabeled.yml",
        "its folder `data` is not in the repository (its description says to download it first); registering copies a local folder, so it must exist, as `az ml data create` must upload it",
    ),
    (
        "cli/endpoints/online/deploy-with-packages/custom-model/model-deployment.yml",
        "`regular_deployment`: Azure ML's deployment names are 3 to 32 letters, digits and `-`; we check names where they enter",
    ),
    (
        "cli/endpoints/online/managed/binary-payloads/binary-payloads-deployment.yml",
        "`endpoint_name: <ENDPOINT_NAME>` is a placeholder, not an endpoint name; give it with `--set endpoint_name=NAME`",
    ),
    (
        "cli/endpoints/online/managed/inference-schema/deployment-numpy.yml",
        "`endpoint_name: <endpoint_name>` is a placeholder; give it with `--set endpoint_name=NAME`",
    ),
    (
        "cli/endpoints/online/managed/inference-schema/deployment-pandas.yml",
        "`endpoint_name: <endpoint_name>` is a placeholder; give it with `--set endpoint_name=NAME`",
    ),
    (
        "cli/endpoints/online/managed/inference-schema/deployment-standard.yml",
        "`endpoint_name: <endpoint_name>` is a placeholder; give it with `--set endpoint_name=NAME`",
    ),
    (
        "cli/endpoints/online/managed/keyvault/keyvault-deployment.yml",
        "`endpoint_name: <ENDPOINT_NAME>` is a placeholder; give it with `--set endpoint_name=NAME`",
    ),
    (
        "cli/endpoints/online/managed/openapi/deployment.yml",
        "`endpoint_name: <my-endpoint-name>` is a placeholder; give it with `--set endpoint_name=NAME`",
    ),
    (
        "cli/jobs/automl-standalone-jobs/cli-automl-classification-task-bankmarketing/cli-automl-classification-task-bankmarketing-serverless.yml",
        "an automl job's own fields (here `resources`) are Azure ML's to judge: aml-train does not run automl, so it does not model them",
    ),
    (
        "cli/jobs/pipelines-with-components/nyc_taxi_data_regression/env_train.yml",
        "`version: 1-<VERSION>` is a placeholder; Azure ML's versions are digits and letters",
    ),
    (
        "cli/jobs/pipelines-with-components/nyc_taxi_data_regression/artifacts/model/nyc-taxi-model.yaml",
        "`version: <VERSION>` is a placeholder; Azure ML's versions are digits and letters",
    ),
    (
        "cli/jobs/pipelines-with-components/nyc_taxi_data_regression/deploy.yml",
        "`model: azureml://registries/<REGISTRY_NAME>/…` is a placeholder, not a registry name",
    ),
];

/// Our verb for a kind of file: the tool and its arguments before the file.
fn verb(kind: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match kind {
        "commandjob" | "pipelinejob" | "sweepjob" | "sparkjob" | "automljob" => ("aml-train", &["validate"]),
        "managedonlineendpoint"
        | "kubernetesonlineendpoint"
        | "managedonlinedeployment"
        | "kubernetesonlinedeployment"
        | "batchendpoint"
        | "batchdeployment"
        | "modelbatchdeployment"
        | "pipelinecomponentbatchdeployment" => ("aml-deploy", &["validate", "-f"]),
        "model" => ("aml-register", &["model", "-f"]),
        "environment" => ("aml-register", &["environment", "-f"]),
        "data" => ("aml-register", &["data", "-f"]),
        "commandcomponent" => ("aml-register", &["component", "-f"]),
        _ => return None,
    })
}

fn is_batch(kind: &str) -> bool {
    kind.starts_with("batch") || kind.ends_with("batchdeployment")
}

#[derive(serde::Deserialize)]
struct Verdict {
    kind: String,
    accepted: bool,
    #[serde(default)]
    why: String,
}

fn corpus() -> std::path::PathBuf {
    repo_root().join("crates/aml-train/tests/corpus/azureml-examples")
}

/// azure-ai-ml's verdict on every asset file of the corpus, by path.
fn verdicts(corpus: &std::path::Path) -> BTreeMap<String, Verdict> {
    let oracle = std::process::Command::new(venv_python())
        .arg(corpus.parent().unwrap().join("oracle.py"))
        .arg(corpus)
        .output()
        .unwrap();
    assert!(oracle.status.success(), "the oracle failed: {}", String::from_utf8_lossy(&oracle.stderr));
    serde_json::from_slice(&oracle.stdout).unwrap()
}

#[test]
fn public_az_ml_files_are_judged_as_azure_ai_ml_judges_them() {
    let corpus = corpus();
    let verdicts = verdicts(&corpus);

    let ws = TestWorkspace::new();
    let workspace = format!("local:{}", ws.workspace().display());
    // kind → (agree, files); and every disagreement, for the report.
    let mut by_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut disagreements = Vec::new();
    let mut unexplained = Vec::new();
    let (mut agree, mut judged, mut batch, mut batch_agree, mut no_verb) = (0, 0, 0, 0, 0);
    for (file, verdict) in &verdicts {
        let Some((tool, args)) = verb(&verdict.kind) else {
            no_verb += 1;
            continue;
        };
        let path = corpus.join(file);
        // Each file registers into a workspace of its own: files of different examples reuse
        // names and versions, as they do in the different workspaces they are written for.
        let workspace = format!("{workspace}-{judged}-{batch}");
        let out = ws.command(&binary(tool)).args(args).arg(&path).args(["--workspace", &workspace]).output().unwrap();
        let code = out.status.code();
        assert!(
            matches!(code, Some(0) | Some(2)),
            "{tool} on {file}: exit {code:?}, not 0 or 2: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = code == Some(0);
        if is_batch(&verdict.kind) {
            // Judged apart: the target is on the other kinds; batch files have their own ratchet.
            batch += 1;
            if ours == verdict.accepted {
                batch_agree += 1;
            } else {
                disagreements.push(format!("{file} (batch): azure-ai-ml {}, we {}", verdict.accepted, ours));
                unexplained.push(file.clone());
            }
            continue;
        }
        judged += 1;
        let entry = by_kind.entry(verdict.kind.clone()).or_default();
        entry.1 += 1;
        if ours == verdict.accepted {
            agree += 1;
            entry.0 += 1;
        } else {
            let said = String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or_default()
                .replace(&corpus.display().to_string(), "…");
            let reason = EXPLAINED.iter().find(|(f, _)| f == file).map(|(_, why)| *why);
            if reason.is_none() {
                unexplained.push(file.clone());
            }
            disagreements.push(format!(
                "{file}: azure-ai-ml {}, we {}{}; {}",
                if verdict.accepted { "accepts" } else { "refuses" },
                if ours { "accept" } else { "refuse" },
                if ours { format!(" (it says: {})", verdict.why) } else { format!(" ({said})") },
                reason.map_or("NOT EXPLAINED".to_string(), |why| format!("why: {why}"))
            ));
        }
    }
    let mut report = format!(
        "agreement with azure-ai-ml on {judged} files we have a verb for: {agree} ({}%; target {TARGET_PERCENT}%, reached before {REACHED}); batch files (judged by `aml-deploy validate`, not deployed): {batch_agree} of {batch} (reached before {BATCH_REACHED}); {no_verb} files of kinds without a verb\n",
        agree * 100 / judged.max(1)
    );
    for (kind, (agreed, files)) in &by_kind {
        report.push_str(&format!("  {kind}: {agreed} of {files}\n"));
    }
    for line in &disagreements {
        report.push_str(&format!("  - {line}\n"));
    }
    eprintln!("{report}");
    assert!(agree >= REACHED, "agreement fell from {REACHED} to {agree}:\n{report}");
    assert!(batch_agree >= BATCH_REACHED, "batch agreement fell from {BATCH_REACHED} to {batch_agree}:\n{report}");
    assert!(unexplained.is_empty(), "disagreements with no reason in EXPLAINED: {unexplained:?}\n{report}");
    assert!(agree * 100 >= judged * TARGET_PERCENT, "agreement is below the target:\n{report}");
}

const TENSORFLOW_GPU: &str = "Azure ML's `tensorflow-2.16-cuda12` environment is a GPU one (`tensorflow[and-cuda]`: gigabytes of CUDA wheels), and its `matplotlib~=3.5.0` builds from a source download beyond this machine's network";

/// Public jobs that ran to Completed here when last measured; the test fails below it.
const COMPLETED: usize = 40;

/// Jobs both sides accept that cannot run here, and why: listed, not run (their environments
/// take minutes to fail); the test fails on any other that does not complete.
const RUNS_EXPLAINED: &[(&str, &str)] = &[
    ("cli/jobs/basics/hello-interactive.yml", TENSORFLOW_GPU),
    ("cli/jobs/pipelines-with-components/basics/6a_tf_hello_world/pipeline.yml", TENSORFLOW_GPU),
    ("cli/jobs/single-step/tensorflow/mnist-distributed/job.yml", TENSORFLOW_GPU),
    ("cli/jobs/single-step/tensorflow/mnist/job.yml", TENSORFLOW_GPU),
    ("cli/jobs/pipelines/tensorflow-image-segmentation/pipeline.yml", TENSORFLOW_GPU),
    (
        "cli/jobs/basics/hello-model-as-output.yml",
        "its script saves a model with `mlflow.sklearn.save_model`, whose default format is skops from mlflow 3.14 (2026-06), and `sklearn-1.5`'s published packages do not include skops: a build of that definition fails the same way (`No module named 'skops'`)",
    ),
    (
        "cli/jobs/single-step/pytorch/iris/job.yml",
        "its command pip-installs torch and torchvision, which PyPI serves for Linux with NVIDIA's CUDA libraries (gigabytes), beyond what a test run downloads",
    ),
    (
        "cli/jobs/single-step/scikit-learn/iris-notebook/job.yml",
        "its Dockerfile's base is python:3.8 and its pins (scipy==1.7.1) have no wheel for the Python 3.11 here",
    ),
];

/// `(--set key, URL)` of every input of the job and of its steps that reads the web.
fn web_inputs(document: &serde_json::Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut scan = |prefix: String, inputs: &serde_json::Value| {
        let web = |text: &str| text.starts_with("http://") || text.starts_with("https://");
        for (name, input) in inputs.as_object().into_iter().flatten() {
            if let Some(url) = input["path"].as_str().filter(|p| web(p)) {
                found.push((format!("{prefix}inputs.{name}.path"), url.to_string()));
            } else if let Some(url) = input.as_str().filter(|p| web(p)) {
                // A literal the job's script downloads itself.
                found.push((format!("{prefix}inputs.{name}"), url.to_string()));
            }
        }
    };
    scan(String::new(), &document["inputs"]);
    for (step, job) in document["jobs"].as_object().into_iter().flatten() {
        scan(format!("jobs.{step}."), &job["inputs"]);
    }
    found
}

/// A loopback server standing in for the web: a GET for a file name `tests/fixtures/web/`
/// holds gets that stand-in (the same public data, see its README); any other gets a small
/// CSV marked as a stand-in. Jobs reading `https://` files run without the network.
static STAND_IN: std::sync::LazyLock<u16> = std::sync::LazyLock::new(|| {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/web");
    aml_client::testing::http_server(move |head| {
        let path = head.first().and_then(|line| line.split(' ').nth(1)).unwrap_or_default();
        let name = path.split(['?', '#']).next().unwrap_or_default().rsplit('/').next().unwrap_or_default();
        let known = (!name.is_empty() && !name.starts_with('.') && name != "README.md")
            .then(|| std::fs::read_to_string(fixtures.join(name)).ok())
            .flatten();
        (200, Vec::new(), known.unwrap_or_else(|| "stand_in,for_the_web_file\n1,2\n".to_string()))
    })
    .unwrap()
});

/// Whether a job's local inputs (its own or its steps') hold a file the vendored corpus
/// replaced by a one-line stand-in (`stand-in: N bytes at …`, too large to vendor).
fn reads_left_out_data(file: &Path, document: &serde_json::Value) -> bool {
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut paths: Vec<String> = Vec::new();
    let mut scan = |inputs: &serde_json::Value| {
        for input in inputs.as_object().into_iter().flatten().map(|(_, i)| i) {
            if let Some(path) = input["path"].as_str().filter(|p| !p.contains("://") && !p.starts_with("azureml:")) {
                paths.push(path.to_string());
            }
        }
    };
    scan(&document["inputs"]);
    for job in document["jobs"].as_object().into_iter().flatten().map(|(_, j)| j) {
        scan(&job["inputs"]);
    }
    paths.iter().any(|path| {
        files_under(&dir.join(path)).iter().any(|f| std::fs::read(f).is_ok_and(|b| b.starts_with(b"stand-in: ")))
    })
}

fn files_under(path: &Path) -> Vec<std::path::PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    std::fs::read_dir(path).into_iter().flatten().flatten().flat_map(|e| files_under(&e.path())).collect()
}

/// Every command and pipeline job azure-ai-ml and we both accept, with nothing `validate`
/// notes as not runnable here, runs to Completed on a local workspace; web inputs come
/// from a loopback stand-in, so the test reaches no network but package indexes.
#[test]
fn the_public_jobs_both_accept_run_to_completed_locally() {
    let corpus = corpus();
    let ws = TestWorkspace::new();
    let workspace = format!("local:{}", ws.workspace().display());
    let mut report = String::new();
    let (mut completed, mut web, mut not_here, mut left_out) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for (file, verdict) in verdicts(&corpus) {
        if !verdict.accepted || !matches!(verdict.kind.as_str(), "commandjob" | "pipelinejob") {
            continue;
        }
        let path = corpus.join(&file);
        let checked = ws.command(&binary("aml-train")).args(["validate", "-o", "json"]).arg(&path).output().unwrap();
        if checked.status.code() != Some(0) {
            continue;
        }
        let view: serde_json::Value = serde_json::from_slice(&checked.stdout).unwrap();
        if !view["notes"].as_array().is_some_and(|n| n.is_empty()) {
            not_here += 1;
            continue;
        }
        // Web inputs are fetched from a loopback stand-in, given with `--set` as a user would.
        let text = std::fs::read_to_string(&path).unwrap();
        let document: serde_json::Value = aml_client::yaml::parse(&path, &text).unwrap();
        if reads_left_out_data(&path, &document) {
            left_out += 1;
            report.push_str(&format!("  not run, its data was too large to vendor: {file}\n"));
            continue;
        }
        let sets: Vec<String> = web_inputs(&document)
            .into_iter()
            .map(|(key, url)| {
                let name = url.split(['?', '#']).next().unwrap().rsplit('/').next().unwrap().to_string();
                format!("{key}=http://127.0.0.1:{}/{name}", *STAND_IN)
            })
            .collect();
        if !sets.is_empty() {
            web += 1;
            report.push_str(&format!("  web input from the loopback stand-in: {file}\n"));
        }
        if let Some((_, why)) = RUNS_EXPLAINED.iter().find(|(f, _)| *f == file) {
            report.push_str(&format!("  not run, explained: {file}: {why}\n"));
            continue;
        }
        let run = ws
            .command(&binary("aml-train"))
            .args(["run", "-q", "-o", "json", "--workspace", &workspace])
            .arg(&path)
            .args(sets.iter().flat_map(|set| ["--set", set.as_str()]))
            .current_dir(path.parent().unwrap())
            .output()
            .unwrap();
        let status = serde_json::from_slice::<serde_json::Value>(&run.stdout)
            .map(|job| job["status"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|_| format!("exit {:?}", run.status.code()));
        if status == "Completed" {
            completed += 1;
        } else {
            failures.push(format!(
                "{file}: {status}\n{}",
                String::from_utf8_lossy(&run.stderr).lines().rev().take(8).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    eprintln!(
        "public jobs both accept: {completed} ran to Completed here ({web} reading the web from the stand-in), {} explained, {left_out} read data too large to vendor, {not_here} need Azure ML\n{report}",
        RUNS_EXPLAINED.len()
    );
    assert!(completed >= COMPLETED, "fewer public jobs ran than before ({COMPLETED}): {completed}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
