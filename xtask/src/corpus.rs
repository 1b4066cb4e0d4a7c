//! `cargo xtask vendor-corpus CHECKOUT`: copy the public `az ml` files of Azure/azureml-examples'
//! `cli/` folder (a git checkout of it) into `crates/aml-train/tests/corpus/azureml-examples/`,
//! the corpus the fidelity test holds us to against azure-ai-ml. Files are copied as they are;
//! one over 200 KB (data, model weights) or missing from the checkout becomes a one-line stand-in
//! saying so, under the same name, so every path a YAML file names still exists. Never edit
//! the vendored files: vendor them again.

use std::path::Path;
use std::process::Command;

use crate::setup::{root, step};

const LARGEST: u64 = 200_000;

/// `git -C CHECKOUT ARGS…`'s output, or what git said.
pub fn git_in(checkout: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out =
        Command::new("git").arg("-C").arg(checkout).args(args).output().map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(out.stdout)
}

pub fn vendor(checkout: &Path) -> Result<(), String> {
    let git = |args: &[&str]| git_in(checkout, args);
    let commit = String::from_utf8_lossy(&git(&["rev-parse", "HEAD"])?).trim().to_string();
    let into = root().join("crates/aml-train/tests/corpus/azureml-examples");
    step(&format!("vendoring Azure/azureml-examples@{} cli/ into {}", &commit[..7], into.display()));
    if into.exists() {
        std::fs::remove_dir_all(&into).map_err(|e| format!("cannot clear {}: {e}", into.display()))?;
    }
    let listing = String::from_utf8_lossy(&git(&["ls-tree", "-r", "-l", "HEAD", "cli"])?).into_owned();
    let (mut copied, mut stand_ins) = (0, 0);
    for line in listing.lines() {
        let Some((meta, path)) = line.split_once('\t') else { continue };
        let fields: Vec<&str> = meta.split_whitespace().collect();
        let [_, kind, object, size] = fields[..] else { continue };
        let target = into.join(path);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let bytes = match (kind, size.parse::<u64>()) {
            ("blob", Ok(size)) if size <= LARGEST => git(&["cat-file", "blob", object]).ok(),
            _ => None,
        };
        let bytes = match bytes {
            Some(bytes) => {
                copied += 1;
                bytes
            }
            None => {
                stand_ins += 1;
                format!(
                    "stand-in: {size} bytes at Azure/azureml-examples@{}, left out (large, or not in the checkout)\n",
                    &commit[..7]
                )
                .into_bytes()
            }
        };
        std::fs::write(&target, bytes).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    }
    let licence = git(&["show", "HEAD:LICENSE"])?;
    std::fs::write(into.join("LICENSE"), licence).map_err(|e| format!("cannot write the licence: {e}"))?;
    let readme = format!(
        "Azure/azureml-examples `cli/` at commit {commit}, MIT licence (LICENSE), vendored by\n\
         `cargo xtask vendor-corpus CHECKOUT`: {copied} files as they are, {stand_ins} over {LARGEST} bytes\n\
         (or not in the checkout) as one-line stand-ins under the same names. Not to be edited:\n\
         vendor again instead.\n"
    );
    std::fs::write(into.join("README.md"), readme).map_err(|e| format!("cannot write the readme: {e}"))?;
    eprintln!("{copied} files copied, {stand_ins} stand-ins");
    Ok(())
}
