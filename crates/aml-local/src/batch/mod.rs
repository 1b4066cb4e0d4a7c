//! Batch endpoints on the local workspace. An endpoint is a record with its default
//! deployment; a model deployment is a frozen revision (the code snapshot, the model's
//! files, the environment and the run settings it was applied with); an invocation is an
//! ordinary job of the runner — a pipeline of one parallel step over the input's files — so
//! `aml-train show|logs|cancel` and `aml-register --job` read it as any job. Nothing runs
//! between invocations: there is no process to keep alive.

mod records;
mod store;

use std::fs;
use std::path::{Path, PathBuf};

use records::{BatchDeploymentRecord, BatchEndpointRecord, BatchRuns};

use crate::LocalWorkspace;
use crate::online::lock::EndpointLock;
use crate::runner::environment;
use aml_core::digest::Digest;
use aml_core::error::{Error, IoContext, Result};
use aml_core::jobplan::batch::{ScoringJob, scoring_plan};
use aml_core::jobplan::{InputPlan, Plan, plan_environment};
use aml_core::names::{DeploymentName, EndpointName};
use aml_core::online::{ApplyOutcome, DeployOptions, Endpoint};
use aml_core::process::Cancellation;
use aml_core::yaml::batch::{BatchDeployment, BatchEndpoint, ComponentRef, PipelineBatchDeployment};

/// The script Azure ML's no-code MLflow batch deployments stand for.
const MLFLOW_SCORING_SCRIPT: &str = include_str!("mlflow_batch_score.py");
const MLFLOW_SCORING_SCRIPT_NAME: &str = "mlflow_batch_score.py";

fn no_environment(file: &Path) -> Error {
    Error::in_file(file, Some("environment"), "is missing", "give the environment (`image` and `conda_file`)")
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::storage("cannot encode a record", e))
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::storage("a stored batch endpoint record is unreadable", e))
}

impl LocalWorkspace {
    fn batch_endpoints_dir(&self) -> PathBuf {
        self.root().join("batch-endpoints")
    }

    /// A deployment's folder of revisions. Only checked names make a path.
    fn batch_deployment_dir(&self, endpoint: &EndpointName, deployment: &DeploymentName) -> PathBuf {
        self.batch_endpoints_dir().join(endpoint).join(deployment)
    }

    /// One writer per batch endpoint, as for online ones.
    async fn batch_lock(&self, endpoint: &EndpointName) -> Result<EndpointLock> {
        EndpointLock::acquire(&self.batch_endpoints_dir(), endpoint).await
    }

    pub fn is_batch_endpoint(&self, name: &str) -> Result<bool> {
        Ok(self.registry_ref().batch_endpoint(name)?.is_some())
    }

    fn batch_endpoint_record(&self, name: &str) -> Result<BatchEndpointRecord> {
        match self.registry_ref().batch_endpoint(name)? {
            Some(text) => decode(&text),
            None => Err(Error::usage(
                format!("no batch endpoint named `{name}` in this workspace"),
                "`aml-deploy list` shows the endpoints; `aml-deploy apply -f endpoint.yml` creates one",
            )),
        }
    }

    fn batch_deployment_records(&self, endpoint: &str) -> Result<Vec<BatchDeploymentRecord>> {
        self.registry_ref().batch_deployments(endpoint)?.iter().map(|t| decode(t)).collect()
    }

    pub fn batch_endpoint(&self, name: &str) -> Result<Endpoint> {
        let record = self.batch_endpoint_record(name)?;
        Ok(record.view(&self.batch_deployment_records(name)?))
    }

    pub fn batch_endpoints(&self) -> Result<Vec<Endpoint>> {
        self.registry_ref().batch_endpoint_names()?.iter().map(|n| self.batch_endpoint(n)).collect()
    }

