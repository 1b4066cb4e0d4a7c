//! A sweep job as trials: each point the sampling algorithm draws from the search space
//! becomes a command step with its `${{search_space.<name>}}` values in place. Random
//! sampling is seeded (the seed is said, so a sweep can be replayed); a finite space is
//! drawn without repeats, as each trial would otherwise run the same point twice.

use std::collections::BTreeMap;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use yaml_serde::Value;

use super::build::{
    Blocker, DataResolver, Notes, PipelineOutput, Plan, Scope, StepPlan, SweepSettings, check_command, pairs,
    plan_code, plan_environment, plan_input,
};
use super::template;
use crate::error::{Error, Result};
use crate::yaml::sweep::{Distribution, Sampling, SweepJob};

/// The most trials a local sweep plans: each is a job with its own folder and records.
const MAX_LOCAL_TRIALS: u32 = 1000;

pub(super) async fn plan_sweep(
    file: &Path,
    job: &SweepJob,
    ws: Option<&dyn DataResolver>,
    notes: &mut Notes,
) -> Result<Plan> {
    let mut inputs = Vec::new();
    for (name, input) in job.inputs.iter() {
        inputs.push((name.clone(), plan_input(file, &format!("inputs.{name}"), input, ws, notes).await?));
    }
    let outputs: Vec<(String, crate::yaml::job::AssetType)> =
        job.outputs.iter().map(|(n, o)| (n.clone(), o.kind())).collect();
    let environment = plan_environment(file, "trial.environment", &job.trial.environment, &mut notes.warnings)?;
    let environment = super::build::resolve_environment(file, "trial.environment", environment, ws, notes).await?;
    let code = plan_code(file, "trial.code", job.trial.code.as_deref())?;
    let limits = job.limits.clone().unwrap_or_default();
    if limits.max_concurrent_trials.is_some_and(|n| n > 1) {
        notes.warnings.push("limits.max_concurrent_trials: locally the trials run one at a time".into());
    }
    if job.search_space.is_empty() {
        return Err(Error::in_file(
            file,
            Some("search_space"),
            "is empty",
            "give at least one dimension, e.g. `alpha: {type: choice, values: [0.1, 1.0]}`",
        ));
    }

    let points = match sample(file, job, notes)? {
        Some(points) => points,
        // Not drawable here (bayesian sampling, an unbounded random sweep): one trial with
        // the first value of each dimension still has its command checked.
        None => vec![first_point(job)],
    };
    let mut steps = Vec::new();
    let mut trials = Vec::new();
    for (index, values) in points.into_iter().enumerate() {
        let command = template::substitute_search_space(&job.trial.command, &values).map_err(|problem| {
            Error::in_file(file, Some("trial.command"), problem, "name a dimension of `search_space:`")
        })?;
        check_command(file, "trial.command", &command, &inputs, &outputs)?;
        let step = index.to_string();
        let shown: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        steps.push(StepPlan {
            step: Some(step.clone()),
            display_name: Some(format!("trial {index}: {}", shown.join(" "))),
            command,
            code: code.clone(),
            environment: environment.clone(),
            environment_variables: pairs(&job.trial.environment_variables),
            inputs: inputs.clone(),
            outputs: outputs.clone(),
            timeout_seconds: limits.trial_timeout,
            depends_on: Vec::new(),
            parallel: false,
            default_artifacts: false,
        });
        trials.push((step, values));
    }
    Ok(Plan {
        file: file.to_path_buf(),
        kind: "sweep",
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
        steps,
        continue_on_step_failure: true,
        warnings: Vec::new(),
        blockers: Vec::new(),
        sweep: Some(SweepSettings {
            primary_metric: job.objective.primary_metric.clone(),
            goal: job.objective.goal,
            policy: job.early_termination.clone(),
            timeout_seconds: limits.timeout,
            trials,
        }),
    })
}

