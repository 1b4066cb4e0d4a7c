//! Sending the cases: once each, or under load (N connections for a duration or a number
//! of requests), checking every answer. Workers keep their own statistics and merge them at
//! the end, so counting costs no lock on the hot path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aml_client::scoring::ScoringClient;
use tokio::sync::Mutex;

use crate::cases::Case;
use crate::histogram::Histogram;

#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// Each case once, in order.
    Once,
    Requests(u64),
    Elapsed(Duration),
}

#[derive(Clone, Default)]
pub struct CaseStats {
    pub requests: u64,
    pub failures: u64,
    pub first_failure: Option<String>,
    pub histogram: Histogram,
}

#[derive(Clone, Default)]
pub struct Outcome {
    pub cases: Vec<CaseStats>,
    pub histogram: Histogram,
    pub requests: u64,
    /// Requests that got no HTTP answer at all.
    pub errors: u64,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub async fn run(client: &ScoringClient, cases: &Arc<Vec<Case>>, concurrency: usize, until: Until) -> Outcome {
    let bodies: Arc<Vec<axum_bytes::Bytes>> =
        Arc::new(cases.iter().map(|c| axum_bytes::Bytes::from(c.body.clone())).collect());
    let (concurrency, limit, deadline) = match until {
        Until::Once => (1, Some(cases.len() as u64), None),
        Until::Requests(n) => (concurrency.max(1), Some(n), None),
        Until::Elapsed(d) => (concurrency.max(1), None, Some(Instant::now() + d)),
    };
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let merged = Arc::new(Mutex::new(Outcome { cases: vec![CaseStats::default(); cases.len()], ..Outcome::default() }));
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (client, cases, bodies, next, merged) =
            (client.clone(), cases.clone(), bodies.clone(), next.clone(), merged.clone());
        workers.push(tokio::spawn(async move {
            let mut mine = Outcome { cases: vec![CaseStats::default(); cases.len()], ..Outcome::default() };
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let n = next.fetch_add(1, Ordering::Relaxed);
                if limit.is_some_and(|l| n >= l) {
                    break;
                }
                let index = (n % cases.len() as u64) as usize;
                let answer = client.score(bodies[index].clone()).await;
                let case = &cases[index];
                let stats = &mut mine.cases[index];
                stats.requests += 1;
                stats.histogram.record(answer.latency);
                mine.histogram.record(answer.latency);
                mine.requests += 1;
                let failure = match &answer.error {
                    Some(error) => {
                        mine.errors += 1;
                        Some(format!("no answer: {error}"))
                    }
                    None => case.check(answer.status, &answer.body),
                };
                if let Some(failure) = failure {
                    stats.failures += 1;
                    stats.first_failure.get_or_insert(failure);
                }
            }
            let mut all = merged.lock().await;
            for (total, part) in all.cases.iter_mut().zip(&mine.cases) {
                total.requests += part.requests;
                total.failures += part.failures;
                total.histogram.merge(&part.histogram);
                if total.first_failure.is_none() {
                    total.first_failure = part.first_failure.clone();
                }
            }
            all.histogram.merge(&mine.histogram);
            all.requests += mine.requests;
            all.errors += mine.errors;
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    let mut outcome = merged.lock().await.clone();
    outcome.elapsed = start.elapsed();
    outcome
}

/// One step of `profile`: the load at one concurrency.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProfileStep {
    pub concurrency: usize,
    pub requests: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub failures: u64,
    pub within_budget: bool,
    /// The deployment's CPU use over the step, in cores (where its processes can be read).
    pub cpu_cores: Option<f64>,
    /// The most memory its processes held at once during the step, resident, in bytes.
    pub peak_memory_bytes: Option<u64>,
}

/// Double the concurrency from 1 until the budget breaks, answers fail, or the ceiling.
/// With `server` (the session leader of the deployment's processes), each step also
/// records what the deployment used.
pub async fn profile(
    client: &ScoringClient,
    cases: &Arc<Vec<Case>>,
    budget: (f64, f64),
    max_concurrency: usize,
    step: Duration,
    server: Option<u32>,
) -> Vec<ProfileStep> {
    let (quantile, limit_ms) = budget;
    let mut steps = Vec::new();
    let mut concurrency = 1;
    while concurrency <= max_concurrency.max(1) {
        aml_client::status!("profile: {concurrency} connection(s) for {}s", step.as_secs_f64());
        let sampler = server.map(Sampler::start);
        let outcome = run(client, cases, concurrency, Until::Elapsed(step)).await;
        let used = match sampler {
            Some(sampler) => sampler.finish().await,
            None => None,
        };
        let failures: u64 = outcome.cases.iter().map(|c| c.failures).sum();
        let measured = outcome.histogram.percentile_ms(quantile);
        let within_budget = failures == 0 && measured <= limit_ms;
        steps.push(ProfileStep {
            concurrency,
            requests: outcome.requests,
            requests_per_second: outcome.requests_per_second(),
            p50_ms: outcome.histogram.percentile_ms(0.50),
            p95_ms: outcome.histogram.percentile_ms(0.95),
            p99_ms: outcome.histogram.percentile_ms(0.99),
            failures,
            within_budget,
            cpu_cores: used.map(|u| u.cpu_cores),
            peak_memory_bytes: used.map(|u| u.peak_memory_bytes),
        });
        if !within_budget {
            break;
        }
        concurrency *= 2;
    }
    steps
}

/// What the deployment used over one step.
#[derive(Debug, Clone, Copy)]
struct Used {
    cpu_cores: f64,
    peak_memory_bytes: u64,
}

/// Reads the deployment's processes every 50 ms while a step runs.
struct Sampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Option<Used>>,
}

impl Sampler {
    fn start(server: u32) -> Sampler {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let first = aml_client::usage::session_usage(server)?;
            let mut peak = first.resident_bytes;
            let mut last = first;
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
                if let Some(now) = aml_client::usage::session_usage(server) {
                    peak = peak.max(now.resident_bytes);
                    last = now;
                }
            }
            if let Some(now) = aml_client::usage::session_usage(server) {
                peak = peak.max(now.resident_bytes);
                last = now;
            }
            let seconds = started.elapsed().as_secs_f64().max(1e-3);
            Some(Used {
                cpu_cores: ((last.cpu_seconds - first.cpu_seconds) / seconds).max(0.0),
                peak_memory_bytes: peak,
            })
        });
        Sampler { stop, task }
    }

    async fn finish(self) -> Option<Used> {
        let _ = self.stop.send(());
        self.task.await.ok().flatten()
    }
}

/// `Bytes`, as the scoring client takes them.
mod axum_bytes {
    pub use aml_client::scoring::Bytes;
}
