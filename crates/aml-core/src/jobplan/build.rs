//! Planning command, pipeline and foreign jobs: the plan's types and the checks every kind
//! shares (inputs, code, environments, commands).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::registry_environments::Resolved;
use super::template::{self, Placeholder};
use crate::error::{Error, Result};
use crate::refs::DataRef;
use crate::yaml::component::{DeclaredType, load_step_component};
use crate::yaml::environment::{CondaDependency, CondaFile, CondaFileRef, EnvironmentRef, load_conda_file};
use crate::yaml::job::{
    AssetType, CommandJob, ForeignJob, JobInput, JobOutput, JobSpec, LoadedJob, PipelineJob, PipelineStep,
};
use crate::yaml::{OrderedMap, resolve_path};

/// What planning needs from the workspace the job will run on: whether references are
/// left to the service, and where a job output or a datastore path is. The seam that keeps
/// planning below the backends; the façade's `Workspace` implements it.
#[async_trait::async_trait(?Send)]
pub trait DataResolver {
    /// Remote workspaces resolve `azureml://` references themselves when the job starts.
    fn is_remote(&self) -> bool;
    /// A job output as a local path (downloaded first on remote backends).
    async fn job_output_path(&self, job: &str, output: &str) -> Result<PathBuf>;
    /// Where `azureml://datastores/<datastore>/paths/<path>` is on this machine.
    async fn datastore_path(&self, datastore: &str, path: &str) -> Result<PathBuf>;
    /// A registered model (`azureml:NAME:VERSION`, `azureml:NAME@latest`) as a folder of its
    /// files on this machine.
    async fn model_path(&self, reference: &str) -> Result<PathBuf>;
    /// An environment registered in this (local) workspace, `azureml:NAME@latest` or
    /// `azureml:NAME:V`, as it was frozen when registered; None if there is none.
    async fn environment(&self, reference: &str) -> Result<Option<EnvPlan>>;
    /// A data asset registered in this (local) workspace: its type and what an input naming
    /// it reads (a local path, or the path elsewhere it names); None if there is none.
    async fn data_asset(&self, reference: &str) -> Result<Option<(AssetType, String)>>;
    /// A command component registered in this (local) workspace: its frozen component file;
    /// None if there is none.
    async fn component(&self, reference: &str) -> Result<Option<PathBuf>>;
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub file: PathBuf,
    pub kind: &'static str,
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub experiment_name: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// The job's own inputs (a pipeline's top-level inputs).
    pub inputs: Vec<(String, InputPlan)>,
    /// A pipeline's declared outputs.
    pub outputs: Vec<PipelineOutput>,
    pub steps: Vec<StepPlan>,
    pub continue_on_step_failure: bool,
    /// Things worth telling the user that do not stop the run.
    pub warnings: Vec<String>,
    /// What keeps this valid file from running on some backend.
    pub blockers: Vec<Blocker>,
    /// A sweep's objective, policy and trial values; its `steps` are the trials.
    pub sweep: Option<SweepSettings>,
}

/// What the runner needs besides the trials: how to judge them and when to stop them.
#[derive(Debug, Clone)]
pub struct SweepSettings {
    pub primary_metric: String,
    pub goal: crate::yaml::sweep::Goal,
    pub policy: Option<crate::yaml::sweep::EarlyTermination>,
    /// Seconds for the whole sweep.
    pub timeout_seconds: Option<u64>,
    /// Each trial's values, by step name.
    pub trials: Vec<(String, BTreeMap<String, String>)>,
}

/// Part of a valid file that a backend cannot run: `validate` says it as a note, `run`
/// refuses it, naming the field, before anything is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocker {
    pub field: String,
    pub problem: String,
    pub hint: String,
    pub scope: Scope,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The local workspace cannot run it; Azure ML resolves it.
    Local,
    /// aml-train runs it on no backend yet; `az ml job create` submits it.
    Everywhere,
}

impl Blocker {
    fn local(field: impl Into<String>, problem: impl Into<String>, hint: impl Into<String>) -> Self {
        Blocker { field: field.into(), problem: problem.into(), hint: hint.into(), scope: Scope::Local }
    }

    pub(super) fn everywhere(file: &Path, field: impl Into<String>, problem: impl Into<String>) -> Self {
        Blocker {
            field: field.into(),
            problem: problem.into(),
            hint: format!("submit it to Azure ML with `az ml job create -f {}`", file.display()),
            scope: Scope::Everywhere,
        }
    }

    /// The refusal of a backend that cannot run it.
    pub fn refusal(&self, file: &Path, place: &str) -> Error {
        let hint = match self.scope {
            Scope::Local => format!("{}, or run on Azure ML (`--workspace azureml://…`), which resolves it", self.hint),
            Scope::Everywhere => self.hint.clone(),
        };
        Error::in_file(file, Some(&self.field), format!("{}; aml-train does not run it {place}", self.problem), hint)
    }

    /// How `validate` says it.
    pub fn note(&self) -> String {
        let place = match self.scope {
            Scope::Local => "not run here: Azure ML runs it (`--workspace azureml://…`)",
            Scope::Everywhere => "valid, but aml-train runs it on no backend yet",
        };
        format!("{}: {} ({place}; {})", self.field, self.problem, self.hint)
    }
}

