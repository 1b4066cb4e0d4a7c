//! Code versions, environment versions and jobs as ARM keeps them, and the two data-plane
//! APIs a job is followed through: run history's details and MLflow's `runs/get`. The jobs
//! themselves run in `runner.rs`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common::CLIENT_ID;
use crate::resources::Run;
use crate::schema::Direction;
use crate::state::arm_error;
use crate::state::{Answer, State, ok};

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn system_data() -> Value {
    let now = now();
    json!({"createdAt": now, "createdBy": CLIENT_ID, "createdByType": "Application", "lastModifiedAt": now})
}

/// An asset's container as the service answers it: its newest version (the one created last)
/// as `latestVersion`.
fn asset_container(
    versions: &BTreeMap<(String, String), Value>,
    prefix: &str,
    kind: &str,
    name: &str,
) -> Option<Value> {
    let newest = versions
        .iter()
        .filter(|((n, _), _)| n == name)
        .max_by_key(|(_, v)| v["systemData"]["createdAt"].as_str().unwrap_or_default().to_string())?;
    let mut container = json!({
        "id": format!("{prefix}/{kind}/{name}"), "name": name,
        "type": format!("Microsoft.MachineLearningServices/workspaces/{kind}"),
        "properties": {"latestVersion": newest.0.1, "isArchived": false},
        "systemData": newest.1["systemData"].clone(),
    });
    if kind == "data" {
        // A data container has the type of its versions (DataContainerProperties requires it).
        container["properties"]["dataType"] = newest.1["properties"]["dataType"].clone();
    }
    Some(container)
}

/// A workspace asset version as the service stores and answers it: its ARM id and type from
/// the kind (`codes`, `environments`, `data`, `components`), the properties sent, who made it.
fn asset_version(prefix: &str, kind: &str, (name, version): (&str, &str), value: &Value) -> Value {
    json!({
        "id": format!("{prefix}/{kind}/{name}/versions/{version}"), "name": version,
        "type": format!("Microsoft.MachineLearningServices/workspaces/{kind}/versions"),
        "properties": value["properties"].clone(), "systemData": system_data(),
    })
}

impl State {
    /// The stored versions of an asset kind and its REST models' name.
    fn assets(&self, kind: &str) -> (&BTreeMap<(String, String), Value>, &'static str) {
        match kind {
            "data" => (&self.data, "Data"),
            "components" => (&self.components, "Component"),
            _ => (&self.environments, "Environment"),
        }
    }

    /// A stored asset version, or the service's 404 naming what was looked for.
    fn found_version(
        &mut self,
        what: &str,
        schema: &str,
        found: Option<Value>,
        label: &str,
        name: &str,
        version: &str,
    ) -> Answer {
        match found {
            Some(found) => self.respond(what, schema, 200, found),
            None => arm_error(404, "UserError", &format!("Could not find {label} {name}:{version}")),
        }
    }

