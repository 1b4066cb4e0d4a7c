//! Starting and stopping the processes that serve an endpoint: the Azure ML inference
//! server for each deployment, and our router. They run detached (their own session), so
//! they outlive the command that started them, until `delete` stops them.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::blobs::process_alive;
use aml_core::error::{Error, IoContext, Result};

/// The inference server binds 0.0.0.0 and a shared gunicorn control socket by default;
/// locally it binds 127.0.0.1 only, on the ports we pick, and opens no control socket.
const LAUNCHER: &str = r#""""Start the Azure ML inference server on 127.0.0.1 (written by aml-deploy)."""
import sys

import azureml_inference_server_http.constants as constants

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

/// Start a program detached: its own session, output appended to `log`.
pub fn spawn_detached(
    program: &Path,
    args: &[String],
    env: &[(String, String)],
    cwd: &Path,
    log: &Path,
) -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let out = OpenOptions::new().create(true).append(true).open(log).with_path("cannot open", log)?;
    let err = out.try_clone().with_path("cannot open", log)?;
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    #[allow(unsafe_code)]
    // SAFETY: setsid is async-signal-safe and only detaches the child from our session.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child =
        command.spawn().map_err(|e| Error::service(format!("cannot start `{}`: {e}", program.display()), None))?;
    Ok(child.id())
}

/// Start the inference server for a deployment; returns its pid and port.
pub fn start_inference_server(
    python: &Path,
    revision: &Path,
    entry_script: &str,
    env: &[(String, String)],
    log: &Path,
    preferred_port: Option<u16>,
) -> Result<(u32, u16)> {
    let port = free_port(preferred_port)?;
    let health_port = free_port(None)?;
    let code = revision.join("code");
    let mut env: Vec<(String, String)> = env.to_vec();
    env.extend([
        ("AZUREML_MODEL_DIR".to_string(), revision.join("model").display().to_string()),
        ("AML_APP_ROOT".to_string(), code.display().to_string()),
        ("AZUREML_ENTRY_SCRIPT".to_string(), code.join(entry_script).display().to_string()),
        ("GUNICORN_CMD_ARGS".to_string(), "--no-control-socket".to_string()),
        ("PYTHONUNBUFFERED".to_string(), "1".to_string()),
        ("PYTHONDONTWRITEBYTECODE".to_string(), "1".to_string()),
    ]);
    let mut header = OpenOptions::new().create(true).append(true).open(log).with_path("cannot open", log)?;
    let _ = writeln!(
        header,
        "==> {} starting the inference server on 127.0.0.1:{port} ({})",
        aml_core::time::now(),
        revision.display()
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
    let pid = spawn_detached(python, &args, &env, &code, log)?;
    Ok((pid, port))
}

/// Wait until `GET /` answers 200, the process dies, or `timeout` passes.
pub fn wait_ready(pid: u32, port: u16, path: &str, timeout: Duration) -> std::result::Result<(), String> {
    let start = Instant::now();
    loop {
        if !process_alive(pid as i32) {
            return Err("the server exited before it was ready".into());
        }
        if let Ok((200, _)) = request(port, "GET", path, &[], b"", Duration::from_secs(2)) {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(format!("the server was not ready after {}s", timeout.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stop a detached process and everything in its group: SIGTERM, then SIGKILL. The group
/// is signalled even when its leader is already dead: a gunicorn worker outlives its killed
/// master for minutes, still holding the port.
#[allow(unsafe_code)]
pub fn stop(pid: u32) {
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
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: as above.
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port`: for probes and the router's admin calls, where
/// a client library and an async runtime would be more than the job needs.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text_end = response.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or(response.len());
    let status_line = String::from_utf8_lossy(&response[..text_end]);
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP response"))?;
    Ok((status, response[text_end..].to_vec()))
}

/// The last `lines` lines of a log, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    aml_core::process::tail(path, lines)
}
