//! `approval-gate`: parse, run on the one runtime, map to an exit code.

fn main() -> std::process::ExitCode {
    let cli = <approval_gate::Cli as clap::Parser>::parse();
    aml_client::cli::main(cli.global.clone(), |session| approval_gate::run(cli, session))
}
