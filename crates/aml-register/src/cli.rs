//! Command-line types for `aml-register`; the doc comments are the help text.

use std::path::PathBuf;

use aml_client::cli::GlobalArgs;
use aml_client::yaml::SetArg;
use aml_client::yaml::model::ModelType;
use clap::{Args, Parser, Subcommand};

/// Version models: register, list, show, tag, download
///
/// A model version is a file or folder with a name, a version, a digest of its
/// content, tags, the metrics of the job that made it, and its lineage (job, git
/// commit, data digests, who and when). Registering bytes that are already
/// registered under the name returns the existing version.
///
/// References: `diabetes:3`, `azureml:diabetes:3`, `diabetes@latest`,
/// `diabetes@stage=production` (the one version carrying that tag).
///
/// Exit codes: 0 success; 2 bad input (flags, YAML, a missing model or job), nothing
/// written; 3 storage or service failure.
#[derive(Debug, Parser)]
#[command(name = "aml-register", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register a model version from a job's output, a path, or a model YAML file
    ///
    /// Examples:
    ///
    ///   aml-register model --name diabetes --job JOB --output-name model --tag stage=candidate
    ///   aml-register model -f model.yml --job JOB
    ///   aml-register model --name diabetes --path ./model
    #[command(verbatim_doc_comment)]
    Model(ModelArgs),
    /// List a model's versions, newest first (or the newest version of every model)
    List(ListArgs),
    /// Show one model version
    Show(ShowArgs),
    /// Set or remove tags on a model version
    Tag(TagArgs),
    /// Copy a model version's files into a folder, checking every byte against its digest
    Download(DownloadArgs),
    /// Copy a model version to another workspace (dev → qa → prod), with its metrics,
    /// lineage and tags; the copy has the same digest
    ///
    /// Example:
    ///
    ///   aml-register promote diabetes:7 --to local:/srv/aml-prod --tag stage=production
    #[command(verbatim_doc_comment)]
    Promote(PromoteArgs),
    /// Register, list and show environments: what jobs and deployments name as
    /// `azureml:NAME@latest` or `azureml:NAME:VERSION`
    ///
    /// A version freezes what the file says when it is registered: its image, and the
    /// packages of its conda file and their Python. Registering the same environment again
    /// returns the version it already is; a changed one is the next version.
    ///
    /// Examples:
    ///
    ///   aml-register environment -f environment/train.yml
    ///   aml-register environment -f env.yml --name team-sklearn --version 2
    ///   aml-register environment list [NAME]
    ///   aml-register environment show team-sklearn@latest
    #[command(verbatim_doc_comment)]
    Environment(AssetArgs),
    /// Register, list and show data assets: what job inputs name as `azureml:NAME@latest`
    /// or `azureml:NAME:VERSION`
    ///
    /// A local file or folder is copied into the workspace when it is registered, so a
    /// version keeps what it held then; a path elsewhere (`https://…`,
    /// `azureml://datastores/…`) is kept as written. The same content again returns the
    /// version it already is.
    ///
    /// Examples:
    ///
    ///   aml-register data -f data/train.yml
    ///   aml-register data -f data.yml --name diabetes-train --set path=./data/2026-12
    ///   aml-register data list [NAME]
    ///   aml-register data show diabetes-train@latest
    #[command(verbatim_doc_comment)]
    Data(AssetArgs),
    /// Register, list and show command components: what pipeline steps name as
    /// `component: azureml:NAME@latest` or `azureml:NAME:VERSION`
    ///
    /// A version freezes the component file, its code folder's files (as `.amlignore` /
    /// `.gitignore` select them) and its conda file's packages as they are when registered;
    /// the same again returns the version it already is.
    ///
    /// Examples:
    ///
    ///   aml-register component -f components/train.yml
    ///   aml-register component list [NAME]
    ///   aml-register component show train_linear_model@latest
    #[command(verbatim_doc_comment)]
    Component(AssetArgs),
}