    pub(crate) fn job_assets(
        &mut self,
        method: &str,
        tail: &[&str],
        query: &BTreeMap<String, String>,
        body: Option<Value>,
        prefix: &str,
        what: &str,
    ) -> Option<Answer> {
        Some(match (method, tail) {
            // azure-ai-ml asks under a fresh name; the service answers across names.
            ("GET", ["codes", name, "versions"]) => {
                let items: Vec<Value> = match (query.get("hash"), query.get("hashVersion")) {
                    (Some(hash), Some(version)) => self
                        .codes
                        .values()
                        .filter(|c| {
                            c["properties"]["properties"]["hash_sha256"] == json!(hash)
                                && c["properties"]["properties"]["hash_version"] == json!(version)
                        })
                        .cloned()
                        .collect(),
                    _ => self.codes.iter().filter(|((n, _), _)| n == name).map(|(_, c)| c.clone()).collect(),
                };
                self.page(what, "CodeVersion", &format!("{prefix}/codes/{name}/versions"), items, query)
            }
            ("POST", ["codes", name, "versions", version, "startPendingUpload"]) => {
                let Some(request) = body else { return Some(arm_error(400, "BadRequest", "no body")) };
                if !self.check(what, "PendingUploadRequestDto", &request, Direction::Request) {
                    return Some(arm_error(400, "UserError", "the body does not match PendingUploadRequestDto"));
                }
                let Some((storage, container)) = self.datastore("workspaceblobstore") else {
                    return Some(arm_error(500, "InternalServerError", "the emulator has no storage"));
                };
                let blob_uri = format!("{}/LocalUpload/{name}-{version}", storage.url(&container));
                let answer = json!({
                    "pendingUploadId": request["pendingUploadId"],
                    "pendingUploadType": "TemporaryBlobReference",
                    "blobReferenceForConsumption": {
                        "blobUri": blob_uri,
                        "storageAccountArmId": format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{}", crate::common::SUBSCRIPTION, crate::common::RESOURCE_GROUP, storage.account),
                        "credential": {"credentialType": "SAS", "sasUri": format!("{blob_uri}?{}", storage.container_sas(&container))},
                    },
                });
                self.respond(what, "PendingUploadResponseDto", 200, answer)
            }
            ("GET", ["codes", name, "versions", version]) => {
                let found = self.codes.get(&(name.to_string(), version.to_string())).cloned();
                self.found_version(what, "CodeVersion", found, "code", name, version)
            }
            ("PUT", ["codes", name, "versions", version]) => {
                let Some(value) = body else { return Some(arm_error(400, "BadRequest", "no body")) };
                if !self.check(what, "CodeVersion", &value, Direction::Request) {
                    return Some(arm_error(400, "UserError", "the body does not match CodeVersion"));
                }
                let key = (name.to_string(), version.to_string());
                if let Some(existing) = self.codes.get(&key).cloned() {
                    // Code versions are immutable: the same content is fine, other content is not.
                    if existing["properties"]["codeUri"] != value["properties"]["codeUri"] {
                        return Some(arm_error(
                            409,
                            "UserError",
                            "A code version with this name and version already exists with a different codeUri",
                        ));
                    }
                    return Some(self.respond(what, "CodeVersion", 200, existing));
                }
                let mut stored = asset_version(prefix, "codes", (name, version), &value);
                stored["properties"]["provisioningState"] = json!("Succeeded");
                self.codes.insert(key, stored.clone());
                self.respond(what, "CodeVersion", 201, stored)
            }
            ("GET", [kind @ ("environments" | "data" | "components")]) => {
                let (versions, class) = self.assets(kind);
                let names: std::collections::BTreeSet<&String> = versions.keys().map(|(n, _)| n).collect();
                let items: Vec<Value> =
                    names.iter().filter_map(|n| asset_container(versions, prefix, kind, n)).collect();
                self.page(what, &format!("{class}Container"), &format!("{prefix}/{kind}"), items, query)
            }
            ("GET", [kind @ ("environments" | "data" | "components"), name]) => {
                let (versions, class) = self.assets(kind);
                match asset_container(versions, prefix, kind, name) {
                    Some(container) => self.respond(what, &format!("{class}Container"), 200, container),
                    None => arm_error(404, "UserError", &format!("Could not find asset with name {name}")),
                }
            }
            ("GET", [kind @ ("environments" | "data" | "components"), name, "versions"]) => {
                let (versions, class) = self.assets(kind);
                let items: Vec<Value> =
                    versions.iter().filter(|((n, _), _)| n == name).map(|(_, v)| v.clone()).collect();
                let version_class =
                    if class == "Data" { "DataVersionBase".to_string() } else { format!("{class}Version") };
                self.page(what, &version_class, &format!("{prefix}/{kind}/{name}/versions"), items, query)
            }
            ("GET", ["environments", name, "versions", version]) => {
                let found = self.environments.get(&(name.to_string(), version.to_string())).cloned();
                self.found_version(what, "EnvironmentVersion", found, "environment", name, version)
            }
            ("PUT", ["environments", name, "versions", version]) => {
                let Some(value) = body else { return Some(arm_error(400, "BadRequest", "no body")) };
                if !self.check(what, "EnvironmentVersion", &value, Direction::Request) {
                    return Some(arm_error(400, "UserError", "the body does not match EnvironmentVersion"));
                }
                let key = (name.to_string(), version.to_string());
                let existed = self.environments.contains_key(&key);
                let mut stored = asset_version(prefix, "environments", (name, version), &value);
                if let Some(previous) = self.environments.get(&key) {
                    // Written again, it is still the version it was when created.
                    stored["systemData"] = previous["systemData"].clone();
                }
                stored["properties"]["environmentType"] = json!("UserCreated");
                stored["properties"]["provisioningState"] = json!("Succeeded");
                self.environments.insert(key, stored.clone());
                self.respond(what, "EnvironmentVersion", if existed { 200 } else { 201 }, stored)
            }
            ("GET", ["data", name, "versions", version]) => {
                let found = self.data.get(&(name.to_string(), version.to_string())).cloned();
                self.found_version(what, "DataVersionBase", found, "data", name, version)
            }
            ("PUT", ["data", name, "versions", version]) => {
                let Some(value) = body else { return Some(arm_error(400, "BadRequest", "no body")) };
                if !self.check(what, "DataVersionBase", &value, Direction::Request) {
                    return Some(arm_error(400, "UserError", "the body does not match DataVersionBase"));
                }
                let key = (name.to_string(), version.to_string());
                // A version is immutable: writing it again is refused (azure-ai-ml tells the
                // refusal by "already exists" in its message, and reads the version instead).
                if self.data.contains_key(&key) {
                    return Some(arm_error(409, "UserError", &format!("Data {name}:{version} already exists")));
                }
                let stored = asset_version(prefix, "data", (name, version), &value);
                self.data.insert(key, stored.clone());
                self.respond(what, "DataVersionBase", 201, stored)
            }
            ("GET", ["components", name, "versions", version]) => {
                let found = self.components.get(&(name.to_string(), version.to_string())).cloned();
                self.found_version(what, "ComponentVersion", found, "component", name, version)
            }
            ("PUT", ["components", name, "versions", version]) => {
                let Some(value) = body else { return Some(arm_error(400, "BadRequest", "no body")) };
                if !self.check(what, "ComponentVersion", &value, Direction::Request) {
                    return Some(arm_error(400, "UserError", "the body does not match ComponentVersion"));
                }
                // The spec is free-form in the REST models; the parts a command runs from are
                // not, nor those of a parallel component's task.
                let spec = &value["properties"]["componentSpec"];
                let (runs_from, place, required): (&Value, &str, &[&str]) = match spec["type"].as_str() {
                    Some("parallel") => (&spec["task"], "componentSpec.task", &["entry_script", "environment"]),
                    _ => (spec, "componentSpec", &["command", "environment"]),
                };
                for field in required {
                    if runs_from[field].as_str().is_none_or(str::is_empty) {
                        self.violations.push(format!("{what}: {place}.{field} missing"));
                        return Some(arm_error(400, "UserError", &format!("{place}.{field} is required")));
                    }
                }
                for (field, kind) in [("environment", "environments"), ("code", "codes")] {
                    // A registry's asset or a curated environment is the service's to resolve.
                    if let Some(id) = runs_from[field].as_str().filter(|id| is_workspace_asset(id))
                        && find_stored(self, id, kind).is_none()
                    {
                        return Some(arm_error(400, "UserError", &format!("{place}.{field} {id} does not exist")));
                    }
                }
                let key = (name.to_string(), version.to_string());
                let mut stored = asset_version(prefix, "components", (name, version), &value);
                stored["properties"]["provisioningState"] = json!("Succeeded");
                let existed = self.components.insert(key, stored.clone()).is_some();
                self.respond(what, "ComponentVersion", if existed { 200 } else { 201 }, stored)
            }
            ("GET", ["jobs", name]) => match self.jobs.get(*name).cloned() {
                Some(found) => self.respond(what, "JobBase", 200, found),
                None => arm_error(404, "UserError", &format!("Could not find job {name}")),
            },
            ("PUT", ["jobs", name]) => {
                let Some(value) = body else { return Some(arm_error(400, "BadRequest", "no body")) };
                if !self.check(what, "JobBase", &value, Direction::Request) {
                    return Some(arm_error(400, "UserError", "the body does not match JobBase"));
                }
                if self.jobs.contains_key(*name) {
                    return Some(arm_error(
                        409,
                        "UserError",
                        &format!("A job with name {name} already exists and cannot be changed"),
                    ));
                }
                if let Some(problem) = self.dangling_reference(&value["properties"]) {
                    return Some(arm_error(400, "UserError", &problem));
                }
                let mut properties = value["properties"].clone();
                properties["status"] = json!("NotStarted");
                properties["outputs"]["default"] = json!({
                    "jobOutputType": "uri_folder", "mode": "ReadWriteMount",
                    "uri": format!("azureml://datastores/workspaceartifactstore/paths/ExperimentRun/dcid.{name}/"),
                });
                properties["services"] = json!({
                    "Studio": {"jobServiceType": "Studio", "endpoint": format!("https://ml.azure.com/runs/{name}")},
                    "Tracking": {"jobServiceType": "Tracking", "endpoint": format!("azureml://127.0.0.1:{}/mlflow/v1.0{prefix}", self.port)},
                });
                let stored = json!({
                    "id": format!("{prefix}/jobs/{name}"), "name": name, "type": "Microsoft.MachineLearningServices/workspaces/jobs",
                    "properties": properties, "systemData": system_data(),
                });
                self.jobs.insert(name.to_string(), stored.clone());
                self.runs.insert(name.to_string(), Run::default());
                self.queued.push(name.to_string());
                self.respond(what, "JobBase", 201, stored)
            }
            ("POST", ["jobs", name, "cancel"]) => {
                if !self.jobs.contains_key(*name) {
                    return Some(arm_error(404, "UserError", &format!("Could not find job {name}")));
                }
                self.cancel_requested.insert(name.to_string());
                self.set_status(name, "CancelRequested");
                ok(200, Value::Null)
            }
            _ => return None,
        })
    }

