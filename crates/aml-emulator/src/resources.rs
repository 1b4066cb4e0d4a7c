//! The resources the emulator keeps besides ARM's JSON bodies: a job's run (MLflow and run
//! history), endpoint operations and the compute's tasks, the Databricks workspace with
//! its runs, MLflow runs and volume folder, and what template deployments made (`Infra`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::common::SUBSCRIPTION;

use aml_client::arm_template::deploy::Resource;
use aml_client::arm_template::expr::Value as TemplateValue;

use crate::schema::Schema;

/// A job's run as MLflow and run history see it.
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub metrics: BTreeMap<String, f64>,
    pub params: BTreeMap<String, String>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub error: Option<String>,
}

/// What a batch endpoint's invocation runs: the deployment over the input, with the
/// invocation's settings over the deployment's (as `aml-deploy invoke --set` takes them).
#[derive(Clone, Debug)]
pub struct BatchRun {
    pub endpoint: String,
    pub deployment: String,
    /// `azureml://datastores/…/paths/…` or an `https://` file.
    pub input: String,
    /// `uri_folder` or `uri_file`.
    pub input_type: String,
    pub sets: Vec<(String, String)>,
    /// Where the `score` output goes, as (datastore, path), when the invocation says.
    pub output: Option<(String, String)>,
}

/// A long-running operation: finished by a poll count (endpoints) or by a task (deployments).
#[derive(Clone, Debug)]
pub struct Operation {
    pub status: String,
    pub error: Option<String>,
    /// In-progress answers still to give before a poll-finished operation succeeds.
    pub polls_left: u32,
    /// Finished by a task (deploy or delete), not by polling.
    pub by_task: bool,
    /// The endpoint whose provisioning state follows this operation.
    pub endpoint: Option<String>,
}

/// Work the emulator's compute does outside the request that asked for it.
#[derive(Clone, Debug)]
pub enum Task {
    Deploy { endpoint: String, deployment: String, operation: String },
    DeleteDeployment { endpoint: String, deployment: String, operation: String },
    DeleteEndpoint { endpoint: String, operation: String },
}

/// A personal access token the emulator accepts (the secret grep looks for it).
pub const PAT: &str = "dapi0e1f2a3b4c5d6e7f8091a2b3c4d5e6f7-2";

/// The one all-purpose cluster that exists.
pub const EXISTING_CLUSTER: &str = "1201-180000-emul4t0r";

/// Node types this (Azure) workspace offers for new clusters.
pub const NODE_TYPES: [&str; 3] = ["Standard_DS3_v2", "Standard_DS4_v2", "Standard_F4s_v2"];

/// Runtimes offered for new clusters.
pub const SPARK_VERSIONS: [&str; 3] = ["15.4.x-scala2.12", "15.4.x-cpu-ml-scala2.12", "16.4.x-cpu-ml-scala2.13"];

/// The volume that exists; any other is missing.
pub const VOLUME: &str = "/Volumes/main/default/aml_train";

/// Databricks' Entra application: tokens for this scope are Databricks tokens.
pub const RESOURCE: &str = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d";

/// A one-time run and its one task.
#[derive(Clone, Debug)]
pub struct DatabricksRun {
    pub run_id: i64,
    pub task_run_id: i64,
    pub run_name: String,
    pub task: Value,
    pub life_cycle: String,
    pub result: Option<String>,
    pub message: String,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub logs: String,
    pub error: Option<String>,
    pub error_trace: Option<String>,
    pub cancel_requested: bool,
    pub timeout_seconds: Option<u64>,
}

