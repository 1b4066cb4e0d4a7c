//! What the local workspace stores about a batch endpoint and its deployments.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use aml_core::digest::Digest;
use aml_core::jobplan::EnvPlan;
use aml_core::online::{Deployment, DeploymentState, Endpoint, EndpointKind};
use aml_core::yaml::batch::{BatchEndpoint, BatchRunSettings, ModelBatchDeployment, PipelineBatchDeployment};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchEndpointRecord {
    pub name: String,
    pub spec: BatchEndpoint,
    /// The deployment an invocation runs unless it names another.
    pub default_deployment: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A deployment as applied: what an invocation runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchDeploymentRecord {
    pub endpoint: String,
    pub name: String,
    /// The file it was applied from, for the jobs' records.
    pub file: PathBuf,
    pub model: Option<String>,
    pub model_digest: Option<Digest>,
    /// Digest of everything that makes the deployment what it is: equal means nothing to do.
    pub fingerprint: Digest,
    pub runs: BatchRuns,
    pub created_at: String,
    pub updated_at: String,
}

/// What a deployment runs when invoked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BatchRuns {
    /// A scoring script over files, frozen: the revision folder holds `code/` (the snapshot)
    /// and `model/` (the model's files).
    Model {
        spec: Box<ModelBatchDeployment>,
        dir: PathBuf,
        scoring_script: String,
        environment: EnvPlan,
        settings: BatchRunSettings,
    },
    /// A pipeline component, run as a pipeline job with the invocation's inputs; its file
    /// must be as it was applied.
    Pipeline { spec: Box<PipelineBatchDeployment>, component: PathBuf, component_digest: Digest },
}

impl BatchEndpointRecord {
    pub fn view(&self, deployments: &[BatchDeploymentRecord]) -> Endpoint {
        Endpoint {
            name: self.name.clone(),
            description: self.spec.description.clone(),
            auth_mode: serde_json::to_value(self.spec.auth_mode)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            scoring_uri: None,
            traffic: BTreeMap::new(),
            mirror_traffic: BTreeMap::new(),
            deployments: deployments.iter().map(BatchDeploymentRecord::view).collect(),
            tags: self.spec.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            kind: EndpointKind::Batch,
            default_deployment: self.default_deployment.clone(),
            compute: None,
            provisioning_state: "Succeeded".into(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            changed_by: None,
            rollout: None,
        }
    }
}

impl BatchDeploymentRecord {
    pub fn view(&self) -> Deployment {
        Deployment {
            name: self.name.clone(),
            endpoint: self.endpoint.clone(),
            model: self.model.clone(),
            model_digest: self.model_digest,
            state: DeploymentState::Succeeded,
            error: None,
            restarts: None,
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
        }
    }
}
