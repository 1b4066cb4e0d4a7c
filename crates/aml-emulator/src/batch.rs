//! Batch endpoints and deployments as ARM keeps them: PUTs checked against the models and
//! answered with an Azure-AsyncOperation to poll, DELETEs with a Location. A model
//! deployment must name a model, code and environment that exist, as Azure ML checks.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common::CLIENT_ID;
use crate::schema::Direction;
use crate::state::arm_error;
use crate::state::{Answer, State, ok};

fn system_data() -> Value {
    let now = jiff::Timestamp::now().to_string();
    json!({"createdAt": now, "createdBy": CLIENT_ID, "createdByType": "Application", "lastModifiedAt": now})
}

impl State {
    pub(crate) fn batch(
        &mut self,
        method: &str,
        tail: &[&str],
        query: &BTreeMap<String, String>,
        body: Option<Value>,
        prefix: &str,
        what: &str,
    ) -> Option<Answer> {
        Some(match (method, tail) {
            ("GET", ["batchEndpoints"]) => {
                let items: Vec<Value> = self.batch_endpoints.values().cloned().collect();
                self.page(what, "BatchEndpoint", &format!("{prefix}/batchEndpoints"), items, query)
            }
            ("GET", ["batchEndpoints", name]) => match self.batch_endpoints.get(*name).cloned() {
                Some(found) => self.respond(what, "BatchEndpoint", 200, found),
                None => arm_error(404, "UserError", &format!("Could not find batch endpoint {name}")),
            },
            ("PUT", ["batchEndpoints", name]) => {
                let Some(value) = body else { return Some(arm_error(400, "BadRequest", "no body")) };
                if !self.check(what, "BatchEndpoint", &value, Direction::Request) {
                    return Some(arm_error(400, "UserError", "the body does not match BatchEndpoint"));
                }
                if self.endpoints.contains_key(*name) {
                    return Some(arm_error(409, "Conflict", &format!("An online endpoint named {name} exists")));
                }
                if let Some(default) = value["properties"]["defaults"]["deploymentName"].as_str()
                    && !self.batch_deployments.contains_key(&(name.to_string(), default.to_string()))
                {
                    return Some(arm_error(
                        400,
                        "UserError",
                        &format!("Default deployment {default} does not exist in batch endpoint {name}"),
                    ));
                }
                let existed = self.batch_endpoints.get(*name).cloned();
                let mut properties = value["properties"].clone();
                properties["provisioningState"] = json!("Succeeded");
                properties["scoringUri"] = json!(format!("https://127.0.0.1:{}/batch/{name}/jobs", self.port));
                properties["swaggerUri"] = json!(format!("https://127.0.0.1:{}/batch/{name}/swagger", self.port));
                let stored = json!({
                    "id": format!("{prefix}/batchEndpoints/{name}"), "name": name,
                    "type": "Microsoft.MachineLearningServices/workspaces/batchEndpoints",
                    "location": value["location"], "tags": value["tags"], "properties": properties,
                    "systemData": existed.as_ref().map(|e| e["systemData"].clone()).unwrap_or_else(system_data),
                });
                self.batch_endpoints.insert(name.to_string(), stored.clone());
                let operation = self.start_operation(false, None);
                self.check(&format!("answer to {what}"), "BatchEndpoint", &stored, Direction::Response);
                self.async_reply(if existed.is_some() { 200 } else { 201 }, stored, &operation)
            }
            ("DELETE", ["batchEndpoints", name]) => {
                if self.batch_endpoints.remove(*name).is_none() {
                    return Some(ok(204, Value::Null));
                }
                self.batch_deployments.retain(|(e, _), _| e != name);
                let operation = self.start_operation(false, None);
                self.location_reply(&operation)
            }
            ("GET", ["batchEndpoints", endpoint, "deployments"]) => {
                let items: Vec<Value> =
                    self.batch_deployments.iter().filter(|((e, _), _)| e == endpoint).map(|(_, d)| d.clone()).collect();
                let next = format!("{prefix}/batchEndpoints/{endpoint}/deployments");
                self.page(what, "BatchDeployment", &next, items, query)
            }
            ("GET", ["batchEndpoints", endpoint, "deployments", name]) => {
                match self.batch_deployments.get(&(endpoint.to_string(), name.to_string())).cloned() {
                    Some(found) => self.respond(what, "BatchDeployment", 200, found),
                    None => arm_error(
                        404,
                        "UserError",
                        &format!("Could not find deployment {name} of batch endpoint {endpoint}"),
                    ),
                }
            }
            ("PUT", ["batchEndpoints", endpoint, "deployments", name]) => {
                let Some(value) = body else { return Some(arm_error(400, "BadRequest", "no body")) };
                if !self.check(what, "BatchDeployment", &value, Direction::Request) {
                    return Some(arm_error(400, "UserError", "the body does not match BatchDeployment"));
                }
                if !self.batch_endpoints.contains_key(*endpoint) {
                    return Some(arm_error(404, "UserError", &format!("Could not find batch endpoint {endpoint}")));
                }
                let mut checked = value["properties"].clone();
                // The model is a reference object here, an id string on an online deployment.
                checked["model"] = value["properties"]["model"]["assetId"].clone();
                if let Some(problem) = self.missing_asset(&checked) {
                    return Some(arm_error(400, "UserError", &problem));
                }
                let key = (endpoint.to_string(), name.to_string());
                let existed = self.batch_deployments.get(&key).cloned();
                let mut properties = value["properties"].clone();
                properties["provisioningState"] = json!("Succeeded");
                let stored = json!({
                    "id": format!("{prefix}/batchEndpoints/{endpoint}/deployments/{name}"), "name": name,
                    "type": "Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments",
                    "location": value["location"], "tags": value["tags"], "properties": properties,
                    "systemData": existed.as_ref().map(|d| d["systemData"].clone()).unwrap_or_else(system_data),
                });
                self.batch_deployments.insert(key, stored.clone());
                let operation = self.start_operation(false, None);
                self.check(&format!("answer to {what}"), "BatchDeployment", &stored, Direction::Response);
                self.async_reply(if existed.is_some() { 200 } else { 201 }, stored, &operation)
            }
            ("DELETE", ["batchEndpoints", endpoint, "deployments", name]) => {
                let key = (endpoint.to_string(), name.to_string());
                if self.batch_deployments.remove(&key).is_none() {
                    return Some(ok(204, Value::Null));
                }
                let operation = self.start_operation(false, None);
                self.location_reply(&operation)
            }
            _ => return None,
        })
    }
}

