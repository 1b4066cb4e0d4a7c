//! Azure Resource Manager's resource groups and template deployments as the emulator plays
//! them, held to azure-mgmt-resource's models: a resource group's GET and PUT, and a
//! deployment's validate, whatIf (202, then its result at the Location), createOrUpdate
//! (201 and an Azure-AsyncOperation the client polls), GET and operations list. The template
//! is expanded by `aml_core`'s ARM evaluator; each poll deploys the resources whose
//! dependencies are done, as ARM deploys in parallel what is ready. A Machine Learning
//! workspace it creates is served like the emulator's own (same store), and its computes
//! are attached.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use aml_client::arm_template::deploy::{Resource, expand, outputs, to_json};
use aml_client::arm_template::expr::{Deployment, Value as TemplateValue};

use crate::common::{SUBSCRIPTION, TENANT};
use crate::resources::{DeploymentRun, Stored, group_body};
use crate::schema::Direction;
use crate::state::{Answer, State, arm_error, ok};

/// The property paths where `after` differs from `before`, as what-if writes them
/// (`tags.project`, `properties.sku.name`); arrays compare whole.
fn delta(path: &str, before: &Value, after: &Value, changes: &mut Vec<Value>) {
    let join = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            for (key, value) in new {
                match old.get(key) {
                    None => changes.push(json!({"path": join(key), "propertyChangeType": "Create", "after": value})),
                    Some(previous) => delta(&join(key), previous, value, changes),
                }
            }
            for (key, value) in old {
                if !new.contains_key(key) {
                    changes.push(json!({"path": join(key), "propertyChangeType": "Delete", "before": value}));
                }
            }
        }
        _ if before != after => {
            changes.push(json!({"path": path, "propertyChangeType": "Modify", "before": before, "after": after}))
        }
        _ => {}
    }
}

/// ARM's reading of a resource: the body as PUT with what the provider adds.
fn resource_state(resource: &Resource, port: u16) -> Value {
    let mut state = resource.body.clone();
    let short = resource.name.rsplit('/').next().unwrap_or(&resource.name).to_string();
    state["id"] = json!(resource.id);
    state["name"] = json!(short);
    state["type"] = json!(resource.resource_type);
    if !state["properties"].is_object() {
        state["properties"] = json!({});
    }
    let properties = &mut state["properties"];
    properties["provisioningState"] = json!("Succeeded");
    match resource.resource_type.to_ascii_lowercase().as_str() {
        "microsoft.containerregistry/registries" => properties["loginServer"] = json!(format!("{short}.azurecr.io")),
        "microsoft.keyvault/vaults" => properties["vaultUri"] = json!(format!("https://{short}.vault.azure.net/")),
        "microsoft.storage/storageaccounts" => {
            properties["primaryEndpoints"] = json!({"blob": format!("https://{short}.blob.core.windows.net/")})
        }
        "microsoft.machinelearningservices/workspaces" => {
            properties["discoveryUrl"] = json!(format!("https://127.0.0.1:{port}/discovery"));
            properties["workspaceId"] = json!(format!("{:x}", jiff::Timestamp::now().as_nanosecond()));
        }
        _ => {}
    }
    state
}

impl State {
    /// The workspace id a data-plane path (`/history/v1.0/subscriptions/…/workspaces/W/…`)
    /// names, when it is one the emulator serves: its own, or one a deployment made.
    pub(crate) fn served_workspace(&self, path: &str) -> Option<String> {
        let start = path.find("/subscriptions/")?;
        let parts: Vec<&str> = path[start + 1..].split('/').take(8).collect();
        let [_, subscription, _, group, _, _, _, name] = parts.as_slice() else { return None };
        let own = *group == crate::common::RESOURCE_GROUP && *name == crate::common::WORKSPACE;
        (*subscription == SUBSCRIPTION && (own || self.infra.workspace(group, name).is_some()))
            .then(|| format!("/{}", parts.join("/")))
    }

