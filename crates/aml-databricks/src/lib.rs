//! Azure Databricks as a compute for command jobs, as the MLOpsDatabricks seed trains there:
//! `--compute databricks:https://adb-….azuredatabricks.net?cluster=ID` (or
//! `?node_type=…&workers=N` for a new job cluster). The job stays recorded in the workspace
//! that ran `aml-train` (statuses, log, metrics, outputs), so `show`, `logs`, `metrics` and
//! `aml-register --job` work as for a local job; the run itself is a Databricks one-time run
//! (Jobs API 2.2 `runs/submit`) whose files live in a Unity Catalog volume.

pub mod api;
mod step;

use std::collections::BTreeMap;
use std::fmt;

use aml_core::error::{Error, Result};
use aml_core::settings::{EnvVars, Settings};

/// Databricks' first-party application: the Entra resource its REST API accepts tokens for.
pub const RESOURCE_SCOPE: &str = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default";
/// A personal access token, when the agent has one instead of an Entra identity.
pub const TOKEN_VARIABLE: &str = EnvVars::DATABRICKS_TOKEN;
/// An ML runtime (LTS): MLflow and scikit-learn come with it.
pub const DEFAULT_SPARK_VERSION: &str = "15.4.x-cpu-ml-scala2.12";
pub const DEFAULT_VOLUME: &str = "/Volumes/main/default/aml_train";

/// Where a job runs on Databricks, as `--compute databricks:URL?…` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compute {
    /// `https://adb-….azuredatabricks.net`, no trailing slash.
    pub host: String,
    pub cluster: Cluster,
    /// The Unity Catalog volume the run's code, inputs, outputs and log go to.
    pub volume: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cluster {
    Existing(String),
    New { node_type: String, workers: u32, spark_version: String },
}

impl fmt::Display for Compute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cluster {
            Cluster::Existing(id) => write!(f, "databricks {} (cluster {id})", self.host),
            Cluster::New { node_type, workers, spark_version } => {
                write!(f, "databricks {} (new cluster: {workers} × {node_type}, {spark_version})", self.host)
            }
        }
    }
}

const SYNTAX: &str = "write `databricks:https://HOST?cluster=CLUSTER_ID` or `databricks:https://HOST?node_type=Standard_DS3_v2&workers=2` (optional: `spark_version=…`, `volume=/Volumes/CATALOG/SCHEMA/VOLUME`)";

impl Compute {
    /// Parse `databricks:https://HOST?key=value&…`; `None` when `text` is not a Databricks compute.
    pub fn parse(text: &str, settings: &Settings) -> Option<Result<Compute>> {
        let rest = text.strip_prefix("databricks:")?;
        Some(Self::parse_url(rest, settings))
    }

    fn parse_url(rest: &str, settings: &Settings) -> Result<Compute> {
        let bad = |problem: String| Error::usage(format!("--compute `databricks:{rest}`: {problem}"), SYNTAX);
        let url = reqwest::Url::parse(rest).map_err(|_| bad("the workspace URL is not a URL".into()))?;
        if url.scheme() != "https" || url.host_str().is_none() || url.path() != "/" || url.fragment().is_some() {
            return Err(bad("the workspace URL must be `https://HOST` (the workspace's URL, no path)".into()));
        }
        let host = format!(
            "https://{}{}",
            url.host_str().unwrap_or_default(),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        );
        let mut given: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in url.query_pairs() {
            if given.insert(key.to_string(), value.to_string()).is_some() {
                return Err(bad(format!("`{key}` is given twice")));
            }
        }
        let mut take = |key: &str| given.remove(key).filter(|v| !v.is_empty());
        let cluster = match (take("cluster"), take("node_type")) {
            (Some(_), Some(_)) => {
                return Err(bad("give `cluster` (an existing cluster) or `node_type` (a new one), not both".into()));
            }
            (Some(id), None) => {
                if take("workers").is_some() || take("spark_version").is_some() {
                    return Err(bad(
                        "`workers` and `spark_version` describe a new cluster; an existing `cluster` has its own"
                            .into(),
                    ));
                }
                Cluster::Existing(id)
            }
            (None, Some(node_type)) => {
                let workers = match take("workers") {
                    Some(text) => {
                        text.parse::<u32>().map_err(|_| bad(format!("workers=`{text}` is not a whole number")))?
                    }
                    None => 1,
                };
                Cluster::New {
                    node_type,
                    workers,
                    spark_version: take("spark_version").unwrap_or_else(|| DEFAULT_SPARK_VERSION.into()),
                }
            }
            (None, None) => return Err(bad("say which cluster runs the job".into())),
        };
        let volume = take("volume")
            .or_else(|| settings.get(EnvVars::DATABRICKS_VOLUME).map(str::to_owned))
            .unwrap_or_else(|| DEFAULT_VOLUME.into());
        let volume = volume.trim_end_matches('/').to_string();
        let parts: Vec<&str> = volume.trim_start_matches('/').split('/').collect();
        if parts.len() < 4 || parts[0] != "Volumes" || parts.iter().any(|p| p.is_empty() || *p == "..") {
            return Err(bad(format!("volume `{volume}` is not `/Volumes/CATALOG/SCHEMA/VOLUME[/FOLDER]`")));
        }
        if let Some(unknown) = given.keys().next() {
            return Err(bad(format!("`{unknown}` is not a setting")));
        }
        Ok(Compute { host, cluster, volume })
    }
}

