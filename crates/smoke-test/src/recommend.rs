//! `profile --recommend`: what one instance of the deployment needs, from what it used
//! while it held the most load within the budget, and how many instances a target rate
//! takes. Every figure is a measurement rounded up, except the memory limit's headroom:
//!
//! - `requests.cpu`: the CPU it used at the best step (the most requests a second within the
//!   budget), rounded up to a tenth of a core;
//! - `limits.cpu`: the most CPU any step made it use, rounded up likewise (at least the request);
//! - `requests.memory`: the most memory its processes held at once, over all steps, in Mi;
//! - `limits.memory`: a quarter more than that, because going over the limit is a kill;
//! - `instance_count`: the target rate over the best step's rate, rounded up.

use serde::Serialize;

use crate::load::ProfileStep;

const MIB: f64 = 1024.0 * 1024.0;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Recommendation {
    pub deployment: String,
    pub target_requests_per_second: f64,
    pub per_instance_requests_per_second: f64,
    /// The connections of the step the figures come from.
    pub concurrency: usize,
    pub instance_count: u64,
    pub measured: Measured,
    pub resources: Resources,
    /// The same, as a block to paste into the deployment's YAML file.
    pub yaml: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Measured {
    pub cpu_cores: f64,
    pub peak_cpu_cores: f64,
    pub peak_memory_bytes: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Resources {
    pub requests: Figures,
    pub limits: Figures,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Figures {
    pub cpu: String,
    pub memory: String,
}

/// The recommendation for `target` requests a second (the best step's own rate when none),
/// or `None` when no step held the budget or the steps carry no resource figures.
pub fn recommend(
    deployment: &str,
    steps: &[ProfileStep],
    best: &ProfileStep,
    target: Option<f64>,
) -> Option<Recommendation> {
    let cpu = best.cpu_cores?;
    let peak_cpu = steps.iter().filter_map(|s| s.cpu_cores).fold(cpu, f64::max);
    let peak_memory = steps.iter().filter_map(|s| s.peak_memory_bytes).max()?;
    let per_instance = best.requests_per_second;
    if per_instance <= 0.0 {
        return None;
    }
    let target = target.unwrap_or(per_instance);
    let instance_count = ((target / per_instance).ceil() as u64).max(1);
    let request_cpu = tenths_up(cpu);
    let limit_cpu = tenths_up(peak_cpu).max(request_cpu);
    let request_memory = (peak_memory as f64 / MIB).ceil() as u64;
    let limit_memory = (request_memory as f64 * 1.25).ceil() as u64;
    let resources = Resources {
        requests: Figures { cpu: millicores(request_cpu), memory: format!("{request_memory}Mi") },
        limits: Figures { cpu: millicores(limit_cpu), memory: format!("{limit_memory}Mi") },
    };
    let yaml = format!(
        "instance_count: {instance_count}\nresources:\n  requests:\n    cpu: \"{}\"\n    memory: {}\n  limits:\n    cpu: \"{}\"\n    memory: {}\n",
        resources.requests.cpu, resources.requests.memory, resources.limits.cpu, resources.limits.memory
    );
    Some(Recommendation {
        deployment: deployment.to_string(),
        target_requests_per_second: target,
        per_instance_requests_per_second: per_instance,
        concurrency: best.concurrency,
        instance_count,
        measured: Measured { cpu_cores: cpu, peak_cpu_cores: peak_cpu, peak_memory_bytes: peak_memory },
        resources,
        yaml,
    })
}

/// Tenths of a core, rounded up, at least one.
fn tenths_up(cores: f64) -> u64 {
    ((cores * 10.0 - 1e-9).ceil() as u64).max(1)
}

fn millicores(tenths: u64) -> String {
    format!("{}m", tenths * 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(concurrency: usize, rps: f64, cpu: f64, memory_mib: u64, within_budget: bool) -> ProfileStep {
        ProfileStep {
            concurrency,
            requests: 100,
            requests_per_second: rps,
            p50_ms: 1.0,
            p95_ms: 2.0,
            p99_ms: 3.0,
            failures: 0,
            within_budget,
            cpu_cores: Some(cpu),
            peak_memory_bytes: Some(memory_mib * 1024 * 1024 + 1),
        }
    }

    #[test]
    fn figures_are_the_measurements_rounded_up() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let steps = [step(1, 40.0, 0.31, 120, true), step(2, 70.0, 0.62, 130, true), step(4, 65.0, 0.91, 140, false)];
        let got = recommend("blue", &steps, &steps[1], Some(150.0)).ok_or("no recommendation")?;
        assert_eq!(got.instance_count, 3, "150 req/s at 70 a instance");
        assert_eq!(got.resources.requests, Figures { cpu: "700m".into(), memory: "141Mi".into() });
        assert_eq!(got.resources.limits, Figures { cpu: "1000m".into(), memory: "177Mi".into() });
        assert!(got.yaml.contains("instance_count: 3\nresources:\n  requests:\n    cpu: \"700m\""), "{}", got.yaml);
        let alone = recommend("blue", &steps, &steps[1], None).ok_or("no recommendation")?;
        assert_eq!(alone.instance_count, 1);
        assert_eq!(alone.target_requests_per_second, 70.0);
        Ok(())
    }

    #[test]
    fn no_figures_no_recommendation() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let mut unmeasured = step(1, 40.0, 0.3, 100, true);
        unmeasured.cpu_cores = None;
        assert_eq!(recommend("blue", std::slice::from_ref(&unmeasured), &unmeasured, None), None);
        let idle = step(1, 40.0, 0.0, 100, true);
        let idle = recommend("blue", std::slice::from_ref(&idle), &idle, None).ok_or("no recommendation")?;
        assert_eq!(idle.resources.requests.cpu, "100m");
        Ok(())
    }
}
