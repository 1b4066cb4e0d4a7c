//! The `Workspace` seam: every tool talks to a workspace through this type, whatever the
//! backend. Locations are written as `az ml` users know them; the azure backend slots in
//! as a second variant with the same operations (ARM: jobs, models, code, environments).

use std::path::PathBuf;

use aml_azure::AzureWorkspace;
use aml_core::approvals::{ApprovalRequest, ApprovalState, AuditEntry, Decided, NewAuditEntry};
use aml_core::error::{Error, Result};
use aml_core::jobplan::DataResolver;
use aml_core::location::{Access, WorkspaceLocation};
use aml_core::names::{DatastoreName, JobName, NameKind};
use aml_core::settings::Settings;
use aml_local::LocalWorkspace;

pub enum Workspace {
    Local(Box<LocalWorkspace>),
    Azure(Box<AzureWorkspace>),
}

/// What an Azure workspace cannot do yet in this build: bad input, since the user can pick
/// a local workspace, and the message says so.
fn not_on_azure(what: &str) -> Error {
    Error::usage(
        format!("{what} is not available on an Azure ML workspace in this build"),
        "models, command jobs and online endpoints work on Azure; run this step with `--workspace local` for now",
    )
}

impl Workspace {
    pub async fn open(location: &str, access: Access, settings: &Settings) -> Result<Workspace> {
        match location.parse::<WorkspaceLocation>()? {
            WorkspaceLocation::Local(dir) => {
                Ok(Workspace::Local(Box::new(LocalWorkspace::open(&dir, access, settings)?)))
            }
            WorkspaceLocation::Azure { subscription, resource_group, workspace } => Ok(Workspace::Azure(Box::new(
                AzureWorkspace::open(&subscription, &resource_group, &workspace, settings).await?,
            ))),
        }
    }

    /// The workspace if it exists; `None` for a local one not created yet. Lets writing
    /// commands check all their input before they create anything.
    pub async fn open_if_exists(location: &str, settings: &Settings) -> Result<Option<Workspace>> {
        if let WorkspaceLocation::Local(dir) = location.parse::<WorkspaceLocation>()?
            && !LocalWorkspace::exists(&dir)
        {
            return Ok(None);
        }
        Workspace::open(location, Access::Existing, settings).await.map(Some)
    }

    /// Refuse, before anything is written, a plan the local backend cannot run on this
    /// machine: what only Azure ML runs, and an environment built for a Python not here.
    pub fn check_runs_here(plan: &aml_core::jobplan::Plan, settings: &Settings) -> Result<()> {
        plan.check_runs_locally()?;
        aml_local::runner::environment::check_interpreters(plan, settings)
    }

    /// The error reading commands give when the workspace does not exist.
    pub fn missing(location: &str) -> Error {
        match location.parse::<WorkspaceLocation>() {
            Ok(WorkspaceLocation::Local(dir)) => LocalWorkspace::missing(&dir),
            Ok(other) => Error::usage(format!("workspace `{other}` does not exist"), "check `--workspace`"),
            Err(e) => e,
        }
    }

    pub fn location(&self) -> String {
        match self {
            Workspace::Local(local) => format!("local:{}", local.root().display()),
            Workspace::Azure(azure) => azure.location(),
        }
    }
}

use std::collections::BTreeMap;
use std::path::Path;

use aml_core::jobplan::Plan;
use aml_core::jobs::Job;
use aml_core::jobs::{RunOptions, RunResult};
use aml_core::model::{ModelVersion, NewModelVersion, Registered};
pub use aml_core::online::DeployOptions;
use aml_core::online::{ApplyOutcome, Endpoint, EndpointAccess, TrafficChange, TrafficOutcome};
use aml_core::refs::ModelRef;
use aml_core::yaml::deploy_file::OnlineSpec;
use aml_core::yaml::job::LoadedJob;
use aml_databricks::Compute;

/// The operations tools use; each backend implements them.
impl Workspace {
    pub async fn register_model(&mut self, new: &NewModelVersion) -> Result<Registered> {
        match self {
            Workspace::Local(ws) => ws.register_model(new),
            Workspace::Azure(ws) => ws.register_model(new).await,
        }
    }

