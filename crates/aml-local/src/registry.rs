//! The local registry: one SQLite database in WAL mode. Model versions are allocated
//! inside one `BEGIN IMMEDIATE` transaction, so parallel registrations get distinct,
//! gap-free versions; rows are written only after their blobs are in place.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use aml_core::digest::Digest;
use aml_core::error::{Error, Result};
use aml_core::jobs::{Job, JobStatus};
use aml_core::model::{ModelVersion, NewModelVersion, Registered, VersionSelector};
use aml_core::tree::Manifest;

/// The registry's SQLite failing is a storage failure of the workspace.
pub fn sql(e: rusqlite::Error) -> Error {
    // SQLite says "database or disk is full", or, when the WAL index cannot grow,
    // "disk I/O error" (SQLITE_IOERR_SHMSIZE): both are a full disk to the user.
    const IOERR_SHMSIZE: std::ffi::c_int = 10 | (19 << 8);
    if let rusqlite::Error::SqliteFailure(failure, _) = &e
        && (failure.code == rusqlite::ErrorCode::DiskFull || failure.extended_code == IOERR_SHMSIZE)
    {
        return Error::disk_full("the workspace registry (`registry.db` in the workspace folder) cannot grow");
    }
    Error::storage("the workspace registry (SQLite) failed", e)
}

