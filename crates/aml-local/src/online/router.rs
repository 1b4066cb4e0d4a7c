//! The endpoint's router: what a local endpoint's scoring URI answers. Key auth
//! (`Authorization: Bearer`), the traffic split by weight, the `azureml-model-deployment`
//! header that pins a deployment, and mirrored traffic, in front of one inference server
//! per deployment. It reloads its routing when the endpoint's generation changes (at once
//! when told, else within 250 ms) and restarts deployment processes that die.
//!
//! It answers as Azure ML's managed endpoints do when abused: 413 over the body limit
//! (`AML_ENDPOINT_MAX_REQUEST_BYTES`, 1.5 MiB), 400 for a request in absolute form or whose
//! chunked body does not parse, 408 past the deployment's
//! `request_timeout_ms` (5000 by default), 429 past twice its
//! `max_concurrent_requests_per_instance` × `instance_count` in flight (when set), and 503
//! with `Retry-After` while a dead server restarts. Connections that send no complete request
//! header within `HEADER_TIMEOUT` (a slow client, or an idle keep-alive) are closed.
//!
//! A request framed two ways (`Content-Length` with `Transfer-Encoding: chunked`) is read as
//! chunked, its `Content-Length` dropped by hyper as RFC 9112 §6.3 says, and its body goes on
//! whole with a length the hop states: nothing behind the router can read it another way.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::collector::{CollectedFiles, CollectionsByPort, DeploymentCollection, Listeners};
use super::hop::Hop;
use super::records::{DeploymentRecord, EndpointRecord};
use super::request_log::RequestLog;
use super::server;
use crate::blobs::process_alive;
use crate::registry::Registry;
use aml_core::error::{Error, Result};
use aml_core::online::DeploymentState;
use aml_core::requests::{RequestRecord, record_time};
use aml_core::settings::{EnvVars, Settings};
use aml_http::client::Client as ProbeClient;
use aml_http::pipeline::Retry;
use aml_http::transport::TransportOptions;

pub use aml_core::online::DEPLOYMENT_HEADER;
/// Paths of our own, not forwarded: health (no auth) and reload (auth).
pub const HEALTH_PATH: &str = "/.aml/health";
pub const RELOAD_PATH: &str = "/.aml/reload";

struct Routing {
    generation: i64,
    keys: [String; 2],
    traffic: Vec<(String, u32)>,
    mirror: Vec<(String, u32)>,
    servers: HashMap<String, Upstream>,
    /// The data each deployment collects, by name and by the port its collector SDK posts to.
    collections: HashMap<String, Arc<DeploymentCollection>>,
    collector_ports: HashMap<u16, Arc<DeploymentCollection>>,
}

/// A running deployment as the router reaches it.
struct Upstream {
    port: u16,
    pid: Option<u32>,
    /// `request_settings.request_timeout_ms`.
    timeout: Duration,
    /// In-flight requests allowed, when `max_concurrent_requests_per_instance` is set.
    slots: Option<Arc<tokio::sync::Semaphore>>,
    /// How many `slots` holds when none is taken.
    slot_count: usize,
}

/// Azure ML's default `request_timeout_ms`.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_millis(5000);
/// How long a connection may take to send a request's header, or sit idle between requests.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// What a client is told to wait before retrying while a server restarts.
const RETRY_AFTER_SECONDS: &str = "1";

impl Upstream {
    fn from_record(deployment: &DeploymentRecord, port: u16) -> Upstream {
        let settings = deployment.spec.request_settings.clone().unwrap_or_default();
        let timeout = settings.request_timeout_ms.map_or(DEFAULT_REQUEST_TIMEOUT, Duration::from_millis);
        let instances = deployment.spec.instance_count.unwrap_or(1).max(1);
        // Azure ML answers 429 past twice the concurrent requests its instances take.
        let slot_count = settings
            .max_concurrent_requests_per_instance
            .map_or(0, |per_instance| (2 * per_instance.max(1) * instances) as usize);
        let slots =
            settings.max_concurrent_requests_per_instance.map(|_| Arc::new(tokio::sync::Semaphore::new(slot_count)));
        Upstream { port, pid: deployment.pid, timeout, slots, slot_count }
    }
}

