//! What `aml-deploy validate` checks: everything `apply` checks in an endpoint or deployment
//! file itself, before any workspace is opened (names, the code folder and its scoring
//! script, the environment's files, an inline model's path).

use crate::error::{Error, Result};
use crate::refs::ModelRef;
use crate::yaml::endpoint::{DeploymentModel, OnlineSpec, inline_model, nothing_to_serve, scoring_code};
use crate::yaml::environment::EnvironmentRef;

/// Checks the file; the notes say what only a workspace can settle (a registered model or
/// environment, looked up when applied).
pub fn check_online(spec: &OnlineSpec) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    let OnlineSpec::Deployment { file, spec } = spec else { return Ok(notes) };
    let code = scoring_code(file, spec)?;
    // With neither code nor model, the environment must be the whole server (a model
    // package, a custom container); with none of the three there is nothing to serve.
    if code.is_none() && spec.model.is_none() && spec.environment.is_none() {
        return Err(nothing_to_serve(file));
    }
    if code.is_none() {
        notes.push(
            "no `code_configuration`: the model is served without a scoring script, as Azure ML serves an MLflow model (locally: MLflow models only)"
                .into(),
        );
    }
    match &spec.environment {
        // A no-code deployment may leave the environment to the model's own requirements.
        None if code.is_none() => {}
        None => {
            return Err(Error::in_file(
                file,
                Some("environment"),
                "is missing",
                "give the environment (`image` and `conda_file`)",
            ));
        }
        Some(EnvironmentRef::Registered(name)) => {
            notes.push(format!("environment `{name}` is looked up in the workspace when applied"));
        }
        Some(environment) => {
            super::plan_environment(file, "environment", environment, &mut notes)?;
        }
    }
    match &spec.model {
        Some(DeploymentModel::Registered(written)) => {
            written.parse::<ModelRef>().map_err(|e: Error| {
                Error::in_file(file, Some("model"), e.to_string(), "write `azureml:<name>:<version>`")
            })?;
            notes.push(format!("model `{written}` is looked up in the workspace when applied"));
        }
        Some(DeploymentModel::Inline(inline)) => {
            inline_model(file, spec, inline, None)?;
        }
        None => {}
    }
    Ok(notes)
}
