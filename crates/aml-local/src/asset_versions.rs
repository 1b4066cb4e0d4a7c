//! Versioned assets other than models in the local registry — environments, data assets and
//! components —
//! each registered in one transaction, so racing registrations of the same content end as one
//! version and a killed one leaves none. A version's record is JSON; what decides whether two
//! registrations are the same asset is its digest.

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use aml_core::components::{ComponentVersion, NewComponent};
use aml_core::data_assets::{DataVersion, NewData};
use aml_core::digest::Digest;
use aml_core::environments::{EnvironmentVersion, NewEnvironment};
use aml_core::error::{Error, Result};
use aml_core::model::VersionSelector;
use aml_core::tree::Manifest;

use crate::registry::{Registry, json, sql};

/// One kind of asset: its table (a constant, never user input) and what users call it.
#[derive(Clone, Copy)]
struct Kind {
    table: &'static str,
    what: &'static str,
}

const ENVIRONMENTS: Kind = Kind { table: "environment_versions", what: "environment" };
const DATA: Kind = Kind { table: "data_versions", what: "data asset" };
const COMPONENTS: Kind = Kind { table: "component_versions", what: "component" };

/// A registration: the asset's name, the version asked for, and what it holds.
struct Registration<'a> {
    name: &'a str,
    version: Option<&'a str>,
    digest: Digest,
    manifest: Option<String>,
}

impl Registry {
    pub fn insert_environment(&mut self, new: &NewEnvironment, now: &str) -> Result<(EnvironmentVersion, bool)> {
        let registration =
            Registration { name: &new.name, version: new.version.as_deref(), digest: new.digest, manifest: None };
        self.insert_asset(ENVIRONMENTS, registration, |version| EnvironmentVersion {
            name: new.name.clone(),
            version,
            description: new.description.clone(),
            tags: new.tags.clone(),
            image: new.image.clone(),
            conda_file: new.conda_file.clone(),
            plan: new.plan.clone(),
            digest: new.digest,
            created_at: now.to_string(),
        })
    }

    pub fn environment_version(&self, name: &str, selector: &VersionSelector) -> Result<Option<EnvironmentVersion>> {
        self.asset_version(ENVIRONMENTS, name, selector)
    }

    /// A name's versions, newest first; without a name, the newest version of each.
    pub fn environment_versions(&self, name: Option<&str>) -> Result<Vec<EnvironmentVersion>> {
        self.asset_versions(ENVIRONMENTS, name)
    }

    /// `copied`: the manifest of the files copied in (their blobs already stored).
    pub fn insert_data(
        &mut self,
        new: &NewData,
        digest: Digest,
        copied: Option<&Manifest>,
        path: &str,
        now: &str,
    ) -> Result<(DataVersion, bool)> {
        let registration = Registration {
            name: &new.name,
            version: new.version.as_deref(),
            digest,
            manifest: copied.map(json).transpose()?,
        };
        self.insert_asset(DATA, registration, |version| DataVersion {
            name: new.name.clone(),
            version,
            kind: new.kind,
            description: new.description.clone(),
            tags: new.tags.clone(),
            properties: new.properties.clone(),
            path: path.to_string(),
            digest,
            copied: copied.map(|m| (m.total_size(), m.entries.len() as u64)),
            created_at: now.to_string(),
        })
    }

    pub fn data_version(&self, name: &str, selector: &VersionSelector) -> Result<Option<DataVersion>> {
        self.asset_version(DATA, name, selector)
    }

    pub fn data_versions(&self, name: Option<&str>) -> Result<Vec<DataVersion>> {
        self.asset_versions(DATA, name)
    }

    /// The files a data asset version copied in.
    pub fn data_manifest(&self, version: &DataVersion) -> Result<Option<Manifest>> {
        self.asset_manifest(DATA, &version.name, &version.version)
    }

    /// `frozen`: the manifest of the component's frozen folder (its blobs already stored).
    pub fn insert_component(
        &mut self,
        new: &NewComponent,
        frozen: &Manifest,
        code_files: u64,
        now: &str,
    ) -> Result<(ComponentVersion, bool)> {
        let digest = frozen.digest();
        let registration =
            Registration { name: &new.name, version: new.version.as_deref(), digest, manifest: Some(json(frozen)?) };
        self.insert_asset(COMPONENTS, registration, |version| ComponentVersion {
            name: new.name.clone(),
            version,
            display_name: new.display_name.clone(),
            description: new.description.clone(),
            tags: new.tags.clone(),
            command: new.command.clone(),
            inputs: new.inputs.clone(),
            outputs: new.outputs.clone(),
            environment: new.environment.clone(),
            digest,
            code_files,
            created_at: now.to_string(),
        })
    }

    pub fn component_version(&self, name: &str, selector: &VersionSelector) -> Result<Option<ComponentVersion>> {
        self.asset_version(COMPONENTS, name, selector)
    }

    pub fn component_versions(&self, name: Option<&str>) -> Result<Vec<ComponentVersion>> {
        self.asset_versions(COMPONENTS, name)
    }

