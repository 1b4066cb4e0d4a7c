//! Managed online endpoints and deployments as ARM keeps them: PUTs answered with an
//! Azure-AsyncOperation to poll, DELETEs with a Location, keys and tokens, `getLogs`, and
//! the scoring URI, which forwards to the deployment really serving on the emulator's local
//! workspace (`runner::online_task` deploys it there with `aml-deploy`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common::{CLIENT_ID, SUBSCRIPTION};
use crate::resources::Operation;
use crate::resources::Task;
use crate::schema::Direction;
use crate::state::arm_error;
use crate::state::{Answer, State, ok};

fn system_data() -> Value {
    let now = jiff::Timestamp::now().to_string();
    json!({"createdAt": now, "createdBy": CLIENT_ID, "createdByType": "Application", "lastModifiedAt": now})
}

fn percents(value: &Value) -> BTreeMap<String, u64> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

impl State {
    fn operation_url(&self, kind: &str, id: &str) -> String {
        format!(
            "https://127.0.0.1:{}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.MachineLearningServices/locations/westeurope/{kind}/{id}?api-version={}",
            self.port,
            self.schema_api_version()
        )
    }

    pub(crate) fn start_operation(&mut self, by_task: bool, endpoint: Option<String>) -> String {
        let id = format!("op-{}", self.operations.len() + 1);
        let polls_left = self.operation_polls;
        self.operations
            .insert(id.clone(), Operation { status: "InProgress".into(), error: None, polls_left, by_task, endpoint });
        id
    }

    pub(crate) fn async_reply(&self, status: u16, body: Value, operation: &str) -> Answer {
        Answer::Reply {
            status,
            headers: vec![
                ("azure-asyncoperation".into(), self.operation_url("mfeOperationsStatus", operation)),
                ("x-ms-async-operation-timeout".into(), "PT1H".into()),
                ("x-ms-request-id".into(), "emulator-ok".into()),
            ],
            body,
        }
    }

    pub(crate) fn location_reply(&self, operation: &str) -> Answer {
        Answer::Reply {
            status: 202,
            headers: vec![
                ("location".into(), self.operation_url("mfeOperationResults", operation)),
                ("retry-after".into(), "1".into()),
            ],
            body: Value::Null,
        }
    }

    /// A poll of an operation's status (Azure-AsyncOperation) or result (Location).
    pub(crate) fn operation(&mut self, path: &str) -> Option<Answer> {
        let (kind, id) = ["mfeOperationsStatus", "mfeOperationResults"]
            .iter()
            .find_map(|kind| Some((*kind, path.split(&format!("/{kind}/")).nth(1)?.to_string())))?;
        let Some(operation) = self.operations.get_mut(&id) else {
            return Some(arm_error(404, "NotFound", &format!("operation {id} not found")));
        };
        if operation.status == "InProgress" && !operation.by_task {
            if operation.polls_left > 0 {
                operation.polls_left -= 1;
            } else {
                operation.status = "Succeeded".into();
            }
        }
        let operation = operation.clone();
        if operation.status != "InProgress"
            && let Some(endpoint) = &operation.endpoint
            && let Some(found) = self.endpoints.get_mut(endpoint)
        {
            found["properties"]["provisioningState"] =
                json!(if operation.status == "Succeeded" { "Succeeded" } else { "Failed" });
        }
        let retry = vec![("retry-after".into(), "1".into())];
        Some(match kind {
            "mfeOperationsStatus" => {
                let mut body = json!({"id": id, "name": id, "status": operation.status});
                if let Some(error) = &operation.error {
                    body["error"] = json!({"code": "DeploymentFailed", "message": error});
                }
                Answer::Reply { status: 200, headers: retry, body }
            }
            _ => match operation.status.as_str() {
                "InProgress" => Answer::Reply {
                    status: 202,
                    headers: [retry, vec![("location".into(), self.operation_url(kind, &id))]].concat(),
                    body: Value::Null,
                },
                "Succeeded" => ok(200, Value::Null),
                _ => arm_error(500, "OperationFailed", operation.error.as_deref().unwrap_or("the operation failed")),
            },
        })
    }