    pub async fn model_version(&self, reference: &ModelRef) -> Result<ModelVersion> {
        match self {
            Workspace::Local(ws) => ws.model_version(reference),
            Workspace::Azure(ws) => ws.model_version(reference).await,
        }
    }

    pub async fn list_versions(&self, name: &str, limit: Option<u64>) -> Result<(Vec<ModelVersion>, u64)> {
        match self {
            Workspace::Local(ws) => ws.list_versions(name, limit),
            Workspace::Azure(ws) => ws.list_versions(name, limit).await,
        }
    }

    pub async fn list_models(&self) -> Result<Vec<ModelVersion>> {
        match self {
            Workspace::Local(ws) => ws.list_models(),
            Workspace::Azure(ws) => ws.list_models().await,
        }
    }

    pub async fn update_tags(
        &mut self,
        version: &ModelVersion,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<ModelVersion> {
        match self {
            Workspace::Local(ws) => ws.update_tags(version, set, remove),
            Workspace::Azure(ws) => ws.update_tags(version, set, remove).await,
        }
    }

    pub async fn download_model(&self, version: &ModelVersion, dir: &Path) -> Result<Vec<PathBuf>> {
        match self {
            Workspace::Local(ws) => ws.download_model(version, dir),
            Workspace::Azure(ws) => ws.download_model(version, dir).await,
        }
    }

    /// A version's files as local paths (downloaded first on remote backends).
    pub async fn model_files(&self, version: &ModelVersion) -> Result<Vec<(String, PathBuf)>> {
        match self {
            Workspace::Local(ws) => ws.model_files(version),
            Workspace::Azure(ws) => ws.model_files(version).await,
        }
    }

    pub async fn set_model_properties(&mut self, version: &ModelVersion, set: &BTreeMap<String, String>) -> Result<()> {
        match self {
            Workspace::Local(ws) => ws.registry().update_properties(&version.name, &version.version, set),
            Workspace::Azure(ws) => ws.set_model_properties(version, set).await,
        }
    }

    /// Check a job file against this workspace (paths, references, bindings) without running it.
    pub async fn plan_job(&self, job: &LoadedJob) -> Result<Plan> {
        match self {
            Workspace::Local(_) | Workspace::Azure(_) => aml_core::jobplan::plan(job, Some(self)).await,
        }
    }

    /// Run a planned job; `compute` runs its command steps on Azure Databricks instead of here.
    pub async fn run_job(
        &mut self,
        job: &LoadedJob,
        plan: &Plan,
        options: &RunOptions,
        compute: Option<&Compute>,
    ) -> Result<RunResult> {
        if compute.is_some() && self.is_remote() {
            return Err(Error::usage(
                "--compute databricks:… runs jobs recorded in a local workspace; Azure ML does not run command jobs on Databricks",
                "run with a local `--workspace` and register the output with `aml-register model --job JOB`, then `aml-register promote --to azureml://…`",
            ));
        }
        match self {
            Workspace::Local(ws) => {
                aml_local::runner::run(ws, plan, options, compute.map(|c| c as &dyn aml_local::runner::RemoteCompute))
                    .await
            }
            Workspace::Azure(ws) => ws.run_job(job, plan, options).await,
        }
    }

    /// Cancel a running job and return it once it has ended.
    pub async fn cancel_job(&self, name: &str) -> Result<Job> {
        NameKind::Job.usage(name)?;
        match self {
            Workspace::Local(ws) => ws.cancel_job(name),
            Workspace::Azure(ws) => ws.cancel_job(name).await,
        }
    }

    pub async fn job(&self, name: &str) -> Result<Job> {
        NameKind::Job.usage(name)?;
        match self {
            Workspace::Local(ws) => ws.job(name),
            Workspace::Azure(ws) => ws.job(name).await,
        }
    }

    pub async fn job_steps(&self, name: &str) -> Result<Vec<Job>> {
        NameKind::Job.usage(name)?;
        match self {
            Workspace::Local(ws) => ws.job_steps(name),
            Workspace::Azure(ws) => ws.job_steps(name).await,
        }
    }

    pub async fn job_metrics(&self, job: &Job) -> Result<BTreeMap<String, f64>> {
        match self {
            Workspace::Local(ws) => ws.job_metrics(job),
            Workspace::Azure(ws) => ws.job_metrics(job).await,
        }
    }

    pub async fn job_params(&self, job: &Job) -> Result<BTreeMap<String, String>> {
        match self {
            Workspace::Local(ws) => ws.job_params(job),
            Workspace::Azure(ws) => ws.job_params(job).await,
        }
    }

    /// A job as the tools print it: its metrics, params, log and steps read from this workspace.
    pub async fn job_view(&self, job: &Job) -> Result<aml_core::job_view::JobView> {
        use aml_core::job_view::{JobView, StepView};
        let mut steps = Vec::new();
        for step in self.job_steps(&job.name).await? {
            steps.push(StepView::new(&step, self.job_metrics(&step).await?, self.job_log(&step.name)));
        }
        let log = if job.kind != "pipeline" { Some(self.job_log(&job.name)) } else { None };
        Ok(JobView::new(job, self.job_metrics(job).await?, self.job_params(job).await?, log, steps))
    }

    /// Where a job's log is kept: a file here, or a location in the workspace.
    pub fn job_log(&self, name: &JobName) -> String {
        match self {
            Workspace::Local(ws) => ws.job_log(name).display().to_string(),
            Workspace::Azure(ws) => ws.job_log_location(name),
        }
    }

    /// A job's log: where it is, and its text (empty when it has none yet).
    pub async fn job_log_text(&self, name: &str) -> Result<(String, String)> {
        let name = JobName::new(name)?;
        match self {
            Workspace::Local(ws) => {
                let path = ws.job_log(&name);
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                Ok((path.display().to_string(), text))
            }
            Workspace::Azure(ws) => ws.job_log_text(&name).await,
        }
    }

    /// Whether the workspace is remote: data references are resolved by the service, not here.
    pub fn is_remote(&self) -> bool {
        matches!(self, Workspace::Azure(_))
    }

    /// Where `azureml://datastores/<datastore>/paths/<path>` is.
    pub async fn datastore_path(&self, datastore: &str, path: &str) -> Result<PathBuf> {
        let datastore = DatastoreName::new(datastore)?;
        match self {
            Workspace::Local(ws) => ws.datastore_path(&datastore, path),
            Workspace::Azure(_) => Err(not_on_azure("a datastore path as a local file")),
        }
    }

    pub async fn apply_online(
        &mut self,
        spec: &OnlineSpec,
        options: &DeployOptions,
    ) -> Result<(Endpoint, ApplyOutcome)> {
        match self {
            Workspace::Local(ws) => match spec {
                OnlineSpec::Endpoint { spec, .. } => ws.apply_endpoint(spec).await,
                OnlineSpec::Deployment { file, spec } => ws.apply_deployment(file, spec, options).await,
                OnlineSpec::BatchEndpoint { file, spec } => ws.apply_batch_endpoint(file, spec).await,
                OnlineSpec::BatchDeployment { file, spec } => ws.apply_batch_deployment(file, spec, options).await,
            },
            Workspace::Azure(ws) => match spec {
                OnlineSpec::Endpoint { spec, .. } => ws.apply_endpoint(spec).await,
                OnlineSpec::Deployment { file, spec } => ws.apply_deployment(file, spec, options).await,
                OnlineSpec::BatchEndpoint { file, spec } => ws.apply_batch_endpoint(file, spec).await,
                OnlineSpec::BatchDeployment { file, spec } => ws.apply_batch_deployment(file, spec, options).await,
            },
        }
    }

    /// Refuse an online-only command on a batch endpoint, saying what it is.
    fn online_only(&self, name: &str) -> Result<()> {
        match self {
            Workspace::Local(ws) if ws.is_batch_endpoint(name)? => Err(aml_core::online::not_online(name)),
            Workspace::Local(_) | Workspace::Azure(_) => Ok(()),
        }
    }

    /// Start a batch endpoint's scoring job over `input` and follow it to its end: the
    /// deployment named, else the endpoint's default, with `sets` over its settings.
    pub async fn invoke_batch(
        &mut self,
        invocation: &aml_core::online::BatchInvocation,
        options: &RunOptions,
    ) -> Result<RunResult> {
        NameKind::Endpoint.usage(&invocation.endpoint)?;
        if let Some(deployment) = &invocation.deployment {
            NameKind::Deployment.usage(deployment)?;
        }
        let input =
            aml_core::jobplan::batch::invocation_input(&invocation.input, invocation.input_type, &*self).await?;
        let local_plan = match &*self {
            Workspace::Azure(_) => None,
            Workspace::Local(ws) => Some(
                match ws.batch_invocation(
                    &invocation.endpoint,
                    invocation.deployment.as_deref(),
                    input.clone(),
                    &invocation.sets,
                )? {
                    aml_local::batch::BatchInvocationPlan::Ready(plan) => *plan,
                    // A pipeline-component deployment's job is planned as any pipeline job.
                    aml_local::batch::BatchInvocationPlan::Pipeline { file, text } => {
                        let loaded = aml_core::yaml::job::load_job_text(&file, &text, &[])?;
                        let plan = aml_core::jobplan::plan(&loaded, Some(&*self)).await?;
                        Workspace::check_runs_here(&plan, ws.settings())?;
                        plan
                    }
                },
            ),
        };
        match (self, local_plan) {
            (Workspace::Local(ws), Some(plan)) => {
                let result = aml_local::runner::run(ws, &plan, options, None).await?;
                if let Some((datastore, path)) = &invocation.output_path {
                    // A model deployment's `score`, or a pipeline's one output.
                    let outputs: Vec<&String> = result.job.outputs.keys().collect();
                    let output = match outputs.as_slice() {
                        [only] => only.as_str(),
                        _ => aml_core::jobplan::batch::SCORE_OUTPUT,
                    };
                    ws.copy_output_to(&result.job, output, datastore, path)?;
                }
                Ok(result)
            }
            (Workspace::Azure(ws), _) => ws.invoke_batch(invocation, &input, options).await,
            (Workspace::Local(_), None) => Err(Error::usage("the local workspace planned no job", "")),
        }
    }

    /// An endpoint as it is now (on the local backend, its router is started again if it stopped).
    pub async fn endpoint(&mut self, name: &str) -> Result<Endpoint> {
        NameKind::Endpoint.usage(name)?;
        match self {
            Workspace::Local(ws) if ws.is_batch_endpoint(name)? => ws.batch_endpoint(name),
            Workspace::Local(ws) => ws.endpoint(name).await,
            // Online first: a batch endpoint is looked for only when there is no online one.
            Workspace::Azure(ws) => match ws.endpoint(name).await {
                Err(Error::BadInput(_)) if ws.is_batch_endpoint(name).await? => ws.batch_endpoint(name).await,
                other => other,
            },
        }
    }

    pub async fn endpoints(&self) -> Result<Vec<Endpoint>> {
        match self {
            Workspace::Local(ws) => {
                let mut all = ws.endpoints()?;
                all.extend(ws.batch_endpoints()?);
                all.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(all)
            }
            Workspace::Azure(ws) => {
                let mut all = ws.endpoints().await?;
                all.extend(ws.batch_endpoints().await?);
                all.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(all)
            }
        }
    }

    /// The scoring URI and key of an endpoint. The key is a secret.
    pub async fn endpoint_access(&mut self, name: &str) -> Result<EndpointAccess> {
        NameKind::Endpoint.usage(name)?;
        self.online_only(name)?;
        match self {
            Workspace::Local(ws) => ws.endpoint_access(name).await,
            Workspace::Azure(ws) => ws.endpoint_access(name).await,
        }
    }

    /// The process serving a deployment on this machine, for measuring what it uses: its
    /// name and its server's pid (which leads the session of every process serving it). Only
    /// a local workspace serves here; Azure ML's deployments give `None`.
    pub fn deployment_server(&self, endpoint: &str, deployment: Option<&str>) -> Result<Option<(String, u32)>> {
        NameKind::Endpoint.usage(endpoint)?;
        self.online_only(endpoint)?;
        match self {
            Workspace::Local(ws) => ws.deployment_server(endpoint, deployment),
            Workspace::Azure(_) => Ok(None),
        }
    }

    /// Per-deployment request metrics of an endpoint over the last `window`.
    pub async fn endpoint_metrics(
        &self,
        endpoint: &str,
        deployment: Option<&str>,
        window: std::time::Duration,
    ) -> Result<aml_core::requests::EndpointMetrics> {
        NameKind::Endpoint.usage(endpoint)?;
        self.online_only(endpoint)?;
        match self {
            Workspace::Local(_) => {
                let (span, records) = self.endpoint_requests(endpoint, deployment, window).await?;
                Ok(aml_core::requests::metrics(endpoint, &records, span, deployment))
            }
            Workspace::Azure(ws) => {
                ws.endpoint_metrics(endpoint, deployment, aml_core::time::window_ending_now(window)).await
            }
        }
    }

    /// The records of the requests an endpoint answered over the last `window`, and the
    /// window (since, until, in milliseconds).
    pub async fn endpoint_requests(
        &self,
        endpoint: &str,
        deployment: Option<&str>,
        window: std::time::Duration,
    ) -> Result<((i64, i64), Vec<aml_core::requests::RequestRecord>)> {
        NameKind::Endpoint.usage(endpoint)?;
        self.online_only(endpoint)?;
        match self {
            Workspace::Local(ws) => ws.endpoint_requests(endpoint, deployment, window),
            Workspace::Azure(_) => Err(Error::usage(
                "an Azure ML endpoint keeps no record of each request; its metrics come from Azure Monitor, per minute",
                "drop `--plot` for the figures, or see them over time in the Azure portal (Monitoring → Metrics)",
            )),
        }
    }

    pub async fn set_traffic(
        &mut self,
        name: &str,
        traffic: Option<BTreeMap<String, u32>>,
        mirror: Option<BTreeMap<String, u32>>,
        by: Option<String>,
    ) -> Result<Endpoint> {
        self.online_only(name)?;
        match self.change_traffic(name, TrafficChange { traffic, mirror, by, ..TrafficChange::default() }).await? {
            TrafficOutcome::Changed(endpoint) | TrafficOutcome::NotAsExpected(endpoint) => Ok(endpoint),
        }
    }

    /// A traffic change that is not made when the endpoint's split is not the one expected
    /// (someone else changed it).
    pub async fn change_traffic(&mut self, name: &str, change: TrafficChange) -> Result<TrafficOutcome> {
        NameKind::Endpoint.usage(name)?;
        self.online_only(name)?;
        for deployment in change.traffic.iter().chain(change.mirror.iter()).flat_map(|split| split.keys()) {
            NameKind::Deployment.usage(deployment)?;
        }
        match self {
            Workspace::Local(ws) => ws.change_traffic(name, change).await,
            Workspace::Azure(ws) => ws.change_traffic(name, change).await,
        }
    }

    /// What a deployment's data collection holds (`data_collector`) from `window` ago on,
    /// oldest first: the local workspace's files, or those in Azure ML's blob store.
    pub async fn collected(
        &self,
        endpoint: &str,
        deployment: &str,
        collection: &str,
        window: std::time::Duration,
    ) -> Result<Vec<aml_core::collected::CollectedLine>> {
        NameKind::Endpoint.usage(endpoint)?;
        self.online_only(endpoint)?;
        NameKind::Deployment.usage(deployment)?;
        match self {
            Workspace::Local(ws) => ws.collected(endpoint, deployment, collection, window),
            Workspace::Azure(ws) => {
                let since = aml_core::time::window_ending_now(window).0 / 1000;
                ws.collected(endpoint, deployment, collection, since).await
            }
        }
    }

    /// Where a deployment's log is, and its text (its last `tail` lines when given).
    pub async fn deployment_log(
        &self,
        endpoint: &str,
        deployment: &str,
        tail: Option<usize>,
    ) -> Result<(String, String)> {
        NameKind::Endpoint.usage(endpoint)?;
        self.online_only(endpoint)?;
        NameKind::Deployment.usage(deployment)?;
        match self {
            Workspace::Local(ws) => ws.deployment_log(endpoint, deployment, tail),
            Workspace::Azure(ws) => ws.deployment_log(endpoint, deployment, tail).await,
        }
    }

    pub async fn delete_endpoint(&mut self, name: &str) -> Result<()> {
        NameKind::Endpoint.usage(name)?;
        match self {
            Workspace::Local(ws) if ws.is_batch_endpoint(name)? => ws.delete_batch_endpoint(name).await,
            Workspace::Local(ws) => ws.delete_endpoint(name).await,
            Workspace::Azure(ws) => match ws.delete_endpoint(name).await {
                Err(Error::BadInput(_)) if ws.is_batch_endpoint(name).await? => ws.delete_batch_endpoint(name).await,
                other => other,
            },
        }
    }

    pub async fn delete_deployment(&mut self, endpoint: &str, deployment: &str) -> Result<()> {
        NameKind::Endpoint.usage(endpoint)?;
        NameKind::Deployment.usage(deployment)?;
        match self {
            Workspace::Local(ws) if ws.is_batch_endpoint(endpoint)? => {
                ws.delete_batch_deployment(endpoint, deployment).await
            }
            Workspace::Local(ws) => ws.delete_deployment(endpoint, deployment).await,
            Workspace::Azure(ws) => match ws.delete_deployment(endpoint, deployment).await {
                Err(Error::BadInput(_)) if ws.is_batch_endpoint(endpoint).await? => {
                    ws.delete_batch_deployment(endpoint, deployment).await
                }
                other => other,
            },
        }
    }

    /// Run an endpoint's router in this process until the endpoint is deleted (local backend).
    pub async fn serve_endpoint(&self, name: &str) -> Result<()> {
        NameKind::Endpoint.usage(name)?;
        match self {
            Workspace::Local(ws) => {
                aml_local::online::router::serve(ws.root().to_path_buf(), name.to_string(), ws.settings()).await
            }
            Workspace::Azure(_) => Err(not_on_azure("`serve endpoint`")),
        }
    }

    /// A job output as a local path (downloaded first on remote backends).
    pub async fn job_output_path(&self, job: &str, output: &str) -> Result<PathBuf> {
        NameKind::Job.usage(job)?;
        NameKind::Output.usage(output)?;
        match self {
            Workspace::Local(ws) => ws.job_output_path(job, output),
            Workspace::Azure(ws) => ws.job_output_path(job, output).await,
        }
    }

    /// The version a reference names, or `None` when a query (`@latest`, `@stage=…`) matches
    /// nothing; an exact version that does not exist is still an error.
    pub async fn find_model_version(&self, reference: &ModelRef) -> Result<Option<ModelVersion>> {
        match self {
            Workspace::Local(ws) => match &reference.selector {
                aml_core::model::VersionSelector::Exact(_) => ws.model_version(reference).map(Some),
                selector => ws.registry_ref().model_version(&reference.name, selector),
            },
            Workspace::Azure(ws) => ws.find_model_version(reference).await,
        }
    }

    /// Append to the audit trail; `tags` are set on the entry's model version in the same
    /// transaction.
    pub async fn record_audit(&mut self, entry: &NewAuditEntry, tags: &BTreeMap<String, String>) -> Result<AuditEntry> {
        match self {
            Workspace::Local(ws) => ws.registry().record_audit(entry, tags),
            Workspace::Azure(ws) => ws.record_audit(entry, tags).await,
        }
    }

    /// The audit entries about a model version (`name:version`) or a job, oldest first.
    pub async fn audit(&self, model: Option<&str>, job: Option<&str>) -> Result<Vec<AuditEntry>> {
        match self {
            Workspace::Local(ws) => ws.registry_ref().audit(model, job),
            Workspace::Azure(ws) => ws.audit(model, job).await,
        }
    }

    pub async fn request_approval(&mut self, request: &ApprovalRequest, entry: &NewAuditEntry) -> Result<()> {
        match self {
            Workspace::Local(ws) => ws.registry().insert_approval(request, entry),
            Workspace::Azure(ws) => ws.request_approval(request, entry).await,
        }
    }

    pub async fn approval(&self, id: &str) -> Result<ApprovalRequest> {
        check_approval_id(id)?;
        match self {
            Workspace::Local(ws) => ws.registry_ref().approval(id)?.ok_or_else(|| {
                Error::usage(
                    format!("no approval request `{id}` in this workspace"),
                    "`approval-gate list` shows the requests; check `--workspace`",
                )
            }),
            Workspace::Azure(ws) => ws.approval(id).await,
        }
    }

    pub async fn approvals(&self) -> Result<Vec<ApprovalRequest>> {
        match self {
            Workspace::Local(ws) => ws.registry_ref().approvals(),
            Workspace::Azure(ws) => ws.approvals().await,
        }
    }

    /// Close a pending request (approve, reject, expire); of racing callers one wins.
    pub async fn close_approval(
        &mut self,
        id: &str,
        state: ApprovalState,
        by: Option<&str>,
        comment: Option<&str>,
        entry: &NewAuditEntry,
        tags: &BTreeMap<String, String>,
    ) -> Result<Decided> {
        check_approval_id(id)?;
        match self {
            Workspace::Local(ws) => ws.registry().close_approval(id, state, by, comment, entry, tags),
            Workspace::Azure(ws) => ws.close_approval(id, state, by, comment, entry, tags).await,
        }
    }
}

#[async_trait::async_trait(?Send)]
impl DataResolver for Workspace {
    fn is_remote(&self) -> bool {
        Workspace::is_remote(self)
    }

