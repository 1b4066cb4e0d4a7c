//! Job environments as cached virtualenvs, keyed by the interpreter and the package list,
//! so an environment is built once and every later job with the same packages reuses it.
//! Built in place under a file lock (virtualenvs cannot be moved once built), with `uv`
//! when it is on PATH and `python -m venv` + pip otherwise; a marker file written last
//! says the build finished.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aml_core::digest::Digest;
use aml_core::error::{Error, IoContext, Result};
use aml_core::jobplan::{EnvPlan, Plan};
use aml_core::process::{Cancellation, ChildSpec, Outcome, run_child, tail};
use aml_core::settings::{EnvVars, Settings};

/// The interpreter a step runs with.
#[derive(Debug, Clone)]
pub struct Interpreter {
    pub python: PathBuf,
    /// The virtualenv, when packages were installed.
    pub venv: Option<PathBuf>,
    /// The cached environment a job's own layer (`venv`) sits on, whose programs it also runs.
    pub beneath: Option<PathBuf>,
    pub description: String,
}

/// The base interpreter: `AML_PYTHON`, else `python3` on PATH.
pub fn base_python(settings: &Settings) -> Result<PathBuf> {
    if let Some(python) = settings.get(EnvVars::AML_PYTHON) {
        return Ok(PathBuf::from(python));
    }
    settings.find_on_path("python3").or_else(|| settings.find_on_path("python")).ok_or_else(|| {
        Error::failed(
            "no Python interpreter found to run the job",
            Some("install Python 3 and put `python3` on PATH, or set AML_PYTHON to an interpreter".into()),
        )
    })
}

