//! Command-line types for `aml-package`; the doc comments are the help text.

use std::path::PathBuf;

use aml_client::cli::GlobalArgs;
use clap::{Args, Parser, Subcommand};

/// Build the serving image (OCI) for a registered model, without a Docker daemon
///
/// The image is a base with Python, plus three layers of ours: the Python dependencies
/// (resolved for the base's platform, with the Azure ML inference server), your scoring
/// code, and the model's files. Layers are reproducible (same inputs, same digests, on any
/// machine) and cached, so packaging again what did not change takes no time. The image's
/// digest is recorded on the model version.
///
/// Exit codes: 0 success; 2 bad input (a missing model, file or base), nothing written;
/// 3 storage, registry or network failure.
#[derive(Debug, Parser)]
#[command(name = "aml-package", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the serving image of a model version
    ///
    /// Example:
    ///   aml-package image --model diabetes:3 --environment environment/score.yml \
    ///     --code src --scoring-script score.py --base oci:build/base:bookworm --to oci:build/image
    #[command(verbatim_doc_comment)]
    Image(ImageArgs),
    /// Import a root file system tarball (e.g. from mmdebstrap) as a base image
    Base(BaseArgs),
}

#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The model version: `diabetes:3`, `diabetes@latest`, `diabetes@stage=production`
    #[arg(long)]
    pub model: String,
    /// The Python dependencies: a conda file or a requirements.txt (it must install
    /// `azureml-inference-server-http`)
    #[arg(long, value_name = "FILE")]
    pub environment: PathBuf,
    /// The folder with the scoring script and what it imports
    #[arg(long, value_name = "DIR")]
    pub code: PathBuf,
    /// The scoring script (`init()` and `run()`), relative to `--code`
    #[arg(long, value_name = "FILE", default_value = "score.py")]
    pub scoring_script: String,
    /// The base image: `oci:DIR[:TAG|@DIGEST]` or `REGISTRY/REPOSITORY:TAG` (with Python 3)
    #[arg(long, value_name = "IMAGE")]
    pub base: String,
    /// Where the image goes: `oci:DIR[:TAG]`, or `REGISTRY/REPOSITORY:TAG` to push it
    ///
    /// A registry on this machine (127.0.0.1, localhost) is reached over plain HTTP; any
    /// other (`myacr.azurecr.io`) over HTTPS with a registry token exchanged for the Azure
    /// identity (`--auth`): no `docker login`, no stored password.
    #[arg(long, value_name = "IMAGE")]
    pub to: String,
    /// The Python of the base, when it cannot be read from it (`3.11`)
    #[arg(long)]
    pub python_version: Option<String>,
    /// The platform dependencies are resolved for (`x86_64-manylinux_2_36`); read from the base's C library by default
    #[arg(long)]
    pub python_platform: Option<String>,
    /// Do not echo the dependency resolver's output
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct BaseArgs {
    /// A tar of a root file system, e.g. `mmdebstrap --variant=apt --include=python3 bookworm base.tar`
    #[arg(long, value_name = "FILE")]
    pub rootfs_tar: PathBuf,
    /// The OCI layout to write: `oci:DIR[:TAG]`
    #[arg(long, value_name = "IMAGE")]
    pub to: String,
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
