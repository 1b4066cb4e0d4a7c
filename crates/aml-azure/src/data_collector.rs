//! A deployment's `data_collector` on Azure ML, as azure-ai-ml's
//! `OnlineDeploymentOperations.begin_create_or_update` sends it: each collection's data asset
//! registered first (`_register_collection_data_assets`: by default
//! `<endpoint>-<deployment>-<collection>`, version 1, a `uri_folder` under the workspace blob
//! store's `modelDataCollector/…`; one that exists is used as it is), then `dataCollector`
//! with each collection's `dataId` and the collector's sampling rate copied into each.

use serde_json::{Map, Value, json};

use aml_core::error::Result;
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
