//! `smoke-test`: parse, run on the one runtime, map to an exit code.

fn main() -> std::process::ExitCode {
    let cli = <smoke_test::Cli as clap::Parser>::parse();
    aml_client::cli::main(cli.global.clone(), |session| smoke_test::run(cli, session))
}
