//! What an endpoint records of each scoring request, and the per-deployment metrics read
//! from those records: request count and rate, error rate (any status outside 2xx), and
//! latency percentiles by nearest rank (the smallest latency at or above which the given
//! share of requests fall: sorted ascending, the `ceil(q × n)`-th).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One scoring request, as the endpoint's router answered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// When the answer went back, RFC 3339 with milliseconds.
    pub time: String,
    /// The caller's `x-request-id`, else one the router made (and answered with).
    pub request_id: String,
    /// The deployment that answered, or was chosen to; none when the request was refused
    /// before one was (no key, a malformed request, no traffic).
    pub deployment: Option<String>,
    pub status: u16,
    /// From the request's arrival to its answer's head, in milliseconds.
    pub latency_ms: f64,
    pub request_bytes: u64,
    /// The answer's `Content-Length`, where it has one.
    pub response_bytes: Option<u64>,
}

/// A record's time as milliseconds since the epoch.
pub fn record_millis(record: &RequestRecord) -> Option<i64> {
    record.time.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
}

/// A time in the records' form: RFC 3339 UTC with milliseconds.
pub fn record_time(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis).map(|t| format!("{t:.3}")).unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointMetrics {
    pub endpoint: String,
    /// The window the figures cover: `since` to `until`.
    pub since: String,
    pub until: String,
    pub window_seconds: f64,
    pub deployments: Vec<DeploymentMetrics>,
    /// Requests refused before any deployment was chosen (no key, malformed, no traffic).
    pub unrouted_requests: u64,
    /// Where the figures come from when it is not the endpoint's own record of each request,
    /// and what that changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentMetrics {
    pub deployment: String,
    pub requests: u64,
    /// Requests over the whole window's seconds.
    pub requests_per_second: f64,
    /// Answers outside 2xx.
    pub errors: u64,
    pub error_rate: f64,
    pub latency_ms: Percentiles,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
}

/// Nearest rank over values sorted ascending; 0 for none.
fn nearest_rank(sorted: &[f64], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The metrics of the records whose time is in `[since, until)` (milliseconds), per
/// deployment (only `deployment` when given), in name order.
pub fn metrics(
    endpoint: &str,
    records: &[RequestRecord],
    (since, until): (i64, i64),
    deployment: Option<&str>,
) -> EndpointMetrics {
    let window_seconds = ((until - since) as f64 / 1000.0).max(0.001);
    let mut by_deployment: BTreeMap<&str, (u64, Vec<f64>)> = BTreeMap::new();
    let mut unrouted = 0;
    for record in records {
        if !record_millis(record).is_some_and(|t| t >= since && t < until) {
            continue;
        }
        let Some(name) = record.deployment.as_deref() else {
            unrouted += 1;
            continue;
        };
        if deployment.is_some_and(|only| only != name) {
            continue;
        }
        let (errors, latencies) = by_deployment.entry(name).or_default();
        if !(200..300).contains(&record.status) {
            *errors += 1;
        }
        latencies.push(record.latency_ms);
    }
    if let Some(only) = deployment {
        by_deployment.entry(only).or_default();
    }
    let deployments = by_deployment
        .into_iter()
        .map(|(name, (errors, mut latencies))| {
            latencies.sort_by(f64::total_cmp);
            let requests = latencies.len() as u64;
            DeploymentMetrics {
                deployment: name.to_string(),
                requests,
                requests_per_second: requests as f64 / window_seconds,
                errors,
                error_rate: if requests == 0 { 0.0 } else { errors as f64 / requests as f64 },
                latency_ms: Percentiles {
                    p50: nearest_rank(&latencies, 0.50),
                    p90: nearest_rank(&latencies, 0.90),
                    p95: nearest_rank(&latencies, 0.95),
                    p99: nearest_rank(&latencies, 0.99),
                },
            }
        })
        .collect();
    EndpointMetrics {
        endpoint: endpoint.to_string(),
        since: record_time(since),
        until: record_time(until),
        window_seconds,
        deployments,
        unrouted_requests: unrouted,
        note: None,
    }
}

/// One deployment's figures over time: each bucket's middle (seconds after `since`) and its
/// metrics, for buckets where it answered something.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentSeries {
    pub deployment: String,
    pub points: Vec<(f64, DeploymentMetrics)>,
}