struct RouterState {
    root: PathBuf,
    endpoint: String,
    routing: RwLock<Arc<Routing>>,
    hop: Hop,
    random: AtomicU64,
    max_request_bytes: usize,
    /// Wakes the supervisor at once when a request finds a server dead.
    dead_server: tokio::sync::Notify,
    requests: RequestLog,
    collected: CollectedFiles,
    listeners: Listeners,
}

impl CollectionsByPort for RouterState {
    fn collection(&self, port: u16) -> Option<Arc<DeploymentCollection>> {
        self.routing.read().unwrap_or_else(|p| p.into_inner()).collector_ports.get(&port).cloned()
    }

    fn files(&self) -> &CollectedFiles {
        &self.collected
    }
}

fn database(root: &Path) -> PathBuf {
    root.join("registry.db")
}

/// Read the endpoint and its deployments; None when the endpoint was deleted.
fn load(root: &Path, endpoint: &str) -> Result<Option<Routing>> {
    let registry = Registry::open(&database(root))?;
    let Some((record, generation)) = registry.endpoint(endpoint)? else { return Ok(None) };
    let record: EndpointRecord =
        serde_json::from_str(&record).map_err(|e| Error::storage("an endpoint record is unreadable", e))?;
    let (mut servers, mut collections, mut collector_ports) = (HashMap::new(), HashMap::new(), HashMap::new());
    for text in registry.deployments(endpoint)? {
        let deployment: DeploymentRecord =
            serde_json::from_str(&text).map_err(|e| Error::storage("a deployment record is unreadable", e))?;
        if let (DeploymentState::Succeeded, Some(port)) = (deployment.state, deployment.port) {
            servers.insert(deployment.name.clone(), Upstream::from_record(&deployment, port));
            match DeploymentCollection::of(root, &deployment) {
                Ok(Some(collection)) => {
                    let collection = Arc::new(collection);
                    if let Some(port) = deployment.collector_port {
                        collector_ports.insert(port, collection.clone());
                    }
                    collections.insert(deployment.name.clone(), collection);
                }
                Ok(None) => {}
                Err(e) => eprintln!("{} deployment `{}` collects no data: {e}", aml_core::time::now(), deployment.name),
            }
        }
    }
    Ok(Some(Routing {
        generation,
        keys: record.keys.clone(),
        traffic: record.traffic.iter().filter(|(_, w)| **w > 0).map(|(k, w)| (k.clone(), *w)).collect(),
        mirror: record.mirror_traffic.iter().filter(|(_, w)| **w > 0).map(|(k, w)| (k.clone(), *w)).collect(),
        servers,
        collections,
        collector_ports,
    }))
}

/// Run the router for `endpoint` until the endpoint is deleted or the process is told to stop,
/// on a runtime of its own with one thread, so that a request is never handed between threads
/// on its way through (see BENCHMARKS.md); the inference servers, not the router, bound what
/// an endpoint serves.
pub async fn serve(root: PathBuf, endpoint: String, settings: &Settings) -> Result<()> {
    let settings = settings.clone();
    let (done, finished) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("router".into())
        .spawn(move || {
            let outcome = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::storage("cannot start the router's runtime", e))
                .and_then(|runtime| runtime.block_on(serve_here(root, endpoint, &settings)));
            let _ = done.send(outcome);
        })
        .map_err(|e| Error::storage("cannot start the router's thread", e))?;
    finished.await.unwrap_or_else(|_| Err(Error::failed("the router's thread ended without a word", None)))
}

