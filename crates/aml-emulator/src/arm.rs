//! Resource Manager and Entra as the emulator answers them: every request routed to its
//! handler, tokens, the workspace, its blob datastore, and model containers and versions,
//! each body checked against the official models.

use std::collections::{BTreeMap, BTreeSet};

use hyper::Uri;
use serde_json::{Value, json};

use crate::Fault;
use crate::common::{
    CLIENT_ID, CLIENT_SECRET, FEDERATED_ASSERTION, GITHUB_REQUEST_TOKEN, IDENTITY_HEADER, RESOURCE_GROUP, SUBSCRIPTION,
    Storage, TENANT, WORKSPACE, parse_form,
};
use crate::resources::Databricks;
use crate::resources::RESOURCE;
use crate::schema::Direction;
use crate::state::Answer;
use crate::state::State;
use crate::state::arm_error;
use crate::state::ok;

/// Entra's resource for Azure Storage: its tokens are JWTs that Azurite's OAuth mode checks
/// (issuer, audience, lifetime; not the signature, which it cannot know).
const STORAGE_RESOURCE: &str = "https://storage.azure.com";

fn storage_token(tenant: &str) -> String {
    use base64::Engine as _;
    let encode = |value: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
    };
    let now = jiff::Timestamp::now().as_second();
    let header = json!({"alg": "RS256", "typ": "JWT"});
    let claims = json!({
        "aud": STORAGE_RESOURCE, "iss": format!("https://sts.windows.net/{tenant}/"), "iat": now, "nbf": now - 60, "exp": now + 3600,
        "appid": CLIENT_ID, "oid": CLIENT_ID, "sub": CLIENT_ID, "tid": tenant, "ver": "1.0",
    });
    format!("{}.{}.emulator-storage-signature", encode(&header), encode(&claims))
}

impl State {
    pub fn new(
        oracles: crate::state::Oracles,
        storage: Option<Storage>,
        port: u16,
        local_workspace: std::path::PathBuf,
        databricks: Databricks,
        cert: std::path::PathBuf,
    ) -> State {
        State {
            schema: oracles.ml,
            monitor: oracles.monitor,
            infra: crate::resources::Infra::new(oracles.resources),
            storage,
            port,
            tokens: BTreeSet::new(),
            faults: Vec::new(),
            log: Vec::new(),
            bodies: Vec::new(),
            violations: Vec::new(),
            versions: BTreeMap::new(),
            containers: BTreeMap::new(),
            codes: BTreeMap::new(),
            environments: BTreeMap::new(),
            data: BTreeMap::new(),
            components: BTreeMap::new(),
            jobs: BTreeMap::new(),
            runs: BTreeMap::new(),
            queued: Vec::new(),
            cancel_requested: BTreeSet::new(),
            computes: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            deployments: BTreeMap::new(),
            batch_endpoints: BTreeMap::new(),
            batch_deployments: BTreeMap::new(),
            batch_runs: BTreeMap::new(),
            operations: BTreeMap::new(),
            endpoint_keys: BTreeMap::new(),
            endpoint_tokens: BTreeMap::new(),
            tasks: Vec::new(),
            local_workspace,
            local_access: BTreeMap::new(),
            deploy_errors: BTreeMap::new(),
            operation_polls: 1,
            scoring_counter: 0,
            uploading_collected_data: false,
            registry_backend: None,
            acr_refresh: BTreeSet::new(),
            acr_access: BTreeMap::new(),
            page_size: 2,
            databricks,
            cert,
        }
    }

    pub fn answer(&mut self, method: &str, uri: &Uri, headers: &BTreeMap<String, String>, body: &[u8]) -> Answer {
        let path = uri.path().to_string();
        let answer = self.route(method, uri, headers, body);
        let status = match &answer {
            Answer::Reply { status, .. } => *status,
            Answer::Reset => 0,
            Answer::Forward { .. } | Answer::Proxy { .. } => 200,
            Answer::Raw { status, .. } => *status,
        };
        self.log.push((method.to_string(), path, status));
        answer
    }

