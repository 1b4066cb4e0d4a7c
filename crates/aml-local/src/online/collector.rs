//! Model data collection on a local endpoint, written where and as Azure ML writes it
//! (`aml_core::collected`): the router logs the `request` and `response` collections of the
//! calls it forwards, and answers `POST /modeldata/log` for the collections a scoring script
//! fills with PyPI `azureml-ai-monitoring`'s `Collector`, on a port of each deployment's own
//! (its `AZUREML_MDC_PORT`), as the collector beside each Azure ML deployment does.
//!
//! Lines are handed to a writer thread, as request records are: collecting costs a call no
//! disk time, and a router killed outright loses at most the lines in flight.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{BufWriter, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use super::records::DeploymentRecord;
use aml_core::collected::{CollectedLine, CollectionPlan, LARGE_PAYLOAD_BYTES, PlannedCollection, Rolling, sampled};
use aml_core::error::{Error, Result};
use aml_core::names::{DatastoreName, relative_path};

/// The path the collector SDK posts to.
pub const LOG_PATH: &str = "/modeldata/log";

/// The file a collector SDK reads its collections from (`AZUREML_MDC_CONFIG_PATH`): each
/// enabled custom collection at the deployment's sampling rate. The SDK samples (so what it
/// drops is never sent); the launcher makes its draw the call's (see `server::LAUNCHER`).
pub fn sdk_config(plan: &CollectionPlan) -> serde_json::Value {
    let percent = plan.sampling_rate * 100.0;
    let collections: serde_json::Map<String, serde_json::Value> = plan
        .custom()
        .map(|c| (c.name.clone(), serde_json::json!({ "enabled": true, "sampleRatePercentage": percent })))
        .collect();
    serde_json::json!({ "runMode": "cloud", "collections": collections })
}

/// A deployment's collection, as the router carries it out.
pub struct DeploymentCollection {
    pub deployment: String,
    plan: CollectionPlan,
    rolling: Rolling,
    /// `…/onlineEndpoints/{endpoint}/deployments/{deployment}`.
    source: String,
    /// Each collection's folder on disk, and its `azureml://` form.
    folders: HashMap<String, (PathBuf, String)>,
}

impl DeploymentCollection {
    /// The collection a deployment record asks for, if any.
    pub fn of(root: &Path, record: &DeploymentRecord) -> Result<Option<DeploymentCollection>> {
        let Some(collector) = &record.spec.data_collector else { return Ok(None) };
        let Some(plan) = CollectionPlan::of(collector, &record.endpoint, &record.name)? else { return Ok(None) };
        let mut folders = HashMap::new();
        for collection in &plan.collections {
            folders.insert(collection.name.clone(), folder(root, collection)?);
        }
        Ok(Some(DeploymentCollection {
            deployment: record.name.clone(),
            rolling: plan.rolling(),
            plan,
            source: format!("/workspaces/local/onlineEndpoints/{}/deployments/{}", record.endpoint, record.name),
            folders,
        }))
    }

    pub fn collects(&self, collection: &str) -> bool {
        self.plan.collection(collection).is_some()
    }

    pub fn sampling_rate(&self) -> f64 {
        self.plan.sampling_rate
    }

    pub fn capture_headers(&self) -> &[String] {
        &self.plan.capture_headers
    }
}

/// A collection's folder under the workspace's datastores, from checked parts only.
fn folder(root: &Path, collection: &PlannedCollection) -> Result<(PathBuf, String)> {
    let datastore = DatastoreName::new(&collection.datastore)?;
    let path = root.join("datastores").join(datastore).join(relative_path(&collection.path)?);
    Ok((path, format!("azureml://datastores/{}/paths/{}", collection.datastore, collection.path)))
}

enum Pending {
    Line { file: PathBuf, line: String },
    Payload { file: PathBuf, bytes: Bytes },
}

/// Where the router sends collected lines; one writer for the endpoint.
#[derive(Clone)]
pub struct CollectedFiles {
    sender: mpsc::UnboundedSender<Pending>,
    /// This router's files: `{instance}.jsonl` in each rolled folder.
    instance: Arc<str>,
}