/// What an invocation body may hold, as azure-ai-ml's `BatchJobSchema` writes it.
const INVOCATION_FIELDS: [&str; 11] = [
    "inputData",
    "name",
    "miniBatchSize",
    "errorThreshold",
    "outputFileName",
    "retrySettings",
    "outputData",
    "outputDataset",
    "compute",
    "dataset",
    "properties",
];

impl State {
    /// `POST` to a batch endpoint's scoring URI, as `BatchEndpointOperations.invoke` sends it:
    /// an Entra token for Azure ML, the deployment in `azureml-model-deployment` (else the
    /// endpoint's default), the input in `properties.inputData`. Starts a pipeline job the
    /// compute runs with `aml-deploy invoke` on a local workspace; answers the job.
    pub(crate) fn batch_invoke(&mut self, endpoint: &str, headers: &BTreeMap<String, String>, body: &[u8]) -> Answer {
        let what = format!("POST /batch/{endpoint}/jobs");
        let token = headers.get("authorization").and_then(|h| h.strip_prefix("Bearer ")).unwrap_or("");
        if !self.tokens.contains(token) {
            return arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.");
        }
        let Some(found) = self.batch_endpoints.get(endpoint).cloned() else {
            return arm_error(404, "UserError", &format!("Could not find batch endpoint {endpoint}"));
        };
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        self.bodies.push((format!("/batch/{endpoint}/jobs"), request.clone()));
        let Some(properties) = request["properties"].as_object() else {
            self.violations.push(format!("{what}: the body has no `properties` object"));
            return arm_error(400, "BadRequest", "the body has no properties");
        };
        if let Some(unknown) = properties.keys().find(|k| !INVOCATION_FIELDS.contains(&k.as_str())) {
            self.violations.push(format!("{what}: unknown field properties.{unknown}"));
            return arm_error(400, "BadRequest", &format!("unknown field {unknown}"));
        }
        let given = &request["properties"];
        let Some((kind, input)) =
            given["inputData"].as_object().and_then(|inputs| inputs.values().next()).and_then(|input| {
                let kind = match input["jobInputType"].as_str()? {
                    "UriFolder" => "uri_folder",
                    "UriFile" => "uri_file",
                    _ => return None,
                };
                Some((kind, input["uri"].as_str()?.to_string()))
            })
        else {
            self.violations.push(format!("{what}: inputData is not one UriFolder or UriFile input with its uri"));
            return arm_error(400, "BadRequest", "no input");
        };
        let deployment = match headers.get("azureml-model-deployment") {
            Some(named) => named.clone(),
            None => match found["properties"]["defaults"]["deploymentName"].as_str() {
                Some(default) => default.to_string(),
                None => {
                    return arm_error(
                        400,
                        "UserError",
                        &format!("Batch endpoint {endpoint} has no default deployment"),
                    );
                }
            },
        };
        if !self.batch_deployments.contains_key(&(endpoint.to_string(), deployment.clone())) {
            return arm_error(
                404,
                "UserError",
                &format!("Could not find deployment {deployment} of batch endpoint {endpoint}"),
            );
        }
        let name = given["name"].as_str().map(str::to_owned).unwrap_or_else(aml_client::ids::job_name);
        if self.jobs.contains_key(&name) {
            return arm_error(409, "UserError", &format!("A job with name {name} already exists"));
        }
        let mut sets = Vec::new();
        for (field, setting) in [
            ("miniBatchSize", "mini_batch_size"),
            ("errorThreshold", "error_threshold"),
            ("outputFileName", "output_file_name"),
        ] {
            if let Some(value) = properties.get(field).filter(|v| !v.is_null()) {
                sets.push((
                    setting.to_string(),
                    value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string()),
                ));
            }
        }
        if let Some(retries) = given["retrySettings"]["maxRetries"].as_i64() {
            sets.push(("max_retries".into(), retries.to_string()));
        }
        let prefix = crate::common::workspace_id();
        let stored = json!({
            "id": format!("{prefix}/jobs/{name}"), "name": name, "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "properties": {
                "jobType": "Pipeline", "displayName": deployment, "experimentName": endpoint, "status": "NotStarted",
                "inputs": {"input_data": {"jobInputType": kind, "uri": input}},
                "outputs": {"score": {"jobOutputType": "uri_folder", "mode": "ReadWriteMount"}},
                "jobs": {}, "settings": {}, "properties": {}, "tags": {},
            },
            "systemData": system_data(),
        });
        self.check(&format!("the job {what} starts"), "JobBase", &stored, Direction::Response);
        self.jobs.insert(name.clone(), stored);
        self.runs.insert(name.clone(), crate::resources::Run::default());
        let output = match given["outputData"].as_object() {
            None => None,
            Some(outputs) => {
                let score = outputs.get("score").and_then(|o| o["uri"].as_str()).and_then(|uri| {
                    let rest = uri.strip_prefix("azureml://datastores/")?;
                    let (datastore, path) = rest.split_once("/paths/")?;
                    Some((datastore.to_string(), path.trim_matches('/').to_string()))
                });
                if score.is_none() || outputs.len() != 1 {
                    self.violations.push(format!("{what}: outputData is not one `score` output with a datastore uri"));
                    return arm_error(400, "BadRequest", "bad outputData");
                }
                score
            }
        };
        let run = crate::resources::BatchRun {
            endpoint: endpoint.to_string(),
            deployment,
            input,
            input_type: kind.to_string(),
            sets,
            output,
        };
        self.batch_runs.insert(name.clone(), run);
        self.queued.push(name.clone());
        ok(
            200,
            json!({
                "id": format!("{prefix}/jobs/{name}"), "name": name,
                "type": "Microsoft.MachineLearningServices/workspaces/jobs",
                "properties": {"status": "NotStarted"},
            }),
        )
    }
}
