//! What every `promote` checks first: that `--to` names another workspace.

use aml_client::cli::Session;
use aml_client::{Error, Result, Workspace};

/// `--to` names a workspace other than the one `source` is.
pub async fn check(source: &Workspace, to: &str, what: &str, session: &Session) -> Result<()> {
    if to.trim().is_empty() {
        return Err(Error::usage(
            "`--to` names no workspace",
            "give the workspace to promote to: `--to local:DIR` or `--to azureml://…`",
        ));
    }
    let target = Workspace::open_if_exists(to, &session.settings).await?.map(|w| w.location());
    if target.as_deref() == Some(source.location().as_str()) {
        return Err(Error::usage(
            format!("`--to {to}` is the workspace the {what} is in"),
            "name another workspace: `--to local:DIR` or `--to azureml://…`",
        ));
    }
    Ok(())
}