    async fn job_output_path(&self, job: &str, output: &str) -> Result<PathBuf> {
        Workspace::job_output_path(self, job, output).await
    }

    async fn datastore_path(&self, datastore: &str, path: &str) -> Result<PathBuf> {
        Workspace::datastore_path(self, datastore, path).await
    }

    async fn model_path(&self, reference: &str) -> Result<PathBuf> {
        let parsed: ModelRef = reference.parse()?;
        match self {
            Workspace::Local(ws) => ws.model_folder(&ws.model_version(&parsed)?),
            Workspace::Azure(_) => Err(not_on_azure("a registered model as a local folder")),
        }
    }

    async fn environment(&self, reference: &str) -> Result<Option<aml_core::jobplan::EnvPlan>> {
        match self {
            Workspace::Local(ws) => {
                // A reference this workspace could not hold (`@label`) is simply not found here.
                let Ok((name, selector)) = aml_core::environments::parse_reference(reference) else { return Ok(None) };
                Ok(ws.registry_ref().environment_version(&name, &selector)?.map(|found| found.plan))
            }
            // Azure ML resolves its own references when the job starts.
            Workspace::Azure(_) => Ok(None),
        }
    }

    async fn component(&self, reference: &str) -> Result<Option<PathBuf>> {
        match self {
            Workspace::Local(ws) => {
                let Ok((name, selector)) = aml_core::components::parse_reference(reference) else { return Ok(None) };
                match ws.registry_ref().component_version(&name, &selector)? {
                    Some(found) => Ok(Some(ws.component_file(&found)?)),
                    None => Ok(None),
                }
            }
            Workspace::Azure(_) => Ok(None),
        }
    }