/// How many collected files stay open at once (a few collections, two periods each).
const OPEN_FILES: usize = 16;

impl CollectedFiles {
    pub fn start() -> CollectedFiles {
        let (sender, receiver) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("collected-data".into())
            .spawn(move || write_lines(receiver))
            .map(|_| ())
            .unwrap_or_else(|e| eprintln!("{} collected data will not be written: {e}", aml_core::time::now()));
        let instance = aml_core::ids::uuid4().unwrap_or_else(|_| format!("{}", std::process::id()));
        CollectedFiles { sender, instance: instance.into() }
    }

    /// Write `line` of `collection` for `deployment`: in its rolled folder, its payload in a
    /// file of its own when large.
    pub fn write(&self, deployment: &DeploymentCollection, collection: &str, mut line: CollectedLine, payload: &Bytes) {
        let Some((dir, uri)) = deployment.folders.get(collection) else { return };
        let rolled = deployment.rolling.folders(line.seconds().unwrap_or(0));
        let dir = dir.join(&rolled);
        if payload.len() > LARGE_PAYLOAD_BYTES {
            line.data = serde_json::Value::String(format!("{uri}/{rolled}/{}", line.id));
            line.datainblob = Some("true".into());
            let _ = self.sender.send(Pending::Payload { file: dir.join(&line.id), bytes: payload.clone() });
        }
        if let Ok(text) = serde_json::to_string(&line) {
            let _ = self.sender.send(Pending::Line { file: dir.join(format!("{}.jsonl", self.instance)), line: text });
        }
    }
}

/// Append lines as they come, flushing whenever the queue is empty.
fn write_lines(mut receiver: mpsc::UnboundedReceiver<Pending>) {
    let mut open: HashMap<PathBuf, BufWriter<fs::File>> = HashMap::new();
    while let Some(first) = receiver.blocking_recv() {
        let mut next = Some(first);
        while let Some(write) = next {
            match write {
                Pending::Line { file, line } => {
                    if !open.contains_key(&file) {
                        if open.len() >= OPEN_FILES {
                            for (_, mut writer) in open.drain() {
                                let _ = writer.flush();
                            }
                        }
                        match open_append(&file) {
                            Ok(handle) => {
                                open.insert(file.clone(), BufWriter::new(handle));
                            }
                            Err(e) => eprintln!("{} cannot write `{}`: {e}", aml_core::time::now(), file.display()),
                        }
                    }
                    if let Some(writer) = open.get_mut(&file) {
                        let _ = writeln!(writer, "{line}");
                    }
                }
                Pending::Payload { file, bytes } => {
                    let written =
                        file.parent().map_or(Ok(()), fs::create_dir_all).and_then(|()| fs::write(&file, &bytes));
                    if let Err(e) = written {
                        eprintln!("{} cannot write `{}`: {e}", aml_core::time::now(), file.display());
                    }
                }
            }
            next = receiver.try_recv().ok();
        }
        for writer in open.values_mut() {
            let _ = writer.flush();
        }
    }
}

fn open_append(file: &Path) -> std::io::Result<fs::File> {
    if let Some(parent) = file.parent() {
        fs::create_dir_all(parent)?;
    }
    OpenOptions::new().create(true).append(true).open(file)
}

/// Headers never written, whatever `capture_headers` says: they carry the endpoint's key.
const NEVER_CAPTURED: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// The request headers `capture_headers` names, as a line carries them (never a credential).
pub fn captured(headers: &HeaderMap, names: &[String]) -> Option<serde_json::Map<String, serde_json::Value>> {
    if names.is_empty() {
        return None;
    }
    let map: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .filter(|name| !NEVER_CAPTURED.contains(&name.as_str()))
        .filter_map(|name| Some((name.clone(), headers.get(name.as_str())?.to_str().ok()?.to_string().into())))
        .collect();
    Some(map)
}

