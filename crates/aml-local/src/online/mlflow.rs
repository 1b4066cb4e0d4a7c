//! No-code MLflow deployments: a deployment with no `code_configuration` serving an MLflow
//! model, as Azure ML serves it — its own scoring script, and (when the deployment names no
//! environment) the model's own `requirements.txt` plus the inference server.

use std::path::PathBuf;

use aml_core::error::{Error, Result};
use aml_core::jobplan::EnvPlan;

/// The scoring script Azure ML's no-code MLflow deployments stand for.
pub const SCORING_SCRIPT: &str = include_str!("mlflow_score.py");
pub const SCORING_SCRIPT_NAME: &str = "mlflow_score.py";

/// What serves every request, added to the model's requirements unless they name it.
const INFERENCE_SERVER: &str = "azureml-inference-server-http";

/// The folder (a prefix of the model's paths, `""` for its root) holding its `MLmodel`:
/// the shallowest one, as a model may hold others inside it.
pub fn model_root<'a>(paths: impl Iterator<Item = &'a str>) -> Option<String> {
    paths
        .filter(|p| *p == "MLmodel" || p.ends_with("/MLmodel"))
        .min_by_key(|p| p.matches('/').count())
        .map(|p| p.strip_suffix("MLmodel").unwrap_or_default().to_string())
}

/// The environment a no-code deployment runs in when it names none: the MLflow model's
/// `requirements.txt` and the Python of its `python_env.yaml`.
pub fn environment(model: &str, files: &[(String, PathBuf)]) -> Result<EnvPlan> {
    let root = model_root(files.iter().map(|(p, _)| p.as_str())).ok_or_else(|| not_mlflow(model))?;
    let find = |name: &str| files.iter().find(|(p, _)| *p == format!("{root}{name}")).map(|(_, stored)| stored);
    let requirements = find("requirements.txt").ok_or_else(|| {
        Error::usage(
            format!("MLflow model `{model}` has no `requirements.txt` to build its environment from"),
            "give the deployment an `environment:` with the model's packages and azureml-inference-server-http",
        )
    })?;
    let text = std::fs::read_to_string(requirements)
        .map_err(|e| Error::storage(format!("cannot read the requirements of model `{model}`"), e))?;
    let mut packages = aml_core::jobplan::requirement_lines(&text);
    if !packages.iter().any(|p| p.starts_with(INFERENCE_SERVER)) {
        packages.push(INFERENCE_SERVER.to_string());
    }
    let python = find("python_env.yaml").and_then(|stored| std::fs::read_to_string(stored).ok()).and_then(|text| {
        let version = text.lines().find_map(|l| l.trim().strip_prefix("python:"))?.trim().trim_matches('"');
        let mut parts = version.split('.');
        Some(format!("{}.{}", parts.next()?, parts.next()?))
    });
    Ok(EnvPlan::Packages {
        packages,
        python,
        described_by: PathBuf::from(format!("the requirements.txt of MLflow model {model}")),
        python_required: false,
    })
}

pub fn not_mlflow(model: &str) -> Error {
    Error::usage(
        format!(
            "model `{model}` is not an MLflow model (no `MLmodel` file), so it cannot be served without a scoring script"
        ),
        "add `code_configuration` (`code` and `scoring_script`) to the deployment, or deploy an MLflow model",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shallowest_mlmodel_is_the_model() {
        assert_eq!(model_root(["MLmodel", "code/x.py"].into_iter()).as_deref(), Some(""));
        assert_eq!(model_root(["m/sub/MLmodel", "m/MLmodel"].into_iter()).as_deref(), Some("m/"));
        assert_eq!(model_root(["model.pkl", "notMLmodel"].into_iter()), None);
    }
}
