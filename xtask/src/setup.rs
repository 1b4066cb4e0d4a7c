//! Installing what the tests and the demo need, idempotently: a Python venv in `.venv`
//! (ignored by git) with the packages in `xtask/requirements-test.txt`.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

pub fn step(what: &str) {
    eprintln!("==> {what}");
}

pub fn run(command: &mut Command) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{command:?} failed ({status})")) }
}

pub fn venv() -> PathBuf {
    root().join(".venv")
}

/// Create `.venv` and install the test requirements, unless the same list is installed.
pub fn ensure_venv() -> Result<PathBuf, String> {
    let venv = venv();
    let requirements = root().join("xtask").join("requirements-test.txt");
    let wanted = std::fs::read_to_string(&requirements).map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let stamp = venv.join(".xtask-requirements");
    let python = venv.join("bin").join("python");
    if python.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|have| have == wanted) {
        return Ok(venv);
    }
    step(&format!("installing the test venv in {}", venv.display()));
    if !python.is_file() {
        let base = std::env::var("AML_PYTHON").unwrap_or_else(|_| "python3".into());
        run(Command::new(&base).args(["-m", "venv"]).arg(&venv))?;
    }
    // uv first (with pip, once), then everything else with uv: much faster than pip.
    let uv = venv.join("bin").join("uv");
    if !uv.is_file() {
        let pin = wanted.lines().find(|l| l.starts_with("uv==")).unwrap_or("uv");
        run(Command::new(&python).args(["-m", "pip", "install", "--quiet", pin]))?;
    }
    run(Command::new(&uv).args(["pip", "install", "--quiet", "--python"]).arg(&python).arg("-r").arg(&requirements))?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(venv)
}

/// PATH with the venv's bin folder last: its `uv` is found, the system `python3` still wins.
pub fn path_with_venv() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{path}:{}", venv().join("bin").display())
}