/// The points to run, or None when they cannot be drawn here (said as a blocker).
fn sample(file: &Path, job: &SweepJob, notes: &mut Notes) -> Result<Option<Vec<BTreeMap<String, String>>>> {
    let max_trials = job.limits.as_ref().and_then(|l| l.max_total_trials);
    if max_trials == Some(0) {
        return Err(Error::in_file(file, Some("limits.max_total_trials"), "is 0", "run 1 trial at least"));
    }
    let dimensions: Vec<(&String, &Distribution)> = job.search_space.iter().collect();
    for (name, distribution) in &dimensions {
        check_distribution(file, name, distribution)?;
    }
    // A space of `choice` dimensions only is finite: its points are numbered in the order
    // grid sampling visits them (the last dimension fastest), never all held at once.
    let finite: Option<Vec<(&String, Vec<String>)>> = dimensions
        .iter()
        .map(|(name, d)| match d {
            Distribution::Choice { values } => Some((*name, values.iter().filter_map(scalar).collect())),
            _ => None,
        })
        .collect();
    let size: Option<u128> = finite.as_ref().map(|dims| {
        dims.iter().try_fold(1u128, |n, (_, values)| n.checked_mul(values.len() as u128)).unwrap_or(u128::MAX)
    });
    let point = |mut index: u128| -> BTreeMap<String, String> {
        let mut point = BTreeMap::new();
        for (name, values) in finite.iter().flatten().rev() {
            let len = values.len() as u128;
            point.insert((*name).clone(), values[(index % len) as usize].clone());
            index /= len;
        }
        point
    };
    let too_many = |count: u128, notes: &mut Notes| {
        notes.blockers.push(Blocker {
            field: "limits.max_total_trials".into(),
            problem: format!("{count} trials is more than the {MAX_LOCAL_TRIALS} a local sweep runs"),
            hint: format!("give `limits: {{max_total_trials: N}}` with N up to {MAX_LOCAL_TRIALS} to run here"),
            scope: Scope::Local,
        });
    };
    match job.sampling_algorithm.kind {
        Sampling::Bayesian => {
            notes.blockers.push(Blocker {
                field: "sampling_algorithm".into(),
                problem:
                    "bayesian sampling needs a model of the trials run so far, which the local workspace does not have"
                        .into(),
                hint: "use `random` or `grid` sampling to run here".into(),
                scope: Scope::Local,
            });
            Ok(None)
        }
        Sampling::Grid => {
            let Some(size) = size else {
                return Err(Error::in_file(
                    file,
                    Some("sampling_algorithm"),
                    "grid sampling takes `choice` dimensions only (Azure ML refuses the others too)",
                    "make every dimension `type: choice`, or use `random` sampling",
                ));
            };
            let count = max_trials.map_or(size, |n| size.min(n as u128));
            if count > MAX_LOCAL_TRIALS as u128 {
                too_many(count, notes);
                return Ok(None);
            }
            Ok(Some((0..count).map(point).collect()))
        }
        Sampling::Random => {
            let seed = match job.sampling_algorithm.seed {
                Some(seed) => seed,
                None => {
                    let mut bytes = [0u8; 8];
                    getrandom::fill(&mut bytes).map_err(|e| Error::usage(format!("no randomness: {e}"), ""))?;
                    let seed = u64::from_le_bytes(bytes) >> 1;
                    notes.warnings.push(format!(
                        "random sampling drew with seed {seed}; `sampling_algorithm: {{type: random, seed: {seed}}}` draws the same trials"
                    ));
                    seed
                }
            };
            let mut rng = StdRng::seed_from_u64(seed);
            if let Some(size) = size {
                let count = max_trials.map_or(size, |n| size.min(n as u128));
                if count > MAX_LOCAL_TRIALS as u128 {
                    too_many(count, notes);
                    return Ok(None);
                }
                // Without repeats: distinct point numbers, drawn by rejection (count is small).
                let mut drawn = std::collections::BTreeSet::new();
                let mut order = Vec::new();
                while (order.len() as u128) < count {
                    let index = rng.random_range(0..size);
                    if drawn.insert(index) {
                        order.push(index);
                    }
                }
                return Ok(Some(order.into_iter().map(point).collect()));
            }
            let Some(count) = max_trials else {
                notes.blockers.push(Blocker {
                    field: "limits.max_total_trials".into(),
                    problem: "is not given, and random sampling of a continuous space never runs out of points".into(),
                    hint: "give `limits: {max_total_trials: N}` to run here".into(),
                    scope: Scope::Local,
                });
                return Ok(None);
            };
            if count > MAX_LOCAL_TRIALS {
                too_many(count as u128, notes);
                return Ok(None);
            }
            Ok(Some(
                (0..count)
                    .map(|_| dimensions.iter().map(|(name, d)| ((*name).clone(), draw(d, &mut rng))).collect())
                    .collect(),
            ))
        }
    }
}

