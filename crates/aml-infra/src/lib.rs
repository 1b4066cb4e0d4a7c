//! `aml-infra`: the dev, QA and prod workspaces' infrastructure from ARM templates. `run` is
//! what `main` calls and what the tests call; it returns a report and never exits the process.

mod cli;
mod offline;
pub mod output;

use std::time::Duration;

use aml_client::Result;
use aml_client::arm_template::{check, load_parameters, load_template};
use aml_client::cli::{Report, Session};
use aml_client::infra::{Request, ResourceGroup};
use cli::{ChangeKind, PlanArgs, TargetArgs};
pub use cli::{Cli, Command};
use offline::{Target, checked_target};

pub async fn run(cli: Cli, session: Session) -> Result<Box<dyn Report>> {
    match cli.command {
        Command::Validate(args) => {
            let template = load_template(&args.template)?;
            let parameters = load_parameters(&args.parameters)?;
            let checked = check(&template, &parameters)?;
            Ok(Box::new(output::Validated {
                template: args.template.display().to_string(),
                parameters_file: args.parameters.display().to_string(),
                checked,
            }))
        }
        Command::WhatIf(args) => {
            let target = checked_target(&args.plan, &session)?;
            let group =
                ResourceGroup::connect(&target.subscription, &args.plan.target.resource_group, &session.settings)?;
            let request = request(&args.plan, &target);
            let (changes, note) = match group.location().await? {
                Some(_) => (group.what_if(&args.plan.target.name, &request).await?, None),
                None => {
                    let location = args.plan.location.clone().unwrap_or_else(|| "westeurope".into());
                    (
                        offline::all_created(&target, &args.plan.target, &location)?,
                        Some(format!(
                            "resource group `{}` does not exist yet: every resource is a create",
                            args.plan.target.resource_group
                        )),
                    )
                }
            };
            Ok(Box::new(output::WhatIf::new(&args.plan, changes, note, &args.fail_on)))
        }
        Command::Deploy(args) => {
            deploy(&args.plan, Duration::from_secs(args.timeout.saturating_mul(60)), &session).await
        }
        Command::Outputs(args) => {
            let subscription = offline::subscription(&args, &session)?;
            offline::check_target(&args, None)?;
            let group = ResourceGroup::connect(&subscription, &args.resource_group, &session.settings)?;
            let outputs = group.outputs(&args.name).await?;
            Ok(Box::new(output::Deployed::new(&args, outputs)))
        }
    }
}

fn request<'a>(plan: &'a PlanArgs, target: &'a Target) -> Request<'a> {
    Request {
        template: &target.template,
        parameters: &target.parameters,
        mode: plan.mode.arm(),
        file: &plan.files.template,
    }
}

async fn deploy(plan: &PlanArgs, timeout: Duration, session: &Session) -> Result<Box<dyn Report>> {
    let target = checked_target(plan, session)?;
    let TargetArgs { resource_group, name, .. } = &plan.target;
    let group = ResourceGroup::connect(&target.subscription, resource_group, &session.settings)?;
    if group.location().await?.is_none() {
        let Some(location) = &plan.location else {
            return Err(aml_client::Error::usage(
                format!("resource group `{resource_group}` does not exist"),
                "give `--location REGION` to create it, or name a group that exists",
            ));
        };
        aml_client::status!("creating resource group `{resource_group}` in {location}");
        group.create(location).await?;
    }
    let request = request(plan, &target);
    let validated = group.validate(name, &request).await?;
    aml_client::status!(
        "deploying `{name}` into `{resource_group}` ({} resources, {})",
        validated.len(),
        plan.mode.arm().to_lowercase()
    );
    let outputs = group
        .deploy(name, &request, timeout, &mut |operation| {
            let error = operation.error.as_ref().map(|e| format!(": {}: {}", e.code, e.message)).unwrap_or_default();
            aml_client::status!(
                "  {:<10} {} `{}`{error}",
                operation.state,
                operation.resource_type,
                operation.resource_name
            );
        })
        .await?;
    Ok(Box::new(output::Deployed::new(&plan.target, outputs)))
}

impl ChangeKind {
    pub fn arm(self) -> &'static str {
        match self {
            ChangeKind::Create => "Create",
            ChangeKind::Modify => "Modify",
            ChangeKind::Delete => "Delete",
        }
    }
}