    pub async fn apply_batch_endpoint(
        &mut self,
        file: &Path,
        spec: &BatchEndpoint,
    ) -> Result<(Endpoint, ApplyOutcome)> {
        let _lock = self.batch_lock(&spec.name).await?;
        let wanted_default = spec.defaults.as_ref().and_then(|d| d.deployment_name.clone());
        let outcome = match self.registry_ref().batch_endpoint(&spec.name)? {
            None => {
                if let Some(default) = &wanted_default {
                    return Err(Error::in_file(
                        file,
                        Some("defaults.deployment_name"),
                        format!("endpoint `{}` is new, so it has no deployment `{default}` yet", spec.name),
                        "leave `defaults` out for now: the first deployment applied becomes the default",
                    ));
                }
                let now = aml_core::time::now();
                let record = BatchEndpointRecord {
                    name: spec.name.to_string(),
                    spec: spec.clone(),
                    default_deployment: None,
                    created_at: now.clone(),
                    updated_at: now,
                };
                self.registry().insert_batch_endpoint(&spec.name, &encode(&record)?)?;
                ApplyOutcome::Created
            }
            Some(text) => {
                let mut record: BatchEndpointRecord = decode(&text)?;
                let deployments = self.batch_deployment_records(&spec.name)?;
                if let Some(default) = wanted_default.as_ref().filter(|d| !deployments.iter().any(|r| &&r.name == d)) {
                    let known: Vec<String> = deployments.iter().map(|d| format!("`{}`", d.name)).collect();
                    return Err(Error::in_file(
                        file,
                        Some("defaults.deployment_name"),
                        format!("endpoint `{}` has no deployment `{default}`", spec.name),
                        match known.is_empty() {
                            true => "apply the deployment first".to_string(),
                            false => format!("its deployments: {}", known.join(", ")),
                        },
                    ));
                }
                let default_changes = wanted_default.is_some() && wanted_default != record.default_deployment;
                if encode(&record.spec)? == encode(spec)? && !default_changes {
                    ApplyOutcome::Unchanged
                } else {
                    record.spec = spec.clone();
                    if wanted_default.is_some() {
                        record.default_deployment = wanted_default;
                    }
                    record.updated_at = aml_core::time::now();
                    self.registry_ref().update_batch_endpoint(&spec.name, &encode(&record)?)?;
                    ApplyOutcome::Updated
                }
            }
        };
        Ok((self.batch_endpoint(&spec.name)?, outcome))
    }