    /// A job naming a code, environment or component version the workspace does not have.
    fn dangling_reference(&self, properties: &Value) -> Option<String> {
        if properties["jobType"] == "Pipeline" {
            for (node, job) in properties["jobs"].as_object().into_iter().flatten() {
                let id = job["componentId"].as_str().unwrap_or_default();
                if find_stored(self, id, "components").is_none() {
                    return Some(format!("jobs.{node}.componentId {id} does not exist"));
                }
            }
            return None;
        }
        // A sweep's code and environment are its trial's.
        let properties = if properties["jobType"] == "Sweep" { &properties["trial"] } else { properties };
        if let Some(code) = properties["codeId"].as_str()
            && find_stored(self, code, "codes").is_none()
        {
            return Some(format!("codeId {code} does not exist"));
        }
        let environment = properties["environmentId"].as_str().unwrap_or_default();
        if find_stored(self, environment, "environments").is_none() {
            return Some(format!("environmentId {environment} does not exist"));
        }
        None
    }

    /// Run history's children of a pipeline's run: its steps' jobs.
    fn children(&self, run: &str) -> Answer {
        if !self.jobs.contains_key(run) {
            return arm_error(404, "UserError", &format!("Run {run} was not found"));
        }
        let value: Vec<Value> = self
            .jobs
            .values()
            .filter(|j| j["properties"]["properties"]["azureml.parentrunid"] == json!(run))
            .map(|j| json!({"runId": j["name"], "parentRunId": run, "status": j["properties"]["status"], "displayName": j["properties"]["displayName"]}))
            .collect();
        ok(200, json!({"value": value}))
    }