    async fn data_asset(&self, reference: &str) -> Result<Option<(aml_core::yaml::io::AssetType, String)>> {
        match self {
            Workspace::Local(ws) => {
                let Ok((name, selector)) = aml_core::data_assets::parse_reference(reference) else { return Ok(None) };
                match ws.registry_ref().data_version(&name, &selector)? {
                    Some(found) => Ok(Some((found.kind, ws.data_target(&found)?))),
                    None => Ok(None),
                }
            }
            Workspace::Azure(_) => Ok(None),
        }
    }
}

// Components.
impl Workspace {
    /// Register a command component file's component; `bool`: an existing version was returned.
    pub async fn register_component(
        &mut self,
        new: &aml_core::components::NewComponent,
    ) -> Result<(aml_core::components::ComponentVersion, bool)> {
        match self {
            Workspace::Local(ws) => ws.register_component(new),
            Workspace::Azure(ws) => ws.register_component(new).await,
        }
    }

    /// `NAME`, `NAME:V`, `NAME@latest` (with or without `azureml:`).
    pub async fn component_version(&self, reference: &str) -> Result<aml_core::components::ComponentVersion> {
        let (name, selector) = aml_core::components::parse_reference(reference)?;
        match self {
            Workspace::Local(ws) => ws.component_version(&name, &selector),
            Workspace::Azure(ws) => ws.component_version(&name, &selector).await,
        }
    }

