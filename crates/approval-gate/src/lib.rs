//! `approval-gate`: decide promotions with metric gates and manual approvals, and record
//! every decision. `run` is what `main` calls and what the tests call; it returns a report
//! and never exits the process.

mod approvals;
mod check;
mod cli;
pub mod expr;
pub mod output;
mod record;
mod rules;
mod subjects;
pub mod threshold;

use aml_client::cli::Report;
use aml_client::{Access, Error, Result, Workspace};
pub use cli::{Cli, Command};
use output::{History, RequestList, RequestView};

pub fn run(cli: Cli) -> Result<Box<dyn Report>> {
    let workspace = cli.global.workspace.as_str();
    match cli.command {
        Command::Check(args) => Ok(Box::new(check::run(args, workspace)?)),
        Command::Request(args) => {
            Ok(Box::new(RequestView { request: approvals::request(args, workspace)?, waited: false }))
        }
        Command::Approve(args) => {
            Ok(Box::new(RequestView { request: approvals::decide(args, true, workspace)?, waited: false }))
        }
        Command::Reject(args) => {
            Ok(Box::new(RequestView { request: approvals::decide(args, false, workspace)?, waited: false }))
        }
        Command::Wait(args) => Ok(Box::new(RequestView { request: approvals::wait(args, workspace)?, waited: true })),
        Command::Record(args) => Ok(Box::new(output::Recorded(record::record(args, workspace)?))),
        Command::List(args) => {
            let ws = Workspace::open(workspace, Access::Existing)?;
            let mut requests = ws.approvals()?;
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
            let ws = Workspace::open(workspace, Access::Existing)?;
            let entries = match args.subject.strip_prefix("job:") {
                Some(job) => {
                    ws.job(job)?;
                    ws.audit(None, Some(job))?
                }
                None => {
                    let model = ws.model_version(&args.subject.parse()?)?;
                    ws.audit(Some(&model.id()), model.lineage.job.as_deref())?
                }
            };
            Ok(Box::new(History { subject: args.subject, entries }))
        }
    }
}