/// Migrations, in order; `PRAGMA user_version` counts how many a database has had.
/// Append only: a workspace made by an older build is brought up to date when opened.
const MIGRATIONS: &[&str] = &[SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7];

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS model_versions (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    seq INTEGER NOT NULL,
    digest TEXT NOT NULL,
    type TEXT NOT NULL,
    description TEXT,
    source TEXT NOT NULL,
    size INTEGER NOT NULL,
    file_count INTEGER NOT NULL,
    manifest TEXT NOT NULL,
    tags TEXT NOT NULL,
    properties TEXT NOT NULL,
    metrics TEXT NOT NULL,
    lineage TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT,
    PRIMARY KEY (name, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS model_versions_seq ON model_versions (name, seq);
-- One row per model, kept in the same transaction as its versions, so listing models
-- costs the number of models, not the number of versions.
CREATE TABLE IF NOT EXISTS models (
    name TEXT PRIMARY KEY,
    latest_seq INTEGER NOT NULL,
    version_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS model_versions_digest ON model_versions (name, digest);
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    status TEXT NOT NULL,
    parent TEXT,
    created_seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_parent ON jobs (parent);
CREATE TABLE IF NOT EXISTS job_metrics (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    key TEXT NOT NULL,
    value REAL NOT NULL,
    step INTEGER NOT NULL,
    timestamp INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS job_metrics_job ON job_metrics (job, key, id);
CREATE TABLE IF NOT EXISTS job_params (
    job TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (job, key)
);
CREATE TABLE IF NOT EXISTS job_tags (
    job TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (job, key)
);
";

/// Online endpoints and their deployments (aml-deploy, local backend).
const SCHEMA_V2: &str = "
CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS deployments (
    endpoint TEXT NOT NULL,
    name TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (endpoint, name)
);
";

/// The audit trail and manual approval requests (approval-gate, local backend).
const SCHEMA_V3: &str = "
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    model TEXT,
    job TEXT,
    request TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_model ON audit (model, id);
CREATE INDEX IF NOT EXISTS audit_job ON audit (job, id);
CREATE TABLE IF NOT EXISTS approval_requests (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
";

/// Batch endpoints and their deployments (aml-deploy, local backend); their jobs are jobs.
const SCHEMA_V4: &str = "
CREATE TABLE IF NOT EXISTS batch_endpoints (
    name TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_deployments (
    endpoint TEXT NOT NULL,
    name TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (endpoint, name)
);
";

/// Environments registered in the workspace (`aml-register environment`): each version's
/// record as JSON, `seq` ordering a name's versions.
const SCHEMA_V5: &str = "
CREATE TABLE IF NOT EXISTS environment_versions (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    seq INTEGER NOT NULL,
    digest TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
";

/// Data assets registered in the workspace (`aml-register data`): each version's record as
/// JSON, and the manifest of the files copied in (none for a path elsewhere).
const SCHEMA_V6: &str = "
CREATE TABLE IF NOT EXISTS data_versions (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    seq INTEGER NOT NULL,
    digest TEXT NOT NULL,
    record TEXT NOT NULL,
    manifest TEXT,
    PRIMARY KEY (name, version)
);
";

/// Command components registered in the workspace (`aml-register component`): each version's
/// record as JSON, and the manifest of its frozen folder (the component file and its code).
const SCHEMA_V7: &str = "
CREATE TABLE IF NOT EXISTS component_versions (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    seq INTEGER NOT NULL,
    digest TEXT NOT NULL,
    record TEXT NOT NULL,
    manifest TEXT,
    PRIMARY KEY (name, version)
);
";

pub struct Registry {
    pub(super) conn: Connection,
}

const MODEL_COLUMNS: &str = "name, version, digest, type, description, source, size, file_count, tags, properties, metrics, lineage, created_at, created_by";

impl Registry {
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path).map_err(sql)?;
        // The registry holds endpoint keys: owner only. SQLite gives its WAL and shared-memory
        // files the database's mode. Best effort: a reader that does not own the file keeps it.
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        // Eight CI jobs registering at once wait for each other rather than fail.
        conn.busy_timeout(Duration::from_secs(60)).map_err(sql)?;
        // SQLite does not always call the busy handler while a fresh database switches to WAL
        // and gets its schema (measured: 3 of 40 races of eight processes failed), so that
        // one-time set-up retries by itself.
        retry_while_busy(|| {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            // FULL: a committed version survives power loss, not just a killed process.
            conn.pragma_update(None, "synchronous", "FULL")?;
            let applied: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
            if applied < MIGRATIONS.len() {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                // Another process may have migrated while this one waited for the lock.
                let applied: usize = tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
                for migration in &MIGRATIONS[applied.min(MIGRATIONS.len())..] {
                    tx.execute_batch(migration)?;
                }
                tx.execute_batch(&format!("PRAGMA user_version = {}", MIGRATIONS.len()))?;
                tx.commit()?;
            }
            Ok(())
        })
        .map_err(sql)?;
        Ok(Registry { conn })
    }

    /// The newest version under `name` holding exactly this content.
    pub fn find_by_digest(&self, name: &str, digest: &Digest) -> Result<Option<ModelVersion>> {
        self
            .conn
            .query_row(
                &format!("SELECT {MODEL_COLUMNS} FROM model_versions WHERE name = ?1 AND digest = ?2 ORDER BY seq DESC LIMIT 1"),
                params![name, digest.to_string()],
                model_from_row,
            )
            .optional().map_err(sql)
    }

    /// Whether any version of `name` has this total size and file count: identical content
    /// needs both, so `false` proves a registration is new without hashing anything.
    pub fn has_version_sized(&self, name: &str, size: u64, file_count: u64) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM model_versions WHERE name = ?1 AND size = ?2 AND file_count = ?3 LIMIT 1",
                params![name, size as i64, file_count as i64],
                |_| Ok(()),
            )
            .optional()
            .map_err(sql)?
            .is_some())
    }

    /// Allocate the next version and write the row, in one transaction.
    pub fn insert_model_version(
        &mut self,
        new: &NewModelVersion,
        manifest: &Manifest,
        now: &str,
    ) -> Result<Registered> {
        let digest = manifest.digest();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        if !new.force_new {
            let existing = tx
                .query_row(
                    &format!("SELECT {MODEL_COLUMNS} FROM model_versions WHERE name = ?1 AND digest = ?2 ORDER BY seq DESC LIMIT 1"),
                    params![new.name, digest.to_string()],
                    model_from_row,
                )
                .optional().map_err(sql)?;
            if let Some(version) = existing {
                return Ok(Registered { version, reused: true });
            }
        }
        let seq: i64 = tx
            .query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM model_versions WHERE name = ?1", [&new.name], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        let version = new.version.clone().unwrap_or_else(|| seq.to_string());
        let taken: bool = tx
            .query_row(
                "SELECT 1 FROM model_versions WHERE name = ?1 AND version = ?2",
                params![new.name, version],
                |_| Ok(()),
            )
            .optional()
            .map_err(sql)?
            .is_some();
        if taken {
            return Err(Error::usage(
                format!("model `{}` already has a version `{version}`", new.name),
                "leave `version` out to get the next free version, or pick another",
            ));
        }
        let record = ModelVersion {
            name: new.name.clone(),
            version,
            digest,
            kind: new.kind,
            description: new.description.clone(),
            source: new.source.clone(),
            size: manifest.total_size(),
            file_count: manifest.entries.len() as u64,
            tags: new.tags.clone(),
            properties: new.properties.clone(),
            metrics: new.metrics.clone(),
            lineage: new.lineage.clone(),
            created_at: now.to_string(),
            created_by: new.lineage.created_by.clone(),
        };
        tx.execute(
            "INSERT INTO model_versions (name, version, seq, digest, type, description, source, size, file_count, manifest,
                 tags, properties, metrics, lineage, created_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                record.name,
                record.version,
                seq,
                record.digest.to_string(),
                record.kind.as_str(),
                record.description,
                record.source,
                record.size as i64,
                record.file_count as i64,
                json(&manifest)?,
                json(&record.tags)?,
                json(&record.properties)?,
                json(&record.metrics)?,
                json(&record.lineage)?,
                record.created_at,
                record.created_by,
            ],
        ).map_err(sql)?;
        tx.execute(
            "INSERT INTO models (name, latest_seq, version_count) VALUES (?1, ?2, 1)
             ON CONFLICT (name) DO UPDATE SET latest_seq = excluded.latest_seq, version_count = version_count + 1",
            params![record.name, seq],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(Registered { version: record, reused: false })
    }

    pub fn model_version(&self, name: &str, selector: &VersionSelector) -> Result<Option<ModelVersion>> {
        match selector {
            VersionSelector::Exact(version) => Ok(self
                .conn
                .query_row(
                    &format!("SELECT {MODEL_COLUMNS} FROM model_versions WHERE name = ?1 AND version = ?2"),
                    params![name, version],
                    model_from_row,
                )
                .optional()
                .map_err(sql)?),
            VersionSelector::Latest => Ok(self
                .conn
                .query_row(
                    &format!("SELECT {MODEL_COLUMNS} FROM model_versions WHERE name = ?1 ORDER BY seq DESC LIMIT 1"),
                    [name],
                    model_from_row,
                )
                .optional()
                .map_err(sql)?),
            VersionSelector::Tag { key, value } => {
                let path = format!("$.\"{}\"", key.replace('"', "\\\""));
                let mut stmt = self.conn.prepare(&format!(
                    "SELECT {MODEL_COLUMNS} FROM model_versions WHERE name = ?1 AND json_extract(tags, ?2) = ?3 ORDER BY seq DESC"
                )).map_err(sql)?;
                let found: Vec<ModelVersion> = stmt
                    .query_map(params![name, path, value], model_from_row)
                    .map_err(sql)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(sql)?;
                match found.len() {
                    0 => Ok(None),
                    1 => Ok(found.into_iter().next()),
                    _ => Err(Error::usage(
                        format!(
                            "`{name}@{key}={value}` is ambiguous: versions {} carry that tag",
                            found.iter().map(|v| v.version.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                        format!(
                            "name one version (`{name}:{}`), or move the tag so one version carries it",
                            found[0].version
                        ),
                    )),
                }
            }
        }
    }

    /// Newest first; `limit` None lists all. Also returns how many exist.
    pub fn list_versions(&self, name: &str, limit: Option<u64>) -> Result<(Vec<ModelVersion>, u64)> {
        let total: i64 = self
            .conn
            .query_row("SELECT version_count FROM models WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(sql)?
            .unwrap_or(0);
        let limit = limit.map(|l| l as i64).unwrap_or(-1);
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {MODEL_COLUMNS} FROM model_versions WHERE name = ?1 ORDER BY seq DESC LIMIT ?2"))
            .map_err(sql)?;
        let versions = stmt
            .query_map(params![name, limit], model_from_row)
            .map_err(sql)?
            .collect::<rusqlite::Result<_>>()
            .map_err(sql)?;
        Ok((versions, total as u64))
    }

    /// The newest version of every model.
    pub fn list_models(&self) -> Result<Vec<ModelVersion>> {
        let columns = MODEL_COLUMNS.split(", ").map(|c| format!("v.{c}")).collect::<Vec<_>>().join(", ");
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {columns} FROM models m JOIN model_versions v ON v.name = m.name AND v.seq = m.latest_seq ORDER BY m.name"
        )).map_err(sql)?;
        stmt.query_map([], model_from_row).map_err(sql)?.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    pub fn manifest(&self, name: &str, version: &str) -> Result<Manifest> {
        let text: String = self
            .conn
            .query_row(
                "SELECT manifest FROM model_versions WHERE name = ?1 AND version = ?2",
                params![name, version],
                |r| r.get(0),
            )
            .map_err(sql)?;
        serde_json::from_str(&text)
            .map_err(|e| Error::storage(format!("the manifest of {name}:{version} is unreadable"), e))
    }

    /// Set and remove tags in one transaction; returns the updated version.
    pub fn update_tags(
        &mut self,
        name: &str,
        version: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<ModelVersion> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        change_tags(&tx, name, version, set, remove)?;
        tx.commit().map_err(sql)?;
        self.model_version(name, &VersionSelector::Exact(version.to_string()))?
            .ok_or_else(|| Error::service(format!("{name}:{version} vanished while being tagged"), None))
    }

    /// Set properties on a version (an image built from it, say), keeping the others.
    pub fn update_properties(&mut self, name: &str, version: &str, set: &BTreeMap<String, String>) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let text: String = tx
            .query_row(
                "SELECT properties FROM model_versions WHERE name = ?1 AND version = ?2",
                params![name, version],
                |r| r.get(0),
            )
            .map_err(sql)?;
        let mut properties: BTreeMap<String, String> =
            serde_json::from_str(&text).map_err(|e| Error::storage("stored properties are unreadable", e))?;
        properties.extend(set.clone());
        tx.execute(
            "UPDATE model_versions SET properties = ?3 WHERE name = ?1 AND version = ?2",
            params![name, version, json(&properties)?],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(())
    }

    // Jobs.

    pub fn insert_job(&mut self, job: &Job) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let exists = tx
            .query_row("SELECT 1 FROM jobs WHERE name = ?1", [job.name.as_str()], |_| Ok(()))
            .optional()
            .map_err(sql)?
            .is_some();
        if exists {
            return Err(Error::usage(
                format!("a job named `{}` already exists in this workspace", job.name),
                "job names are unique: remove `name:` from the YAML (a fresh name is generated) or pass `--name`",
            ));
        }
        let seq: i64 =
            tx.query_row("SELECT COALESCE(MAX(created_seq), 0) + 1 FROM jobs", [], |r| r.get(0)).map_err(sql)?;
        tx.execute(
            "INSERT INTO jobs (name, record, status, parent, created_seq) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![job.name.as_str(), json(job)?, job.status.as_str(), job.parent, seq],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(())
    }

    pub fn update_job(&self, job: &Job) -> Result<()> {
        self.conn
            .execute(
                "UPDATE jobs SET record = ?2, status = ?3 WHERE name = ?1",
                params![job.name.as_str(), json(job)?, job.status.as_str()],
            )
            .map_err(sql)?;
        Ok(())
    }

    pub fn job(&self, name: &str) -> Result<Option<Job>> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT record FROM jobs WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(sql)?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| Error::storage(format!("the record of job `{name}` is unreadable"), e))
        })
        .transpose()
    }

    pub fn children(&self, parent: &str) -> Result<Vec<Job>> {
        let mut stmt =
            self.conn.prepare("SELECT record FROM jobs WHERE parent = ?1 ORDER BY created_seq").map_err(sql)?;
        let rows: Vec<String> =
            stmt.query_map([parent], |r| r.get(0)).map_err(sql)?.collect::<rusqlite::Result<_>>().map_err(sql)?;
        rows.iter()
            .map(|t| serde_json::from_str(t).map_err(|e| Error::storage("a job record is unreadable", e)))
            .collect()
    }

    /// The newest jobs, for hints when a name is mistyped.
    pub fn recent_job_names(&self, limit: u32) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM jobs WHERE parent IS NULL ORDER BY created_seq DESC LIMIT ?1")
            .map_err(sql)?;
        stmt.query_map([limit], |r| r.get(0)).map_err(sql)?.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    pub fn log_metric(&self, job: &str, key: &str, value: f64, step: i64, timestamp: i64) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO job_metrics (job, key, value, step, timestamp) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![job, key, value, step, timestamp],
            )
            .map_err(sql)?;
        Ok(())
    }

    pub fn log_param(&self, job: &str, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO job_params (job, key, value) VALUES (?1, ?2, ?3)",
                params![job, key, value],
            )
            .map_err(sql)?;
        Ok(())
    }

    pub fn set_job_tag(&self, job: &str, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute("INSERT OR REPLACE INTO job_tags (job, key, value) VALUES (?1, ?2, ?3)", params![job, key, value])
            .map_err(sql)?;
        Ok(())
    }

    /// The last value logged for each metric, as Azure ML's job page shows them.
    pub fn latest_metrics(&self, job: &str) -> Result<BTreeMap<String, f64>> {
        let mut stmt = self.conn.prepare(
            "SELECT key, value FROM job_metrics WHERE id IN (SELECT MAX(id) FROM job_metrics WHERE job = ?1 GROUP BY key)",
        ).map_err(sql)?;
        let rows = stmt.query_map([job], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?))).map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    /// Every logged value of one metric, oldest first: (step, timestamp ms, value).
    pub fn metric_history(&self, job: &str, key: &str) -> Result<Vec<(i64, i64, f64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT step, timestamp, value FROM job_metrics WHERE job = ?1 AND key = ?2 ORDER BY id")
            .map_err(sql)?;
        let rows = stmt.query_map(params![job, key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    pub fn params(&self, job: &str) -> Result<BTreeMap<String, String>> {
        let mut stmt = self.conn.prepare("SELECT key, value FROM job_params WHERE job = ?1").map_err(sql)?;
        let rows = stmt.query_map([job], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    pub fn job_tags(&self, job: &str) -> Result<BTreeMap<String, String>> {
        let mut stmt = self.conn.prepare("SELECT key, value FROM job_tags WHERE job = ?1").map_err(sql)?;
        let rows = stmt.query_map([job], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    // Online endpoints.

    pub fn endpoint(&self, name: &str) -> Result<Option<(String, i64)>> {
        self.conn
            .query_row("SELECT record, generation FROM endpoints WHERE name = ?1", [name], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(sql)
    }

    pub fn endpoint_names(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT name FROM endpoints ORDER BY name").map_err(sql)?;
        stmt.query_map([], |r| r.get(0)).map_err(sql)?.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    /// Store an endpoint's record; a new generation tells its router to reload.
    pub fn put_endpoint(&self, name: &str, record: &str) -> Result<i64> {
        self.conn
            .query_row(
                "INSERT INTO endpoints (name, record, generation) VALUES (?1, ?2, 1)
             ON CONFLICT (name) DO UPDATE SET record = excluded.record, generation = generation + 1
             RETURNING generation",
                params![name, record],
                |r| r.get(0),
            )
            .map_err(sql)
    }

    /// Change an endpoint's record inside one transaction, so that a CLI command and the
    /// router changing it at once do not lose each other's change. Returns the new generation.
    pub fn modify_endpoint(&mut self, name: &str, change: impl FnOnce(&str) -> Result<String>) -> Result<i64> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let current: String = tx
            .query_row("SELECT record FROM endpoints WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(sql)?
            .ok_or_else(|| {
                Error::usage(
                    format!("no endpoint named `{name}` in this workspace"),
                    "`aml-deploy list` shows the endpoints",
                )
            })?;
        let updated = change(&current)?;
        let generation = tx
            .query_row(
                "UPDATE endpoints SET record = ?2, generation = generation + 1 WHERE name = ?1 RETURNING generation",
                params![name, updated],
                |r| r.get(0),
            )
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(generation)
    }

    /// Change a deployment's record inside one transaction.
    pub fn modify_deployment(
        &mut self,
        endpoint: &str,
        name: &str,
        change: impl FnOnce(&str) -> Result<String>,
    ) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let current: String = tx
            .query_row(
                "SELECT record FROM deployments WHERE endpoint = ?1 AND name = ?2",
                params![endpoint, name],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?
            .ok_or_else(|| {
                Error::usage(
                    format!("endpoint `{endpoint}` has no deployment `{name}`"),
                    "`aml-deploy show` lists its deployments",
                )
            })?;
        let updated = change(&current)?;
        tx.execute(
            "UPDATE deployments SET record = ?3 WHERE endpoint = ?1 AND name = ?2",
            params![endpoint, name, updated],
        )
        .map_err(sql)?;
        tx.execute("UPDATE endpoints SET generation = generation + 1 WHERE name = ?1", [endpoint]).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(())
    }

    pub fn generation(&self, name: &str) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT generation FROM endpoints WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(sql)
    }

    pub fn deployments(&self, endpoint: &str) -> Result<Vec<String>> {
        let mut stmt =
            self.conn.prepare("SELECT record FROM deployments WHERE endpoint = ?1 ORDER BY name").map_err(sql)?;
        stmt.query_map([endpoint], |r| r.get(0)).map_err(sql)?.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    pub fn put_deployment(&self, endpoint: &str, name: &str, record: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO deployments (endpoint, name, record) VALUES (?1, ?2, ?3)
             ON CONFLICT (endpoint, name) DO UPDATE SET record = excluded.record",
                params![endpoint, name, record],
            )
            .map_err(sql)?;
        // Deployments changing (a port, a state) is a reason for the router to reload.
        self.conn
            .execute("UPDATE endpoints SET generation = generation + 1 WHERE name = ?1", [endpoint])
            .map_err(sql)?;
        Ok(())
    }

    pub fn delete_deployment(&self, endpoint: &str, name: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM deployments WHERE endpoint = ?1 AND name = ?2", params![endpoint, name])
            .map_err(sql)?;
        self.conn
            .execute("UPDATE endpoints SET generation = generation + 1 WHERE name = ?1", [endpoint])
            .map_err(sql)?;
        Ok(())
    }

    pub fn delete_endpoint(&self, name: &str) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(sql)?;
        tx.execute("DELETE FROM deployments WHERE endpoint = ?1", [name]).map_err(sql)?;
        tx.execute("DELETE FROM endpoints WHERE name = ?1", [name]).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(())
    }

    /// Bulk insert for benchmarks and tests that need a large registry quickly.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

fn retry_while_busy(mut attempt: impl FnMut() -> rusqlite::Result<()>) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut pause = Duration::from_millis(5);
    loop {
        match attempt() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// Merge tags into a version's, inside the caller's transaction.
pub(super) fn change_tags(
    tx: &rusqlite::Transaction,
    name: &str,
    version: &str,
    set: &BTreeMap<String, String>,
    remove: &[String],
) -> Result<()> {
    let tags: String = tx
        .query_row("SELECT tags FROM model_versions WHERE name = ?1 AND version = ?2", params![name, version], |r| {
            r.get(0)
        })
        .map_err(sql)?;
    let mut tags: BTreeMap<String, String> =
        serde_json::from_str(&tags).map_err(|e| Error::storage("stored tags are unreadable", e))?;
    for key in remove {
        tags.remove(key);
    }
    tags.extend(set.clone());
    tx.execute(
        "UPDATE model_versions SET tags = ?3 WHERE name = ?1 AND version = ?2",
        params![name, version, json(&tags)?],
    )
    .map_err(sql)?;
    Ok(())
}

pub(super) fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::storage("cannot encode a registry record", e))
}

fn model_from_row(row: &Row) -> rusqlite::Result<ModelVersion> {
    fn parse<T: serde::de::DeserializeOwned>(row: &Row, index: usize) -> rusqlite::Result<T> {
        let text: String = row.get(index)?;
        serde_json::from_str(&text)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e)))
    }
    let digest: String = row.get(2)?;
    let kind: String = row.get(3)?;
    Ok(ModelVersion {
        name: row.get(0)?,
        version: row.get(1)?,
        digest: digest
            .parse()
            .map_err(|e: String| rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e.into()))?,
        kind: serde_json::from_value(serde_json::Value::String(kind))
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e)))?,
        description: row.get(4)?,
        source: row.get(5)?,
        size: row.get::<_, i64>(6)? as u64,
        file_count: row.get::<_, i64>(7)? as u64,
        tags: parse(row, 8)?,
        properties: parse(row, 9)?,
        metrics: parse(row, 10)?,
        lineage: parse(row, 11)?,
        created_at: row.get(12)?,
        created_by: row.get(13)?,
    })
}

