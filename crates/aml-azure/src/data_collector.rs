//! A deployment's `data_collector` on Azure ML, as azure-ai-ml's
//! `OnlineDeploymentOperations.begin_create_or_update` sends it: each collection's data asset
//! registered first (`_register_collection_data_assets`: by default
//! `<endpoint>-<deployment>-<collection>`, version 1, a `uri_folder` under the workspace blob
//! store's `modelDataCollector/…`; one that exists is used as it is), then `dataCollector`
//! with each collection's `dataId` and the collector's sampling rate copied into each.

use serde_json::{Map, Value, json};

use aml_core::collected::CollectedLine;
use aml_core::error::{Error, Result};
use aml_core::yaml::data_collector::{CollectionData, DEFAULT_PATH, DataAsset, DataCollector};

use super::AzureWorkspace;

impl AzureWorkspace {
    pub(super) async fn data_collector_body(
        &self,
        endpoint: &str,
        deployment: &str,
        collector: &DataCollector,
    ) -> Result<Value> {
        let mut collections = Map::new();
        for (name, collection) in collector.collections.iter() {
            let data_id = match &collection.data {
                Some(CollectionData::Id(id)) => id.clone(),
                Some(CollectionData::Asset(asset)) => self.collection_data(endpoint, deployment, name, asset).await?,
                None => self.collection_data(endpoint, deployment, name, &DataAsset::default()).await?,
            };
            let mut body = Map::new();
            body.insert(
                "dataCollectionMode".into(),
                json!(if collection.is_enabled() { "enabled" } else { "disabled" }),
            );
            if let Some(rate) = collector.sampling_rate {
                body.insert("samplingRate".into(), json!(rate));
            }
            body.insert("dataId".into(), json!(data_id));
            if let Some(client) = &collection.client_id {
                body.insert("clientId".into(), json!(client));
            }
            collections.insert(name.clone(), Value::Object(body));
        }
        let mut body = Map::new();
        body.insert("collections".into(), Value::Object(collections));
        if let Some(rolling) = &collector.rolling_rate {
            body.insert("rollingRate".into(), json!(rolling.to_ascii_lowercase()));
        }
        if let Some(logging) = &collector.request_logging {
            let mut request_logging = Map::new();
            if let Some(headers) = &logging.capture_headers {
                request_logging.insert("captureHeaders".into(), json!(headers));
            }
            body.insert("requestLogging".into(), Value::Object(request_logging));
        }
        Ok(Value::Object(body))
    }

    /// The ARM id of a collection's data asset, registered unless it exists.
    async fn collection_data(
        &self,
        endpoint: &str,
        deployment: &str,
        collection: &str,
        asset: &DataAsset,
    ) -> Result<String> {
        let name = asset.name.clone().unwrap_or_else(|| format!("{endpoint}-{deployment}-{collection}"));
        let version = asset.version.clone().unwrap_or_else(|| "1".into());
        let data_path =
            asset.path.clone().unwrap_or_else(|| format!("{DEFAULT_PATH}/{endpoint}/{deployment}/{collection}"));
        let path = format!("{}/data/{name}/versions/{version}", self.prefix);
        if self.arm.get_optional::<Value>(&path).await?.is_none() {
            let body = json!({"properties": {
                "isAnonymous": false, "tags": {}, "isArchived": false, "properties": {},
                "dataUri": data_path, "dataType": "uri_folder",
            }});
            let _: Value = self.arm.put(&path, &body).await?;
        }
        Ok(path)
    }
}

impl AzureWorkspace {
    /// What a deployment's collection holds from `since` (seconds) on, oldest first: the
    /// lines of the files under its data asset's folder.
    pub async fn collected(
        &self,
        endpoint: &str,
        deployment: &str,
        collection: &str,
        since: i64,
    ) -> Result<Vec<CollectedLine>> {
        let path = format!("{}/onlineEndpoints/{endpoint}/deployments/{deployment}", self.prefix);
        let found: Value = self.arm.get_optional(&path).await?.ok_or_else(|| {
            Error::usage(
                format!("endpoint `{endpoint}` has no deployment `{deployment}`"),
                "`aml-deploy show` lists them",
            )
        })?;
        let collections = found["properties"]["dataCollector"]["collections"].as_object().cloned().unwrap_or_default();
        let Some((_, entry)) = collections.iter().find(|(name, _)| name.eq_ignore_ascii_case(collection)) else {
            return Err(Error::usage(
                format!("deployment `{deployment}` of endpoint `{endpoint}` does not collect `{collection}`"),
                match collections.is_empty() {
                    true => "its YAML has no data_collector".to_string(),
                    false => format!(
                        "its collections: {}",
                        collections.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                    ),
                },
            ));
        };
        let data_id = entry["dataId"].as_str().unwrap_or_default();
        let data_path = match data_id.strip_prefix("azureml:").and_then(|r| r.split_once(':')) {
            Some((name, version)) => format!("{}/data/{name}/versions/{version}", self.prefix),
            None => data_id.trim_start_matches("azureml:").to_string(),
        };
        let data: Value = self.arm.get(&data_path).await?;
        let uri = data["properties"]["dataUri"].as_str().unwrap_or_default();
        let (datastore, folder) = aml_core::collected::datastore_folder(uri).ok_or_else(|| {
            Error::service(format!("collection `{collection}`'s data asset points at `{uri}`, not a datastore"), None)
        })?;
        let store = self.datastore(&datastore).await?;
        let prefix = format!("{folder}/");
        let mut names: Vec<String> = store
            .container
            .list(&prefix)
            .await?
            .into_iter()
            .filter(|name| name.ends_with(".jsonl"))
            .filter(|name| aml_core::collected::may_hold(name.strip_prefix(&prefix).unwrap_or(name), since))
            .collect();
        names.sort();
        let mut lines = Vec::new();
        for name in names {
            if let Some(bytes) = store.container.read(&name).await? {
                lines.extend(aml_core::collected::lines_since(&String::from_utf8_lossy(&bytes), since));
            }
        }
        lines.sort_by(|a, b| a.time.cmp(&b.time));
        Ok(lines)
    }
}