    pub(crate) fn check_resources(&mut self, what: &str, class: &str, value: &Value, direction: Direction) -> bool {
        let problems = self.infra.schema.check(class, value, direction);
        let clean = problems.is_empty();
        for problem in problems {
            self.violations.push(format!("{what} ({class}): {problem}"));
        }
        clean
    }

    fn answer_resources(&mut self, what: &str, class: &str, status: u16, body: Value) -> Answer {
        self.check_resources(&format!("answer to {what}"), class, &body, Direction::Response);
        ok(status, body)
    }

    /// Resource groups and `Microsoft.Resources` calls; None for any other path.
    pub(crate) fn resource_manager(
        &mut self,
        method: &str,
        path: &str,
        query: &BTreeMap<String, String>,
        body: &[u8],
    ) -> Option<Answer> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let is = |index: usize, word: &str| parts.get(index).is_some_and(|p| p.eq_ignore_ascii_case(word));
        let ours = is(0, "subscriptions")
            && ((is(2, "resourcegroups")
                && (parts.len() == 4 || (is(4, "providers") && is(5, "Microsoft.Resources"))))
                || (is(2, "providers") && is(3, "Microsoft.Resources")));
        if !ours {
            return None;
        }
        let what = format!("{method} {path}");
        if parts.get(1) != Some(&SUBSCRIPTION) {
            return Some(arm_error(
                404,
                "SubscriptionNotFound",
                &format!("The subscription '{}' could not be found.", parts[1]),
            ));
        }
        if query.get("api-version") != Some(&self.infra.schema.api_version) {
            self.violations.push(format!(
                "{what}: api-version {:?}, not {}",
                query.get("api-version"),
                self.infra.schema.api_version
            ));
            return Some(arm_error(400, "InvalidApiVersionParameter", "unsupported api-version"));
        }
        let json: Option<Value> = if body.is_empty() { None } else { serde_json::from_slice(body).ok() };
        if !body.is_empty() {
            match &json {
                Some(value) => self.bodies.push((path.to_string(), value.clone())),
                None => return Some(arm_error(400, "InvalidRequestContent", "The request content is not valid JSON.")),
            }
        }
        if is(2, "providers") {
            // `/subscriptions/S/providers/Microsoft.Resources/operationResults/ID`: a whatIf's result.
            return Some(match (method, parts.get(4), parts.get(5)) {
                ("GET", Some(kind), Some(id)) if kind.eq_ignore_ascii_case("operationResults") => {
                    match self.infra.what_ifs.get(*id).cloned() {
                        Some(result) => self.answer_resources(&what, "WhatIfOperationResult", 200, result),
                        None => arm_error(404, "NotFound", "no such operation"),
                    }
                }
                _ => {
                    self.violations.push(format!("{what}: not an operation the emulator knows"));
                    arm_error(404, "NotFound", "not an operation the emulator implements")
                }
            });
        }
        let group = parts[3].to_string();
        let key = group.to_ascii_lowercase();
        if parts.len() == 4 {
            return Some(match method {
                "GET" => match self.infra.groups.get(&key).cloned() {
                    Some(found) => self.answer_resources(&what, "ResourceGroup", 200, found),
                    None => arm_error(
                        404,
                        "ResourceGroupNotFound",
                        &format!("Resource group '{group}' could not be found."),
                    ),
                },
                "PUT" => {
                    let Some(value) = json else { return Some(arm_error(400, "InvalidRequestContent", "no body")) };
                    if !self.check_resources(&what, "ResourceGroup", &value, Direction::Request) {
                        return Some(arm_error(400, "InvalidRequestContent", "the body does not match ResourceGroup"));
                    }
                    let existed = self.infra.groups.contains_key(&key);
                    let location = value["location"].as_str().unwrap_or_default();
                    let stored = group_body(&group, location, value.get("tags"));
                    self.infra.groups.insert(key, stored.clone());
                    self.answer_resources(&what, "ResourceGroup", if existed { 200 } else { 201 }, stored)
                }
                _ => arm_error(405, "MethodNotAllowed", "not an operation the emulator implements"),
            });
        }
        let Some(found_group) = self.infra.groups.get(&key).cloned() else {
            return Some(arm_error(
                404,
                "ResourceGroupNotFound",
                &format!("Resource group '{group}' could not be found."),
            ));
        };
        let location = found_group["location"].as_str().unwrap_or("westeurope").to_string();
        let (Some(kind), Some(name)) = (parts.get(6), parts.get(7)) else {
            return Some(arm_error(404, "NotFound", "not an operation the emulator implements"));
        };
        if !kind.eq_ignore_ascii_case("deployments") {
            self.violations.push(format!("{what}: not an operation the emulator knows"));
            return Some(arm_error(404, "NotFound", "not an operation the emulator implements"));
        }
        let name = name.to_string();
        let tail: Vec<&str> = parts[8..].to_vec();
        Some(match (method, tail.as_slice()) {
            ("PUT", []) => self.deploy(&what, &group, &location, &name, json),
            ("GET", []) => match self.infra.runs.get(&(key, name.to_ascii_lowercase())) {
                Some(run) => {
                    let record = run.record.clone();
                    self.answer_resources(&what, "DeploymentExtended", 200, record)
                }
                None => arm_error(404, "DeploymentNotFound", &format!("Deployment '{name}' could not be found.")),
            },
            ("GET", ["operations"]) => match self.infra.runs.get(&(key, name.to_ascii_lowercase())) {
                Some(run) => {
                    let list = json!({"value": run.operations});
                    self.answer_resources(&what, "DeploymentOperationsListResult", 200, list)
                }
                None => arm_error(404, "DeploymentNotFound", &format!("Deployment '{name}' could not be found.")),
            },
            ("GET", ["operationStatuses", operation]) => self.advance(&key, &name, operation),
            ("POST", ["validate"]) => self.validate(&what, &group, &location, &name, json),
            ("POST", ["whatIf"]) => self.what_if(&what, &group, &location, &name, json),
            _ => {
                self.violations.push(format!("{what}: not an operation the emulator knows"));
                arm_error(404, "NotFound", "not an operation the emulator implements")
            }
        })
    }
}

