//! Pipeline jobs on Azure ML, as azure-ai-ml submits one: each step's code and environment
//! made as for a command job, the step registered as an anonymous command component
//! (`components/azureml_anonymous/versions/<hash>`, its spec naming the code and environment
//! by ARM id), then one PipelineJob whose `jobs` are nodes pointing at those components, with
//! the bindings (`${{parent.inputs.x}}`, `${{parent.jobs.prep.outputs.y}}`) as written. The
//! steps' child jobs are read back through run history's `children`. A parallel step is
//! registered as an anonymous parallel component instead (see `parallel`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::AzureWorkspace;
use super::parallel;
use aml_core::error::{Error, Result};
use aml_core::jobplan::{DataSource, InputPlan, Plan};
use aml_core::jobs::{Job, RunOptions};
use aml_core::refs::DataRef;
use aml_core::yaml::component::load_step_component;
use aml_core::yaml::job::{JobInput, JobOutput, Literal, PipelineJob, PipelineStep};
use aml_core::yaml::resolve_path;

const ANONYMOUS_COMPONENT: &str = "azureml_anonymous";

impl AzureWorkspace {
    /// The PipelineJob resource, every step's component registered first.
    pub(super) async fn pipeline_body(&self, spec: &PipelineJob, plan: &Plan, options: &RunOptions) -> Result<Value> {
        let file = &plan.file;
        let mut nodes = serde_json::Map::new();
        for (name, step) in spec.jobs.iter() {
            let field = format!("jobs.{name}");
            // The plan's steps are in the order they run, not the file's.
            let Some(step_plan) = plan.step(name) else {
                // A registered component's step: a node naming its id, its bindings as written.
                if let Some(reference) = step.component.as_deref().filter(|c| c.starts_with("azureml:")) {
                    let id = self.component_id(file, &format!("{field}.component"), reference).await?;
                    nodes.insert(name.clone(), self.registered_node(file, name, step, &id).await?);
                }
                continue;
            };
            // Where the command and environment are written: the step, or its component file.
            let (source, command, environment, declared) = match &step.component {
                Some(component) => {
                    let loaded = load_step_component(&resolve_path(file, component))?;
                    let declared: BTreeMap<String, String> = loaded
                        .spec
                        .inputs
                        .iter()
                        .map(|(k, d)| (k.clone(), declared_type(&serde_json::to_value(d.kind).unwrap_or_default())))
                        .collect();
                    (loaded.file.clone(), loaded.spec.command.clone(), loaded.spec.environment.clone(), declared)
                }
                None => {
                    // A parallel step's environment is its task's.
                    let (environment, environment_field) = match &step.task {
                        Some(task) if step_plan.parallel => (task.environment.clone(), "task.environment"),
                        _ => (step.environment.clone(), "environment"),
                    };
                    let environment = environment.ok_or_else(|| {
                        Error::in_file(
                            file,
                            Some(&format!("{field}.{environment_field}")),
                            "is missing",
                            "give the step an environment",
                        )
                    })?;
                    (file.clone(), step.command.clone().unwrap_or_default(), environment, BTreeMap::new())
                }
            };
            let environment_id = super::jobs::spec_id(&self.ensure_environment(&source, &environment).await?);
            let code_id = match &step_plan.code {
                Some(code) => Some(format!("azureml:{}", self.ensure_code(code).await?.id)),
                None => None,
            };
            // A parallel step's task and settings go in its component and again in its node,
            // as azure-ai-ml writes them.
            let parallel = match (&step.task, step_plan.parallel) {
                (Some(task), true) => Some(parallel::Parallel::of(step, task, code_id.as_deref(), &environment_id)),
                _ => None,
            };
            let mut component = match &parallel {
                Some(parallel) => parallel.component(),
                None => json!({
                    "type": "command",
                    "command": command,
                    "environment": environment_id,
                }),
            };
            component["name"] = json!(ANONYMOUS_COMPONENT);
            component["version"] = json!("1");
            component["is_deterministic"] = json!(true);
            component["_source"] = json!("YAML.JOB");
            if let (Some(code), None) = (&code_id, &parallel) {
                component["code"] = json!(code);
            }
            // A command component carries its variables; a parallel step's node does.
            let variables: BTreeMap<&String, &String> =
                step_plan.environment_variables.iter().map(|(k, v)| (k, v)).collect();
            if !variables.is_empty() && parallel.is_none() {
                component["environment_variables"] = json!(variables);
            }
            let mut component_inputs = serde_json::Map::new();
            for (input, planned) in &step_plan.inputs {
                let kind = match (declared.get(input), planned) {
                    (Some(kind), _) => kind.clone(),
                    (None, InputPlan::Data { kind, .. }) => kind.as_str().to_string(),
                    (None, _) => "string".to_string(),
                };
                component_inputs.insert(input.clone(), json!({"type": kind}));
            }
            component["inputs"] = Value::Object(component_inputs);
            component["outputs"] = Value::Object(
                step_plan.outputs.iter().map(|(o, kind)| (o.clone(), json!({"type": kind.as_str()}))).collect(),
            );
            let component_id = self.ensure_component(&component).await?;

            let mut node = match &parallel {
                Some(parallel) => parallel.node(),
                None => json!({"type": "command"}),
            };
            node["name"] = json!(name);
            node["_source"] = json!("YAML.JOB");
            node["componentId"] = json!(component_id);
            if !variables.is_empty() && parallel.is_some() {
                node["environment_variables"] = json!(variables);
            }
            // A local path is uploaded from where the plan resolved it.
            let planned_path = |input: &str| match step_plan.inputs.iter().find(|(n, _)| n == input) {
                Some((_, InputPlan::Data { source: DataSource::Path(path), .. })) => Some(path.clone()),
                _ => None,
            };
            self.node_io(&mut node, step, &planned_path).await?;
            nodes.insert(name.clone(), node);
        }

        let mut properties = serde_json::Map::new();
        properties.insert("jobType".into(), json!("Pipeline"));
        properties.insert("jobs".into(), Value::Object(nodes));
        properties.insert("isArchived".into(), json!(false));
        let own: BTreeMap<String, String> = spec.properties.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        super::jobs::describe_job(&mut properties, plan, options, spec.description.as_ref(), own);
        let mut inputs = serde_json::Map::new();
        for (name, input) in &plan.inputs {
            if let Some(value) = self.rest_input(input, None).await? {
                inputs.insert(name.clone(), value);
            }
        }
        properties.insert("inputs".into(), Value::Object(inputs));
        let outputs: serde_json::Map<String, Value> =
            plan.outputs.iter().map(|o| (o.name.clone(), json!({"jobOutputType": o.kind.as_str()}))).collect();
        properties.insert("outputs".into(), Value::Object(outputs));
        let mut settings = json!({"_source": "YAML.JOB"});
        let default_compute =
            spec.settings.as_ref().and_then(|s| s.default_compute.clone()).or_else(|| spec.compute.clone());
        if let Some(compute) = self.compute_id(default_compute.as_deref())? {
            settings["default_compute"] = json!(compute.rsplit('/').next().unwrap_or(&compute));
            properties.insert("computeId".into(), json!(compute));
        }
        properties.insert("settings".into(), settings);
        Ok(json!({ "properties": properties }))
    }

