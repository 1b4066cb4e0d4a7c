//! Template deployments into one resource group over Resource Manager's Deployments API
//! (`Microsoft.Resources`, api-version 2025-04-01, as azure-mgmt-resource's
//! `DeploymentsOperations` calls it): the resource group read or created, `validate`,
//! `whatIf` (202 and its result at the Location), `createOrUpdate` followed through its
//! Azure-AsyncOperation while the operations list is read for progress, and the outputs.
//! A failed deployment is reported by its first failed resource operation — its resource,
//! error code and inner message — not by the `DeploymentFailed` that wraps them.

use std::path::Path;
use std::time::{Duration, Instant};

use azure_core::http::Method;
use serde_json::{Value, json};

use aml_core::arm_template::changes::{Change, Operation, OperationError, Outputs, flatten};
use aml_core::error::{Error, Result};
use aml_core::settings::Settings;

use crate::arm::{Arm, Reply, describe_error};

pub const API_VERSION: &str = "2025-04-01";

/// A resource group of a subscription, as the deployments see it.
pub struct ResourceGroup {
    arm: Arm,
    name: String,
    /// `/subscriptions/S/resourcegroups/G`
    path: String,
}

/// What a deployment sends: the template and its parameters inline, and the mode.
pub struct Request<'a> {
    pub template: &'a Value,
    /// `{"NAME": {"value": …}}`, as a parameters file holds them.
    pub parameters: &'a Value,
    /// `Incremental` (ARM's default) or `Complete`.
    pub mode: &'a str,
    /// The template file, to name it when ARM refuses the template.
    pub file: &'a Path,
}

