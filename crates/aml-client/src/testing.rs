//! Test support for the tools' integration tests: a fresh temp folder and workspace per
//! test, the real binaries run with a hermetic environment (no CI variables leak in from
//! the machine running the tests), and output rendered for `insta` snapshots.

// Test support: a panic here is a test failing, with the message saying why.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// A binary of the workspace, found next to the test's own executable's target folder.
/// `cargo test --workspace` builds every binary before running any test.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile> folder");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "`{}` is not built; run the tests with `cargo xtask test` (or `cargo test --workspace`)",
        path.display()
    );
    path
}

/// A part of the test set-up (the venv, a base image, Azurite, a Debian program), or the
/// one line that says it is missing and how to get it: a plain `cargo test` on a machine
/// without the set-up fails with that, not obscurely.
pub fn set_up(what: &str, path: &Path) -> PathBuf {
    assert!(
        path.exists(),
        "the test set-up is missing {what} (`{}`): run `cargo xtask setup` once (or `cargo xtask test`), which installs what the tests need",
        path.display()
    );
    path.to_path_buf()
}

/// A program from the Debian packages the set-up installs, found on PATH.
pub fn set_up_program(program: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|p| p.is_file()));
    found.unwrap_or_else(|| set_up(&format!("the program `{program}`"), Path::new(program)))
}

/// Built environments are shared by all tests (and kept between runs) under target/.
pub fn shared_cache() -> PathBuf {
    repo_root().join("target").join("aml-test-cache")
}

/// The Debian base image tarball `cargo xtask test` builds (mmdebstrap, with Python 3).
pub fn base_image_tar() -> PathBuf {
    set_up("the Debian base image", &shared_cache().join("base").join("bookworm-python3.tar"))
}

/// The Python the xtask installed (with uv, mlflow and the azure-ai-ml oracle).
pub fn venv_python() -> PathBuf {
    set_up("the test venv", &repo_root().join(".venv").join("bin").join("python"))
}

/// What a tool's test run keeps of the test process's environment among the variables the
/// tools read (`ENV_VARS`): where programs are. Everything else (a CI's variables, a
/// developer's Azure login, `AML_*` settings) is removed, so a run is hermetic.
const KEPT: &[&str] = &["PATH", "HOME", "XDG_CACHE_HOME"];

pub struct TestWorkspace {
    pub dir: tempfile::TempDir,
}

impl Default for TestWorkspace {
    fn default() -> Self {
        Self::new()
    }
}