/// A pipeline output and the step output (step, output) bound to it, if any.
#[derive(Debug, Clone)]
pub struct PipelineOutput {
    pub name: String,
    pub kind: AssetType,
    pub bound_to: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct StepPlan {
    /// The step's name in its pipeline; None for a command job.
    pub step: Option<String>,
    pub display_name: Option<String>,
    pub command: String,
    pub code: Option<PathBuf>,
    pub environment: EnvPlan,
    pub environment_variables: Vec<(String, String)>,
    pub inputs: Vec<(String, InputPlan)>,
    pub outputs: Vec<(String, AssetType)>,
    pub timeout_seconds: Option<u64>,
    pub depends_on: Vec<String>,
    /// A parallel step: its command runs the parallel driver (`jobplan::PARALLEL_DRIVER`),
    /// which the runner writes beside the job.
    pub parallel: bool,
    /// Its output `artifacts` was declared with nothing in it: Azure ML's default output, the
    /// folder holding what the step wrote to `./outputs` and its logs.
    pub default_artifacts: bool,
}

/// An inline step's outputs and their types; one bound to a pipeline output
/// (`${{parent.outputs.NAME}}`) has that output's type, as Azure ML gives it.
fn step_outputs(job: &PipelineJob, step: &PipelineStep) -> Vec<(String, AssetType)> {
    step.outputs
        .iter()
        .map(|(name, output)| {
            let kind = match output {
                JobOutput::Binding(text) => match template::whole_binding(text) {
                    Some(Placeholder::ParentOutput(parent)) => {
                        job.outputs.get(&parent).map_or(output.kind(), JobOutput::kind)
                    }
                    _ => output.kind(),
                },
                _ => output.kind(),
            };
            (name.clone(), kind)
        })
        .collect()
}

/// The name of a step's default output, as a pipeline binds it.
pub const DEFAULT_ARTIFACTS: &str = "artifacts";

/// Whether `outputs` declares the default artifacts output (`artifacts:` with no value).
fn declares_default_artifacts(outputs: &OrderedMap<JobOutput>) -> bool {
    matches!(outputs.get(DEFAULT_ARTIFACTS), Some(JobOutput::Default))
}

#[derive(Debug, Clone, PartialEq)]
pub enum InputPlan {
    Literal(String),
    Data {
        kind: AssetType,
        source: DataSource,
        written: String,
    },
    /// An optional input nobody gave.
    Absent,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    Path(PathBuf),
    StepOutput {
        step: String,
        output: String,
    },
    /// An `http(s)://` file the local runner fetches (once, into the workspace) before it runs.
    Remote(String),
}

/// Serializable: a batch deployment keeps the environment it was applied with.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum EnvPlan {
    /// Packages to install into a virtualenv, from a conda file or requirements.
    Packages {
        packages: Vec<String>,
        python: Option<String>,
        described_by: PathBuf,
        /// The environment was built for `python` alone (one of Azure ML's own): another
        /// Python is refused, where a user's conda file only gets a warning.
        #[serde(default)]
        python_required: bool,
    },
    /// Only an image was given; locally the base interpreter runs the job.
    BaseInterpreter { image: Option<String> },
    /// A registered environment (`azureml:NAME@latest`, `azureml:NAME:V`, a registry's
    /// `azureml://registries/…`) the local backend cannot build: Azure ML resolves it.
    Registered {
        reference: String,
        /// Why it cannot be built here, when more is known than that it is registered.
        #[serde(default)]
        why: Option<String>,
    },
    /// A build context with only a Dockerfile: it needs a container engine to build.
    DockerBuild { context: PathBuf },
}

impl EnvPlan {
    /// What keeps a backend from building this environment, if anything.
    pub fn blocker(&self, file: &Path, field: &str) -> Option<Blocker> {
        match self {
            EnvPlan::Registered { reference, why } => Some(Blocker::local(
                field,
                match why {
                    Some(why) => format!("`{reference}`: {why}"),
                    None => format!(
                        "`{reference}` is an environment registered in a workspace, and this local workspace has none by that name"
                    ),
                },
                "register it here with `aml-register environment -f env.yml`, or define it inline (`image:` and `conda_file:`)",
            )),
            EnvPlan::DockerBuild { context } => Some(Blocker::everywhere(
                file,
                format!("{field}.build.path"),
                format!(
                    "the build context `{}` has only a Dockerfile: locally there is no container engine to build it, and aml-train does not upload build contexts to Azure ML",
                    context.display()
                ),
            )),
            EnvPlan::Packages { .. } | EnvPlan::BaseInterpreter { .. } => None,
        }
    }
}

impl Plan {
    /// Refuse, as bad input naming the file and field, what only Azure ML can run: called
    /// before a local workspace is touched.
    pub fn check_runs_locally(&self) -> Result<()> {
        if let Some(blocker) = self.blockers.first() {
            return Err(blocker.refusal(&self.file, "locally"));
        }
        Ok(())
    }
}

impl Plan {
    /// Refuse what aml-train submits to no backend yet: called before a remote workspace is touched.
    pub fn check_submits(&self) -> Result<()> {
        match self.blockers.iter().find(|b| b.scope == Scope::Everywhere) {
            Some(blocker) => Err(blocker.refusal(&self.file, "on any backend yet")),
            None => Ok(()),
        }
    }

    pub fn step(&self, name: &str) -> Option<&StepPlan> {
        self.steps.iter().find(|s| s.step.as_deref() == Some(name))
    }
}

/// What planning learns besides the plan: warnings, and what keeps a backend from running it.
#[derive(Default)]
pub(super) struct Notes {
    pub(super) warnings: Vec<String>,
    pub(super) blockers: Vec<Blocker>,
}

/// A job of a type aml-train does not run: its inputs are judged as any job's, the rest is
/// Azure ML's to judge.
pub(super) async fn plan_foreign(
    file: &Path,
    job: &ForeignJob,
    ws: Option<&dyn DataResolver>,
    notes: &mut Notes,
) -> Result<Plan> {
    let mut inputs = Vec::new();
    for (name, input) in job.inputs.iter() {
        inputs.push((name.clone(), plan_input(file, &format!("inputs.{name}"), input, ws, notes).await?));
    }
    check_foreign_files(file, "", job)?;
    notes.blockers.push(Blocker::everywhere(file, "type", format!("`{}` jobs are Azure ML's", job.kind)));
    Ok(Plan {
        file: file.to_path_buf(),
        kind: crate::yaml::job::foreign_kind(&job.kind),
        name: job.name.clone(),
        display_name: job.display_name.clone(),
        experiment_name: job.experiment_name.clone(),
        tags: job.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        inputs,
        outputs: job
            .outputs
            .iter()
            .map(|(n, o)| PipelineOutput { name: n.clone(), kind: o.kind(), bound_to: None })
            .collect(),
        steps: Vec::new(),
        continue_on_step_failure: false,
        warnings: Vec::new(),
        blockers: Vec::new(),
        sweep: None,
    })
}

pub(super) async fn plan_command(
    file: &Path,
    job: &CommandJob,
    ws: Option<&dyn DataResolver>,
    notes: &mut Notes,
) -> Result<Plan> {
    let mut inputs = Vec::new();
    for (name, input) in job.inputs.iter() {
        inputs.push((name.clone(), plan_input(file, &format!("inputs.{name}"), input, ws, notes).await?));
    }
    let outputs: Vec<(String, AssetType)> = job.outputs.iter().map(|(n, o)| (n.clone(), o.kind())).collect();
    check_command(file, "command", &job.command, &inputs, &outputs)?;
    let environment = plan_environment(file, "environment", &job.environment, &mut notes.warnings)?;
    let environment = resolve_environment(file, "environment", environment, ws, notes).await?;
    let step = StepPlan {
        step: None,
        display_name: job.display_name.clone(),
        command: job.command.clone(),
        code: plan_code(file, "code", job.code.as_deref())?,
        environment,
        environment_variables: pairs(&job.environment_variables),
        inputs: inputs.clone(),
        outputs: outputs.clone(),
        timeout_seconds: job.limits.as_ref().and_then(|l| l.timeout),
        depends_on: Vec::new(),
        parallel: false,
        default_artifacts: declares_default_artifacts(&job.outputs),
    };
    Ok(Plan {
        file: file.to_path_buf(),
        kind: "command",
        name: job.name.clone(),
        display_name: job.display_name.clone(),
        experiment_name: job.experiment_name.clone(),
        tags: job.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        inputs,
        outputs: Vec::new(),
        steps: vec![step],
        continue_on_step_failure: false,
        warnings: Vec::new(),
        blockers: Vec::new(),
        sweep: None,
    })
}

