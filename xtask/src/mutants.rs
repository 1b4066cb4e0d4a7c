//! `cargo xtask mutants [--ci] [SCOPE…]`: break the modules that hold the invariants on
//! purpose, one small change at a time (cargo-mutants, installed into `target/ci-tools`),
//! and run the tests that should notice. A change no test notices is a survivor; every
//! survivor must be listed in `MUTANTS.md` with the reason it is harmless, else the run
//! fails, so a new hole in the suite shows the day it opens.
//!
//! cargo-mutants edits the files in place (the tests find the venv, Azurite and the test
//! cache through the checkout), restoring each one after its mutant; the files in scope must
//! therefore have no uncommitted change, so an interrupted run leaves a change `git diff`
//! shows and `git checkout` undoes. The tools' binaries are rebuilt from the unmutated tree
//! before and after each scope: other packages' tests run them, and `cargo test -p` does
//! not rebuild them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::setup::{self, root, step};

const CARGO_MUTANTS: &str = "cargo-mutants";
const CARGO_MUTANTS_VERSION: &str = "27.1.0";

/// What the run's verdicts are held to.
const REVIEWED: &str = "MUTANTS.md";

struct Scope {
    name: &'static str,
    /// What it guards, for `--help` and the report.
    guards: &'static str,
    files: &'static [&'static str],
    /// The packages whose tests are run against each mutant.
    packages: &'static [&'static str],
    /// A `cargo test` name filter, where a package's other tests cannot notice.
    filter: Option<&'static str>,
    /// Tests skipped (`cargo test -- --skip`): slow ones whose part that reaches the scope's
    /// files repeats what the kept tests run (the Azure tests' local half, for the local store).
    skip: Option<&'static str>,
    /// Small enough to run in CI on every change.
    in_ci: bool,
    /// Seconds a mutant's tests may take before it counts as caught by a hang: cargo-mutants
    /// would set it from a baseline that runs the mutated package's tests only.
    timeout: u32,
}

const SCOPES: &[Scope] = &[
    Scope {
        name: "hash",
        guards: "the code snapshot's content hash and the object hash, as azure-ai-ml computes them",
        files: &["crates/aml-azure/src/code.rs", "crates/aml-azure/src/hash.rs"],
        packages: &["aml-azure"],
        filter: None,
        skip: None,
        in_ci: true,
        timeout: 120,
    },
    Scope {
        name: "gate",
        guards: "the metric gate's flags and the rules they stand for",
        files: &["crates/approval-gate/src/threshold.rs"],
        packages: &["approval-gate"],
        filter: None,
        skip: None,
        in_ci: true,
        timeout: 120,
    },
    Scope {
        name: "layers",
        guards: "reproducible OCI layers",
        files: &["crates/aml-package/src/layers.rs"],
        packages: &["aml-package"],
        filter: None,
        skip: None,
        in_ci: false,
        timeout: 600,
    },
    Scope {
        name: "blobs",
        guards: "the content-addressed blob store: fsync order, rename into place, sweeping",
        files: &["crates/aml-local/src/blobs.rs"],
        packages: &["aml-local", "aml-register"],
        filter: None,
        skip: Some("azure::"),
        in_ci: false,
        timeout: 900,
    },
    Scope {
        name: "registry",
        guards: "the registry: versions without gaps, one writer, commits after the bytes",
        files: &["crates/aml-local/src/registry.rs"],
        packages: &["aml-local", "aml-register"],
        filter: None,
        skip: Some("azure::"),
        in_ci: false,
        timeout: 900,
    },
    Scope {
        name: "rules",
        guards: "the rule language of gates and rollout analyses",
        files: &["crates/aml-core/src/rules.rs"],
        packages: &["aml-core"],
        filter: None,
        skip: None,
        in_ci: false,
        timeout: 30,
    },
    Scope {
        name: "router",
        guards: "the local endpoint's router: keys, weights, pins, mirrors, limits, restarts",
        files: &["crates/aml-local/src/online/router.rs"],
        packages: &["aml-local"],
        filter: Some("online::router::tests"),
        skip: None,
        in_ci: false,
        timeout: 120,
    },
    Scope {
        name: "upload",
        guards: "blob storage: blocks, Content-MD5, names, listings, conditional writes",
        files: &["crates/aml-azure/src/blob.rs"],
        packages: &["aml-azure"],
        filter: Some("blob::tests"),
        skip: None,
        in_ci: false,
        timeout: 120,
    },
    Scope {
        name: "arm-names",
        guards: "Azure's naming rules held to the infrastructure's resource names before any request",
        files: &["crates/aml-core/src/arm_template/names.rs"],
        packages: &["aml-core"],
        filter: Some("arm_template::"),
        skip: None,
        in_ci: true,
        timeout: 120,
    },
];

