//! `approval-gate`: parse, run, map to an exit code.

fn main() -> std::process::ExitCode {
    let cli = <approval_gate::Cli as clap::Parser>::parse();
    let global = cli.global.clone();
    aml_client::cli::start(&global);
    aml_client::cli::finish(approval_gate::run(cli), &global)
}