pub async fn ensure(plan: &EnvPlan, cancel: &mut Cancellation, echo: bool, settings: &Settings) -> Result<Interpreter> {
    // `Plan::check_runs_locally` refuses these before anything is written; never a silent
    // base interpreter in their place.
    if let Some(blocker) = plan.blocker(Path::new("the job"), "environment") {
        return Err(Error::usage(blocker.problem, blocker.hint));
    }
    let EnvPlan::Packages { packages, python: pin, described_by, python_required } = plan else {
        let base = base_python(settings)?;
        return Ok(Interpreter {
            python: base.clone(),
            venv: None,
            beneath: None,
            description: format!("base interpreter `{}`", base.display()),
        });
    };
    let (base, version) = match pin {
        Some(pin) if *python_required => interpreter_for(pin, settings)
            .map_err(|(problem, hint)| Error::usage(format!("`{}` {problem}", described_by.display()), hint))?,
        _ => {
            let base = base_python(settings)?;
            let version = python_version(&base).await?;
            (base, version)
        }
    };
    if packages.is_empty() {
        return Ok(Interpreter {
            python: base.clone(),
            venv: None,
            beneath: None,
            description: format!("base interpreter `{}` (no packages listed)", base.display()),
        });
    }
    if let Some(pin) = pin
        && !is_version(&version, pin)
    {
        aml_core::status!(
            "warning: `{}` asks for python {pin}; running with {version} (`{}`), the interpreter available here",
            described_by.display(),
            base.display()
        );
    }
    let real_base = fs::canonicalize(&base).unwrap_or_else(|_| base.clone());
    let key_text = format!("aml-env-v2\n{}\n{version}\n{}\n", real_base.display(), packages.join("\n"));
    let key = Digest::of_bytes(key_text.as_bytes()).hex()[..16].to_string();
    let root = settings.cache_dir().join("envs");
    let dir = root.join(&key);
    let marker = dir.join(".aml-ready");
    let python = dir.join("bin").join("python");
    let described =
        format!("virtualenv `{}` ({} packages from `{}`)", dir.display(), packages.len(), described_by.display());
    if marker.is_file() {
        return Ok(Interpreter { python, venv: Some(dir), beneath: None, description: described });
    }

    fs::create_dir_all(&root).with_path("cannot create the environment cache", &root)?;
    let lock_path = root.join(format!("{key}.lock"));
    let lock = File::create(&lock_path).with_path("cannot create", &lock_path)?;
    acquire(&lock, cancel).await?;
    if marker.is_file() {
        return Ok(Interpreter { python, venv: Some(dir), beneath: None, description: described });
    }
    if dir.exists() {
        // A build that was killed half way; start it again.
        fs::remove_dir_all(&dir).with_path("cannot remove the unfinished environment", &dir)?;
    }
    let requirements = root.join(format!("{key}.requirements.txt"));
    fs::write(&requirements, format!("{}\n", packages.join("\n"))).with_path("cannot write", &requirements)?;
    let log = root.join(format!("{key}.log"));
    let _ = fs::remove_file(&log);
    aml_core::status!("building environment {key} from `{}` (once; later jobs reuse it)", described_by.display());

    let steps: Vec<(PathBuf, Vec<String>)> = match settings.find_on_path("uv") {
        Some(uv) => vec![
            (
                uv.clone(),
                vec![
                    "venv".into(),
                    "--quiet".into(),
                    // pip in the environment, as `python -m venv` and Azure ML's conda
                    // environments have it: a job's `pip install` goes to its own Python.
                    "--seed".into(),
                    "--python".into(),
                    base.display().to_string(),
                    dir.display().to_string(),
                ],
            ),
            (
                uv,
                vec![
                    "pip".into(),
                    "install".into(),
                    "--python".into(),
                    python.display().to_string(),
                    "-r".into(),
                    requirements.display().to_string(),
                ],
            ),
        ],
        None => vec![
            (base.clone(), vec!["-m".into(), "venv".into(), dir.display().to_string()]),
            (
                python.clone(),
                vec![
                    "-m".into(),
                    "pip".into(),
                    "install".into(),
                    "--disable-pip-version-check".into(),
                    "-r".into(),
                    requirements.display().to_string(),
                ],
            ),
        ],
    };
    for (program, args) in steps {
        let outcome = run_child(
            ChildSpec {
                program: program.clone(),
                args,
                cwd: root.clone(),
                env: Vec::new(),
                log: log.clone(),
                prefix: "[environment] ".into(),
                echo,
                timeout: None,
            },
            cancel,
        )
        .await?;
        match outcome {
            Outcome::Exited(Some(0)) => {}
            Outcome::Canceled => return Err(Error::failed("canceled while building the environment", None)),
            _ => {
                return Err(Error::failed(
                    format!("building the environment from `{}` failed:\n{}", described_by.display(), tail(&log, 15)),
                    Some(format!(
                        "fix the package list in `{}`; the full log is `{}`",
                        described_by.display(),
                        log.display()
                    )),
                ));
            }
        }
    }
    fs::write(&marker, key_text).with_path("cannot write", &marker)?;
    Ok(Interpreter { python, venv: Some(dir), beneath: None, description: described })
}

/// A job's own layer over a cached environment: a virtualenv in the job's folder that sees
/// the cached one's packages (a `.pth` line adding its site-packages, theirs processed too)
/// and has a `pip` of its own, so what the job's command installs goes into the job's folder,
/// as into a fresh container on Azure ML, never into the environment later jobs share.
pub async fn job_layer(shared: Interpreter, job_dir: &Path) -> Result<Interpreter> {
    let Some(cached) = shared.venv.clone() else { return Ok(shared) };
    let layer = job_dir.join("env");
    let made = tokio::process::Command::new(&shared.python)
        .args(["-m", "venv", "--without-pip"])
        .arg(&layer)
        .output()
        .await
        .map_err(|e| Error::failed(format!("cannot make the job's environment layer: {e}"), None))?;
    if !made.status.success() {
        return Err(Error::failed(
            format!(
                "cannot make the job's environment layer `{}`: {}",
                layer.display(),
                String::from_utf8_lossy(&made.stderr).trim()
            ),
            None,
        ));
    }
    let (Some(own), Some(beneath)) = (site_packages(&layer), site_packages(&cached)) else {
        return Err(Error::failed(format!("`{}` has no site-packages folder", layer.display()), None));
    };
    let pth = own.join("aml-environment.pth");
    let line = format!("import site; site.addsitedir({:?})\n", beneath.display().to_string());
    fs::write(&pth, line).with_path("cannot write", &pth)?;
    if beneath.join("pip").is_dir() {
        use std::os::unix::fs::PermissionsExt;
        let python = layer.join("bin").join("python");
        for name in ["pip", "pip3"] {
            let script = layer.join("bin").join(name);
            let text = format!(
                "#!{}\nimport sys\nfrom pip._internal.cli.main import main\nsys.exit(main())\n",
                python.display()
            );
            fs::write(&script, text).with_path("cannot write", &script)?;
            fs::set_permissions(&script, fs::Permissions::from_mode(0o755))
                .with_path("cannot make runnable", &script)?;
        }
    }
    Ok(Interpreter {
        python: layer.join("bin").join("python"),
        venv: Some(layer),
        beneath: Some(cached),
        description: format!("{} under the job's own layer", shared.description),
    })
}

