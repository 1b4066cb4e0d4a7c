//! Online endpoints on the local workspace: each deployment is the Azure ML inference
//! server running `score.py` in its environment, behind a router of ours on 127.0.0.1.
//! Both run detached and outlive the command that started them; their state lives in the
//! registry, so any later command (or the router itself) brings them back after a crash.

pub mod collector;
mod hop;
mod layout;
pub mod limits;
pub(crate) mod lock;
pub(crate) mod mlflow;
pub mod processes;
pub mod records;
pub mod request_log;
pub mod router;
pub mod server;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lock::EndpointLock;
use records::{DeploymentRecord, EndpointRecord};

use crate::LocalWorkspace;
use crate::blobs::process_alive;
use crate::runner::environment;
use aml_core::digest::Digest;
use aml_core::error::{Error, IoContext, Result};
use aml_core::jobplan::{EnvPlan, plan_environment};
use aml_core::names::{DeploymentName, EndpointName};
use aml_core::online::{
    ApplyOutcome, DeployOptions, DeploymentState, Endpoint, EndpointAccess, JournalUpdate, TrafficChange,
    TrafficOutcome, check_traffic, same_split,
};
use aml_core::process::Cancellation;
use aml_core::progress::Progress;
use aml_core::refs::ModelRef;
use aml_core::yaml::endpoint::{DeploymentModel, OnlineDeployment, OnlineEndpoint};
use aml_http::client::{Client, HttpMethod};
use aml_http::pipeline::Retry;
use aml_http::transport::TransportOptions;
use bytes::Bytes;

fn encode<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::storage("cannot encode a record", e))
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::storage("a stored endpoint record is unreadable", e))
}

/// A secret made of 32 random bytes, hex-encoded.
fn new_key() -> Result<String> {
    aml_core::ids::random_hex::<32>()
}

impl LocalWorkspace {
    /// The client for this workspace's routers and inference servers on 127.0.0.1: probes
    /// and admin calls, each tried once (the callers poll).
    fn loopback(&self) -> Result<&Client> {
        if let Some(client) = self.loopback.get() {
            return Ok(client);
        }
        let client = Client::new(TransportOptions::service(Duration::from_secs(10)), Retry::Never)?;
        Ok(self.loopback.get_or_init(|| client))
    }

    fn endpoints_dir(&self) -> PathBuf {
        layout::endpoints_dir(self.root())
    }

    /// An endpoint's folder. Only a checked name makes a path.
    fn endpoint_dir(&self, endpoint: &EndpointName) -> PathBuf {
        layout::endpoint_dir(self.root(), endpoint)
    }

    /// The endpoint's lock: one command changes an endpoint at a time.
    async fn lock(&self, endpoint: &EndpointName) -> Result<EndpointLock> {
        EndpointLock::acquire(&self.endpoints_dir(), endpoint).await
    }

    /// Stop what serves the endpoint without a record naming it: processes left by a command
    /// killed between starting them and recording them. Called with the endpoint's lock held.
    async fn reap(&self, endpoint: &EndpointName) -> Result<()> {
        let (recorded, router) = match self.registry_ref().endpoint(endpoint)? {
            Some((text, _)) => {
                let record: EndpointRecord = decode(&text)?;
                let mut pids: Vec<u32> = self.deployment_records(endpoint)?.iter().filter_map(|d| d.pid).collect();
                pids.extend(record.router_pid);
                (pids, record.router_pid)
            }
            None => (Vec::new(), None),
        };
        let stopped = processes::reap(&self.endpoint_dir(endpoint), &recorded, router).await;
        if !stopped.is_empty() {
            aml_core::status!(
                "stopped {} process group(s) of endpoint {endpoint} that no record named (left by an interrupted command)",
                stopped.len()
            );
        }
        Ok(())
    }

    /// A deployment's folder, under its endpoint's.
    fn deployment_dir(&self, endpoint: &EndpointName, deployment: &DeploymentName) -> PathBuf {
        self.endpoint_dir(endpoint).join(deployment)
    }