pub(super) async fn plan_pipeline(
    file: &Path,
    job: &PipelineJob,
    ws: Option<&dyn DataResolver>,
    notes: &mut Notes,
) -> Result<Plan> {
    if let Some(component) = &job.component {
        if !job.jobs.is_empty() || !job.foreign_steps.is_empty() {
            return Err(Error::in_file(
                file,
                Some("component"),
                "sets both `component` and `jobs`",
                "a pipeline job either names a pipeline component or lists its steps under `jobs:`",
            ));
        }
        if component.starts_with("azureml:") {
            notes.blockers.push(Blocker::everywhere(
                file,
                "component",
                format!("`{component}` names a pipeline component registered in Azure ML, which aml-train does not fetch yet"),
            ));
        } else {
            check_exists(file, "component", component)?;
            // The component's steps with this job's inputs: planned as the pipeline they make.
            match crate::yaml::job::expand_pipeline_component(file, job, &resolve_path(file, component)) {
                Ok(LoadedJob { file: component_file, spec: JobSpec::Pipeline(expanded) }) => {
                    let mut plan = Box::pin(plan_pipeline(&component_file, &expanded, ws, notes)).await?;
                    plan.file = file.to_path_buf();
                    plan.name = job.name.clone().or(plan.name);
                    return Ok(plan);
                }
                Ok(_) => {}
                // Judged as Azure ML would judge the job; what keeps it from running here is said.
                Err(problem) => notes.blockers.push(Blocker::everywhere(
                    file,
                    "component",
                    format!("the pipeline component `{component}` cannot be run as a pipeline here: {problem}"),
                )),
            }
        }
    } else if job.jobs.is_empty() && job.foreign_steps.is_empty() {
        return Err(Error::in_file(
            file,
            Some("jobs"),
            "the pipeline has no steps",
            "add at least one step under `jobs:`",
        ));
    }
    // Steps whose outputs we cannot list (foreign types, registered components): bindings
    // to them are taken as written, as Azure ML will judge them.
    let mut open_steps: Vec<(String, &OrderedMap<JobOutput>)> = Vec::new();
    for (name, step) in job.foreign_steps.iter() {
        let field = format!("jobs.{name}");
        for (input, value) in step.inputs.iter() {
            // `{type, path: ${{parent.…}}}` binds as a bare `${{parent.…}}` does.
            let bound = matches!(value, JobInput::Asset(a) if a.path.as_deref().is_some_and(|p| p.contains("${{")));
            if !matches!(value, JobInput::Literal(_)) && !bound {
                plan_input(file, &format!("{field}.inputs.{input}"), value, ws, notes).await?;
            }
        }
        check_foreign_files(file, &format!("{field}."), step)?;
        notes.blockers.push(Blocker::everywhere(
            file,
            format!("{field}.type"),
            format!("step `{name}` has type `{}`, which Azure ML runs", step.kind),
        ));
        open_steps.push((name.clone(), &step.outputs));
    }
    let mut inputs = Vec::new();
    for (name, input) in job.inputs.iter() {
        inputs.push((name.clone(), plan_input(file, &format!("inputs.{name}"), input, ws, notes).await?));
    }

    // First pass: each step's command, environment and declared outputs.
    struct Draft<'a> {
        name: String,
        step: &'a PipelineStep,
        source: PathBuf,
        command: String,
        code: Option<PathBuf>,
        environment: EnvPlan,
        environment_variables: Vec<(String, String)>,
        declared_inputs: Option<OrderedMap<crate::yaml::component::InputDeclaration>>,
        outputs: Vec<(String, AssetType)>,
        timeout: Option<u64>,
        parallel: bool,
    }
    let mut drafts = Vec::new();
    for (name, step) in job.jobs.iter() {
        let field = format!("jobs.{name}");
        let parallel = step.kind.as_deref() == Some("parallel");
        if !parallel && let Some(extra) = step.parallel_fields().first() {
            return Err(Error::in_file(
                file,
                Some(&format!("{field}.{extra}")),
                "is a parallel step's field",
                "add `type: parallel` to the step, or remove the field",
            ));
        }
        if let Some(kind) = step.kind.as_deref()
            && kind != "command"
            && !parallel
        {
            return Err(Error::in_file(
                file,
                Some(&format!("{field}.type")),
                format!("unknown step type `{kind}`"),
                format!(
                    "use `command`, or a type Azure ML runs: pipeline, {}",
                    crate::yaml::job::AZURE_ONLY_JOB_TYPES.join(", ")
                ),
            ));
        }
        let draft = if parallel && step.component.is_none() {
            let planned = super::parallel::parallel_command(file, &field, step)?;
            for (where_, what) in planned.elsewhere {
                notes.blockers.push(Blocker::everywhere(file, where_, what));
            }
            let environment_field = format!("{field}.task.environment");
            Draft {
                name: name.clone(),
                step,
                source: file.to_path_buf(),
                command: planned.command,
                code: plan_code(file, &format!("{field}.task.code"), planned.code.as_deref())?,
                environment: plan_environment(file, &environment_field, &planned.environment, &mut notes.warnings)?,
                environment_variables: pairs(&step.environment_variables),
                declared_inputs: None,
                outputs: step_outputs(job, step),
                timeout: None,
                parallel: true,
            }
        } else if parallel {
            notes.blockers.push(Blocker::everywhere(
                file,
                format!("{field}.component"),
                "a parallel step made from a parallel component",
            ));
            open_steps.push((name.clone(), &step.outputs));
            continue;
        } else if let Some(component) = &step.component {
            if step.command.is_some() || step.code.is_some() || step.environment.is_some() {
                return Err(Error::in_file(
                    file,
                    Some(&field),
                    "sets both `component` and `command`/`code`/`environment`",
                    "keep the command in the component file, or write the step inline without `component`",
                ));
            }
            let remote = ws.is_some_and(|ws| ws.is_remote());
            if component.starts_with("azureml:") && remote {
                // Azure ML runs the registered component it names; its interface is checked there.
                open_steps.push((name.clone(), &step.outputs));
                continue;
            }
            let registered = match ws {
                Some(ws) if component.starts_with("azureml:") => ws.component(component).await?,
                _ => None,
            };
            let path = match registered {
                Some(frozen) => {
                    notes.warnings.push(format!("{field}.component: `{component}` is this workspace's component"));
                    frozen
                }
                None if component.starts_with("azureml://registries/") => {
                    notes.blockers.push(Blocker::local(
                        format!("{field}.component"),
                        format!("`{component}` is a component in an Azure ML registry, which a local workspace does not fetch"),
                        "run the pipeline on Azure ML (`--workspace azureml://…`), which resolves it",
                    ));
                    open_steps.push((name.clone(), &step.outputs));
                    continue;
                }
                None if component.starts_with("azureml:") => {
                    notes.blockers.push(Blocker::local(
                        format!("{field}.component"),
                        format!("`{component}` names a registered component, which this local workspace does not have"),
                        format!(
                            "register it here with `aml-register component -f component.yml`, or run the pipeline on the Azure ML workspace that has it (`aml-train run {} --workspace azureml://…`)",
                            file.display()
                        ),
                    ));
                    open_steps.push((name.clone(), &step.outputs));
                    continue;
                }
                None => resolve_path(file, component),
            };
            let loaded = load_step_component(&path)?;
            let spec = loaded.spec;
            // A registered component has them merged already (and none left to name).
            if !spec.additional_includes.is_empty() {
                notes.blockers.push(Blocker {
                    field: format!("{field}.component"),
                    problem: format!(
                        "`{}` has `additional_includes`, which are merged into its code only when it is registered",
                        path.display()
                    ),
                    hint: format!(
                        "register it (`aml-register component -f {}`) and name it as `azureml:NAME@latest`",
                        path.display()
                    ),
                    scope: Scope::Everywhere,
                });
            }
            let mut outputs: Vec<(String, AssetType)> = spec.outputs.iter().map(|(n, o)| (n.clone(), o.kind)).collect();
            for (output, _) in step.outputs.iter() {
                if !outputs.iter().any(|(n, _)| n == output) {
                    return Err(Error::in_file(
                        file,
                        Some(&format!("{field}.outputs.{output}")),
                        format!("component `{}` declares no output `{output}`", path.display()),
                        format!("declared outputs: {}", list(outputs.iter().map(|(n, _)| n.as_str()))),
                    ));
                }
            }
            outputs.sort_by_key(|(n, _)| spec.outputs.keys().position(|k| k == n));
            let mut environment_variables = pairs(&spec.environment_variables);
            environment_variables.extend(pairs(&step.environment_variables));
            Draft {
                name: name.clone(),
                step,
                source: loaded.file.clone(),
                command: spec.command.clone(),
                code: plan_code(&loaded.file, "code", spec.code.as_deref())?,
                environment: plan_environment(&loaded.file, "environment", &spec.environment, &mut notes.warnings)?,
                environment_variables,
                declared_inputs: Some(spec.inputs.clone()),
                outputs,
                timeout: step.limits.as_ref().and_then(|l| l.timeout),
                parallel: false,
            }
        } else {
            let command = step.command.clone().ok_or_else(|| {
                Error::in_file(
                    file,
                    Some(&field),
                    "has neither `command` nor `component`",
                    "add `command:` (with `code:` and `environment:`), or `component: ./step.yml`",
                )
            })?;
            let environment = step.environment.as_ref().ok_or_else(|| {
                Error::in_file(
                    file,
                    Some(&format!("{field}.environment")),
                    "is missing",
                    "give the step an environment (`image` and `conda_file`)",
                )
            })?;
            Draft {
                name: name.clone(),
                step,
                source: file.to_path_buf(),
                command,
                code: plan_code(file, &format!("{field}.code"), step.code.as_deref())?,
                environment: plan_environment(file, &format!("{field}.environment"), environment, &mut notes.warnings)?,
                environment_variables: pairs(&step.environment_variables),
                declared_inputs: None,
                outputs: step_outputs(job, step),
                timeout: step.limits.as_ref().and_then(|l| l.timeout),
                parallel: false,
            }
        };
        drafts.push(draft);
    }

    // Second pass: wire inputs to pipeline inputs and other steps' outputs.
    let mut steps = Vec::new();
    let mut bound_outputs: BTreeMap<String, (String, String)> = BTreeMap::new();
    for draft in &drafts {
        let field = format!("jobs.{}", draft.name);
        let mut step_inputs = Vec::new();
        let mut depends_on = Vec::new();
        for (input, value) in draft.step.inputs.iter() {
            if let Some(declared) = &draft.declared_inputs
                && declared.get(input).is_none()
            {
                return Err(Error::in_file(
                    file,
                    Some(&format!("{field}.inputs.{input}")),
                    format!("component `{}` declares no input `{input}`", draft.source.display()),
                    format!("declared inputs: {}", list(declared.keys())),
                ));
            }
            let input_field = format!("{field}.inputs.{input}");
            // `{type, path: ${{parent.…}}}` binds as the bare `${{parent.…}}` does.
            let written_binding;
            let value = match value {
                JobInput::Asset(asset) if asset.path.as_deref().is_some_and(|p| p.contains("${{")) => {
                    written_binding =
                        JobInput::Literal(crate::yaml::job::Literal::Str(asset.path.clone().unwrap_or_default()));
                    &written_binding
                }
                other => other,
            };
            let planned = match value {
                JobInput::Literal(crate::yaml::job::Literal::Str(text)) if text.contains("${{") => {
                    match template::whole_binding(text) {
                        Some(Placeholder::ParentInput(name)) => match inputs.iter().find(|(n, _)| *n == name) {
                            Some((_, plan)) => plan.clone(),
                            None => {
                                return Err(Error::in_file(
                                    file,
                                    Some(&input_field),
                                    format!("binds `{text}` but the pipeline has no input `{name}`"),
                                    format!("pipeline inputs: {}", list(inputs.iter().map(|(n, _)| n.as_str()))),
                                ));
                            }
                        },
                        Some(Placeholder::ParentJobOutput { job: source, output }) => {
                            if let Some((_, declared)) = open_steps.iter().find(|(n, _)| *n == source) {
                                let kind = declared.get(&output).map_or(AssetType::UriFolder, JobOutput::kind);
                                step_inputs.push((
                                    input.clone(),
                                    InputPlan::Data {
                                        kind,
                                        source: DataSource::StepOutput { step: source, output },
                                        written: text.clone(),
                                    },
                                ));
                                continue;
                            }
                            let Some(producer) = drafts.iter().find(|d| d.name == source) else {
                                return Err(Error::in_file(
                                    file,
                                    Some(&input_field),
                                    format!("binds `{text}` but the pipeline has no step `{source}`"),
                                    format!(
                                        "steps: {}",
                                        list(
                                            drafts
                                                .iter()
                                                .map(|d| d.name.as_str())
                                                .chain(open_steps.iter().map(|(n, _)| n.as_str()))
                                        )
                                    ),
                                ));
                            };
                            let Some((_, kind)) = producer.outputs.iter().find(|(n, _)| *n == output) else {
                                return Err(Error::in_file(
                                    file,
                                    Some(&input_field),
                                    format!("binds `{text}` but step `{source}` has no output `{output}`"),
                                    format!(
                                        "outputs of `{source}`: {}",
                                        list(producer.outputs.iter().map(|(n, _)| n.as_str()))
                                    ),
                                ));
                            };
                            if source == draft.name {
                                return Err(Error::in_file(
                                    file,
                                    Some(&input_field),
                                    "a step cannot read its own output",
                                    "bind the input to another step's output",
                                ));
                            }
                            if !depends_on.contains(&source) {
                                depends_on.push(source.clone());
                            }
                            InputPlan::Data {
                                kind: *kind,
                                source: DataSource::StepOutput { step: source, output },
                                written: text.clone(),
                            }
                        }
                        _ => {
                            return Err(Error::in_file(
                                file,
                                Some(&input_field),
                                format!("`{text}` is not a binding a step input can take"),
                                "use `${{parent.inputs.<name>}}` or `${{parent.jobs.<step>.outputs.<name>}}` as the whole value",
                            ));
                        }
                    }
                }
                other => plan_input(file, &input_field, other, ws, notes).await?,
            };
            step_inputs.push((input.clone(), planned));
        }
        if let Some(declared) = &draft.declared_inputs {
            for (input, declaration) in declared.iter() {
                if step_inputs.iter().any(|(n, _)| n == input) {
                    continue;
                }
                let planned = match (&declaration.default, declaration.optional) {
                    (Some(default), _) => InputPlan::Literal(default.to_string()),
                    (None, true) => InputPlan::Absent,
                    (None, false) => {
                        return Err(Error::in_file(
                            file,
                            Some(&format!("{field}.inputs")),
                            format!("the step does not give input `{input}`, which its component requires"),
                            format!("add `{input}:` under `{field}.inputs`"),
                        ));
                    }
                };
                let is_data = !matches!(
                    declaration.kind,
                    DeclaredType::String | DeclaredType::Integer | DeclaredType::Number | DeclaredType::Boolean
                );
                if is_data && matches!(planned, InputPlan::Literal(_)) {
                    return Err(Error::in_file(
                        &draft.source,
                        Some(&format!("inputs.{input}.default")),
                        "data inputs cannot have a literal default locally",
                        format!("give `{input}` in the pipeline step"),
                    ));
                }
                step_inputs.push((input.clone(), planned));
            }
        }
        for (output, value) in draft.step.outputs.iter() {
            if let JobOutput::Binding(text) = value {
                match template::whole_binding(text) {
                    Some(Placeholder::ParentOutput(name)) => {
                        if job.outputs.get(&name).is_none() {
                            return Err(Error::in_file(
                                file,
                                Some(&format!("{field}.outputs.{output}")),
                                format!("binds `{text}` but the pipeline declares no output `{name}`"),
                                format!("declare it under the pipeline's `outputs:` (`{name}:` with a `type`)"),
                            ));
                        }
                        bound_outputs.insert(name, (draft.name.clone(), output.clone()));
                    }
                    _ => {
                        return Err(Error::in_file(
                            file,
                            Some(&format!("{field}.outputs.{output}")),
                            format!("`{text}` is not an output binding"),
                            "bind a step output to a pipeline output with `${{parent.outputs.<name>}}`",
                        ));
                    }
                }
            }
        }
        check_command(&draft.source, "command", &draft.command, &step_inputs, &draft.outputs)
            .map_err(|e| relabel(e, &draft.source, file, &format!("{field}.command")))?;
        let environment =
            resolve_environment(file, &format!("{field}.environment"), draft.environment.clone(), ws, notes).await?;
        steps.push(StepPlan {
            step: Some(draft.name.clone()),
            display_name: draft.step.display_name.clone().or_else(|| Some(draft.name.clone())),
            command: draft.command.clone(),
            code: draft.code.clone(),
            environment,
            environment_variables: draft.environment_variables.clone(),
            inputs: step_inputs,
            outputs: draft.outputs.clone(),
            timeout_seconds: draft.timeout,
            depends_on,
            parallel: draft.parallel,
            default_artifacts: draft.declared_inputs.is_none() && declares_default_artifacts(&draft.step.outputs),
        });
    }

    let mut outputs = Vec::new();
    for (name, output) in job.outputs.iter() {
        let binding = bound_outputs.get(name).cloned();
        if binding.is_none() {
            notes.warnings.push(format!("pipeline output `{name}` is bound to no step output; it will stay empty"));
        }
        outputs.push(PipelineOutput { name: name.clone(), kind: output.kind(), bound_to: binding });
    }

    Ok(Plan {
        file: file.to_path_buf(),
        kind: "pipeline",
        name: job.name.clone(),
        display_name: job.display_name.clone(),
        experiment_name: job.experiment_name.clone(),
        tags: job.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        inputs,
        outputs,
        steps: order(file, steps)?,
        continue_on_step_failure: job.settings.as_ref().is_some_and(|s| s.continue_on_step_failure),
        warnings: Vec::new(),
        blockers: Vec::new(),
        sweep: None,
    })
}

