//! The audit trail and approval requests in the local registry. An entry and the tags it
//! sets on a model version commit together; closing a request is one conditional update,
//! so of two people deciding at once exactly one wins, on one machine or on several
//! sharing the workspace folder.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::registry::{Registry, change_tags, json};
use aml_core::approvals::{ApprovalRequest, ApprovalState, AuditEntry, Decided, NewAuditEntry};
use aml_core::error::{Error, Result};

fn insert(tx: &rusqlite::Transaction, new: &NewAuditEntry) -> Result<AuditEntry> {
    let id: i64 =
        tx.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM audit", [], |r| r.get(0)).map_err(crate::registry::sql)?;
    let entry = new.stamp(id);
    tx.execute(
        "INSERT INTO audit (id, kind, model, job, request, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![entry.id, entry.kind, entry.model, entry.job, entry.request, json(&entry)?],
    )
    .map_err(crate::registry::sql)?;
    Ok(entry)
}

fn tag_model(tx: &rusqlite::Transaction, model: Option<&str>, tags: &BTreeMap<String, String>) -> Result<()> {
    if let Some((name, version)) = model.and_then(|m| m.rsplit_once(':'))
        && !tags.is_empty()
    {
        change_tags(tx, name, version, tags, &[])?;
    }
    Ok(())
}

fn decode<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::storage(format!("a stored {what} is unreadable"), e))
}

impl Registry {
    /// Append an entry and set `tags` on its model version, in one transaction.
    pub fn record_audit(&mut self, new: &NewAuditEntry, tags: &BTreeMap<String, String>) -> Result<AuditEntry> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(crate::registry::sql)?;
        let entry = insert(&tx, new)?;
        tag_model(&tx, new.model.as_deref(), tags)?;
        tx.commit().map_err(crate::registry::sql)?;
        Ok(entry)
    }

    /// Entries about a model version or the job it came from, oldest first.
    pub fn audit(&self, model: Option<&str>, job: Option<&str>) -> Result<Vec<AuditEntry>> {
        let mut statement = self
            .conn
            .prepare("SELECT record FROM audit WHERE model = ?1 OR job = ?2 ORDER BY id")
            .map_err(crate::registry::sql)?;
        let rows = statement.query_map(params![model, job], |r| r.get::<_, String>(0)).map_err(crate::registry::sql)?;
        rows.map(|text| decode(&text.map_err(crate::registry::sql)?, "audit entry")).collect()
    }

    pub fn insert_approval(&mut self, request: &ApprovalRequest, audit: &NewAuditEntry) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(crate::registry::sql)?;
        tx.execute("INSERT INTO approval_requests (id, record) VALUES (?1, ?2)", params![request.id, json(request)?])
            .map_err(crate::registry::sql)?;
        insert(&tx, audit)?;
        tx.commit().map_err(crate::registry::sql)?;
        Ok(())
    }

    pub fn approval(&self, id: &str) -> Result<Option<ApprovalRequest>> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT record FROM approval_requests WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(crate::registry::sql)?;
        text.map(|t| decode(&t, "approval request")).transpose()
    }

    /// The newest requests first.
    pub fn approvals(&self) -> Result<Vec<ApprovalRequest>> {
        let mut statement = self
            .conn
            .prepare("SELECT record FROM approval_requests ORDER BY rowid DESC")
            .map_err(crate::registry::sql)?;
        let rows = statement.query_map([], |r| r.get::<_, String>(0)).map_err(crate::registry::sql)?;
        rows.map(|text| decode(&text.map_err(crate::registry::sql)?, "approval request")).collect()
    }

    /// Move a pending request to `state`, with its audit entry and tags, if it is still
    /// pending; otherwise leave it and say who closed it first.
    pub fn close_approval(
        &mut self,
        id: &str,
        state: ApprovalState,
        by: Option<&str>,
        comment: Option<&str>,
        audit: &NewAuditEntry,
        tags: &BTreeMap<String, String>,
    ) -> Result<Decided> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(crate::registry::sql)?;
        let text: String = tx
            .query_row("SELECT record FROM approval_requests WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(crate::registry::sql)?
            .ok_or_else(|| {
                Error::usage(
                    format!("no approval request `{id}` in this workspace"),
                    "`approval-gate list` shows the requests",
                )
            })?;
        let mut request: ApprovalRequest = decode(&text, "approval request")?;
        if request.state != ApprovalState::Pending {
            return Ok(Decided { request, won: false });
        }
        request.close(state, by, comment);
        tx.execute("UPDATE approval_requests SET record = ?2 WHERE id = ?1", params![id, json(&request)?])
            .map_err(crate::registry::sql)?;
        insert(&tx, audit)?;
        tag_model(&tx, Some(&request.model), tags)?;
        tx.commit().map_err(crate::registry::sql)?;
        Ok(Decided { request, won: true })
    }
}