impl Request<'_> {
    fn body(&self) -> Value {
        json!({"properties": {"template": self.template, "parameters": self.parameters, "mode": self.mode}})
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

fn operation_of(value: &Value) -> Operation {
    let properties = &value["properties"];
    let error = &properties["statusMessage"]["error"];
    // ARM nests the provider's own error under `details` when it wraps it.
    let inner = error["details"].as_array().and_then(|d| d.first()).filter(|d| d["code"].is_string()).unwrap_or(error);
    Operation {
        resource_type: text(&properties["targetResource"]["resourceType"]),
        resource_name: text(&properties["targetResource"]["resourceName"]),
        state: text(&properties["provisioningState"]),
        status_code: properties["statusCode"].as_str().map(str::to_owned),
        error: inner["code"]
            .as_str()
            .map(|code| OperationError { code: code.into(), message: text(&inner["message"]) }),
    }
}

impl ResourceGroup {
    /// No request is made: `location` is the first.
    pub fn connect(subscription: &str, name: &str, settings: &Settings) -> Result<ResourceGroup> {
        let (arm, _, _) = crate::connect(settings)?;
        Ok(ResourceGroup {
            arm,
            name: name.into(),
            path: format!("/subscriptions/{subscription}/resourcegroups/{name}"),
        })
    }

    fn url(&self, tail: &str) -> String {
        self.arm.url_with_version(&format!("{}{tail}", self.path), API_VERSION)
    }

    fn deployment(name: &str) -> String {
        format!("/providers/Microsoft.Resources/deployments/{name}")
    }

    /// The group's region, or None when it does not exist.
    pub async fn location(&self) -> Result<Option<String>> {
        let url = self.url("");
        let reply = self.arm.send(Method::Get, &url, None).await?;
        match reply.status {
            404 => Ok(None),
            200..=299 => Ok(Some(text(&reply.json::<Value>("the resource group")?["location"]))),
            _ => Err(self.arm.status_error(&Method::Get, &url, &reply)),
        }
    }

    pub async fn create(&self, location: &str) -> Result<()> {
        self.arm.call(Method::Put, &self.url(""), Some(&json!({"location": location}))).await.map(|_| ())
    }

    /// ARM's refusal of a template (400) as bad input in the template file; others as
    /// service errors.
    fn refusal(&self, request: &Request, method: &Method, url: &str, reply: &Reply) -> Error {
        if reply.status == 400 {
            let message = describe_error(method.as_ref(), &format!("deployment into `{}`", self.name), reply);
            return Error::in_file(
                request.file,
                None,
                format!("Azure Resource Manager refuses it: {message}"),
                "fix the template or the parameters as ARM's message says; `aml-infra validate` checks what it can offline",
            );
        }
        self.arm.status_error(method, url, reply)
    }

    /// POST an action of a deployment (`validate`, `whatIf`) and its result: at once (200),
    /// or at the Location of a 202.
    async fn action(&self, name: &str, action: &str, request: &Request<'_>, what: &str) -> Result<Value> {
        let url = self.url(&format!("{}/{action}", Self::deployment(name)));
        let reply = self.arm.send(Method::Post, &url, Some(&request.body())).await?;
        let reply = match reply.status {
            200 => reply,
            202 => self.follow_location(&reply, what).await?,
            _ => return Err(self.refusal(request, &Method::Post, &url, &reply)),
        };
        reply.json(&format!("the {what}"))
    }

    /// ARM's preflight: the ids of the resources it would deploy.
    pub async fn validate(&self, name: &str, request: &Request<'_>) -> Result<Vec<String>> {
        let result = self.action(name, "validate", request, "validation").await?;
        if let Some(error) = result.get("error").filter(|e| e.is_object()) {
            return Err(Error::in_file(
                request.file,
                None,
                format!("Azure Resource Manager refuses it: {}: {}", text(&error["code"]), text(&error["message"])),
                "fix the template or the parameters as ARM's message says",
            ));
        }
        Ok(result["properties"]["validatedResources"]
            .as_array()
            .map(|items| items.iter().map(|r| text(&r["id"])).collect())
            .unwrap_or_default())
    }

    /// A 202's Location polled until it answers with the result.
    async fn follow_location(&self, reply: &Reply, what: &str) -> Result<Reply> {
        let Some(location) = reply.location.clone() else {
            return Err(Error::service(format!("the {what} was accepted without a Location to follow"), None));
        };
        let started = Instant::now();
        let mut delay = reply.retry_after.unwrap_or(1);
        loop {
            tokio::time::sleep(Duration::from_secs(delay.clamp(1, 30))).await;
            let polled = self.arm.send(Method::Get, &location, None).await?;
            match polled.status {
                202 => delay = polled.retry_after.unwrap_or(delay),
                200..=299 => return Ok(polled),
                _ => return Err(self.arm.status_error(&Method::Get, &location, &polled)),
            }
            if started.elapsed() > Duration::from_secs(600) {
                return Err(Error::service(format!("the {what} gave no result in 10 minutes"), None));
            }
        }
    }

    /// What a deployment would change, resource by resource, as ARM's what-if says it.
    pub async fn what_if(&self, name: &str, request: &Request<'_>) -> Result<Vec<Change>> {
        let result = self.action(name, "whatIf", request, "what-if").await?;
        if result["status"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("Failed")) {
            let error = &result["error"];
            return Err(Error::failed(
                format!("what-if failed: {}: {}", text(&error["code"]), text(&error["message"])),
                None,
            ));
        }
        Ok(result["properties"]["changes"]
            .as_array()
            .map(|changes| {
                changes
                    .iter()
                    .map(|change| {
                        let mut delta = Vec::new();
                        flatten(change["delta"].as_array().map(Vec::as_slice).unwrap_or_default(), "", &mut delta);
                        Change {
                            resource_id: text(&change["resourceId"]),
                            change_type: text(&change["changeType"]),
                            delta,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn operations(&self, name: &str) -> Result<Vec<Operation>> {
        let url = self.url(&format!("{}/operations", Self::deployment(name)));
        let items: Vec<Value> = self.arm.list_from(&url, "the deployment's operations").await?;
        Ok(items.iter().map(operation_of).collect())
    }

    /// Deploy and follow to the end; `on_operation` sees each resource operation when it
    /// first appears and whenever its state changes. Fails with the first failed
    /// operation's resource, code and message.
    pub async fn deploy(
        &self,
        name: &str,
        request: &Request<'_>,
        timeout: Duration,
        on_operation: &mut dyn FnMut(&Operation),
    ) -> Result<Outputs> {
        let url = self.url(&Self::deployment(name));
        let reply = self.arm.send(Method::Put, &url, Some(&request.body())).await?;
        if !(200..300).contains(&reply.status) {
            return Err(self.refusal(request, &Method::Put, &url, &reply));
        }
        let Some(status_url) = reply.async_operation.clone() else {
            return Err(Error::service("the deployment was accepted without an operation to follow", None));
        };
        let started = Instant::now();
        let mut delay = reply.retry_after.unwrap_or(1);
        let mut seen: Vec<Operation> = Vec::new();
        loop {
            tokio::time::sleep(Duration::from_secs(delay.clamp(1, 30))).await;
            let polled = self.arm.call(Method::Get, &status_url, None).await?;
            delay = polled.retry_after.unwrap_or(delay);
            let status: Value = polled.json("the deployment's status")?;
            let state = status["status"].as_str().unwrap_or("Running").to_string();
            let operations = self.operations(name).await?;
            for operation in &operations {
                if !seen.contains(operation) {
                    on_operation(operation);
                }
            }
            seen = operations;
            match state.as_str() {
                "Succeeded" => return self.outputs(name).await,
                "Failed" | "Canceled" => return Err(failure(&self.name, name, &state, &status, &seen)),
                _ => {}
            }
            if started.elapsed() > timeout {
                return Err(Error::service(
                    format!("deployment `{name}` still {state} after {}s", timeout.as_secs()),
                    Some("it goes on in Azure; `aml-infra outputs` reads it once it is done".into()),
                ));
            }
        }
    }

    /// A finished deployment's outputs.
    pub async fn outputs(&self, name: &str) -> Result<Outputs> {
        let url = self.url(&Self::deployment(name));
        let reply = self.arm.send(Method::Get, &url, None).await?;
        if reply.status == 404 {
            return Err(Error::usage(
                format!("resource group `{}` has no deployment `{name}`", self.name),
                "deploy first (`aml-infra deploy`), or name the deployment with `--name`",
            ));
        }
        if !(200..300).contains(&reply.status) {
            return Err(self.arm.status_error(&Method::Get, &url, &reply));
        }
        let deployment: Value = reply.json("the deployment")?;
        let state = text(&deployment["properties"]["provisioningState"]);
        if state != "Succeeded" {
            return Err(Error::failed(
                format!("deployment `{name}` in `{}` is {state}: it has no outputs", self.name),
                None,
            ));
        }
        Ok(deployment["properties"]["outputs"]
            .as_object()
            .map(|outputs| outputs.iter().map(|(k, v)| (k.clone(), v["value"].clone())).collect())
            .unwrap_or_default())
    }
}

fn failure(group: &str, name: &str, state: &str, status: &Value, operations: &[Operation]) -> Error {
    let failed = operations.iter().find(|o| o.state == "Failed" && o.error.is_some());
    let message = match failed {
        Some(Operation { resource_type, resource_name, error: Some(error), .. }) => format!(
            "deployment `{name}` in `{group}` {}: {resource_type} `{resource_name}`: {}: {}",
            state.to_lowercase(),
            error.code,
            error.message
        ),
        _ => {
            let error = &status["error"];
            let inner = error["details"].as_array().and_then(|d| d.first()).unwrap_or(error);
            format!(
                "deployment `{name}` in `{group}` {}: {}: {}",
                state.to_lowercase(),
                text(&inner["code"]),
                text(&inner["message"])
            )
        }
    };
    Error::failed(message, Some("resources created before the failure stay; deploying again resumes".into()))
}
