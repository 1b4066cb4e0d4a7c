//! An endpoint's request metrics from Azure Monitor, as azure-mgmt-monitor's
//! `MetricsOperations.list` asks for them: `RequestsPerMinute` split by `deployment` and
//! `statusCodeClass`, and `RequestLatency_P50…P99` split by `deployment`, on the endpoint
//! resource, per minute (the grain Azure ML publishes them at).
//!
//! The figures are read into the same `EndpointMetrics` the local records give, with what
//! differs said in its `note`: counts are whole minutes that overlap the window, and a
//! percentile is the minutes' own percentiles averaged, weighted by their requests (Azure
//! Monitor keeps no single requests).

use std::collections::BTreeMap;

use serde_json::Value;

use aml_core::error::{Error, Result};
use aml_core::requests::{DeploymentMetrics, EndpointMetrics, Percentiles, record_time};

use super::AzureWorkspace;

/// The api-version azure-mgmt-monitor 7.0.0 calls the metrics list with.
const MONITOR_API_VERSION: &str = "2024-02-01";
const LATENCIES: [&str; 4] = ["RequestLatency_P50", "RequestLatency_P90", "RequestLatency_P95", "RequestLatency_P99"];

pub const AZURE_MONITOR_NOTE: &str = "from Azure Monitor (RequestsPerMinute, RequestLatency_P50…P99 by deployment): whole minutes that overlap the window, percentiles the minutes' own averaged by their requests, refused requests not counted; Azure publishes them a few minutes late";

/// One minute's value of a metric for one deployment (and status class).
#[derive(Default)]
struct Minutes {
    /// requests by minute, for each status class
    requests: BTreeMap<String, BTreeMap<String, f64>>,
    /// each latency metric's value by minute
    latency: BTreeMap<&'static str, BTreeMap<String, f64>>,
}

impl AzureWorkspace {
    pub async fn endpoint_metrics(
        &self,
        endpoint: &str,
        deployment: Option<&str>,
        (since, until): (i64, i64),
    ) -> Result<EndpointMetrics> {
        let resource = format!("{}/onlineEndpoints/{endpoint}", self.prefix);
        if self.arm.get_optional::<Value>(&resource).await?.is_none() {
            return Err(Error::usage(
                format!("no endpoint named `{endpoint}` in this workspace"),
                "`aml-deploy list` lists them",
            ));
        }
        let timespan = format!("{}/{}", timespan_time(since), timespan_time(until + 999));
        let mut by_deployment: BTreeMap<String, Minutes> = BTreeMap::new();
        let counts = self
            .metrics(&resource, &timespan, "RequestsPerMinute", "deployment eq '*' and statusCodeClass eq '*'")
            .await?;
        for (dimensions, points) in series(&counts, "RequestsPerMinute") {
            let Some(name) = dimensions.get("deployment") else { continue };
            let class = dimensions.get("statuscodeclass").cloned().unwrap_or_default();
            by_deployment.entry(name.clone()).or_default().requests.entry(class).or_default().extend(points);
        }
        let latencies = self.metrics(&resource, &timespan, &LATENCIES.join(","), "deployment eq '*'").await?;
        for metric in LATENCIES {
            for (dimensions, points) in series(&latencies, metric) {
                let Some(name) = dimensions.get("deployment") else { continue };
                by_deployment.entry(name.clone()).or_default().latency.entry(metric).or_default().extend(points);
            }
        }
        if let Some(only) = deployment {
            by_deployment.retain(|name, _| name == only);
            by_deployment.entry(only.to_string()).or_default();
        }
        let window_seconds = ((until - since) as f64 / 1000.0).max(0.001);
        let deployments =
            by_deployment.into_iter().map(|(name, minutes)| figures(name, &minutes, window_seconds)).collect();
        Ok(EndpointMetrics {
            endpoint: endpoint.to_string(),
            since: record_time(since),
            until: record_time(until),
            window_seconds,
            deployments,
            unrouted_requests: 0,
            note: Some(AZURE_MONITOR_NOTE.into()),
        })
    }

    async fn metrics(&self, resource: &str, timespan: &str, names: &str, filter: &str) -> Result<Value> {
        let encode = aml_http::url::encode_component;
        let path = format!(
            "{resource}/providers/Microsoft.Insights/metrics?timespan={}&interval=PT1M&metricnames={}&aggregation=average&$filter={}",
            encode(timespan),
            encode(names),
            encode(filter)
        );
        self.arm.get(&self.arm.url_with_version(&path, MONITOR_API_VERSION)).await
    }
}

/// Each time series of `metric` in a metrics answer: its dimensions (names lower case) and its
/// minutes that have a value.
fn series(answer: &Value, metric: &str) -> Vec<(BTreeMap<String, String>, BTreeMap<String, f64>)> {
    let mut found = Vec::new();
    for entry in answer["value"].as_array().into_iter().flatten() {
        if !entry["name"]["value"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(metric)) {
            continue;
        }
        for timeseries in entry["timeseries"].as_array().into_iter().flatten() {
            let dimensions = timeseries["metadatavalues"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| {
                    Some((m["name"]["value"].as_str()?.to_ascii_lowercase(), m["value"].as_str()?.to_string()))
                })
                .collect();
            let points = timeseries["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| Some((p["timeStamp"].as_str()?.to_string(), p["average"].as_f64()?)))
                .collect();
            found.push((dimensions, points));
        }
    }
    found
}

fn figures(name: String, minutes: &Minutes, window_seconds: f64) -> DeploymentMetrics {
    let mut per_minute: BTreeMap<&str, f64> = BTreeMap::new();
    let (mut requests, mut errors) = (0.0, 0.0);
    for (class, points) in &minutes.requests {
        for (minute, count) in points {
            *per_minute.entry(minute).or_default() += count;
            requests += count;
            if !class.eq_ignore_ascii_case("2xx") {
                errors += count;
            }
        }
    }
    let weighted = |metric: &str| {
        let Some(points) = minutes.latency.get(metric) else { return 0.0 };
        let (mut sum, mut weight) = (0.0, 0.0);
        for (minute, value) in points {
            let w = per_minute.get(minute.as_str()).copied().unwrap_or(0.0);
            sum += value * w;
            weight += w;
        }
        if weight > 0.0 { sum / weight } else { 0.0 }
    };
    let requests = requests.round() as u64;
    let errors = errors.round() as u64;
    DeploymentMetrics {
        deployment: name,
        requests,
        requests_per_second: requests as f64 / window_seconds,
        errors,
        error_rate: if requests == 0 { 0.0 } else { errors as f64 / requests as f64 },
        latency_ms: Percentiles {
            p50: weighted("RequestLatency_P50"),
            p90: weighted("RequestLatency_P90"),
            p95: weighted("RequestLatency_P95"),
            p99: weighted("RequestLatency_P99"),
        },
    }
}

/// A time for a metrics `timespan`: whole seconds (rounded down), UTC.
fn timespan_time(millis: i64) -> String {
    jiff::Timestamp::from_second(millis.div_euclid(1000)).map(|t| t.to_string()).unwrap_or_default()
}