/// A deployment's request expanded: the body as sent, its template, the resources in
/// order and the parameters' values.
struct Expansion {
    body: Value,
    template: Map<String, Value>,
    resources: Vec<Resource>,
    parameters: BTreeMap<String, TemplateValue>,
}

impl State {
    fn expand_for(
        &mut self,
        what: &str,
        class: &str,
        group: &str,
        location: &str,
        name: &str,
        body: Option<Value>,
    ) -> Result<Expansion, Answer> {
        let Some(body) = body else { return Err(arm_error(400, "InvalidRequestContent", "no body")) };
        if !self.check_resources(what, class, &body, Direction::Request) {
            return Err(arm_error(400, "InvalidRequestContent", &format!("the body does not match {class}")));
        }
        let properties = &body["properties"];
        if properties.get("templateLink").is_some() || properties.get("parametersLink").is_some() {
            return Err(arm_error(400, "InvalidTemplate", "The emulator takes templates and parameters inline."));
        }
        let Some(template) = properties["template"].as_object().cloned() else {
            return Err(arm_error(400, "InvalidTemplate", "The deployment has no template."));
        };
        let given = properties["parameters"].as_object().cloned().unwrap_or_default();
        let resources = &self.infra.resources;
        let reference = |id: &str| resources.get(&id.to_ascii_lowercase()).map(|s| s.state.clone());
        let deployment = Deployment {
            subscription_id: SUBSCRIPTION.into(),
            tenant_id: TENANT.into(),
            resource_group: group.into(),
            location: location.into(),
            name: name.into(),
            reference: &reference,
        };
        match expand(&template, &given, &deployment) {
            Ok(expanded) => Ok(Expansion {
                body: body.clone(),
                template,
                resources: expanded.resources,
                parameters: expanded.parameters,
            }),
            Err(message) => {
                Err(arm_error(400, "InvalidTemplate", &format!("Deployment template validation failed: '{message}'.")))
            }
        }
    }

