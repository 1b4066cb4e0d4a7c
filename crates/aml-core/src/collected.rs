//! Model data collection as Azure ML writes it, for both backends: one JSON line per
//! collected event (a CloudEvents envelope around the payload) in
//! `modelDataCollector/{endpoint}/{deployment}/{collection}/{yyyy}/{MM}/{dd}/{HH}/{instance}.jsonl`
//! under the workspace blob store, the folders rolled by the deployment's `rolling_rate`;
//! a payload over `LARGE_PAYLOAD_BYTES` goes to a file of its own, which the line names.
//!
//! Which calls are collected is decided from the call's id, so the request, response, inputs
//! and outputs of one call are all kept or all dropped at a given `sampling_rate`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::yaml::data_collector::DataCollector;

/// The folder under a datastore that collected data goes to when a collection names no path.
pub const DEFAULT_FOLDER: &str = "modelDataCollector";

/// Over this, a payload is written to its own file and the line points to it (Azure ML: 256 KB).
pub const LARGE_PAYLOAD_BYTES: usize = 256 * 1024;

/// The collections the endpoint itself fills (payload logging); any other is filled by the
/// scoring script through the collector (custom logging).
pub const PAYLOAD_COLLECTIONS: [&str; 2] = ["request", "response"];

/// One collected event, with the keys Azure ML documents; absent values are left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectedLine {
    pub specversion: String,
    pub id: String,
    /// The deployment, as a resource path ending in `/onlineEndpoints/{e}/deployments/{d}`.
    pub source: String,
    /// `azureml.inference.{collection}`.
    #[serde(rename = "type")]
    pub kind: String,
    pub datacontenttype: String,
    /// RFC 3339, whole seconds, UTC.
    pub time: String,
    /// The payload: JSON as JSON, other text as a string, or (with `datainblob`) where the
    /// payload's own file is.
    pub data: Value,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub contentrange: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub correlationid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub xrequestid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub modelversion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub collectdatatype: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub agent: Option<String>,
    /// `"true"` when `data` names the payload's own file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub datainblob: Option<String>,
    /// The request headers `request_logging.capture_headers` asked for.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub headers: Option<serde_json::Map<String, Value>>,
}

impl CollectedLine {
    /// A line for `payload` of `content_type` in `collection`, collected at `seconds`.
    pub fn new(collection: &str, id: String, source: String, seconds: i64, content_type: &str, payload: &[u8]) -> Self {
        let (datacontenttype, data) = payload_data(content_type, payload);
        CollectedLine {
            specversion: "1.0".into(),
            id,
            source,
            kind: format!("azureml.inference.{collection}"),
            datacontenttype,
            time: line_time(seconds),
            data,
            path: None,
            method: None,
            contentrange: Some(content_range(payload.len())),
            correlationid: None,
            xrequestid: None,
            modelversion: None,
            collectdatatype: None,
            agent: None,
            datainblob: None,
            headers: None,
        }
    }

    /// The call this line belongs to: its request id on both sides.
    pub fn for_call(mut self, request_id: &str) -> Self {
        self.correlationid = Some(request_id.to_string());
        self.xrequestid = Some(request_id.to_string());
        self
    }

    /// Seconds since the epoch of `time`.
    pub fn seconds(&self) -> Option<i64> {
        self.time.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
    }
}

/// JSON stays JSON; other UTF-8 is a string; anything else is base64 of its bytes.
fn payload_data(content_type: &str, payload: &[u8]) -> (String, Value) {
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if (media.is_empty() || media == "application/json" || media.ends_with("+json"))
        && let Ok(value) = serde_json::from_slice::<Value>(payload)
    {
        return ("application/json".into(), value);
    }
    match std::str::from_utf8(payload) {
        Ok(text) => (if media.is_empty() { "text/plain".into() } else { media }, Value::String(text.into())),
        Err(_) => ("application/octet-stream".into(), Value::String(base64(payload))),
    }
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `bytes 0-{n-1}/{n}`: the whole payload, as Azure ML states it.
pub fn content_range(length: usize) -> String {
    match length {
        0 => "bytes */0".into(),
        n => format!("bytes 0-{}/{n}", n - 1),
    }
}

/// RFC 3339 UTC, whole seconds (`2022-12-01T08:51:30Z`).
pub fn line_time(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds).map(|t| t.to_string()).unwrap_or_default()
}

/// How collected files are partitioned in time (`data_collector.rolling_rate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rolling {
    Minute,
    #[default]
    Hour,
    Day,
}