/// `aml-register environment|data`: register from a file, or `list` / `show`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AssetArgs {
    #[command(subcommand)]
    pub action: Option<AssetAction>,
    /// The asset's YAML file, as `az ml environment|data create --file` reads; flags override
    /// its fields
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The asset's name (checked against Azure ML's rule for its kind)
    #[arg(long, short = 'n')]
    pub name: Option<String>,
    /// An explicit version; by default the next free number
    #[arg(long, value_parser = aml_client::names::version_arg)]
    pub version: Option<String>,
    /// Override a field of the YAML file, e.g. `--set description=…`
    #[arg(long = "set", value_name = "FIELD=VALUE", requires = "file")]
    pub sets: Vec<SetArg>,
}

#[derive(Debug, Subcommand)]
pub enum AssetAction {
    /// An asset's versions, newest first (without a name, the newest version of each)
    List { name: Option<String> },
    /// One version: `NAME`, `NAME:VERSION` or `NAME@latest`
    Show { reference: String },
    /// Copy a version to another workspace (dev → qa → prod): the same content, so the
    /// same digest; the next free version there, or the version that already holds it
    Promote {
        /// `NAME:VERSION` or `NAME@latest`
        reference: String,
        /// The workspace to copy to: `local:DIR` or `azureml://…`
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    /// A model YAML file, as `az ml model create --file` reads; flags override its fields
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The model's name
    #[arg(long, short = 'n', value_parser = aml_client::names::model_arg)]
    pub name: Option<String>,
    /// An explicit version; by default the next free number
    #[arg(long, value_parser = aml_client::names::version_arg)]
    pub version: Option<String>,
    /// A local file or folder to register
    #[arg(long, short = 'p', conflicts_with = "job")]
    pub path: Option<PathBuf>,
    /// Register an output of this job (its metrics and lineage come along)
    #[arg(long, value_parser = aml_client::names::job_arg)]
    pub job: Option<String>,
    /// Which output of `--job`; defaults to its only output, or `model`
    #[arg(long, requires = "job")]
    pub output_name: Option<String>,
    /// The model's type
    #[arg(long = "type", value_enum)]
    pub kind: Option<ModelType>,
    /// A description of the version
    #[arg(long)]
    pub description: Option<String>,
    /// A tag, `key=value` (repeatable)
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// A property, `key=value` (repeatable)
    #[arg(long = "property", value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
    /// Override a field of the YAML file, e.g. `--set path=azureml://jobs/JOB/outputs/model`
    #[arg(long = "set", value_name = "FIELD=VALUE", requires = "file")]
    pub sets: Vec<SetArg>,
    /// Store a new version even when these exact bytes are already registered under the name
    #[arg(long)]
    pub force_new: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// A model's name; without it, the newest version of every model
    #[arg(value_parser = aml_client::names::model_arg)]
    pub name: Option<String>,
    /// How many versions to list, newest first
    #[arg(long, short = 'r', default_value_t = 100, conflicts_with = "all")]
    pub max_results: u64,
    /// List every version
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// `NAME:VERSION`, `NAME@latest` or `NAME@TAG=VALUE`
    pub model: String,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    /// `NAME:VERSION`, `NAME@latest` or `NAME@TAG=VALUE`
    pub model: String,
    /// Tags to set, `key=value`
    #[arg(value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// A tag to remove (repeatable)
    #[arg(long, value_name = "KEY", value_parser = aml_client::names::tag_key_arg)]
    pub remove: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// `NAME:VERSION`, `NAME@latest` or `NAME@TAG=VALUE`
    pub model: String,
    /// The folder to write the files into (created; existing files are never overwritten)
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The version to copy, in `--workspace`: `NAME:VERSION`, `NAME@latest` or `NAME@TAG=VALUE`
    pub model: String,
    /// The workspace to copy it to: `local:DIR` (created if missing) or `azureml://…`
    #[arg(long, value_name = "WORKSPACE")]
    pub to: String,
    /// A tag to set on the copy, `key=value` (repeatable; the source's tags come along)
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