/// The records' metrics in consecutive buckets of `bucket_ms` from `since` to `until`.
pub fn series(
    records: &[RequestRecord],
    (since, until): (i64, i64),
    bucket_ms: i64,
    deployment: Option<&str>,
) -> Vec<DeploymentSeries> {
    let bucket_ms = bucket_ms.max(1);
    // Each record read once, into its bucket; then each bucket's metrics from its own records.
    let mut buckets: BTreeMap<i64, Vec<RequestRecord>> = BTreeMap::new();
    for record in records {
        if let Some(at) = record_millis(record).filter(|t| *t >= since && *t < until) {
            buckets.entry((at - since) / bucket_ms).or_default().push(record.clone());
        }
    }
    let mut by_deployment: BTreeMap<String, Vec<(f64, DeploymentMetrics)>> = BTreeMap::new();
    for (index, in_bucket) in buckets {
        let start = since + index * bucket_ms;
        let end = (start + bucket_ms).min(until);
        let middle = ((start + end) as f64 / 2.0 - since as f64) / 1000.0;
        for figures in metrics("", &in_bucket, (start, end), deployment).deployments {
            if figures.requests > 0 {
                by_deployment.entry(figures.deployment.clone()).or_default().push((middle, figures));
            }
        }
    }
    by_deployment.into_iter().map(|(deployment, points)| DeploymentSeries { deployment, points }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at: i64, deployment: Option<&str>, status: u16, latency_ms: f64) -> RequestRecord {
        RequestRecord {
            time: record_time(at),
            request_id: format!("r{at}"),
            deployment: deployment.map(str::to_owned),
            status,
            latency_ms,
            request_bytes: 10,
            response_bytes: Some(5),
        }
    }

    #[test]
    fn percentiles_are_nearest_rank_and_errors_are_outside_2xx() {
        let start = 1_700_000_000_000;
        let mut records: Vec<RequestRecord> =
            (1..=100).map(|i| record(start + i, Some("blue"), if i % 10 == 0 { 500 } else { 200 }, i as f64)).collect();
        records.push(record(start + 5, None, 401, 0.1));
        records.push(record(start - 1, Some("blue"), 200, 1000.0));
        records.push(record(start + 7, Some("green"), 204, 3.0));
        let got = metrics("e", &records, (start, start + 10_000), None);
        assert_eq!(got.unrouted_requests, 1);
        let blue = &got.deployments[0];
        assert_eq!((blue.deployment.as_str(), blue.requests, blue.errors), ("blue", 100, 10));
        assert_eq!(blue.latency_ms, Percentiles { p50: 50.0, p90: 90.0, p95: 95.0, p99: 99.0 });
        assert_eq!(blue.requests_per_second, 10.0);
        assert_eq!(blue.error_rate, 0.1);
        assert_eq!(got.deployments[1].latency_ms.p99, 3.0);
        let only = metrics("e", &records, (start, start + 10_000), Some("teal"));
        assert_eq!(only.deployments.len(), 1);
        assert_eq!(only.deployments[0].requests, 0);
        assert_eq!(record_millis(&record(start, None, 200, 1.0)), Some(start));
    }

    #[test]
    fn a_series_buckets_the_window_and_skips_empty_buckets() {
        let start = 1_700_000_000_000;
        let records: Vec<RequestRecord> = [(100, 1.0), (200, 3.0), (2_500, 10.0)]
            .iter()
            .map(|(at, latency)| record(start + at, Some("blue"), 200, *latency))
            .collect();
        let got = series(&records, (start, start + 3_000), 1_000, None);
        assert_eq!(got.len(), 1);
        let points: Vec<(f64, u64, f64)> =
            got[0].points.iter().map(|(t, m)| (*t, m.requests, m.latency_ms.p99)).collect();
        assert_eq!(points, [(0.5, 2, 3.0), (2.5, 1, 10.0)]);
    }
}
