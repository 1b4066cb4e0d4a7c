//! Command-line types for `aml-infra`; the doc comments are the help text.

use std::path::PathBuf;

use aml_client::cli::GlobalArgs;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The workspaces' infrastructure from ARM templates, checked before Azure sees them
///
/// Reads an ARM template (`infra/deploy.json`) and a parameters file per environment
/// (`infra/config/deploy.parameters.dev.json`). Deploying is Azure Resource Manager's own
/// engine, reached over its Deployments API with the identity the other tools use (no `az`,
/// no Python). What this tool adds is everything that can be known before a request — the
/// JSON, the parameters against the template's declarations, every resource name against
/// Azure's rule for its type — and, after, what ARM hides: each resource's progress, and on
/// failure the failing resource with its own error.
///
/// Exit codes: 0 success; 1 the deployment failed, or what-if found a change `--fail-on`
/// lists; 2 bad input (the file, field and fix are named), nothing sent; 3 Azure could not
/// be reached or refused the identity.
#[derive(Debug, Parser)]
#[command(name = "aml-infra", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a template and its parameters file without any request
    ///
    /// Unknown, missing and ill-typed parameters, `allowedValues`, length and value bounds,
    /// and the name of every resource the template writes or computes from its parameters
    /// (a storage account's 3–24 lowercase letters and digits, a key vault's 3–24, a
    /// registry's 5–50 letters and digits, …; `uniqueString()` counted as its 13 characters).
    ///
    /// Example:
    ///   aml-infra validate infra/deploy.json --parameters infra/config/deploy.parameters.prod.json
    #[command(verbatim_doc_comment)]
    Validate(TemplateArgs),
    /// Say what a deployment would change, resource by resource, without changing anything
    ///
    /// ARM's what-if: each resource is a create, a modify (with each property's before and
    /// after), a delete (complete mode), no change, or ignored. Printed as a table, as JSON
    /// (`-o json`) and in CI as the run's summary. `--fail-on delete,modify` exits 1 when a
    /// change of those kinds is found: a pull request's guard. A resource group that does not
    /// exist yet means every resource is a create.
    ///
    /// Example:
    ///   aml-infra what-if infra/deploy.json -p infra/config/deploy.parameters.qa.json \
    ///       --resource-group rg-mlops-qa --fail-on delete
    #[command(verbatim_doc_comment)]
    WhatIf(WhatIfArgs),
    /// Deploy the template into a resource group and follow it to the end
    ///
    /// Checks as `validate` does, creates the resource group when `--location` is given and
    /// it does not exist, asks ARM to validate, then deploys (incremental by default: what
    /// the template does not name is left alone) and prints each resource's progress. A
    /// second run with the same files changes nothing. On failure: the first failing
    /// resource, its error code and message (exit 1); resources already made stay, and
    /// running again resumes. The outputs are printed and, in CI, become output variables
    /// (`workspace` is ready for `AML_WORKSPACE`).
    ///
    /// Example:
    ///   aml-infra deploy infra/deploy.json -p infra/config/deploy.parameters.dev.json \
    ///       --resource-group rg-mlops-dev --location westeurope
    #[command(verbatim_doc_comment)]
    Deploy(DeployArgs),
    /// Print a finished deployment's outputs (and publish them as CI output variables)
    ///
    /// Example:
    ///   aml-infra outputs --resource-group rg-mlops-dev
    #[command(verbatim_doc_comment)]
    Outputs(TargetArgs),
}

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// The ARM template (JSON)
    #[arg(value_name = "TEMPLATE")]
    pub template: PathBuf,
    /// The parameters file (`deploymentParameters.json`)
    #[arg(long, short = 'p', value_name = "FILE")]
    pub parameters: PathBuf,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The resource group deployed into
    #[arg(long, short = 'g', value_name = "GROUP")]
    pub resource_group: String,
    /// The subscription id [default: AZURE_SUBSCRIPTION_ID]
    #[arg(long, value_name = "ID")]
    pub subscription: Option<String>,
    /// The deployment's name in the resource group's history
    #[arg(long, default_value = "aml-infra", value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Create and update what the template names; leave the rest alone
    Incremental,
    /// Also delete what the resource group holds and the template does not name
    Complete,
}

impl Mode {
    pub fn arm(self) -> &'static str {
        match self {
            Mode::Incremental => "Incremental",
            Mode::Complete => "Complete",
        }
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub files: TemplateArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// The resource group's region: where a missing group is created (`deploy`), what
    /// `resourceGroup().location` is before it exists (`what-if`)
    #[arg(long, short = 'l', value_name = "REGION")]
    pub location: Option<String>,
    /// How ARM treats what the template does not name
    #[arg(long, value_enum, default_value_t = Mode::Incremental)]
    pub mode: Mode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChangeKind {
    Create,
    Modify,
    Delete,
}

#[derive(Debug, Args)]
pub struct WhatIfArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Exit 1 when a change of these kinds is found (comma-separated)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KINDS")]
    pub fail_on: Vec<ChangeKind>,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// The longest the deployment is followed, in minutes (it goes on in Azure after)
    #[arg(long, default_value_t = 60, value_name = "MINUTES")]
    pub timeout: u64,
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
