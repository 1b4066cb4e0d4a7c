//! Code assets as azure-ai-ml makes them: the snapshot's content hash (hash version
//! 202208) finds an existing code version, so an unchanged folder is never uploaded twice,
//! whether `az ml` or this tool uploaded it first. A new snapshot goes to the SAS location
//! `startPendingUpload` hands out, as `<folder name>/<path>`, then becomes an anonymous
//! code version.

use std::path::{Path, PathBuf};

use azure_core::credentials::Secret;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::AzureWorkspace;
use super::blob::{Container, StorageAuth};
use aml_core::digest::Digest;
use aml_core::error::{Error, IoContext, Result};
use aml_core::progress::Progress;
use aml_core::tree::{FileEntry, Manifest};

pub const HASH_VERSION: &str = "202208";

/// A code version a job can name.
pub struct CodeAsset {
    /// The ARM id, for a job's `codeId`.
    pub id: String,
    /// Our digest of the snapshot (the same as the local backend records).
    pub digest: Digest,
    /// An existing version had the same content: nothing was uploaded.
    pub reused: bool,
    pub files: usize,
    pub bytes: u64,
}

/// The snapshot's files; an empty folder is refused, as azure-ai-ml refuses it.
fn snapshot(path: &Path) -> Result<Vec<(String, PathBuf)>> {
    let files = aml_core::tree::code_files(path)?;
    if files.is_empty() {
        return Err(Error::usage(
            format!("the code folder `{}` holds no files", path.display()),
            "point `code:` at the folder with the job's scripts",
        ));
    }
    Ok(files)
}

/// azure-ai-ml's `get_content_hash`: the file count, then `#path#size` for each file by
/// lower-cased path, then every file's bytes in that order.
pub fn content_hash(files: &[(String, PathBuf)]) -> Result<String> {
    Ok(hash_snapshot(files)?.0)
}

/// The content hash and our manifest's digest in one read of every file: re-submitting
/// unchanged code costs one hash of the folder, not two.
pub fn hash_snapshot(files: &[(String, PathBuf)]) -> Result<(String, Digest)> {
    let mut sorted: Vec<&(String, PathBuf)> = files.iter().collect();
    sorted.sort_by_key(|(rel, _)| rel.to_lowercase());
    let mut hash = Sha256::new();
    hash.update(sorted.len().to_string().as_bytes());
    for (rel, path) in &sorted {
        let size = std::fs::metadata(path).with_path("cannot read", path)?.len();
        hash.update(format!("#{rel}#").as_bytes());
        hash.update(size.to_string().as_bytes());
    }
    let mut entries = Vec::with_capacity(sorted.len());
    for (rel, path) in &sorted {
        let (size, digest) = super::hash::hash_file(path, &mut hash)?;
        entries.push(FileEntry { path: rel.clone(), size, digest });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let hex = aml_core::digest::hex(&hash.finalize());
    Ok((hex, Manifest { entries }.digest()))
}

impl AzureWorkspace {
    /// The code version for a local folder: found by content hash, or uploaded and created.
    /// The code version for a folder, as a job or deployment would get it (blocking).
    pub async fn code_version(&self, path: &Path) -> Result<CodeAsset> {
        self.ensure_code(path).await
    }

    pub(super) async fn ensure_code(&self, path: &Path) -> Result<CodeAsset> {
        let files = snapshot(path)?;
        let folder = path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "code".into());
        self.ensure_code_files(&path.display().to_string(), &folder, path.is_file(), files).await
    }

    /// The code version for `files` (`(path in the snapshot, file on disk)`), uploaded under
    /// `folder/` unless it is a single file; `label` names it in messages.
    pub(super) async fn ensure_code_files(
        &self,
        label: &str,
        folder: &str,
        single: bool,
        files: Vec<(String, PathBuf)>,
    ) -> Result<CodeAsset> {
        let (hash, digest) = hash_snapshot(&files)?;
        let bytes: u64 = files.iter().map(|(_, p)| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)).sum();
        // As azure-ai-ml: a fresh anonymous name, and the service answers the hash query
        // across names.
        let name = aml_core::ids::uuid4()?;
        let existing: Vec<Value> = self
            .arm
            .list(&format!("{}/codes/{name}/versions?hash={hash}&hashVersion={HASH_VERSION}", self.prefix))
            .await?;
        if let Some(id) = existing.iter().find_map(|v| v["id"].as_str()) {
            aml_core::status!("code `{label}` unchanged ({} files): reusing {}", files.len(), short_id(id));
            return Ok(CodeAsset { id: id.to_string(), digest, reused: true, files: files.len(), bytes });
        }
        let version_path = format!("{}/codes/{name}/versions/1", self.prefix);
        let pending: Value = self
            .arm
            .post(
                &format!("{version_path}/startPendingUpload"),
                Some(
                    &json!({"pendingUploadId": aml_core::ids::uuid4()?, "pendingUploadType": "TemporaryBlobReference"}),
                ),
            )
            .await?;
        let reference = &pending["blobReferenceForConsumption"];
        let blob_uri = reference["blobUri"].as_str().unwrap_or_default().trim_end_matches('/').to_string();
        let sas_uri = reference["credential"]["sasUri"].as_str().unwrap_or_default();
        let (location, sas) = sas_uri
            .split_once('?')
            .ok_or_else(|| Error::service("startPendingUpload gave no SAS URI for the code upload", None))?;
        let container = Container::new(
            "",
            location,
            StorageAuth::Sas(Secret::new(sas.to_string())),
            &self.transport,
            self.blob_options,
        )?;
        let uploads: Vec<(PathBuf, String)> = files
            .iter()
            .map(|(rel, disk)| (disk.clone(), if single { rel.clone() } else { format!("{folder}/{rel}") }))
            .collect();
        aml_core::status!("uploading code `{label}`: {} files, {} …", files.len(), aml_core::cli::human_size(bytes));
        let progress = Progress::bytes(format!("uploading code `{label}`"), bytes, &self.settings);
        container.upload_files(&uploads, &|done| progress.add(done)).await?;
        progress.finish();
        let code_uri = if single { blob_uri.clone() } else { format!("{blob_uri}/{folder}") };
        let body = json!({"properties": {
            "codeUri": code_uri,
            "isAnonymous": true,
            "properties": {"hash_sha256": hash, "hash_version": HASH_VERSION},
        }});
        let created: Value = self.arm.put(&version_path, &body).await?;
        let id = created["id"].as_str().map(str::to_owned).unwrap_or(version_path);
        Ok(CodeAsset { id, digest, reused: false, files: files.len(), bytes })
    }
}

