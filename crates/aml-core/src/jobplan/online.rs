//! What `aml-deploy validate` checks: everything `apply` checks in an endpoint or deployment
//! file itself, before any workspace is opened (names, the code folder and its scoring
//! script, the environment's files, an inline model's path).

use crate::error::{Error, Result};
use crate::refs::ModelRef;
use crate::yaml::deploy_file::OnlineSpec;
use crate::yaml::endpoint::{DeploymentModel, inline_model, nothing_to_serve, scoring_code};
use crate::yaml::environment::EnvironmentRef;

/// Checks the file; the notes say what only a workspace can settle (a registered model or
/// environment, looked up when applied).
pub fn check_online(spec: &OnlineSpec) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    let (file, spec) = match spec {
        OnlineSpec::Deployment { file, spec } => (file, spec),
        OnlineSpec::BatchEndpoint { .. } | OnlineSpec::BatchDeployment { .. } => return check_batch(spec),
        OnlineSpec::Endpoint { .. } => return Ok(notes),
    };
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
        Some(EnvironmentRef::Registered(name)) if super::registry_environments::azureml_environment(name).is_none() => {
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
            inline_model(file, (&spec.endpoint_name, &spec.name), inline, None)?;
        }
        None => {}
    }
    Ok(notes)
}

/// Where a batch file applies, said on every one.
pub const BATCH_WHERE: &str = "batch endpoints and model deployments apply to a local workspace (`aml-deploy apply`, then `aml-deploy invoke`); aml-deploy does not deploy them to Azure ML yet (`az ml batch-endpoint create` / `az ml batch-deployment create` do)";

/// A batch file's own paths, as azure-ai-ml's path fields check them when it loads the file:
/// the code folder, an inline model, an inline environment's files, a component file.
fn check_batch(spec: &OnlineSpec) -> Result<Vec<String>> {
    use crate::yaml::batch::BatchDeployment;
    let mut notes = vec![BATCH_WHERE.to_string()];
    let OnlineSpec::BatchDeployment { file, spec } = spec else { return Ok(notes) };
    let exists = |field: &str, written: &str| -> Result<()> {
        let path = crate::yaml::resolve_path(file, written);
        if path.exists() {
            return Ok(());
        }
        Err(Error::in_file(
            file,
            Some(field),
            format!("`{written}` does not exist (looked for `{}`)", path.display()),
            "paths are relative to the deployment file's folder",
        ))
    };
    match spec {
        BatchDeployment::Model(spec) => {
            if let Some(code) = &spec.code_configuration
                && !code.code.starts_with("azureml:")
            {
                exists("code_configuration.code", &code.code)?;
            }
            match &spec.environment {
                Some(EnvironmentRef::Registered(name))
                    if super::registry_environments::azureml_environment(name).is_none() =>
                {
                    notes.push(format!("environment `{name}` is looked up in the workspace when applied"));
                }
                Some(environment) => {
                    super::plan_environment(file, "environment", environment, &mut notes)?;
                }
                None => {}
            }
            match &spec.model {
                Some(DeploymentModel::Registered(written)) => {
                    notes.push(format!("model `{written}` is looked up in the workspace when applied"));
                }
                Some(DeploymentModel::Inline(inline)) => {
                    if let Some(path) = &inline.path {
                        exists("model.path", path)?;
                    }
                }
                None => {}
            }
        }
        BatchDeployment::Pipeline(spec) => {
            if let Some(yaml_serde::Value::String(component)) = &spec.component
                && !component.starts_with("azureml:")
            {
                exists("component", component)?;
            }
        }
    }
    Ok(notes)
}