    fn endpoint_record(&self, name: &str) -> Result<EndpointRecord> {
        match self.registry_ref().endpoint(name)? {
            Some((text, _)) => decode(&text),
            None if self.is_batch_endpoint(name)? => Err(aml_core::online::not_online(name)),
            None => {
                let known = self.registry_ref().endpoint_names()?;
                let hint = match aml_core::yaml::closest(name, &known.iter().map(String::as_str).collect::<Vec<_>>()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None if known.is_empty() => {
                        "no endpoints yet: `aml-deploy apply -f endpoint.yml` creates one".into()
                    }
                    None => {
                        format!("endpoints: {}", known.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))
                    }
                };
                Err(Error::usage(format!("no endpoint named `{name}` in this workspace"), hint))
            }
        }
    }

    fn deployment_records(&self, endpoint: &str) -> Result<Vec<DeploymentRecord>> {
        self.registry_ref().deployments(endpoint)?.iter().map(|t| decode(t)).collect()
    }

    fn view(&self, name: &str) -> Result<Endpoint> {
        let record = self.endpoint_record(name)?;
        Ok(record.view(&self.deployment_records(name)?))
    }

    pub fn endpoints(&self) -> Result<Vec<Endpoint>> {
        self.registry_ref().endpoint_names()?.iter().map(|n| self.view(n)).collect()
    }

    /// The endpoint as it is now, its router started again if it had stopped.
    pub async fn endpoint(&mut self, name: &str) -> Result<Endpoint> {
        self.endpoint_record(name)?;
        self.ensure_router(name).await?;
        self.view(name)
    }

    /// The scoring URI and key, for clients such as `smoke-test`.
    pub async fn endpoint_access(&mut self, name: &str) -> Result<EndpointAccess> {
        self.ensure_router(name).await?;
        let record = self.endpoint_record(name)?;
        let scoring_uri = record
            .scoring_uri()
            .ok_or_else(|| Error::service(format!("endpoint `{name}` has no router port"), None))?;
        Ok(EndpointAccess { scoring_uri, key: record.keys[0].clone() })
    }

    pub async fn apply_endpoint(&mut self, spec: &OnlineEndpoint) -> Result<(Endpoint, ApplyOutcome)> {
        let _lock = self.lock(&spec.name).await?;
        self.reap(&spec.name).await?;
        let now = aml_core::time::now();
        let existing = self.registry_ref().endpoint(&spec.name)?;
        let outcome = match existing {
            None => {
                if self.is_batch_endpoint(&spec.name)? {
                    return Err(Error::usage(
                        format!("`{}` is a batch endpoint of this workspace", spec.name),
                        "give the online endpoint another name: online and batch endpoints share one set of names",
                    ));
                }
                if !spec.traffic.is_empty() || !spec.mirror_traffic.is_empty() {
                    return Err(Error::usage(
                        format!("endpoint `{}` is new, so it has no deployments to give traffic to", spec.name),
                        "remove `traffic:` for now; apply the deployments, then `aml-deploy traffic` or `rollout`",
                    ));
                }
                let record = EndpointRecord {
                    name: spec.name.to_string(),
                    spec: spec.clone(),
                    keys: [new_key()?, new_key()?],
                    traffic: BTreeMap::new(),
                    mirror_traffic: BTreeMap::new(),
                    port: None,
                    router_pid: None,
                    created_at: now.clone(),
                    updated_at: now,
                    traffic_changed_by: None,
                    rollout: None,
                };
                fs::create_dir_all(self.endpoint_dir(&spec.name)).with_path("cannot create", &self.endpoints_dir())?;
                self.registry_ref().put_endpoint(&spec.name, &encode(&record)?)?;
                ApplyOutcome::Created
            }
            Some((text, _)) => {
                let record: EndpointRecord = decode(&text)?;
                if encode(&record.spec)? == encode(spec)? {
                    ApplyOutcome::Unchanged
                } else {
                    let deployments = self.deployment_records(&spec.name)?;
                    let names: Vec<&str> = deployments.iter().map(|d| d.name.as_str()).collect();
                    let traffic: BTreeMap<String, u32> = spec.traffic.iter().map(|(k, v)| (k.clone(), *v)).collect();
                    let mirror: BTreeMap<String, u32> =
                        spec.mirror_traffic.iter().map(|(k, v)| (k.clone(), *v)).collect();
                    if !traffic.is_empty() {
                        check_traffic(&traffic, &names)
                            .map_err(|p| Error::usage(p, "fix `traffic:` in the endpoint file"))?;
                    }
                    self.registry().modify_endpoint(&spec.name, |text| {
                        let mut record: EndpointRecord = decode(text)?;
                        record.spec = spec.clone();
                        if !traffic.is_empty() {
                            record.traffic = traffic.clone();
                        }
                        if !mirror.is_empty() {
                            record.mirror_traffic = mirror.clone();
                        }
                        record.updated_at = aml_core::time::now();
                        encode(&record)
                    })?;
                    ApplyOutcome::Updated
                }
            }
        };
        self.ensure_router_locked(&spec.name).await?;
        self.reload_router(&spec.name).await?;
        Ok((self.view(&spec.name)?, outcome))
    }

    /// Create or update a deployment. Same spec, model and code → nothing restarted. An update
    /// starts the new revision beside the old one and switches only once it is ready.
    pub async fn apply_deployment(
        &mut self,
        file: &Path,
        spec: &OnlineDeployment,
        options: &DeployOptions,
    ) -> Result<(Endpoint, ApplyOutcome)> {
        let endpoint = self
            .endpoint_record(&spec.endpoint_name)
            .map_err(|_| aml_core::yaml::endpoint::missing_endpoint(file, spec))?;
        aml_core::yaml::endpoint::check_kind_matches(file, spec, endpoint.spec.compute_name())?;
        aml_core::refs::check_name(&spec.name, "deployment name")?;
        let code = aml_core::yaml::endpoint::scoring_code(file, spec)?;
        let limits = limits::ContainerLimits::of(file, spec)?;
        let collection = match &spec.data_collector {
            Some(collector) => aml_core::collected::CollectionPlan::of(collector, &spec.endpoint_name, &spec.name)
                .map_err(|bad| bad.in_file(file))?,
            None => None,
        };
        let mut warnings = Vec::new();
        let declared_env = match (&spec.environment, &code) {
            (Some(environment), _) => Some(plan_environment(file, "environment", environment, &mut warnings)?),
            // A no-code deployment may take its environment from the MLflow model.
            (None, None) => None,
            (None, Some(_)) => {
                return Err(Error::in_file(
                    file,
                    Some("environment"),
                    "is missing",
                    "give the environment (`image` and `conda_file`)",
                ));
            }
        };
        if let Some(blocker) = declared_env.as_ref().and_then(|env| env.blocker(file, "environment")) {
            return Err(blocker.refusal(file, "locally"));
        }
        if let Some(env) = &declared_env {
            environment::check_interpreter(env, file, "environment", self.settings())?;
        }
        if code.is_none() {
            no_code_model_check(file, spec)?;
        }
        for warning in warnings {
            aml_core::status!("warning: {warning}");
        }
        let model = match &spec.model {
            None => None,
            Some(model) => Some(self.deployment_model(
                file,
                (&spec.endpoint_name, &spec.name),
                model,
                options.requested_by.clone(),
            )?),
        };
        let (code_dir, scoring_script) = match code {
            Some(code) => (Some(code.0), code.1),
            None => (None, mlflow::SCORING_SCRIPT_NAME.to_string()),
        };
        // Served without a scoring script, the model must be an MLflow model, whatever its
        // environment; with none given, its own requirements make one.
        let model_files = match (&code_dir, &model) {
            (None, Some(model)) => {
                let files = self.model_files(model)?;
                if mlflow::model_root(files.iter().map(|(p, _)| p.as_str())).is_none() {
                    return Err(mlflow::not_mlflow(&model.id()));
                }
                Some(files)
            }
            _ => None,
        };
        let env_plan = match (declared_env, &model, &model_files) {
            (Some(env), _, _) => env,
            (None, Some(model), Some(files)) => mlflow::environment(&model.id(), files)?,
            _ => return Err(aml_core::yaml::endpoint::nothing_to_serve(file)),
        };

        // The environment is built first (it can take minutes, and is shared by content);
        // from here on the endpoint is ours alone until the deployment is recorded.
        let python = self.deployment_python(&env_plan, options.stream_logs).await?;
        let _lock = self.lock(&spec.endpoint_name).await?;
        self.reap(&spec.endpoint_name).await?;
        let code_digest = match &code_dir {
            Some(code_dir) => aml_core::tree::hash_files(aml_core::tree::snapshot_files(code_dir)?)?.digest(),
            None => Digest::of_bytes(mlflow::SCORING_SCRIPT.as_bytes()),
        };
        let fingerprint = Digest::of_bytes(
            encode(&serde_json::json!({
                "spec": spec,
                "model": model.as_ref().map(|m| m.digest),
                "code": code_digest,
                "environment": format!("{env_plan:?}"),
                "launcher": 3,
            }))?
            .as_bytes(),
        );
        let previous = self.deployment_records(&spec.endpoint_name)?.into_iter().find(|d| d.name == spec.name);
        if let Some(previous) = &previous {
            let running =
                previous.state == DeploymentState::Succeeded && previous.pid.is_some_and(|p| process_alive(p as i32));
            if previous.fingerprint == fingerprint && running {
                self.ensure_router_locked(&spec.endpoint_name).await?;
                if options.all_traffic {
                    let all = TrafficChange {
                        traffic: Some(BTreeMap::from([(spec.name.to_string(), 100)])),
                        by: options.requested_by.clone(),
                        ..TrafficChange::default()
                    };
                    self.change_traffic_locked(&spec.endpoint_name, all).await?;
                }
                return Ok((self.view(&spec.endpoint_name)?, ApplyOutcome::Unchanged));
            }
        }

        let collector_port = match &collection {
            Some(plan) if plan.custom().next().is_some() => Some(server::free_port(None)?),
            _ => None,
        };
        let revision = self.deployment_dir(&spec.endpoint_name, &spec.name).join(&fingerprint.hex()[..12]);
        if !revision.join("launch.py").is_file() {
            let staging = revision.with_extension("partial");
            let _ = fs::remove_dir_all(&staging);
            fs::create_dir_all(staging.join("model")).with_path("cannot create", &staging)?;
            match &code_dir {
                Some(code_dir) => {
                    crate::runner::snapshot(code_dir, &staging.join("code"))?;
                }
                None => {
                    let script = staging.join("code").join(mlflow::SCORING_SCRIPT_NAME);
                    fs::create_dir_all(staging.join("code")).with_path("cannot create", &staging)?;
                    fs::write(&script, mlflow::SCORING_SCRIPT).with_path("cannot write", &script)?;
                }
            }
            if let Some(model) = &model {
                self.download_model(model, &staging.join("model"))?;
            }
            server::write_launcher(&staging)?;
            let _ = fs::remove_dir_all(&revision);
            fs::rename(&staging, &revision).with_path("cannot move into place", &revision)?;
        }
        let now = aml_core::time::now();
        let mut record = DeploymentRecord {
            endpoint: spec.endpoint_name.to_string(),
            name: spec.name.to_string(),
            spec: spec.clone(),
            model: model.as_ref().map(|m| m.id()),
            model_digest: model.as_ref().map(|m| m.digest),
            fingerprint,
            dir: revision.clone(),
            python,
            entry_script: scoring_script,
            environment_variables: spec.environment_variables.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            port: None,
            pid: None,
            state: if previous.is_some() { DeploymentState::Updating } else { DeploymentState::Creating },
            error: None,
            restarts: 0,
            limits,
            collector_port,
            created_at: previous.as_ref().map(|p| p.created_at.clone()).unwrap_or_else(|| now.clone()),
            updated_at: now,
        };
        if previous.is_none() {
            self.registry_ref().put_deployment(&record.endpoint, &record.name, &encode(&record)?)?;
        }
        aml_core::status!(
            "starting deployment {} of endpoint {} ({})",
            record.name,
            record.endpoint,
            record.model.as_deref().unwrap_or("no model")
        );
        let log = record.log_path();
        let started = server::start_inference_server(&record, &log, None, &self.endpoint_dir(&spec.endpoint_name));
        let progress = Progress::waiting(format!("deployment {} of {}", record.name, record.endpoint), self.settings());
        let waited = match started {
            Ok(started) => {
                let timeout = router::readiness_timeout(&record);
                let ready = server::wait_ready(self.loopback()?, &started, "/", timeout, Some(&progress)).await;
                Ok((started.pid, started.port, ready))
            }
            Err(e) => Err(e),
        };
        progress.finish();
        let ready = match waited {
            Ok((pid, port, ready)) => match ready {
                Ok(()) => Ok((pid, port)),
                Err(reason) => {
                    server::stop(pid).await;
                    limits::Cgroup::remove(&record.dir);
                    Err(Error::failed(
                        format!(
                            "deployment `{}` never became ready: {reason}; last lines of its log:\n{}",
                            record.name,
                            server::log_tail(&log, 25)
                        ),
                        Some(format!("the whole log: `aml-deploy logs {} {}`", record.endpoint, record.name)),
                    ))
                }
            },
            Err(e) => Err(e),
        };
        let (pid, port) = match ready {
            Ok(ready) => ready,
            Err(error) => {
                // A new deployment is marked failed; an update leaves the old revision serving.
                let message = error.to_string();
                self.registry().modify_deployment(&record.endpoint, &record.name, |text| {
                    let mut stored: DeploymentRecord = decode(text)?;
                    if previous.is_none() {
                        stored.state = DeploymentState::Failed;
                    }
                    stored.error = Some(message.clone());
                    stored.updated_at = aml_core::time::now();
                    encode(&stored)
                })?;
                return Err(error);
            }
        };
        record.pid = Some(pid);
        record.port = Some(port);
        record.state = DeploymentState::Succeeded;
        let new_record = encode(&record)?;
        self.registry().modify_deployment(&record.endpoint, &record.name, |_| Ok(new_record.clone()))?;
        self.ensure_router_locked(&record.endpoint).await?;
        self.reload_router(&record.endpoint).await?;
        if let Some(old) = previous.as_ref().filter(|p| p.pid.is_some_and(|old| old != pid)) {
            if let Some(old_pid) = old.pid {
                server::stop(old_pid).await;
            }
            if old.dir != record.dir {
                limits::Cgroup::remove(&old.dir);
            }
        }
        let serving: u32 = self.endpoint_record(&record.endpoint)?.traffic.values().sum();
        if options.all_traffic || (serving == 0 && !options.keep_traffic) {
            if serving == 0 && !options.all_traffic {
                aml_core::status!(
                    "deployment {} is the endpoint's only live one: it gets 100% of the traffic",
                    record.name
                );
            }
            let all = TrafficChange {
                traffic: Some(BTreeMap::from([(record.name.clone(), 100)])),
                by: options.requested_by.clone(),
                ..TrafficChange::default()
            };
            self.change_traffic_locked(&record.endpoint, all).await?;
        }
        let outcome = if previous.is_some() { ApplyOutcome::Updated } else { ApplyOutcome::Created };
        Ok((self.view(&record.endpoint)?, outcome))
    }

    /// The model a deployment serves: a registered reference, or an inline model registered
    /// on the fly (as `az ml` registers an anonymous model asset).
    pub(crate) fn deployment_model(
        &mut self,
        file: &Path,
        names: (&str, &str),
        model: &DeploymentModel,
        requested_by: Option<String>,
    ) -> Result<aml_core::model::ModelVersion> {
        match model {
            DeploymentModel::Registered(written) => {
                let reference: ModelRef = written.parse().map_err(|e: Error| {
                    Error::in_file(file, Some("model"), e.to_string(), "write `azureml:<name>:<version>`")
                })?;
                self.model_version(&reference).map_err(|e| {
                    Error::in_file(
                        file,
                        Some("model"),
                        e.to_string(),
                        e.hint().unwrap_or("register the model first").to_string(),
                    )
                })
            }
            DeploymentModel::Inline(inline) => {
                let new = aml_core::yaml::endpoint::inline_model(file, names, inline, requested_by.clone())?;
                Ok(self.register_model(&new)?.version)
            }
        }
    }

    /// A Python with the environment's packages and the inference server.
    pub(crate) async fn deployment_python(&self, plan: &EnvPlan, echo: bool) -> Result<PathBuf> {
        let mut cancel = Cancellation::install()?;
        let interpreter = environment::ensure(plan, &mut cancel, echo, self.settings()).await?;
        let check = std::process::Command::new(&interpreter.python)
            .args(["-c", "import azureml_inference_server_http"])
            .output();
        if !check.is_ok_and(|o| o.status.success()) {
            let described = match plan {
                EnvPlan::Packages { described_by, .. } => format!("`{}`", described_by.display()),
                EnvPlan::BaseInterpreter { .. } | EnvPlan::Registered { .. } | EnvPlan::DockerBuild { .. } => {
                    "the environment".into()
                }
            };
            return Err(Error::usage(
                format!("{described} does not install the Azure ML inference server"),
                "add `azureml-inference-server-http` to its pip dependencies (Azure ML's inference images have it)",
            ));
        }
        Ok(interpreter.python)
    }

    /// Set the split of live traffic and/or mirrored traffic; the router applies it before this returns.
    /// Change the traffic, under the endpoint's lock: with an expected split, only if the
    /// endpoint still has it, with nobody able to change it in between.
    pub async fn change_traffic(&mut self, name: &str, change: TrafficChange) -> Result<TrafficOutcome> {
        let _lock = self.lock(&EndpointName::new(name)?).await?;
        self.change_traffic_locked(name, change).await
    }

    async fn change_traffic_locked(&mut self, name: &str, change: TrafficChange) -> Result<TrafficOutcome> {
        let TrafficChange { traffic, mirror, expected, by, journal } = change;
        let deployments = self.deployment_records(name)?;
        let live: Vec<&str> =
            deployments.iter().filter(|d| d.state == DeploymentState::Succeeded).map(|d| d.name.as_str()).collect();
        let record = self.endpoint_record(name)?;
        if let Some((live, mirrored)) = &expected
            && !(same_split(&record.traffic, live) && same_split(&record.mirror_traffic, mirrored))
        {
            return Ok(TrafficOutcome::NotAsExpected(self.view(name)?));
        }
        let traffic = traffic.unwrap_or(record.traffic.clone());
        let mirror = mirror.unwrap_or(record.mirror_traffic.clone());
        check_traffic(&traffic, &live)
            .map_err(|p| Error::usage(p, "`aml-deploy show` lists the endpoint's running deployments"))?;
        aml_core::online::check_mirror(&traffic, &mirror, &live).map_err(|p| {
            Error::usage(p, "mirror to a running deployment of this endpoint with 0% live traffic, at most 50%")
        })?;
        self.registry().modify_endpoint(name, |text| {
            let mut record: EndpointRecord = decode(text)?;
            record.traffic = traffic.clone();
            record.mirror_traffic = mirror.iter().filter(|(_, p)| **p > 0).map(|(k, v)| (k.clone(), *v)).collect();
            record.traffic_changed_by = by.clone();
            match &journal {
                JournalUpdate::Keep => {}
                JournalUpdate::Set(rollout) => record.rollout = Some(rollout.clone()),
                JournalUpdate::Clear => record.rollout = None,
            }
            record.updated_at = aml_core::time::now();
            encode(&record)
        })?;
        self.ensure_router_locked(name).await?;
        self.reload_router(name).await?;
        Ok(TrafficOutcome::Changed(self.view(name)?))
    }

    /// A running deployment's inference server (its session leader's pid, so every process
    /// serving it is found by its session): `deployment`, or else the endpoint's only
    /// deployment with live traffic. `None` when no single running server is meant.
    pub fn deployment_server(&self, endpoint: &str, deployment: Option<&str>) -> Result<Option<(String, u32)>> {
        let record = self.endpoint_record(endpoint)?;
        let chosen = match deployment {
            Some(name) => Some(name.to_string()),
            None => {
                let live: Vec<&String> = record.traffic.iter().filter(|(_, p)| **p > 0).map(|(n, _)| n).collect();
                (live.len() == 1).then(|| live[0].clone())
            }
        };
        let Some(chosen) = chosen else { return Ok(None) };
        Ok(self
            .deployment_records(endpoint)?
            .into_iter()
            .find(|d| d.name == chosen && d.state == DeploymentState::Succeeded)
            .and_then(|d| d.pid.filter(|pid| process_alive(*pid as i32)))
            .map(|pid| (chosen, pid)))
    }

    /// The records of the requests the endpoint answered in its last `window`, and that
    /// window as (since, until) in milliseconds.
    pub fn endpoint_requests(
        &self,
        endpoint: &str,
        deployment: Option<&str>,
        window: Duration,
    ) -> Result<((i64, i64), Vec<aml_core::requests::RequestRecord>)> {
        self.endpoint_record(endpoint)?;
        if let Some(name) = deployment
            && !self.deployment_records(endpoint)?.iter().any(|d| d.name == name)
        {
            return Err(Error::usage(
                format!("endpoint `{endpoint}` has no deployment `{name}`"),
                "`aml-deploy show` lists them",
            ));
        }
        let (since, until) = aml_core::time::window_ending_now(window);
        let records = request_log::read(&self.endpoint_dir(&EndpointName::new(endpoint)?), since);
        Ok(((since, until), records))
    }

    /// What a deployment's collection holds from `window` ago on, oldest first.
    pub fn collected(
        &self,
        endpoint: &str,
        deployment: &str,
        collection: &str,
        window: Duration,
    ) -> Result<Vec<aml_core::collected::CollectedLine>> {
        let records = self.deployment_records(endpoint)?;
        let record = records
            .iter()
            .find(|d| d.name == deployment)
            .ok_or_else(|| no_deployment(endpoint, deployment, &records))?;
        let Some(folder) = collector::collection_folder(self.root(), record, collection)? else {
            return Err(Error::usage(
                format!("deployment `{deployment}` of endpoint `{endpoint}` collects no data"),
                format!("enable the collection in its YAML: data_collector.collections.{collection}.enabled: 'True'"),
            ));
        };
        Ok(collector::read(&folder, aml_core::time::window_ending_now(window).0 / 1000))
    }

    /// The deployment's server log, whole or its last `tail` lines.
    pub fn deployment_log(&self, endpoint: &str, deployment: &str, tail: Option<usize>) -> Result<(String, String)> {
        let records = self.deployment_records(endpoint)?;
        let record = records
            .iter()
            .find(|d| d.name == deployment)
            .ok_or_else(|| no_deployment(endpoint, deployment, &records))?;
        let path = record.log_path();
        let text = match tail {
            Some(lines) => server::log_tail(&path, lines),
            None => fs::read_to_string(&path).unwrap_or_default(),
        };
        Ok((path.display().to_string(), text))
    }

    pub async fn delete_deployment(&mut self, endpoint: &str, deployment: &str) -> Result<()> {
        let endpoint_name = EndpointName::new(endpoint)?;
        let _lock = self.lock(&endpoint_name).await?;
        let record = self.endpoint_record(endpoint)?;
        if record.traffic.get(deployment).copied().unwrap_or(0) > 0
            || record.mirror_traffic.get(deployment).copied().unwrap_or(0) > 0
        {
            return Err(Error::usage(
                format!("deployment `{deployment}` still gets traffic"),
                format!("move its traffic first: `aml-deploy traffic {endpoint} <other>=100`"),
            ));
        }
        let deployments = self.deployment_records(endpoint)?;
        let target = deployments.iter().find(|d| d.name == deployment).ok_or_else(|| {
            Error::usage(
                format!("endpoint `{endpoint}` has no deployment `{deployment}`"),
                "`aml-deploy show` lists them",
            )
        })?;
        // Marked first, so the router's supervisor does not start it again while it stops.
        self.registry().modify_deployment(endpoint, deployment, |text| {
            let mut record: DeploymentRecord = decode(text)?;
            record.state = DeploymentState::Deleting;
            encode(&record)
        })?;
        if let Some(pid) = target.pid {
            server::stop(pid).await;
        }
        limits::Cgroup::remove(&target.dir);
        self.registry_ref().delete_deployment(endpoint, deployment)?;
        self.reload_router(endpoint).await?;
        // Its workers, and anything an interrupted command started for it, go too.
        self.reap(&endpoint_name).await?;
        let _ = fs::remove_dir_all(self.deployment_dir(&endpoint_name, &DeploymentName::new(deployment)?));
        Ok(())
    }

    /// Stop the router and every deployment, and forget the endpoint.
    pub async fn delete_endpoint(&mut self, name: &str) -> Result<()> {
        let endpoint = EndpointName::new(name)?;
        let _lock = self.lock(&endpoint).await?;
        let record = self.endpoint_record(name)?;
        // The router first: it restarts deployments it sees stopped.
        if let Some(pid) = record.router_pid {
            server::stop(pid).await;
        }
        let deployments = self.deployment_records(name)?;
        for deployment in &deployments {
            if let Some(pid) = deployment.pid {
                server::stop(pid).await;
            }
        }
        self.registry_ref().delete_endpoint(name)?;
        // Recorded or not, nothing that serves the endpoint outlives it.
        let leftovers = processes::reap(&self.endpoint_dir(&endpoint), &[], None).await;
        if !leftovers.is_empty() {
            aml_core::status!("stopped {} unrecorded process group(s) of endpoint {name}", leftovers.len());
        }
        for deployment in &deployments {
            limits::Cgroup::remove(&deployment.dir);
        }
        let _ = fs::remove_dir_all(self.endpoint_dir(&endpoint));
        Ok(())
    }

    /// Start the endpoint's router unless it is running and answering (taking the endpoint's
    /// lock to start it, so a concurrent command cannot take it for an orphan).
    async fn ensure_router(&mut self, name: &str) -> Result<()> {
        if self.router_answers(name).await? {
            return Ok(());
        }
        let _lock = self.lock(&EndpointName::new(name)?).await?;
        self.ensure_router_locked(name).await
    }

    async fn router_answers(&self, name: &str) -> Result<bool> {
        let record = self.endpoint_record(name)?;
        Ok(match (record.router_pid, record.port) {
            (Some(pid), Some(port)) => {
                process_alive(pid as i32) && server::answers(self.loopback()?, port, router::HEALTH_PATH).await
            }
            _ => false,
        })
    }

    async fn ensure_router_locked(&mut self, name: &str) -> Result<()> {
        if self.router_answers(name).await? {
            return Ok(());
        }
        let program = std::env::current_exe()
            .ok()
            .map(|exe| exe.with_file_name("aml-deploy"))
            .filter(|p| p.is_file())
            .ok_or_else(|| {
                Error::service(
                    "cannot find the `aml-deploy` program to run the endpoint's router",
                    Some("install aml-deploy next to the other aml-* tools".into()),
                )
            })?;
        let dir = self.endpoint_dir(&EndpointName::new(name)?);
        fs::create_dir_all(&dir).with_path("cannot create", &dir)?;
        let log = dir.join("router.log");
        let args = vec![
            "serve-endpoint".to_string(),
            name.to_string(),
            "--workspace".into(),
            format!("local:{}", self.root().display()),
        ];
        let pid = server::spawn_detached(
            &program,
            &args,
            &[("AML_CI".into(), "none".into())],
            self.root(),
            &log,
            &dir,
            Vec::new(),
        )?;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            let record = self.endpoint_record(name)?;
            if let (Some(p), Some(port)) = (record.router_pid, record.port)
                && p == pid
                && server::answers(self.loopback()?, port, router::HEALTH_PATH).await
            {
                return Ok(());
            }
            if !process_alive(pid as i32) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(Error::service(
            format!(
                "the router of endpoint `{name}` did not start; last lines of its log:\n{}",
                server::log_tail(&log, 15)
            ),
            Some(format!("its log: `{}`", log.display())),
        ))
    }

    /// Tell the router to reload now, and check it took the latest generation.
    async fn reload_router(&mut self, name: &str) -> Result<()> {
        let record = self.endpoint_record(name)?;
        let (Some(port), Some(generation)) = (record.port, self.registry_ref().generation(name)?) else {
            return Ok(());
        };
        let authorization = format!("Bearer {}", record.keys[0]);
        let answer = self
            .loopback()?
            .send(
                HttpMethod::Post,
                &format!("http://127.0.0.1:{port}{}", router::RELOAD_PATH),
                &[("authorization", &authorization)],
                Bytes::new(),
                Duration::from_secs(10),
            )
            .await;
        let applied = answer
            .ok()
            .filter(|answer| answer.status == 200)
            .and_then(|answer| serde_json::from_slice::<serde_json::Value>(&answer.body).ok())
            .and_then(|v| v["generation"].as_i64());
        match applied {
            Some(applied) if applied >= generation => Ok(()),
            _ => Err(Error::service(
                format!("the router of endpoint `{name}` did not take the new configuration"),
                Some(format!("see `{}`", self.endpoint_dir(&EndpointName::new(name)?).join("router.log").display())),
            )),
        }
    }
}

