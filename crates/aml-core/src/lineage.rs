//! Where things came from: the git commit of the code, and who ran it from which CI run.

use std::path::Path;
use std::process::Command;

use crate::model::GitInfo;

/// The commit checked out in the repository holding `dir`, and whether it had local changes.
/// Falls back to the commit the CI names (`Ci::commit`) when `git` is absent (a shallow or
/// exported checkout).
pub fn git_info(dir: &Path, ci: &crate::ci::Ci) -> Option<GitInfo> {
    let run = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if let Some(commit) = run(&["rev-parse", "HEAD"]).filter(|c| c.len() == 40) {
        let dirty = run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        return Some(GitInfo { commit, dirty });
    }
    ci.commit.clone().map(|commit| GitInfo { commit, dirty: false })
}
