//! `blob-upload`: the azure backend's blob upload alone, for `cargo xtask bench` to set
//! beside the Python storage SDK and `curl` on the same Azurite. The same code path as
//! `aml-register model` on Azure, without the hashing and ARM calls around it.
//!
//! blob-upload CONTAINER_URL ACCOUNT PATH [PREFIX]   (the account key in AZURE_STORAGE_KEY)

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aml_azure::blob::{Container, StorageAuth};

fn files(root: &Path, prefix: &str) -> Result<Vec<(PathBuf, String)>, String> {
    if root.is_file() {
        let name = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        return Ok(vec![(root.to_path_buf(), format!("{prefix}{name}"))]);
    }
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).map_err(|e| e.to_string())?.to_string_lossy().into_owned();
                out.push((path, format!("{prefix}{rel}")));
            }
        }
    }
    Ok(out)
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, account, path, rest @ ..] = args.as_slice() else {
        return Err("usage: blob-upload CONTAINER_URL ACCOUNT PATH [PREFIX] (account key in AZURE_STORAGE_KEY)".into());
    };
    let key = std::env::var("AZURE_STORAGE_KEY").map_err(|_| "AZURE_STORAGE_KEY is not set".to_string())?;
    let prefix = rest.first().cloned().unwrap_or_default();
    let options = aml_http::transport::TransportOptions::service(std::time::Duration::from_secs(120));
    let transport = aml_http::transport::transport(options).map_err(|e| e.to_string())?;
    let blob_options = aml_azure::blob::BlobOptions::from_settings(&aml_client::settings::Settings::from_env());
    let container = Container::new(account, url, StorageAuth::AccountKey(key.into()), &transport, blob_options)
        .map_err(|e| e.to_string())?;
    let files = files(Path::new(path), &prefix)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let upload = runtime.block_on(container.upload_files(&files, &|_| {})).map_err(|e| e.to_string())?;
    eprintln!("uploaded {} file(s), {} bytes", upload.files, upload.bytes);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
