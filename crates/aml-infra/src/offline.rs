//! What is known before any request: the template and parameters checked, the subscription,
//! resource group, deployment and region names against Azure's rules, and — for a resource
//! group that does not exist yet — the resources a deployment would create.

use serde_json::Value;

use aml_client::arm_template::changes::Change;
use aml_client::arm_template::deploy::expand;
use aml_client::arm_template::expr::Deployment;
use aml_client::arm_template::names::{DEPLOYMENT, LOCATION, NameRule, RESOURCE_GROUP};
use aml_client::arm_template::{check, load_parameters, load_template, read_json};
use aml_client::cli::Session;
use aml_client::settings::EnvVars;
use aml_client::{Error, Result};

use crate::cli::{PlanArgs, TargetArgs};

/// A checked template and parameters, and where they go.
pub struct Target {
    pub subscription: String,
    pub template: Value,
    /// The parameters file's `parameters`, as ARM takes them (Key Vault references too).
    pub parameters: Value,
    tenant: String,
}

fn check_name(rule: &NameRule, flag: &str, value: &str) -> Result<()> {
    match rule.problem(value) {
        Some(problem) => Err(Error::usage(format!("{flag} `{value}` {problem}"), rule.describe())),
        None => Ok(()),
    }
}

pub fn check_target(target: &TargetArgs, location: Option<&str>) -> Result<()> {
    check_name(&RESOURCE_GROUP, "--resource-group", &target.resource_group)?;
    check_name(&DEPLOYMENT, "--name", &target.name)?;
    if let Some(location) = location {
        check_name(&LOCATION, "--location", location)?;
    }
    Ok(())
}

/// `--subscription`, else `AZURE_SUBSCRIPTION_ID`: a GUID.
pub fn subscription(target: &TargetArgs, session: &Session) -> Result<String> {
    let given =
        target.subscription.clone().or_else(|| session.settings.get(EnvVars::AZURE_SUBSCRIPTION_ID).map(str::to_owned));
    let Some(id) = given else {
        return Err(Error::usage(
            "no subscription is named",
            "give `--subscription ID` or set AZURE_SUBSCRIPTION_ID (`az account show --query id`)",
        ));
    };
    let groups: Vec<&str> = id.split('-').collect();
    let shape = groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()));
    if !shape {
        return Err(Error::usage(
            format!("subscription `{id}` is not a subscription id"),
            "a subscription id is a GUID, 00000000-0000-0000-0000-000000000000",
        ));
    }
    Ok(id)
}

pub fn checked_target(plan: &PlanArgs, session: &Session) -> Result<Target> {
    let template = load_template(&plan.files.template)?;
    let parameters = load_parameters(&plan.files.parameters)?;
    check(&template, &parameters)?;
    check_target(&plan.target, plan.location.as_deref())?;
    let subscription = subscription(&plan.target, session)?;
    let raw = read_json(&plan.files.parameters)?;
    Ok(Target {
        subscription,
        template: Value::Object(template.json),
        parameters: raw.get("parameters").cloned().unwrap_or_default(),
        tenant: session.settings.get(EnvVars::AZURE_TENANT_ID).unwrap_or_default().to_string(),
    })
}

/// Into a resource group that does not exist, a deployment creates every resource.
pub fn all_created(target: &Target, args: &TargetArgs, location: &str) -> Result<Vec<Change>> {
    let nothing = |_: &str| None;
    let deployment = Deployment {
        subscription_id: target.subscription.clone(),
        tenant_id: target.tenant.clone(),
        resource_group: args.resource_group.clone(),
        location: location.to_string(),
        name: args.name.clone(),
        reference: &nothing,
    };
    let empty = serde_json::Map::new();
    let template = target.template.as_object().unwrap_or(&empty);
    let given = target.parameters.as_object().unwrap_or(&empty);
    let expanded = expand(template, given, &deployment)
        .map_err(|problem| Error::failed(format!("cannot list what the template creates: {problem}"), None))?;
    Ok(expanded
        .resources
        .into_iter()
        .map(|resource| Change { resource_id: resource.id, change_type: "Create".into(), delta: Vec::new() })
        .collect())
}
