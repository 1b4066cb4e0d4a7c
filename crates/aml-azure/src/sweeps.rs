//! Sweep jobs on Azure ML, as azure-ai-ml's `SweepJob._to_rest_object` sends them: the trial
//! as a command (its code and environment made as for a command job), the search space as
//! `[type, [arguments]]`, sampling, objective, limits and early termination.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::AzureWorkspace;
use super::jobs::describe_job;
use aml_core::error::Result;
use aml_core::jobplan::Plan;
use aml_core::jobs::RunOptions;
use aml_core::yaml::job::JobInput;
use aml_core::yaml::sweep::{Distribution, EarlyTermination, Goal, Sampling, SweepJob};

impl AzureWorkspace {
    pub(super) async fn sweep_body(&self, spec: &SweepJob, plan: &Plan, options: &RunOptions) -> Result<Value> {
        let mut properties = serde_json::Map::new();
        properties.insert("jobType".into(), json!("Sweep"));
        let mut own: BTreeMap<String, String> = spec.properties.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut trial = serde_json::Map::new();
        trial.insert("command".into(), json!(spec.trial.command));
        // Every trial plans the same code and environment.
        if let Some(code) = plan.steps.first().and_then(|s| s.code.as_ref()) {
            let asset = self.ensure_code(code).await?;
            trial.insert("codeId".into(), json!(asset.id));
            own.insert("aml.code_digest".into(), asset.digest.to_string());
        }
        trial
            .insert("environmentId".into(), json!(self.ensure_environment(&plan.file, &spec.trial.environment).await?));
        let variables: BTreeMap<&String, &String> = spec.trial.environment_variables.iter().collect();
        trial.insert("environmentVariables".into(), json!(variables));
        properties.insert("trial".into(), Value::Object(trial));
        if let Some(compute) = self.compute_id(spec.compute.as_deref())? {
            properties.insert("computeId".into(), json!(compute));
        }
        describe_job(&mut properties, plan, options, spec.description.as_ref(), own);
        let mut inputs = serde_json::Map::new();
        for (name, input) in &plan.inputs {
            let mode = match spec.inputs.get(name) {
                Some(JobInput::Asset(asset)) => asset.mode.map(super::jobs::input_mode),
                _ => None,
            };
            if let Some(value) = self.rest_input(input, mode).await? {
                inputs.insert(name.clone(), value);
            }
        }
        properties.insert("inputs".into(), Value::Object(inputs));
        let outputs: serde_json::Map<String, Value> =
            plan.outputs.iter().map(|o| (o.name.clone(), json!({"jobOutputType": o.kind.as_str()}))).collect();
        properties.insert("outputs".into(), Value::Object(outputs));
        properties.insert("searchSpace".into(), search_space(spec));
        properties.insert("samplingAlgorithm".into(), sampling(spec));
        properties.insert(
            "objective".into(),
            json!({
                "goal": match spec.objective.goal { Goal::Minimize => "minimize", Goal::Maximize => "maximize" },
                "primaryMetric": spec.objective.primary_metric,
            }),
        );
        let mut limits = serde_json::Map::new();
        limits.insert("jobLimitsType".into(), json!("Sweep"));
        if let Some(given) = &spec.limits {
            if let Some(n) = given.max_total_trials {
                limits.insert("maxTotalTrials".into(), json!(n));
            }
            if let Some(n) = given.max_concurrent_trials {
                limits.insert("maxConcurrentTrials".into(), json!(n));
            }
            if let Some(seconds) = given.timeout {
                limits.insert("timeout".into(), json!(crate::iso::seconds(seconds)));
            }
            if let Some(seconds) = given.trial_timeout {
                limits.insert("trialTimeout".into(), json!(crate::iso::seconds(seconds)));
            }
        }
        properties.insert("limits".into(), Value::Object(limits));
        if let Some(policy) = &spec.early_termination {
            properties.insert("earlyTermination".into(), early_termination(policy));
        }
        Ok(json!({ "properties": properties }))
    }
}

/// Each dimension as `[type, [arguments]]`; a choice's values are its one argument.
fn search_space(spec: &SweepJob) -> Value {
    let to_json = |value: &yaml_serde::Value| serde_json::to_value(value).unwrap_or(Value::Null);
    let space: serde_json::Map<String, Value> = spec
        .search_space
        .iter()
        .map(|(name, distribution)| {
            let written = match distribution {
                Distribution::Choice { values } => {
                    json!(["choice", [values.iter().map(to_json).collect::<Vec<_>>()]])
                }
                Distribution::Randint { upper } => json!(["randint", [upper]]),
                Distribution::Uniform { min_value, max_value } => json!(["uniform", [min_value, max_value]]),
                Distribution::Loguniform { min_value, max_value } => json!(["loguniform", [min_value, max_value]]),
                Distribution::Quniform { min_value, max_value, q } => json!(["quniform", [min_value, max_value, q]]),
                Distribution::Qloguniform { min_value, max_value, q } => {
                    json!(["qloguniform", [min_value, max_value, q]])
                }
                Distribution::Normal { mu, sigma } => json!(["normal", [mu, sigma]]),
                Distribution::Lognormal { mu, sigma } => json!(["lognormal", [mu, sigma]]),
                Distribution::Qnormal { mu, sigma, q } => json!(["qnormal", [mu, sigma, q]]),
                Distribution::Qlognormal { mu, sigma, q } => json!(["qlognormal", [mu, sigma, q]]),
            };
            (name.clone(), written)
        })
        .collect();
    Value::Object(space)
}

fn sampling(spec: &SweepJob) -> Value {
    let algorithm = &spec.sampling_algorithm;
    let kind = match algorithm.kind {
        Sampling::Random => "Random",
        Sampling::Grid => "Grid",
        Sampling::Bayesian => "Bayesian",
    };
    let mut value = json!({"samplingAlgorithmType": kind});
    if let Some(seed) = algorithm.seed {
        value["seed"] = json!(seed);
    }
    if let Some(rule) = &algorithm.rule {
        value["rule"] = json!(rule);
    }
    if let Some(logbase) = &algorithm.logbase {
        value["logbase"] = json!(logbase.0);
    }
    value
}

/// azure-ai-ml fills what a policy leaves out with the integer 0.
fn early_termination(policy: &EarlyTermination) -> Value {
    match policy {
        EarlyTermination::Bandit { slack_factor, slack_amount, evaluation_interval, delay_evaluation } => json!({
            "policyType": "Bandit",
            "slackFactor": slack_factor.map_or(json!(0), |f| json!(f)),
            "slackAmount": slack_amount.map_or(json!(0), |a| json!(a)),
            "evaluationInterval": evaluation_interval.unwrap_or(0),
            "delayEvaluation": delay_evaluation.unwrap_or(0),
        }),
        EarlyTermination::MedianStopping { evaluation_interval, delay_evaluation } => json!({
            "policyType": "MedianStopping",
            "evaluationInterval": evaluation_interval.unwrap_or(0),
            "delayEvaluation": delay_evaluation.unwrap_or(0),
        }),
        EarlyTermination::TruncationSelection { truncation_percentage, evaluation_interval, delay_evaluation } => {
            json!({
                "policyType": "TruncationSelection",
                "truncationPercentage": truncation_percentage,
                "evaluationInterval": evaluation_interval.unwrap_or(0),
                "delayEvaluation": delay_evaluation.unwrap_or(0),
            })
        }
    }
}
