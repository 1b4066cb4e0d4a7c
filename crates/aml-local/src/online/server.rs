//! Starting and stopping the processes that serve an endpoint: the Azure ML inference
//! server for each deployment, and our router. They run detached (their own session), so
//! they outlive the command that started them, until `delete` stops them.

use std::ffi::CString;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::limits::{Cgroup, ContainerLimits};
use super::records::DeploymentRecord;
use crate::blobs::process_alive;
use aml_core::error::{Error, IoContext, Result};
use aml_core::progress::Progress;
use aml_http::client::{Client, HttpMethod};
use bytes::Bytes;

/// The inference server binds 0.0.0.0 and a shared gunicorn control socket by default;
/// locally it binds 127.0.0.1 only, on the ports we pick, and opens no control socket.
///
/// With data collection on, what a scoring script collects while it answers a call carries
/// that call's `x-request-id` as its correlation id (as collected data does on Azure ML), so
/// the call's inputs, outputs, request and response are tied together: the collector SDK's
/// fresh context is replaced, inside a request, by one with the request's id. Its sampling
/// draw is the call's too (`aml_core::collected::sampled`: SHA-256 of the id, its first 8
/// bytes over 2^64 - 1), so a call's collections are kept or dropped together, with the
/// router's request and response.
const LAUNCHER: &str = r#""""Start the Azure ML inference server on 127.0.0.1 (written by aml-deploy)."""
import os
import sys

import azureml_inference_server_http.constants as constants

if os.environ.get("AZUREML_MDC_CONFIG_PATH"):
    try:
        import flask
        import azureml.ai.monitoring.collector_json as collector_json
        from azureml.ai.monitoring.context import BasicCorrelationContext
    except ImportError:
        pass
    else:
        import hashlib
        import random

        fresh_context = collector_json.get_context

        def call_id():
            if flask.has_request_context():
                return getattr(flask.g, "request_id", "")
            return ""

        def call_context():
            if call_id():
                return BasicCorrelationContext(id=call_id())
            return fresh_context()

        class CallDraw:
            @staticmethod
            def random():
                if not call_id():
                    return random.random()
                first = hashlib.sha256(call_id().encode()).digest()[:8]
                return int.from_bytes(first, "big") / 0xFFFFFFFFFFFFFFFF

        collector_json.get_context = call_context
        collector_json.random = CallDraw

constants.DEFAULT_HOST = "127.0.0.1"
from azureml_inference_server_http.amlserver import run  # noqa: E402

sys.argv = ["azmlinfsrv"] + sys.argv[1:]
run()
"#;

pub fn write_launcher(dir: &Path) -> Result<()> {
    let path = dir.join("launch.py");
    fs::write(&path, LAUNCHER).with_path("cannot write", &path)
}

/// A port on 127.0.0.1 nobody listens on now. `preferred` is kept when it is free.
pub fn free_port(preferred: Option<u16>) -> Result<u16> {
    if let Some(port) = preferred
        && TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).is_ok()
    {
        return Ok(port);
    }
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .map_err(|e| Error::storage("cannot find a free port on 127.0.0.1", e))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| Error::storage("cannot find a free port on 127.0.0.1", e))
}

/// The environment variable that marks a process as serving an endpoint: its value is the
/// endpoint's folder. Children inherit it, so a server's workers carry it too.
pub const SERVES: &str = "AML_SERVES";

/// Start a program detached: its own session, output appended to `log`, marked as serving
/// the endpoint whose folder is `serves` (see `processes`). It first joins the cgroups whose
/// `cgroup.procs` files are given (none for the router), so that it and everything it starts
/// are under their limits from the start.
pub fn spawn_detached(
    program: &Path,
    args: &[String],
    env: &[(String, String)],
    cwd: &Path,
    log: &Path,
    serves: &Path,
    cgroup_procs: Vec<CString>,
) -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let out = OpenOptions::new().create(true).append(true).open(log).with_path("cannot open", log)?;
    let err = out.try_clone().with_path("cannot open", log)?;
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env(SERVES, serves)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    #[allow(unsafe_code)]
    // SAFETY: between fork and exec only async-signal-safe calls are made (setsid, open,
    // write, close) on C strings allocated before the fork.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            for procs in &cgroup_procs {
                // "0" moves the writing process itself (cgroup v1 and v2 alike).
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if written != 1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child =
        command.spawn().map_err(|e| Error::service(format!("cannot start `{}`: {e}", program.display()), None))?;
    Ok(child.id())
}

/// A started inference server, and the limits it runs under where they are enforced.
pub struct Started {
    pub pid: u32,
    pub port: u16,
    enforced: Option<Enforced>,
}

struct Enforced {
    cgroup: Cgroup,
    limits: ContainerLimits,
    oom_kills_before: u64,
}

impl Started {
    /// `OOMKilled (limit 200Mi)` once the kernel has killed one of its processes for memory.
    pub fn oom_killed(&self) -> Option<String> {
        let enforced = self.enforced.as_ref()?;
        (enforced.cgroup.oom_kills() > enforced.oom_kills_before).then(|| enforced.limits.oom_killed())
    }
}

