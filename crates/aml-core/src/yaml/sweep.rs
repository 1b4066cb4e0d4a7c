//! Sweep jobs as `az ml job create` reads them (azure-ai-ml's SweepJobSchema): a command
//! trial run once per point of a search space, judged by one MLflow metric, with limits and
//! an early-termination policy.

use serde::{Deserialize, Deserializer, Serialize};
use yaml_serde::Value;

use super::environment::EnvironmentRef;
use super::io::{JobInput, JobOutput};
use super::{OrderedMap, Scalar, string_map};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SweepJob {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "crate::names::optional_job")]
    pub name: Option<String>,
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "crate::names::optional_experiment")]
    pub experiment_name: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub properties: OrderedMap<String>,
    pub compute: Option<String>,
    pub trial: Trial,
    #[serde(default)]
    pub inputs: OrderedMap<JobInput>,
    #[serde(default)]
    pub outputs: OrderedMap<JobOutput>,
    pub sampling_algorithm: SamplingAlgorithm,
    pub search_space: OrderedMap<Distribution>,
    pub objective: Objective,
    pub limits: Option<SweepLimits>,
    pub early_termination: Option<EarlyTermination>,
    pub identity: Option<Value>,
    pub services: Option<Value>,
    pub queue_settings: Option<Value>,
    pub resources: Option<Value>,
}

/// The command each trial runs (azure-ai-ml's ParameterizedCommandSchema).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Trial {
    pub command: String,
    pub code: Option<String>,
    pub environment: EnvironmentRef,
    #[serde(default, deserialize_with = "string_map")]
    pub environment_variables: OrderedMap<String>,
    pub distribution: Option<Value>,
    pub resources: Option<Value>,
    pub queue_settings: Option<Value>,
}

/// `random`, `grid`, `bayesian`, or `{type: random, seed, rule, logbase}`; any casing.
#[derive(Debug, Clone, Serialize)]
pub struct SamplingAlgorithm {
    pub kind: Sampling,
    pub seed: Option<u64>,
    pub rule: Option<String>,
    pub logbase: Option<Scalar>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    Random,
    Grid,
    Bayesian,
}

impl Sampling {
    fn parse(text: &str) -> Option<Sampling> {
        match text.to_ascii_lowercase().as_str() {
            "random" => Some(Sampling::Random),
            "grid" => Some(Sampling::Grid),
            "bayesian" => Some(Sampling::Bayesian),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sampling::Random => "random",
            Sampling::Grid => "grid",
            Sampling::Bayesian => "bayesian",
        }
    }
}

impl<'de> Deserialize<'de> for SamplingAlgorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Name(String),
            Full(Full),
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            #[serde(rename = "type")]
            kind: String,
            seed: Option<u64>,
            rule: Option<String>,
            logbase: Option<Scalar>,
        }
        let unknown = |text: &str| {
            serde::de::Error::custom(format!(
                "unknown sampling algorithm `{text}`, expected one of `random`, `grid`, `bayesian`"
            ))
        };
        match Written::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom("expected `random`, `grid`, `bayesian`, or a mapping with `type` (and `seed`)")
        })? {
            Written::Name(name) => {
                let kind = Sampling::parse(&name).ok_or_else(|| unknown(&name))?;
                Ok(SamplingAlgorithm { kind, seed: None, rule: None, logbase: None })
            }
            Written::Full(full) => {
                let kind = Sampling::parse(&full.kind).ok_or_else(|| unknown(&full.kind))?;
                Ok(SamplingAlgorithm { kind, seed: full.seed, rule: full.rule, logbase: full.logbase })
            }
        }
    }
}

/// One dimension of the search space, as azure-ai-ml's search-space schemas spell it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    Choice { values: Vec<Value> },
    Randint { upper: i64 },
    Uniform { min_value: f64, max_value: f64 },
    Loguniform { min_value: f64, max_value: f64 },
    Quniform { min_value: f64, max_value: f64, q: f64 },
    Qloguniform { min_value: f64, max_value: f64, q: f64 },
    Normal { mu: f64, sigma: f64 },
    Lognormal { mu: f64, sigma: f64 },
    Qnormal { mu: f64, sigma: f64, q: f64 },
    Qlognormal { mu: f64, sigma: f64, q: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    Minimize,
    Maximize,
}

impl<'de> Deserialize<'de> for Goal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.to_ascii_lowercase().as_str() {
            "minimize" => Ok(Goal::Minimize),
            "maximize" => Ok(Goal::Maximize),
            _ => {
                Err(serde::de::Error::custom(format!("unknown goal `{text}`, expected one of `minimize`, `maximize`")))
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    pub goal: Goal,
    pub primary_metric: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SweepLimits {
    pub max_total_trials: Option<u32>,
    pub max_concurrent_trials: Option<u32>,
    /// Seconds for the whole sweep.
    pub timeout: Option<u64>,
    /// Seconds for each trial.
    pub trial_timeout: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EarlyTermination {
    Bandit {
        slack_factor: Option<f64>,
        slack_amount: Option<f64>,
        #[serde(default)]
        evaluation_interval: Option<u32>,
        #[serde(default)]
        delay_evaluation: Option<u32>,
    },
    MedianStopping {
        #[serde(default)]
        evaluation_interval: Option<u32>,
        #[serde(default)]
        delay_evaluation: Option<u32>,
    },
    TruncationSelection {
        truncation_percentage: u32,
        #[serde(default)]
        evaluation_interval: Option<u32>,
        #[serde(default)]
        delay_evaluation: Option<u32>,
    },
}