/// The collectors listening for each deployment's scoring script, by port.
#[derive(Default)]
pub struct Listeners {
    running: Mutex<HashMap<u16, tokio::task::JoinHandle<()>>>,
}

/// What a collector listener needs to find its deployment's collection.
pub trait CollectionsByPort: Send + Sync + 'static {
    fn collection(&self, port: u16) -> Option<Arc<DeploymentCollection>>;
    fn files(&self) -> &CollectedFiles;
}

impl Listeners {
    /// Listen on each of `ports` not listened on yet; stop listening on the others.
    pub fn keep<S: CollectionsByPort>(&self, ports: &[u16], state: Arc<S>) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.retain(|port, task| {
            let kept = ports.contains(port) && !task.is_finished();
            if !kept {
                task.abort();
            }
            kept
        });
        for &port in ports {
            if running.contains_key(&port) {
                continue;
            }
            match std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .and_then(tokio::net::TcpListener::from_std)
            {
                Ok(listener) => {
                    let app = axum::Router::new()
                        .route(LOG_PATH, axum::routing::post(receive::<S>))
                        .with_state((state.clone(), port));
                    running.insert(
                        port,
                        tokio::spawn(async move {
                            let _ = axum::serve(listener, app).await;
                        }),
                    );
                }
                Err(e) => eprintln!(
                    "{} cannot listen for collected data on 127.0.0.1:{port}: {e}; the deployment's collector calls will fail",
                    aml_core::time::now()
                ),
            }
        }
    }
}

fn refuse(status: StatusCode, text: String) -> Response {
    eprintln!("{} collected data refused: {text}", aml_core::time::now());
    (status, text).into_response()
}

/// `POST /modeldata/log` as the collector SDK sends it: the payload as the body, the event's
/// attributes as `ce-*` headers, its id as `trace-id`.
async fn receive<S: CollectionsByPort>(State((state, port)): State<(Arc<S>, u16)>, request: Request) -> Response {
    let Some(collection) = state.collection(port) else {
        return refuse(StatusCode::NOT_FOUND, format!("no deployment collects data on port {port}"));
    };
    let (parts, body) = request.into_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Some(kind) = header("ce-type") else {
        return refuse(StatusCode::BAD_REQUEST, "the event has no ce-type header".into());
    };
    let Some(name) = kind.strip_prefix("azureml.inference.").map(str::to_ascii_lowercase) else {
        return refuse(StatusCode::BAD_REQUEST, format!("ce-type `{kind}` is not azureml.inference.<collection>"));
    };
    if !collection.collects(&name) || aml_core::collected::PAYLOAD_COLLECTIONS.contains(&name.as_str()) {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "deployment `{}` does not collect `{name}`: enable it under data_collector.collections",
                collection.deployment
            ),
        );
    }
    let payload = match http_body_util::BodyExt::collect(http_body_util::Limited::new(body, 64 << 20)).await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("the event's body could not be read: {e}")),
    };
    // Sampled already, by the SDK.
    let call = header("ce-x-request-id");
    let id = event_id(header("trace-id"));
    let seconds = header("ce-time")
        .and_then(|t| t.parse::<f64>().ok())
        .map_or_else(|| aml_core::time::now_millis() / 1000, |t| t as i64);
    let content_type = header("content-type").unwrap_or_default();
    let mut line = CollectedLine::new(&name, id, collection.source.clone(), seconds, &content_type, &payload);
    if let Some(call) = &call {
        line = line.for_call(call);
    }
    line.modelversion = header("ce-model-version");
    line.collectdatatype = header("ce-collect-data-type");
    line.agent = header("ce-agent");
    state.files().write(&collection, &name, line, &payload);
    (StatusCode::OK, "accepted").into_response()
}

/// The event's id, which names its payload's file when the payload is large: only a plain
/// id is taken (the SDK sends a UUID); anything else gets one made here.
fn event_id(given: Option<String>) -> String {
    given
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .or_else(|| aml_core::ids::uuid4().ok())
        .unwrap_or_default()
}