    fn validate(&mut self, what: &str, group: &str, location: &str, name: &str, body: Option<Value>) -> Answer {
        let Expansion { body, resources, .. } = match self.expand_for(what, "Deployment", group, location, name, body) {
            Ok(expanded) => expanded,
            Err(answer) => return answer,
        };
        let result = json!({
            "id": format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Resources/deployments/{name}"),
            "name": name, "type": "Microsoft.Resources/deployments",
            "properties": {
                "provisioningState": "Succeeded", "mode": body["properties"]["mode"], "timestamp": jiff::Timestamp::now().to_string(),
                "validatedResources": resources.iter().map(|r| json!({"id": r.id})).collect::<Vec<_>>(),
                "parameters": body["properties"]["parameters"],
            }
        });
        self.answer_resources(what, "DeploymentValidateResult", 200, result)
    }

    fn what_if(&mut self, what: &str, group: &str, location: &str, name: &str, body: Option<Value>) -> Answer {
        let Expansion { body, resources, .. } =
            match self.expand_for(what, "DeploymentWhatIf", group, location, name, body) {
                Ok(expanded) => expanded,
                Err(answer) => return answer,
            };
        let complete = body["properties"]["mode"].as_str().is_some_and(|m| m.eq_ignore_ascii_case("Complete"));
        let mut changes = Vec::new();
        for resource in &resources {
            let after = with_identity(resource);
            match self.infra.resources.get(&resource.id.to_ascii_lowercase()) {
                None => changes.push(json!({"resourceId": resource.id, "changeType": "Create", "after": after})),
                Some(stored) => {
                    let before = stored.requested.clone();
                    let mut found = Vec::new();
                    delta("", &before, &after, &mut found);
                    let change = if found.is_empty() { "NoChange" } else { "Modify" };
                    let mut entry =
                        json!({"resourceId": resource.id, "changeType": change, "before": before, "after": after});
                    if !found.is_empty() {
                        entry["delta"] = json!(found);
                    }
                    changes.push(entry);
                }
            }
        }
        let planned: Vec<String> = resources.iter().map(|r| r.id.to_ascii_lowercase()).collect();
        for (id, stored) in &self.infra.resources {
            if stored.group.eq_ignore_ascii_case(group) && !planned.contains(id) {
                let change = if complete { "Delete" } else { "Ignore" };
                changes
                    .push(json!({"resourceId": stored.state["id"], "changeType": change, "before": stored.requested}));
            }
        }
        let operation = self.infra.next_id();
        self.infra
            .what_ifs
            .insert(operation.clone(), json!({"status": "Succeeded", "properties": {"changes": changes}}));
        let location_header = format!(
            "https://127.0.0.1:{}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Resources/operationResults/{operation}?api-version={}",
            self.port, self.infra.schema.api_version
        );
        Answer::Reply {
            status: 202,
            headers: vec![("location".into(), location_header), ("retry-after".into(), "1".into())],
            body: Value::Null,
        }
    }