/// Errors inside a component file keep their file; errors in an inline step get the step's field.
fn relabel(error: Error, source: &Path, pipeline_file: &Path, field: &str) -> Error {
    match error {
        Error::BadInput(mut bad) if source == pipeline_file => {
            bad.field = Some(field.to_string());
            Error::BadInput(bad)
        }
        other => other,
    }
}

/// Steps in dependency order; among ready steps, the order of the file.
fn order(file: &Path, mut pending: Vec<StepPlan>) -> Result<Vec<StepPlan>> {
    let mut done: Vec<StepPlan> = Vec::new();
    while !pending.is_empty() {
        let ready =
            pending.iter().position(|s| s.depends_on.iter().all(|d| done.iter().any(|x| x.step.as_deref() == Some(d))));
        match ready {
            Some(index) => done.push(pending.remove(index)),
            None => {
                return Err(Error::in_file(
                    file,
                    Some("jobs"),
                    format!(
                        "steps {} depend on each other in a cycle",
                        list(pending.iter().filter_map(|s| s.step.as_deref()))
                    ),
                    "break the cycle: a step can only read outputs of steps that do not read its own",
                ));
            }
        }
    }
    Ok(done)
}

pub(super) async fn plan_input(
    file: &Path,
    field: &str,
    input: &JobInput,
    ws: Option<&dyn DataResolver>,
    notes: &mut Notes,
) -> Result<InputPlan> {
    match input {
        JobInput::Literal(literal) => Ok(InputPlan::Literal(literal.to_string())),
        JobInput::Asset(asset) => {
            let Some(written) = asset.path.clone() else {
                // azure-ai-ml takes an input with no path: it is given at submission
                // (`--set inputs.<name>.path=…`), or the step reading it leaves it out.
                notes.blockers.push(Blocker {
                    field: format!("{field}.path"),
                    problem: "the input has no path".into(),
                    hint: format!("give it: `--set {field}.path=PATH`"),
                    scope: Scope::Everywhere,
                });
                return Ok(InputPlan::Data {
                    kind: asset.kind,
                    source: DataSource::Path(PathBuf::new()),
                    written: String::new(),
                });
            };
            let parsed = DataRef::parse(&written);
            if ws.is_some_and(|ws| ws.is_remote()) && !matches!(parsed, DataRef::LocalPath(_)) {
                // The service resolves its own references when the job starts.
                return Ok(InputPlan::Data {
                    kind: asset.kind,
                    source: DataSource::Path(PathBuf::from(&written)),
                    written,
                });
            }
            let parsed = match (parsed, ws) {
                (DataRef::Registered(name), Some(ws)) if !is_model(asset.kind) => {
                    registered_data(file, field, &name, asset.kind, ws, notes).await?
                }
                (parsed, _) => parsed,
            };
            let source = match parsed {
                DataRef::LocalPath(path) => {
                    let resolved = resolve_path(file, &path);
                    let exists = match asset.kind {
                        AssetType::UriFile => resolved.is_file(),
                        AssetType::UriFolder | AssetType::Mltable => resolved.is_dir(),
                        _ => resolved.exists(),
                    };
                    if !exists {
                        let what = match asset.kind {
                            AssetType::UriFile => "file",
                            AssetType::UriFolder | AssetType::Mltable => "folder",
                            _ => "file or folder",
                        };
                        // Data is often made by a script before the job is submitted, so a
                        // file naming it is valid (azure-ai-ml loads it); no backend runs it yet.
                        notes.blockers.push(Blocker {
                            field: format!("{field}.path"),
                            problem: format!(
                                "`{written}` is not an existing {what} (looked for `{}`)",
                                resolved.display()
                            ),
                            hint: format!(
                                "make it before the run; paths are relative to the folder of `{}`",
                                file.display()
                            ),
                            scope: Scope::Everywhere,
                        });
                    }
                    DataSource::Path(resolved)
                }
                DataRef::JobOutput { job, output } => match ws {
                    Some(ws) => DataSource::Path(ws.job_output_path(&job, &output).await?),
                    None => {
                        notes.warnings.push(format!("{field}: `{written}` not checked: no workspace here yet"));
                        DataSource::Path(PathBuf::from(&written))
                    }
                },
                DataRef::Datastore { datastore, path } => match ws {
                    Some(ws) => {
                        let resolved = ws.datastore_path(&datastore, &path).await?;
                        if !resolved.exists() {
                            notes.blockers.push(Blocker::local(
                                format!("{field}.path"),
                                format!(
                                    "`{written}` is not in the local workspace's datastore (looked for `{}`)",
                                    resolved.display()
                                ),
                                "put the data there, or use a local path",
                            ));
                        }
                        DataSource::Path(resolved)
                    }
                    None => {
                        notes.warnings.push(format!("{field}: `{written}` not checked: no workspace here yet"));
                        DataSource::Path(PathBuf::from(&written))
                    }
                },
                // A model the workspace has: its files, as a job reads a model input.
                DataRef::Registered(name)
                    if matches!(
                        asset.kind,
                        AssetType::CustomModel | AssetType::MlflowModel | AssetType::TritonModel
                    ) && ws.is_some() =>
                {
                    let found = match ws {
                        Some(ws) => ws.model_path(&name).await,
                        None => Err(Error::usage("no workspace", "")),
                    };
                    match found {
                        Ok(folder) => DataSource::Path(folder),
                        // Not here: Azure ML may have it; a run here is refused naming the field.
                        Err(missing) => {
                            notes.blockers.push(Blocker::local(
                                format!("{field}.path"),
                                format!("`{name}`: {missing}"),
                                "register the model here first (`aml-register model`)",
                            ));
                            DataSource::Path(PathBuf::from(&written))
                        }
                    }
                }
                DataRef::Registered(name) => {
                    notes.blockers.push(Blocker::local(
                        format!("{field}.path"),
                        format!(
                            "`{name}` names a registered data asset, and this local workspace has none by that name"
                        ),
                        "register it here with `aml-register data -f data.yml`, or use a local path",
                    ));
                    DataSource::Path(PathBuf::from(&written))
                }
                DataRef::Remote(url) => {
                    let scheme = url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
                    let web = matches!(scheme.as_deref(), Some("http" | "https"));
                    if web && asset.kind == AssetType::UriFile {
                        DataSource::Remote(url)
                    } else {
                        let problem = if web {
                            format!(
                                "`{}` is a folder on the web, which cannot be listed; the local workspace fetches files (`type: uri_file`)",
                                crate::redact::urls(&url)
                            )
                        } else {
                            format!(
                                "`{}` is in cloud storage, which the local workspace does not read yet",
                                crate::redact::urls(&url)
                            )
                        };
                        notes.blockers.push(Blocker::local(
                            format!("{field}.path"),
                            problem,
                            "download the data and point the input at the local copy to run here",
                        ));
                        DataSource::Path(PathBuf::from(&written))
                    }
                }
            };
            Ok(InputPlan::Data { kind: asset.kind, source, written })
        }
    }
}

