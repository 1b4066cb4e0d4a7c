//! Azurite, the storage emulator Microsoft maintains (npm `azurite`, installed by
//! `cargo xtask test`), started per test on a free port with its own folder.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::Storage;

/// Azurite's documented development account.
pub const ACCOUNT: &str = "devstoreaccount1";
pub const KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
pub const CONTAINER: &str = "azureml-blobstore-test";
/// The container behind `workspaceartifactstore` (job logs), as Azure ML names it.
pub const ARTIFACT_CONTAINER: &str = "azureml";

pub struct Azurite {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
    /// Set when it serves https with OAuth (`--oauth basic`): the certificate it presents.
    ca: Option<PathBuf>,
}

pub fn azurite_bin() -> PathBuf {
    crate::common::repo_root().join("target").join("ci-tools").join("node_modules").join(".bin").join("azurite-blob")
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

impl Azurite {
    pub fn start() -> Result<Azurite, String> {
        Self::launch(None)
    }

    /// Azurite as storage behind an identity-based datastore: https with this certificate and
    /// key, and bearer tokens checked as Azure Storage checks them (issuer, audience,
    /// lifetime) besides the account key.
    pub fn start_oauth(cert: &std::path::Path, key: &std::path::Path) -> Result<Azurite, String> {
        Self::launch(Some((cert.to_path_buf(), key.to_path_buf())))
    }

    fn launch(tls: Option<(PathBuf, PathBuf)>) -> Result<Azurite, String> {
        let bin = aml_client::testing::set_up("Azurite", &azurite_bin());
        let dir = tempfile::Builder::new().prefix("azurite-").tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let port = free_port()?;
        let mut command = Command::new(&bin);
        command
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
                "--silent",
                "--skipApiVersionCheck",
                "--location",
            ])
            .arg(dir.path());
        if let Some((cert, key)) = &tls {
            command.args(["--oauth", "basic", "--cert"]).arg(cert).arg("--key").arg(key);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!("Azurite did not listen on {port} within 30 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let azurite = Azurite { port, child, _dir: dir, ca: tls.map(|(cert, _)| cert) };
        azurite.create_container()?;
        Ok(azurite)
    }

    fn create_container(&self) -> Result<(), String> {
        let storage = self.storage(self.port);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        let rest = crate::blob_rest::BlobRest::new(&storage)?;
        for name in [CONTAINER, ARTIFACT_CONTAINER] {
            runtime.block_on(rest.create_container(name))?;
        }
        Ok(())
    }

    /// The datastore the emulator describes, reached at `port` (Azurite's own or a proxy's).
    pub fn storage(&self, port: u16) -> Storage {
        Storage {
            account: ACCOUNT.into(),
            key: KEY.into(),
            container: CONTAINER.into(),
            endpoint: format!("localhost:{port}"),
            ca: self.ca.clone(),
        }
    }

    /// The production-style container URL (`account.blob.localhost`).
    pub fn container_url(&self) -> String {
        format!("http://{ACCOUNT}.blob.localhost:{}/{CONTAINER}", self.port)
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