/// Start the inference server for a deployment, under its limits.
pub fn start_inference_server(
    deployment: &DeploymentRecord,
    log: &Path,
    preferred_port: Option<u16>,
    serves: &Path,
) -> Result<Started> {
    let revision = &deployment.dir;
    let entry_script = &deployment.entry_script;
    let port = free_port(preferred_port)?;
    let health_port = free_port(None)?;
    let code = revision.join("code");
    let mut env: Vec<(String, String)> = deployment.environment_variables.clone();
    env.extend([
        ("AZUREML_MODEL_DIR".to_string(), revision.join("model").display().to_string()),
        ("AML_APP_ROOT".to_string(), code.display().to_string()),
        ("AZUREML_ENTRY_SCRIPT".to_string(), code.join(entry_script).display().to_string()),
        ("GUNICORN_CMD_ARGS".to_string(), "--no-control-socket".to_string()),
        ("PYTHONUNBUFFERED".to_string(), "1".to_string()),
        ("PYTHONDONTWRITEBYTECODE".to_string(), "1".to_string()),
    ]);
    if let Some(port) = deployment.collector_port {
        env.extend(collector_env(deployment, port)?);
    }
    let enforced = deployment.limits.as_ref().and_then(|limits| {
        let cgroup = Cgroup::prepare(revision, limits)?;
        let oom_kills_before = cgroup.oom_kills();
        Some(Enforced { cgroup, limits: limits.clone(), oom_kills_before })
    });
    let mut header = OpenOptions::new().create(true).append(true).open(log).with_path("cannot open", log)?;
    let _ = writeln!(
        header,
        "==> {} starting the inference server on 127.0.0.1:{port} ({}){}",
        aml_core::time::now(),
        revision.display(),
        match &enforced {
            Some(enforced) => format!(" under limits {}", enforced.limits),
            None => String::new(),
        }
    );
    let args = vec![
        revision.join("launch.py").display().to_string(),
        "--entry_script".into(),
        code.join(entry_script).display().to_string(),
        "--port".into(),
        port.to_string(),
        // Pinned too: the server listens on it when asked for a separate health endpoint.
        "--health_port".into(),
        health_port.to_string(),
    ];
    let cgroup_procs = enforced.as_ref().map(|e| e.cgroup.procs_files()).unwrap_or_default();
    let pid = spawn_detached(&deployment.python, &args, &env, &code, log, serves, cgroup_procs)?;
    Ok(Started { pid, port, enforced })
}

/// What the collector SDK reads: its collections (a file in the revision's folder) and where
/// the router listens for them.
fn collector_env(deployment: &DeploymentRecord, port: u16) -> Result<Vec<(String, String)>> {
    let plan = deployment
        .spec
        .data_collector
        .as_ref()
        .map(|c| aml_core::collected::CollectionPlan::of(c, &deployment.endpoint, &deployment.name))
        .transpose()?
        .flatten();
    let Some(plan) = plan else { return Ok(Vec::new()) };
    let config = deployment.dir.join("mdc-config.json");
    fs::write(&config, super::collector::sdk_config(&plan).to_string()).with_path("cannot write", &config)?;
    Ok(vec![
        ("AZUREML_MDC_CONFIG_PATH".to_string(), config.display().to_string()),
        ("AZUREML_MDC_HOST".to_string(), "127.0.0.1".to_string()),
        ("AZUREML_MDC_PORT".to_string(), port.to_string()),
    ])
}

/// Whether `GET path` on 127.0.0.1:`port` answers 200 within two seconds.
pub async fn answers(client: &Client, port: u16, path: &str) -> bool {
    let url = format!("http://127.0.0.1:{port}{path}");
    client.send(HttpMethod::Get, &url, &[], Bytes::new(), Duration::from_secs(2)).await.is_ok_and(|a| a.status == 200)
}

/// Wait until `GET path` answers 200, the process dies or is killed for memory, or
/// `timeout` passes.
pub async fn wait_ready(
    client: &Client,
    server: &Started,
    path: &str,
    timeout: Duration,
    progress: Option<&Progress>,
) -> std::result::Result<(), String> {
    let (pid, port) = (server.pid, server.port);
    let start = Instant::now();
    loop {
        if let Some(progress) = progress {
            progress.set_status("starting");
        }
        // A worker killed for memory is started again by its master, and killed again:
        // the first kill is the answer.
        if let Some(killed) = server.oom_killed() {
            return Err(killed);
        }
        if !process_alive(pid as i32) {
            return Err("the server exited before it was ready".into());
        }
        if answers(client, port, path).await {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(format!("the server was not ready after {}s", timeout.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stop a detached process and everything in its group: SIGTERM, then SIGKILL. The group
/// is signalled even when its leader is already dead: a gunicorn worker outlives its killed
/// master for minutes, still holding the port.
#[allow(unsafe_code)]
pub async fn stop(pid: u32) {
    let pid = pid as i32;
    if pid <= 0 {
        return;
    }
    // SAFETY: the process leads its own session and group (setsid at spawn); we signal that
    // group, and a group with no member left just reports ESRCH.
    unsafe {
        libc::killpg(pid, libc::SIGTERM);
    }
    let start = Instant::now();
    while process_alive(pid) && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // SAFETY: as above.
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
}

/// The last `lines` lines of a log, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    aml_core::process::tail(path, lines)
}