/// A deployment with no scoring script serves an MLflow model: checked before anything is
/// registered (an inline model's folder must hold an `MLmodel`).
fn no_code_model_check(file: &Path, spec: &OnlineDeployment) -> Result<()> {
    match &spec.model {
        None if spec.environment.is_some() => Err(Error::in_file(
            file,
            Some("environment"),
            "with no code and no model, the environment is the whole server (a model package or a custom container), which needs a container engine the local workspace does not have",
            "apply it on Azure ML (`--workspace azureml://…`), or add `code_configuration` and a `model:` to serve it here",
        )),
        None => Err(aml_core::yaml::endpoint::nothing_to_serve(file)),
        Some(DeploymentModel::Inline(inline)) => {
            let Some(written) = inline.path.as_deref() else { return Ok(()) };
            let path = aml_core::yaml::resolve_path(file, written);
            let shallow = [path.join("MLmodel")]
                .into_iter()
                .chain(fs::read_dir(&path).into_iter().flatten().flatten().map(|e| e.path().join("MLmodel")));
            if shallow.into_iter().any(|p| p.is_file()) {
                Ok(())
            } else {
                Err(Error::in_file(
                    file,
                    Some("model.path"),
                    format!(
                        "`{}` is not an MLflow model (no `MLmodel` file), so it cannot be served without a scoring script",
                        written
                    ),
                    "add `code_configuration` (`code` and `scoring_script`), or point `model.path` at an MLflow model folder",
                ))
            }
        }
        Some(DeploymentModel::Registered(_)) => Ok(()),
    }
}

fn no_deployment(endpoint: &str, deployment: &str, records: &[DeploymentRecord]) -> Error {
    Error::usage(
        format!("endpoint `{endpoint}` has no deployment `{deployment}`"),
        format!("its deployments: {}", records.iter().map(|d| format!("`{}`", d.name)).collect::<Vec<_>>().join(", ")),
    )
}
