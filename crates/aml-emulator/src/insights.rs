//! Azure Monitor's metrics of an online endpoint (`…/onlineEndpoints/E/providers/
//! Microsoft.Insights/metrics`), answered from the emulator's own router: the request records
//! its local endpoint keeps, read per minute as Azure ML publishes them — `RequestsPerMinute`
//! split by `deployment` and `statusCodeClass`, `RequestLatency_P50…P99` by `deployment`
//! (each minute's nearest-rank percentile, computed here, not by the library). The query is
//! held to azure-mgmt-monitor's request builder and the answer to its `Response` model.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::schema::Direction;
use crate::state::{Answer, State, arm_error, ok};

pub const METRICS_PATH: &str = "/providers/Microsoft.Insights/metrics";

const NAMESPACE: &str = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints";

/// (REST name, display name, unit, the quantile for a latency).
const KNOWN: [(&str, &str, &str, Option<f64>); 5] = [
    ("RequestsPerMinute", "Requests Per Minute", "Count", None),
    ("RequestLatency_P50", "Request Latency P50", "MilliSeconds", Some(0.50)),
    ("RequestLatency_P90", "Request Latency P90", "MilliSeconds", Some(0.90)),
    ("RequestLatency_P95", "Request Latency P95", "MilliSeconds", Some(0.95)),
    ("RequestLatency_P99", "Request Latency P99", "MilliSeconds", Some(0.99)),
];

/// One request as a minute of metrics sees it.
struct Seen {
    minute: i64,
    deployment: String,
    class: String,
    latency_ms: f64,
}

impl State {
    pub(crate) fn insights(&mut self, method: &str, path: &str, query: &BTreeMap<String, String>) -> Answer {
        let what = format!("{method} {path}");
        if method != "GET" {
            self.violations.push(format!("{what}: not an operation azure-mgmt-monitor makes"));
            return arm_error(405, "MethodNotAllowed", "metrics are read with GET");
        }
        let as_json = Value::Object(query.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect());
        for problem in self.monitor.check("MetricsListQuery", &as_json, Direction::Request) {
            self.violations.push(format!("{what} (query): {problem}"));
        }
        if query.get("api-version") != Some(&self.monitor.api_version) {
            self.violations.push(format!(
                "{what}: api-version {:?}, not {}",
                query.get("api-version"),
                self.monitor.api_version
            ));
            return arm_error(400, "InvalidApiVersionParameter", "unsupported api-version");
        }
        let resource = path.strip_suffix(METRICS_PATH).unwrap_or(path);
        let endpoint = resource
            .strip_prefix(&format!("{}/onlineEndpoints/", crate::common::workspace_id()))
            .filter(|name| !name.contains('/'));
        let Some(endpoint) = endpoint.filter(|name| self.endpoints.contains_key(*name)).map(str::to_owned) else {
            return arm_error(404, "ResourceNotFound", &format!("The Resource '{resource}' was not found."));
        };
        if query.get("interval").map(String::as_str) != Some("PT1M") {
            return arm_error(400, "BadRequest", "the emulator answers the interval Azure ML publishes at, PT1M");
        }
        if !query.get("aggregation").is_some_and(|a| a.split(',').any(|x| x.trim().eq_ignore_ascii_case("average"))) {
            return arm_error(400, "BadRequest", "the emulator answers the average aggregation");
        }
        let Some((start, end)) = query.get("timespan").and_then(|t| timespan(t)) else {
            return arm_error(400, "BadRequest", "timespan is not `start/end`");
        };
        let split = split_by(query.get("$filter").map(String::as_str).unwrap_or(""));
        let mut metrics = Vec::new();
        for name in query.get("metricnames").map(String::as_str).unwrap_or("").split(',') {
            let Some(known) = KNOWN.iter().find(|k| k.0.eq_ignore_ascii_case(name.trim())) else {
                return arm_error(
                    400,
                    "BadRequest",
                    &format!("Failed to find metric configuration for provider: {NAMESPACE}, metric: {name}"),
                );
            };
            metrics.push(*known);
        }
        let seen = self.seen(&endpoint, start, end);
        let value: Vec<Value> =
            metrics.iter().map(|known| metric(resource, *known, &seen, &split, start, end)).collect();
        let answer = json!({
            "cost": (end - start) / 60,
            "timespan": query.get("timespan").cloned().unwrap_or_default(),
            "interval": "PT1M",
            "namespace": NAMESPACE,
            "resourceregion": "westeurope",
            "value": value,
        });
        for problem in self.monitor.check("Response", &answer, Direction::Response) {
            self.violations.push(format!("answer to {what} (Response): {problem}"));
        }
        ok(200, answer)
    }