/// The files a foreign job names (its component, a sweep's trial, a spark job's code) must
/// exist, as azure-ai-ml reads them when it loads the job.
fn check_foreign_files(file: &Path, prefix: &str, job: &ForeignJob) -> Result<()> {
    let named = [("component", job.component.as_deref())]
        .into_iter()
        .chain(["trial", "code"].map(|key| (key, job.rest.get(key).and_then(yaml_serde::Value::as_str))));
    for (key, written) in named {
        if let Some(written) = written.filter(|w| !w.starts_with("azureml:") && !w.contains("://")) {
            check_exists(file, &format!("{prefix}{key}"), written)?;
        }
    }
    Ok(())
}

/// A path a valid file must name, relative to the file's folder.
fn check_exists(file: &Path, field: &str, written: &str) -> Result<PathBuf> {
    let path = resolve_path(file, written);
    if !path.exists() {
        return Err(Error::in_file(
            file,
            Some(field),
            format!("`{written}` does not exist (looked for `{}`)", path.display()),
            format!("paths are relative to the folder of `{}`", file.display()),
        ));
    }
    Ok(path)
}

pub fn plan_code(file: &Path, field: &str, code: Option<&str>) -> Result<Option<PathBuf>> {
    let Some(code) = code else { return Ok(None) };
    if code.starts_with("azureml:") {
        return Err(Error::in_file(
            file,
            Some(field),
            format!("`{code}` names a code asset registered in Azure ML; the local workspace cannot resolve it"),
            "point `code:` at the local folder holding the scripts",
        ));
    }
    let path = check_exists(file, field, code)?;
    // Walk it now (names only, no hashing): a dangling link or a link loop is found by
    // `validate`, not by a run that has already been recorded.
    crate::tree::code_files(&path).map_err(|e| match e {
        Error::BadInput(bad) => Error::in_file(file, Some(field), bad.problem, bad.hint.unwrap_or_default()),
        other => other,
    })?;
    Ok(Some(path))
}