/// `codes/<name>/versions/<v>` of an ARM id, for messages.
fn short_id(id: &str) -> &str {
    id.find("/codes/").map(|at| &id[at + 1..]).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_orders_by_lower_cased_path_and_counts_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.txt"), "b").unwrap();
        std::fs::write(dir.path().join("A.txt"), "a").unwrap();
        let files =
            vec![("b.txt".to_string(), dir.path().join("b.txt")), ("A.txt".to_string(), dir.path().join("A.txt"))];
        let mut expected = Sha256::new();
        expected.update(b"2#A.txt#1#b.txt#1ab");
        let expected = aml_core::digest::hex(&expected.finalize());
        assert_eq!(content_hash(&files).unwrap(), expected);
        // Our digest from the same read is the manifest's, as the local backend records it.
        let mut by_path = files.clone();
        by_path.sort();
        assert_eq!(hash_snapshot(&files).unwrap().1, aml_core::tree::hash_files(by_path).unwrap().digest());
    }

    /// The content hash is the one azure-ai-ml computes (`get_content_hash`, run from the
    /// test venv) on a folder where the orders differ: upper case before lower case,
    /// non-ASCII names, nested folders and an ignore file.
    #[test]
    fn content_hash_is_azure_ai_mls_on_mixed_case_nested_and_ignored_files()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        for (rel, text) in [
            ("B.py", "print('B')"),
            ("a.py", "print('a')"),
            ("Zeta/inner.txt", "z"),
            ("alpha/Été.txt", "été"),
            ("alpha/ß/deep.txt", "deep"),
            ("alpha/Ω.txt", ""),
            ("skip.log", "ignored"),
            (".amlignore", "*.log\n"),
        ] {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().ok_or("a file at the root")?)?;
            std::fs::write(path, text)?;
        }
        let files = snapshot(root)?;
        assert!(!files.iter().any(|(rel, _)| rel == "skip.log"), "{files:?}");
        assert_eq!(files.len(), 7, "{files:?}");
        let ours = content_hash(&files)?;
        let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
        let script = "import sys\n\
from azure.ai.ml._utils._asset_utils import get_content_hash, get_ignore_file\n\
print(get_content_hash(sys.argv[1], get_ignore_file(sys.argv[1])))";
        let theirs = std::process::Command::new(venv).args(["-c", script]).arg(root).output()?;
        assert!(theirs.status.success(), "{}", String::from_utf8_lossy(&theirs.stderr));
        assert_eq!(ours, String::from_utf8_lossy(&theirs.stdout).trim());
        Ok(())
    }

    #[test]
    fn a_reused_code_version_is_named_by_its_short_id() {
        let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/codes/c1/versions/1";
        assert_eq!(short_id(id), "codes/c1/versions/1");
        assert_eq!(short_id("not-an-arm-id"), "not-an-arm-id");
    }

    #[test]
    fn an_empty_code_folder_is_refused_as_azure_ai_ml_refuses_it() -> std::result::Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let error = snapshot(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("holds no files"), "{error}");
        Ok(())
    }
}
