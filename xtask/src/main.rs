//! Project automation: `cargo xtask demo | test | bench | check-templates | mutants`. Only the standard library, so it
//! compiles in seconds; every tool it needs it installs or builds itself.

mod assets_index;
mod bench;
mod bench_blob;
mod bench_serve;
mod chaos;
mod corpus;
mod demo;
mod dist;
mod measure;
mod mutants;
mod setup;
mod templates;
#[cfg(test)]
mod tidy;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(),
        Some("test") => test(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("check-templates") => templates::run(),
        Some("dist") => dist::run(),
        Some("setup") => set_up(),
        Some("chaos") => chaos::run(),
        Some("mutants") => mutants::run(&args[1..]),
        Some("assets-index") => match args.get(1) {
            Some(checkout) => assets_index::generate(std::path::Path::new(checkout)),
            None => Err("usage: cargo xtask assets-index CHECKOUT (a git checkout of Azure/azureml-assets)".into()),
        },
        Some("vendor-corpus") => match args.get(1) {
            Some(checkout) => corpus::vendor(std::path::Path::new(checkout)),
            None => Err("usage: cargo xtask vendor-corpus CHECKOUT (a git checkout of Azure/azureml-examples)".into()),
        },
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n  demo    validate, train and register the diabetes example on a local workspace\n  test    install what the tests need (idempotent), then run every test\n  bench   measure against the peer tools and write BENCHMARKS.md\n  check-templates  validate templates/ and recipes/ (schemas, linters, references, flags, outputs)\n  dist    build the release archive the CI setup templates install\n  setup   only install what the tests need (venv, Debian packages, base image, npm tools, oracle schemas)\n  chaos   only the crash-and-race suite (kill -9 at seeded moments, racing writers; AML_CHAOS_SEED replays)\n  mutants [--ci] [SCOPE…]  break the invariants' modules on purpose and check the tests notice (survivors reviewed in MUTANTS.md)\n  vendor-corpus CHECKOUT  copy Azure/azureml-examples' cli/ into the fidelity test's corpus\n  assets-index CHECKOUT   index Azure/azureml-assets' environments for the local backend"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Everything the tests need, installed idempotently: the venv, the Debian packages, the
/// base image, the npm tools (Azurite, the linters) and the emulator's oracle schemas.
fn set_up() -> Result<(), String> {
    setup::ensure_venv()?;
    setup::ensure_debian_packages(&[])?;
    setup::ensure_base_image()?;
    templates::ensure_npm_tools()?;
    setup::ensure_oracle_schema()
}

/// The format and lint gates, first: a file rustfmt would rewrite or a lint clippy
/// reports fails the run before anything is installed.
fn gates() -> Result<(), String> {
    setup::step("cargo fmt --all --check");
    setup::run(setup::cargo().args(["fmt", "--all", "--check"]))?;
    setup::step("cargo clippy --workspace --all-targets -- -D warnings");
    setup::run(setup::cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
}

/// Install what the tests need, then run them all. Extra arguments go to `cargo test`.
fn test(extra: &[String]) -> Result<(), String> {
    gates()?;
    set_up()?;
    setup::step("cargo test --workspace");
    let mut command = setup::cargo();
    command.args(["test", "--workspace", "--all-targets"]);
    command.args(extra);
    setup::run(&mut command)?;
    chaos::run()?;
    templates::run()
}