fn is_model(kind: AssetType) -> bool {
    matches!(kind, AssetType::CustomModel | AssetType::MlflowModel | AssetType::TritonModel)
}

/// A data input naming a data asset of the local workspace reads what the asset holds, as an
/// input written with it would; one the workspace does not have stays a reference (a blocker
/// here: Azure ML may have it).
async fn registered_data(
    file: &Path,
    field: &str,
    reference: &str,
    kind: AssetType,
    ws: &dyn DataResolver,
    notes: &mut Notes,
) -> Result<DataRef> {
    let Some((registered, target)) = ws.data_asset(reference).await? else {
        return Ok(DataRef::Registered(reference.to_string()));
    };
    if registered != kind {
        return Err(Error::in_file(
            file,
            Some(&format!("{field}.type")),
            format!("is `{}`, and `{reference}` is a `{}` data asset", kind.as_str(), registered.as_str()),
            format!("give the input `type: {}`, as the asset was registered", registered.as_str()),
        ));
    }
    notes.warnings.push(format!("{field}: `{reference}` is this workspace's data asset, reading `{target}`"));
    Ok(DataRef::parse(&target))
}

/// A planned environment where the job will run: one registered in a workspace is looked up
/// in the local workspace (a remote one resolves it itself); what still cannot be built
/// here becomes the field's blocker.
pub(super) async fn resolve_environment(
    file: &Path,
    field: &str,
    planned: EnvPlan,
    ws: Option<&dyn DataResolver>,
    notes: &mut Notes,
) -> Result<EnvPlan> {
    let resolved = match (&planned, ws) {
        (EnvPlan::Registered { reference, why: None }, Some(ws)) if !ws.is_remote() => {
            let found = ws.environment(reference).await.map_err(|e| e.in_field(file, field))?;
            if found.is_some() {
                notes.warnings.push(format!("{field}: `{reference}` is this workspace's registered environment"));
            }
            found
        }
        _ => None,
    };
    let plan = resolved.unwrap_or(planned);
    notes.blockers.extend(plan.blocker(file, field));
    Ok(plan)
}