/// A virtualenv's `lib/pythonX.Y/site-packages`.
fn site_packages(venv: &Path) -> Option<PathBuf> {
    fs::read_dir(venv.join("lib"))
        .ok()?
        .flatten()
        .map(|entry| entry.path().join("site-packages"))
        .find(|candidate| candidate.is_dir())
}

/// Refuse, before anything is written, a job whose environment was built for a Python this
/// machine does not have (one of Azure ML's own environments, `EnvPlan::Packages::python_required`).
pub fn check_interpreters(plan: &Plan, settings: &Settings) -> Result<()> {
    for step in &plan.steps {
        let field = match &step.step {
            Some(name) => format!("jobs.{name}.environment"),
            None => "environment".to_string(),
        };
        check_interpreter(&step.environment, &plan.file, &field, settings)?;
    }
    Ok(())
}

/// The same for one environment, the `field` of `file`.
pub fn check_interpreter(environment: &EnvPlan, file: &Path, field: &str, settings: &Settings) -> Result<()> {
    if let EnvPlan::Packages { python: Some(pin), python_required: true, described_by, .. } = environment {
        interpreter_for(pin, settings).map_err(|(problem, hint)| {
            Error::in_file(file, Some(field), format!("`{}` {problem}", described_by.display()), hint)
        })?;
    }
    Ok(())
}

/// The interpreter of Python `pin` (`3.10`): `AML_PYTHON`, then `python3.10` on PATH, then
/// the Pythons pyenv and uv installed (which PATH shows only one of, or none), then `python3`
/// and `python` on PATH, the first of that version; else what to say (problem, hint).
fn interpreter_for(pin: &str, settings: &Settings) -> std::result::Result<(PathBuf, String), (String, String)> {
    let pin = pin.trim_end_matches(".*").trim_end_matches('*');
    let mut candidates: Vec<PathBuf> = settings.get(EnvVars::AML_PYTHON).map(PathBuf::from).into_iter().collect();
    candidates.extend(settings.find_on_path(&format!("python{pin}")));
    if pin.contains('.') {
        candidates.extend(installed_pythons(pin, settings));
    }
    candidates.extend(["python3", "python"].iter().filter_map(|p| settings.find_on_path(p)));
    let mut found = Vec::new();
    for candidate in candidates {
        let version = std::process::Command::new(&candidate)
            .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        match version {
            Some(version) if is_version(&version, pin) => return Ok((candidate, version)),
            Some(version) => found.push(format!("`{}` is {version}", candidate.display())),
            None => found.push(format!("`{}` does not run", candidate.display())),
        }
    }
    let found = if found.is_empty() { "no Python on PATH".to_string() } else { found.join(", ") };
    Err((
        format!("is built for Python {pin}, and there is no Python {pin} here ({found})"),
        format!(
            "install Python {pin} (as `python{pin}` on PATH, or with `pyenv install {pin}` or `uv python install {pin}`) or set AML_PYTHON to it; or run the job on Azure ML (`--workspace azureml://…`), which runs the environment's own image"
        ),
    ))
}

