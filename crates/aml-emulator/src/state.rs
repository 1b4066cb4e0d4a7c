//! What the emulator holds and how it answers: the `State` every handler works on, the
//! answers it gives (`Answer`) and the faults tests inject. The resources it keeps are
//! `resources`; the handlers live with their area (`arm`, `jobs`, `online`, `databricks`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::common::Storage;
use crate::resources::{Databricks, Operation, Run, Task};
use crate::schema::Schema;

/// What to answer instead of the real thing.
#[derive(Clone, Debug)]
pub enum Fault {
    /// This status, with `Retry-After: seconds` when given, and an ARM error body.
    Status(u16, Option<u64>),
    /// Drop the connection without an answer.
    Reset,
}

pub enum Answer {
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: Value,
    },
    Reset,
    /// A scoring request for a deployment serving on the local workspace.
    Forward {
        url: String,
        key: String,
        deployment: String,
        body: Vec<u8>,
    },
    /// A registry call passed to the Distribution registry behind the ACR front.
    Proxy {
        method: String,
        url: String,
        backend: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Bytes as they are (a file download).
    Raw {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
}

pub(crate) fn ok(status: u16, body: Value) -> Answer {
    Answer::Reply { status, headers: vec![("x-ms-request-id".into(), "emulator-ok".into())], body }
}

/// The models requests and answers are held to, each generated from Microsoft's SDK.
pub struct Oracles {
    /// azure-ai-ml's REST models.
    pub ml: Schema,
    /// azure-mgmt-monitor's metrics models.
    pub monitor: Schema,
    /// azure-mgmt-resource's deployment models.
    pub resources: Schema,
}

pub struct State {
    pub(crate) schema: Schema,
    /// Azure Monitor's metrics models (azure-mgmt-monitor): the `insights` queries and answers.
    pub(crate) monitor: Schema,
    /// Resource groups and template deployments (azure-mgmt-resource's models).
    pub(crate) infra: crate::resources::Infra,
    pub(crate) storage: Option<Storage>,
    pub(crate) port: u16,
    pub(crate) tokens: BTreeSet<String>,
    pub faults: Vec<(String, String, Fault, u32)>,
    pub log: Vec<(String, String, u16)>,
    pub bodies: Vec<(String, Value)>,
    pub violations: Vec<String>,
    pub versions: BTreeMap<(String, String), Value>,
    pub(crate) containers: BTreeMap<String, Value>,
    pub(crate) codes: BTreeMap<(String, String), Value>,
    pub(crate) environments: BTreeMap<(String, String), Value>,
    /// Data asset versions, by (name, version).
    pub(crate) data: BTreeMap<(String, String), Value>,
    pub(crate) components: BTreeMap<(String, String), Value>,
    pub(crate) jobs: BTreeMap<String, Value>,
    /// What each job's MLflow run and run history hold.
    pub(crate) runs: BTreeMap<String, Run>,
    /// Jobs submitted and not yet handed to a runner.
    pub(crate) queued: Vec<String>,
    pub(crate) cancel_requested: BTreeSet<String>,
    /// Computes attached to the workspace, by name (their ComputeResource), as a test sets them.
    pub(crate) computes: BTreeMap<String, Value>,
    pub(crate) endpoints: BTreeMap<String, Value>,
    pub(crate) deployments: BTreeMap<(String, String), Value>,
    pub(crate) batch_endpoints: BTreeMap<String, Value>,
    pub(crate) batch_deployments: BTreeMap<(String, String), Value>,
    /// Jobs started by invoking a batch endpoint, by job name.
    pub(crate) batch_runs: BTreeMap<String, crate::resources::BatchRun>,
    pub(crate) operations: BTreeMap<String, Operation>,
    pub(crate) endpoint_keys: BTreeMap<String, [String; 2]>,
    /// AML tokens handed out by `token`, and their endpoint.
    pub(crate) endpoint_tokens: BTreeMap<String, String>,
    /// Deploys and deletes for the emulator's compute to carry out.
    pub(crate) tasks: Vec<Task>,
    /// The local workspace deployments really serve from.
    pub(crate) local_workspace: std::path::PathBuf,
    /// The local router's scoring URI and key, by endpoint.
    pub(crate) local_access: BTreeMap<String, (String, String)>,
    /// Why a deploy failed before the local workspace had a log for it.
    pub(crate) deploy_errors: BTreeMap<(String, String), String>,
    /// In-progress answers an endpoint operation gives before it succeeds.
    pub(crate) operation_polls: u32,
    pub(crate) scoring_counter: u64,
    /// Whether collected data is being uploaded as it grows (`runner::upload_collected_data`).
    pub(crate) uploading_collected_data: bool,
    /// The Distribution registry behind the ACR front, and the tokens handed out for it.
    pub(crate) registry_backend: Option<String>,
    pub(crate) acr_refresh: BTreeSet<String>,
    pub(crate) acr_access: BTreeMap<String, String>,
    /// Items per list page, small enough that listing follows nextLink.
    pub(crate) page_size: usize,
    /// The Azure Databricks workspace at the same address (`/api/2.x/…`).
    pub(crate) databricks: Databricks,
    /// The emulator's certificate, for the processes its compute starts.
    pub(crate) cert: std::path::PathBuf,
}

pub(crate) fn arm_error(status: u16, code: &str, message: &str) -> Answer {
    Answer::Reply {
        status,
        headers: vec![("x-ms-request-id".into(), format!("emulator-{}", jiff::Timestamp::now().as_nanosecond()))],
        body: json!({"error": {"code": code, "message": message}}),
    }
}
