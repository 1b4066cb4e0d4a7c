//! Which processes serve an endpoint, found from the processes themselves: every process an
//! endpoint starts (its router, each inference server, and what those start) carries
//! `AML_SERVES=<the endpoint's folder>` in its environment. A command killed between starting
//! a server and recording it leaves a process no record names; the next command that changes
//! the endpoint finds it here and stops it, and `delete` stops everything that carries the
//! mark, recorded or not.

use std::path::Path;

use super::server::{self, SERVES};

/// A process that serves an endpoint: its pid, and the session it belongs to (the session
/// leader is what we started, with `setsid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Serving {
    pub pid: u32,
    pub session: u32,
}

/// Every live process marked as serving the endpoint whose folder is `endpoint_dir`.
pub fn serving(endpoint_dir: &Path) -> Vec<Serving> {
    let mark = format!("{SERVES}={}", endpoint_dir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        // Another user's process (or one that just exited) cannot be read: not ours.
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        if !environ.split(|b| *b == 0).any(|var| var == mark.as_bytes()) {
            continue;
        }
        if let Some(stat) = Stat::read(pid).filter(|s| s.alive) {
            found.push(Serving { pid, session: stat.session });
        }
    }
    found
}

/// Stop every session serving the endpoint that is not kept: not a recorded router or
/// server, and not started by a recorded router that is still alive (a restart it has not
/// recorded yet). Returns the sessions stopped.
pub async fn reap(endpoint_dir: &Path, recorded: &[u32], router: Option<u32>) -> Vec<u32> {
    let mut sessions: Vec<u32> = serving(endpoint_dir).iter().map(|s| s.session).collect();
    sessions.sort_unstable();
    sessions.dedup();
    let mut stopped = Vec::new();
    for session in sessions {
        if recorded.contains(&session) {
            continue;
        }
        let started_by_router = Stat::read(session).is_some_and(|leader| router.is_some_and(|r| leader.parent == r));
        if started_by_router {
            continue;
        }
        server::stop(session).await;
        stopped.push(session);
    }
    stopped
}

struct Stat {
    alive: bool,
    parent: u32,
    session: u32,
}

impl Stat {
    fn read(pid: u32) -> Option<Stat> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // `pid (comm) state ppid pgrp session …`; comm may hold spaces and parentheses.
        let mut fields = text.rsplit_once(')')?.1.split_whitespace();
        let state = fields.next()?;
        let parent = fields.next()?.parse().ok()?;
        let _group = fields.next()?;
        let session = fields.next()?.parse().ok()?;
        Some(Stat { alive: state != "Z" && state != "X", parent, session })
    }
}
