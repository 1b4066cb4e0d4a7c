//! `aml-deploy`: parse, run on the one runtime, map to an exit code.

fn main() -> std::process::ExitCode {
    let cli = <aml_deploy::Cli as clap::Parser>::parse();
    aml_client::cli::main(cli.global.clone(), |session| aml_deploy::run(cli, session))
}