async fn serve_here(root: PathBuf, endpoint: String, settings: &Settings) -> Result<()> {
    let hop = Hop::new(settings)?;
    let Some(routing) = load(&root, &endpoint)? else {
        return Err(Error::usage(format!("no endpoint named `{endpoint}`"), "apply the endpoint first"));
    };
    let mut registry = Registry::open(&database(&root))?;
    let preferred = registry
        .endpoint(&endpoint)?
        .and_then(|(r, _)| serde_json::from_str::<EndpointRecord>(&r).ok())
        .and_then(|r| r.port);
    let listener = match preferred {
        Some(port) => match listen(port) {
            Ok(listener) => listener,
            Err(_) => {
                eprintln!("port {port} is taken; the endpoint moves to a new port");
                listen(0).map_err(|e| Error::storage("cannot listen on 127.0.0.1", e))?
            }
        },
        None => listen(0).map_err(|e| Error::storage("cannot listen on 127.0.0.1", e))?,
    };
    let port = listener.local_addr().map_err(|e| Error::storage("cannot read the router's address", e))?.port();
    let pid = std::process::id();
    registry.modify_endpoint(&endpoint, |text| {
        let mut record: EndpointRecord =
            serde_json::from_str(text).map_err(|e| Error::storage("an endpoint record is unreadable", e))?;
        record.port = Some(port);
        record.router_pid = Some(pid);
        serde_json::to_string(&record).map_err(|e| Error::storage("cannot encode an endpoint record", e))
    })?;
    eprintln!(
        "{} router for `{endpoint}` listening on 127.0.0.1:{port} (pid {pid}; hop: {})",
        aml_core::time::now(),
        hop.name()
    );

    let state = Arc::new(RouterState {
        root: root.clone(),
        endpoint: endpoint.clone(),
        routing: RwLock::new(Arc::new(routing)),
        hop,
        random: AtomicU64::new(traffic_seed(pid, aml_core::time::now_millis())),
        max_request_bytes: settings.number(EnvVars::AML_ENDPOINT_MAX_REQUEST_BYTES, 1_572_864usize),
        dead_server: tokio::sync::Notify::new(),
        requests: RequestLog::start(&super::layout::endpoint_dir(
            &root,
            &aml_core::names::EndpointName::new(&endpoint)?,
        )),
        collected: CollectedFiles::start(),
        listeners: Listeners::default(),
    });
    listen_for_collectors(&state);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(watch_generation(state.clone(), stop_tx.clone()));
    let probes = ProbeClient::new(TransportOptions::service(Duration::from_secs(10)), Retry::Never)?;
    tokio::spawn(supervise(state.clone(), probes));
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
            let _ = stop_tx.send(true);
        }
    });
    let app = axum::Router::new().fallback(handle).with_state(state);
    serve_connections(listener, app, stop_rx).await;
    eprintln!("{} router for `{endpoint}` stopped", aml_core::time::now());
    Ok(())
}

/// Accept connections until told to stop, each served by hyper with a header timeout (which
/// also closes keep-alive connections idle that long); then let requests in flight finish.
async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of file descriptors, say: wait for some to close rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
        let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
        if *stop.borrow() {
            break;
        }
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {}
    }
}

/// Listen with SO_REUSEADDR: a router restarted after a crash gets its port back at once,
/// despite the connections of the previous one still in TIME_WAIT (measured: without it the
/// port stayed taken and the endpoint moved).
fn listen(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    socket.listen(1024)
}

fn reload(state: &Arc<RouterState>) -> Result<Option<i64>> {
    match load(&state.root, &state.endpoint)? {
        Some(mut routing) => {
            let generation = routing.generation;
            let mut current = state.routing.write().unwrap_or_else(|p| p.into_inner());
            // The requests in flight hold the slots of the deployment they went to: a reload
            // (another deployment changed, a server restarted) must not hand out fresh ones.
            for (name, upstream) in routing.servers.iter_mut() {
                if let Some(before) = current.servers.get(name)
                    && (before.port, before.slot_count) == (upstream.port, upstream.slot_count)
                {
                    upstream.slots = before.slots.clone();
                }
            }
            *current = Arc::new(routing);
            drop(current);
            listen_for_collectors(state);
            Ok(Some(generation))
        }
        None => Ok(None),
    }
}

/// A collector listener for each deployment whose scoring script collects data, before any
/// call reaches it.
fn listen_for_collectors(state: &Arc<RouterState>) {
    let ports: Vec<u16> =
        state.routing.read().unwrap_or_else(|p| p.into_inner()).collector_ports.keys().copied().collect();
    state.listeners.keep(&ports, state.clone());
}