    /// The node of a step made from a registered component: its literals, local inputs
    /// uploaded, bindings and outputs as written; Azure ML checks them against the component.
    async fn registered_node(&self, file: &Path, name: &str, step: &PipelineStep, id: &str) -> Result<Value> {
        let mut node = json!({"type": "command", "name": name, "_source": "YAML.JOB", "componentId": id});
        let written_path = |input: &str| match step.inputs.get(input) {
            Some(JobInput::Asset(asset)) => match asset.path.as_deref().map(DataRef::parse) {
                Some(DataRef::LocalPath(path)) => Some(resolve_path(file, &path)),
                _ => None,
            },
            _ => None,
        };
        self.node_io(&mut node, step, &written_path).await?;
        Ok(node)
    }

    /// A node's inputs (literals as strings, a local path uploaded from where `local` puts
    /// it, anything else as written), outputs and compute, as azure-ai-ml writes them.
    async fn node_io(
        &self,
        node: &mut Value,
        step: &PipelineStep,
        local: &dyn Fn(&str) -> Option<PathBuf>,
    ) -> Result<()> {
        let mut inputs = serde_json::Map::new();
        for (input, given) in step.inputs.iter() {
            let value = match given {
                JobInput::Literal(Literal::Str(text)) => json!({"job_input_type": "literal", "value": text}),
                JobInput::Literal(other) => json!({"job_input_type": "literal", "value": other.to_string()}),
                JobInput::Asset(asset) => {
                    let is_local = matches!(asset.path.as_deref().map(DataRef::parse), Some(DataRef::LocalPath(_)));
                    let uri = match local(input).filter(|_| is_local) {
                        Some(path) => self.upload_input(&path).await?,
                        None => asset.path.clone().unwrap_or_default(),
                    };
                    json!({"job_input_type": asset.kind.as_str(), "uri": uri})
                }
            };
            inputs.insert(input.clone(), value);
        }
        if !inputs.is_empty() {
            node["inputs"] = Value::Object(inputs);
        }
        let mut outputs = serde_json::Map::new();
        for (output, given) in step.outputs.iter() {
            match given {
                JobOutput::Binding(binding) => {
                    outputs.insert(output.clone(), json!({"value": binding, "type": "literal"}))
                }
                JobOutput::Asset(asset) => {
                    outputs.insert(output.clone(), json!({"job_output_type": asset.kind.as_str()}))
                }
                JobOutput::Default => None,
            };
        }
        if !outputs.is_empty() {
            node["outputs"] = Value::Object(outputs);
        }
        if let Some(compute) = self.compute_id(step.compute.as_deref())? {
            node["computeId"] = json!(compute);
        }
        Ok(())
    }

