//! Online endpoints and deployments as both backends describe them (Azure ML's names:
//! `scoring_uri`, `traffic`, `mirror_traffic`, provisioning states).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoint {
    pub name: String,
    pub description: Option<String>,
    pub auth_mode: String,
    pub scoring_uri: Option<String>,
    /// Deployment → percent of requests.
    pub traffic: BTreeMap<String, u32>,
    /// Deployment → percent of requests copied to it, answers ignored.
    pub mirror_traffic: BTreeMap<String, u32>,
    pub deployments: Vec<Deployment>,
    pub tags: BTreeMap<String, String>,
    /// `managed`; `kubernetes`: served by a Kubernetes compute of the workspace; `batch`: a
    /// batch endpoint, whose deployments score files in jobs (`aml-deploy invoke`).
    #[serde(default)]
    pub kind: EndpointKind,
    /// A batch endpoint's deployment that `invoke` runs unless told another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_deployment: Option<String>,
    /// A Kubernetes endpoint's compute, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute: Option<String>,
    pub provisioning_state: String,
    pub created_at: String,
    pub updated_at: String,
    /// Who last changed the endpoint (its traffic, locally), when the backend knows: for
    /// messages, not part of the JSON output.
    #[serde(skip)]
    pub changed_by: Option<String>,
    /// A rollout that has moved traffic and not finished (or was killed): what `rollout
    /// --resume` continues, or what the next rollout puts back first.
    #[serde(skip)]
    pub rollout: Option<RolloutJournal>,
}

/// What an online-only command (traffic, logs, metrics, collected data, rollouts) says of a
/// batch endpoint.
pub fn not_online(name: &str) -> crate::error::Error {
    crate::error::Error::usage(
        format!("`{name}` is a batch endpoint: it has no traffic, server, requests or collected data"),
        format!("`aml-deploy invoke {name} --input PATH` runs a scoring job; `aml-deploy show {name}` shows it"),
    )
}

/// One invocation of a batch endpoint (`aml-deploy invoke`).
#[derive(Debug, Clone)]
pub struct BatchInvocation {
    pub endpoint: String,
    /// The deployment to run; the endpoint's default when absent.
    pub deployment: Option<String>,
    /// A local path, `azureml://datastores/…/paths/…`, or an `https://` file.
    pub input: String,
    pub input_type: crate::yaml::io::AssetType,
    /// Settings over the deployment's for this invocation, as (name, value).
    pub sets: Vec<(String, String)>,
    /// Where the `score` output goes, as (datastore, path in it): `--output-path`.
    pub output_path: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    #[default]
    Managed,
    Kubernetes,
    Batch,
}

impl From<crate::yaml::endpoint::OnlineKind> for EndpointKind {
    fn from(kind: crate::yaml::endpoint::OnlineKind) -> Self {
        match kind {
            crate::yaml::endpoint::OnlineKind::Managed => EndpointKind::Managed,
            crate::yaml::endpoint::OnlineKind::Kubernetes => EndpointKind::Kubernetes,
        }
    }
}

/// A rollout in progress, kept with the endpoint (its record locally, a tag on Azure) and
/// written in the same change as each traffic move, so it is never behind the traffic.
/// Short field names: an Azure tag holds 256 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutJournal {
    /// The deployment being rolled out.
    #[serde(rename = "d")]
    pub deployment: String,
    /// Its steps, in percent.
    #[serde(rename = "s")]
    pub steps: Vec<u32>,
    /// The last step the traffic reached (0: mirroring, or nothing moved yet).
    #[serde(rename = "r")]
    pub reached: u32,
    /// The split before the rollout, to put back.
    #[serde(rename = "p")]
    pub previous: BTreeMap<String, u32>,
    #[serde(rename = "m", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub previous_mirror: BTreeMap<String, u32>,
    /// Who started it.
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// What a traffic change does to the endpoint's rollout journal.
#[derive(Debug, Clone, Default)]
pub enum JournalUpdate {
    #[default]
    Keep,
    Set(RolloutJournal),
    Clear,
}

/// A change of an endpoint's traffic: the new live split and mirror (each `None` to keep
/// it), and, for a caller that must not overwrite someone else's change, the split it
/// expects to find.
#[derive(Debug, Clone, Default)]
pub struct TrafficChange {
    pub traffic: Option<BTreeMap<String, u32>>,
    pub mirror: Option<BTreeMap<String, u32>>,
    /// (live, mirror) as the caller last left them; another split means someone else changed
    /// it, and the change is not made.
    pub expected: Option<(BTreeMap<String, u32>, BTreeMap<String, u32>)>,
    /// Who asks: recorded with the change where the backend keeps it.
    pub by: Option<String>,
    /// The rollout journal, changed with the traffic in one write.
    pub journal: JournalUpdate,
}