    /// The requests the endpoint's router recorded in the minutes that overlap [start, end).
    fn seen(&self, endpoint: &str, start: i64, end: i64) -> Vec<Seen> {
        let folder = self.local_workspace.join("endpoints").join(endpoint);
        let first = start - start.rem_euclid(60);
        aml_local::online::request_log::read(&folder, first * 1000)
            .into_iter()
            .filter_map(|record| {
                let second = record.time.parse::<jiff::Timestamp>().ok()?.as_second();
                let deployment = record.deployment.clone()?;
                let minute = second - second.rem_euclid(60);
                (minute < end).then(|| Seen {
                    minute,
                    deployment,
                    class: format!("{}xx", record.status / 100),
                    latency_ms: record.latency_ms,
                })
            })
            .collect()
    }
}

/// `2026-12-05T10:00:00Z/2026-12-05T10:10:00Z` as seconds.
fn timespan(text: &str) -> Option<(i64, i64)> {
    let (start, end) = text.split_once('/')?;
    let seconds = |t: &str| t.parse::<jiff::Timestamp>().ok().map(|t| t.as_second());
    Some((seconds(start)?, seconds(end)?))
}

/// The dimensions a `$filter` splits by (`deployment eq '*' and statusCodeClass eq '*'`).
fn split_by(filter: &str) -> Vec<String> {
    filter
        .split(" and ")
        .filter_map(|clause| {
            let (name, value) = clause.split_once(" eq ")?;
            (value.trim() == "'*'").then(|| name.trim().to_string())
        })
        .collect()
}

fn metric(
    resource: &str,
    (name, display, unit, quantile): (&str, &str, &str, Option<f64>),
    seen: &[Seen],
    split: &[String],
    start: i64,
    end: i64,
) -> Value {
    // Latencies split by deployment only; requests by status class too.
    let dimensions: Vec<&str> = ["deployment", "statusCodeClass"]
        .into_iter()
        .filter(|d| split.iter().any(|s| s.eq_ignore_ascii_case(d)))
        .filter(|d| quantile.is_none() || *d == "deployment")
        .collect();
    let mut groups: BTreeMap<Vec<String>, BTreeMap<i64, Vec<f64>>> = BTreeMap::new();
    for request in seen {
        let key = dimensions
            .iter()
            .map(|d| if *d == "deployment" { request.deployment.clone() } else { request.class.clone() })
            .collect();
        groups.entry(key).or_default().entry(request.minute).or_default().push(request.latency_ms);
    }
    let first = start - start.rem_euclid(60);
    let timeseries: Vec<Value> = groups
        .into_iter()
        .map(|(key, minutes)| {
            let metadata: Vec<Value> = dimensions
                .iter()
                .zip(key)
                .map(|(d, v)| json!({"name": {"value": d, "localizedValue": d}, "value": v}))
                .collect();
            let data: Vec<Value> = (first..end)
                .step_by(60)
                .map(|minute| {
                    let stamp = jiff::Timestamp::from_second(minute).map(|t| t.to_string()).unwrap_or_default();
                    match (minutes.get(&minute), quantile) {
                        (Some(latencies), Some(q)) => {
                            json!({"timeStamp": stamp, "average": nearest_rank(latencies, q)})
                        }
                        (Some(latencies), None) => json!({"timeStamp": stamp, "average": latencies.len() as f64}),
                        (None, _) => json!({"timeStamp": stamp}),
                    }
                })
                .collect();
            json!({"metadatavalues": metadata, "data": data})
        })
        .collect();
    json!({
        "id": format!("{resource}{METRICS_PATH}/{name}"),
        "type": "Microsoft.Insights/metrics",
        "name": {"value": name, "localizedValue": display},
        "unit": unit,
        "timeseries": timeseries,
        "errorCode": "Success",
    })
}

/// The smallest value at or above which the share `q` of values fall.
fn nearest_rank(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