    pub fn component_manifest(&self, version: &ComponentVersion) -> Result<Option<Manifest>> {
        self.asset_manifest(COMPONENTS, &version.name, &version.version)
    }

    fn asset_manifest(&self, kind: Kind, name: &str, version: &str) -> Result<Option<Manifest>> {
        let manifest: Option<Option<String>> = self
            .conn
            .query_row(
                &format!("SELECT manifest FROM {} WHERE name = ?1 AND version = ?2", kind.table),
                params![name, version],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        manifest.flatten().map(|m| from_json(&m)).transpose()
    }

    /// The newest version if it holds the same (or the version asked for, if that one
    /// does), else a new version: the one asked for, or the next free number.
    fn insert_asset<T: Serialize + DeserializeOwned>(
        &mut self,
        kind: Kind,
        new: Registration,
        record: impl FnOnce(String) -> T,
    ) -> Result<(T, bool)> {
        let Kind { table, what } = kind;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let existing: Option<(String, String, String)> = match new.version {
            Some(version) => tx.query_row(
                &format!("SELECT version, digest, record FROM {table} WHERE name = ?1 AND version = ?2"),
                params![new.name, version],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            ),
            None => tx.query_row(
                &format!("SELECT version, digest, record FROM {table} WHERE name = ?1 ORDER BY seq DESC LIMIT 1"),
                params![new.name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            ),
        }
        .optional()
        .map_err(sql)?;
        if let Some((version, digest, existing)) = existing {
            if digest == new.digest.to_string() {
                return Ok((from_json(&existing)?, true));
            }
            if new.version.is_some() {
                return Err(Error::usage(
                    format!("{what} `{}` already has a version `{version}`, holding something else", new.name),
                    "a version cannot change: leave `version` out to get the next free one, or pick another",
                ));
            }
        }
        let seq: i64 = tx
            .query_row(&format!("SELECT COALESCE(MAX(seq), 0) + 1 FROM {table} WHERE name = ?1"), [new.name], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        let version = match new.version {
            Some(version) => version.to_string(),
            // The next number not taken (an explicit `3` may have come before `2`).
            None => {
                let mut number = seq;
                loop {
                    let taken = tx
                        .query_row(
                            &format!("SELECT 1 FROM {table} WHERE name = ?1 AND version = ?2"),
                            params![new.name, number.to_string()],
                            |_| Ok(()),
                        )
                        .optional()
                        .map_err(sql)?
                        .is_some();
                    if !taken {
                        break number.to_string();
                    }
                    number += 1;
                }
            }
        };
        let record = record(version.clone());
        tx.execute(
            &format!("INSERT INTO {table} (name, version, seq, digest, record) VALUES (?1, ?2, ?3, ?4, ?5)"),
            params![new.name, version, seq, new.digest.to_string(), json(&record)?],
        )
        .map_err(sql)?;
        if let Some(manifest) = &new.manifest {
            tx.execute(
                &format!("UPDATE {table} SET manifest = ?3 WHERE name = ?1 AND version = ?2"),
                params![new.name, version, manifest],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        Ok((record, false))
    }

    fn asset_version<T: DeserializeOwned>(
        &self,
        kind: Kind,
        name: &str,
        selector: &VersionSelector,
    ) -> Result<Option<T>> {
        let table = kind.table;
        let record: Option<String> = match selector {
            VersionSelector::Exact(version) => self
                .conn
                .query_row(
                    &format!("SELECT record FROM {table} WHERE name = ?1 AND version = ?2"),
                    params![name, version],
                    |r| r.get(0),
                )
                .optional(),
            // These assets are not picked by tag (`parse_asset_reference` takes no such form).
            VersionSelector::Tag { .. } => return Ok(None),
            VersionSelector::Latest => self
                .conn
                .query_row(
                    &format!("SELECT record FROM {table} WHERE name = ?1 ORDER BY seq DESC LIMIT 1"),
                    params![name],
                    |r| r.get(0),
                )
                .optional(),
        }
        .map_err(sql)?;
        record.as_deref().map(from_json).transpose()
    }

    fn asset_versions<T: DeserializeOwned>(&self, kind: Kind, name: Option<&str>) -> Result<Vec<T>> {
        let table = kind.table;
        let query = match name {
            Some(_) => format!("SELECT record FROM {table} WHERE name = ?1 ORDER BY seq DESC"),
            None => format!(
                "SELECT record FROM {table} t WHERE ?1 IS NULL AND seq = (SELECT MAX(seq) FROM {table} WHERE name = t.name) ORDER BY name"
            ),
        };
        let mut statement = self.conn.prepare(&query).map_err(sql)?;
        let records: Vec<String> =
            statement.query_map([name], |r| r.get(0)).map_err(sql)?.collect::<rusqlite::Result<_>>().map_err(sql)?;
        records.iter().map(|r| from_json(r)).collect()
    }
}

fn from_json<T: DeserializeOwned>(record: &str) -> Result<T> {
    serde_json::from_str(record).map_err(|e| Error::storage("a registered asset's record does not read", e))
}