    fn deploy(&mut self, what: &str, group: &str, location: &str, name: &str, body: Option<Value>) -> Answer {
        let key = (group.to_ascii_lowercase(), name.to_ascii_lowercase());
        if self
            .infra
            .runs
            .get(&key)
            .is_some_and(|run| !run.pending.is_empty() && run.record["properties"]["provisioningState"] == "Running")
        {
            return arm_error(
                409,
                "DeploymentActive",
                &format!("The deployment '{name}' is still active; wait for it to finish."),
            );
        }
        let Expansion { body, template, resources: pending, parameters } =
            match self.expand_for(what, "Deployment", group, location, name, body) {
                Ok(expanded) => expanded,
                Err(answer) => return answer,
            };
        let operation = self.infra.next_id();
        let started = jiff::Timestamp::now();
        let echoed: Map<String, Value> = parameters
            .iter()
            .map(|(k, v)| {
                let value = body["properties"]["parameters"][k]["value"].clone();
                let kind = match v {
                    TemplateValue::Bool(_) => "Bool",
                    TemplateValue::Int(_) => "Int",
                    TemplateValue::Array(_) => "Array",
                    TemplateValue::Object(_) => "Object",
                    _ => "String",
                };
                let value = if value.is_null() { to_json(v, k).unwrap_or_default() } else { value };
                (k.clone(), json!({"type": kind, "value": value}))
            })
            .collect();
        let record = json!({
            "id": format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Resources/deployments/{name}"),
            "name": name, "type": "Microsoft.Resources/deployments", "tags": body.get("tags").cloned().unwrap_or(json!({})),
            "properties": {
                "provisioningState": "Running", "mode": body["properties"]["mode"], "timestamp": started.to_string(),
                "duration": "PT0S", "correlationId": operation, "parameters": echoed,
            }
        });
        self.infra.runs.insert(
            key,
            DeploymentRun {
                record: record.clone(),
                template,
                parameters,
                pending,
                done: Vec::new(),
                operations: Vec::new(),
                group: group.into(),
                location: location.into(),
                name: name.into(),
                operation: operation.clone(),
                started,
            },
        );
        let status = format!(
            "https://127.0.0.1:{}/subscriptions/{SUBSCRIPTION}/resourcegroups/{group}/providers/Microsoft.Resources/deployments/{name}/operationStatuses/{operation}?api-version={}",
            self.port, self.infra.schema.api_version
        );
        self.check_resources(&format!("answer to {what}"), "DeploymentExtended", &record, Direction::Response);
        Answer::Reply {
            status: 201,
            headers: vec![("azure-asyncoperation".into(), status), ("retry-after".into(), "1".into())],
            body: record,
        }
    }

    /// One poll of a deployment: the resources whose dependencies are done are deployed.
    fn advance(&mut self, group_key: &str, name: &str, operation: &str) -> Answer {
        let key = (group_key.to_string(), name.to_ascii_lowercase());
        let Some(mut run) = self.infra.runs.remove(&key) else {
            return arm_error(404, "DeploymentNotFound", &format!("Deployment '{name}' could not be found."));
        };
        if run.operation != operation {
            self.infra.runs.insert(key, run);
            return arm_error(404, "NotFound", "no such operation");
        }
        if run.record["properties"]["provisioningState"] == "Running" {
            self.deploy_ready(&mut run);
        }
        let state = run.record["properties"]["provisioningState"].as_str().unwrap_or("Running").to_string();
        let mut status = json!({"status": state});
        if let Some(error) = run.record["properties"].get("error") {
            status["error"] = error.clone();
        }
        self.infra.runs.insert(key, run);
        ok(200, status)
    }