    pub(crate) fn online(
        &mut self,
        method: &str,
        tail: &[&str],
        query: &BTreeMap<String, String>,
        body: Option<Value>,
        prefix: &str,
        what: &str,
    ) -> Option<Answer> {
        Some(match (method, tail) {
            ("GET", ["onlineEndpoints"]) => {
                let items: Vec<Value> = self.endpoints.values().cloned().collect();
                self.page(what, "OnlineEndpoint", &format!("{prefix}/onlineEndpoints"), items, query)
            }
            ("GET", ["onlineEndpoints", name]) => match self.endpoints.get(*name).cloned() {
                Some(found) => self.respond(what, "OnlineEndpoint", 200, found),
                None => arm_error(404, "UserError", &format!("Could not find online endpoint {name}")),
            },
            ("PUT", ["onlineEndpoints", name]) => {
                let Some(value) = body else { return Some(arm_error(400, "BadRequest", "no body")) };
                if !self.check(what, "OnlineEndpoint", &value, Direction::Request) {
                    return Some(arm_error(400, "UserError", "the body does not match OnlineEndpoint"));
                }
                let traffic = percents(&value["properties"]["traffic"]);
                let deployments: Vec<String> =
                    self.deployments.keys().filter(|(e, _)| e == name).map(|(_, d)| d.clone()).collect();
                if let Some(unknown) = traffic
                    .keys()
                    .chain(percents(&value["properties"]["mirrorTraffic"]).keys())
                    .find(|d| !deployments.contains(d))
                {
                    return Some(arm_error(
                        400,
                        "UserError",
                        &format!("Traffic names deployment {unknown}, which endpoint {name} does not have"),
                    ));
                }
                let total: u64 = traffic.values().sum();
                if total != 0 && total != 100 {
                    return Some(arm_error(400, "UserError", &format!("Traffic adds up to {total}, not 100")));
                }
                let existed = self.endpoints.get(*name).cloned();
                let mut properties = value["properties"].clone();
                properties["provisioningState"] = json!(if existed.is_some() { "Updating" } else { "Creating" });
                properties["scoringUri"] = json!(format!("https://127.0.0.1:{}/score/{name}", self.port));
                properties["swaggerUri"] = json!(format!("https://127.0.0.1:{}/swagger/{name}", self.port));
                let mut stored = json!({
                    "id": format!("{prefix}/onlineEndpoints/{name}"), "name": name, "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
                    "location": value["location"], "kind": value["kind"], "tags": value["tags"], "properties": properties,
                    "systemData": existed.as_ref().map(|e| e["systemData"].clone()).unwrap_or_else(system_data),
                });
                if stored["kind"].is_null() {
                    stored.as_object_mut()?.remove("kind");
                }
                if value["identity"].is_object() {
                    stored["identity"] = value["identity"].clone();
                }
                if existed.is_none() {
                    let keys = [crate::common::random_token(), crate::common::random_token()];
                    self.endpoint_keys.insert(name.to_string(), keys);
                }
                self.endpoints.insert(name.to_string(), stored.clone());
                let operation = self.start_operation(false, Some(name.to_string()));
                self.check(&format!("answer to {what}"), "OnlineEndpoint", &stored, Direction::Response);
                self.async_reply(if existed.is_some() { 200 } else { 201 }, stored, &operation)
            }
            ("DELETE", ["onlineEndpoints", name]) => {
                if !self.endpoints.contains_key(*name) {
                    return Some(ok(204, Value::Null));
                }
                if let Some(found) = self.endpoints.get_mut(*name) {
                    found["properties"]["provisioningState"] = json!("Deleting");
                }
                let operation = self.start_operation(true, None);
                self.tasks.push(Task::DeleteEndpoint { endpoint: name.to_string(), operation: operation.clone() });
                self.location_reply(&operation)
            }
            ("POST", ["onlineEndpoints", name, "listKeys"]) => match self.endpoint_keys.get(*name).cloned() {
                Some([primary, secondary]) => self.respond(
                    what,
                    "EndpointAuthKeys",
                    200,
                    json!({"primaryKey": primary, "secondaryKey": secondary}),
                ),
                None => arm_error(404, "UserError", &format!("Could not find online endpoint {name}")),
            },
            ("POST", ["onlineEndpoints", name, "token"]) => {
                if !self.endpoints.contains_key(*name) {
                    return Some(arm_error(404, "UserError", &format!("Could not find online endpoint {name}")));
                }
                let token = format!("emulator-endpoint-token-{}", crate::common::random_token());
                self.endpoint_tokens.insert(token.clone(), name.to_string());
                let now = jiff::Timestamp::now().as_second();
                self.respond(what, "EndpointAuthToken", 200, json!({"accessToken": token, "tokenType": "Bearer", "expiryTimeUtc": now + 3600, "refreshAfterTimeUtc": now + 1800}))
            }
            ("GET", ["onlineEndpoints", endpoint, "deployments"]) => {
                let items: Vec<Value> =
                    self.deployments.iter().filter(|((e, _), _)| e == endpoint).map(|(_, d)| d.clone()).collect();
                self.page(
                    what,
                    "OnlineDeployment",
                    &format!("{prefix}/onlineEndpoints/{endpoint}/deployments"),
                    items,
                    query,
                )
            }
            ("GET", ["onlineEndpoints", endpoint, "deployments", name]) => {
                match self.deployments.get(&(endpoint.to_string(), name.to_string())).cloned() {
                    Some(found) => self.respond(what, "OnlineDeployment", 200, found),
                    None => {
                        arm_error(404, "UserError", &format!("Could not find deployment {name} of endpoint {endpoint}"))
                    }
                }
            }
            ("PUT", ["onlineEndpoints", endpoint, "deployments", name]) => {
                let Some(value) = body else { return Some(arm_error(400, "BadRequest", "no body")) };
                if !self.check(what, "OnlineDeployment", &value, Direction::Request) {
                    return Some(arm_error(400, "UserError", "the body does not match OnlineDeployment"));
                }
                if !self.endpoints.contains_key(*endpoint) {
                    return Some(arm_error(404, "UserError", &format!("Could not find online endpoint {endpoint}")));
                }
                if let Some(problem) = self.missing_asset(&value["properties"]) {
                    return Some(arm_error(400, "UserError", &problem));
                }
                let key = (endpoint.to_string(), name.to_string());
                let existed = self.deployments.get(&key).cloned();
                let mut properties = value["properties"].clone();
                properties["provisioningState"] = json!(if existed.is_some() { "Updating" } else { "Creating" });
                let stored = json!({
                    "id": format!("{prefix}/onlineEndpoints/{endpoint}/deployments/{name}"), "name": name,
                    "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
                    "location": value["location"], "kind": value["kind"], "tags": value["tags"], "sku": value["sku"], "properties": properties,
                    "systemData": existed.as_ref().map(|d| d["systemData"].clone()).unwrap_or_else(system_data),
                });
                self.deployments.insert(key, stored.clone());
                let operation = self.start_operation(true, None);
                self.tasks.push(Task::Deploy {
                    endpoint: endpoint.to_string(),
                    deployment: name.to_string(),
                    operation: operation.clone(),
                });
                self.check(&format!("answer to {what}"), "OnlineDeployment", &stored, Direction::Response);
                self.async_reply(if existed.is_some() { 200 } else { 201 }, stored, &operation)
            }
            ("DELETE", ["onlineEndpoints", endpoint, "deployments", name]) => {
                let key = (endpoint.to_string(), name.to_string());
                if !self.deployments.contains_key(&key) {
                    return Some(ok(204, Value::Null));
                }
                let serving = self.endpoints.get(*endpoint).is_some_and(|e| {
                    percents(&e["properties"]["traffic"]).get(*name).copied().unwrap_or(0) > 0
                        || percents(&e["properties"]["mirrorTraffic"]).get(*name).copied().unwrap_or(0) > 0
                });
                if serving {
                    return Some(arm_error(
                        400,
                        "UserError",
                        &format!("Deployment {name} has traffic; set its traffic to 0 before deleting it"),
                    ));
                }
                if let Some(found) = self.deployments.get_mut(&key) {
                    found["properties"]["provisioningState"] = json!("Deleting");
                }
                let operation = self.start_operation(true, None);
                self.tasks.push(Task::DeleteDeployment {
                    endpoint: endpoint.to_string(),
                    deployment: name.to_string(),
                    operation: operation.clone(),
                });
                self.location_reply(&operation)
            }
            ("POST", ["onlineEndpoints", endpoint, "deployments", name, "getLogs"]) => {
                let request = body.unwrap_or(json!({}));
                if !self.check(what, "DeploymentLogsRequest", &request, Direction::Request) {
                    return Some(arm_error(400, "UserError", "the body does not match DeploymentLogsRequest"));
                }
                if !self.deployments.contains_key(&(endpoint.to_string(), name.to_string())) {
                    return Some(arm_error(
                        404,
                        "UserError",
                        &format!("Could not find deployment {name} of endpoint {endpoint}"),
                    ));
                }
                let tail = request["tail"].as_u64().unwrap_or(100) as usize;
                let content = self.local_log(endpoint, name, tail);
                self.respond(what, "DeploymentLogs", 200, json!({"content": content}))
            }
            _ => return None,
        })
    }

