//! What every tool's command line shares: `--workspace`, `--output`, `--ci`, `--auth`,
//! `--verbose`; `main`, the one entry (settings read once, logging, the one async runtime);
//! and `finish`, the one place that turns a result into output and an exit code.

use std::future::Future;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use crate::ci::{Ci, CiMode};
use crate::error::Error;
use crate::settings::{AuthMethod, EnvVars, Settings};

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// For people: short lines.
    Text,
    /// For programs: exactly one JSON document, a stable contract.
    Json,
}

/// Arguments every tool takes, before or after its subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Workspace: `local` (./.aml), `local:DIR`, or
    /// `azureml://subscriptions/S/resourceGroups/G/workspaces/W`
    #[arg(long, short = 'w', env = EnvVars::AML_WORKSPACE, global = true, default_value = "local", value_name = "WORKSPACE")]
    pub workspace: String,

    /// Print results as text or as one JSON document
    #[arg(long, short = 'o', value_enum, global = true, default_value_t = Output::Text)]
    pub output: Output,

    /// CI to report to (variables, summary, annotations); `auto` detects it from the environment
    #[arg(long, value_enum, env = EnvVars::AML_CI, global = true, default_value_t = CiMode::Auto)]
    pub ci: CiMode,

    /// Azure identity to act as (Azure workspaces): `auto` tries, in order, a client secret,
    /// workload identity federation, managed identity, then the `az` CLI's login
    #[arg(long, value_enum, env = EnvVars::AML_AUTH, global = true, default_value_t = AuthMethod::Auto, value_name = "SOURCE")]
    pub auth: AuthMethod,

    /// Log what the tool does on stderr: each HTTP request (method, URL without its query,
    /// status, time, attempt), token, poll and retry; `AML_LOG=info|debug|trace` sets the level
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
}

/// A tool's one run: the settings read when it started and the CI it reports to. Passed
/// down to everything the command calls; nothing below reads the environment itself.
#[derive(Debug, Clone)]
pub struct Session {
    pub settings: Settings,
    pub ci: Ci,
}

impl Session {
    /// A session from given settings (the emulator's processes, tests).
    pub fn new(settings: Settings, ci_mode: CiMode) -> Session {
        let ci = Ci::detect(ci_mode, &settings);
        Session { settings, ci }
    }
}

/// The one entry of every tool: read the settings once, turn on logging, build the one
/// async runtime, run the command on it, then print its result and return the exit code.
pub fn main<F, Fut>(global: GlobalArgs, command: F) -> ExitCode
where
    F: FnOnce(Session) -> Fut,
    Fut: Future<Output = Result<Box<dyn Report>, Error>>,
{
    let settings = Settings::from_env().with_auth(global.auth);
    crate::logging::init(global.verbose, &settings);
    let session = Session::new(settings, global.ci);
    let ci = session.ci.clone();
    let result = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => {
            let result = runtime.block_on(command(session));
            // Work a command left behind (a keep-alive connection's task) must not hold the exit.
            runtime.shutdown_timeout(Duration::from_millis(200));
            result
        }
        Err(e) => Err(Error::storage("cannot start the async runtime", e)),
    };
    finish(result, &global, &ci)
}

/// What a command produced. The tool decides how it reads; `finish` decides where it goes.
pub trait Report {
    /// Lines for people.
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()>;
    /// The JSON contract.
    fn to_json(&self) -> serde_json::Value;
    /// 0 unless the result is a failed check (a failed job, a broken data contract).
    fn exit_code(&self) -> u8 {
        0
    }
    /// Pipeline variables for later steps.
    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// Pipeline variables whose names are made at run time (one per gate rule, say).
    fn named_ci_outputs(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// A markdown summary for the CI run page.
    fn summary(&self) -> Option<String> {
        None
    }
}

/// Print a result (or an error) and return the process exit code.
pub fn finish(result: Result<Box<dyn Report>, Error>, global: &GlobalArgs, ci: &Ci) -> ExitCode {
    match result {
        Ok(report) => {
            let mut stdout = io::stdout().lock();
            let printed = match global.output {
                Output::Text => report.render_text(&mut stdout),
                Output::Json => serde_json::to_writer_pretty(&mut stdout, &report.to_json())
                    .map_err(io::Error::from)
                    .and_then(|()| writeln!(stdout)),
            }
            .and_then(|()| stdout.flush());
            drop(stdout);
            // A reader that stopped early (`| head`) is not our failure.
            if let Err(e) = printed
                && e.kind() != io::ErrorKind::BrokenPipe
            {
                eprintln!("error: cannot write to stdout: {e}");
                return ExitCode::from(3);
            }
            let mut code = report.exit_code();
            if code == 1 {
                // A failed check (a job, a gate, a smoke test) is annotated with what the
                // tool said first, so the run's summary says why it failed.
                let mut text = Vec::new();
                if report.render_text(&mut text).is_ok()
                    && let Some(first) = String::from_utf8_lossy(&text).lines().find(|l| !l.trim().is_empty())
                {
                    ci.annotate(first.trim(), None);
                }
            }
            let named = report.named_ci_outputs();
            let outputs = report.ci_outputs().into_iter().map(|(n, v)| (n.to_string(), v)).chain(named);
            for (name, value) in outputs {
                if let Err(e) = ci.set_output(&name, &value) {
                    print_error(&e);
                    code = code.max(3);
                }
            }
            if let Some(summary) = report.summary()
                && let Err(e) = ci.summary(&summary)
            {
                print_error(&e);
                code = code.max(3);
            }
            ExitCode::from(code)
        }
        Err(error) => {
            ci.annotate_error(&error);
            print_error(&error);
            ExitCode::from(error.exit_code())
        }
    }
}

/// `error: …`, then each cause, then the hint on its own line.
/// Write a file the user asked a tool for (a report, a chart) where they said, its folder
/// made first.
pub fn write_output(path: &std::path::Path, text: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::storage(format!("cannot create `{}`", parent.display()), e))?;
    }
    std::fs::write(path, text).map_err(|e| Error::storage(format!("cannot write `{}`", path.display()), e))
}

pub fn print_error(error: &Error) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "error: {}", crate::redact::urls(&error.to_string()));
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let _ = writeln!(err, "  caused by: {}", crate::redact::urls(&cause.to_string()));
        source = cause.source();
    }
    if let Some(hint) = error.hint() {
        let _ = writeln!(err, "hint: {}", crate::redact::urls(hint));
    }
}

/// A short progress or status line for people, on stderr (above a progress bar, if one is
/// on screen).
#[macro_export]
macro_rules! status {
    ($($arg:tt)*) => {{
        $crate::progress::print_line(&format!($($arg)*));
    }};
}

pub use crate::progress::human_size;