    /// Create or update a model deployment: its environment built (as Azure ML builds the
    /// image), its code and model frozen in a revision folder named by their digest. The
    /// same spec, code, model and environment change nothing.
    pub async fn apply_batch_deployment(
        &mut self,
        file: &Path,
        spec: &BatchDeployment,
        options: &DeployOptions,
    ) -> Result<(Endpoint, ApplyOutcome)> {
        let endpoint = spec.endpoint_name();
        if self.registry_ref().batch_endpoint(endpoint)?.is_none() {
            return Err(Error::in_file(
                file,
                Some("endpoint_name"),
                format!("there is no batch endpoint `{endpoint}` in this workspace"),
                "apply the endpoint file first (`aml-deploy apply -f endpoint.yml`)",
            ));
        }
        let spec = match spec {
            BatchDeployment::Model(spec) => spec,
            BatchDeployment::Pipeline(spec) => return self.apply_pipeline_deployment(file, spec, options).await,
        };
        let code = aml_core::yaml::endpoint::code_of(file, spec.code_configuration.as_ref())?;
        let mut warnings = Vec::new();
        let declared_env = match (&spec.environment, &code) {
            (Some(environment), _) => Some(plan_environment(file, "environment", environment, &mut warnings)?),
            // Without a scoring script the MLflow model brings its own environment.
            (None, None) => None,
            (None, Some(_)) => return Err(no_environment(file)),
        };
        if let Some(blocker) = declared_env.as_ref().and_then(|env| env.blocker(file, "environment")) {
            return Err(blocker.refusal(file, "locally"));
        }
        if let Some(env) = &declared_env {
            crate::runner::environment::check_interpreter(env, file, "environment", self.settings())?;
        }
        for warning in warnings {
            aml_core::status!("warning: {warning}");
        }
        let settings = spec.run_settings(file)?;
        let model = match &spec.model {
            Some(model) => {
                Some(self.deployment_model(file, (endpoint, &spec.name), model, options.requested_by.clone())?)
            }
            None => None,
        };
        // No scoring script: an MLflow model scored by the script Azure ML's no-code batch
        // deployments stand for, in its own environment unless the file names one.
        let (code_dir, scoring_script, env_plan) = match (code, &model) {
            (Some((dir, script)), _) => (Some(dir), script, declared_env.ok_or_else(|| no_environment(file))?),
            (None, Some(model)) => {
                let files = self.model_files(model)?;
                if crate::online::mlflow::model_root(files.iter().map(|(p, _)| p.as_str())).is_none() {
                    return Err(crate::online::mlflow::not_mlflow(&model.id()));
                }
                let environment = match declared_env {
                    Some(environment) => environment,
                    None => crate::online::mlflow::environment(&model.id(), &files)?,
                };
                (None, MLFLOW_SCORING_SCRIPT_NAME.to_string(), environment)
            }
            (None, None) => {
                return Err(Error::in_file(
                    file,
                    Some("code_configuration"),
                    "is missing, and there is no model to score without it",
                    "give `code_configuration` (`code` and `scoring_script`), or an MLflow `model`",
                ));
            }
        };
        // Built now, as Azure ML builds a deployment's image: a broken environment fails
        // `apply`, not the first invocation. Cached by content, so invocations reuse it.
        let mut cancel = Cancellation::install()?;
        environment::ensure(&env_plan, &mut cancel, options.stream_logs, self.settings()).await?;

        let _lock = self.batch_lock(endpoint).await?;
        let code_digest = match &code_dir {
            Some(code_dir) => aml_core::tree::hash_files(aml_core::tree::snapshot_files(code_dir)?)?.digest(),
            None => Digest::of_bytes(MLFLOW_SCORING_SCRIPT.as_bytes()),
        };
        let fingerprint = Digest::of_bytes(
            encode(&serde_json::json!({
                "spec": spec,
                "model": model.as_ref().map(|m| m.digest),
                "code": code_digest,
                "environment": env_plan,
                "settings": settings,
            }))?
            .as_bytes(),
        );
        let previous = self.batch_deployment_records(endpoint)?.into_iter().find(|d| d.name == spec.name.as_str());
        let unchanged = previous.as_ref().is_some_and(|p| {
            p.fingerprint == fingerprint && matches!(&p.runs, BatchRuns::Model { dir, .. } if dir.is_dir())
        });
        if !unchanged {
            let revision = self.batch_deployment_dir(endpoint, &spec.name).join(&fingerprint.hex()[..12]);
            if !revision.join("code").is_dir() {
                let staging = revision.with_extension("partial");
                let _ = fs::remove_dir_all(&staging);
                fs::create_dir_all(staging.join("model")).with_path("cannot create", &staging)?;
                match &code_dir {
                    Some(code_dir) => {
                        crate::runner::snapshot(code_dir, &staging.join("code"))?;
                    }
                    None => {
                        fs::create_dir_all(staging.join("code")).with_path("cannot create", &staging)?;
                        let script = staging.join("code").join(MLFLOW_SCORING_SCRIPT_NAME);
                        fs::write(&script, MLFLOW_SCORING_SCRIPT).with_path("cannot write", &script)?;
                    }
                }
                // The snapshot is what each job copies, whole: its ignore rules were applied
                // when it was taken, and the workspace folder's own `.gitignore` (everything)
                // must not apply to it. An empty `.amlignore` takes precedence over both.
                let ignore = staging.join("code").join(".amlignore");
                fs::write(&ignore, "").with_path("cannot write", &ignore)?;
                if let Some(model) = &model {
                    self.download_model(model, &staging.join("model"))?;
                }
                let _ = fs::remove_dir_all(&revision);
                fs::rename(&staging, &revision).with_path("cannot move into place", &revision)?;
            }
            let now = aml_core::time::now();
            let record = BatchDeploymentRecord {
                endpoint: endpoint.to_string(),
                name: spec.name.to_string(),
                file: file.to_path_buf(),
                model: model.as_ref().map(|m| m.id()),
                model_digest: model.as_ref().map(|m| m.digest),
                fingerprint,
                runs: BatchRuns::Model {
                    spec: spec.clone(),
                    dir: revision,
                    scoring_script,
                    environment: env_plan,
                    settings,
                },
                created_at: previous.as_ref().map(|p| p.created_at.clone()).unwrap_or_else(|| now.clone()),
                updated_at: now,
            };
            self.registry_ref().put_batch_deployment(endpoint, &spec.name, &encode(&record)?)?;
            // The revision replaced is not removed: a job may be running from it.
        }
        self.finish_batch_apply(endpoint, &spec.name, options, previous.is_some(), unchanged)
    }

