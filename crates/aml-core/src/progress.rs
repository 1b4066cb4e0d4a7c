//! Progress on long work, for people, on stderr: bytes with rate and time left for
//! uploads, downloads, registrations and image layers of 64 MiB or more, and elapsed time
//! while a job or a deployment is waited for.
//!
//! On a terminal (and outside CI, with `NO_COLOR` unset) it is a bar redrawn in place,
//! and every other line the tools print goes above it (`print_line`). Elsewhere (a CI
//! log, a pipe, a file) it is a plain line now and then, with no escape codes: every
//! five seconds for transfers, every minute for waits.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::settings::{EnvVars, Settings};

/// Transfers smaller than this finish before a bar would help.
pub const SHOWN_FROM: u64 = 64 << 20;
const LINE_EVERY: Duration = Duration::from_secs(5);
const WAIT_LINE_EVERY: Duration = Duration::from_secs(60);

/// The bar on screen now, if any, by its id: other output is printed above it.
static ACTIVE: Mutex<Option<(u64, ProgressBar)>> = Mutex::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// How progress is shown in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// A bar redrawn in place on a terminal.
    Bar,
    /// Plain lines at an interval: CI logs, pipes, files.
    Lines,
}

impl Display {
    pub fn for_settings(settings: &Settings) -> Display {
        let in_ci = [EnvVars::TF_BUILD, EnvVars::GITHUB_ACTIONS, EnvVars::JENKINS_URL]
            .iter()
            .any(|name| settings.get(name).is_some());
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        if terminal && !in_ci && settings.get(EnvVars::NO_COLOR).is_none() { Display::Bar } else { Display::Lines }
    }
}

/// One piece of long work being reported.
pub struct Progress {
    id: u64,
    what: String,
    total: Option<u64>,
    bar: Option<ProgressBar>,
    started: Instant,
    state: Mutex<LineState>,
}

struct LineState {
    done: u64,
    last_line: Instant,
    finished: bool,
}

impl Progress {
    /// `total` bytes of `what` (`uploading model.bin`); shows nothing below `SHOWN_FROM`.
    pub fn bytes(what: impl Into<String>, total: u64, settings: &Settings) -> Progress {
        let shown = total >= SHOWN_FROM;
        let bar = (shown && Display::for_settings(settings) == Display::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}, {eta} left",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        Progress::start(what.into(), shown.then_some(total), bar)
    }

    /// Waiting for `what` (a job, a deployment): the elapsed time.
    pub fn waiting(what: impl Into<String>, settings: &Settings) -> Progress {
        let bar = (Display::for_settings(settings) == Display::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress::start(what.into(), None, bar)
    }

    fn start(what: String, total: Option<u64>, bar: Option<ProgressBar>) -> Progress {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &bar {
            bar.set_message(what.clone());
            *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = Some((id, bar.clone()));
        }
        let now = Instant::now();
        let state = Mutex::new(LineState { done: 0, last_line: now, finished: false });
        Progress { id, what, total, bar, started: now, state }
    }

    /// `bytes` more are done.
    pub fn add(&self, bytes: u64) {
        let Some(total) = self.total else { return };
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.done = (state.done + bytes).min(total);
        if state.last_line.elapsed() >= LINE_EVERY && state.done < total {
            state.last_line = Instant::now();
            let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
            let rate = state.done as f64 / elapsed;
            let left = if rate > 0.0 { total.saturating_sub(state.done) as f64 / rate } else { 0.0 };
            print_line(&format!(
                "{}: {} of {} ({}%), {}/s, about {} left",
                self.what,
                human_size(state.done),
                human_size(total),
                state.done * 100 / total.max(1),
                human_size(rate as u64),
                clock(Duration::try_from_secs_f64(left).unwrap_or(Duration::MAX))
            ));
        }
    }

    /// A new word for what is waited on (`Running`); in plain lines, said once a minute.
    pub fn set_status(&self, status: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{}: {status}", self.what));
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.last_line.elapsed() >= WAIT_LINE_EVERY {
            state.last_line = Instant::now();
            print_line(&format!("{}: {status} after {}", self.what, clock(self.started.elapsed())));
        }
    }

    /// `inner` read through this progress: every byte read counts as done.
    pub fn reader<R: std::io::Read>(&self, inner: R) -> Reporting<'_, R> {
        Reporting { inner, progress: self }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Take the bar off the screen; the caller says how it ended.
    pub fn finish(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.finished {
            return;
        }
        state.finished = true;
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            let mut active = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
            if active.as_ref().is_some_and(|(id, _)| *id == self.id) {
                *active = None;
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A reader whose bytes are counted as progress (a file being registered or packaged).
pub struct Reporting<'a, R> {
    inner: R,
    progress: &'a Progress,
}

impl<R: std::io::Read> std::io::Read for Reporting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.add(n as u64);
        Ok(n)
    }
}

/// A byte count for people: `512 B`, `4.0 MiB`, `1.0 GiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// `1:05:09`, `4:02`, `0:07`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// Print a line on stderr, above the bar when one is on screen.
pub fn print_line(line: &str) {
    use std::io::Write as _;
    let active = ACTIVE.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match active {
        Some((_, bar)) if !bar.is_finished() => bar.suspend(|| {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }),
        _ => {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }
}

/// Write raw bytes (a job's output) on stderr, above the bar when one is on screen.
pub fn print_bytes(bytes: &[u8]) {
    use std::io::Write as _;
    let write = || {
        let _ = std::io::stderr().lock().write_all(bytes);
    };
    let active = ACTIVE.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match active {
        Some((_, bar)) if !bar.is_finished() => bar.suspend(write),
        _ => write(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_say_where_a_transfer_is() {
        let settings = Settings::from_vars([("TF_BUILD", "True".to_string())]);
        assert_eq!(Display::for_settings(&settings), Display::Lines);
        let progress = Progress::bytes("uploading big.bin", 1 << 30, &settings);
        progress.add(100 << 20);
        progress.finish();
        assert_eq!(clock(Duration::from_secs(3909)), "1:05:09");
        assert_eq!(clock(Duration::from_secs(7)), "0:07");
    }
}