#[derive(Clone, Debug, Default)]
pub struct MlflowRun {
    pub experiment_id: String,
    pub run_name: String,
    pub status: String,
    pub start_time: i64,
    pub end_time: Option<i64>,
    /// (key, value, timestamp, step) in the order logged.
    pub metrics: Vec<(String, f64, i64, i64)>,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

pub struct Databricks {
    pub schema: Schema,
    /// Entra tokens issued for Databricks' resource.
    pub tokens: BTreeSet<String>,
    /// Stands for `/` of the driver's file system: `/Volumes/…` is `root/Volumes/…`.
    pub root: PathBuf,
    pub runs: BTreeMap<i64, DatabricksRun>,
    /// Runs submitted and not yet handed to the cluster.
    pub queued: Vec<i64>,
    pub(crate) next_id: i64,
    pub(crate) idempotency: BTreeMap<String, i64>,
    pub experiments: BTreeMap<String, String>,
    pub mlflow_runs: BTreeMap<String, MlflowRun>,
}

impl Databricks {
    pub fn new(schema: Schema, root: PathBuf) -> Databricks {
        let _ = std::fs::create_dir_all(root.join(VOLUME.trim_start_matches('/')));
        Databricks {
            schema,
            tokens: BTreeSet::new(),
            root,
            runs: BTreeMap::new(),
            queued: Vec::new(),
            next_id: 1000,
            idempotency: BTreeMap::new(),
            experiments: BTreeMap::new(),
            mlflow_runs: BTreeMap::new(),
        }
    }

    /// A volume path on the driver's disk; None outside an existing volume.
    pub fn local(&self, path: &str) -> Option<PathBuf> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if parts.len() < 4 || parts[0] != "Volumes" || parts.iter().any(|p| p.is_empty() || *p == "..") {
            return None;
        }
        let volume = self.root.join(parts[..4].join("/"));
        volume.is_dir().then(|| self.root.join(parts.join("/")))
    }

    pub(crate) fn next(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }
}

/// A resource a deployment made: what was PUT and what ARM answers for it.
#[derive(Clone, Debug)]
pub struct Stored {
    pub group: String,
    pub requested: Value,
    pub state: Value,
}

/// A deployment under way or done.
pub struct DeploymentRun {
    pub record: Value,
    pub(crate) template: Map<String, Value>,
    pub(crate) parameters: BTreeMap<String, TemplateValue>,
    pub(crate) pending: Vec<Resource>,
    pub(crate) done: Vec<String>,
    pub operations: Vec<Value>,
    pub(crate) group: String,
    pub(crate) location: String,
    pub(crate) name: String,
    pub(crate) operation: String,
    pub(crate) started: jiff::Timestamp,
}

pub struct Infra {
    pub(crate) schema: Schema,
    /// Resource groups by lowercase name.
    pub(crate) groups: BTreeMap<String, Value>,
    /// What deployments made, by lowercase id.
    pub(crate) resources: BTreeMap<String, Stored>,
    /// Deployments by lowercase (group, name).
    pub(crate) runs: BTreeMap<(String, String), DeploymentRun>,
    /// whatIf results by operation id.
    pub(crate) what_ifs: BTreeMap<String, Value>,
    /// Resource types whose creation fails, by lowercase type: (code, message).
    pub(crate) failing: BTreeMap<String, (String, String)>,
    pub(crate) counter: u64,
}

impl Infra {
    pub fn new(schema: Schema) -> Infra {
        let mut groups = BTreeMap::new();
        groups.insert(
            crate::common::RESOURCE_GROUP.to_ascii_lowercase(),
            group_body(crate::common::RESOURCE_GROUP, "westeurope", None),
        );
        Infra {
            schema,
            groups,
            resources: BTreeMap::new(),
            runs: BTreeMap::new(),
            what_ifs: BTreeMap::new(),
            failing: BTreeMap::new(),
            counter: 0,
        }
    }

    pub(crate) fn next_id(&mut self) -> String {
        self.counter += 1;
        format!("{:08x}-0000-4000-8000-{:012x}", jiff::Timestamp::now().as_second(), self.counter)
    }

    /// The workspace a deployment made, if it made this one.
    pub fn workspace(&self, group: &str, name: &str) -> Option<&Stored> {
        let id = format!(
            "/subscriptions/{SUBSCRIPTION}/resourcegroups/{group}/providers/microsoft.machinelearningservices/workspaces/{name}"
        );
        self.resources.get(&id.to_ascii_lowercase())
    }
}

pub(crate) fn group_body(name: &str, location: &str, tags: Option<&Value>) -> Value {
    let mut body = json!({
        "id": format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}"), "name": name,
        "type": "Microsoft.Resources/resourceGroups", "location": location,
        "properties": {"provisioningState": "Succeeded"}
    });
    if let Some(tags) = tags {
        body["tags"] = tags.clone();
    }
    body
}
