//! What every bench row shares: running a command and timing it, medians of runs taken
//! alternately with the peer's, and a row of BENCHMARKS.md with its ratio and target.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One line of BENCHMARKS.md, its figures already formatted.
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) ours: String,
    pub(crate) ours_value: String,
    pub(crate) peer: String,
    pub(crate) peer_value: String,
    pub(crate) ratio: String,
    /// What the issue asks ("(no target)" for context rows), and whether it is met.
    pub(crate) target: String,
    pub(crate) met: bool,
}

impl Row {
    /// Ours ÷ peer in time; met when at most `max_ratio`.
    pub(crate) fn ratio(
        name: impl Into<String>,
        ours: &str,
        ours_time: Duration,
        peer: &str,
        peer_time: Duration,
        target: &str,
        max_ratio: f64,
    ) -> Row {
        let ratio = ratio(ours_time, peer_time);
        Row::new(
            name,
            ours,
            format_duration(ours_time),
            peer,
            format_duration(peer_time),
            format!("{ratio:.2}×"),
            target,
            ratio <= max_ratio,
        )
    }

    /// How many times faster than the peer; met when at least `min_factor`.
    pub(crate) fn faster(
        name: impl Into<String>,
        ours: &str,
        ours_time: Duration,
        peer: &str,
        peer_time: Duration,
        target: &str,
        min_factor: f64,
    ) -> Row {
        let factor = ratio(peer_time, ours_time);
        Row::new(
            name,
            ours,
            format_duration(ours_time),
            peer,
            format_duration(peer_time),
            format!("{factor:.0}× faster"),
            target,
            factor >= min_factor,
        )
    }

    /// A figure with no target of its own, shown beside one that has.
    pub(crate) fn context(
        name: impl Into<String>,
        ours: &str,
        ours_time: Duration,
        peer: &str,
        peer_time: Option<Duration>,
    ) -> Row {
        let (peer_value, ratio_text) = match peer_time {
            Some(peer_time) => (format_duration(peer_time), format!("{:.2}×", ratio(ours_time, peer_time))),
            None => ("-".into(), "-".into()),
        };
        Row::new(name, ours, format_duration(ours_time), peer, peer_value, ratio_text, "(no target)", true)
    }

    /// An absolute time with no peer.
    pub(crate) fn absolute(name: impl Into<String>, ours: &str, time: Duration, target: &str, met: bool) -> Row {
        Row::new(name, ours, format_duration(time), "-", "-".into(), "-".into(), target, met)
    }

    /// Throughput, ours ÷ peer; met when at least `min_ratio`.
    pub(crate) fn rate(
        name: impl Into<String>,
        ours: &str,
        ours_rps: f64,
        peer: &str,
        peer_rps: f64,
        target: &str,
        min_ratio: f64,
    ) -> Row {
        let ratio = ours_rps / peer_rps.max(1e-9);
        Row::new(
            name,
            ours,
            format!("{ours_rps:.0} req/s"),
            peer,
            format!("{peer_rps:.0} req/s"),
            format!("{ratio:.2}×"),
            target,
            ratio >= min_ratio,
        )
    }

    /// Latency added by a hop: `through` − `straight`, met when at most `max_ms`.
    pub(crate) fn overhead(
        name: impl Into<String>,
        ours: &str,
        through_ms: f64,
        peer: &str,
        straight_ms: f64,
        target: &str,
        max_ms: f64,
    ) -> Row {
        let added = through_ms - straight_ms;
        Row::new(
            name,
            ours,
            format!("{through_ms:.2} ms"),
            peer,
            format!("{straight_ms:.2} ms"),
            format!("{added:+.2} ms"),
            target,
            added <= max_ms,
        )
    }

    /// Figures already formatted, and whether the target is met.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn custom(
        name: impl Into<String>,
        ours: &str,
        ours_value: String,
        peer: &str,
        peer_value: String,
        ratio: String,
        target: &str,
        met: bool,
    ) -> Row {
        Row::new(name, ours, ours_value, peer, peer_value, ratio, target, met)
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        name: impl Into<String>,
        ours: &str,
        ours_value: String,
        peer: &str,
        peer_value: String,
        ratio: String,
        target: &str,
        met: bool,
    ) -> Row {
        Row {
            name: name.into(),
            ours: ours.into(),
            ours_value,
            peer: peer.into(),
            peer_value,
            ratio,
            target: target.into(),
            met,
        }
    }
}

pub(crate) fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

pub(crate) fn cmd(program: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command.args(args).env("AML_CI", "none");
    command
}

pub(crate) fn shell(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", script]);
    command
}

pub(crate) fn sync() {
    let _ = Command::new("sync").status();
}

pub(crate) fn time_once(mut command: Command) -> Result<Duration, String> {
    command.stdout(Stdio::null()).stderr(Stdio::null());
    let start = Instant::now();
    let status = command.status().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    let took = start.elapsed();
    if !status.success() {
        return Err(format!("{command:?} failed ({status})"));
    }
    Ok(took)
}

pub(crate) fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Run ours and the peer alternately, `setup` (untimed) before each; medians.
pub(crate) fn interleave(
    runs: usize,
    mut setup: impl FnMut(),
    mut ours: impl FnMut() -> Command,
    mut peer: impl FnMut() -> Command,
) -> Result<(Duration, Duration), String> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        setup();
        a.push(time_once(ours())?);
        setup();
        b.push(time_once(peer())?);
    }
    Ok((median(a), median(b)))
}

pub(crate) fn write_random(path: &Path, bytes: u64) -> Result<(), String> {
    use std::io::{Read, Write};
    let mut input = std::fs::File::open("/dev/urandom").map_err(|e| e.to_string())?.take(bytes);
    let mut output = std::fs::File::create(path).map_err(|e| e.to_string())?;
    std::io::copy(&mut input, &mut output).map_err(|e| e.to_string())?;
    output.flush().map_err(|e| e.to_string())
}

pub(crate) fn format_duration(d: Duration) -> String {
    if d < Duration::from_millis(10) {
        format!("{:.2} ms", d.as_secs_f64() * 1000.0)
    } else if d < Duration::from_secs(1) {
        format!("{:.0} ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// The physical floor of writing `file` durably: hashing it (`openssl dgst -sha256`) and
/// writing a copy to disk and syncing it (`dd bs=4M conv=fsync`), each alone and cold, the
/// slower of the two; the median of `runs`. A registration does both at once, so it cannot
/// beat this, and anything above it is overhead.
pub(crate) fn durable_floor(file: &Path, copy: &Path, runs: usize) -> Result<Duration, String> {
    let mut floors = Vec::new();
    for _ in 0..runs.max(1) {
        let _ = std::fs::remove_file(copy);
        sync();
        let hash = time_once(shell(&format!("openssl dgst -sha256 {} > /dev/null", file.display())))?;
        sync();
        let write =
            time_once(shell(&format!("dd if={} of={} bs=4M conv=fsync status=none", file.display(), copy.display())))?;
        floors.push(hash.max(write));
    }
    let _ = std::fs::remove_file(copy);
    Ok(median(floors))
}