/// What an `environment:` (inline, with a conda file or a build context) installs locally.
pub fn plan_environment(
    file: &Path,
    field: &str,
    environment: &EnvironmentRef,
    warnings: &mut Vec<String>,
) -> Result<EnvPlan> {
    let env = match environment {
        EnvironmentRef::Registered(reference) => {
            match super::registry_environments::resolve(reference) {
                Some(Resolved::Conda { conda, about }) => {
                    let mut conda_warnings = Vec::new();
                    let mut plan = conda_packages(&conda, PathBuf::from(reference), &mut conda_warnings);
                    if let EnvPlan::Packages { python, python_required, .. } = &mut plan {
                        // Published for one Python: another is refused, not warned about.
                        *python_required = python.is_some();
                        warnings.push(about.warning(field, reference, python.as_deref()));
                    }
                    warnings.extend(conda_warnings);
                    return Ok(plan);
                }
                Some(Resolved::Unbuildable(why)) => {
                    return Ok(EnvPlan::Registered { reference: reference.clone(), why: Some(why) });
                }
                None => {}
            }
            // A workspace's own: looked up when the workspace is known (`resolve_environment`).
            return Ok(EnvPlan::Registered { reference: reference.clone(), why: None });
        }
        EnvironmentRef::Inline(env) => env,
    };
    if let Some(conda) = &env.conda_file {
        let (conda, described_by) = match conda {
            CondaFileRef::Path(path) => {
                let resolved = resolve_path(file, path);
                if !resolved.is_file() {
                    return Err(Error::in_file(
                        file,
                        Some(&format!("{field}.conda_file")),
                        format!("`{path}` is not a file (looked for `{}`)", resolved.display()),
                        format!("paths are relative to the folder of `{}`", file.display()),
                    ));
                }
                (load_conda_file(&resolved)?, resolved)
            }
            CondaFileRef::Inline(conda) => (conda.clone(), file.to_path_buf()),
        };
        return Ok(conda_packages(&conda, described_by, warnings));
    }
    if let Some(build) = &env.build {
        let context = resolve_path(file, &build.path);
        let requirements = context.join("requirements.txt");
        for name in ["conda.yml", "conda.yaml", "conda_dependencies.yml", "environment.yml"] {
            let candidate = context.join(name);
            if candidate.is_file() {
                warnings.push(format!(
                    "{field}.build: the Dockerfile is not run locally; packages come from `{}`",
                    candidate.display()
                ));
                return Ok(conda_packages(&load_conda_file(&candidate)?, candidate, warnings));
            }
        }
        if requirements.is_file() {
            warnings.push(format!(
                "{field}.build: the Dockerfile is not run locally; packages come from `{}`",
                requirements.display()
            ));
            let packages = requirement_lines(&crate::yaml::read(&requirements)?);
            // The official `python:X.Y` images say which Python the packages were pinned for.
            let python = python_of_dockerfile(&context.join(build.dockerfile_path.as_deref().unwrap_or("Dockerfile")));
            return Ok(EnvPlan::Packages { packages, python, described_by: requirements, python_required: false });
        }
        if !context.join("Dockerfile").is_file() {
            return Err(Error::in_file(
                file,
                Some(&format!("{field}.build.path")),
                format!("`{}` is not a build context (looked for a Dockerfile in `{}`)", build.path, context.display()),
                format!("paths are relative to the folder of `{}`", file.display()),
            ));
        }
        return Ok(EnvPlan::DockerBuild { context });
    }
    if env.image.is_none() {
        return Err(Error::in_file(
            file,
            Some(field),
            "has neither `image`, `conda_file` nor `build`",
            "give at least `image:` and `conda_file:`",
        ));
    }
    warnings.push(format!(
        "{field}: only an image is given; locally the job runs with the base Python interpreter, not `{}`",
        env.image.as_deref().unwrap_or_default()
    ));
    Ok(EnvPlan::BaseInterpreter { image: env.image.clone() })
}