/// Reload when the endpoint's generation moves; stop when the endpoint is gone.
async fn watch_generation(state: Arc<RouterState>, stop: tokio::sync::watch::Sender<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let current = state.routing.read().unwrap_or_else(|p| p.into_inner()).generation;
        let seen = tokio::task::spawn_blocking({
            let root = state.root.clone();
            let endpoint = state.endpoint.clone();
            move || Registry::open(&database(&root)).and_then(|r| r.generation(&endpoint))
        })
        .await;
        match seen {
            Ok(Ok(None)) => {
                let _ = stop.send(true);
                return;
            }
            Ok(Ok(Some(generation))) if generation != current => {
                let state = state.clone();
                let _ = tokio::task::spawn_blocking(move || reload(&state)).await;
            }
            _ => {}
        }
    }
}

/// Restart deployments whose server died, on the same port when it is free.
async fn supervise(state: Arc<RouterState>, probes: ProbeClient) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = state.dead_server.notified() => {}
        }
        if let Err(e) = restart_dead(&state, &probes).await {
            eprintln!("{} cannot restart a deployment: {e}", aml_core::time::now());
        }
    }
}

async fn restart_dead(state: &Arc<RouterState>, probes: &ProbeClient) -> Result<()> {
    let endpoint = aml_core::names::EndpointName::new(&state.endpoint)?;
    let endpoints = super::layout::endpoints_dir(&state.root);
    // A command changing the endpoint holds its lock: it may be starting the very server
    // that looks dead here. Next tick.
    let Some(_lock) = super::lock::EndpointLock::try_acquire(&endpoints, &endpoint)? else { return Ok(()) };
    let mut registry = Registry::open(&database(&state.root))?;
    for text in registry.deployments(&state.endpoint)? {
        let deployment: DeploymentRecord =
            serde_json::from_str(&text).map_err(|e| Error::storage("a deployment record is unreadable", e))?;
        if !deployment.serving_dead() {
            continue;
        }
        let log = deployment.log_path();
        eprintln!("{} deployment `{}` is not running; restarting it", aml_core::time::now(), deployment.name);
        // What is left of the dead server (its workers) goes first.
        if let Some(pid) = deployment.pid {
            server::stop(pid).await;
        }
        let started = server::start_inference_server(
            &deployment,
            &log,
            deployment.port,
            &super::layout::endpoint_dir(&state.root, &endpoint),
        );
        let outcome = match started {
            Ok(started) => {
                let (pid, port) = (started.pid, started.port);
                match server::wait_ready(probes, &started, "/", readiness_timeout(&deployment), None).await {
                    Ok(()) => Ok((pid, port)),
                    Err(reason) => {
                        server::stop(pid).await;
                        Err(Error::failed(reason, None))
                    }
                }
            }
            Err(e) => Err(e),
        };
        registry.modify_deployment(&state.endpoint, &deployment.name, |text| {
            let mut record: DeploymentRecord =
                serde_json::from_str(text).map_err(|e| Error::storage("a deployment record is unreadable", e))?;
            match &outcome {
                Ok((pid, port)) => {
                    record.pid = Some(*pid);
                    record.port = Some(*port);
                    record.restarts += 1;
                }
                Err(e) => {
                    record.state = DeploymentState::Failed;
                    record.error = Some(format!("restart failed: {e}"));
                }
            }
            record.updated_at = aml_core::time::now();
            serde_json::to_string(&record).map_err(|e| Error::storage("cannot encode a deployment record", e))
        })?;
        reload(state)?;
    }
    Ok(())
}

/// Azure ML's readiness probe defaults: 10 s delay, then 30 tries every 10 s.
pub fn readiness_timeout(deployment: &DeploymentRecord) -> Duration {
    let probe = deployment.spec.readiness_probe.clone().unwrap_or_default();
    let seconds = probe.initial_delay.unwrap_or(10)
        + probe.period.unwrap_or(10) * u64::from(probe.failure_threshold.unwrap_or(30));
    Duration::from_secs(seconds)
}

fn message(status: StatusCode, text: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "message": text.into() }))).into_response()
}