    /// A version's frozen component file, laid out in this (local) workspace.
    pub fn component_file(&self, version: &aml_core::components::ComponentVersion) -> Result<PathBuf> {
        match self {
            Workspace::Local(ws) => ws.component_file(version),
            Workspace::Azure(_) => Err(not_on_azure("promoting a component from Azure ML")),
        }
    }

    /// A name's versions, newest first; without a name, the newest version of each.
    pub async fn component_versions(&self, name: Option<&str>) -> Result<Vec<aml_core::components::ComponentVersion>> {
        if let Some(name) = name {
            NameKind::Component.usage(name)?;
        }
        match self {
            Workspace::Local(ws) => ws.component_versions(name),
            Workspace::Azure(ws) => ws.component_versions(name).await,
        }
    }
}

// Data assets.
impl Workspace {
    /// Register a data asset file's asset; `bool`: an existing version was returned.
    pub async fn register_data(
        &mut self,
        new: &aml_core::data_assets::NewData,
    ) -> Result<(aml_core::data_assets::DataVersion, bool)> {
        match self {
            Workspace::Local(ws) => ws.register_data(new),
            Workspace::Azure(ws) => ws.register_data(new).await,
        }
    }

    /// `NAME`, `NAME:V`, `NAME@latest` (with or without `azureml:`).
    pub async fn data_version(&self, reference: &str) -> Result<aml_core::data_assets::DataVersion> {
        let (name, selector) = aml_core::data_assets::parse_reference(reference)?;
        match self {
            Workspace::Local(ws) => ws.data_version(&name, &selector),
            Workspace::Azure(ws) => ws.data_version(&name, &selector).await,
        }
    }