    fn route(&mut self, method: &str, uri: &Uri, headers: &BTreeMap<String, String>, body: &[u8]) -> Answer {
        let path = uri.path().to_string();
        if let Some(index) =
            self.faults.iter().position(|(m, p, _, times)| m == method && path.contains(p.as_str()) && *times > 0)
        {
            let fault = self.faults[index].2.clone();
            self.faults[index].3 -= 1;
            return match fault {
                Fault::Reset => Answer::Reset,
                Fault::Status(status, retry_after) => {
                    let mut answer = arm_error(
                        status,
                        if status == 429 { "TooManyRequests" } else { "InternalServerError" },
                        "injected fault",
                    );
                    if let (Answer::Reply { headers, .. }, Some(seconds)) = (&mut answer, retry_after) {
                        headers.push(("retry-after".into(), seconds.to_string()));
                    }
                    answer
                }
            };
        }
        let query = parse_form(uri.query().unwrap_or(""));
        if method == "POST" && path.ends_with("/oauth2/v2.0/token") {
            return self.entra_token(&path, body);
        }
        if method == "GET" && path == "/msi/token" {
            return self.managed_identity_token(&query, headers);
        }
        if method == "GET" && path == "/github/oidc" {
            if headers.get("authorization").map(String::as_str) != Some(&format!("Bearer {GITHUB_REQUEST_TOKEN}"))
                || query.get("audience").map(String::as_str) != Some("api://AzureADTokenExchange")
            {
                return Answer::Reply {
                    status: 401,
                    headers: Vec::new(),
                    body: json!({"message": "bad request token or audience"}),
                };
            }
            return ok(200, json!({"count": 1, "value": FEDERATED_ASSERTION}));
        }
        if method == "GET" && path == "/discovery" {
            // Public, as Azure's: no token.
            let base = format!("https://127.0.0.1:{}", self.port);
            let services: serde_json::Map<String, Value> = [
                "api",
                "catalog",
                "experimentation",
                "gallery",
                "history",
                "hyperdrive",
                "labeling",
                "modelmanagement",
                "pipelines",
            ]
            .iter()
            .map(|k| (k.to_string(), json!(base)))
            .collect();
            return ok(200, Value::Object(services));
        }
        if path.starts_with("/api/2.") {
            return self.databricks_route(method, uri, headers, body);
        }
        if path.starts_with("/history/v1.0/subscriptions/") || path.starts_with("/mlflow/v2.0/subscriptions/") {
            let token = headers.get("authorization").and_then(|h| h.strip_prefix("Bearer ")).unwrap_or("");
            if !self.tokens.contains(token) {
                return arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.");
            }
            return self.data_plane(method, &path, &query);
        }
        if (path.starts_with("/v2/") || path.starts_with("/oauth2/"))
            && let Some(answer) = self.registry(method, &path, uri.query().unwrap_or(""), headers, body)
        {
            return answer;
        }
        if method == "POST"
            && let Some(endpoint) = path.strip_prefix("/score/")
        {
            return self.score(endpoint, headers, body);
        }
        if method == "POST"
            && let Some(endpoint) = path.strip_prefix("/batch/").and_then(|rest| rest.strip_suffix("/jobs"))
        {
            return self.batch_invoke(endpoint, headers, body);
        }
        if let Some(rest) = path.strip_prefix("/subscriptions/") {
            let token = headers.get("authorization").and_then(|h| h.strip_prefix("Bearer ")).unwrap_or("");
            if !self.tokens.contains(token) {
                return arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.");
            }
            if method == "GET"
                && let Some(answer) = self.operation(&path)
            {
                return answer;
            }
            if path.ends_with(crate::insights::METRICS_PATH) {
                return self.insights(method, &path, &query);
            }
            if let Some(answer) = self.resource_manager(method, &path, &query, body) {
                return answer;
            }
            if query.get("api-version").map(String::as_str) != Some(self.schema.api_version.as_str()) {
                self.violations.push(format!(
                    "{method} {path}: api-version {:?}, not {}",
                    query.get("api-version"),
                    self.schema.api_version
                ));
                return arm_error(400, "InvalidApiVersionParameter", "unsupported api-version");
            }
            let rest = rest.to_string();
            return self.arm(method, &path, &rest, &query, body);
        }
        self.violations.push(format!("{method} {path}: not an operation the emulator knows"));
        arm_error(404, "NotFound", "not an operation the emulator implements")
    }

    /// An Entra token for Databricks' resource: Databricks takes it, ARM does not.
    pub(crate) fn issue_databricks_token(&mut self) -> String {
        let token = format!("emulator-databricks-token-{}", self.databricks.tokens.len() + 1);
        self.databricks.tokens.insert(token.clone());
        token
    }

    fn issue_token(&mut self) -> String {
        let token = format!("emulator-access-token-{}", self.tokens.len() + 1);
        self.tokens.insert(token.clone());
        token
    }

