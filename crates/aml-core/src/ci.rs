//! CI awareness: output variables, step summaries, error annotations and secret masking
//! for Azure DevOps, GitHub Actions and Jenkins (`shared/contracts/ci/README.md`).
//!
//! Logging commands go to **stderr**: both the Azure Pipelines agent
//! (`Agent.Worker/Handlers/NodeHandler.cs` wires `ErrorDataReceived` to the same
//! command parser as stdout) and the GitHub runner (`ScriptHandler.cs`, one
//! `OutputManager` per stream) parse stderr for commands. That keeps stdout for
//! results only, so `--output json` stays exactly one JSON document.

use std::io::Write;
use std::path::PathBuf;

use crate::error::Error;
use crate::settings::{EnvVars, Settings};

/// Which CI to speak to; `auto` looks at the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CiMode {
    Auto,
    AzureDevops,
    Github,
    Jenkins,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiSystem {
    AzureDevops,
    Github,
    Jenkins,
}

impl CiSystem {
    pub fn name(self) -> &'static str {
        match self {
            CiSystem::AzureDevops => "azure-devops",
            CiSystem::Github => "github",
            CiSystem::Jenkins => "jenkins",
        }
    }
}

/// The CI this process runs in, if any, how to talk to it, and what it says about the run
/// (who asked for it, its page, the commit it built), taken from the settings once.
#[derive(Debug, Clone, Default)]
pub struct Ci {
    pub system: Option<CiSystem>,
    /// Who asked for this run: the CI's requester, else the local user.
    pub requester: Option<String>,
    /// A link to the CI run.
    pub run_url: Option<String>,
    /// The commit the CI says it built (when `git` cannot tell).
    pub commit: Option<String>,
    output_file: Option<PathBuf>,
    summary_file: Option<PathBuf>,
    temp_dir: Option<PathBuf>,
}

