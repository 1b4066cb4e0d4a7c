//! An endpoint or deployment file as `aml-deploy` takes it: online or batch, endpoint or
//! deployment, told apart by its `$schema` and fields, and read with the schema that names.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use yaml_serde::Value;

use super::endpoint::{OnlineDeployment, OnlineEndpoint, OnlineKind};
use super::{Scalar, SetArg};
use crate::error::{Error, Result};

/// An endpoint or a deployment file, told apart by their fields as `az ml` users write them.
#[derive(Debug, Clone)]
pub enum OnlineSpec {
    Endpoint {
        file: PathBuf,
        spec: Box<OnlineEndpoint>,
    },
    Deployment {
        file: PathBuf,
        spec: Box<OnlineDeployment>,
    },
    /// A batch endpoint or deployment (`$schema: …/batchEndpoint.schema.json`, …): judged as
    /// azure-ai-ml judges it; not applied yet.
    BatchEndpoint {
        file: PathBuf,
        spec: Box<super::batch::BatchEndpoint>,
    },
    BatchDeployment {
        file: PathBuf,
        spec: super::batch::BatchDeployment,
    },
}

pub fn load_online(path: &Path, sets: &[SetArg]) -> Result<OnlineSpec> {
    let text = super::read(path)?;
    #[derive(Deserialize)]
    struct Peek {
        #[serde(rename = "$schema")]
        schema: Option<String>,
        endpoint_name: Option<Scalar>,
        model: Option<Value>,
        code_configuration: Option<Value>,
    }
    let peek: Peek = super::parse(path, &text)?;
    let schema = peek.schema.unwrap_or_default().to_ascii_lowercase();
    let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let is_deployment = schema.contains("deployment")
        || (!schema.contains("endpoint")
            && (peek.endpoint_name.is_some() || peek.model.is_some() || peek.code_configuration.is_some()));
    if schema.contains("batch") {
        return load_batch(path, &text, sets, &schema, file);
    }
    if is_deployment {
        let spec: OnlineDeployment = super::parse_with_sets(path, &text, sets)?;
        check_fields_of_kind(path, &spec)?;
        if let Some(collector) = &spec.data_collector {
            collector.check(path)?;
        }
        Ok(OnlineSpec::Deployment { file, spec: Box::new(spec) })
    } else {
        Ok(OnlineSpec::Endpoint { file, spec: Box::new(super::parse_with_sets(path, &text, sets)?) })
    }
}

/// A batch file, read with the schema its `$schema` names, as azure-ai-ml's loaders read it.
fn load_batch(path: &Path, text: &str, sets: &[SetArg], schema: &str, file: PathBuf) -> Result<OnlineSpec> {
    use super::batch::{BatchDeployment, BatchEndpoint, ModelBatchDeployment, PipelineBatchDeployment};
    if !schema.contains("deployment") {
        let spec: BatchEndpoint = super::parse_with_sets(path, text, sets)?;
        return Ok(OnlineSpec::BatchEndpoint { file, spec: Box::new(spec) });
    }
    if schema.contains("pipelinecomponentbatchdeployment") {
        let spec: PipelineBatchDeployment = super::parse_with_sets(path, text, sets)?;
        return Ok(OnlineSpec::BatchDeployment { file, spec: BatchDeployment::Pipeline(Box::new(spec)) });
    }
    let spec: ModelBatchDeployment = super::parse_with_sets(path, text, sets)?;
    // The older `batchDeployment` schema has its settings at the top level, not under `settings`.
    if schema.contains("modelbatchdeployment") && spec.compute.is_none() {
        return Err(Error::in_file(
            path,
            Some("compute"),
            "is missing",
            "name the compute cluster the deployment runs on: `compute: azureml:batch-cluster`",
        ));
    }
    if schema.contains("modelbatchdeployment")
        && let Some(field) = spec.top_level_settings().first()
    {
        return Err(Error::in_file(
            path,
            Some(field),
            "is a setting of the older batchDeployment.schema.json; modelBatchDeployment.schema.json has it under `settings`",
            format!("move `{field}` under `settings:`"),
        ));
    }
    if !schema.contains("modelbatchdeployment") && spec.settings.is_some() {
        return Err(Error::in_file(
            path,
            Some("settings"),
            "is not a field of batchDeployment.schema.json",
            "use `$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json` (as `az ml` files do now)",
        ));
    }
    Ok(OnlineSpec::BatchDeployment { file, spec: BatchDeployment::Model(Box::new(spec)) })
}

/// azure-ai-ml reads a deployment with the schema of its `type`: a field of the other
/// type's is unknown there.
fn check_fields_of_kind(path: &Path, spec: &OnlineDeployment) -> Result<()> {
    let misplaced = match spec.kind {
        OnlineKind::Managed => spec.resources.is_some().then_some((
            "resources",
            "managed deployments are sized by `instance_type`; `resources` is for `type: kubernetes`",
        )),
        OnlineKind::Kubernetes => [
            ("egress_public_network_access", spec.egress_public_network_access.is_some()),
            ("private_network_connection", spec.private_network_connection.is_some()),
        ]
        .into_iter()
        .find(|(_, given)| *given)
        .map(|(field, _)| (field, "the cluster's own network settings apply; remove the field")),
    };
    match misplaced {
        None => Ok(()),
        Some((field, hint)) => {
            let kind =
                serde_json::to_value(spec.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            Err(Error::in_file(path, Some(field), format!("is not a field of {kind} deployments"), hint))
        }
    }
}
