//! `aml-infra`: parse, run on the one runtime, map to an exit code.

fn main() -> std::process::ExitCode {
    let cli = <aml_infra::Cli as clap::Parser>::parse();
    aml_client::cli::main(cli.global.clone(), |session| aml_infra::run(cli, session))
}
