//! What the local workspace stores about a batch endpoint and its deployments.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use aml_core::digest::Digest;
use aml_core::jobplan::EnvPlan;
use aml_core::online::{Deployment, DeploymentState, Endpoint, EndpointKind};
use aml_core::yaml::batch::{BatchEndpoint, BatchRunSettings, ModelBatchDeployment};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchEndpointRecord {
    pub name: String,
    pub spec: BatchEndpoint,
    /// The deployment an invocation runs unless it names another.
    pub default_deployment: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A model deployment as applied: everything an invocation needs, frozen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchDeploymentRecord {
    pub endpoint: String,
    pub name: String,
    pub spec: ModelBatchDeployment,
    /// The file it was applied from, for the jobs' records.
    pub file: PathBuf,
    pub model: Option<String>,
    pub model_digest: Option<Digest>,
    /// Digest of spec, model, code, environment and settings: equal means nothing to do.
    pub fingerprint: Digest,
    /// The revision folder: `code/` (the snapshot) and `model/` (the model's files).
    pub dir: PathBuf,
    pub scoring_script: String,
    pub environment: EnvPlan,
    pub settings: BatchRunSettings,
    pub created_at: String,
    pub updated_at: String,
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
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
        }
    }
}
