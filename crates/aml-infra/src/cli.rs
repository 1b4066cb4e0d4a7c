//! Command-line types for `aml-infra`; the doc comments are the help text.

use std::path::PathBuf;

use aml_client::cli::GlobalArgs;
use clap::{Args, Parser, Subcommand};

/// The workspaces' infrastructure from ARM templates, checked before Azure sees them
///
/// Reads an ARM template (`infra/deploy.json`) and a parameters file per environment
/// (`infra/config/deploy.parameters.dev.json`). Deploying is Azure Resource Manager's own
/// engine; what this tool adds is everything that can be known before a request: the JSON,
/// the parameters against the template's declarations, and every resource name against
/// Azure's rule for its type, each problem named by file and parameter.
///
/// Exit codes: 0 success; 2 bad input (the file, field and fix are named), nothing sent.
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

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