    fn entra_token(&mut self, path: &str, body: &[u8]) -> Answer {
        let form = parse_form(&String::from_utf8_lossy(body));
        let tenant = path.trim_start_matches('/').split('/').next().unwrap_or("");
        let refuse = |code: u32, text: &str| Answer::Reply {
            status: if code == 90002 { 400 } else { 401 },
            headers: Vec::new(),
            body: json!({"error": "invalid_client", "error_description": format!("AADSTS{code}: {text}"), "error_codes": [code]}),
        };
        if tenant != TENANT {
            return refuse(90002, &format!("Tenant '{tenant}' not found."));
        }
        if form.get("grant_type").map(String::as_str) != Some("client_credentials")
            || form.get("scope").is_none_or(|s| !s.ends_with("/.default"))
        {
            self.violations.push(format!(
                "token request without client_credentials grant or a /.default scope: {:?}",
                form.keys().collect::<Vec<_>>()
            ));
            return refuse(900144, "The request body must contain grant_type and scope.");
        }
        if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            return refuse(700016, "Application not found in the directory.");
        }
        let authenticated = match (form.get("client_secret"), form.get("client_assertion")) {
            (Some(secret), None) => secret == CLIENT_SECRET,
            (None, Some(assertion)) => {
                form.get("client_assertion_type").map(String::as_str)
                    == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
                    && assertion == FEDERATED_ASSERTION
            }
            _ => false,
        };
        if !authenticated {
            return refuse(7000215, "Invalid client secret provided.");
        }
        let token = self.token_for(form.get("scope").map(String::as_str).unwrap_or_default(), tenant);
        ok(200, json!({"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": token}))
    }

    /// A token for a scope (`…/.default`) or resource: Databricks', Storage's (a JWT), or ARM's.
    fn token_for(&mut self, scope_or_resource: &str, tenant: &str) -> String {
        if scope_or_resource.starts_with(RESOURCE) {
            self.issue_databricks_token()
        } else if scope_or_resource.starts_with(STORAGE_RESOURCE) {
            storage_token(tenant)
        } else {
            self.issue_token()
        }
    }

    fn managed_identity_token(
        &mut self,
        query: &BTreeMap<String, String>,
        headers: &BTreeMap<String, String>,
    ) -> Answer {
        if headers.get("x-identity-header").map(String::as_str) != Some(IDENTITY_HEADER)
            || query.get("api-version").map(String::as_str) != Some("2019-08-01")
        {
            return Answer::Reply {
                status: 400,
                headers: Vec::new(),
                body: json!({"error": "invalid_request", "error_description": "bad identity header or api-version"}),
            };
        }
        let Some(resource) = query.get("resource") else {
            return Answer::Reply { status: 400, headers: Vec::new(), body: json!({"error": "invalid_resource"}) };
        };
        let token = self.token_for(resource, TENANT);
        let expires = jiff::Timestamp::now().as_second() + 3600;
        ok(
            200,
            json!({"access_token": token, "expires_on": expires.to_string(), "token_type": "Bearer", "resource": resource}),
        )
    }

    pub(crate) fn check(&mut self, what: &str, class: &str, value: &Value, direction: Direction) -> bool {
        let problems = self.schema.check(class, value, direction);
        let clean = problems.is_empty();
        for problem in problems {
            self.violations.push(format!("{what} ({class}): {problem}"));
        }
        clean
    }

    fn arm(&mut self, method: &str, path: &str, rest: &str, query: &BTreeMap<String, String>, body: &[u8]) -> Answer {
        let parts: Vec<&str> = rest.split('/').collect();
        // subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.MachineLearningServices/workspaces/{w}/...
        let (sub, group, provider, kind, ws) = (parts.first(), parts.get(2), parts.get(4), parts.get(5), parts.get(6));
        if sub != Some(&SUBSCRIPTION)
            || parts.get(1).map(|s| s.eq_ignore_ascii_case("resourceGroups")) != Some(true)
            || provider != Some(&"Microsoft.MachineLearningServices")
            || kind != Some(&"workspaces")
        {
            return arm_error(
                404,
                "ResourceGroupNotFound",
                &format!("Resource group '{}' could not be found.", group.unwrap_or(&"")),
            );
        }
        let (group, ws) = (group.copied().unwrap_or_default(), ws.copied().unwrap_or_default());
        let own = group == RESOURCE_GROUP && ws == WORKSPACE;
        // A workspace a template deployment made is served from the same store.
        let deployed = if own { None } else { self.infra.workspace(group, ws).map(|stored| stored.state.clone()) };
        if !own && deployed.is_none() {
            if !self.infra.groups.contains_key(&group.to_ascii_lowercase()) {
                return arm_error(
                    404,
                    "ResourceGroupNotFound",
                    &format!("Resource group '{group}' could not be found."),
                );
            }
            return arm_error(
                404,
                "ResourceNotFound",
                &format!(
                    "The Resource 'Microsoft.MachineLearningServices/workspaces/{ws}' under resource group '{group}' was not found."
                ),
            );
        }
        let body_json: Option<Value> = if body.is_empty() { None } else { serde_json::from_slice(body).ok() };
        if !body.is_empty() {
            match &body_json {
                Some(value) => self.bodies.push((path.to_string(), value.clone())),
                None => {
                    self.violations.push(format!("{method} {path}: body is not JSON"));
                    return arm_error(400, "BadRequest", "body is not JSON");
                }
            }
        }
        let prefix = match &deployed {
            Some(found) => found["id"].as_str().unwrap_or_default().to_string(),
            None => crate::common::workspace_id(),
        };
        let tail: Vec<&str> = parts[7..].to_vec();
        let what = format!("{method} {path}");
        match (method, tail.as_slice()) {
            ("GET", []) => {
                let location = deployed.as_ref().and_then(|d| d["location"].as_str()).unwrap_or("westeurope");
                let workspace = json!({
                    "id": prefix, "name": ws, "type": "Microsoft.MachineLearningServices/workspaces", "location": location,
                    "properties": {
                        "friendlyName": ws,
                        "discoveryUrl": format!("https://127.0.0.1:{}/discovery", self.port),
                        "mlFlowTrackingUri": format!("azureml://127.0.0.1:{}/mlflow/v1.0{prefix}", self.port),
                    }
                });
                self.respond(&what, "Workspace", 200, workspace)
            }
            ("GET", ["computes", name]) => match self.computes.get(*name).cloned() {
                Some(compute) => self.respond(&what, "ComputeResource", 200, compute),
                None => arm_error(404, "ResourceNotFound", &format!("Compute {name} not found in this workspace")),
            },
            ("GET", ["datastores", name]) => {
                let Some((storage, container)) = self.datastore(name) else {
                    return arm_error(404, "UserError", &format!("Datastore {name} not found"));
                };
                let datastore = json!({
                    "id": format!("{prefix}/datastores/{name}"), "name": name, "type": "Microsoft.MachineLearningServices/workspaces/datastores",
                    "properties": {
                        "datastoreType": "AzureBlob", "accountName": storage.account, "containerName": container,
                        "endpoint": storage.endpoint, "protocol": storage.scheme(), "isDefault": *name == "workspaceblobstore",
                        "credentials": {"credentialsType": if storage.ca.is_some() { "None" } else { "AccountKey" }}
                    }
                });
                self.respond(&what, "Datastore", 200, datastore)
            }
            ("POST", ["datastores", name, "listSecrets"]) => {
                if let Some(value) = &body_json
                    && !self.check(&what, "SecretExpiry", value, Direction::Request)
                {
                    return arm_error(400, "BadRequest", "body does not match SecretExpiry");
                }
                let Some((storage, _)) = self.datastore(name) else {
                    return arm_error(404, "UserError", &format!("Datastore {name} not found"));
                };
                if storage.ca.is_some() {
                    // An identity-based datastore has no secret to list; a client asking is wrong.
                    self.violations.push(format!("{what}: the datastore is identity-based (credentialsType None)"));
                    return arm_error(400, "UserError", "The datastore has no credentials to list.");
                }
                self.respond(&what, "DatastoreSecrets", 200, json!({"secretsType": "AccountKey", "key": storage.key}))
            }
            ("GET", ["models"]) => {
                let items: Vec<Value> = self.containers.values().cloned().collect();
                self.page(&what, "ModelContainer", &format!("{prefix}/models"), items, query)
            }
            ("GET", ["models", name]) => match self.containers.get(*name).cloned() {
                Some(container) => self.respond(&what, "ModelContainer", 200, container),
                None => arm_error(404, "UserError", &format!("Could not find asset with name {name}")),
            },
            ("GET", ["models", name, "versions"]) => {
                let items: Vec<Value> =
                    self.versions.iter().filter(|((n, _), _)| n == name).map(|(_, v)| v.clone()).collect();
                self.page(&what, "ModelVersion", &format!("{prefix}/models/{name}/versions"), items, query)
            }
            ("GET", ["models", name, "versions", version]) => {
                match self.versions.get(&(name.to_string(), version.to_string())).cloned() {
                    Some(found) => self.respond(&what, "ModelVersion", 200, found),
                    None => arm_error(
                        404,
                        "UserError",
                        &format!("Could not find asset with name {name} and version {version}"),
                    ),
                }
            }
            ("PUT", ["models", name, "versions", version]) => {
                let Some(value) = body_json else { return arm_error(400, "BadRequest", "no body") };
                if !self.check(&what, "ModelVersion", &value, Direction::Request) {
                    return arm_error(400, "UserError", "the body does not match ModelVersion");
                }
                let key = (name.to_string(), version.to_string());
                let existed = self.versions.contains_key(&key);
                let now = jiff::Timestamp::now().to_string();
                let mut stored = json!({
                    "id": format!("{prefix}/models/{name}/versions/{version}"), "name": version,
                    "type": "Microsoft.MachineLearningServices/workspaces/models/versions",
                    "properties": value["properties"].clone(),
                    "systemData": {"createdAt": now, "createdBy": CLIENT_ID, "createdByType": "Application", "lastModifiedAt": now}
                });
                stored["properties"]["provisioningState"] = json!("Succeeded");
                if let Some(previous) = self.versions.get(&key) {
                    stored["systemData"] = previous["systemData"].clone();
                }
                self.versions.insert(key, stored.clone());
                self.update_container(name, &prefix);
                self.respond(&what, "ModelVersion", if existed { 200 } else { 201 }, stored)
            }
            (method, ["batchEndpoints", ..]) => match self.batch(method, &tail, query, body_json, &prefix, &what) {
                Some(answer) => answer,
                None => {
                    self.violations.push(format!("{what}: not an operation the emulator knows"));
                    arm_error(404, "NotFound", "not an operation the emulator implements")
                }
            },
            (method, ["onlineEndpoints", ..]) => match self.online(method, &tail, query, body_json, &prefix, &what) {
                Some(answer) => answer,
                None => {
                    self.violations.push(format!("{what}: not an operation the emulator knows"));
                    arm_error(404, "NotFound", "not an operation the emulator implements")
                }
            },
            (method, tail) => match self.job_assets(method, tail, query, body_json, &prefix, &what) {
                Some(answer) => answer,
                None => {
                    self.violations.push(format!("{what}: not an operation the emulator knows"));
                    arm_error(404, "NotFound", "not an operation the emulator implements")
                }
            },
        }
    }

    /// The workspace's two blob datastores: models and code in one container, job logs
    /// (`workspaceartifactstore`) in another.
    pub(crate) fn datastore(&self, name: &str) -> Option<(Storage, String)> {
        let storage = self.storage.clone()?;
        let container = match name {
            "workspaceblobstore" => storage.container.clone(),
            "workspaceartifactstore" => crate::azurite::ARTIFACT_CONTAINER.to_string(),
            _ => return None,
        };
        Some((storage, container))
    }

    fn update_container(&mut self, name: &str, prefix: &str) {
        let latest = self
            .versions
            .keys()
            .filter(|(n, _)| n == name)
            .filter_map(|(_, v)| v.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        self.containers.insert(
            name.to_string(),
            json!({
                "id": format!("{prefix}/models/{name}"), "name": name, "type": "Microsoft.MachineLearningServices/workspaces/models",
                "properties": {"latestVersion": latest.to_string(), "nextVersion": (latest + 1).to_string(), "provisioningState": "Succeeded"}
            }),
        );
    }

    pub(crate) fn schema_api_version(&self) -> String {
        self.schema.api_version.clone()
    }

    pub(crate) fn page(
        &mut self,
        what: &str,
        class: &str,
        base: &str,
        items: Vec<Value>,
        query: &BTreeMap<String, String>,
    ) -> Answer {
        let skip: usize = query.get("$skip").and_then(|s| s.parse().ok()).unwrap_or(0);
        let page: Vec<Value> = items.iter().skip(skip).take(self.page_size).cloned().collect();
        for item in &page {
            self.check(what, class, item, Direction::Response);
        }
        let mut body = json!({"value": page});
        if skip + self.page_size < items.len() {
            body["nextLink"] = json!(format!(
                "https://127.0.0.1:{}{base}?api-version={}&$skip={}",
                self.port,
                self.schema.api_version,
                skip + self.page_size
            ));
        }
        ok(200, body)
    }

    pub(crate) fn respond(&mut self, what: &str, class: &str, status: u16, body: Value) -> Answer {
        self.check(&format!("answer to {what}"), class, &body, Direction::Response);
        ok(status, body)
    }
}
