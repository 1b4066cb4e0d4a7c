//! One writer per endpoint. Every command that changes an endpoint (apply, traffic, delete,
//! a rollout's steps) and the router when it restarts a server hold the endpoint's lock
//! while they decide, start processes and record them; so two applies of one deployment
//! cannot both start a server, a reaper never mistakes a server being started for an orphan,
//! and a traffic change is checked against the split it expects with nobody in between.
//!
//! The lock is an advisory lock on a file (`endpoints/.locks/<name>`): the kernel releases it
//! when its holder dies, `kill -9` included, so a crash never leaves an endpoint locked.

use std::fs::File;
use std::path::{Path, PathBuf};

use aml_core::error::{Error, IoContext, Result};
use aml_core::names::EndpointName;

/// An endpoint's lock, held until dropped.
#[derive(Debug)]
pub struct EndpointLock {
    _file: File,
}

fn lock_path(endpoints_dir: &Path, endpoint: &EndpointName) -> PathBuf {
    endpoints_dir.join(".locks").join(endpoint)
}

impl EndpointLock {
    /// Wait for the lock, saying so when another command holds it.
    pub async fn acquire(endpoints_dir: &Path, endpoint: &EndpointName) -> Result<EndpointLock> {
        let file = open(endpoints_dir, endpoint)?;
        match file.try_lock() {
            Ok(()) => return Ok(EndpointLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::storage("cannot lock the endpoint", e)),
        }
        aml_core::status!("waiting for another command that is changing endpoint {endpoint}…");
        let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .map_err(|e| Error::storage("cannot lock the endpoint", std::io::Error::other(e.to_string())))?
            .map_err(|e| Error::storage("cannot lock the endpoint", e))?;
        Ok(EndpointLock { _file: file })
    }

    /// The lock if nobody holds it now (the router's supervisor tries again later).
    pub fn try_acquire(endpoints_dir: &Path, endpoint: &EndpointName) -> Result<Option<EndpointLock>> {
        let file = open(endpoints_dir, endpoint)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(EndpointLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::storage("cannot lock the endpoint", e)),
        }
    }
}

fn open(endpoints_dir: &Path, endpoint: &EndpointName) -> Result<File> {
    let path = lock_path(endpoints_dir, endpoint);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_path("cannot create", dir)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_path("cannot open the endpoint's lock", &path)
}