/// `X.Y` of a Dockerfile's first `FROM python:X.Y…` (the official images), if it has one.
fn python_of_dockerfile(dockerfile: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dockerfile).ok()?;
    let image =
        text.lines().map(str::trim).find_map(|l| l.strip_prefix("FROM ").or_else(|| l.strip_prefix("from ")))?;
    let tag = image.split_whitespace().next()?.strip_prefix("python:")?;
    let mut parts = tag.split(|c: char| !c.is_ascii_digit());
    let (major, minor) = (parts.next()?, parts.next()?);
    (!major.is_empty() && !minor.is_empty()).then(|| format!("{major}.{minor}"))
}

/// A requirements.txt's requirements: its lines but blanks and comments.
pub fn requirement_lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect()
}

/// The pip requirements a conda file or a requirements.txt stands for, and its Python pin.
pub fn requirements_of(file: &Path) -> Result<(Vec<String>, Option<String>)> {
    let is_text = file.extension().is_some_and(|e| e == "txt");
    if is_text {
        return Ok((requirement_lines(&crate::yaml::read(file)?), None));
    }
    let mut warnings = Vec::new();
    match conda_packages(&load_conda_file(file)?, file.to_path_buf(), &mut warnings) {
        EnvPlan::Packages { packages, python, .. } => Ok((packages, python)),
        EnvPlan::BaseInterpreter { .. } | EnvPlan::Registered { .. } | EnvPlan::DockerBuild { .. } => {
            Ok((Vec::new(), None))
        }
    }
}

/// Conda dependencies become pip requirements: pip entries as written, conda packages by
/// the same name from PyPI (`name=1.2` → `name==1.2.*`), `python=X.Y` as the interpreter pin.
fn conda_packages(conda: &CondaFile, described_by: PathBuf, warnings: &mut Vec<String>) -> EnvPlan {
    let mut packages = Vec::new();
    let mut python = None;
    let mut from_conda = Vec::new();
    for dependency in &conda.dependencies {
        match dependency {
            CondaDependency::Pip { pip } => packages.extend(pip.iter().map(|p| p.trim().to_string())),
            CondaDependency::Package(spec) => {
                let spec = spec.trim();
                let name_end = spec.find(|c: char| "=<>!~ ".contains(c)).unwrap_or(spec.len());
                let (name, constraint) = spec.split_at(name_end);
                let name = name.rsplit("::").next().unwrap_or(name);
                match name {
                    "python" => {
                        python = Some(constraint.trim_start_matches('=').trim().to_string()).filter(|v| !v.is_empty())
                    }
                    "pip" | "setuptools" | "wheel" => {}
                    _ => {
                        let constraint = constraint.trim();
                        let pip_spec =
                            if let Some(version) = constraint.strip_prefix('=').filter(|v| !v.starts_with('=')) {
                                if version.contains('*') {
                                    format!("{name}=={version}")
                                } else {
                                    format!("{name}=={version}.*")
                                }
                            } else {
                                format!("{name}{constraint}")
                            };
                        from_conda.push(name.to_string());
                        packages.push(pip_spec);
                    }
                }
            }
        }
    }
    if !from_conda.is_empty() {
        warnings.push(format!(
            "conda packages {} are installed from PyPI under the same names locally",
            list(from_conda.iter().map(String::as_str))
        ));
    }
    EnvPlan::Packages { packages, python, described_by, python_required: false }
}

pub(super) fn check_command(
    file: &Path,
    field: &str,
    command: &str,
    inputs: &[(String, InputPlan)],
    outputs: &[(String, AssetType)],
) -> Result<()> {
    // Input and output names become folder names (`outputs/<name>`) and environment
    // variables: held to azure-ai-ml's key rule before either is made.
    let names = inputs.iter().map(|(n, _)| ("inputs", n)).chain(outputs.iter().map(|(n, _)| ("outputs", n)));
    for (side, name) in names {
        if let Err(problem) = crate::names::NameKind::Output.check(name) {
            let rule = crate::names::NameKind::Output.rule();
            return Err(Error::in_file(
                file,
                Some(&format!("{side}.{name}")),
                problem,
                format!("an {side} name is {rule}"),
            ));
        }
    }
    let placeholders = template::placeholders(command).map_err(|problem| {
        Error::in_file(file, Some(field), problem, "close every `${{` with `}}` and every `$[[` with `]]`")
    })?;
    for (placeholder, in_optional) in placeholders {
        match &placeholder {
            Placeholder::Input(name) => match inputs.iter().find(|(n, _)| n == name) {
                None => {
                    return Err(Error::in_file(
                        file,
                        Some(field),
                        format!("uses `${{{{inputs.{name}}}}}` but no input `{name}` is given"),
                        match inputs.is_empty() {
                            true => format!("add `{name}:` under `inputs:`"),
                            false => format!("inputs: {}", list(inputs.iter().map(|(n, _)| n.as_str()))),
                        },
                    ));
                }
                Some((_, InputPlan::Absent)) if !in_optional => {
                    return Err(Error::in_file(
                        file,
                        Some(field),
                        format!("optional input `{name}` is used outside a `$[[ … ]]` section"),
                        format!("wrap it: `$[[--{name} ${{{{inputs.{name}}}}}]]`"),
                    ));
                }
                Some(_) => {}
            },
            Placeholder::Output(name) => {
                if !outputs.iter().any(|(n, _)| n == name) {
                    return Err(Error::in_file(
                        file,
                        Some(field),
                        format!("uses `${{{{outputs.{name}}}}}` but declares no output `{name}`"),
                        format!("add `{name}:` under `outputs:`"),
                    ));
                }
            }
            other => {
                return Err(Error::in_file(
                    file,
                    Some(field),
                    format!("`{other}` cannot be used in a command"),
                    "a command may use `${{inputs.<name>}}` and `${{outputs.<name>}}`",
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn pairs(map: &OrderedMap<String>) -> Vec<(String, String)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if names.is_empty() { "none".into() } else { names.join(", ") }
}
