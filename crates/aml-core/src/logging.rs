//! `--verbose` and `AML_LOG`: what the tools did, as `tracing` events on stderr.
//!
//! Our crates log each HTTP request, token acquisition, long-running-operation poll and
//! retry at `debug`; `trace` adds the SDK's and the HTTP stack's own events. Nothing is
//! logged by default. Events never carry a secret: URLs are logged without their query or
//! user info, tokens never, only where they came from.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use crate::settings::{EnvVars, Settings};

/// The crates whose events `info` and `debug` show; `trace` shows every crate's.
const OURS: &[&str] = &[
    "aml_core",
    "aml_http",
    "aml_auth",
    "aml_oci",
    "aml_local",
    "aml_azure",
    "aml_databricks",
    "aml_client",
    "aml_train",
    "aml_register",
    "aml_package",
    "aml_deploy",
    "smoke_test",
    "approval_gate",
];

/// The level `--verbose` and `AML_LOG` ask for (`--verbose` is at least `debug`).
pub fn level(verbose: bool, settings: &Settings) -> LevelFilter {
    let asked = match settings.get(EnvVars::AML_LOG).map(|v| v.trim().to_ascii_lowercase()) {
        Some(v) if v == "trace" => LevelFilter::TRACE,
        Some(v) if v == "debug" => LevelFilter::DEBUG,
        Some(v) if v == "info" => LevelFilter::INFO,
        Some(v) if v == "warn" => LevelFilter::WARN,
        Some(v) if v == "error" => LevelFilter::ERROR,
        _ => LevelFilter::OFF,
    };
    if verbose { asked.max(LevelFilter::DEBUG) } else { asked }
}

/// Install the stderr subscriber for this process (once; later calls do nothing).
pub fn init(verbose: bool, settings: &Settings) {
    let level = level(verbose, settings);
    if level == LevelFilter::OFF {
        return;
    }
    let mut targets = Targets::new();
    for target in OURS {
        targets = targets.with_target(*target, level);
    }
    if level == LevelFilter::TRACE {
        targets = targets.with_default(LevelFilter::TRACE);
    }
    let file = settings.get(EnvVars::AML_LOG_FILE).and_then(|path| {
        let opened = std::fs::OpenOptions::new().create(true).append(true).open(path);
        if let Err(e) = &opened {
            crate::status!("warning: cannot write the log to `{path}` ({e}); logging to stderr");
        }
        opened.ok()
    });
    let colour = file.is_none()
        && settings.get(EnvVars::NO_COLOR).is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(colour)
        .with_target(false)
        .with_timer(tracing_subscriber::fmt::time::uptime());
    let _ = match file {
        Some(file) => tracing_subscriber::registry()
            .with(layer.with_writer(std::sync::Mutex::new(file)).with_filter(targets))
            .try_init(),
        None => tracing_subscriber::registry().with(layer.with_writer(std::io::stderr).with_filter(targets)).try_init(),
    };
}
