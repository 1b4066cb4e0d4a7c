//! Where a workspace is, as `az ml` users write it (`local`, `local:DIR`,
//! `azureml://subscriptions/S/resourceGroups/G/workspaces/W`), and whether opening it may
//! create it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceLocation {
    /// A folder holding `registry.db`, `blobs/` and `jobs/`.
    Local(PathBuf),
    Azure {
        subscription: String,
        resource_group: String,
        workspace: String,
    },
}

impl FromStr for WorkspaceLocation {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() || text == "local" {
            return Ok(WorkspaceLocation::Local(PathBuf::from(".aml")));
        }
        if let Some(dir) = text.strip_prefix("local:") {
            if dir.is_empty() {
                return Err(Error::usage(
                    "`--workspace local:` names no folder",
                    "write `local:path/to/workspace`, or `local` for ./.aml",
                ));
            }
            return Ok(WorkspaceLocation::Local(PathBuf::from(dir)));
        }
        if let Some(rest) = text.strip_prefix("azureml://") {
            let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
            if let [
                "subscriptions",
                subscription,
                "resourceGroups" | "resourcegroups",
                resource_group,
                "workspaces",
                workspace,
            ] = parts.as_slice()
            {
                return Ok(WorkspaceLocation::Azure {
                    subscription: (*subscription).into(),
                    resource_group: (*resource_group).into(),
                    workspace: (*workspace).into(),
                });
            }
        }
        Err(Error::usage(
            format!("`{text}` is not a workspace"),
            "use `local`, `local:DIR`, or `azureml://subscriptions/S/resourceGroups/G/workspaces/W` (flag `--workspace` or AML_WORKSPACE)",
        ))
    }
}

impl fmt::Display for WorkspaceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkspaceLocation::Local(dir) => write!(f, "local:{}", dir.display()),
            WorkspaceLocation::Azure { subscription, resource_group, workspace } => {
                write!(
                    f,
                    "azureml://subscriptions/{subscription}/resourceGroups/{resource_group}/workspaces/{workspace}"
                )
            }
        }
    }
}

/// Whether opening may create a workspace that is not there yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reading commands: a missing workspace is bad input.
    Existing,
    /// Writing commands create a local workspace on first use.
    CreateIfMissing,
}
