//! `aml-package`: Build the serving image (OCI) for a registered model, without a Docker daemon.
//!
//! Not built yet: this binary only explains what is coming, so that templates and
//! scripts can already refer to it. It does nothing else, and says so.

/// Build the serving image (OCI) for a registered model, without a Docker daemon
///
/// Not available yet. Coming: `aml-package image --model NAME:VERSION --environment CONDA.yml
/// --code DIR --scoring-script score.py --to oci:DIR | REGISTRY/REPO:TAG`, building a
/// reproducible OCI image (base + Python dependencies + code + model layers) that runs the
/// Azure ML inference server, and recording its digest on the model version.
#[derive(clap::Parser)]
#[command(name = "aml-package", version, arg_required_else_help = true, max_term_width = 100)]
struct Cli {}

fn main() {
    // With no arguments clap prints this help and exits 2: nothing can run yet.
    let _ = <Cli as clap::Parser>::parse();
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
