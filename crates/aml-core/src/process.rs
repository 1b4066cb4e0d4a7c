//! Running a job's processes: each in its own process group (so cancelling reaches the
//! whole tree a script starts), stdout and stderr merged into one log as a terminal would
//! show them, echoed to our stderr, and stopped on SIGINT/SIGTERM or a timeout.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::sync::watch;

use crate::error::{Error, IoContext, Result};

/// Set once SIGINT or SIGTERM arrives; everything still to run is skipped.
#[derive(Clone)]
pub struct Cancellation {
    requested: watch::Receiver<bool>,
}

impl Cancellation {
    /// Listen for SIGINT and SIGTERM from now on. Must be called inside the runtime.
    pub fn install() -> Result<Cancellation> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt =
            signal(SignalKind::interrupt()).map_err(|e| Error::storage("cannot listen for SIGINT", e))?;
        let mut terminate =
            signal(SignalKind::terminate()).map_err(|e| Error::storage("cannot listen for SIGTERM", e))?;
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            let _ = tx.send(true);
        });
        Ok(Cancellation { requested: rx })
    }

    /// A cancellation another part of the program triggers through the sender (no signals).
    pub fn manual() -> (watch::Sender<bool>, Cancellation) {
        let (tx, rx) = watch::channel(false);
        (tx, Cancellation { requested: rx })
    }

    pub fn requested(&self) -> bool {
        *self.requested.borrow()
    }

    /// Resolves once cancellation is requested.
    pub async fn wait(&mut self) {
        while !*self.requested.borrow() {
            if self.requested.changed().await.is_err() {
                // The listener is gone; no cancellation can arrive any more.
                std::future::pending::<()>().await;
            }
        }
    }
}

pub struct ChildSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
    /// Prepended to each echoed line (`[train] `) so pipeline steps can be told apart.
    pub prefix: String,
    pub echo: bool,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code; None when a signal ended it.
    Exited(Option<i32>),
    Canceled,
    TimedOut,
}

/// Grace period between SIGTERM and SIGKILL, as container runtimes give.
const GRACE: Duration = Duration::from_secs(10);

pub async fn run_child(spec: ChildSpec, cancel: &mut Cancellation) -> Result<Outcome> {
    if cancel.requested() {
        return Ok(Outcome::Canceled);
    }
    if let Some(dir) = spec.log.parent() {
        std::fs::create_dir_all(dir).with_path("cannot create", dir)?;
    }
    let log = OpenOptions::new().create(true).append(true).open(&spec.log).with_path("cannot open log", &spec.log)?;
    let (reader, writer) =
        std::io::pipe().map_err(|e| Error::storage("cannot create a pipe for the job's output", e))?;
    let writer_for_stdout =
        writer.try_clone().map_err(|e| Error::storage("cannot create a pipe for the job's output", e))?;

    let mut command = tokio::process::Command::new(&spec.program);
    command
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(writer_for_stdout)
        .stderr(writer)
        .process_group(0);
    let spawned = command.spawn();
    // The command holds the pipe's write ends; drop it so the reader sees EOF when the child exits.
    drop(command);
    let mut child = spawned.map_err(|e| {
        Error::service(
            format!("cannot start `{}`: {e}", spec.program.display()),
            Some("check that the program exists and is executable".into()),
        )
    })?;
    let pgid = child.id().map(|id| id as i32);

    let pump = std::thread::spawn({
        let prefix = spec.prefix.clone();
        let echo = spec.echo;
        move || pump_lines(reader, log, &prefix, echo)
    });

    let timeout = async {
        match spec.timeout {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        status = child.wait() => Outcome::Exited(status.map_err(|e| Error::storage("cannot wait for the job's process", e))?.code()),
        () = cancel.wait() => { stop(&mut child, pgid).await; Outcome::Canceled }
        () = timeout => { stop(&mut child, pgid).await; Outcome::TimedOut }
    };
    // Whatever the script left running in the background ends with it, as in a container.
    signal_group(pgid, libc::SIGKILL);
    let _ = tokio::task::spawn_blocking(move || pump.join()).await;
    Ok(outcome)
}

async fn stop(child: &mut tokio::process::Child, pgid: Option<i32>) {
    signal_group(pgid, libc::SIGTERM);
    if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
        signal_group(pgid, libc::SIGKILL);
        let _ = child.wait().await;
    }
}

/// Ask a process to stop as Ctrl-C would (SIGINT); false when it cannot be signalled.
#[allow(unsafe_code)]
pub fn interrupt(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else { return false };
    // SAFETY: kill(2) only sends a signal to the one process named.
    pid > 0 && unsafe { libc::kill(pid, libc::SIGINT) } == 0
}

#[allow(unsafe_code)]
fn signal_group(pgid: Option<i32>, signal: i32) {
    if let Some(pgid) = pgid.filter(|p| *p > 0) {
        // SAFETY: killpg only sends a signal to the group we created for the child.
        unsafe {
            libc::killpg(pgid, signal);
        }
    }
}

fn pump_lines(reader: std::io::PipeReader, mut log: File, prefix: &str, echo: bool) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let _ = log.write_all(&line);
                if echo {
                    let mut shown = Vec::with_capacity(prefix.len() + line.len() + 1);
                    shown.extend_from_slice(prefix.as_bytes());
                    shown.extend_from_slice(&line);
                    if !line.ends_with(b"\n") {
                        shown.push(b'\n');
                    }
                    crate::progress::print_bytes(&shown);
                }
            }
        }
    }
    let _ = log.flush();
}

/// The last `lines` lines of a log, for error messages.
pub fn tail(path: &std::path::Path, lines: usize) -> String {
    let Ok(text) = std::fs::read(path) else { return String::new() };
    let text = String::from_utf8_lossy(&text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A fresh, empty folder under the system's temp folder (`<prefix>-<pid>-<nanos>`), for files
/// on their way somewhere (a promote's staging copy, a downloaded model).
pub fn scratch_dir(prefix: &str) -> crate::Result<PathBuf> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| crate::Error::storage(format!("cannot create `{}`", dir.display()), e))?;
    Ok(dir)
}

/// Scratch folders that live as long as their owner: a remote workspace hands out paths to
/// downloaded job outputs and model files, valid while it is open and removed after.
#[derive(Default)]
pub struct ScratchDirs(std::sync::Mutex<Vec<PathBuf>>);

impl ScratchDirs {
    pub fn create(&self, prefix: &str) -> crate::Result<PathBuf> {
        let dir = scratch_dir(prefix)?;
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(dir.clone());
        Ok(dir)
    }
}

impl Drop for ScratchDirs {
    fn drop(&mut self) {
        for dir in self.0.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()).drain(..) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