    /// What a version holds, as a registration elsewhere takes it: its copied files laid out
    /// in this (local) workspace, or the path elsewhere it names.
    pub fn data_content(
        &self,
        version: &aml_core::data_assets::DataVersion,
    ) -> Result<aml_core::data_assets::DataContent> {
        use aml_core::data_assets::DataContent;
        match (self, version.copied) {
            (_, None) => Ok(DataContent::Elsewhere(version.path.clone())),
            (Workspace::Local(ws), Some(_)) => Ok(DataContent::Local(ws.data_target(version)?.into())),
            (Workspace::Azure(_), Some(_)) => Err(not_on_azure("promoting a data asset's uploaded files")),
        }
    }

    /// A name's versions, newest first; without a name, the newest version of each.
    pub async fn data_versions(&self, name: Option<&str>) -> Result<Vec<aml_core::data_assets::DataVersion>> {
        if let Some(name) = name {
            NameKind::Data.usage(name)?;
        }
        match self {
            Workspace::Local(ws) => ws.data_versions(name),
            Workspace::Azure(ws) => ws.data_versions(name).await,
        }
    }
}

// Environments.
impl Workspace {
    /// Register an environment file's environment; `bool`: an existing version was returned.
    pub async fn register_environment(
        &mut self,
        new: &aml_core::environments::NewEnvironment,
    ) -> Result<(aml_core::environments::EnvironmentVersion, bool)> {
        match self {
            Workspace::Local(ws) => ws.register_environment(new),
            Workspace::Azure(ws) => ws.register_environment(new).await,
        }
    }

    /// `NAME`, `NAME:V`, `NAME@latest` (with or without `azureml:`).
    pub async fn environment_version(&self, reference: &str) -> Result<aml_core::environments::EnvironmentVersion> {
        let (name, selector) = aml_core::environments::parse_reference(reference)?;
        match self {
            Workspace::Local(ws) => ws.environment_version(&name, &selector),
            Workspace::Azure(ws) => ws.environment_version(&name, &selector).await,
        }
    }

    /// A name's versions, newest first; without a name, the newest version of each.
    pub async fn environment_versions(
        &self,
        name: Option<&str>,
    ) -> Result<Vec<aml_core::environments::EnvironmentVersion>> {
        if let Some(name) = name {
            NameKind::Environment.usage(name)?;
        }
        match self {
            Workspace::Local(ws) => ws.environment_versions(name),
            Workspace::Azure(ws) => ws.environment_versions(name).await,
        }
    }
}

/// An approval request's id as the tools make them (hex digits); it names a blob on Azure.
fn check_approval_id(id: &str) -> Result<()> {
    let valid = (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(Error::usage(
            format!("`{}` is not an approval request id", id.escape_debug()),
            "`approval-gate list` shows the requests and their ids",
        ))
    }
}