/// Log a forwarded call's request and response, where the deployment collects them and the
/// call is sampled. The response's body is read whole only when it is collected.
pub async fn log_call(
    files: &CollectedFiles,
    collection: &DeploymentCollection,
    request: &axum::http::request::Parts,
    body: &Bytes,
    response: Response,
) -> Response {
    let Some(call) = request.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned) else {
        return response;
    };
    if !sampled(&call, collection.sampling_rate()) {
        return response;
    }
    let seconds = aml_core::time::now_millis() / 1000;
    if collection.collects("request") {
        let content_type = request.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        let mut line = new_line("request", collection, seconds, content_type, body).for_call(&call);
        line.path = Some(request.uri.path_and_query().map_or("/", |p| p.as_str()).to_string());
        line.method = Some(request.method.to_string());
        line.headers = captured(&request.headers, collection.capture_headers());
        files.write(collection, "request", line, body);
    }
    if !collection.collects("response") {
        return response;
    }
    let (parts, answer) = response.into_parts();
    let bytes = match http_body_util::BodyExt::collect(answer).await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Response::from_parts(parts, axum::body::Body::empty()),
    };
    let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let line = new_line("response", collection, seconds, content_type, &bytes).for_call(&call);
    files.write(collection, "response", line, &bytes);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

fn new_line(
    name: &str,
    collection: &DeploymentCollection,
    seconds: i64,
    content_type: &str,
    payload: &[u8],
) -> CollectedLine {
    let id = aml_core::ids::uuid4().unwrap_or_default();
    CollectedLine::new(name, id, collection.source.clone(), seconds, content_type, payload)
}

/// Read the lines of a collection's files from `since` (seconds) on, oldest folder first;
/// a torn last line is skipped.
pub fn read(folder: &Path, since: i64) -> Vec<CollectedLine> {
    let mut files = Vec::new();
    collect_files(folder, &mut files);
    files.sort();
    let mut lines = Vec::new();
    for file in files {
        let relative = file.strip_prefix(folder).map(|r| r.to_string_lossy().replace('\\', "/")).unwrap_or_default();
        if !aml_core::collected::may_hold(&relative, since) {
            continue;
        }
        let Ok(text) = fs::read_to_string(&file) else { continue };
        lines.extend(aml_core::collected::lines_since(&text, since));
    }
    lines.sort_by(|a, b| a.time.cmp(&b.time));
    lines
}

fn collect_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect_files(&path, into),
            Ok(t) if t.is_file() && path.extension().is_some_and(|e| e == "jsonl") => into.push(path),
            _ => {}
        }
    }
}

