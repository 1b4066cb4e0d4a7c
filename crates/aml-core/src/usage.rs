//! What a tree of processes uses, read from /proc: resident memory now, and the CPU time it
//! has had. A detached server leads its own session (it was started with `setsid`), and
//! every process it starts stays in that session, so the session is the tree.

use std::fs;

/// One reading of a session's processes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TreeUsage {
    /// Resident set size summed over the processes.
    pub resident_bytes: u64,
    /// User and system CPU time summed over the live processes.
    pub cpu_seconds: f64,
    pub processes: usize,
}

/// The live processes of session `session`, summed; `None` when it has none.
pub fn session_usage(session: u32) -> Option<TreeUsage> {
    let page = page_size();
    let ticks = clock_ticks();
    let mut usage = TreeUsage::default();
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Some(stat) = Stat::read(pid) else { continue };
        if stat.session != session || stat.state == 'Z' || stat.state == 'X' {
            continue;
        }
        let resident_pages = fs::read_to_string(format!("/proc/{pid}/statm"))
            .ok()
            .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0);
        usage.resident_bytes += resident_pages * page;
        usage.cpu_seconds += (stat.user_ticks + stat.system_ticks) as f64 / ticks;
        usage.processes += 1;
    }
    (usage.processes > 0).then_some(usage)
}

struct Stat {
    state: char,
    session: u32,
    user_ticks: u64,
    system_ticks: u64,
}

impl Stat {
    fn read(pid: u32) -> Option<Stat> {
        let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // `pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime …`; comm may hold spaces and parentheses.
        let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
        Some(Stat {
            state: fields.first()?.chars().next()?,
            session: fields.get(3)?.parse().ok()?,
            user_ticks: fields.get(11)?.parse().ok()?,
            system_ticks: fields.get(12)?.parse().ok()?,
        })
    }
}

#[allow(unsafe_code)]
fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as u64 } else { 4096 }
}

#[allow(unsafe_code)]
fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_with_a_busy_child_shows_its_memory_and_cpu() -> std::result::Result<(), Box<dyn std::error::Error>> {
        // The test process's own session holds at least this process.
        let own = Stat::read(std::process::id()).ok_or("cannot read our own /proc stat")?.session;
        let before = session_usage(own).ok_or("our own session has no process")?;
        assert!(before.resident_bytes > 1024 * 1024, "{before:?}");
        // Busy until the reading shows a tenth of a second more CPU (however loaded the
        // machine is), within a bound that only a reading that never moves reaches.
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        let mut after = before;
        while after.cpu_seconds < before.cpu_seconds + 0.1 && spin.elapsed() < std::time::Duration::from_secs(30) {
            for _ in 0..1_000_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            after = session_usage(own).ok_or("our own session has no process")?;
        }
        assert!(after.cpu_seconds >= before.cpu_seconds + 0.1, "{before:?} then {after:?}");
        assert_eq!(session_usage(u32::MAX), None);
        Ok(())
    }
}