impl Rolling {
    /// The YAML's value, any case; none is Azure ML's default, hourly.
    pub fn parse(text: Option<&str>) -> Result<Rolling> {
        match text.map(str::to_ascii_lowercase).as_deref() {
            None | Some("hour") => Ok(Rolling::Hour),
            Some("minute") => Ok(Rolling::Minute),
            Some("day") => Ok(Rolling::Day),
            Some(other) => Err(Error::usage(
                format!("`{other}` is not a rolling rate"),
                "data_collector.rolling_rate is minute, hour or day",
            )),
        }
    }

    /// The folders a time rolls into: `yyyy/MM/dd`, then `HH` (hour, minute), then `mm` (minute).
    pub fn folders(self, seconds: i64) -> String {
        let Ok(time) = jiff::Timestamp::from_second(seconds) else { return "undated".into() };
        let utc = time.to_zoned(jiff::tz::TimeZone::UTC);
        let day = format!("{:04}/{:02}/{:02}", utc.year(), utc.month(), utc.day());
        match self {
            Rolling::Day => day,
            Rolling::Hour => format!("{day}/{:02}", utc.hour()),
            Rolling::Minute => format!("{day}/{:02}/{:02}", utc.hour(), utc.minute()),
        }
    }
}

/// Whether a call is collected at `rate` (0.0 to 1.0): decided by a hash of its id alone,
/// so every collection of one call decides alike, and uniformly whatever the ids look like.
pub fn sampled(call_id: &str, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate <= 0.0 {
        return false;
    }
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(call_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) as f64 / u64::MAX as f64) < rate
}

/// What a deployment's data collector does, read once from its YAML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionPlan {
    /// The enabled collections, with the folder each one's files go under, as a datastore
    /// and a path in it.
    pub collections: Vec<PlannedCollection>,
    pub sampling_rate: f64,
    pub rolling: String,
    /// Request headers written with the request collection, lower case.
    pub capture_headers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedCollection {
    pub name: String,
    pub datastore: String,
    pub path: String,
}

impl CollectionPlan {
    /// The plan for a deployment's `data_collector`; `None` when it collects nothing.
    pub fn of(
        collector: &DataCollector,
        endpoint: &str,
        deployment: &str,
    ) -> std::result::Result<Option<CollectionPlan>, UnwritablePath> {
        use crate::yaml::data_collector::CollectionData;
        let mut collections = Vec::new();
        for (name, collection) in collector.collections.iter() {
            if !collection.is_enabled() {
                continue;
            }
            let named = match &collection.data {
                Some(CollectionData::Asset(asset)) => asset.path.clone(),
                _ => None,
            };
            let (datastore, path) = match named {
                Some(uri) => datastore_path(&uri).ok_or_else(|| UnwritablePath {
                    field: format!("data_collector.collections.{name}.data.path"),
                    uri: uri.clone(),
                })?,
                None => (
                    "workspaceblobstore".to_string(),
                    format!("{DEFAULT_FOLDER}/{endpoint}/{deployment}/{}", name.to_ascii_lowercase()),
                ),
            };
            collections.push(PlannedCollection { name: name.to_ascii_lowercase(), datastore, path });
        }
        if collections.is_empty() {
            return Ok(None);
        }
        Ok(Some(CollectionPlan {
            collections,
            sampling_rate: collector.sampling_rate.unwrap_or(1.0),
            rolling: collector.rolling_rate.clone().unwrap_or_else(|| "hour".into()).to_ascii_lowercase(),
            capture_headers: collector
                .request_logging
                .as_ref()
                .and_then(|r| r.capture_headers.clone())
                .unwrap_or_default()
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        }))
    }

    pub fn collection(&self, name: &str) -> Option<&PlannedCollection> {
        self.collections.iter().find(|c| c.name == name)
    }

    /// Collections the scoring script fills through the collector.
    pub fn custom(&self) -> impl Iterator<Item = &PlannedCollection> {
        self.collections.iter().filter(|c| !PAYLOAD_COLLECTIONS.contains(&c.name.as_str()))
    }

    pub fn rolling(&self) -> Rolling {
        Rolling::parse(Some(&self.rolling)).unwrap_or_default()
    }
}

/// Whether a collected file, named relative to its collection's folder
/// (`yyyy/MM/dd/…/{instance}.jsonl`), may hold lines from `since` (seconds) on: a file in a
/// day's folder before `since`'s day cannot.
pub fn may_hold(relative: &str, since: i64) -> bool {
    let day: Vec<&str> = relative.split('/').take(3).collect();
    if day.len() < 3 || !day.iter().all(|part| part.bytes().all(|b| b.is_ascii_digit())) {
        return true;
    }
    day.join("/") >= Rolling::Day.folders(since)
}

/// The lines of a collected file's text from `since` (seconds) on; a torn line is skipped.
pub fn lines_since(text: &str, since: i64) -> impl Iterator<Item = CollectedLine> + '_ {
    text.lines()
        .filter_map(|line| serde_json::from_str::<CollectedLine>(line).ok())
        .filter(move |line| line.seconds().is_some_and(|s| s >= since))
}

