//! The router in-process, against small HTTP servers standing in for inference servers (each
//! answers with its deployment's name), reached over real sockets the way a caller reaches
//! a scoring URI. What the tools' integration tests check through `aml-deploy` (real
//! inference servers, restarts that succeed) stays with them; these are fast enough to run
//! against every mutant of the router (`cargo xtask mutants router`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use aml_core::digest::Digest;

type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

const KEYS: [&str; 2] = ["primary-key-0123456789abcdef", "secondary-key-0123456789abcde"];

/// A deployment's server: answers every path with its name after a pause the path asks for
/// (`/sleep/MS`), or once the test opens its gate (`/hold`), and says what it was sent.
struct Backend {
    port: u16,
    hits: Arc<AtomicUsize>,
    gate: Arc<tokio::sync::Semaphore>,
}

impl Backend {
    fn start(name: &'static str) -> std::result::Result<Backend, Box<dyn std::error::Error>> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let held = gate.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                let app = axum::Router::new().fallback(move |request: Request| {
                    let (hits, gate) = (counted.clone(), held.clone());
                    async move {
                        hits.fetch_add(1, Ordering::SeqCst);
                        let path = request.uri().path().to_string();
                        if path == "/hold" {
                            let _ = gate.acquire().await.map(|permit| permit.forget());
                        }
                        if let Some(ms) = path.strip_prefix("/sleep/").and_then(|ms| ms.parse().ok()) {
                            tokio::time::sleep(Duration::from_millis(ms)).await;
                        }
                        let saw_key = request.headers().contains_key("authorization");
                        let request_id = request
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        let body = http_body_util::BodyExt::collect(request.into_body())
                            .await
                            .map(|b| b.to_bytes().len())
                            .unwrap_or(0);
                        axum::Json(
                            json!({ "deployment": name, "saw_key": saw_key, "request_id": request_id, "bytes": body }),
                        )
                    }
                });
                let _ = axum::serve(listener, app).await;
            });
        });
        Ok(Backend { port, hits, gate })
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Let every held request through, and every later one.
    fn open(&self) {
        self.gate.add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
    }
}

/// What a deployment record says, besides its name and port.
#[derive(Default)]
struct Serving {
    request_settings: Option<serde_json::Value>,
    instance_count: Option<u32>,
    /// Default: this test process, alive.
    pid: Option<u32>,
    /// `data_collector`, and the port its collector listens on.
    collecting: Option<(serde_json::Value, u16)>,
    /// What a restart runs: `python launch.py --port N …` (default: nothing to run).
    python: Option<PathBuf>,
}

/// An endpoint in a fresh local workspace, its router serving it on a thread of its own.
struct Endpoint {
    root: tempfile::TempDir,
    name: String,
    port: u16,
    /// What `serve` returned; a mutex only so that callers on several threads may share the endpoint.
    stopped: std::sync::Mutex<mpsc::Receiver<Result<()>>>,
}

fn endpoint_record(name: &str, traffic: &[(&str, u32)], mirror: &[(&str, u32)]) -> Result<String> {
    let spec = serde_json::from_value(json!({ "name": name })).map_err(|e| Error::storage("endpoint spec", e))?;
    let record = EndpointRecord {
        name: name.into(),
        spec,
        keys: KEYS.map(str::to_owned),
        traffic: traffic.iter().map(|(d, w)| (d.to_string(), *w)).collect(),
        mirror_traffic: mirror.iter().map(|(d, w)| (d.to_string(), *w)).collect(),
        port: None,
        router_pid: None,
        created_at: aml_core::time::now(),
        updated_at: aml_core::time::now(),
        traffic_changed_by: None,
        rollout: None,
    };
    serde_json::to_string(&record).map_err(|e| Error::storage("endpoint record", e))
}

fn deployment_record(endpoint: &str, name: &str, port: u16, serving: &Serving, root: &Path) -> Result<String> {
    let mut spec = json!({ "name": name, "endpoint_name": endpoint });
    if let Some(settings) = &serving.request_settings {
        spec["request_settings"] = settings.clone();
    }
    if let Some(count) = serving.instance_count {
        spec["instance_count"] = json!(count);
    }
    if let Some((collector, _)) = &serving.collecting {
        spec["data_collector"] = collector.clone();
    }
    let record = DeploymentRecord {
        endpoint: endpoint.into(),
        name: name.into(),
        spec: serde_json::from_value(spec).map_err(|e| Error::storage("deployment spec", e))?,
        model: None,
        model_digest: None,
        fingerprint: Digest::of_bytes(name.as_bytes()),
        dir: root.join("revisions").join(name).join("0"),
        // Nothing to start: a restart of this deployment fails, and says so.
        python: serving.python.clone().unwrap_or_else(|| root.join("no-python-here")),
        entry_script: "score.py".into(),
        environment_variables: Vec::new(),
        port: Some(port),
        pid: Some(serving.pid.unwrap_or_else(std::process::id)),
        state: DeploymentState::Succeeded,
        error: None,
        restarts: 0,
        limits: None,
        collector_port: serving.collecting.as_ref().map(|(_, port)| *port),
        created_at: aml_core::time::now(),
        updated_at: aml_core::time::now(),
    };
    serde_json::to_string(&record).map_err(|e| Error::storage("deployment record", e))
}

