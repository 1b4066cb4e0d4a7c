//! The audit trail and approval requests on Azure ML, which has no table for them: small
//! JSON blobs in the workspace's default datastore under `aml-audit/`. An entry claims its
//! number with a create-only write (`If-None-Match: *`), so numbers stay unique and ordered
//! across machines; a request is closed with a write conditional on the ETag read
//! (`If-Match`), so of several people deciding at once exactly one wins, as locally.

use std::collections::BTreeMap;

use super::blob::Condition;
use super::{AzureWorkspace, Datastore};
use aml_core::approvals::{ApprovalRequest, ApprovalState, AuditEntry, Decided, NewAuditEntry};
use aml_core::error::{Error, Result};

const ENTRIES: &str = "aml-audit/entries/";
const APPROVALS: &str = "aml-audit/approvals/";

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::storage("cannot encode an audit record", e))
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::storage(format!("a stored {what} is unreadable"), e))
}

fn entry_name(id: i64) -> String {
    format!("{ENTRIES}{id:012}.json")
}

fn approval_name(id: &str) -> String {
    format!("{APPROVALS}{id}.json")
}

fn no_request(id: &str) -> Error {
    Error::usage(
        format!("no approval request `{id}` in this workspace"),
        "`approval-gate list` shows the requests; check `--workspace`",
    )
}

impl AzureWorkspace {
    async fn audit_store(&self) -> Result<Datastore> {
        self.datastore("workspaceblobstore").await
    }

    /// Append an entry under the next free number.
    async fn append(&self, store: &Datastore, new: &NewAuditEntry) -> Result<AuditEntry> {
        let taken = store.container.list(ENTRIES).await?;
        let mut id = taken
            .iter()
            .filter_map(|n| n.strip_prefix(ENTRIES)?.strip_suffix(".json")?.parse::<i64>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        loop {
            let entry = new.stamp(id);
            if store.container.put_bytes(&entry_name(id), encode(&entry)?, Condition::Absent).await? {
                return Ok(entry);
            }
            // Another writer took this number first.
            id += 1;
        }
    }

    async fn tag_model(&self, model: Option<&str>, tags: &BTreeMap<String, String>) -> Result<()> {
        if let Some((name, version)) = model.and_then(|m| m.rsplit_once(':'))
            && !tags.is_empty()
        {
            self.change_tags(name, version, tags, &[]).await?;
        }
        Ok(())
    }

    /// Append an entry, then set `tags` on its model version (the decision is kept even if
    /// tagging fails, and the error says so).
    pub async fn record_audit(&mut self, new: &NewAuditEntry, tags: &BTreeMap<String, String>) -> Result<AuditEntry> {
        let store = self.audit_store().await?;
        let entry = self.append(&store, new).await?;
        self.tag_model(new.model.as_deref(), tags).await?;
        Ok(entry)
    }

    /// Entries about a model version or the job it came from, oldest first.
    pub async fn audit(&self, model: Option<&str>, job: Option<&str>) -> Result<Vec<AuditEntry>> {
        let store = self.audit_store().await?;
        let mut entries = Vec::new();
        for name in store.container.list(ENTRIES).await? {
            let Some(bytes) = store.container.read(&name).await? else { continue };
            let entry: AuditEntry = decode(&bytes, "audit entry")?;
            let about_model = model.is_some() && entry.model.as_deref() == model;
            let about_job = job.is_some() && entry.job.as_deref() == job;
            if about_model || about_job {
                entries.push(entry);
            }
        }
        entries.sort_by_key(|e| e.id);
        Ok(entries)
    }

    pub async fn request_approval(&mut self, request: &ApprovalRequest, entry: &NewAuditEntry) -> Result<()> {
        let store = self.audit_store().await?;
        if !store.container.put_bytes(&approval_name(&request.id), encode(request)?, Condition::Absent).await? {
            return Err(Error::usage(
                format!("approval request `{}` exists already", request.id),
                "ask again: a new request gets a new id",
            ));
        }
        self.append(&store, entry).await.map(|_| ())
    }

    pub async fn approval(&self, id: &str) -> Result<ApprovalRequest> {
        let store = self.audit_store().await?;
        let bytes = store.container.read(&approval_name(id)).await?.ok_or_else(|| no_request(id))?;
        decode(&bytes, "approval request")
    }

    /// The newest requests first.
    pub async fn approvals(&self) -> Result<Vec<ApprovalRequest>> {
        let store = self.audit_store().await?;
        let mut requests = Vec::new();
        for name in store.container.list(APPROVALS).await? {
            if let Some(bytes) = store.container.read(&name).await? {
                requests.push(decode::<ApprovalRequest>(&bytes, "approval request")?);
            }
        }
        requests.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
        Ok(requests)
    }

    /// Move a pending request to `state` with a write conditional on what was read; a
    /// writer that loses reads the request again and finds it closed.
    pub async fn close_approval(
        &mut self,
        id: &str,
        state: ApprovalState,
        by: Option<&str>,
        comment: Option<&str>,
        audit: &NewAuditEntry,
        tags: &BTreeMap<String, String>,
    ) -> Result<Decided> {
        let store = self.audit_store().await?;
        loop {
            let (bytes, etag) = store.container.read_tagged(&approval_name(id)).await?.ok_or_else(|| no_request(id))?;
            let mut request: ApprovalRequest = decode(&bytes, "approval request")?;
            if request.state != ApprovalState::Pending {
                return Ok(Decided { request, won: false });
            }
            request.close(state, by, comment);
            if store.container.put_bytes(&approval_name(id), encode(&request)?, Condition::Unchanged(etag)).await? {
                self.append(&store, audit).await?;
                self.tag_model(Some(&request.model), tags).await?;
                return Ok(Decided { request, won: true });
            }
        }
    }
}