impl Ci {
    pub fn detect(mode: CiMode, settings: &Settings) -> Ci {
        let env = |name: &str| settings.get(name).map(str::to_owned);
        let system = match mode {
            CiMode::None => None,
            CiMode::AzureDevops => Some(CiSystem::AzureDevops),
            CiMode::Github => Some(CiSystem::Github),
            CiMode::Jenkins => Some(CiSystem::Jenkins),
            CiMode::Auto => {
                if env(EnvVars::TF_BUILD).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
                    Some(CiSystem::AzureDevops)
                } else if env(EnvVars::GITHUB_ACTIONS).as_deref() == Some("true") {
                    Some(CiSystem::Github)
                } else if env(EnvVars::JENKINS_URL).is_some() {
                    Some(CiSystem::Jenkins)
                } else {
                    None
                }
            }
        };
        let output_file = match system {
            Some(CiSystem::Github) => env(EnvVars::GITHUB_OUTPUT).map(PathBuf::from),
            Some(CiSystem::Jenkins) => {
                Some(PathBuf::from(env(EnvVars::AML_OUTPUTS_FILE).unwrap_or_else(|| "aml-outputs.properties".into())))
            }
            _ => None,
        };
        Ci {
            system,
            requester: requester(settings),
            run_url: run_url(settings),
            commit: [EnvVars::BUILD_SOURCEVERSION, EnvVars::GITHUB_SHA, EnvVars::GIT_COMMIT]
                .iter()
                .find_map(|n| env(n)),
            output_file,
            summary_file: env(EnvVars::GITHUB_STEP_SUMMARY).map(PathBuf::from),
            temp_dir: env(EnvVars::AGENT_TEMPDIRECTORY).map(PathBuf::from),
        }
    }

    /// Publish a result as a pipeline variable later steps and stages can read.
    pub fn set_output(&self, name: &str, value: &str) -> Result<(), Error> {
        self.set_variable(name, value, false)
    }

    /// Publish a secret: masked in logs, never echoed.
    pub fn set_secret_output(&self, name: &str, value: &str) -> Result<(), Error> {
        self.mask(value);
        self.set_variable(name, value, true)
    }

    fn set_variable(&self, name: &str, value: &str, secret: bool) -> Result<(), Error> {
        match self.system {
            None => Ok(()),
            Some(CiSystem::AzureDevops) => {
                let secret = if secret { ";issecret=true" } else { "" };
                emit(&format!(
                    "##vso[task.setvariable variable={};isoutput=true{secret}]{}",
                    ado_property(name),
                    ado_message(value)
                ));
                Ok(())
            }
            Some(CiSystem::Github) => match &self.output_file {
                Some(path) => append(path, &github_output_line(name, value)),
                None => Ok(()),
            },
            Some(CiSystem::Jenkins) => match &self.output_file {
                Some(path) => append(path, &format!("{}={}\n", name, properties_escape(value))),
                None => Ok(()),
            },
        }
    }

    /// Ask the CI to hide a value wherever it appears in the log.
    pub fn mask(&self, value: &str) {
        if value.is_empty() {
            return;
        }
        match self.system {
            Some(CiSystem::AzureDevops) => emit(&format!("##vso[task.setsecret]{}", ado_message(value))),
            Some(CiSystem::Github) => emit(&format!("::add-mask::{}", github_message(value))),
            _ => {}
        }
    }

    /// Attach a markdown summary to the run.
    pub fn summary(&self, markdown: &str) -> Result<(), Error> {
        match self.system {
            Some(CiSystem::Github) => match &self.summary_file {
                Some(path) => append(path, &format!("{markdown}\n")),
                None => Ok(()),
            },
            Some(CiSystem::AzureDevops) => {
                let dir = self.temp_dir.clone().unwrap_or_else(std::env::temp_dir);
                let path = dir.join(format!("aml-summary-{}.md", std::process::id()));
                std::fs::write(&path, markdown)
                    .map_err(|e| Error::storage(format!("cannot write summary `{}`", path.display()), e))?;
                let path = std::path::absolute(&path).unwrap_or(path);
                emit(&format!("##vso[task.uploadsummary]{}", path.display()));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Turn an error into an annotation on the run, pointing at the file and line when known.
    pub fn annotate_error(&self, error: &Error) {
        let message = match error {
            // Said in so many words: the input is fine, the service or disk was not.
            Error::Service { .. } => {
                format!("service or storage failure (exit 3; the input is fine, retrying may help): {error}")
            }
            _ => error.to_string(),
        };
        let location = error.bad_input().and_then(|b| b.file.clone().map(|f| (f, b.line, b.column)));
        self.annotate(&crate::redact::urls(&message), location.as_ref().map(|(f, l, c)| (f.as_path(), *l, *c)));
    }

    /// An error annotation on the run, at a file's line and column when known.
    pub fn annotate(&self, message: &str, location: Option<(&std::path::Path, Option<usize>, Option<usize>)>) {
        match self.system {
            Some(CiSystem::AzureDevops) => {
                let mut props = String::from("type=error");
                if let Some((file, line, column)) = location {
                    props.push_str(&format!(";sourcepath={}", ado_property(&file.display().to_string())));
                    if let Some(l) = line {
                        props.push_str(&format!(";linenumber={l}"));
                    }
                    if let Some(c) = column {
                        props.push_str(&format!(";columnnumber={c}"));
                    }
                }
                emit(&format!("##vso[task.logissue {props}]{}", ado_message(message)));
            }
            Some(CiSystem::Github) => {
                let mut props = Vec::new();
                if let Some((file, line, column)) = location {
                    props.push(format!("file={}", github_property(&file.display().to_string())));
                    if let Some(l) = line {
                        props.push(format!("line={l}"));
                    }
                    if let Some(c) = column {
                        props.push(format!("col={c}"));
                    }
                }
                let props = if props.is_empty() { String::new() } else { format!(" {}", props.join(",")) };
                emit(&format!("::error{props}::{}", github_message(message)));
            }
            _ => {}
        }
    }

    /// Start a collapsible group of log lines.
    pub fn group(&self, title: &str) {
        match self.system {
            Some(CiSystem::AzureDevops) => emit(&format!("##[group]{title}")),
            Some(CiSystem::Github) => emit(&format!("::group::{}", github_message(title))),
            _ => {}
        }
    }

    pub fn end_group(&self) {
        match self.system {
            Some(CiSystem::AzureDevops) => emit("##[endgroup]"),
            Some(CiSystem::Github) => emit("::endgroup::"),
            _ => {}
        }
    }
}

/// Who asked for this run: the CI's requester, else the local user.
fn requester(settings: &Settings) -> Option<String> {
    [
        EnvVars::BUILD_REQUESTEDFOREMAIL,
        EnvVars::BUILD_REQUESTEDFOR,
        EnvVars::GITHUB_TRIGGERING_ACTOR,
        EnvVars::GITHUB_ACTOR,
        EnvVars::BUILD_USER_ID,
        EnvVars::USER,
        EnvVars::USERNAME,
        EnvVars::LOGNAME,
    ]
    .iter()
    .find_map(|name| settings.get(name).map(str::to_owned))
    .or_else(account_name)
}

/// The account this process runs as, from the password database (containers often set no USER).
fn account_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 2 && fields[2] == uid.to_string()).then(|| fields[0].to_string())
    })
}