pub fn run(args: &[String]) -> Result<(), String> {
    let ci = args.iter().any(|a| a == "--ci");
    let named: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("{}", usage());
        return Ok(());
    }
    let scopes: Vec<&Scope> = match (named.is_empty(), ci) {
        (true, true) => SCOPES.iter().filter(|s| s.in_ci).collect(),
        (true, false) => SCOPES.iter().collect(),
        (false, _) => named
            .iter()
            .map(|n| {
                SCOPES.iter().find(|s| s.name == n.as_str()).ok_or_else(|| format!("no scope `{n}`\n\n{}", usage()))
            })
            .collect::<Result<_, _>>()?,
    };
    let files: Vec<&str> = scopes.iter().flat_map(|s| s.files.iter().copied()).collect();
    refuse_uncommitted(&files)?;
    let tool = ensure_cargo_mutants()?;
    let reviewed = reviewed_survivors(&root().join(REVIEWED))?;

    let mut unexplained = Vec::new();
    let mut report = Vec::new();
    // The tests run other packages' binaries, which `cargo test -p` does not rebuild: they
    // must be the unmutated tree's before a scope starts (and after, not the last mutant's).
    build_binaries()?;
    for scope in scopes {
        step(&format!("mutants: {} ({})", scope.name, scope.guards));
        let out = setup::target_dir().join("mutants").join(scope.name);
        std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
        let mut command = setup::cargo();
        command.env("PATH", path_with(&tool)).args(["mutants", "--in-place", "--no-shuffle", "-o"]).arg(&out);
        for file in scope.files {
            command.args(["-f", file]);
        }
        command.args(["--timeout", &scope.timeout.to_string()]);
        for package in scope.packages {
            command.args(["--test-package", package]);
        }
        // After `--`, cargo-mutants hands the arguments to `cargo test`: a name filter, then
        // after a second `--` what the test binaries read (`--skip`).
        let mut test_args: Vec<&str> = scope.filter.into_iter().collect();
        if let Some(skip) = scope.skip {
            test_args.extend(["--", "--skip", skip]);
        }
        if !test_args.is_empty() {
            command.arg("--").args(test_args);
        }
        // Exit codes say "some missed" or "some timed out"; the lists below are the verdict.
        let status = command.status().map_err(|e| format!("cannot run cargo mutants: {e}"))?;
        build_binaries()?;
        let results = out.join("mutants.out");
        let missed = names(&results.join("missed.txt"));
        let caught = names(&results.join("caught.txt")).len();
        let timeouts = names(&results.join("timeout.txt")).len();
        let unviable = names(&results.join("unviable.txt")).len();
        if caught + timeouts + missed.len() == 0 {
            return Err(format!(
                "cargo mutants tested nothing in scope `{}` ({status}); see {}",
                scope.name,
                results.join("debug.log").display()
            ));
        }
        let score = 100.0 * (caught + timeouts) as f64 / (caught + timeouts + missed.len()) as f64;
        report.push(format!(
            "{:<9} {score:5.1}%  caught {caught}, timed out {timeouts}, missed {}, unviable {unviable}",
            scope.name,
            missed.len()
        ));
        unexplained.extend(missed.into_iter().filter(|m| !reviewed.contains(&stable_name(m))));
    }
    eprintln!("\nmutation score (caught or timed out, of all viable mutants):");
    for line in &report {
        eprintln!("  {line}");
    }
    if unexplained.is_empty() {
        eprintln!("every survivor is reviewed in {REVIEWED}");
        return Ok(());
    }
    Err(format!(
        "{} mutant(s) survived that {REVIEWED} does not explain: add a test that fails on each, or list it there with why it is harmless:\n  {}",
        unexplained.len(),
        unexplained.join("\n  ")
    ))
}

