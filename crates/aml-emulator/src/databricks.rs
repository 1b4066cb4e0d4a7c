//! The Azure Databricks subset aml-train speaks, held to databricks-sdk's generated models
//! (xtask/oracle_databricks.py): a route the SDK does not know, an unknown or missing field,
//! a wrong type is a violation. Files API on Unity Catalog volumes (kept in a folder that
//! stands for the driver's `/Volumes` mount), Jobs API 2.2 one-time runs and the MLflow
//! tracking API Databricks hosts. A submitted run really runs (`cluster.rs`): the driver's
//! Python runs the task's python_file with the task's PyPI libraries installed, and the
//! script's MLflow calls come back here.

use std::collections::BTreeMap;
use std::path::Path;

use hyper::Uri;
use serde_json::{Value, json};

use crate::resources::DatabricksRun;
use crate::resources::MlflowRun;
pub use crate::resources::{EXISTING_CLUSTER, NODE_TYPES, PAT, RESOURCE, SPARK_VERSIONS, VOLUME};
use crate::schema::Direction;
use crate::state::{Answer, State};

/// Folder listings are paged this small, so clients must follow next_page_token.
const PAGE_SIZE: usize = 3;

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    Answer::Reply { status, headers: Vec::new(), body: json!({"error_code": code, "message": message}) }
}

fn reply(body: Value) -> Answer {
    Answer::Reply { status: 200, headers: Vec::new(), body }
}

/// Query parameters typed as JSON (numbers and booleans as such) for the schema check.
fn typed_query(query: &BTreeMap<String, String>) -> Value {
    Value::Object(
        query
            .iter()
            .map(|(k, v)| {
                let typed = if let Ok(n) = v.parse::<i64>() {
                    json!(n)
                } else if v == "true" || v == "false" {
                    json!(v == "true")
                } else {
                    json!(v)
                };
                (k.clone(), typed)
            })
            .collect(),
    )
}

fn decode_path(path: &str) -> String {
    crate::common::parse_form(&format!("p={}", path.replace('+', "%2B"))).remove("p").unwrap_or_default()
}

impl State {
    fn databricks_check(&mut self, what: &str, class: &str, value: &Value, direction: Direction) -> bool {
        let problems = self.databricks.schema.check(class, value, direction);
        let clean = problems.is_empty();
        for problem in problems {
            self.violations.push(format!("{what} ({class}): {problem}"));
        }
        clean
    }