    /// A deployment's record is in: make it the default if it is the first (or asked), and
    /// say what changed.
    fn finish_batch_apply(
        &mut self,
        endpoint: &str,
        deployment: &str,
        options: &DeployOptions,
        existed: bool,
        unchanged: bool,
    ) -> Result<(Endpoint, ApplyOutcome)> {
        let mut record = self.batch_endpoint_record(endpoint)?;
        let becomes_default = options.all_traffic || record.default_deployment.is_none();
        if becomes_default && record.default_deployment.as_deref() != Some(deployment) {
            aml_core::status!("deployment {deployment} is the default deployment of batch endpoint {endpoint}");
            record.default_deployment = Some(deployment.to_string());
            record.updated_at = aml_core::time::now();
            self.registry_ref().update_batch_endpoint(endpoint, &encode(&record)?)?;
        }
        let outcome = match (existed, unchanged) {
            (_, true) => ApplyOutcome::Unchanged,
            (true, false) => ApplyOutcome::Updated,
            (false, false) => ApplyOutcome::Created,
        };
        Ok((self.batch_endpoint(endpoint)?, outcome))
    }

    /// A pipeline-component deployment: its component file checked to be a pipeline the
    /// local runner can read, and recorded with its digest.
    async fn apply_pipeline_deployment(
        &mut self,
        file: &Path,
        spec: &PipelineBatchDeployment,
        options: &DeployOptions,
    ) -> Result<(Endpoint, ApplyOutcome)> {
        let component = match spec.component_ref() {
            ComponentRef::File(written) => aml_core::yaml::resolve_path(file, written),
            ComponentRef::Registered(written) => {
                return Err(Error::in_file(
                    file,
                    Some("component"),
                    format!(
                        "`{written}` names a component registered in Azure ML, which a local workspace does not fetch yet"
                    ),
                    "name the pipeline component's file (`component: ./pipeline.yml`)",
                ));
            }
            ComponentRef::Inline => {
                return Err(Error::in_file(
                    file,
                    Some("component"),
                    "is written inline, which a local workspace does not run yet",
                    "put the pipeline component in a file of its own and name it (`component: ./pipeline.yml`)",
                ));
            }
            ComponentRef::Missing => {
                return Err(Error::in_file(
                    file,
                    Some("component"),
                    "is missing",
                    "name the pipeline component's file (`component: ./pipeline.yml`)",
                ));
            }
        };
        let text = aml_core::yaml::read(&component).map_err(|e| {
            Error::in_file(file, Some("component"), e.to_string(), "name an existing pipeline component file")
        })?;
        aml_core::jobplan::batch::pipeline_invocation(&component, &spec.endpoint_name, &spec.name, spec, None)?;
        let component_digest = Digest::of_bytes(text.as_bytes());
        let endpoint = spec.endpoint_name.as_str();
        let _lock = self.batch_lock(&spec.endpoint_name).await?;
        let fingerprint = Digest::of_bytes(
            encode(&serde_json::json!({"spec": spec, "component": component, "digest": component_digest}))?.as_bytes(),
        );
        let previous = self.batch_deployment_records(endpoint)?.into_iter().find(|d| d.name == spec.name.as_str());
        let unchanged = previous.as_ref().is_some_and(|p| p.fingerprint == fingerprint);
        if !unchanged {
            let now = aml_core::time::now();
            let record = BatchDeploymentRecord {
                endpoint: endpoint.to_string(),
                name: spec.name.to_string(),
                file: file.to_path_buf(),
                model: None,
                model_digest: None,
                fingerprint,
                runs: BatchRuns::Pipeline { spec: Box::new(spec.clone()), component, component_digest },
                created_at: previous.as_ref().map(|p| p.created_at.clone()).unwrap_or_else(|| now.clone()),
                updated_at: now,
            };
            self.registry_ref().put_batch_deployment(endpoint, &spec.name, &encode(&record)?)?;
        }
        self.finish_batch_apply(endpoint, &spec.name, options, previous.is_some(), unchanged)
    }