fn build_binaries() -> Result<(), String> {
    setup::step("cargo build --workspace --bins (the unmutated tools)");
    setup::run(setup::cargo().args(["build", "--workspace", "--bins", "--quiet"]))
}

fn usage() -> String {
    let mut text = String::from(
        "usage: cargo xtask mutants [--ci] [SCOPE…]\n\nWith no scope, all of them; --ci, the ones small enough for every change.\n\nscopes:\n",
    );
    for scope in SCOPES {
        let ci = if scope.in_ci { " (ci)" } else { "" };
        text.push_str(&format!("  {:<9} {}{ci}\n", scope.name, scope.guards));
    }
    text
}

fn refuse_uncommitted(files: &[&str]) -> Result<(), String> {
    let output = Command::new("git")
        .current_dir(root())
        .args(["status", "--porcelain", "--"])
        .args(files)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let changed = String::from_utf8_lossy(&output.stdout).trim().to_string();
    match output.status.success() && changed.is_empty() {
        true => Ok(()),
        false if !output.status.success() => {
            Err(format!("git status failed: {}", String::from_utf8_lossy(&output.stderr).trim()))
        }
        false => Err(format!(
            "the mutation check edits these files in place; commit or stash their changes first:\n{changed}"
        )),
    }
}

/// cargo-mutants at the pinned version in `target/ci-tools/cargo-mutants`, built once.
fn ensure_cargo_mutants() -> Result<PathBuf, String> {
    let prefix = setup::target_dir().join("ci-tools").join(CARGO_MUTANTS);
    let bin = prefix.join("bin");
    let stamp = prefix.join(".xtask-version");
    if bin.join(CARGO_MUTANTS).is_file() && std::fs::read_to_string(&stamp).is_ok_and(|v| v == CARGO_MUTANTS_VERSION) {
        return Ok(bin);
    }
    step(&format!("installing {CARGO_MUTANTS} {CARGO_MUTANTS_VERSION} (crates.io)"));
    setup::run(
        setup::cargo()
            .args(["install", "--locked", "--quiet", CARGO_MUTANTS, "--version", CARGO_MUTANTS_VERSION, "--root"])
            .arg(&prefix),
    )?;
    std::fs::write(&stamp, CARGO_MUTANTS_VERSION).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(bin)
}

fn path_with(dir: &Path) -> String {
    match std::env::var("PATH") {
        Ok(path) => format!("{}:{path}", dir.display()),
        Err(_) => dir.display().to_string(),
    }
}

/// The mutants one of cargo-mutants' lists names, one per line.
fn names(list: &Path) -> Vec<String> {
    std::fs::read_to_string(list)
        .map(|text| text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The survivors `MUTANTS.md` explains: each a list item that starts with the mutant's
/// name in backquotes.
fn reviewed_survivors(path: &Path) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|line| line.strip_prefix("- `"))
        .filter_map(|rest| rest.split_once("` ").map(|(name, _)| stable_name(name)))
        .collect())
}

/// A mutant's name without its line and column, which move whenever code above it does:
/// `crates/x/src/a.rs:37:24: replace || with && in f` → `crates/x/src/a.rs: replace || with && in f`.
fn stable_name(name: &str) -> String {
    let Some(at) = name.find(".rs:") else { return name.to_string() };
    let (file, rest) = name.split_at(at + 3);
    let rest = rest.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit());
    format!("{file}: {}", rest.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_without_their_positions() {
        assert_eq!(
            stable_name("crates/a/src/t.rs:37:24: replace || with && in parse_flag"),
            "crates/a/src/t.rs: replace || with && in parse_flag"
        );
        assert_eq!(stable_name("crates/a/src/t.rs: replace x"), "crates/a/src/t.rs: replace x");
    }

    #[test]
    fn every_scope_names_files_that_exist() {
        for scope in SCOPES {
            for file in scope.files {
                assert!(root().join(file).is_file(), "scope {}: {file} does not exist", scope.name);
            }
        }
    }
}