    pub(crate) fn databricks_route(
        &mut self,
        method: &str,
        uri: &Uri,
        headers: &BTreeMap<String, String>,
        body: &[u8],
    ) -> Answer {
        let path = uri.path().to_string();
        let what = format!("{method} {path}");
        let token = headers.get("authorization").and_then(|h| h.strip_prefix("Bearer ")).unwrap_or("");
        if token != PAT && !self.databricks.tokens.contains(token) {
            return error(401, "UNAUTHENTICATED", "Invalid access token.");
        }
        let Some(operation) = self.databricks.schema.operation(method, &path).cloned() else {
            self.violations.push(format!("{what}: not an operation of databricks-sdk"));
            return error(404, "ENDPOINT_NOT_FOUND", &format!("No API found for '{method} {path}'"));
        };
        let query = crate::common::parse_form(uri.query().unwrap_or(""));
        let is_json = headers.get("content-type").is_some_and(|c| c.starts_with("application/json"));
        let request = if method == "POST" || (is_json && !body.is_empty()) {
            match serde_json::from_slice::<Value>(body) {
                Ok(value) => value,
                Err(_) => {
                    self.violations.push(format!("{what}: the body is not JSON"));
                    return error(400, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request");
                }
            }
        } else {
            typed_query(&query)
        };
        if !self.databricks_check(&what, &operation.request, &request, Direction::Request) {
            return error(400, "INVALID_PARAMETER_VALUE", &format!("the request does not match {}", operation.request));
        }
        self.bodies.push((path.clone(), request.clone()));
        let target = |prefix: &str| decode_path(path.strip_prefix(prefix).unwrap_or_default());
        match (method, operation.request.as_str()) {
            ("PUT", "files.FilesAPI.create_directory") => self.fs_mkdir(&target("/api/2.0/fs/directories")),
            ("GET", "files.FilesAPI.list_directory_contents") => {
                self.fs_list(&target("/api/2.0/fs/directories"), &query)
            }
            ("PUT", "files.FilesAPI.upload") => self.fs_upload(&target("/api/2.0/fs/files"), &query, body),
            ("GET", "files.FilesAPI.download") => self.fs_download(&target("/api/2.0/fs/files")),
            ("GET", "compute.ClustersAPI.get") => self.cluster(&request),
            ("GET", "compute.ClustersAPI.list_node_types") => {
                let types: Vec<Value> = NODE_TYPES
                    .iter()
                    .enumerate()
                    .map(|(i, t)| json!({"node_type_id": t, "instance_type_id": t, "category": "General Purpose", "description": t, "memory_mb": 14336 * (i + 1), "num_cores": 4.0 * (i + 1) as f64}))
                    .collect();
                let answer = json!({"node_types": types});
                self.databricks_check(&what, "compute.ListNodeTypesResponse", &answer, Direction::Response);
                reply(answer)
            }
            ("GET", "compute.ClustersAPI.spark_versions") => {
                let answer = json!({"versions": SPARK_VERSIONS.iter().map(|k| json!({"key": k, "name": k})).collect::<Vec<_>>()});
                self.databricks_check(&what, "compute.GetSparkVersionsResponse", &answer, Direction::Response);
                reply(answer)
            }
            ("POST", "jobs.JobsAPI.submit") => self.submit(&request),
            ("GET", "jobs.JobsAPI.get_run") => self.get_run(&request),
            ("GET", "jobs.JobsAPI.get_run_output") => self.get_run_output(&request),
            ("POST", "jobs.JobsAPI.cancel_run") => self.cancel_run(&request),
            (_, class) if class.starts_with("ml.ExperimentsAPI.") => {
                self.mlflow(&class["ml.ExperimentsAPI.".len()..], &request)
            }
            _ => {
                self.violations.push(format!("{what}: the emulator does not serve {}", operation.request));
                error(501, "NOT_IMPLEMENTED", "not emulated")
            }
        }
    }

    fn fs_mkdir(&mut self, path: &str) -> Answer {
        let Some(local) = self.databricks.local(path) else {
            return error(404, "NOT_FOUND", &format!("The volume of '{path}' does not exist."));
        };
        match std::fs::create_dir_all(&local) {
            Ok(()) => Answer::Reply { status: 204, headers: Vec::new(), body: Value::Null },
            Err(e) => error(409, "ALREADY_EXISTS", &e.to_string()),
        }
    }

    fn fs_list(&mut self, path: &str, query: &BTreeMap<String, String>) -> Answer {
        let Some(local) = self.databricks.local(path).filter(|p| p.is_dir()) else {
            return error(404, "NOT_FOUND", &format!("The directory '{path}' does not exist."));
        };
        let mut names: Vec<(String, bool, u64)> = std::fs::read_dir(&local)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            e.path().is_dir(),
                            e.metadata().map(|m| m.len()).unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        let start: usize =
            query.get("page_token").and_then(|t| t.strip_prefix("offset-")).and_then(|n| n.parse().ok()).unwrap_or(0);
        let page: Vec<Value> = names
            .iter()
            .skip(start)
            .take(PAGE_SIZE)
            .map(|(name, is_dir, size)| {
                let mut entry = json!({"path": format!("{}/{name}", path.trim_end_matches('/')), "name": name, "is_directory": is_dir, "last_modified": now_ms()});
                if !is_dir {
                    entry["file_size"] = json!(size);
                }
                entry
            })
            .collect();
        let mut answer = json!({"contents": page});
        if start + PAGE_SIZE < names.len() {
            answer["next_page_token"] = json!(format!("offset-{}", start + PAGE_SIZE));
        }
        self.databricks_check("GET fs/directories", "files.ListDirectoryResponse", &answer, Direction::Response);
        reply(answer)
    }

    fn fs_upload(&mut self, path: &str, query: &BTreeMap<String, String>, body: &[u8]) -> Answer {
        let Some(local) = self.databricks.local(path) else {
            return error(404, "NOT_FOUND", &format!("The volume of '{path}' does not exist."));
        };
        if local.exists() && query.get("overwrite").map(String::as_str) == Some("false") {
            return error(409, "ALREADY_EXISTS", &format!("The file '{path}' already exists."));
        }
        if let Some(parent) = local.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        match std::fs::write(&local, body) {
            Ok(()) => Answer::Reply { status: 204, headers: Vec::new(), body: Value::Null },
            Err(e) => error(500, "INTERNAL_ERROR", &e.to_string()),
        }
    }

    fn fs_download(&mut self, path: &str) -> Answer {
        match self.databricks.local(path).filter(|p| p.is_file()).and_then(|p| std::fs::read(p).ok()) {
            Some(bytes) => Answer::Raw { status: 200, content_type: "application/octet-stream".into(), body: bytes },
            None => error(404, "NOT_FOUND", &format!("The file '{path}' does not exist.")),
        }
    }

    fn cluster(&mut self, request: &Value) -> Answer {
        let id = request["cluster_id"].as_str().unwrap_or_default();
        if id != EXISTING_CLUSTER {
            return error(400, "INVALID_PARAMETER_VALUE", &format!("Cluster {id} does not exist"));
        }
        let answer = json!({"cluster_id": id, "cluster_name": "shared-ml", "state": "RUNNING", "spark_version": SPARK_VERSIONS[1], "node_type_id": NODE_TYPES[0], "num_workers": 2});
        self.databricks_check("GET clusters/get", "compute.ClusterDetails", &answer, Direction::Response);
        reply(answer)
    }

    fn submit(&mut self, request: &Value) -> Answer {
        if let Some(token) = request["idempotency_token"].as_str()
            && let Some(run_id) = self.databricks.idempotency.get(token)
        {
            return reply(json!({"run_id": run_id}));
        }
        let tasks = request["tasks"].as_array().cloned().unwrap_or_default();
        let [task] = tasks.as_slice() else {
            return error(400, "INVALID_PARAMETER_VALUE", "The emulator runs one-task submissions only.");
        };
        if task["spark_python_task"].is_null() {
            return error(400, "INVALID_PARAMETER_VALUE", "The emulator runs spark_python_task only.");
        }
        match (task["existing_cluster_id"].as_str(), task["new_cluster"].as_object()) {
            (Some(id), None) if id == EXISTING_CLUSTER => {}
            (Some(id), None) => return error(400, "INVALID_PARAMETER_VALUE", &format!("Cluster {id} does not exist")),
            (None, Some(cluster)) => {
                let node_type = cluster.get("node_type_id").and_then(Value::as_str).unwrap_or_default();
                if !NODE_TYPES.contains(&node_type) {
                    return error(
                        400,
                        "INVALID_PARAMETER_VALUE",
                        &format!(
                            "Node type {node_type} is not supported. Supported node types: {}",
                            NODE_TYPES.join(", ")
                        ),
                    );
                }
                let version = cluster.get("spark_version").and_then(Value::as_str).unwrap_or_default();
                if !SPARK_VERSIONS.contains(&version) {
                    return error(400, "INVALID_PARAMETER_VALUE", &format!("Invalid spark version {version}."));
                }
                if cluster.get("num_workers").is_none() && cluster.get("autoscale").is_none() {
                    return error(
                        400,
                        "INVALID_PARAMETER_VALUE",
                        "Cluster size: num_workers or autoscale must be given.",
                    );
                }
            }
            _ => {
                return error(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    "One of existing_cluster_id or new_cluster must be given for the task.",
                );
            }
        }
        let run_id = self.databricks.next();
        let task_run_id = self.databricks.next();
        let run = DatabricksRun {
            run_id,
            task_run_id,
            run_name: request["run_name"].as_str().unwrap_or("Untitled").to_string(),
            task: task.clone(),
            life_cycle: "PENDING".into(),
            result: None,
            message: "Waiting for cluster".into(),
            start_ms: now_ms(),
            end_ms: None,
            logs: String::new(),
            error: None,
            error_trace: None,
            cancel_requested: false,
            timeout_seconds: request["timeout_seconds"].as_u64(),
        };
        self.databricks.runs.insert(run_id, run);
        self.databricks.queued.push(run_id);
        if let Some(token) = request["idempotency_token"].as_str() {
            self.databricks.idempotency.insert(token.to_string(), run_id);
        }
        let answer = json!({"run_id": run_id});
        self.databricks_check("POST runs/submit", "jobs.SubmitRunResponse", &answer, Direction::Response);
        reply(answer)
    }

    fn run_json(&self, run: &DatabricksRun) -> Value {
        let mut state = json!({"life_cycle_state": run.life_cycle, "state_message": run.message, "user_cancelled_or_timedout": run.cancel_requested});
        if let Some(result) = &run.result {
            state["result_state"] = json!(result);
        }
        let mut task = run.task.clone();
        if let Some(object) = task.as_object_mut() {
            object.insert("run_id".into(), json!(run.task_run_id));
            object.insert("state".into(), state.clone());
            object.insert("start_time".into(), json!(run.start_ms));
            if let Some(end) = run.end_ms {
                object.insert("end_time".into(), json!(end));
            }
        }
        let mut answer = json!({
            "run_id": run.run_id,
            "run_name": run.run_name,
            "run_type": "SUBMIT_RUN",
            "creator_user_name": crate::common::CLIENT_ID,
            "number_in_job": run.run_id,
            "state": state,
            "tasks": [task],
            "start_time": run.start_ms,
            "run_page_url": format!("https://127.0.0.1:{}/?o=1#job/runs/{}", self.port, run.run_id),
        });
        if let Some(end) = run.end_ms {
            answer["end_time"] = json!(end);
        }
        answer
    }

    fn get_run(&mut self, request: &Value) -> Answer {
        let run_id = request["run_id"].as_i64().unwrap_or_default();
        let Some(run) = self.databricks.runs.get(&run_id).cloned() else {
            return error(400, "INVALID_PARAMETER_VALUE", &format!("Run {run_id} does not exist."));
        };
        let answer = self.run_json(&run);
        self.databricks_check("GET runs/get", "jobs.Run", &answer, Direction::Response);
        reply(answer)
    }

    fn get_run_output(&mut self, request: &Value) -> Answer {
        let run_id = request["run_id"].as_i64().unwrap_or_default();
        if self.databricks.runs.contains_key(&run_id) {
            return error(
                400,
                "INVALID_PARAMETER_VALUE",
                "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output of each individual task run instead.",
            );
        }
        let Some(run) = self.databricks.runs.values().find(|r| r.task_run_id == run_id).cloned() else {
            return error(400, "INVALID_PARAMETER_VALUE", &format!("Run {run_id} does not exist."));
        };
        // Databricks keeps the last 5 MB of the driver's output.
        let logs: String = {
            let bytes = run.logs.as_bytes();
            let from = bytes.len().saturating_sub(5 * 1024 * 1024);
            String::from_utf8_lossy(&bytes[from..]).into_owned()
        };
        let mut metadata = self.run_json(&run);
        metadata["run_id"] = json!(run.task_run_id);
        metadata["task_key"] = run.task["task_key"].clone();
        if let Some(object) = metadata.as_object_mut() {
            object.remove("task_key");
            object.remove("tasks");
        }
        let mut answer = json!({"metadata": metadata, "logs": logs, "logs_truncated": run.logs.len() > logs.len()});
        if let Some(error) = &run.error {
            answer["error"] = json!(error);
        }
        if let Some(trace) = &run.error_trace {
            answer["error_trace"] = json!(trace);
        }
        self.databricks_check("GET runs/get-output", "jobs.RunOutput", &answer, Direction::Response);
        reply(answer)
    }

    fn cancel_run(&mut self, request: &Value) -> Answer {
        let run_id = request["run_id"].as_i64().unwrap_or_default();
        let Some(run) = self.databricks.runs.get_mut(&run_id) else {
            return error(400, "INVALID_PARAMETER_VALUE", &format!("Run {run_id} does not exist."));
        };
        run.cancel_requested = true;
        reply(json!({}))
    }

    fn mlflow(&mut self, call: &str, request: &Value) -> Answer {
        let db = &mut self.databricks;
        let run_id = request["run_id"].as_str().or(request["run_uuid"].as_str()).unwrap_or_default().to_string();
        let missing_run = || error(404, "RESOURCE_DOES_NOT_EXIST", &format!("Run '{run_id}' not found."));
        match call {
            "get_by_name" => {
                let name = request["experiment_name"].as_str().unwrap_or_default();
                match db.experiments.get(name) {
                    Some(id) => {
                        reply(json!({"experiment": {"experiment_id": id, "name": name, "lifecycle_stage": "active"}}))
                    }
                    None => error(404, "RESOURCE_DOES_NOT_EXIST", &format!("Node named '{name}' does not exist.")),
                }
            }
            "create_experiment" => {
                let name = request["name"].as_str().unwrap_or_default().to_string();
                if db.experiments.contains_key(&name) {
                    return error(400, "RESOURCE_ALREADY_EXISTS", &format!("Node named '{name}' already exists"));
                }
                let id = db.next().to_string();
                db.experiments.insert(name, id.clone());
                reply(json!({"experiment_id": id}))
            }
            "create_run" => {
                let experiment_id = request["experiment_id"].as_str().unwrap_or_default().to_string();
                if !db.experiments.values().any(|id| *id == experiment_id) {
                    return error(
                        404,
                        "RESOURCE_DOES_NOT_EXIST",
                        &format!("Experiment '{experiment_id}' does not exist."),
                    );
                }
                let id = format!("{:032x}", db.next());
                let tags = request["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| {
                        Some((t["key"].as_str()?.to_string(), t["value"].as_str().unwrap_or_default().to_string()))
                    })
                    .collect();
                let run = MlflowRun {
                    experiment_id,
                    run_name: request["run_name"].as_str().unwrap_or_default().to_string(),
                    status: "RUNNING".into(),
                    start_time: request["start_time"].as_i64().unwrap_or_else(now_ms),
                    tags,
                    ..MlflowRun::default()
                };
                db.mlflow_runs.insert(id.clone(), run);
                let answer = json!({"run": mlflow_run_json(&id, &db.mlflow_runs[&id])});
                reply(answer)
            }
            "get_run" => match db.mlflow_runs.get(&run_id) {
                Some(run) => {
                    let answer = json!({"run": mlflow_run_json(&run_id, run)});
                    self.databricks_check("GET mlflow/runs/get", "ml.GetRunResponse", &answer, Direction::Response);
                    reply(answer)
                }
                None => missing_run(),
            },
            "update_run" | "log_metric" | "log_param" | "set_tag" | "log_batch" => {
                match db.mlflow_runs.get_mut(&run_id) {
                    Some(run) => reply(record(call, &run_id, run, request)),
                    None => missing_run(),
                }
            }
            "get_history" => {
                let key = request["metric_key"].as_str().unwrap_or_default();
                match db.mlflow_runs.get(&run_id) {
                    Some(run) => {
                        let points: Vec<Value> = run
                            .metrics
                            .iter()
                            .filter(|m| m.0 == key)
                            .map(|(k, v, t, s)| json!({"key": k, "value": v, "timestamp": t, "step": s}))
                            .collect();
                        let answer = json!({"metrics": points});
                        self.databricks_check(
                            "GET mlflow/metrics/get-history",
                            "ml.GetMetricHistoryResponse",
                            &answer,
                            Direction::Response,
                        );
                        reply(answer)
                    }
                    None => missing_run(),
                }
            }
            // Calls a script may make whose content the emulator does not keep.
            "log_inputs" | "log_outputs" | "log_model" | "delete_tag" => reply(json!({})),
            other => {
                self.violations.push(format!("MLflow {other}: not served by the emulator"));
                error(501, "NOT_IMPLEMENTED", "not emulated")
            }
        }
    }
}

