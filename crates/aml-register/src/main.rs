//! `aml-register`: parse, run, map to an exit code.

fn main() -> std::process::ExitCode {
    let cli = <aml_register::Cli as clap::Parser>::parse();
    let global = cli.global.clone();
    aml_client::cli::start(&global);
    aml_client::cli::finish(aml_register::run(cli), &global)
}