/// Status strings stored in the `jobs.status` column.
pub fn parse_status(text: &str) -> Result<JobStatus> {
    text.parse().map_err(|e: String| Error::service(e, None))
}

impl Registry {
    /// For connections that write many small rows (metrics): no fsync per commit.
    pub fn relax_durability(&self) -> Result<()> {
        self.conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aml_core::tree::FileEntry;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn registry() -> std::result::Result<(tempfile::TempDir, Registry), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let registry = Registry::open(&dir.path().join("registry.db"))?;
        Ok((dir, registry))
    }

    fn new_model(name: &str, tags: &[(&str, &str)]) -> NewModelVersion {
        NewModelVersion {
            name: name.into(),
            version: None,
            kind: aml_core::yaml::model::ModelType::CustomModel,
            description: None,
            source: "model".into(),
            source_path: "model".into(),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            properties: BTreeMap::new(),
            metrics: BTreeMap::new(),
            lineage: Default::default(),
            force_new: false,
        }
    }

    fn manifest(bytes: &[u8]) -> Manifest {
        Manifest {
            entries: vec![FileEntry {
                path: "model.bin".into(),
                size: bytes.len() as u64,
                digest: Digest::of_bytes(bytes),
            }],
        }
    }

    #[test]
    fn a_full_disk_is_told_from_other_storage_failures() {
        let said = |code: std::ffi::c_int| {
            sql(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)).to_string()
        };
        // SQLITE_FULL, and SQLITE_IOERR_SHMSIZE (10 | 19 << 8): the disk is full.
        for full in [13, 10 | (19 << 8)] {
            assert!(said(full).contains("no space left on device"), "{full}: {}", said(full));
        }
        // Another I/O error, a busy database, a lone extended part: not a full disk.
        for other in [10 | (1 << 8), 5, 19 << 8] {
            assert!(!said(other).contains("no space left"), "{other}: {}", said(other));
        }
    }

    #[test]
    fn a_version_is_found_by_its_digest_size_and_tags_and_keeps_its_properties() -> TestResult {
        let (_dir, mut registry) = registry()?;
        let bytes = b"weights";
        let new = new_model("m", &[("stage", "qa")]);
        registry.insert_model_version(&new, &manifest(bytes), "2026-12-05T00:00:00Z")?;
        let found = registry.find_by_digest("m", &manifest(bytes).digest())?.ok_or("not found by digest")?;
        assert_eq!(found.version, "1");
        assert!(registry.find_by_digest("m", &manifest(b"other").digest())?.is_none());
        assert!(registry.find_by_digest("n", &manifest(bytes).digest())?.is_none());
        assert!(registry.has_version_sized("m", bytes.len() as u64, 1)?);
        assert!(!registry.has_version_sized("m", bytes.len() as u64 + 1, 1)?);
        assert!(!registry.has_version_sized("m", bytes.len() as u64, 2)?);
        let tagged = |value: &str| VersionSelector::Tag { key: "stage".into(), value: value.into() };
        assert_eq!(registry.model_version("m", &tagged("qa"))?.map(|v| v.version), Some("1".into()));
        assert!(registry.model_version("m", &tagged("prod"))?.is_none(), "no version carries it: none, not ambiguous");
        registry.update_properties("m", "1", &BTreeMap::from([("image".to_string(), "oci:x".to_string())]))?;
        let read = registry.model_version("m", &VersionSelector::Exact("1".into()))?.ok_or("vanished")?;
        assert_eq!(read.properties.get("image").map(String::as_str), Some("oci:x"));
        Ok(())
    }

    fn job(name: &str, parent: Option<&str>) -> std::result::Result<Job, Box<dyn std::error::Error>> {
        Ok(Job {
            name: aml_core::names::JobName::new(name)?,
            kind: "command".into(),
            parent: parent.map(str::to_owned),
            step: parent.map(|_| "step".to_string()),
            display_name: None,
            experiment_name: "tests".into(),
            status: JobStatus::Queued,
            created_at: "2026-12-05T00:00:00Z".into(),
            started_at: None,
            ended_at: None,
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            code_digest: None,
            environment: None,
            command: None,
            error: None,
            file: None,
            tags: BTreeMap::new(),
            git: None,
            created_by: None,
            runner_pid: None,
        })
    }

    #[test]
    fn a_job_its_steps_metrics_params_and_tags_are_kept() -> TestResult {
        let (_dir, mut registry) = registry()?;
        registry.insert_job(&job("parent-job", None)?)?;
        registry.insert_job(&job("parent-job_step", Some("parent-job"))?)?;
        let mut running = job("parent-job", None)?;
        running.status = JobStatus::Running;
        registry.update_job(&running)?;
        assert_eq!(registry.job("parent-job")?.ok_or("no job")?.status, JobStatus::Running);
        let children: Vec<String> = registry.children("parent-job")?.iter().map(|j| j.name.to_string()).collect();
        assert_eq!(children, ["parent-job_step"]);
        // The names a "did you mean" offers: top-level jobs, not steps.
        assert_eq!(registry.recent_job_names(5)?, ["parent-job"]);
        registry.log_metric("parent-job", "rmse", 0.5, 0, 1)?;
        registry.log_metric("parent-job", "rmse", 0.25, 1, 2)?;
        registry.log_param("parent-job", "alpha", "0.1")?;
        registry.set_job_tag("parent-job", "owner", "ci")?;
        assert_eq!(registry.latest_metrics("parent-job")?.get("rmse"), Some(&0.25));
        assert_eq!(registry.metric_history("parent-job", "rmse")?, [(0, 1, 0.5), (1, 2, 0.25)]);
        assert_eq!(registry.params("parent-job")?.get("alpha").map(String::as_str), Some("0.1"));
        assert_eq!(registry.job_tags("parent-job")?.get("owner").map(String::as_str), Some("ci"));
        Ok(())
    }

    #[test]
    fn endpoint_records_move_their_generation_and_deployments_go_with_them() -> TestResult {
        let (_dir, mut registry) = registry()?;
        assert_eq!(registry.put_endpoint("ep", "first")?, 1);
        assert_eq!(registry.put_endpoint("ep", "second")?, 2, "each write moves the generation");
        assert_eq!(registry.endpoint("ep")?, Some(("second".to_string(), 2)));
        assert_eq!(registry.generation("ep")?, Some(2));
        assert_eq!(registry.endpoint_names()?, ["ep"]);
        let generation = registry.modify_endpoint("ep", |text| Ok(format!("{text}+changed")))?;
        assert_eq!((registry.endpoint("ep")?, generation), (Some(("second+changed".to_string(), 3)), 3));
        registry.put_deployment("ep", "blue", "b1")?;
        registry.put_deployment("ep", "green", "g1")?;
        registry.modify_deployment("ep", "blue", |text| Ok(format!("{text}+changed")))?;
        let mut records = registry.deployments("ep")?;
        records.sort();
        assert_eq!(records, ["b1+changed", "g1"]);
        assert!(registry.generation("ep")? > Some(3), "a deployment's change moves its endpoint's generation");
        registry.delete_deployment("ep", "green")?;
        assert_eq!(registry.deployments("ep")?, ["b1+changed"]);
        registry.delete_endpoint("ep")?;
        assert_eq!((registry.endpoint("ep")?, registry.generation("ep")?), (None, None));
        assert!(registry.deployments("ep")?.is_empty(), "an endpoint's deployments go with it");
        assert!(registry.endpoint_names()?.is_empty());
        Ok(())
    }

    #[test]
    fn a_busy_database_is_tried_again_and_any_other_failure_is_not() {
        let busy = || rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None);
        let mut tries = 0;
        let outcome = retry_while_busy(|| {
            tries += 1;
            if tries < 3 { Err(busy()) } else { Ok(()) }
        });
        assert!(outcome.is_ok() && tries == 3, "{outcome:?} after {tries} tries");
        let mut tries = 0;
        let outcome = retry_while_busy(|| {
            tries += 1;
            Err(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT), None))
        });
        assert!(outcome.is_err() && tries == 1, "{outcome:?} after {tries} tries");
    }

    #[test]
    fn writes_are_fsynced_unless_relaxed_for_metrics() -> TestResult {
        let (_dir, mut registry) = registry()?;
        let synchronous =
            |r: &mut Registry| r.connection().pragma_query_value(None, "synchronous", |row| row.get::<_, i64>(0));
        assert_eq!(synchronous(&mut registry)?, 2, "FULL");
        registry.relax_durability()?;
        assert_eq!(synchronous(&mut registry)?, 1, "NORMAL");
        Ok(())
    }
}
