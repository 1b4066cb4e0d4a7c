//! The subset of MLflow's tracking REST API (`/api/2.0/mlflow/…`) a training script uses,
//! served on 127.0.0.1 for the jobs of one `aml-train run`. As on Azure ML, the job is
//! the MLflow run: the runner sets `MLFLOW_RUN_ID` to the job's name, `mlflow.start_run()`
//! resumes it, and metrics land in the workspace registry as they are logged.
//!
//! Serving the documented REST API, rather than pointing MLflow at a SQLite file and
//! reading MLflow's private schema back, works with `mlflow-skinny` (no SQLAlchemy) and
//! keeps us independent of MLflow's storage internals.

// Handlers return the HTTP response itself as the error; its size does not matter here.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Json;
use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::registry::Registry;
use aml_core::error::{Error, Result};
use aml_core::jobs::{Job, JobStatus};

pub struct TrackingServer {
    pub uri: String,
    state: Arc<Inner>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

struct Inner {
    registry: Mutex<Registry>,
    jobs_dir: PathBuf,
    /// The job whose process runs now; runs a script creates itself log into it.
    current: Mutex<Option<String>>,
    created_runs: Mutex<HashMap<String, String>>,
    /// MLflow 3's logged models (`mlflow.<flavor>.log_model`), by id, for the life of the run.
    logged_models: Mutex<HashMap<String, Value>>,
    /// Endpoints scripts called that we do not serve, reported once each.
    unserved: Mutex<BTreeSet<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl TrackingServer {
    pub async fn start(database: &Path, jobs_dir: &Path) -> Result<TrackingServer> {
        let registry = Registry::open(database)?;
        // Metrics are logged one request at a time; losing the last few to a power cut is
        // acceptable, an fsync per metric is not.
        registry.relax_durability()?;
        let state = Arc::new(Inner {
            registry: Mutex::new(registry),
            jobs_dir: jobs_dir.to_path_buf(),
            current: Mutex::new(None),
            created_runs: Mutex::new(HashMap::new()),
            logged_models: Mutex::new(HashMap::new()),
            unserved: Mutex::new(BTreeSet::new()),
        });
        let app = Router::new()
            .route("/api/2.0/mlflow/runs/get", get(run_get))
            .route("/api/2.0/mlflow/runs/create", post(run_create))
            .route("/api/2.0/mlflow/runs/update", post(run_update))
            .route("/api/2.0/mlflow/runs/log-metric", post(log_metric))
            .route("/api/2.0/mlflow/runs/log-parameter", post(log_param))
            .route("/api/2.0/mlflow/runs/set-tag", post(set_tag))
            .route("/api/2.0/mlflow/runs/delete-tag", post(accept))
            .route("/api/2.0/mlflow/runs/log-batch", post(log_batch))
            .route("/api/2.0/mlflow/runs/log-inputs", post(accept))
            .route("/api/2.0/mlflow/runs/outputs", post(accept))
            .route("/api/2.0/mlflow/runs/log-model", post(accept))
            .route("/api/2.0/mlflow/metrics/get-history", get(metric_history))
            .route("/api/2.0/mlflow/logged-models", post(logged_model_create))
            .route("/api/2.0/mlflow/logged-models/{model_id}", get(logged_model_get).patch(logged_model_finalize))
            .route("/api/2.0/mlflow/logged-models/{model_id}/tags", patch(logged_model_tags))
            .route("/api/2.0/mlflow/logged-models/{model_id}/tags/{key}", delete(logged_model_delete_tag))
            .route("/api/2.0/mlflow/logged-models/{model_id}/params", post(logged_model_params))
            .route("/api/2.0/mlflow/experiments/get-by-name", get(experiment_by_name))
            .route("/api/2.0/mlflow/experiments/get", get(experiment_get))
            .route("/api/2.0/mlflow/experiments/create", post(experiment_create))
            .fallback(unserved)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| Error::storage("cannot open the local MLflow tracking endpoint on 127.0.0.1", e))?;
        let addr =
            listener.local_addr().map_err(|e| Error::storage("cannot read the tracking endpoint's address", e))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(TrackingServer { uri: format!("http://{addr}"), state, shutdown: Some(tx), task })
    }