fn check_distribution(file: &Path, name: &str, distribution: &Distribution) -> Result<()> {
    let field = format!("search_space.{name}");
    let problem = match distribution {
        Distribution::Choice { values } if values.is_empty() => Some("has no values"),
        Distribution::Choice { values } if values.len() > 100_000 => Some("has more than 100,000 values"),
        Distribution::Choice { values } if values.iter().any(|v| scalar(v).is_none()) => {
            Some("has a value that is not a number, a string or a boolean")
        }
        Distribution::Randint { upper } if *upper <= 0 => Some("`upper` must be above 0"),
        Distribution::Uniform { min_value, max_value }
        | Distribution::Loguniform { min_value, max_value }
        | Distribution::Quniform { min_value, max_value, .. }
        | Distribution::Qloguniform { min_value, max_value, .. }
            if min_value > max_value =>
        {
            Some("`min_value` is above `max_value`")
        }
        Distribution::Normal { sigma, .. }
        | Distribution::Lognormal { sigma, .. }
        | Distribution::Qnormal { sigma, .. }
        | Distribution::Qlognormal { sigma, .. }
            if *sigma < 0.0 =>
        {
            Some("`sigma` is below 0")
        }
        Distribution::Quniform { q, .. }
        | Distribution::Qloguniform { q, .. }
        | Distribution::Qnormal { q, .. }
        | Distribution::Qlognormal { q, .. }
            if *q <= 0.0 =>
        {
            Some("`q` must be above 0")
        }
        _ => None,
    };
    match problem {
        Some(problem) => {
            Err(Error::in_file(file, Some(&field), problem, "see the search space types of `az ml` sweep jobs"))
        }
        None => Ok(()),
    }
}

/// A choice value as the command receives it.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    }
}

fn first_point(job: &SweepJob) -> BTreeMap<String, String> {
    let mut rng = StdRng::seed_from_u64(0);
    job.search_space.iter().map(|(name, d)| (name.clone(), draw(d, &mut rng))).collect()
}

/// One value of a dimension, as Hyperopt-style distributions define them: the `log` ones
/// take their bounds as exponents, the `q` ones round to a multiple of `q`.
fn draw(distribution: &Distribution, rng: &mut StdRng) -> String {
    let quantize = |x: f64, q: f64| (x / q).round() * q;
    let value = match distribution {
        Distribution::Choice { values } => {
            let picked = rng.random_range(0..values.len().max(1));
            return values.get(picked).and_then(scalar).unwrap_or_default();
        }
        Distribution::Randint { upper } => return rng.random_range(0..(*upper).max(1)).to_string(),
        Distribution::Uniform { min_value, max_value } => uniform(rng, *min_value, *max_value),
        Distribution::Loguniform { min_value, max_value } => uniform(rng, *min_value, *max_value).exp(),
        Distribution::Quniform { min_value, max_value, q } => quantize(uniform(rng, *min_value, *max_value), *q),
        Distribution::Qloguniform { min_value, max_value, q } => {
            quantize(uniform(rng, *min_value, *max_value).exp(), *q)
        }
        Distribution::Normal { mu, sigma } => normal(rng, *mu, *sigma),
        Distribution::Lognormal { mu, sigma } => normal(rng, *mu, *sigma).exp(),
        Distribution::Qnormal { mu, sigma, q } => quantize(normal(rng, *mu, *sigma), *q),
        Distribution::Qlognormal { mu, sigma, q } => quantize(normal(rng, *mu, *sigma).exp(), *q),
    };
    value.to_string()
}

fn uniform(rng: &mut StdRng, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.random::<f64>()
}

/// Box–Muller: two uniforms to one standard normal.
fn normal(rng: &mut StdRng, mu: f64, sigma: f64) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    mu + sigma * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A drawn value as a number: the commands receive them as text.
    fn number<T: std::str::FromStr>(distribution: &Distribution, rng: &mut StdRng) -> Option<T> {
        draw(distribution, rng).parse().ok()
    }

    #[test]
    fn draws_stay_in_their_bounds_and_on_their_grid() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..500 {
            let x: Option<f64> = number(&Distribution::Uniform { min_value: 0.5, max_value: 0.9 }, &mut rng);
            assert!(x.is_some_and(|x| (0.5..=0.9).contains(&x)), "{x:?}");
            let q: Option<f64> = number(&Distribution::Quniform { min_value: 0.0, max_value: 10.0, q: 2.0 }, &mut rng);
            assert!(q.is_some_and(|q| q % 2.0 == 0.0), "{q:?}");
            let n: Option<i64> = number(&Distribution::Randint { upper: 3 }, &mut rng);
            assert!(n.is_some_and(|n| (0..3).contains(&n)), "{n:?}");
            let l: Option<f64> = number(&Distribution::Loguniform { min_value: -2.0, max_value: 0.0 }, &mut rng);
            assert!(l.is_some_and(|l| ((-2f64).exp()..=1.0).contains(&l)), "{l:?}");
        }
    }
}
