//! `approval-gate`: decide promotions with metric gates and manual approvals, and record
//! every decision. `run` is what `main` calls and what the tests call; it returns a report
//! and never exits the process.

mod approvals;
mod check;
mod cli;
/// The rule language lives in the library, shared with `aml-deploy rollout --analysis`.
pub use aml_client::rules as expr;
pub mod output;
mod record;
mod rules;
mod subjects;
pub mod threshold;

use aml_client::cli::{Report, Session};
use aml_client::{Access, Error, Result, Workspace};
pub use cli::{Cli, Command};
use output::{History, RequestList, RequestView};

pub async fn run(cli: Cli, session: Session) -> Result<Box<dyn Report>> {
    let workspace = cli.global.workspace.as_str();
    match cli.command {
        Command::Check(args) => Ok(Box::new(check::run(args, workspace, &session).await?)),
        Command::Request(args) => {
            Ok(Box::new(RequestView { request: approvals::request(args, workspace, &session).await?, waited: false }))
        }
        Command::Approve(args) => Ok(Box::new(RequestView {
            request: approvals::decide(args, true, workspace, &session).await?,
            waited: false,
        })),
        Command::Reject(args) => Ok(Box::new(RequestView {
            request: approvals::decide(args, false, workspace, &session).await?,
            waited: false,
        })),
        Command::Wait(args) => {
            Ok(Box::new(RequestView { request: approvals::wait(args, workspace, &session).await?, waited: true }))
        }
        Command::Record(args) => Ok(Box::new(output::Recorded(record::record(args, workspace, &session).await?))),
        Command::List(args) => {
            let ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
            let mut requests = ws.approvals().await?;
            if let Some(state) = &args.state {
                const STATES: [&str; 4] = ["pending", "approved", "rejected", "expired"];
                if !STATES.contains(&state.as_str()) {
                    return Err(Error::usage(
                        format!("`--state {state}` is not a state"),
                        format!("states: {}", STATES.join(", ")),
                    ));
                }
                requests.retain(|r| r.state.to_string() == *state);
            }
            Ok(Box::new(RequestList(requests)))
        }
        Command::History(args) => {
            let ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
            let entries = match args.subject.strip_prefix("job:") {
                Some(job) => {
                    ws.job(job).await?;
                    ws.audit(None, Some(job)).await?
                }
                None => {
                    let model = ws.model_version(&args.subject.parse()?).await?;
                    ws.audit(Some(&model.id()), model.lineage.job.as_deref()).await?
                }
            };
            Ok(Box::new(History { subject: args.subject, entries }))
        }
    }
}