/// Where a deployment's collection is on disk, for reading.
pub fn collection_folder(root: &Path, record: &DeploymentRecord, collection: &str) -> Result<Option<PathBuf>> {
    let Some(collector) = &record.spec.data_collector else { return Ok(None) };
    let Some(plan) = CollectionPlan::of(collector, &record.endpoint, &record.name)? else { return Ok(None) };
    match plan.collection(&collection.to_ascii_lowercase()) {
        Some(planned) => Ok(Some(folder(root, planned)?.0)),
        None => Err(Error::usage(
            format!("deployment `{}` does not collect `{collection}`", record.name),
            format!(
                "its collections: {}",
                plan.collections.iter().map(|c| format!("`{}`", c.name)).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection(root: &Path, rolling: &str) -> std::result::Result<DeploymentCollection, Box<dyn std::error::Error>> {
        let spec: aml_core::yaml::data_collector::DataCollector = yaml_serde::from_str(&format!(
            "collections:\n  model_inputs:\n    enabled: 'True'\nrolling_rate: {rolling}\n"
        ))?;
        let plan = CollectionPlan::of(&spec, "ep", "blue").map_err(Error::from)?.ok_or("no plan")?;
        let mut folders = HashMap::new();
        for c in &plan.collections {
            folders.insert(c.name.clone(), folder(root, c)?);
        }
        Ok(DeploymentCollection {
            deployment: "blue".into(),
            rolling: plan.rolling(),
            plan,
            source: "/s".into(),
            folders,
        })
    }

    fn files_under(dir: &Path) -> Vec<String> {
        let mut files = Vec::new();
        collect_files(dir, &mut files);
        let mut names: Vec<String> =
            files.iter().filter_map(|f| f.strip_prefix(dir).ok()).map(|f| f.display().to_string()).collect();
        names.sort();
        names
    }

    /// The writer runs on its own thread: wait for the files it is expected to write.
    fn settle(dir: &Path, expected_lines: usize) {
        for _ in 0..200 {
            let lines: usize = {
                let mut files = Vec::new();
                collect_files(dir, &mut files);
                files.iter().map(|f| fs::read_to_string(f).map(|t| t.lines().count()).unwrap_or(0)).sum()
            };
            if lines >= expected_lines {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    #[test]
    fn hourly_rolling_starts_a_new_file_each_hour_of_the_events_clock()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let collection = collection(root.path(), "Hour")?;
        let files = CollectedFiles::start();
        // 2022-12-01T08:59:59Z, a second later, and an hour after that.
        for (i, seconds) in [1_669_885_199, 1_669_885_200, 1_669_888_800, 1_669_888_801].into_iter().enumerate() {
            let line =
                CollectedLine::new("model_inputs", format!("e{i}"), "/s".into(), seconds, "application/json", b"[]");
            files.write(&collection, "model_inputs", line, &Bytes::from_static(b"[]"));
        }
        let dir = root.path().join("datastores/workspaceblobstore/modelDataCollector/ep/blue/model_inputs");
        settle(&dir, 4);
        let instance = files.instance.to_string();
        assert_eq!(
            files_under(&dir),
            [
                format!("2022/12/01/08/{instance}.jsonl"),
                format!("2022/12/01/09/{instance}.jsonl"),
                format!("2022/12/01/10/{instance}.jsonl")
            ]
        );
        assert_eq!(read(&dir, 1_669_888_800).len(), 2, "read from a time on");
        Ok(())
    }

    #[test]
    fn captured_headers_never_include_the_key() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer secret-key".parse()?);
        headers.insert("x-client", "ci".parse()?);
        let names = vec!["authorization".to_string(), "x-client".to_string(), "absent".to_string()];
        let captured = captured(&headers, &names).ok_or("nothing captured")?;
        assert_eq!(serde_json::Value::Object(captured), serde_json::json!({"x-client": "ci"}));
        Ok(())
    }

    #[test]
    fn an_event_id_that_is_not_a_plain_id_is_replaced_before_it_names_a_file() {
        let uuid = "725aa8af-0834-415c-aaf5-c76d0c08f694";
        assert_eq!(event_id(Some(uuid.into())), uuid);
        for hostile in ["../../etc/passwd", "a/b", "", "x".repeat(65).as_str(), "name with space"] {
            let made = event_id(Some(hostile.into()));
            assert_ne!(made, hostile);
            assert_eq!(made.len(), 36, "a UUID is made instead of `{hostile}`");
        }
    }

    #[test]
    fn a_large_payload_goes_to_its_own_file_and_the_line_names_it()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let collection = collection(root.path(), "day")?;
        let files = CollectedFiles::start();
        let payload = Bytes::from(vec![b'7'; LARGE_PAYLOAD_BYTES + 1]);
        let line =
            CollectedLine::new("model_inputs", "big".into(), "/s".into(), 1_669_885_199, "application/json", &payload);
        files.write(&collection, "model_inputs", line, &payload);
        let dir = root.path().join("datastores/workspaceblobstore/modelDataCollector/ep/blue/model_inputs");
        settle(&dir, 1);
        let lines = read(&dir, 0);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].datainblob.as_deref(), Some("true"));
        assert_eq!(
            lines[0].data.as_str(),
            Some(
                "azureml://datastores/workspaceblobstore/paths/modelDataCollector/ep/blue/model_inputs/2022/12/01/big"
            )
        );
        for _ in 0..200 {
            if dir.join("2022/12/01/big").is_file() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(fs::read(dir.join("2022/12/01/big"))?.len(), payload.len());
        Ok(())
    }
}
