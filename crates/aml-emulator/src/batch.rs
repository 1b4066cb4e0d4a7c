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