fn authorized(routing: &Routing, request: &Request) -> bool {
    let Some(given) =
        request.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    // Compare every byte whatever the first mismatch, so the time taken tells nothing.
    routing.keys.iter().any(|key| {
        key.len() == given.len() && key.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    })
}

/// Where a router's traffic rolls start: never zero (xorshift's one fixed point, which would
/// send every request to the first deployment), and apart for routers started by different
/// processes or at different times.
fn traffic_seed(pid: u32, millis: i64) -> u64 {
    (u64::from(pid) ^ millis as u64) | 1
}

/// Marsaglia's xorshift64 (13, 7, 17): every non-zero state, once each, in 2^64 - 1 steps.
fn next_random(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// The deployment a roll in `0..total weight` lands on: each takes as many of the rolls as
/// its weight, in the split's order.
fn choose(traffic: &[(String, u32)], mut roll: u32) -> Option<&str> {
    for (name, weight) in traffic {
        if roll < *weight {
            return Some(name);
        }
        roll -= weight;
    }
    None
}

/// Whether a request whose roll in `0..100` this is gets copied to a mirror taking `percent`.
fn copied(roll: u32, percent: u32) -> bool {
    roll < percent
}

impl RouterState {
    /// A number in 0..bound: enough to split traffic by weight.
    fn roll(&self, bound: u32) -> u32 {
        let x = next_random(self.random.load(Ordering::Relaxed));
        self.random.store(x, Ordering::Relaxed);
        (x % u64::from(bound.max(1))) as u32
    }

    fn pick(&self, routing: &Routing) -> Option<String> {
        let total: u32 = routing.traffic.iter().map(|(_, w)| w).sum();
        if total == 0 {
            return None;
        }
        choose(&routing.traffic, self.roll(total)).map(str::to_owned)
    }
}

/// The header a request's id travels in, both ways.
const REQUEST_ID_HEADER: &str = "x-request-id";

/// Every request but our own paths is recorded (see `request_log`), with the caller's
/// `x-request-id` or one made here, sent on to the deployment and back to the caller.
async fn handle(State(state): State<Arc<RouterState>>, mut request: Request) -> Response {
    let path = request.uri().path();
    if path == HEALTH_PATH || path == RELOAD_PATH {
        return route(state, request).await;
    }
    let started = Instant::now();
    let given = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .map(str::to_owned);
    let request_id = match given {
        Some(id) => id,
        None => {
            let id =
                aml_core::ids::uuid4().unwrap_or_else(|_| format!("{:016x}", state.random.load(Ordering::Relaxed)));
            if let Ok(value) = HeaderValue::from_str(&id) {
                request.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            id
        }
    };
    let content_length = |headers: &axum::http::HeaderMap| {
        headers.get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
    };
    let request_bytes = content_length(request.headers()).unwrap_or(0);
    let mut response = route(state.clone(), request).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    state.requests.record(RequestRecord {
        time: record_time(aml_core::time::now_millis()),
        request_id,
        deployment: response.headers().get(DEPLOYMENT_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned),
        status: response.status().as_u16(),
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        request_bytes,
        response_bytes: content_length(response.headers()),
    });
    response
}

async fn route(state: Arc<RouterState>, request: Request) -> Response {
    let routing = state.routing.read().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(problem) = malformed(&request) {
        return message(StatusCode::BAD_REQUEST, problem);
    }
    let path = request.uri().path().to_string();
    if path == HEALTH_PATH {
        return axum::Json(json!({ "endpoint": state.endpoint, "generation": routing.generation })).into_response();
    }
    if !authorized(&routing, &request) {
        return message(StatusCode::UNAUTHORIZED, "a valid key is required: `Authorization: Bearer <key>`");
    }
    if path == RELOAD_PATH {
        let state = state.clone();
        return match tokio::task::spawn_blocking(move || reload(&state)).await {
            Ok(Ok(generation)) => axum::Json(json!({ "generation": generation })).into_response(),
            _ => message(StatusCode::INTERNAL_SERVER_ERROR, "reload failed"),
        };
    }
    let pinned = request.headers().get(DEPLOYMENT_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let deployment = match pinned {
        Some(name) if routing.servers.contains_key(&name) => name,
        Some(name) => {
            return message(StatusCode::NOT_FOUND, format!("deployment `{name}` is not running on this endpoint"));
        }
        None => match state.pick(&routing) {
            Some(name) => name,
            None => return message(StatusCode::SERVICE_UNAVAILABLE, "no deployment receives traffic on this endpoint"),
        },
    };
    let mut response = forward(&state, &routing, &deployment, request).await;
    // Whatever the answer, it says which deployment it came from (or was meant for).
    if let Ok(value) = HeaderValue::from_str(&deployment) {
        response.headers_mut().insert(DEPLOYMENT_HEADER, value);
    }
    response
}

/// Send a request to the chosen deployment (and its copies to mirrors), within its limits.
async fn forward(state: &RouterState, routing: &Routing, deployment: &str, request: Request) -> Response {
    let Some(upstream) = routing.servers.get(deployment) else {
        return retry_later(format!("deployment `{deployment}` is not ready"));
    };
    let limit = state.max_request_bytes;
    let declared = request.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return too_large(limit);
    }
    // Held until the answer is back: the deployment's share of requests in flight.
    let _slot = match &upstream.slots {
        Some(slots) => match slots.clone().try_acquire_owned() {
            Ok(slot) => Some(slot),
            Err(_) => {
                return message(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("too many pending requests for deployment `{deployment}`; retry with backoff"),
                );
            }
        },
        None => None,
    };
    let (parts, body) = request.into_parts();
    let body = match http_body_util::BodyExt::collect(http_body_util::Limited::new(body, limit)).await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(limit),
        Err(e) => return message(StatusCode::BAD_REQUEST, format!("the request body could not be read: {e}")),
    };
    let port = upstream.port;
    let collection = routing.collections.get(deployment);
    let collected_body = collection.map(|_| body.clone());
    for (mirror, percent) in &routing.mirror {
        if *mirror != deployment
            && copied(state.roll(100), *percent)
            && let Some(mirror_port) = routing.servers.get(mirror).map(|m| m.port)
        {
            let hop = state.hop.clone();
            let (copy_parts, copy_body) = (parts.clone(), body.clone());
            tokio::spawn(async move {
                let _ = hop.send(&copy_parts, copy_body, mirror_port).await;
            });
        }
    }
    match tokio::time::timeout(upstream.timeout, state.hop.send(&parts, body, port)).await {
        Ok(Some(response)) => match (collection, collected_body) {
            (Some(collection), Some(body)) => {
                super::collector::log_call(&state.collected, collection, &parts, &body, response).await
            }
            _ => response,
        },
        Ok(None) => {
            // Refused or reset: a dead server is restarted now, not at the next tick.
            if upstream.pid.is_none_or(|pid| !process_alive(pid as i32)) {
                state.dead_server.notify_one();
                return retry_later(format!("deployment `{deployment}` is restarting"));
            }
            retry_later(format!("deployment `{deployment}` is not answering"))
        }
        Err(_) => message(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "deployment `{deployment}` did not answer within its request_timeout_ms ({} ms)",
                upstream.timeout.as_millis()
            ),
        ),
    }
}

/// 503 with `Retry-After`: the deployment will be back; a client should retry.
fn retry_later(text: String) -> Response {
    let mut response = message(StatusCode::SERVICE_UNAVAILABLE, text);
    response.headers_mut().insert("retry-after", HeaderValue::from_static(RETRY_AFTER_SECONDS));
    response
}

fn too_large(limit: usize) -> Response {
    message(StatusCode::PAYLOAD_TOO_LARGE, format!("the request body is over {limit} bytes, this endpoint's limit"))
}

/// A request whose target is an absolute URI (meant for a proxy, not an endpoint) is refused.
fn malformed(request: &Request) -> Option<&'static str> {
    if request.uri().scheme().is_some() || request.uri().authority().is_some() {
        return Some("the request target must be a path (`/score`), not an absolute URI");
    }
    None
}

#[cfg(test)]
mod tests;
