//! `cargo xtask dist`: the release archive the CI setup templates install,
//! `aml-tools-VERSION-x86_64-unknown-linux-gnu.tar.gz` (the six binaries at its top level)
//! under `target/dist/vVERSION/`, with its SHA-256 beside it, as the templates expect it at
//! `BASE_URL/vVERSION/…`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::setup::{self, root, step};

pub const TOOLS: [&str; 7] =
    ["aml-train", "aml-register", "aml-package", "aml-deploy", "approval-gate", "smoke-test", "aml-infra"];

/// The workspace's version, from the root Cargo.toml.
pub fn version() -> Result<String, String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).map_err(|e| e.to_string())?;
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \"").and_then(|rest| rest.strip_suffix('"')))
        .map(str::to_owned)
        .ok_or_else(|| "no `version = \"…\"` in Cargo.toml".into())
}

/// Pack the binaries in `bin` into `out/vVERSION/`; returns the archive and its SHA-256.
pub fn archive(bin: &Path, out: &Path) -> Result<(PathBuf, String), String> {
    let version = version()?;
    let dir = out.join(format!("v{version}"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let archive = dir.join(format!("aml-tools-{version}-x86_64-unknown-linux-gnu.tar.gz"));
    // Fixed owner and time, so the same binaries give the same archive.
    setup::run(
        Command::new("tar")
            .args(["--create", "--gzip", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "--file"])
            .arg(&archive)
            .arg("--directory")
            .arg(bin)
            .args(TOOLS),
    )?;
    let out = Command::new("sha256sum").arg(&archive).output().map_err(|e| e.to_string())?;
    let sha = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string();
    std::fs::write(
        archive.with_extension("gz.sha256"),
        format!("{sha}  {}\n", archive.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()),
    )
    .map_err(|e| e.to_string())?;
    Ok((archive, sha))
}

pub fn run() -> Result<(), String> {
    step("building the tools (release profile)");
    setup::run(setup::cargo().args(["build", "--release", "--quiet", "--bins"]))?;
    let (archive, sha) =
        archive(&crate::setup::target_dir().join("release"), &crate::setup::target_dir().join("dist"))?;
    eprintln!(
        "{}\nsha256 {sha}\nupload it as a release asset under vVERSION/; pass the SHA-256 to the setup template",
        archive.display()
    );
    Ok(())
}