impl Endpoint {
    fn start(
        traffic: &[(&str, u32)],
        mirror: &[(&str, u32)],
        deployments: &[(&str, u16, Serving)],
        vars: &[(&str, &str)],
    ) -> std::result::Result<Endpoint, Box<dyn std::error::Error>> {
        Self::launch(traffic, mirror, deployments, None, vars)
    }

    /// The records written, then the router started on them; back once it listens.
    fn launch(
        traffic: &[(&str, u32)],
        mirror: &[(&str, u32)],
        deployments: &[(&str, u16, Serving)],
        port: Option<u16>,
        vars: &[(&str, &str)],
    ) -> std::result::Result<Endpoint, Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let name = "router-test".to_string();
        let registry = Registry::open(&database(root.path()))?;
        let mut record: EndpointRecord = serde_json::from_str(&endpoint_record(&name, traffic, mirror)?)?;
        record.port = port;
        registry.put_endpoint(&name, &serde_json::to_string(&record)?)?;
        for (deployment, port, serving) in deployments {
            registry.put_deployment(
                &name,
                deployment,
                &deployment_record(&name, deployment, *port, serving, root.path())?,
            )?;
        }
        drop(registry);
        let settings = Settings::from_vars(vars.iter().map(|(k, v)| (*k, v.to_string())));
        let (done, stopped) = mpsc::channel();
        let (path, endpoint) = (root.path().to_path_buf(), name.clone());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::spawn(move || {
            let _ = done.send(runtime.block_on(serve(path, endpoint, &settings)));
        });
        let started = Instant::now();
        loop {
            let record: Option<EndpointRecord> = Registry::open(&database(root.path()))?
                .endpoint(&name)?
                .and_then(|(text, _)| serde_json::from_str(&text).ok());
            if let Some(listening) = record.filter(|r| r.router_pid.is_some()).and_then(|r| r.port)
                && TcpStream::connect(("127.0.0.1", listening)).is_ok()
            {
                return Ok(Endpoint { root, name, port: listening, stopped: std::sync::Mutex::new(stopped) });
            }
            if let Ok(ended) = stopped.try_recv() {
                return Err(format!("the router ended before it listened: {ended:?}").into());
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err("the router did not listen within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn registry(&self) -> Result<Registry> {
        Registry::open(&database(self.root.path()))
    }

    fn score(&self, headers: &[(&str, &str)]) -> std::io::Result<Reply> {
        self.call("POST", "/score", headers, b"{}")
    }

    fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<Reply> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding")) {
            head.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut raw = head.into_bytes();
        raw.extend_from_slice(body);
        exchange(self.port, &raw)
    }

    /// Change the endpoint's record as `aml-deploy` would (the generation moves with it).
    fn change(&self, edit: impl FnOnce(&mut EndpointRecord)) -> Result<i64> {
        self.registry()?.modify_endpoint(&self.name, |text| {
            let mut record: EndpointRecord = serde_json::from_str(text).map_err(|e| Error::storage("record", e))?;
            edit(&mut record);
            serde_json::to_string(&record).map_err(|e| Error::storage("record", e))
        })
    }
}

impl Drop for Endpoint {
    /// Deleting the endpoint is what stops its router.
    fn drop(&mut self) {
        if let Ok(registry) = self.registry() {
            let _ = registry.delete_endpoint(&self.name);
        }
        if let Ok(stopped) = self.stopped.lock() {
            let _ = stopped.recv_timeout(Duration::from_secs(5));
        }
        // A server a restart started runs detached, marked as serving the endpoint: stopped
        // too, whatever the test's outcome.
        let Ok(name) = aml_core::names::EndpointName::new(&self.name) else { return };
        let marked = super::super::processes::serving(&super::super::layout::endpoint_dir(self.root.path(), &name));
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
            for process in marked {
                runtime.block_on(server::stop(process.pid));
            }
        }
    }
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    fn deployment(&self) -> String {
        self.json()["deployment"].as_str().unwrap_or_default().to_string()
    }
}

/// One request on its own connection, its whole answer read.
fn exchange(port: u16, raw: &[u8]) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.write_all(raw)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_string() };
    Ok(Reply { status, headers, body })
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || after.len() < size {
            break;
        }
        body.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    body
}

/// Whether `seen` of `n` draws is within six standard deviations of a `share` percent
/// split: a correct router fails this about once in a billion runs, a router that sends the
/// other deployment's share (10 for 90) never passes it.
fn within_binomial_bound(seen: usize, n: usize, share: u32) -> bool {
    let p = f64::from(share) / 100.0;
    let expected = n as f64 * p;
    let spread = 6.0 * (n as f64 * p * (1.0 - p)).sqrt();
    (seen as f64 - expected).abs() <= spread.max(1.0)
}