impl TestWorkspace {
    pub fn new() -> TestWorkspace {
        TestWorkspace { dir: tempfile::Builder::new().prefix("aml-test-").tempdir().expect("temp dir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The local workspace the tools use: `<tmp>/.aml`.
    pub fn workspace(&self) -> PathBuf {
        self.path().join(".aml")
    }

    /// A command for a tool binary, run in the temp folder, hermetic.
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir(self.path());
        for var in crate::settings::ENV_VARS.iter().filter(|var| !KEPT.contains(&var.name)) {
            command.env_remove(var.name);
        }
        // Not read by the tools, but by the programs their jobs run (scripts that ask "am I in CI?").
        command.env_remove("CI");
        command.env("AML_CI", "none").env("USER", "tester").env("AML_CACHE_DIR", shared_cache()).env("NO_COLOR", "1");
        if let Some(venv_bin) = Some(repo_root().join(".venv").join("bin")).filter(|p| p.is_dir()) {
            // uv from the xtask's venv builds job environments fast; python3 stays the system one.
            let path = std::env::var("PATH").unwrap_or_default();
            command.env("PATH", format!("{path}:{}", venv_bin.display()));
        }
        command
    }

    /// Run a tool with arguments and return its output.
    pub fn run(&self, program: &Path, args: &[&str]) -> Output {
        self.command(program).args(args).output().expect("run the tool")
    }

    pub fn write(&self, relative: &str, content: &str) -> PathBuf {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create folder");
        std::fs::write(&path, content).expect("write file");
        path
    }

    /// Copy `examples/<name>` into the temp folder; returns the copy's path.
    pub fn copy_example(&self, name: &str) -> PathBuf {
        self.copy_dir(&repo_root().join("examples").join(name), name)
    }

    /// Copy a folder (a fixture) into the temp folder as `name`; returns the copy's path.
    pub fn copy_dir(&self, from: &Path, name: &str) -> PathBuf {
        let to = self.path().join(name);
        copy_tree(from, &to);
        to
    }

    /// insta settings replacing the temp folder, times and durations with stable tokens.
    pub fn settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        let tmp = self.path().display().to_string();
        let real = self.path().canonicalize().map(|p| p.display().to_string()).unwrap_or_else(|_| tmp.clone());
        settings.add_filter(&regex_escape(&real), "[TMP]");
        settings.add_filter(&regex_escape(&tmp), "[TMP]");
        settings.add_filter(&regex_escape(&shared_cache().display().to_string()), "[CACHE]");
        settings.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[TIME]");
        settings.add_filter(r" in \d+s", " in [DURATION]");
        // Progress lines come with the time a step takes: none is part of what a test checks.
        settings.add_filter(r"(?m)^[^\n]*: \w+ after \d+:\d\d(:\d\d)?\n", "");
        settings.add_filter(r"(?m)^[^\n]*: [\d.]+ \w*B of [\d.]+ \w*B \(\d+%\), [^\n]*\n", "");
        settings.add_filter(r#""duration_seconds": [0-9.]+"#, r#""duration_seconds": "[DURATION]""#);
        settings.add_filter(r"envs/[0-9a-f]{16}", "envs/[ENV]");
        settings
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read example") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn regex_escape(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, c| {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

/// What a test server gives back: status, extra headers, body.
pub type Answer = (u16, Vec<(String, String)>, String);

/// A loopback HTTP/1.1 server for tests, one request per connection: each request's head
/// (the request line, then its headers, line ends trimmed) goes to `answer`. Serves until
/// the test process ends; returns its port.
pub fn http_server(answer: impl Fn(&[String]) -> Answer + Send + 'static) -> std::io::Result<u16> {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let Ok(clone) = stream.try_clone() else { continue };
            let mut reader = BufReader::new(clone);
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push(line.trim_end().to_string());
            }
            let (status, headers, body) = answer(&head);
            let headers: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Ok(port)
}

/// Exit code, stdout and stderr, the way a user sees them.
pub fn render(output: &Output) -> String {
    format!(
        "exit_code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        output.status.code().map(|c| c.to_string()).unwrap_or_else(|| "signal".into()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Parse a tool's JSON stdout.
pub fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", render(output)))
}

/// A real Distribution registry (Debian's `docker-registry`) on a free 127.0.0.1 port, its
/// storage in a temp folder; stopped when dropped.
pub struct Registry {
    pub address: String,
    child: std::process::Child,
    _storage: tempfile::TempDir,
}

impl Registry {
    pub fn start() -> Registry {
        let storage = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let config = storage.path().join("config.yml");
        std::fs::write(
            &config,
            format!("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n", storage.path().join("data").display()),
        )
        .expect("write the registry's config");
        let child = Command::new(set_up_program("docker-registry"))
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry (cargo xtask test installs Debian's package)");
        let address = format!("127.0.0.1:{port}");
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(start.elapsed() < std::time::Duration::from_secs(20), "the registry did not start on {address}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Registry { address, child, _storage: storage }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run one of the library's async calls to its end, from a synchronous test.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    #[allow(clippy::expect_used)] // A test that cannot start a runtime cannot run.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime for the test");
    runtime.block_on(future)
}

/// The settings a test's own library calls run with: the test process's environment.
pub fn settings() -> crate::settings::Settings {
    crate::settings::Settings::from_env()
}