    pub(crate) fn missing_asset(&self, properties: &Value) -> Option<String> {
        let parts = |id: &str, kind: &str| -> Option<(String, String)> {
            let at = id.find(&format!("/{kind}/"))?;
            match id[at + kind.len() + 2..].split('/').collect::<Vec<_>>().as_slice() {
                [name, "versions", version] => Some((name.to_string(), version.to_string())),
                _ => None,
            }
        };
        if let Some(model) = properties["model"].as_str()
            && !parts(model, "models").is_some_and(|k| self.versions.contains_key(&k))
        {
            return Some(format!("model {model} does not exist"));
        }
        // An MLflow model deployed without code names neither: Azure ML makes both.
        if let Some(code) = properties["codeConfiguration"]["codeId"].as_str()
            && !parts(code, "codes").is_some_and(|k| self.codes.contains_key(&k))
        {
            return Some(format!("codeId {code} does not exist"));
        }
        if let Some(environment) = properties["environmentId"].as_str()
            && !parts(environment, "environments").is_some_and(|k| self.environments.contains_key(&k))
        {
            return Some(format!("environmentId {environment} does not exist"));
        }
        None
    }

    /// The inference server's log on the emulator's local workspace.
    fn local_log(&self, endpoint: &str, deployment: &str, tail: usize) -> String {
        let location = format!("local:{}", self.local_workspace.display());
        let (endpoint_name, deployment_name) = (endpoint.to_string(), deployment.to_string());
        let read = crate::common::blocking(move || async move {
            let ws = aml_client::Workspace::open(&location, aml_client::Access::Existing, &crate::common::settings())
                .await?;
            ws.deployment_log(&endpoint_name, &deployment_name, Some(tail)).await
        })
        .and_then(|answer| answer.map_err(|e| e.to_string()));
        match read {
            Ok((_, text)) => text,
            Err(_) => {
                self.deploy_errors.get(&(endpoint.to_string(), deployment.to_string())).cloned().unwrap_or_default()
            }
        }
    }