    fn deploy_ready(&mut self, run: &mut DeploymentRun) {
        let now = jiff::Timestamp::now();
        let (ready, waiting): (Vec<Resource>, Vec<Resource>) = std::mem::take(&mut run.pending)
            .into_iter()
            .partition(|r| r.depends_on.iter().all(|d| run.done.contains(d)));
        run.pending = waiting;
        let mut failure = None;
        for resource in ready {
            let id_key = resource.id.to_ascii_lowercase();
            let existed = self.infra.resources.contains_key(&id_key);
            let mut operation = json!({
                "id": format!("{}/operations/{}", run.record["id"].as_str().unwrap_or_default(), self.infra.next_id()),
                "operationId": self.infra.next_id(),
                "properties": {
                    "provisioningOperation": "Create", "timestamp": now.to_string(), "duration": "PT1S",
                    "targetResource": {"id": resource.id, "resourceType": resource.resource_type, "resourceName": resource.name, "apiVersion": resource.api_version},
                }
            });
            let failing = self.infra.failing.get(&resource.resource_type.to_ascii_lowercase()).cloned();
            let refused = self.provider_refusal(&resource);
            match failing.or(refused) {
                Some((code, message)) => {
                    operation["properties"]["provisioningState"] = json!("Failed");
                    operation["properties"]["statusCode"] = json!("BadRequest");
                    operation["properties"]["statusMessage"] =
                        json!({"status": "Failed", "error": {"code": code, "message": message}});
                    failure.get_or_insert((code, message, resource.id.clone()));
                }
                None => {
                    let requested = with_identity(&resource);
                    let unchanged =
                        self.infra.resources.get(&id_key).is_some_and(|stored| stored.requested == requested);
                    if !unchanged {
                        let state = resource_state(&resource, self.port);
                        self.infra
                            .resources
                            .insert(id_key.clone(), Stored { group: run.group.clone(), requested, state });
                        self.attach(&resource);
                    }
                    operation["properties"]["provisioningState"] = json!("Succeeded");
                    operation["properties"]["statusCode"] = json!(if existed { "OK" } else { "Created" });
                    run.done.push(id_key);
                }
            }
            run.operations.push(operation);
        }
        let elapsed = now.duration_since(run.started).as_secs();
        run.record["properties"]["duration"] = json!(format!("PT{elapsed}S"));
        if let Some((code, message, _)) = failure {
            run.record["properties"]["provisioningState"] = json!("Failed");
            run.record["properties"]["error"] = json!({
                "code": "DeploymentFailed",
                "message": "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.",
                "details": [{"code": code, "message": message}],
            });
            return;
        }
        if !run.pending.is_empty() {
            return;
        }
        let resources = &self.infra.resources;
        let reference = |id: &str| resources.get(&id.to_ascii_lowercase()).map(|s| s.state.clone());
        let deployment = Deployment {
            subscription_id: SUBSCRIPTION.into(),
            tenant_id: TENANT.into(),
            resource_group: run.group.clone(),
            location: run.location.clone(),
            name: run.name.clone(),
            reference: &reference,
        };
        match outputs(&run.template, &run.parameters, &deployment) {
            Ok(values) => {
                run.record["properties"]["provisioningState"] = json!("Succeeded");
                run.record["properties"]["outputs"] = Value::Object(values);
                run.record["properties"]["outputResources"] = json!(
                    run.done
                        .iter()
                        .filter_map(|id| resources.get(id))
                        .map(|s| json!({"id": s.state["id"]}))
                        .collect::<Vec<_>>()
                );
            }
            Err(message) => {
                run.record["properties"]["provisioningState"] = json!("Failed");
                run.record["properties"]["error"] =
                    json!({"code": "DeploymentOutputEvaluationFailed", "message": message});
            }
        }
    }

    /// What the emulated resource providers refuse: a Machine Learning workspace or compute
    /// body that azure-ai-ml's REST models reject (the emulator keeps those two).
    fn provider_refusal(&mut self, resource: &Resource) -> Option<(String, String)> {
        let class = match resource.resource_type.to_ascii_lowercase().as_str() {
            "microsoft.machinelearningservices/workspaces" => "Workspace",
            "microsoft.machinelearningservices/workspaces/computes" => "ComputeResource",
            _ => return None,
        };
        let what = format!("deployment of {}", resource.id);
        let before = self.violations.len();
        if self.check(&what, class, &resource.body, Direction::Request) {
            return None;
        }
        let problems = self.violations[before..].join("; ");
        Some(("BadRequest".into(), format!("The request body does not match {class}: {problems}")))
    }

    /// A compute a deployment made is attached to the workspace's store.
    fn attach(&mut self, resource: &Resource) {
        if !resource.resource_type.eq_ignore_ascii_case("Microsoft.MachineLearningServices/workspaces/computes") {
            return;
        }
        let short = resource.name.rsplit('/').next().unwrap_or_default().to_string();
        let mut compute = resource_state(resource, self.port);
        compute["properties"]["computeLocation"] = compute["location"].clone();
        self.computes.insert(short, compute);
    }
}

/// What a resource's PUT carries (the body, and its `apiVersion`, which what-if reports).
fn with_identity(resource: &Resource) -> Value {
    let mut body = resource.body.clone();
    body["id"] = json!(resource.id);
    body["name"] = json!(resource.name.rsplit('/').next().unwrap_or(&resource.name));
    body["type"] = json!(resource.resource_type);
    body["apiVersion"] = json!(resource.api_version);
    body
}