    /// Forget a deployment and its revisions. The default deployment goes last: another
    /// must be made the default first, or the endpoint deleted.
    pub async fn delete_batch_deployment(&mut self, endpoint: &str, deployment: &str) -> Result<()> {
        let endpoint_name = EndpointName::new(endpoint)?;
        let deployment_name = DeploymentName::new(deployment)?;
        let _lock = self.batch_lock(&endpoint_name).await?;
        let record = self.batch_endpoint_record(endpoint)?;
        let deployments = self.batch_deployment_records(endpoint)?;
        if !deployments.iter().any(|d| d.name == deployment) {
            return Err(Error::usage(
                format!("batch endpoint `{endpoint}` has no deployment `{deployment}`"),
                "`aml-deploy show` lists them",
            ));
        }
        if record.default_deployment.as_deref() == Some(deployment) && deployments.len() > 1 {
            return Err(Error::usage(
                format!("deployment `{deployment}` is the default deployment of batch endpoint `{endpoint}`"),
                "make another the default first: `aml-deploy apply -f endpoint.yml --set defaults.deployment_name=OTHER`",
            ));
        }
        self.registry_ref().delete_batch_deployment(endpoint, deployment)?;
        if record.default_deployment.as_deref() == Some(deployment) {
            let mut record = record;
            record.default_deployment = None;
            record.updated_at = aml_core::time::now();
            self.registry_ref().update_batch_endpoint(endpoint, &encode(&record)?)?;
        }
        let _ = fs::remove_dir_all(self.batch_deployment_dir(&endpoint_name, &deployment_name));
        Ok(())
    }

    /// A completed job's output copied to a folder of the workspace's datastore
    /// (`invoke --output-path azureml://datastores/NAME/paths/PATH`), where later jobs and
    /// tools find it by that path. A job that did not complete has nothing to copy.
    pub fn copy_output_to(&self, job: &aml_core::jobs::Job, output: &str, datastore: &str, path: &str) -> Result<()> {
        if job.status != aml_core::jobs::JobStatus::Completed {
            return Ok(());
        }
        let Some(record) = job.outputs.get(output) else { return Ok(()) };
        let target = self.datastore_path(&aml_core::names::DatastoreName::new(datastore)?, path)?;
        for (relative, source) in aml_core::tree::list(Path::new(&record.path))? {
            let into = target.join(aml_core::names::relative_path(&relative)?);
            if let Some(parent) = into.parent() {
                fs::create_dir_all(parent).with_path("cannot create", parent)?;
            }
            fs::copy(&source, &into).with_path("cannot copy the output to", &into)?;
        }
        aml_core::status!(
            "output {output} of job {} copied to azureml://datastores/{datastore}/paths/{path}",
            job.name
        );
        Ok(())
    }

