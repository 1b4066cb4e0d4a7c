//! The registry's rows for batch endpoints and deployments: one JSON record each.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::registry::{Registry, sql};
use aml_core::error::{Error, Result};

impl Registry {
    pub fn batch_endpoint(&self, name: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT record FROM batch_endpoints WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(sql)
    }

    pub fn batch_endpoint_names(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT name FROM batch_endpoints ORDER BY name").map_err(sql)?;
        stmt.query_map([], |r| r.get(0)).map_err(sql)?.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    /// Create a batch endpoint's row, unless an online endpoint has its name: on Azure ML
    /// both kinds share one name space (the name is the scoring URI's host).
    pub fn insert_batch_endpoint(&mut self, name: &str, record: &str) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let online: Option<i64> =
            tx.query_row("SELECT 1 FROM endpoints WHERE name = ?1", [name], |r| r.get(0)).optional().map_err(sql)?;
        if online.is_some() {
            return Err(Error::usage(
                format!("`{name}` is an online endpoint of this workspace"),
                "give the batch endpoint another name: online and batch endpoints share one set of names",
            ));
        }
        tx.execute("INSERT INTO batch_endpoints (name, record) VALUES (?1, ?2)", params![name, record]).map_err(sql)?;
        tx.commit().map_err(sql)
    }

    pub fn update_batch_endpoint(&self, name: &str, record: &str) -> Result<()> {
        self.conn
            .execute("UPDATE batch_endpoints SET record = ?2 WHERE name = ?1", params![name, record])
            .map_err(sql)
            .map(drop)
    }

    pub fn batch_deployments(&self, endpoint: &str) -> Result<Vec<String>> {
        let mut stmt =
            self.conn.prepare("SELECT record FROM batch_deployments WHERE endpoint = ?1 ORDER BY name").map_err(sql)?;
        stmt.query_map([endpoint], |r| r.get(0)).map_err(sql)?.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    pub fn put_batch_deployment(&self, endpoint: &str, name: &str, record: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO batch_deployments (endpoint, name, record) VALUES (?1, ?2, ?3)
                 ON CONFLICT (endpoint, name) DO UPDATE SET record = excluded.record",
                params![endpoint, name, record],
            )
            .map_err(sql)
            .map(drop)
    }

    pub fn delete_batch_deployment(&self, endpoint: &str, name: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM batch_deployments WHERE endpoint = ?1 AND name = ?2", params![endpoint, name])
            .map_err(sql)
            .map(drop)
    }

    pub fn delete_batch_endpoint(&self, name: &str) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(sql)?;
        tx.execute("DELETE FROM batch_deployments WHERE endpoint = ?1", [name]).map_err(sql)?;
        tx.execute("DELETE FROM batch_endpoints WHERE name = ?1", [name]).map_err(sql)?;
        tx.commit().map_err(sql)
    }
}
