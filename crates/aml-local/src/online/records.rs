//! What the local workspace stores about endpoints and deployments: the applied spec, and
//! the processes and ports that serve it. The endpoint's keys live here too; they are
//! secrets and are never printed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::limits::ContainerLimits;
use aml_core::digest::Digest;
use aml_core::online::{Deployment, DeploymentState, Endpoint, RolloutJournal};
use aml_core::yaml::endpoint::{OnlineDeployment, OnlineEndpoint};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub name: String,
    pub spec: OnlineEndpoint,
    pub keys: [String; 2],
    pub traffic: BTreeMap<String, u32>,
    pub mirror_traffic: BTreeMap<String, u32>,
    /// The router's port on 127.0.0.1, kept across restarts when it is free.
    pub port: Option<u16>,
    pub router_pid: Option<u32>,
    pub created_at: String,
    pub updated_at: String,
    /// Who last changed the traffic (the CI's requester, else the local user).
    #[serde(default)]
    pub traffic_changed_by: Option<String>,
    /// The rollout in progress, if any (see `RolloutJournal`).
    #[serde(default)]
    pub rollout: Option<RolloutJournal>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeploymentRecord {
    pub endpoint: String,
    pub name: String,
    pub spec: OnlineDeployment,
    pub model: Option<String>,
    pub model_digest: Option<Digest>,
    /// Digest of everything that makes the deployment what it is (spec, model, code,
    /// environment): equal fingerprints mean `apply` has nothing to do.
    pub fingerprint: Digest,
    /// The revision folder: code snapshot, model files, launcher.
    pub dir: PathBuf,
    pub python: PathBuf,
    pub entry_script: String,
    pub environment_variables: Vec<(String, String)>,
    pub port: Option<u16>,
    pub pid: Option<u32>,
    pub state: DeploymentState,
    pub error: Option<String>,
    pub restarts: u32,
    /// A Kubernetes deployment's limits, enforced on its processes (see `limits`).
    #[serde(default)]
    pub limits: Option<ContainerLimits>,
    /// Where the router listens for what the scoring script collects (`AZUREML_MDC_PORT`),
    /// when its `data_collector` enables a collection besides request and response.
    #[serde(default)]
    pub collector_port: Option<u16>,
    pub created_at: String,
    pub updated_at: String,
}

impl EndpointRecord {
    pub fn scoring_uri(&self) -> Option<String> {
        self.port.map(|port| format!("http://127.0.0.1:{port}/score"))
    }

    pub fn view(&self, deployments: &[DeploymentRecord]) -> Endpoint {
        Endpoint {
            name: self.name.clone(),
            description: self.spec.description.clone(),
            auth_mode: serde_json::to_value(self.spec.auth_mode)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            scoring_uri: self.scoring_uri(),
            traffic: self.traffic.clone(),
            mirror_traffic: self.mirror_traffic.clone(),
            deployments: deployments.iter().map(DeploymentRecord::view).collect(),
            tags: self.spec.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            kind: self.spec.kind().into(),
            default_deployment: None,
            compute: self.spec.compute_name().map(str::to_owned),
            provisioning_state: "Succeeded".into(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            changed_by: self.traffic_changed_by.clone(),
            rollout: self.rollout.clone(),
        }
    }
}

impl DeploymentRecord {
    pub fn view(&self) -> Deployment {
        Deployment {
            name: self.name.clone(),
            endpoint: self.endpoint.clone(),
            model: self.model.clone(),
            model_digest: self.model_digest,
            state: self.state,
            error: match self.serving_dead() {
                true => Some("its server is not running; the endpoint's router is starting it again".into()),
                false => self.error.clone(),
            },
            restarts: (self.restarts > 0).then_some(self.restarts),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
        }
    }

    /// Meant to serve, but its process is gone: unhealthy until the router restarts it.
    pub fn serving_dead(&self) -> bool {
        self.state == DeploymentState::Succeeded && self.pid.is_none_or(|pid| !crate::blobs::process_alive(pid as i32))
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.parent().map(|d| d.join("server.log")).unwrap_or_else(|| self.dir.join("server.log"))
    }
}