/// Before any job is recorded or file uploaded: the credential is taken, the volume exists,
/// and the cluster exists (or the new cluster's node type and runtime are offered). Each
/// refusal names what to change (exit 2), a refused credential exits 3.
pub async fn preflight(compute: &Compute, settings: &Settings) -> Result<()> {
    let client = api::Client::new(compute, settings)?;
    async {
        match &compute.cluster {
            Cluster::Existing(id) => {
                let path = format!("/api/2.1/clusters/get?cluster_id={}", aml_http::url::encode_component(id));
                let reply = client.send(azure_core::http::Method::Get, &path, None, &[("accept", "application/json")]).await?;
                match reply.status {
                    200..=299 => {}
                    400 | 404 => {
                        return Err(Error::usage(
                            format!("cluster `{id}` does not exist in {}", compute.host),
                            "give an existing cluster's id (Compute → the cluster → its URL or JSON), or `node_type=…` for a new cluster",
                        ));
                    }
                    _ => return Err(client.error(&azure_core::http::Method::Get, &path, &reply)),
                }
            }
            Cluster::New { node_type, spark_version, .. } => {
                let offered = client.get("/api/2.1/clusters/list-node-types").await?;
                let node_types: Vec<&str> = offered["node_types"].as_array().into_iter().flatten().filter_map(|n| n["node_type_id"].as_str()).collect();
                if !node_types.contains(&node_type.as_str()) {
                    return Err(Error::usage(format!("node type `{node_type}` is not offered by {}", compute.host), format!("offered: {}", node_types.join(", "))));
                }
                let versions = client.get("/api/2.1/clusters/spark-versions").await?;
                let keys: Vec<&str> = versions["versions"].as_array().into_iter().flatten().filter_map(|v| v["key"].as_str()).collect();
                if !keys.contains(&spark_version.as_str()) {
                    let ml: Vec<&str> = keys.iter().copied().filter(|k| k.contains("-ml-")).collect();
                    return Err(Error::usage(format!("runtime `{spark_version}` is not offered by {}", compute.host), format!("give `spark_version=` one of: {}", ml.join(", "))));
                }
            }
        }
        if client.list(&compute.volume).await?.is_none() {
            return Err(Error::usage(
                format!("the volume `{}` does not exist in {}", compute.volume, compute.host),
                "create the volume (`CREATE VOLUME catalog.schema.volume`) or name an existing one with `volume=/Volumes/…` in --compute",
            ));
        }
        Ok(())
    }
    .await
}

/// What a job's command becomes on Databricks: the script (or `-m MODULE`) and its
/// arguments, which the driver runs in its own Python as a spark_python_task does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonCommand {
    /// `["train.py", "--alpha", "0.1"]` or `["-m", "pkg.train", …]`
    pub argv: Vec<String>,
}

const COMMAND_SHAPE: &str = "on Databricks the command becomes a spark_python_task: write it as `python FILE ARGS…` or `python -m MODULE ARGS…`, without pipes, redirections or `&&`";

/// Split a job's command as a shell would (quotes, backslashes; `${{…}}` placeholders kept
/// whole) and check it is one Python invocation. The error says what to write instead.
pub fn python_command(command: &str) -> std::result::Result<PythonCommand, String> {
    let words = split_words(command)?;
    let Some((program, rest)) = words.split_first() else {
        return Err(format!("the command is empty; {COMMAND_SHAPE}"));
    };
    let name = program.rsplit('/').next().unwrap_or(program);
    let is_python = name == "python"
        || name
            .strip_prefix("python")
            .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    if !is_python {
        return Err(format!("it runs `{program}`; {COMMAND_SHAPE}"));
    }
    // -u (unbuffered) is what the driver does anyway.
    let rest: Vec<String> = rest.iter().skip_while(|w| *w == "-u").cloned().collect();
    match rest.first().map(String::as_str) {
        None => Err(format!("`{program}` is given no script; {COMMAND_SHAPE}")),
        Some("-m") if rest.len() >= 2 => Ok(PythonCommand { argv: rest }),
        Some(flag) if flag.starts_with('-') => Err(format!("`{program} {flag}` is not a script; {COMMAND_SHAPE}")),
        Some(_) => Ok(PythonCommand { argv: rest }),
    }
}