/// What a `TrafficChange` did: made, or refused because the split was not the expected one
/// (the endpoint as found).
#[derive(Debug, Clone)]
pub enum TrafficOutcome {
    Changed(Endpoint),
    NotAsExpected(Endpoint),
}

/// Two splits are the same when they give the same deployments the same non-zero percents.
pub fn same_split(a: &BTreeMap<String, u32>, b: &BTreeMap<String, u32>) -> bool {
    let serving = |split: &BTreeMap<String, u32>| -> Vec<(String, u32)> {
        split.iter().filter(|(_, p)| **p > 0).map(|(k, v)| (k.clone(), *v)).collect()
    };
    serving(a) == serving(b)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    pub name: String,
    pub endpoint: String,
    /// `name:version` of the model served.
    pub model: Option<String>,
    pub model_digest: Option<Digest>,
    pub state: DeploymentState,
    pub error: Option<String>,
    /// How many times a local endpoint's router started the deployment's server again after
    /// it died; shown once it has happened (Azure ML keeps its own count in its logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarts: Option<u32>,
    pub created_at: String,
    pub updated_at: String,
}

/// Azure ML's provisioning states for a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeploymentState {
    Creating,
    Updating,
    Succeeded,
    Failed,
    Deleting,
}

impl fmt::Display for DeploymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeploymentState::Creating => "Creating",
            DeploymentState::Updating => "Updating",
            DeploymentState::Succeeded => "Succeeded",
            DeploymentState::Failed => "Failed",
            DeploymentState::Deleting => "Deleting",
        })
    }
}

/// What `apply` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyOutcome {
    Created,
    Updated,
    /// Same spec and same model digest: nothing was restarted.
    Unchanged,
}

/// How a client reaches an endpoint. The key is a secret: never print it.
#[derive(Clone)]
pub struct EndpointAccess {
    pub scoring_uri: String,
    pub key: String,
}

impl fmt::Debug for EndpointAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointAccess").field("scoring_uri", &self.scoring_uri).field("key", &"[secret]").finish()
    }
}

/// Check that a traffic split names deployments and adds up to 100 (or is all zero).
pub fn check_traffic(traffic: &BTreeMap<String, u32>, deployments: &[&str]) -> Result<(), String> {
    for name in traffic.keys() {
        if !deployments.contains(&name.as_str()) {
            return Err(format!(
                "`{name}` is not a deployment of this endpoint (deployments: {})",
                deployments.join(", ")
            ));
        }
    }
    let total: u32 = traffic.values().sum();
    if total != 100 && total != 0 {
        return Err(format!("traffic adds up to {total}%; it must add up to 100% (or 0% to stop serving)"));
    }
    Ok(())
}

/// Check mirrored traffic: only to running deployments, at most 50% each, never to one that
/// also gets live traffic (Azure ML's rules).
pub fn check_mirror(
    traffic: &BTreeMap<String, u32>,
    mirror: &BTreeMap<String, u32>,
    live: &[&str],
) -> Result<(), String> {
    for (deployment, percent) in mirror {
        if !live.contains(&deployment.as_str()) {
            return Err(format!("cannot mirror to `{deployment}`: it is not a running deployment"));
        }
        if *percent > 50 {
            return Err(format!("mirrored traffic to `{deployment}` is {percent}%; at most 50% can be mirrored"));
        }
        if traffic.get(deployment).copied().unwrap_or(0) > 0 && *percent > 0 {
            return Err(format!("`{deployment}` gets live traffic; a deployment cannot also get mirrored traffic"));
        }
    }
    Ok(())
}

/// The header Azure ML uses to send a request to one deployment, whatever the split.
pub const DEPLOYMENT_HEADER: &str = "azureml-model-deployment";

/// How to apply a deployment.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// Send all of the endpoint's traffic to this deployment once it is ready.
    pub all_traffic: bool,
    /// Leave the traffic as it is, even on an endpoint where nothing gets traffic yet (rollouts move it themselves).
    pub keep_traffic: bool,
    /// Echo the environment build's output.
    pub stream_logs: bool,
    /// Who applies it, for the lineage of a model registered inline.
    pub requested_by: Option<String>,
}