    /// `POST /score/<endpoint>`: the caller's credential checked as the endpoint's auth mode
    /// says, a deployment picked (pinned by header, else by traffic), the request forwarded.
    pub(crate) fn score(&mut self, endpoint: &str, headers: &BTreeMap<String, String>, body: &[u8]) -> Answer {
        let Some(found) = self.endpoints.get(endpoint).cloned() else {
            return Answer::Reply {
                status: 404,
                headers: Vec::new(),
                body: json!({"message": format!("endpoint {endpoint} not found")}),
            };
        };
        let presented = headers.get("authorization").and_then(|h| h.strip_prefix("Bearer ")).unwrap_or("");
        let allowed = match found["properties"]["authMode"].as_str().unwrap_or("Key") {
            "AMLToken" => self.endpoint_tokens.get(presented).is_some_and(|e| e == endpoint),
            "AADToken" => self.tokens.contains(presented),
            _ => self.endpoint_keys.get(endpoint).is_some_and(|keys| keys.iter().any(|k| k == presented)),
        };
        if !allowed {
            return Answer::Reply {
                status: 401,
                headers: Vec::new(),
                body: json!({"message": "key or token is missing, wrong, or expired"}),
            };
        }
        let traffic = percents(&found["properties"]["traffic"]);
        let deployment = match headers.get("azureml-model-deployment") {
            Some(pinned) => {
                if !self.deployments.contains_key(&(endpoint.to_string(), pinned.clone())) {
                    return Answer::Reply {
                        status: 404,
                        headers: Vec::new(),
                        body: json!({"message": format!("deployment {pinned} not found")}),
                    };
                }
                pinned.clone()
            }
            None => {
                self.scoring_counter += 1;
                let bucket = self.scoring_counter % 100;
                let mut sum = 0;
                let picked = traffic.iter().find(|(_, p)| {
                    sum += **p;
                    bucket < sum
                });
                match picked {
                    Some((name, _)) => name.clone(),
                    None => {
                        return Answer::Reply {
                            status: 404,
                            headers: Vec::new(),
                            body: json!({"message": "no deployment has traffic"}),
                        };
                    }
                }
            }
        };
        let Some((uri, key)) = self.local_access.get(endpoint).cloned() else {
            return Answer::Reply {
                status: 502,
                headers: Vec::new(),
                body: json!({"message": "the endpoint is not serving yet"}),
            };
        };
        Answer::Forward { url: uri, key, deployment, body: body.to_vec() }
    }
}