fn split_words(command: &str) -> std::result::Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if let Some(done) = word.take() {
                    words.push(done);
                }
            }
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(other) => current.push(other),
                        None => return Err("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(next @ ('"' | '\\' | '$' | '`')) => current.push(next),
                            Some(other) => {
                                current.push('\\');
                                current.push(other);
                            }
                            None => return Err("a double quote is not closed".into()),
                        },
                        Some('$') if chars.peek() != Some(&'{') => {
                            return Err(format!("`$` (a shell expansion) in the command; {COMMAND_SHAPE}"));
                        }
                        Some(other) => current.push(other),
                        None => return Err("a double quote is not closed".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(other) => word.get_or_insert_with(String::new).push(other),
                None => return Err("the command ends with a backslash".into()),
            },
            '$' if chars.peek() == Some(&'{') => {
                // `${{inputs.x}}`: kept for the placeholder expansion.
                let current = word.get_or_insert_with(String::new);
                current.push('$');
                let mut depth = 0;
                for next in chars.by_ref() {
                    current.push(next);
                    match next {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            '|' | '&' | ';' | '<' | '>' | '(' | ')' | '`' | '$' => {
                return Err(format!("`{c}` in the command; {COMMAND_SHAPE}"));
            }
            other => word.get_or_insert_with(String::new).push(other),
        }
    }
    if let Some(done) = word {
        words.push(done);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_commands_split_as_a_shell_would() {
        let command =
            python_command("python train.py --training-data ${{inputs.training_data}} --name 'a b' --x \"c d\"")
                .unwrap();
        assert_eq!(
            command.argv,
            ["train.py", "--training-data", "${{inputs.training_data}}", "--name", "a b", "--x", "c d"]
        );
        assert_eq!(python_command("python3.11 -u -m pkg.train --k=v").unwrap().argv, ["-m", "pkg.train", "--k=v"]);
        for (command, says) in [
            ("bash run.sh", "runs `bash`"),
            ("python train.py | tee log", "`|`"),
            ("python train.py && echo done", "`&`"),
            ("python -c 'print(1)'", "not a script"),
            ("python train.py --home $HOME", "`$`"),
            ("python 'train.py", "not closed"),
        ] {
            let error = python_command(command).unwrap_err();
            assert!(error.contains(says), "{command}: {error}");
        }
    }

    #[test]
    fn existing_and_new_clusters_parse() {
        let existing = Compute::parse(
            "databricks:https://adb-123.4.azuredatabricks.net?cluster=0101-abc",
            &Settings::from_vars([]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(existing.cluster, Cluster::Existing("0101-abc".into()));
        assert_eq!(existing.volume, DEFAULT_VOLUME);
        let new = Compute::parse("databricks:https://adb-1.2.azuredatabricks.net/?node_type=Standard_DS3_v2&workers=2&volume=/Volumes/ml/dev/runs/", &Settings::from_vars([])).unwrap().unwrap();
        assert_eq!(new.host, "https://adb-1.2.azuredatabricks.net");
        assert_eq!(
            new.cluster,
            Cluster::New {
                node_type: "Standard_DS3_v2".into(),
                workers: 2,
                spark_version: DEFAULT_SPARK_VERSION.into()
            }
        );
        assert_eq!(new.volume, "/Volumes/ml/dev/runs");
        assert!(Compute::parse("local", &Settings::from_vars([])).is_none());
    }

    #[test]
    fn mistakes_are_named() {
        for (text, says) in [
            ("databricks:http://adb-1.2.azuredatabricks.net?cluster=x", "https://HOST"),
            ("databricks:https://adb-1.2.azuredatabricks.net", "which cluster"),
            ("databricks:https://h.net?cluster=a&node_type=b", "not both"),
            ("databricks:https://h.net?node_type=b&workers=two", "whole number"),
            ("databricks:https://h.net?cluster=a&colour=red", "`colour` is not a setting"),
            ("databricks:https://h.net?cluster=a&volume=/tmp/x", "/Volumes/CATALOG"),
        ] {
            let error = Compute::parse(text, &Settings::from_vars([])).unwrap().unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
