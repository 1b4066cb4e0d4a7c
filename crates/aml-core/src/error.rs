//! One error type for every tool, so that exit codes are decided in one place.
//!
//! Exit codes (README, PRODUCT.md): 0 success; 1 the thing checked failed;
//! 2 bad input, nothing written; 3 service, storage, auth or network failure.

use std::fmt;
use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user must change a file, flag or value. Nothing was written.
    #[error("{0}")]
    BadInput(Box<BadInput>),
    /// The thing checked failed: a job failed, data broke its contract.
    #[error("{message}")]
    Failed { message: String, hint: Option<String> },
    /// The workspace's storage or a service could not do what was asked.
    #[error("{message}")]
    Service {
        message: String,
        hint: Option<String>,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// Where bad input was found and how to fix it.
#[derive(Debug, Default, Clone)]
pub struct BadInput {
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub field: Option<String>,
    pub problem: String,
    pub hint: Option<String>,
}

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(column) = self.column {
                    write!(f, ":{column}")?;
                }
            }
            write!(f, ": ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.problem)
    }
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Failed { .. } => 1,
            Error::BadInput(_) => 2,
            Error::Service { .. } => 3,
        }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::BadInput(b) => b.hint.as_deref(),
            Error::Failed { hint, .. } | Error::Service { hint, .. } => hint.as_deref(),
        }
    }

    /// Bad input with no file: a flag or argument.
    pub fn usage(problem: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::BadInput(Box::new(BadInput { problem: problem.into(), hint: Some(hint.into()), ..Default::default() }))
    }

    /// Bad input found in a file, optionally in one field of it.
    pub fn in_file(file: &Path, field: Option<&str>, problem: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::BadInput(Box::new(BadInput {
            file: Some(file.to_path_buf()),
            field: field.map(str::to_owned),
            problem: problem.into(),
            hint: Some(hint.into()),
            ..Default::default()
        }))
    }

    /// Bad input said of a file's field (a name rule broken by a value read from it); any
    /// other error as it is.
    pub fn in_field(self, file: &Path, field: &str) -> Self {
        match self {
            Error::BadInput(bad) => Error::in_file(file, Some(field), bad.problem, bad.hint.unwrap_or_default()),
            other => other,
        }
    }

    pub fn failed(message: impl Into<String>, hint: Option<String>) -> Self {
        Error::Failed { message: message.into(), hint }
    }

    /// The workspace's own storage failed (disk full, permissions, corrupt database).
    pub fn storage(context: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        let source: Box<dyn std::error::Error + Send + Sync> = Box::new(source);
        let full = source.downcast_ref::<std::io::Error>().is_some_and(is_disk_full);
        let (message, hint) = match full {
            true => (format!("{}: no space left on device", context.into()), Some(DISK_FULL_HINT.to_string())),
            false => (context.into(), None),
        };
        Error::Service { message, hint, source: Some(source) }
    }

    /// A write that failed because the disk (or the user's quota) is full.
    pub fn disk_full(context: impl Into<String>) -> Self {
        Error::Service {
            message: format!("{}: no space left on device", context.into()),
            hint: Some(DISK_FULL_HINT.to_string()),
            source: None,
        }
    }

    pub fn service(message: impl Into<String>, hint: Option<String>) -> Self {
        Error::Service { message: message.into(), hint, source: None }
    }

    pub fn bad_input(&self) -> Option<&BadInput> {
        match self {
            Error::BadInput(b) => Some(b),
            _ => None,
        }
    }
}

const DISK_FULL_HINT: &str = "free space on that disk (`df -h` shows how much is left), then run the command again; what was there before is unchanged";

/// ENOSPC or EDQUOT: the disk, or the user's share of it, is full.
pub fn is_disk_full(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::StorageFull || matches!(error.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

/// Attach a path to an I/O error; the workspace's own files failing is a storage failure.
pub trait IoContext<T> {
    fn with_path(self, what: &str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn with_path(self, what: &str, path: &Path) -> Result<T> {
        self.map_err(|e| Error::storage(format!("{what} `{}`", path.display()), e))
    }
}