    /// An anonymous component version: its version is a hash of its spec, so the same step
    /// (same code, environment and interface) is registered once and reused.
    async fn ensure_component(&self, spec: &Value) -> Result<String> {
        let digest = Sha256::digest(serde_json::to_vec(spec).unwrap_or_default());
        let hex = aml_core::digest::hex(&digest[..16]);
        let version = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]);
        let path = format!("{}/components/{ANONYMOUS_COMPONENT}/versions/{version}", self.prefix);
        if let Some(existing) = self.arm.get_optional::<Value>(&path).await? {
            return Ok(existing["id"].as_str().map(str::to_owned).unwrap_or(path));
        }
        let body = json!({"properties": {"componentSpec": spec, "isAnonymous": true, "isArchived": false, "properties": {}, "tags": {}}});
        let created: Value = self.arm.put(&path, &body).await?;
        Ok(created["id"].as_str().map(str::to_owned).unwrap_or(path))
    }

    /// Run history's children of a pipeline's run, every page.
    async fn child_runs(&self, name: &str) -> Result<Vec<Value>> {
        let api = self.data_plane_api().await?;
        let first = format!("{api}/history/v1.0{}/runs/{name}/children", self.prefix);
        self.arm.list_from(&first, "the pipeline's child runs").await
    }

    /// (step, child run, status) of each step started so far, from one children listing.
    pub(super) async fn step_statuses(&self, name: &str) -> Result<Vec<(String, String, String)>> {
        Ok(self
            .child_runs(name)
            .await?
            .iter()
            .filter_map(|c| {
                let run = c["runId"].as_str()?.to_string();
                Some((
                    c["displayName"].as_str().unwrap_or(&run).to_string(),
                    run,
                    c["status"].as_str().unwrap_or("Unknown").to_string(),
                ))
            })
            .collect())
    }

    /// A pipeline's steps: run history's children of its run, each read as a job.
    pub async fn job_steps(&self, name: &str) -> Result<Vec<Job>> {
        let resource: Value = self.arm.get_optional(&self.job_path(name)).await?.ok_or_else(|| {
            Error::usage(format!("no job named `{name}` in this workspace"), "check the job's name and `--workspace`")
        })?;
        // A pipeline's steps and a sweep's trials are its run's children.
        if !matches!(resource["properties"]["jobType"].as_str(), Some("Pipeline" | "Sweep")) {
            return Ok(Vec::new());
        }
        let mut steps = Vec::new();
        for child in self.child_runs(name).await? {
            let Some(run_id) = child["runId"].as_str() else { continue };
            let Some(found) = self.arm.get_optional::<Value>(&self.job_path(run_id)).await? else { continue };
            let mut job = self.job_from_arm(&found).await?;
            job.parent = Some(name.to_string());
            job.step = child["displayName"].as_str().or(found["properties"]["displayName"].as_str()).map(str::to_owned);
            steps.push(job);
        }
        // Children are created as the pipeline reaches them: creation order is step order.
        steps.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(steps)
    }
}

/// A component input's declared type as the spec writes it (`number`, `uri_folder`, …).
fn declared_type(value: &Value) -> String {
    value.as_str().unwrap_or("string").to_string()
}