/// Wait for a count that copies raise in the background to stop moving.
fn settled(count: impl Fn() -> usize) -> usize {
    let mut last = count();
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = count();
        if now == last || started.elapsed() > Duration::from_secs(10) {
            return now;
        }
        last = now;
    }
}

#[test]
fn a_request_needs_one_of_the_endpoints_two_keys_and_the_key_never_reaches_the_deployment() -> TestResult {
    let blue = Backend::start("blue")?;
    let endpoint = Endpoint::start(&[("blue", 100)], &[], &[("blue", blue.port, Serving::default())], &[])?;
    for key in KEYS {
        let reply = endpoint.score(&[("authorization", &bearer(key))])?;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.json()["saw_key"], false, "the key went on to the deployment: {reply:?}");
    }
    let same_length_wrong = format!("{}X", &KEYS[0][..KEYS[0].len() - 1]);
    // Two bytes off by the same bit: differences that must not cancel out.
    let twice_off: String =
        KEYS[0].bytes().enumerate().map(|(i, b)| if i < 2 { char::from(b ^ 1) } else { char::from(b) }).collect();
    let refused = [
        None,
        Some(bearer(&same_length_wrong)),
        Some(bearer(&twice_off)),
        Some(bearer(&KEYS[0][..KEYS[0].len() - 1])),
        Some(bearer(&format!("{}0", KEYS[0]))),
        Some(format!("Basic {}", KEYS[0])),
        Some(KEYS[0].to_string()),
    ];
    for authorization in refused {
        let headers: Vec<(&str, &str)> = authorization.iter().map(|a| ("authorization", a.as_str())).collect();
        let reply = endpoint.score(&headers)?;
        assert_eq!(reply.status, 401, "{authorization:?} was let through: {reply:?}");
        assert!(reply.body.contains("Authorization: Bearer <key>"), "{reply:?}");
    }
    assert_eq!(blue.hits(), 2, "a refused request reached the deployment");
    Ok(())
}

#[test]
fn traffic_is_split_by_the_weights_either_way_round() -> TestResult {
    let (blue, green) = (Backend::start("blue")?, Backend::start("green")?);
    let endpoint = Endpoint::start(
        &[("blue", 90), ("green", 10)],
        &[],
        &[("blue", blue.port, Serving::default()), ("green", green.port, Serving::default())],
        &[],
    )?;
    let key = bearer(KEYS[0]);
    let n = 600;
    for (blue_share, green_share) in [(90, 10), (10, 90)] {
        if blue_share == 10 {
            endpoint.change(|record| {
                record.traffic = [("blue".to_string(), 10), ("green".to_string(), 90)].into();
            })?;
            let reload = endpoint.call("POST", RELOAD_PATH, &[("authorization", &key)], b"")?;
            assert_eq!(reload.status, 200, "{reload:?}");
        }
        let mut to_blue = 0;
        for _ in 0..n {
            let reply = endpoint.score(&[("authorization", &key)])?;
            assert_eq!(reply.status, 200, "{reply:?}");
            let answered_by = reply.deployment();
            assert_eq!(reply.header(DEPLOYMENT_HEADER), Some(answered_by.as_str()), "{reply:?}");
            to_blue += usize::from(answered_by == "blue");
        }
        assert!(
            within_binomial_bound(to_blue, n, blue_share) && within_binomial_bound(n - to_blue, n, green_share),
            "blue {blue_share}% / green {green_share}%: blue answered {to_blue} of {n}"
        );
    }
    Ok(())
}

#[test]
fn a_deployment_with_no_weight_gets_no_traffic_and_no_weight_at_all_is_503() -> TestResult {
    let (blue, green) = (Backend::start("blue")?, Backend::start("green")?);
    let endpoint = Endpoint::start(
        &[("blue", 100), ("green", 0)],
        &[],
        &[("blue", blue.port, Serving::default()), ("green", green.port, Serving::default())],
        &[],
    )?;
    let key = bearer(KEYS[1]);
    for _ in 0..50 {
        assert_eq!(endpoint.score(&[("authorization", &key)])?.deployment(), "blue");
    }
    assert_eq!(green.hits(), 0);
    endpoint.change(|record| {
        record.traffic = [("blue".to_string(), 0), ("green".to_string(), 0)].into();
    })?;
    endpoint.call("POST", RELOAD_PATH, &[("authorization", &key)], b"")?;
    let reply = endpoint.score(&[("authorization", &key)])?;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.body.contains("no deployment receives traffic"), "{reply:?}");
    assert_eq!(blue.hits() + green.hits(), 50);
    Ok(())
}

