//! Which Databricks compute runs a job: `--compute databricks:https://HOST?cluster=ID` (an
//! existing cluster) or `?node_type=…&workers=N[&spark_version=…]` (a new one per run),
//! and the Unity Catalog volume the job's files go to.

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
        let url = aml_http::url::Url::parse(rest).map_err(|_| bad("the workspace URL is not a URL".into()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