    pub async fn delete_batch_endpoint(&mut self, name: &str) -> Result<()> {
        let endpoint = EndpointName::new(name)?;
        let _lock = self.batch_lock(&endpoint).await?;
        self.batch_endpoint_record(name)?;
        self.registry_ref().delete_batch_endpoint(name)?;
        let _ = fs::remove_dir_all(self.batch_endpoints_dir().join(&endpoint));
        Ok(())
    }

    /// What invoking the endpoint runs: its deployment (the one named, else the default)
    /// over the input, with the invocation's settings over the deployment's.
    pub fn batch_invocation(
        &self,
        endpoint: &str,
        deployment: Option<&str>,
        input: InputPlan,
        sets: &[(String, String)],
    ) -> Result<BatchInvocationPlan> {
        let record = self.batch_endpoint_record(endpoint)?;
        let deployments = self.batch_deployment_records(endpoint)?;
        let wanted = match deployment.or(record.default_deployment.as_deref()) {
            Some(name) => name,
            None => {
                return Err(Error::usage(
                    format!("batch endpoint `{endpoint}` has no default deployment"),
                    "name one with `--deployment`, or apply a deployment (the first becomes the default)",
                ));
            }
        };
        let chosen = deployments.into_iter().find(|d| d.name == wanted).ok_or_else(|| {
            Error::usage(
                format!("batch endpoint `{endpoint}` has no deployment `{wanted}`"),
                "`aml-deploy show ENDPOINT` lists its deployments",
            )
        })?;
        match &chosen.runs {
            BatchRuns::Model { dir, scoring_script, environment, settings, .. } => {
                let mut settings = settings.clone();
                for (name, value) in sets {
                    settings.set(name, value)?;
                }
                Ok(BatchInvocationPlan::Ready(Box::new(scoring_plan(ScoringJob {
                    file: chosen.file.clone(),
                    endpoint: chosen.endpoint.clone(),
                    deployment: chosen.name.clone(),
                    code: dir.join("code"),
                    scoring_script: scoring_script.clone(),
                    environment: environment.clone(),
                    model_dir: chosen.model.is_some().then(|| dir.join("model")),
                    input,
                    settings,
                }))))
            }
            BatchRuns::Pipeline { spec, component, component_digest } => {
                if let Some((name, _)) = sets.first() {
                    return Err(Error::usage(
                        format!("`--set {name}`: a pipeline-component deployment has no run settings to change"),
                        "leave `--set` out; the pipeline's own inputs and settings apply",
                    ));
                }
                let now = aml_core::yaml::read(component).map(|text| Digest::of_bytes(text.as_bytes()));
                if now.ok().as_ref() != Some(component_digest) {
                    return Err(Error::usage(
                        format!(
                            "the pipeline component `{}` of deployment `{}` changed (or went) since it was applied",
                            component.display(),
                            chosen.name
                        ),
                        format!("apply the deployment again: `aml-deploy apply -f {}`", chosen.file.display()),
                    ));
                }
                let InputPlan::Data { kind, written, source } = &input else {
                    return Err(Error::usage("--input names no data", "give a folder or a file"));
                };
                let path = match source {
                    aml_core::jobplan::DataSource::Path(path) if !written.contains("://") => path.display().to_string(),
                    _ => written.clone(),
                };
                let text = aml_core::jobplan::batch::pipeline_invocation(
                    component,
                    &chosen.endpoint,
                    &chosen.name,
                    spec,
                    Some((&path, *kind)),
                )?;
                Ok(BatchInvocationPlan::Pipeline { file: chosen.file.clone(), text })
            }
        }
    }
}

/// An invocation as the runner takes it: planned already (a model deployment), or a
/// pipeline job's text still to plan against the workspace (a pipeline-component one).
pub enum BatchInvocationPlan {
    Ready(Box<Plan>),
    Pipeline { file: PathBuf, text: String },
}