#[test]
fn a_pinned_request_goes_to_its_deployment_whatever_the_weights() -> TestResult {
    let (blue, green) = (Backend::start("blue")?, Backend::start("green")?);
    let endpoint = Endpoint::start(
        &[("blue", 100), ("green", 0)],
        &[],
        &[("blue", blue.port, Serving::default()), ("green", green.port, Serving::default())],
        &[],
    )?;
    let key = bearer(KEYS[0]);
    for _ in 0..20 {
        let reply = endpoint.score(&[("authorization", &key), (DEPLOYMENT_HEADER, "green")])?;
        assert_eq!((reply.status, reply.deployment()), (200, "green".to_string()), "{reply:?}");
        assert_eq!(reply.header(DEPLOYMENT_HEADER), Some("green"));
    }
    let unknown = endpoint.score(&[("authorization", &key), (DEPLOYMENT_HEADER, "purple")])?;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert!(unknown.body.contains("`purple` is not running"), "{unknown:?}");
    assert_eq!((blue.hits(), green.hits()), (0, 20));
    Ok(())
}

#[test]
fn mirrored_traffic_sends_copies_of_its_share_and_the_caller_gets_the_live_answer() -> TestResult {
    let (blue, green) = (Backend::start("blue")?, Backend::start("green")?);
    let endpoint = Endpoint::start(
        &[("blue", 100)],
        &[("green", 30)],
        &[("blue", blue.port, Serving::default()), ("green", green.port, Serving::default())],
        &[],
    )?;
    let key = bearer(KEYS[0]);
    let n = 400;
    for _ in 0..n {
        assert_eq!(endpoint.score(&[("authorization", &key)])?.deployment(), "blue");
    }
    let copies = settled(|| green.hits());
    assert_eq!(blue.hits(), n);
    assert!(within_binomial_bound(copies, n, 30), "green got {copies} copies of {n} requests at 30%");
    Ok(())
}

#[test]
fn a_deployment_is_never_sent_a_copy_of_what_it_answers() -> TestResult {
    let blue = Backend::start("blue")?;
    let endpoint =
        Endpoint::start(&[("blue", 100)], &[("blue", 100)], &[("blue", blue.port, Serving::default())], &[])?;
    for _ in 0..20 {
        endpoint.score(&[("authorization", &bearer(KEYS[0]))])?;
    }
    assert_eq!(settled(|| blue.hits()), 20);
    Ok(())
}

#[test]
fn the_body_limit_holds_for_a_stated_length_and_a_chunked_body_alike() -> TestResult {
    let blue = Backend::start("blue")?;
    let endpoint = Endpoint::start(
        &[("blue", 100)],
        &[],
        &[("blue", blue.port, Serving::default())],
        &[(EnvVars::AML_ENDPOINT_MAX_REQUEST_BYTES, "1000")],
    )?;
    let key = bearer(KEYS[0]);
    let at_limit = endpoint.call("POST", "/score", &[("authorization", &key)], &[b'x'; 1000])?;
    assert_eq!((at_limit.status, at_limit.json()["bytes"].as_u64()), (200, Some(1000)), "{at_limit:?}");
    let over = endpoint.call("POST", "/score", &[("authorization", &key)], &[b'x'; 1001])?;
    assert_eq!(over.status, 413, "{over:?}");
    assert!(over.body.contains("over 1000 bytes"), "{over:?}");
    let chunked = |size: usize| {
        let mut body = format!("{size:x}\r\n").into_bytes();
        body.extend(std::iter::repeat_n(b'y', size));
        body.extend_from_slice(b"\r\n0\r\n\r\n");
        endpoint.call("POST", "/score", &[("authorization", &key), ("transfer-encoding", "chunked")], &body)
    };
    assert_eq!(chunked(1000)?.status, 200);
    assert_eq!(chunked(1001)?.status, 413);
    assert_eq!(blue.hits(), 2, "a body over the limit reached the deployment");
    Ok(())
}

#[test]
fn a_request_framed_two_ways_is_read_as_chunked_and_one_aimed_at_a_proxy_is_refused() -> TestResult {
    let blue = Backend::start("blue")?;
    let endpoint = Endpoint::start(&[("blue", 100)], &[], &[("blue", blue.port, Serving::default())], &[])?;
    let key = bearer(KEYS[0]);
    // Read by its length, the body would be `3\r\na`; read as chunked it is `abc`.
    let both = |chunks: &str| {
        format!(
            "POST /score HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: {key}\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n{chunks}"
        )
    };
    let reply = exchange(endpoint.port, both("3\r\nabc\r\n0\r\n\r\n").as_bytes())?;
    assert_eq!((reply.status, reply.json()["bytes"].as_u64()), (200, Some(3)), "{reply:?}");
    let reply = exchange(endpoint.port, both("{\"not\": \"a chunk\"}").as_bytes())?;
    assert_eq!(reply.status, 400, "{reply:?}");
    let absolute = format!(
        "GET http://evil.example/score HTTP/1.1\r\nhost: evil.example\r\nconnection: close\r\nauthorization: {key}\r\n\r\n"
    );
    let reply = exchange(endpoint.port, absolute.as_bytes())?;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(reply.body.contains("must be a path"), "{reply:?}");
    // A tunnel asked for by its authority alone, with no scheme.
    let tunnel = format!(
        "CONNECT evil.example:443 HTTP/1.1\r\nhost: evil.example:443\r\nconnection: close\r\nauthorization: {key}\r\n\r\n"
    );
    let reply = exchange(endpoint.port, tunnel.as_bytes())?;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(blue.hits(), 1);
    Ok(())
}

