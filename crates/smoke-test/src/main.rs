//! `smoke-test`: parse, run, map to an exit code.

fn main() -> std::process::ExitCode {
    let cli = <smoke_test::Cli as clap::Parser>::parse();
    let global = cli.global.clone();
    aml_client::cli::start(&global);
    aml_client::cli::finish(smoke_test::run(cli), &global)
}