/// A link to the CI run, when running in one.
fn run_url(settings: &Settings) -> Option<String> {
    let env = |name: &str| settings.get(name).map(str::to_owned);
    if let (Some(collection), Some(project), Some(build)) =
        (env(EnvVars::SYSTEM_COLLECTIONURI), env(EnvVars::SYSTEM_TEAMPROJECT), env(EnvVars::BUILD_BUILDID))
    {
        return Some(format!("{collection}{project}/_build/results?buildId={build}"));
    }
    if let (Some(server), Some(repo), Some(run)) =
        (env(EnvVars::GITHUB_SERVER_URL), env(EnvVars::GITHUB_REPOSITORY), env(EnvVars::GITHUB_RUN_ID))
    {
        return Some(format!("{server}/{repo}/actions/runs/{run}"));
    }
    env(EnvVars::BUILD_URL)
}

fn emit(line: &str) {
    // A closed stderr must not turn a successful step into a failure.
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn append(path: &PathBuf, text: &str) -> Result<(), Error> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::storage(format!("cannot open CI output file `{}`", path.display()), e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::storage(format!("cannot write CI output file `{}`", path.display()), e))
}

/// Escaping from azure-pipelines-task-lib `taskcommand.ts`: messages escape `%`, CR, LF.
fn ado_message(value: &str) -> String {
    value.replace('%', "%AZP25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Property values additionally escape `]` and `;`.
fn ado_property(value: &str) -> String {
    ado_message(value).replace(']', "%5D").replace(';', "%3B")
}

fn github_message(value: &str) -> String {
    value.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn github_property(value: &str) -> String {
    github_message(value).replace(':', "%3A").replace(',', "%2C")
}

fn github_output_line(name: &str, value: &str) -> String {
    if !value.contains('\n') && !value.contains('\r') {
        return format!("{name}={value}\n");
    }
    // A heredoc delimiter that cannot occur in the value, as @actions/core does.
    let mut delimiter = format!("ghadelimiter_{}", std::process::id());
    while value.contains(&delimiter) {
        delimiter.push('_');
    }
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

fn properties_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "\\r")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ado_escapes_follow_the_task_lib() {
        assert_eq!(ado_message("50% done\nnext"), "50%AZP25 done%0Anext");
        assert_eq!(ado_property("a;b]c"), "a%3Bb%5Dc");
    }

    #[test]
    fn github_multiline_outputs_use_a_heredoc() {
        assert_eq!(github_output_line("v", "3"), "v=3\n");
        let line = github_output_line("v", "a\nb");
        assert!(line.starts_with("v<<ghadelimiter_"), "{line}");
        assert!(line.contains("\na\nb\n"), "{line}");
    }

    #[test]
    fn github_properties_escape_colons_and_commas() {
        assert_eq!(github_property("C:\\a,b"), "C%3A\\a%2Cb");
    }
}