#[test]
fn a_deployment_slower_than_its_request_timeout_is_answered_408() -> TestResult {
    let blue = Backend::start("blue")?;
    let serving = Serving { request_settings: Some(json!({ "request_timeout_ms": 400 })), ..Serving::default() };
    let endpoint = Endpoint::start(&[("blue", 100)], &[], &[("blue", blue.port, serving)], &[])?;
    let key = bearer(KEYS[0]);
    let slow = endpoint.call("POST", "/sleep/3000", &[("authorization", &key)], b"{}")?;
    assert_eq!(slow.status, 408, "{slow:?}");
    assert!(slow.body.contains("request_timeout_ms (400 ms)"), "{slow:?}");
    let quick = endpoint.call("POST", "/sleep/50", &[("authorization", &key)], b"{}")?;
    assert_eq!(quick.status, 200, "{quick:?}");
    Ok(())
}

#[test]
fn requests_past_twice_the_instances_concurrency_are_answered_429() -> TestResult {
    let blue = Backend::start("blue")?;
    // Three instances taking two requests each: twelve in flight at most, as Azure ML allows.
    // A request timeout far past the wait below: on a loaded machine the last callers may
    // start seconds late, and a held request timed out (408) would free a slot for one.
    let serving = Serving {
        request_settings: Some(json!({ "max_concurrent_requests_per_instance": 2, "request_timeout_ms": 60000 })),
        instance_count: Some(3),
        ..Serving::default()
    };
    let endpoint = Endpoint::start(&[("blue", 100)], &[], &[("blue", blue.port, serving)], &[])?;
    let key = bearer(KEYS[0]);
    // Fourteen callers at once, held by the deployment until the two it has no room for
    // have been answered (or ten seconds have passed): which two, and when each arrives, does
    // not matter.
    let mut statuses: Vec<u16> = std::thread::scope(|scope| {
        let (answered, answers) = mpsc::channel();
        for _ in 0..14 {
            let (answered, endpoint, key) = (answered.clone(), &endpoint, &key);
            scope.spawn(move || {
                let status = endpoint.call("POST", "/hold", &[("authorization", key)], b"{}").map_or(0, |r| r.status);
                let _ = answered.send(status);
            });
        }
        let mut statuses = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while statuses.len() < 2 {
            match answers.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(status) => statuses.push(status),
                Err(_) => break,
            }
        }
        blue.open();
        statuses.extend(answers.iter().take(14 - statuses.len()));
        statuses
    });
    statuses.sort();
    let expected: Vec<u16> = [[200; 12].as_slice(), &[429, 429]].concat();
    assert_eq!(statuses, expected);
    // The slots come back with the answers.
    let after = endpoint.call("POST", "/score", &[("authorization", &key)], b"{}")?;
    assert_eq!(after.status, 200, "{after:?}");
    Ok(())
}

#[test]
fn health_needs_no_key_and_a_reload_does() -> TestResult {
    let blue = Backend::start("blue")?;
    let endpoint = Endpoint::start(&[("blue", 100)], &[], &[("blue", blue.port, Serving::default())], &[])?;
    let health = endpoint.call("GET", HEALTH_PATH, &[], b"")?;
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(health.json()["endpoint"], "router-test");
    let first = health.json()["generation"].as_i64();
    assert_eq!(endpoint.call("POST", RELOAD_PATH, &[], b"")?.status, 401);
    let generation = endpoint.change(|record| record.traffic = [("blue".to_string(), 100)].into())?;
    let reload = endpoint.call("POST", RELOAD_PATH, &[("authorization", &bearer(KEYS[1]))], b"")?;
    assert_eq!((reload.status, reload.json()["generation"].as_i64()), (200, Some(generation)), "{reload:?}");
    assert_ne!(first, Some(generation));
    assert_eq!(blue.hits(), 0, "our own paths reached the deployment");
    Ok(())
}

