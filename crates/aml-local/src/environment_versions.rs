//! Environment versions in the local registry: registered in one transaction, so racing
//! registrations of the same file end as one version, and a killed one leaves none.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use aml_core::environments::{EnvironmentVersion, NewEnvironment};
use aml_core::error::{Error, Result};
use aml_core::model::VersionSelector;

use crate::registry::{Registry, json, sql};

impl Registry {
    /// The version `new` is: the newest one if it is the same environment (or the version
    /// asked for, if that one is), else a new version. `bool`: an existing one was returned.
    pub fn insert_environment(&mut self, new: &NewEnvironment, now: &str) -> Result<(EnvironmentVersion, bool)> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let existing: Option<String> = match &new.version {
            Some(version) => tx
                .query_row(
                    "SELECT record FROM environment_versions WHERE name = ?1 AND version = ?2",
                    params![new.name, version],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql)?,
            None => tx
                .query_row(
                    "SELECT record FROM environment_versions WHERE name = ?1 ORDER BY seq DESC LIMIT 1",
                    params![new.name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql)?,
        };
        if let Some(record) = existing {
            let existing = from_json(&record)?;
            if existing.digest == new.digest {
                return Ok((existing, true));
            }
            if new.version.is_some() {
                return Err(Error::usage(
                    format!(
                        "environment `{}` already has a version `{}`, of other packages or another image",
                        existing.name, existing.version
                    ),
                    "a version cannot change: leave `version` out to get the next free one, or pick another",
                ));
            }
        }
        let seq: i64 = tx
            .query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM environment_versions WHERE name = ?1", [&new.name], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        // The next number not taken (an explicit `3` may have been registered before `2`).
        let mut number = seq;
        let version = match &new.version {
            Some(version) => version.clone(),
            None => loop {
                let taken = tx
                    .query_row(
                        "SELECT 1 FROM environment_versions WHERE name = ?1 AND version = ?2",
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
            },
        };
        let record = EnvironmentVersion {
            name: new.name.clone(),
            version,
            description: new.description.clone(),
            tags: new.tags.clone(),
            image: new.image.clone(),
            plan: new.plan.clone(),
            digest: new.digest,
            created_at: now.to_string(),
        };
        tx.execute(
            "INSERT INTO environment_versions (name, version, seq, digest, record) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![record.name, record.version, seq, record.digest.to_string(), json(&record)?],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok((record, false))
    }

    pub fn environment_version(&self, name: &str, selector: &VersionSelector) -> Result<Option<EnvironmentVersion>> {
        let record: Option<String> = match selector {
            VersionSelector::Exact(version) => self
                .conn
                .query_row(
                    "SELECT record FROM environment_versions WHERE name = ?1 AND version = ?2",
                    params![name, version],
                    |r| r.get(0),
                )
                .optional(),
            // Environments are not picked by tag (`parse_reference` takes no such form).
            VersionSelector::Tag { .. } => return Ok(None),
            VersionSelector::Latest => self
                .conn
                .query_row(
                    "SELECT record FROM environment_versions WHERE name = ?1 ORDER BY seq DESC LIMIT 1",
                    params![name],
                    |r| r.get(0),
                )
                .optional(),
        }
        .map_err(sql)?;
        record.as_deref().map(from_json).transpose()
    }

    /// A name's versions, newest first; without a name, the newest version of each.
    pub fn environment_versions(&self, name: Option<&str>) -> Result<Vec<EnvironmentVersion>> {
        let query = match name {
            Some(_) => "SELECT record FROM environment_versions WHERE name = ?1 ORDER BY seq DESC",
            None => {
                "SELECT record FROM environment_versions e WHERE seq = (SELECT MAX(seq) FROM environment_versions WHERE name = e.name) AND ?1 IS NULL ORDER BY name"
            }
        };
        let mut statement = self.conn.prepare(query).map_err(sql)?;
        let records: Vec<String> =
            statement.query_map([name], |r| r.get(0)).map_err(sql)?.collect::<rusqlite::Result<_>>().map_err(sql)?;
        records.iter().map(|r| from_json(r)).collect()
    }
}

fn from_json(record: &str) -> Result<EnvironmentVersion> {
    serde_json::from_str(record).map_err(|e| Error::storage("an environment version's record does not read", e))
}