    /// Attach runs the script creates itself (nested runs) to this job.
    pub fn set_current_job(&self, job: Option<&str>) {
        *lock(&self.state.current) = job.map(str::to_owned);
    }

    /// Endpoints the scripts called that are not served, for a warning.
    pub fn unserved_calls(&self) -> Vec<String> {
        lock(&self.state.unserved).iter().cloned().collect()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }
}

type Shared = State<Arc<Inner>>;

fn mlflow_error(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(json!({ "error_code": code, "message": message }))).into_response()
}

fn storage_error(e: Error) -> Response {
    mlflow_error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", e.to_string())
}

/// The job a run id stands for.
fn job_for_run(state: &Inner, run_id: &str) -> std::result::Result<String, Response> {
    if let Some(job) = lock(&state.created_runs).get(run_id) {
        return Ok(job.clone());
    }
    match lock(&state.registry).job(run_id) {
        Ok(Some(job)) => Ok(job.name.into()),
        Ok(None) => {
            Err(mlflow_error(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", format!("Run '{run_id}' not found")))
        }
        Err(e) => Err(storage_error(e)),
    }
}

fn run_status(status: JobStatus) -> &'static str {
    match status {
        JobStatus::NotStarted
        | JobStatus::Starting
        | JobStatus::Provisioning
        | JobStatus::Queued
        | JobStatus::Preparing => "SCHEDULED",
        JobStatus::Running | JobStatus::Finalizing | JobStatus::Unknown => "RUNNING",
        JobStatus::Completed => "FINISHED",
        JobStatus::Failed | JobStatus::NotResponding => "FAILED",
        JobStatus::Canceled | JobStatus::CancelRequested | JobStatus::Paused => "KILLED",
    }
}

fn run_json(state: &Inner, run_id: &str, job: &Job) -> std::result::Result<Value, Error> {
    let registry = lock(&state.registry);
    let metrics = registry.latest_metrics(&job.name)?;
    let params = registry.params(&job.name)?;
    let tags = registry.job_tags(&job.name)?;
    let artifacts = state.jobs_dir.join(&job.name).join("artifacts");
    let start = job.started_at.as_deref().or(Some(job.created_at.as_str())).and_then(aml_core::time::millis);
    let end = job.ended_at.as_deref().and_then(aml_core::time::millis);
    let now = aml_core::time::now_millis();
    Ok(json!({
        "info": {
            "run_id": run_id,
            "run_uuid": run_id,
            "run_name": job.display_name.clone().or(job.step.clone()).unwrap_or_else(|| job.name.to_string()),
            "experiment_id": job.experiment_name,
            "user_id": job.created_by.clone().unwrap_or_default(),
            "status": run_status(job.status),
            "start_time": start,
            "end_time": end,
            "artifact_uri": format!("file://{}", artifacts.display()),
            "lifecycle_stage": "active",
        },
        "data": {
            "metrics": metrics.iter().map(|(k, v)| json!({"key": k, "value": v, "timestamp": now, "step": 0})).collect::<Vec<_>>(),
            "params": params.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
            "tags": tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        },
        "inputs": {},
    }))
}

#[derive(Deserialize)]
struct RunQuery {
    run_id: Option<String>,
    run_uuid: Option<String>,
}

impl RunQuery {
    fn id(&self) -> String {
        self.run_id.clone().or_else(|| self.run_uuid.clone()).unwrap_or_default()
    }
}

fn load_job(state: &Inner, name: &str) -> std::result::Result<Job, Response> {
    match lock(&state.registry).job(name) {
        Ok(Some(job)) => Ok(job),
        Ok(None) => {
            Err(mlflow_error(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", format!("Run '{name}' not found")))
        }
        Err(e) => Err(storage_error(e)),
    }
}

async fn run_get(State(state): Shared, Query(query): Query<RunQuery>) -> Response {
    let run_id = query.id();
    let result = (|| {
        let job = load_job(&state, &job_for_run(&state, &run_id)?)?;
        run_json(&state, &run_id, &job).map_err(storage_error)
    })();
    match result {
        Ok(run) => Json(json!({ "run": run })).into_response(),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct CreateRun {
    run_name: Option<String>,
}

async fn run_create(State(state): Shared, Json(body): Json<CreateRun>) -> Response {
    let Some(job_name) = lock(&state.current).clone() else {
        return mlflow_error(StatusCode::BAD_REQUEST, "INVALID_STATE", "no job is running".into());
    };
    let run_id = {
        let mut runs = lock(&state.created_runs);
        let id = format!("{job_name}-run{}", runs.len() + 1);
        runs.insert(id.clone(), job_name.clone());
        id
    };
    match load_job(&state, &job_name) {
        Ok(mut job) => {
            if let Some(name) = body.run_name {
                job.display_name = Some(name);
            }
            match run_json(&state, &run_id, &job) {
                Ok(run) => Json(json!({ "run": run })).into_response(),
                Err(e) => storage_error(e),
            }
        }
        Err(response) => response,
    }
}

async fn run_update(State(state): Shared, Json(body): Json<Value>) -> Response {
    let run_id =
        body.get("run_id").or_else(|| body.get("run_uuid")).and_then(Value::as_str).unwrap_or_default().to_string();
    // The run's status follows the job's process, as on Azure ML; the update is acknowledged.
    let result = (|| {
        let job = load_job(&state, &job_for_run(&state, &run_id)?)?;
        run_json(&state, &run_id, &job).map_err(storage_error)
    })();
    match result {
        Ok(run) => Json(json!({ "run_info": run["info"] })).into_response(),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct MetricBody {
    run_id: Option<String>,
    run_uuid: Option<String>,
    key: String,
    value: f64,
    timestamp: Option<i64>,
    step: Option<i64>,
}

async fn log_metric(State(state): Shared, Json(body): Json<MetricBody>) -> Response {
    let run_id = body.run_id.or(body.run_uuid).unwrap_or_default();
    let job = match job_for_run(&state, &run_id) {
        Ok(job) => job,
        Err(response) => return response,
    };
    let timestamp = body.timestamp.unwrap_or_else(aml_core::time::now_millis);
    match lock(&state.registry).log_metric(&job, &body.key, body.value, body.step.unwrap_or(0), timestamp) {
        Ok(()) => Json(json!({})).into_response(),
        Err(e) => storage_error(e),
    }
}

#[derive(Deserialize)]
struct KeyValueBody {
    run_id: Option<String>,
    run_uuid: Option<String>,
    key: String,
    value: String,
}

async fn log_param(State(state): Shared, Json(body): Json<KeyValueBody>) -> Response {
    let run_id = body.run_id.or(body.run_uuid).unwrap_or_default();
    let job = match job_for_run(&state, &run_id) {
        Ok(job) => job,
        Err(response) => return response,
    };
    match lock(&state.registry).log_param(&job, &body.key, &body.value) {
        Ok(()) => Json(json!({})).into_response(),
        Err(e) => storage_error(e),
    }
}

async fn set_tag(State(state): Shared, Json(body): Json<KeyValueBody>) -> Response {
    let run_id = body.run_id.or(body.run_uuid).unwrap_or_default();
    let job = match job_for_run(&state, &run_id) {
        Ok(job) => job,
        Err(response) => return response,
    };
    match lock(&state.registry).set_job_tag(&job, &body.key, &body.value) {
        Ok(()) => Json(json!({})).into_response(),
        Err(e) => storage_error(e),
    }
}

#[derive(Deserialize)]
struct BatchBody {
    run_id: String,
    #[serde(default)]
    metrics: Vec<BatchMetric>,
    #[serde(default)]
    params: Vec<BatchPair>,
    #[serde(default)]
    tags: Vec<BatchPair>,
}

#[derive(Deserialize)]
struct BatchMetric {
    key: String,
    value: f64,
    timestamp: Option<i64>,
    step: Option<i64>,
}

#[derive(Deserialize)]
struct BatchPair {
    key: String,
    value: String,
}

async fn log_batch(State(state): Shared, Json(body): Json<BatchBody>) -> Response {
    let job = match job_for_run(&state, &body.run_id) {
        Ok(job) => job,
        Err(response) => return response,
    };
    let registry = lock(&state.registry);
    let result = (|| {
        for m in &body.metrics {
            registry.log_metric(
                &job,
                &m.key,
                m.value,
                m.step.unwrap_or(0),
                m.timestamp.unwrap_or_else(aml_core::time::now_millis),
            )?;
        }
        for p in &body.params {
            registry.log_param(&job, &p.key, &p.value)?;
        }
        for t in &body.tags {
            registry.set_job_tag(&job, &t.key, &t.value)?;
        }
        Ok::<(), Error>(())
    })();
    match result {
        Ok(()) => Json(json!({})).into_response(),
        Err(e) => storage_error(e),
    }
}

#[derive(Deserialize)]
struct HistoryQuery {
    run_id: Option<String>,
    run_uuid: Option<String>,
    metric_key: String,
}

async fn metric_history(State(state): Shared, Query(query): Query<HistoryQuery>) -> Response {
    let run_id = query.run_id.or(query.run_uuid).unwrap_or_default();
    let job = match job_for_run(&state, &run_id) {
        Ok(job) => job,
        Err(response) => return response,
    };
    match lock(&state.registry).metric_history(&job, &query.metric_key) {
        Ok(history) => Json(json!({
            "metrics": history.iter().map(|(step, timestamp, value)| json!({
                "key": query.metric_key, "value": value, "timestamp": timestamp, "step": step
            })).collect::<Vec<_>>()
        }))
        .into_response(),
        Err(e) => storage_error(e),
    }
}

/// Experiments are named after themselves: the id is the name, which MLflow allows.
fn experiment(name: &str, state: &Inner) -> Value {
    json!({
        "experiment_id": name,
        "name": name,
        "artifact_location": format!("file://{}", state.jobs_dir.display()),
        "lifecycle_stage": "active",
    })
}

#[derive(Deserialize)]
struct ExperimentByName {
    experiment_name: String,
}

async fn experiment_by_name(State(state): Shared, Query(query): Query<ExperimentByName>) -> Response {
    Json(json!({ "experiment": experiment(&query.experiment_name, &state) })).into_response()
}

#[derive(Deserialize)]
struct ExperimentById {
    experiment_id: String,
}

async fn experiment_get(State(state): Shared, Query(query): Query<ExperimentById>) -> Response {
    Json(json!({ "experiment": experiment(&query.experiment_id, &state) })).into_response()
}

#[derive(Deserialize)]
struct CreateExperiment {
    name: String,
}

async fn experiment_create(Json(body): Json<CreateExperiment>) -> Response {
    Json(json!({ "experiment_id": body.name })).into_response()
}

/// `mlflow.<flavor>.log_model` in MLflow 3 creates a logged model, writes its files to the
/// `artifact_uri` it is given (a `file://` folder in the job's artifacts, so the client
/// writes them itself), tags it and finalizes it.
async fn logged_model_create(State(state): Shared, Json(body): Json<Value>) -> Response {
    let run_id = body.get("source_run_id").and_then(Value::as_str).unwrap_or_default().to_string();
    let job = match lock(&state.current).clone() {
        Some(job) => job,
        None => match job_for_run(&state, &run_id) {
            Ok(job) => job,
            Err(response) => return response,
        },
    };
    let model_id = format!(
        "m-{}",
        &aml_core::digest::Digest::of_bytes(format!("{job}{:?}", std::time::SystemTime::now()).as_bytes()).hex()[..24]
    );
    let artifacts = state.jobs_dir.join(&job).join("artifacts").join("models").join(&model_id).join("artifacts");
    if let Err(e) = std::fs::create_dir_all(&artifacts) {
        return mlflow_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            format!("cannot create `{}`: {e}", artifacts.display()),
        );
    }
    let now = aml_core::time::now_millis();
    let model = json!({
        "info": {
            "model_id": model_id,
            "experiment_id": body.get("experiment_id").cloned().unwrap_or(Value::Null),
            "name": body.get("name").cloned().unwrap_or(Value::Null),
            "creation_timestamp_ms": now,
            "last_updated_timestamp_ms": now,
            "artifact_uri": format!("file://{}", artifacts.display()),
            "status": "LOGGED_MODEL_PENDING",
            "model_type": body.get("model_type").cloned().unwrap_or(Value::Null),
            "source_run_id": run_id,
            "tags": body.get("tags").cloned().unwrap_or_else(|| json!([])),
        },
        "data": { "params": body.get("params").cloned().unwrap_or_else(|| json!([])), "metrics": [] },
    });
    lock(&state.logged_models).insert(model_id, model.clone());
    Json(json!({ "model": model })).into_response()
}

fn with_logged_model(state: &Inner, model_id: &str, change: impl FnOnce(&mut Value)) -> Response {
    match lock(&state.logged_models).get_mut(model_id) {
        Some(model) => {
            change(model);
            model["info"]["last_updated_timestamp_ms"] = json!(aml_core::time::now_millis());
            Json(json!({ "model": model })).into_response()
        }
        None => mlflow_error(
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
            format!("Logged model '{model_id}' not found"),
        ),
    }
}

async fn logged_model_get(State(state): Shared, UrlPath(model_id): UrlPath<String>) -> Response {
    with_logged_model(&state, &model_id, |_| {})
}

async fn logged_model_finalize(
    State(state): Shared,
    UrlPath(model_id): UrlPath<String>,
    Json(body): Json<Value>,
) -> Response {
    let status = body.get("status").cloned().unwrap_or_else(|| json!("LOGGED_MODEL_READY"));
    with_logged_model(&state, &model_id, |model| model["info"]["status"] = status)
}

/// Replace or add entries of a `[{key, value}]` list by key.
fn merge_pairs(list: &mut Value, new: Option<&Value>) {
    let Some(new) = new.and_then(Value::as_array) else { return };
    if !list.is_array() {
        *list = json!([]);
    }
    if let Some(items) = list.as_array_mut() {
        for pair in new {
            items.retain(|existing| existing.get("key") != pair.get("key"));
            items.push(pair.clone());
        }
    }
}

async fn logged_model_tags(
    State(state): Shared,
    UrlPath(model_id): UrlPath<String>,
    Json(body): Json<Value>,
) -> Response {
    with_logged_model(&state, &model_id, |model| merge_pairs(&mut model["info"]["tags"], body.get("tags")))
}

async fn logged_model_delete_tag(
    State(state): Shared,
    UrlPath((model_id, key)): UrlPath<(String, String)>,
) -> Response {
    with_logged_model(&state, &model_id, |model| {
        if let Some(tags) = model["info"]["tags"].as_array_mut() {
            tags.retain(|t| t.get("key").and_then(Value::as_str) != Some(key.as_str()));
        }
    })
}

async fn logged_model_params(
    State(state): Shared,
    UrlPath(model_id): UrlPath<String>,
    Json(body): Json<Value>,
) -> Response {
    with_logged_model(&state, &model_id, |model| merge_pairs(&mut model["data"]["params"], body.get("params")))
}

async fn accept() -> Response {
    Json(json!({})).into_response()
}

async fn unserved(State(state): Shared, uri: Uri) -> Response {
    lock(&state.unserved).insert(uri.path().to_string());
    mlflow_error(
        StatusCode::NOT_FOUND,
        "ENDPOINT_NOT_FOUND",
        format!("{} is not served by the local Azure ML workspace's tracking endpoint", uri.path()),
    )
}