/// Pythons of version `pin` installed by pyenv (`$PYENV_ROOT/versions/3.10.13/bin/python3.10`)
/// and uv (`$UV_PYTHON_INSTALL_DIR/cpython-3.10.13-linux-x86_64-gnu/bin/python3.10`), newest
/// patch release first. Only folder names are matched, never a path built from the pin.
fn installed_pythons(pin: &str, settings: &Settings) -> Vec<PathBuf> {
    let home = settings.get(EnvVars::HOME).map(PathBuf::from);
    let pyenv = settings
        .get(EnvVars::PYENV_ROOT)
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".pyenv")))
        .map(|root| (root.join("versions"), ""));
    let uv = settings
        .get(EnvVars::UV_PYTHON_INSTALL_DIR)
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".local/share/uv/python")))
        .map(|root| (root, "cpython-"));
    let mut found = Vec::new();
    for (root, prefix) in [pyenv, uv].into_iter().flatten() {
        let Ok(entries) = fs::read_dir(&root) else { continue };
        let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let version = name.strip_prefix(prefix)?.split('-').next()?.to_string();
                if !is_version(&version, pin) {
                    return None;
                }
                let numbers = version.split('.').map(|n| n.parse().ok()).collect::<Option<Vec<u32>>>()?;
                let python = entry.path().join("bin").join(format!("python{}.{}", numbers.first()?, numbers.get(1)?));
                python.is_file().then_some((numbers, python))
            })
            .collect();
        versions.sort_by(|a, b| b.0.cmp(&a.0));
        found.extend(versions.into_iter().map(|(_, python)| python));
    }
    found
}

/// Whether `version` (`3.10.12`) is of `pin` (`3`, `3.10`, `3.10.12`).
fn is_version(version: &str, pin: &str) -> bool {
    let pin = pin.trim_end_matches(".*").trim_end_matches('*');
    version == pin || version.strip_prefix(pin).is_some_and(|rest| rest.starts_with('.'))
}

async fn python_version(python: &Path) -> Result<String> {
    let output = tokio::process::Command::new(python)
        .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
        .output()
        .await
        .map_err(|e| {
            Error::failed(
                format!("cannot run `{}`: {e}", python.display()),
                Some("set AML_PYTHON to a working Python 3".into()),
            )
        })?;
    if !output.status.success() {
        return Err(Error::failed(
            format!("`{}` does not run", python.display()),
            Some("set AML_PYTHON to a working Python 3".into()),
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Take the build lock, checking for cancellation while another process holds it.
async fn acquire(lock: &File, cancel: &mut Cancellation) -> Result<()> {
    let mut told = false;
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::storage("cannot lock the environment cache", e)),
        }
        if cancel.requested() {
            return Err(Error::failed("canceled while waiting for the environment", None));
        }
        if !told {
            aml_core::status!("waiting for another process building the same environment");
            told = true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python_at(root: &Path, folder: &str, minor: &str) -> PathBuf {
        let bin = root.join(folder).join("bin");
        fs::create_dir_all(&bin).unwrap();
        let python = bin.join(format!("python{minor}"));
        fs::write(&python, "").unwrap();
        python
    }

    #[test]
    fn pythons_installed_by_pyenv_and_uv_are_found_newest_first_and_only_of_the_version_asked() {
        let dir = tempfile::tempdir().unwrap();
        let pyenv = dir.path().join("pyenv");
        let uv = dir.path().join("uv");
        let older = python_at(&pyenv.join("versions"), "3.10.4", "3.10");
        let newer = python_at(&pyenv.join("versions"), "3.10.13", "3.10");
        python_at(&pyenv.join("versions"), "3.1.5", "3.1");
        python_at(&pyenv.join("versions"), "3.11.7", "3.11");
        python_at(&pyenv.join("versions"), "pypy3.10-7.3.12", "3.10");
        let managed = python_at(&uv, "cpython-3.10.16-linux-x86_64-gnu", "3.10");
        let settings = Settings::from_vars([
            ("PYENV_ROOT", pyenv.display().to_string()),
            ("UV_PYTHON_INSTALL_DIR", uv.display().to_string()),
        ]);
        assert_eq!(installed_pythons("3.10", &settings), [newer, older, managed]);
        assert_eq!(installed_pythons("3.12", &settings), Vec::<PathBuf>::new());
        // Neither root: nothing, not an error.
        assert!(installed_pythons("3.10", &Settings::from_vars([])).is_empty());
    }
}