#[test]
fn a_change_of_generation_is_followed_without_being_told_and_a_deleted_endpoint_stops_its_router() -> TestResult {
    let (blue, green) = (Backend::start("blue")?, Backend::start("green")?);
    let endpoint = Endpoint::start(
        &[("blue", 100), ("green", 0)],
        &[],
        &[("blue", blue.port, Serving::default()), ("green", green.port, Serving::default())],
        &[],
    )?;
    let key = bearer(KEYS[0]);
    assert_eq!(endpoint.score(&[("authorization", &key)])?.deployment(), "blue");
    let generation = endpoint.change(|record| {
        record.traffic = [("blue".to_string(), 0), ("green".to_string(), 100)].into();
    })?;
    let started = Instant::now();
    while endpoint.call("GET", HEALTH_PATH, &[], b"")?.json()["generation"].as_i64() != Some(generation) {
        assert!(started.elapsed() < Duration::from_secs(5), "the router did not follow the change within 5 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(endpoint.score(&[("authorization", &key)])?.deployment(), "green");

    endpoint.registry()?.delete_endpoint(&endpoint.name)?;
    let outcome = endpoint
        .stopped
        .lock()
        .map_err(|_| "poisoned")?
        .recv_timeout(Duration::from_secs(5))
        .map_err(|_| "the router still runs")?;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(TcpStream::connect(("127.0.0.1", endpoint.port)).is_err(), "the router's port still answers");
    Ok(())
}

#[test]
fn a_request_id_is_kept_or_made_and_every_request_is_recorded() -> TestResult {
    let blue = Backend::start("blue")?;
    let endpoint = Endpoint::start(&[("blue", 100)], &[], &[("blue", blue.port, Serving::default())], &[])?;
    let key = bearer(KEYS[0]);
    let given =
        endpoint.call("POST", "/score", &[("authorization", &key), ("x-request-id", "abc-123")], b"{\"a\":1}")?;
    assert_eq!(given.header("x-request-id"), Some("abc-123"));
    assert_eq!(given.json()["request_id"], "abc-123");
    let made = endpoint.score(&[("authorization", &key)])?;
    let made_id = made.header("x-request-id").unwrap_or_default().to_string();
    assert_eq!(made_id.len(), 36, "{made:?}");
    assert_eq!(made.json()["request_id"], made_id.as_str(), "the deployment did not get the id the caller got");
    let too_long = "x".repeat(129);
    let replaced = endpoint.score(&[("authorization", &key), ("x-request-id", &too_long)])?;
    assert_ne!(replaced.header("x-request-id"), Some(too_long.as_str()));
    let refused = endpoint.score(&[("x-request-id", "no-key")])?;
    assert_eq!(refused.status, 401);
    // Our own paths are not the endpoint's traffic: not recorded.
    endpoint.call("GET", HEALTH_PATH, &[("x-request-id", "health")], b"")?;
    endpoint.call("POST", RELOAD_PATH, &[("authorization", &key), ("x-request-id", "reload")], b"")?;
    let slow = endpoint.call("POST", "/sleep/200", &[("authorization", &key), ("x-request-id", "slow")], b"")?;
    assert_eq!(slow.status, 200);

    let dir =
        super::super::layout::endpoint_dir(endpoint.root.path(), &aml_core::names::EndpointName::new(&endpoint.name)?);
    let started = Instant::now();
    let records = loop {
        let records = super::super::request_log::read(&dir, 0);
        if records.len() >= 5 || started.elapsed() > Duration::from_secs(5) {
            break records;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let seen: Vec<(&str, u16, Option<&str>, u64)> =
        records.iter().map(|r| (r.request_id.as_str(), r.status, r.deployment.as_deref(), r.request_bytes)).collect();
    assert_eq!(
        seen,
        [
            ("abc-123", 200, Some("blue"), 7),
            (made_id.as_str(), 200, Some("blue"), 2),
            (replaced.header("x-request-id").unwrap_or_default(), 200, Some("blue"), 2),
            ("no-key", 401, None, 2),
            ("slow", 200, Some("blue"), 0),
        ]
    );
    // In milliseconds, from arrival to answer.
    let latency = records.last().map_or(0.0, |r| r.latency_ms);
    assert!((200.0..950.0).contains(&latency), "a 200 ms answer recorded as {latency} ms");
    Ok(())
}

#[test]
fn a_dead_deployment_is_answered_503_with_retry_after_and_a_failed_restart_is_recorded() -> TestResult {
    // A server that dies once the router runs: its port closed, its process gone.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut server = std::process::Command::new("sleep").arg("60").spawn()?;
    let serving = Serving { pid: Some(server.id()), ..Serving::default() };
    let endpoint = Endpoint::start(&[("blue", 100)], &[], &[("blue", port, serving)], &[])?;
    // Held as a command changing the endpoint holds it, the supervisor cannot restart the
    // server before the request finds it dead.
    let endpoints = super::super::layout::endpoints_dir(endpoint.root.path());
    let name = aml_core::names::EndpointName::new(&endpoint.name)?;
    let lock = super::super::lock::EndpointLock::try_acquire(&endpoints, &name)?.ok_or("the endpoint is locked")?;
    server.kill()?;
    server.wait()?;
    let key = bearer(KEYS[0]);
    let reply = endpoint.score(&[("authorization", &key)])?;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert_eq!(reply.header("retry-after"), Some(RETRY_AFTER_SECONDS));
    assert!(reply.body.contains("`blue` is restarting"), "{reply:?}");
    assert_eq!(reply.header(DEPLOYMENT_HEADER), Some("blue"));
    drop(lock);

    // Nothing can start it again here: the record says so, and the router stops sending to it.
    let started = Instant::now();
    let record = loop {
        let text = endpoint.registry()?.deployments(&endpoint.name)?.pop().unwrap_or_default();
        let record: DeploymentRecord = serde_json::from_str(&text)?;
        if record.state == DeploymentState::Failed || started.elapsed() > Duration::from_secs(10) {
            break record;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(record.state, DeploymentState::Failed);
    assert!(record.error.as_deref().is_some_and(|e| e.starts_with("restart failed")), "{:?}", record.error);
    let reply = endpoint.score(&[("authorization", &key)])?;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.body.contains("`blue` is not ready"), "{reply:?}");
    Ok(())
}

#[test]
fn a_server_alive_but_not_answering_is_503_not_restarted() -> TestResult {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let endpoint = Endpoint::start(&[("blue", 100)], &[], &[("blue", port, Serving::default())], &[])?;
    let reply = endpoint.score(&[("authorization", &bearer(KEYS[0]))])?;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.body.contains("`blue` is not answering"), "{reply:?}");
    std::thread::sleep(Duration::from_millis(1500));
    let record: DeploymentRecord =
        serde_json::from_str(&endpoint.registry()?.deployments(&endpoint.name)?.pop().unwrap_or_default())?;
    assert_eq!((record.state, record.restarts), (DeploymentState::Succeeded, 0));
    Ok(())
}

#[test]
fn the_router_takes_the_port_its_record_names_and_moves_only_when_it_is_taken() -> TestResult {
    let blue = Backend::start("blue")?;
    let deployments = || [("blue", blue.port, Serving::default())];
    let free = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let kept = Endpoint::launch(&[("blue", 100)], &[], &deployments(), Some(free), &[])?;
    assert_eq!(kept.port, free);
    drop(kept);
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let taken_port = taken.local_addr()?.port();
    let moved = Endpoint::launch(&[("blue", 100)], &[], &deployments(), Some(taken_port), &[])?;
    assert_ne!(moved.port, taken_port);
    assert_eq!(moved.score(&[("authorization", &bearer(KEYS[0]))])?.status, 200);
    Ok(())
}

#[test]
fn readiness_waits_as_long_as_azure_mls_probe_would() -> TestResult {
    let mut record: DeploymentRecord = serde_json::from_str(&deployment_record(
        "router-test",
        "blue",
        1,
        &Serving::default(),
        Path::new("/nowhere"),
    )?)?;
    assert_eq!(readiness_timeout(&record), Duration::from_secs(10 + 10 * 30));
    record.spec.readiness_probe =
        Some(serde_json::from_value(json!({ "initial_delay": 3, "period": 2, "failure_threshold": 5 }))?);
    assert_eq!(readiness_timeout(&record), Duration::from_secs(3 + 2 * 5));
    Ok(())
}

#[test]
fn traffic_rolls_never_start_at_zero_and_differ_between_routers() {
    for (pid, millis) in [(1, 0), (0, 1), (7, 7), (u32::MAX, i64::from(u32::MAX))] {
        assert_ne!(traffic_seed(pid, millis), 0, "pid {pid} at {millis}");
    }
    assert_ne!(traffic_seed(1, 2), traffic_seed(1, 4), "the start time is not in the seed");
    assert_ne!(traffic_seed(1, 2), traffic_seed(3, 2), "the process is not in the seed");
}

#[test]
fn each_deployment_takes_exactly_as_many_rolls_as_its_weight_in_the_splits_order() {
    let split = |weights: &[(&str, u32)]| weights.iter().map(|(n, w)| (n.to_string(), *w)).collect::<Vec<_>>();
    for weights in
        [vec![("a", 90), ("b", 10)], vec![("a", 50), ("b", 30), ("c", 20)], vec![("a", 0), ("b", 1), ("c", 1)]]
    {
        let traffic = split(&weights);
        let total: u32 = weights.iter().map(|(_, w)| w).sum();
        let landed: Vec<&str> = (0..total).filter_map(|roll| choose(&traffic, roll)).collect();
        let expected: Vec<&str> = weights.iter().flat_map(|(n, w)| std::iter::repeat_n(*n, *w as usize)).collect();
        assert_eq!(landed, expected, "{weights:?}");
        assert_eq!(choose(&traffic, total), None);
    }
}

#[test]
fn rolls_are_spread_evenly_and_do_not_repeat_soon() {
    // Chi-square of 100,000 rolls over 100 values (99 degrees of freedom: about 99, with a
    // standard deviation of 14); 200 is more than seven deviations away.
    for seed in [traffic_seed(1, 0), traffic_seed(4242, 1_765_000_000_000), u64::MAX] {
        let mut counts = [0u32; 100];
        let mut state = seed;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100_000 {
            state = next_random(state);
            assert!(seen.insert(state), "the sequence from {seed} repeats within 100,000 rolls");
            counts[(state % 100) as usize] += 1;
        }
        let expected = 1000.0;
        let chi_square: f64 = counts.iter().map(|c| (f64::from(*c) - expected).powi(2) / expected).sum();
        assert!(chi_square < 200.0, "rolls from {seed} are uneven: chi-square {chi_square:.0}, counts {counts:?}");
    }
}

#[test]
fn a_mirror_taking_a_percent_is_copied_that_many_rolls_in_a_hundred() {
    for percent in [0, 1, 30, 99, 100] {
        assert_eq!((0..100).filter(|roll| copied(*roll, percent)).count(), percent as usize);
    }
}

#[test]
fn what_a_deployment_collects_is_written_from_its_calls_and_from_its_collector_port() -> TestResult {
    let blue = Backend::start("blue")?;
    let collector_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let collector = json!({ "collections": {
        "request": { "enabled": "True" },
        "model_inputs": { "enabled": "True" },
    }});
    let serving = Serving { collecting: Some((collector, collector_port)), ..Serving::default() };
    let endpoint = Endpoint::start(&[("blue", 100)], &[], &[("blue", blue.port, serving)], &[])?;
    let reply = endpoint.call(
        "POST",
        "/score",
        &[("authorization", &bearer(KEYS[0])), ("x-request-id", "call-1")],
        b"[1,2]",
    )?;
    assert_eq!(reply.status, 200, "{reply:?}");
    // What the scoring script's collector SDK sends for the same call.
    let event = b"{\"x\":[1,2]}";
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\nce-type: azureml.inference.model_inputs\r\nce-x-request-id: call-1\r\ntrace-id: event-1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        super::super::collector::LOG_PATH,
        event.len()
    );
    let accepted = exchange(collector_port, &[head.as_bytes(), event].concat())?;
    assert_eq!((accepted.status, accepted.body.as_str()), (200, "accepted"), "{accepted:?}");

    let text = endpoint.registry()?.deployments(&endpoint.name)?.pop().unwrap_or_default();
    let record: DeploymentRecord = serde_json::from_str(&text)?;
    for (collection, expected) in [("request", "[1,2]"), ("model_inputs", "{\"x\":[1,2]}")] {
        let folder = super::super::collector::collection_folder(endpoint.root.path(), &record, collection)?
            .ok_or("no folder")?;
        let started = Instant::now();
        let lines = loop {
            let lines = super::super::collector::read(&folder, 0);
            if !lines.is_empty() || started.elapsed() > Duration::from_secs(5) {
                break lines;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let line = serde_json::to_value(lines.first().ok_or(format!("nothing collected in `{collection}`"))?)?;
        assert_eq!(line["correlationid"], "call-1", "{collection}: {line}");
        assert_eq!(line["data"], serde_json::from_str::<serde_json::Value>(expected)?, "{collection}: {line}");
        assert_eq!(line["type"], format!("azureml.inference.{collection}"));
    }
    Ok(())
}

/// A stand-in for the inference server a restart starts: `launch.py --port N` answers every
/// request with `{"deployment": "blue", "restarted": true}`.
const STAND_IN_LAUNCHER: &str = r#"
import http.server, json, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
class Answer(http.server.BaseHTTPRequestHandler):
    def answer(self):
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        body = json.dumps({"deployment": "blue", "restarted": True}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Answer).serve_forever()
"#;

#[test]
fn a_server_that_dies_is_started_again_counted_and_served() -> TestResult {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut server = std::process::Command::new("sleep").arg("60").spawn()?;
    let serving = Serving { pid: Some(server.id()), python: Some(PathBuf::from("python3")), ..Serving::default() };
    let endpoint = Endpoint::start(&[("blue", 100)], &[], &[("blue", port, serving)], &[])?;
    let revision = endpoint.root.path().join("revisions").join("blue").join("0");
    std::fs::create_dir_all(revision.join("code"))?;
    std::fs::write(revision.join("launch.py"), STAND_IN_LAUNCHER)?;
    server.kill()?;
    server.wait()?;

    let key = bearer(KEYS[0]);
    let started = Instant::now();
    let answer = loop {
        let reply = endpoint.score(&[("authorization", &key)])?;
        if reply.status == 200 || started.elapsed() > Duration::from_secs(30) {
            break reply;
        }
        assert_eq!(reply.status, 503, "{reply:?}");
        assert_eq!(reply.header("retry-after"), Some(RETRY_AFTER_SECONDS), "{reply:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    // Back on the same port, it may answer before its record is written: wait for that.
    let record = loop {
        let text = endpoint.registry()?.deployments(&endpoint.name)?.pop().unwrap_or_default();
        let record: DeploymentRecord = serde_json::from_str(&text)?;
        if record.pid != Some(server.id()) || started.elapsed() > Duration::from_secs(30) {
            break record;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!((answer.status, answer.json()["restarted"].as_bool()), (200, Some(true)), "{answer:?}");
    assert_eq!((record.state, record.restarts, record.error), (DeploymentState::Succeeded, 1, None));
    assert_ne!(record.pid, Some(server.id()));
    Ok(())
}