/// (key, value, timestamp, step) of a logged metric.
fn metric(m: &Value) -> (String, f64, i64, i64) {
    (
        m["key"].as_str().unwrap_or_default().to_string(),
        m["value"].as_f64().unwrap_or(f64::NAN),
        m["timestamp"].as_i64().unwrap_or_else(now_ms),
        m["step"].as_i64().unwrap_or(0),
    )
}

/// (key, value) of a param or tag.
fn pair(p: &Value) -> (String, String) {
    (p["key"].as_str().unwrap_or_default().to_string(), p["value"].as_str().unwrap_or_default().to_string())
}

/// A write to one MLflow run; the answer's body.
fn record(call: &str, id: &str, run: &mut MlflowRun, request: &Value) -> Value {
    match call {
        "update_run" => {
            if let Some(status) = request["status"].as_str() {
                run.status = status.to_string();
            }
            if let Some(end) = request["end_time"].as_i64() {
                run.end_time = Some(end);
            }
            if let Some(name) = request["run_name"].as_str() {
                run.run_name = name.to_string();
            }
            return json!({"run_info": mlflow_run_json(id, run)["info"].clone()});
        }
        "log_metric" => run.metrics.push(metric(request)),
        "log_param" => {
            let (key, value) = pair(request);
            run.params.insert(key, value);
        }
        "set_tag" => {
            let (key, value) = pair(request);
            run.tags.insert(key, value);
        }
        _ => {
            run.metrics.extend(request["metrics"].as_array().into_iter().flatten().map(metric));
            run.params.extend(request["params"].as_array().into_iter().flatten().map(pair));
            run.tags.extend(request["tags"].as_array().into_iter().flatten().map(pair));
        }
    }
    json!({})
}