/// A data asset's `dataUri` (`azureml://datastores/<d>/paths/<p>`, or the same under
/// `azureml://subscriptions/…/workspaces/<w>/`) as its datastore and folder.
pub fn datastore_folder(uri: &str) -> Option<(String, String)> {
    let at = uri.find("datastores/")?;
    let rest = &uri[at + "datastores/".len()..];
    let (datastore, path) = rest.split_once("/paths/")?;
    Some((datastore.to_string(), path.trim_matches('/').to_string()))
}

/// A collection's `data.path` that names no folder of this workspace's datastores.
#[derive(Debug, Clone)]
pub struct UnwritablePath {
    pub field: String,
    pub uri: String,
}

impl UnwritablePath {
    const HINT: &str =
        "write azureml://datastores/<datastore>/paths/<folder>: a datastore of this workspace, a folder of plain names";

    pub fn in_file(self, file: &std::path::Path) -> Error {
        Error::in_file(file, Some(&self.field), format!("`{}` is not a folder of a datastore", self.uri), Self::HINT)
    }
}

impl From<UnwritablePath> for Error {
    fn from(bad: UnwritablePath) -> Error {
        Error::usage(format!("{} `{}` is not a folder of a datastore", bad.field, bad.uri), UnwritablePath::HINT)
    }
}

/// `azureml://datastores/<d>/paths/<p>` as its datastore and path (no trailing slash).
fn datastore_path(uri: &str) -> Option<(String, String)> {
    // This workspace's datastores only: not another workspace's `azureml://subscriptions/…`.
    let (datastore, path) = datastore_folder(uri).filter(|_| uri.starts_with("azureml://datastores/"))?;
    crate::names::DatastoreName::new(&datastore).ok()?;
    crate::names::relative_path(&path).ok()?;
    Some((datastore, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_roll_by_minute_hour_or_day_in_utc() {
        // 2022-12-01T08:51:30Z
        let t = 1_669_884_690;
        assert_eq!(Rolling::Day.folders(t), "2022/12/01");
        assert_eq!(Rolling::Hour.folders(t), "2022/12/01/08");
        assert_eq!(Rolling::Minute.folders(t), "2022/12/01/08/51");
        assert_eq!(Rolling::Hour.folders(t + 3600), "2022/12/01/09");
    }

    #[test]
    fn json_payloads_stay_json_and_the_rest_is_text_or_base64() {
        let line = CollectedLine::new("request", "i".into(), "s".into(), 0, "application/json", br#"{"a": [1]}"#);
        assert_eq!(line.data, serde_json::json!({"a": [1]}));
        assert_eq!(line.contentrange.as_deref(), Some("bytes 0-9/10"));
        assert_eq!(line.kind, "azureml.inference.request");
        let text = CollectedLine::new("response", "i".into(), "s".into(), 0, "text/plain; charset=utf-8", b"hi");
        assert_eq!((text.datacontenttype.as_str(), text.data.as_str()), ("text/plain", Some("hi")));
        let binary = CollectedLine::new("request", "i".into(), "s".into(), 0, "image/png", &[0xff, 0x00, 0x10]);
        assert_eq!(binary.data.as_str(), Some("/wAQ"));
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
    }

    #[test]
    fn a_quarter_of_calls_are_sampled_and_one_call_decides_alike() {
        let kept = (0..20_000).filter(|i| sampled(&format!("call-{i}"), 0.25)).count();
        assert!((4_700..=5_300).contains(&kept), "{kept}");
        assert_eq!(sampled("call-7", 0.25), sampled("call-7", 0.25));
        assert!(sampled("any", 1.0) && !sampled("any", 0.0));
    }

    #[test]
    fn files_of_days_before_the_window_are_not_read() {
        let since = 1_669_884_690; // 2022-12-01T08:51:30Z
        assert!(!may_hold("2022/11/30/23/i.jsonl", since));
        assert!(may_hold("2022/12/01/00/i.jsonl", since));
        assert!(may_hold("2023/01/01/i.jsonl", since));
        assert!(may_hold("elsewhere/i.jsonl", since));
    }

    #[test]
    fn data_uris_name_their_datastore_and_folder() {
        assert_eq!(
            datastore_folder("azureml://datastores/workspaceblobstore/paths/modelDataCollector/e/d/request/"),
            Some(("workspaceblobstore".into(), "modelDataCollector/e/d/request".into()))
        );
        assert_eq!(
            datastore_folder("azureml://subscriptions/s/resourcegroups/g/workspaces/w/datastores/x/paths/p"),
            Some(("x".into(), "p".into()))
        );
        assert_eq!(datastore_folder("https://example.com/p"), None);
    }
}