    pub(crate) fn set_status(&mut self, job: &str, status: &str) {
        if let Some(found) = self.jobs.get_mut(job) {
            found["properties"]["status"] = json!(status);
        }
    }

    /// Run history (`…/runs/{id}/details`) and MLflow (`…/api/2.0/mlflow/runs/get`).
    pub(crate) fn data_plane(&mut self, method: &str, path: &str, query: &BTreeMap<String, String>) -> Answer {
        let workspace = self.served_workspace(path).unwrap_or_else(crate::common::workspace_id);
        if method == "GET"
            && let Some(rest) = path.strip_prefix(&format!("/history/v1.0{workspace}/runs/"))
            && let Some(run) = rest.strip_suffix("/details")
        {
            let (Some(job), Some(record)) = (self.jobs.get(run), self.runs.get(run)) else {
                return arm_error(404, "UserError", &format!("Run {run} was not found"));
            };
            let mut details = json!({"runId": run, "status": job["properties"]["status"], "warnings": []});
            if let Some(error) = &record.error {
                details["error"] = json!({"error": {"code": "UserError", "message": error}});
            }
            return ok(200, details);
        }
        if method == "GET"
            && let Some(rest) = path.strip_prefix(&format!("/history/v1.0{workspace}/runs/"))
            && let Some(run) = rest.strip_suffix("/children")
        {
            return self.children(run);
        }
        if method == "GET" && path == format!("/mlflow/v2.0{workspace}/api/2.0/mlflow/runs/get") {
            let run_id = query.get("run_id").cloned().unwrap_or_default();
            let (Some(job), Some(record)) = (self.jobs.get(&run_id), self.runs.get(&run_id)) else {
                return Answer::Reply {
                    status: 404,
                    headers: Vec::new(),
                    body: json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": format!("Run '{run_id}' not found")}),
                };
            };
            let status = match job["properties"]["status"].as_str().unwrap_or("") {
                "Completed" => "FINISHED",
                "Failed" | "NotResponding" => "FAILED",
                "Canceled" => "KILLED",
                "Running" | "Finalizing" => "RUNNING",
                _ => "SCHEDULED",
            };
            let mut info = json!({
                "run_id": run_id, "run_uuid": run_id, "run_name": run_id, "experiment_id": "1", "status": status,
                "lifecycle_stage": "active", "artifact_uri": format!("azureml://experiments/1/runs/{run_id}/artifacts"),
            });
            if let Some(start) = record.start_ms {
                info["start_time"] = json!(start);
            }
            if let Some(end) = record.end_ms {
                info["end_time"] = json!(end);
            }
            let metrics: Vec<Value> = record
                .metrics
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v, "timestamp": record.end_ms.unwrap_or(0), "step": 0}))
                .collect();
            let params: Vec<Value> = record.params.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
            return ok(200, json!({"run": {"info": info, "data": {"metrics": metrics, "params": params, "tags": []}}}));
        }
        self.violations.push(format!("{method} {path}: not a data-plane operation the emulator knows"));
        arm_error(404, "NotFound", "not an operation the emulator implements")
    }
}

/// The stored version an ARM id (`…/<kind>/<name>/versions/<version>`, `azureml:` or not) names.
/// Whether an id names one of this workspace's assets (`azureml:/subscriptions/…`), not a
/// registry's (`azureml://registries/…`) or a curated environment (`azureml:AzureML-…`).
pub(crate) fn is_workspace_asset(id: &str) -> bool {
    id.trim_start_matches("azureml:").starts_with("/subscriptions/")
}

pub(crate) fn find_stored(state: &State, id: &str, kind: &str) -> Option<Value> {
    let at = id.find(&format!("/{kind}/"))?;
    let parts: Vec<&str> = id[at + kind.len() + 2..].split('/').collect();
    let [name, "versions", version] = parts.as_slice() else { return None };
    let key = (name.to_string(), version.to_string());
    match kind {
        "codes" => state.codes.get(&key),
        "environments" => state.environments.get(&key),
        "components" => state.components.get(&key),
        _ => None,
    }
    .cloned()
}
