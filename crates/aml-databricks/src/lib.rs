//! Azure Databricks as a compute for command jobs, as the MLOpsDatabricks seed trains there:
//! `--compute databricks:https://adb-….azuredatabricks.net?cluster=ID` (or
//! `?node_type=…&workers=N` for a new job cluster). The job stays recorded in the workspace
//! that ran `aml-train` (statuses, log, metrics, outputs), so `show`, `logs`, `metrics` and
//! `aml-register --job` work as for a local job; the run itself is a Databricks one-time run
//! (Jobs API 2.2 `runs/submit`) whose files live in a Unity Catalog volume.

pub mod api;
mod command;
mod compute;
mod step;

pub use command::{PythonCommand, python_command};
pub use compute::{Cluster, Compute, DEFAULT_SPARK_VERSION, DEFAULT_VOLUME, RESOURCE_SCOPE, TOKEN_VARIABLE};

use aml_core::error::{Error, Result};
use aml_core::settings::Settings;

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
