//! Azure ML's own environments (`azureml://registries/azureml/environments/…`, curated
//! `azureml:AzureML-…`) on the local workspace: built from their published definitions where
//! those list a Python and its packages, and otherwise refused before anything is written,
//! saying why and where they run.

use aml_client::testing::{TestWorkspace, binary, render};

fn job(ws: &TestWorkspace, environment: &str) {
    ws.write(
        "job.yml",
        &format!(
            "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n\
             command: python -c \"import sys, numpy, azureml_inference_server_http; print('python %d.%d' % sys.version_info[:2], 'numpy', numpy.__version__)\"\n\
             environment: {environment}\n"
        ),
    );
}

/// `X.Y` of the `python3` on PATH.
fn python3_version() -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_registry_environment_with_a_published_conda_file_becomes_a_virtualenv_and_the_job_completes() {
    let ws = TestWorkspace::new();
    // Published for Python 3.11 (the Python this kind of machine has): the inference server,
    // azure-storage-blob, azure-identity, numpy and joblib, at their latest versions.
    job(&ws, "azureml://registries/azureml/environments/minimal-py311-inference/labels/latest");
    let run = ws.run(&binary("aml-train"), &["run", "job.yml"]);
    let said = render(&run);
    assert_eq!(run.status.code(), Some(0), "{said}");
    assert!(
        said.contains("is Azure ML's `minimal-py311-inference` environment: locally, a virtualenv of the packages its published conda file lists on Python 3.11"),
        "{said}"
    );
    assert!(said.contains("`assets/inference/environments/minimal-py311-inference`"), "{said}");
    assert!(said.contains("python 3.11 numpy "), "{said}");
    assert!(said.contains(": Completed"), "{said}");

    // Its curated name in a workspace is the same environment: built once, reused.
    job(&ws, "azureml:AzureML-minimal-py311-inference@latest");
    let again = ws.run(&binary("aml-train"), &["run", "job.yml"]);
    let said = render(&again);
    assert_eq!(again.status.code(), Some(0), "{said}");
    assert!(!said.contains("building environment"), "the same packages were built again: {said}");
}

#[test]
fn an_environment_built_for_a_python_not_here_is_refused_naming_the_python_and_where_it_runs() {
    let ws = TestWorkspace::new();
    // Only the machine's python3 on PATH, and no pyenv or uv Pythons; the environment asks
    // for another Python.
    let bin = ws.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let python3 = real_python3();
    std::os::unix::fs::symlink(&python3, bin.join("python3")).unwrap();
    let (environment, wanted) =
        if python3_version() == "3.10" { ("sklearn-1.1", "3.9") } else { ("sklearn-1.5", "3.10") };
    job(&ws, &format!("azureml://registries/azureml/environments/{environment}/labels/latest"));

    let only_path = |command: &mut std::process::Command| {
        command.env("PATH", &bin).env("PYENV_ROOT", ws.path().join("no-pyenv"));
        command.env("UV_PYTHON_INSTALL_DIR", ws.path().join("no-uv"));
    };
    let mut validate = ws.command(&binary("aml-train"));
    only_path(validate.args(["validate", "job.yml"]));
    let checked = validate.output().unwrap();
    assert_eq!(checked.status.code(), Some(0), "{}", render(&checked));
    assert!(render(&checked).contains(&format!("on Python {wanted}")), "{}", render(&checked));

    let mut run = ws.command(&binary("aml-train"));
    only_path(run.args(["run", "job.yml"]));
    let run = run.output().unwrap();
    let said = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{said}");
    assert!(said.contains("job.yml: field `environment`"), "{said}");
    assert!(said.contains(&format!("is built for Python {wanted}, and there is no Python {wanted} here")), "{said}");
    assert!(said.contains(&format!("is {}.", python3_version())), "what was found is named: {said}");
    assert!(said.contains(&format!("`pyenv install {wanted}`")), "{said}");
    assert!(said.contains("set AML_PYTHON"), "{said}");
    assert!(said.contains("--workspace azureml://"), "{said}");
    assert!(!ws.workspace().exists(), "a refused run created the workspace");
}

#[test]
fn an_environment_only_its_image_defines_is_valid_and_refused_here_saying_why() {
    let ws = TestWorkspace::new();
    for (environment, why) in [
        (
            "azureml:AzureML-acpt-pytorch-2.8-cuda12.6@latest",
            "Azure ML's `acpt-pytorch-2.8-cuda12.6` environment installs its requirements.txt on top of the image `mcr.microsoft.com/aifx/acpt/stable-ubuntu2204-cu126-py310-torch280`, whose Python and packages no published file lists",
        ),
        (
            "azureml://registries/azureml/environments/ai-ml-automl/versions/3",
            "Azure ML's `ai-ml-automl` environment is defined by a Dockerfile on `mcr.microsoft.com/azureml/openmpi5.0-ubuntu24.04` alone",
        ),
        (
            "azureml://registries/azureml/environments/no-such-environment/labels/latest",
            "`no-such-environment` is not among the",
        ),
    ] {
        job(&ws, environment);
        let checked = ws.run(&binary("aml-train"), &["validate", "job.yml"]);
        assert_eq!(checked.status.code(), Some(0), "{}", render(&checked));
        assert!(render(&checked).contains(why), "{environment}: {}", render(&checked));
        let run = ws.run(&binary("aml-train"), &["run", "job.yml"]);
        let said = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{said}");
        assert!(said.contains(&format!("job.yml: field `environment`: `{environment}`: {why}")), "{said}");
        assert!(said.contains("--workspace azureml://"), "{said}");
        assert!(!ws.workspace().exists(), "a refused run created the workspace");
    }
}

/// The interpreter `python3` runs (not a version manager's shim, which needs its own PATH).
fn real_python3() -> std::path::PathBuf {
    let out = std::process::Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output().unwrap();
    std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}