fn mlflow_run_json(id: &str, run: &MlflowRun) -> Value {
    let mut latest: BTreeMap<&str, (f64, i64, i64)> = BTreeMap::new();
    for (key, value, timestamp, step) in &run.metrics {
        latest.insert(key, (*value, *timestamp, *step));
    }
    let mut info = json!({
        "run_id": id,
        "run_uuid": id,
        "run_name": run.run_name,
        "experiment_id": run.experiment_id,
        "status": run.status,
        "start_time": run.start_time,
        "lifecycle_stage": "active",
        "user_id": crate::common::CLIENT_ID,
        "artifact_uri": format!("dbfs:/databricks/mlflow-tracking/{}/{id}/artifacts", run.experiment_id),
    });
    if let Some(end) = run.end_time {
        info["end_time"] = json!(end);
    }
    json!({
        "info": info,
        "data": {
            "metrics": latest.iter().map(|(k, (v, t, s))| json!({"key": k, "value": v, "timestamp": t, "step": s})).collect::<Vec<_>>(),
            "params": run.params.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
            "tags": run.tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        },
    })
}

/// The driver's view of a volume path inside a task's arguments.
pub fn on_driver(root: &Path, text: &str) -> String {
    text.replace("/Volumes/", &format!("{}/Volumes/", root.display()))
}
