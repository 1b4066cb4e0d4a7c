//! azure-ai-ml's object hash (`get_object_hash`): the name of the blob folder an upload goes
//! to (`LocalUpload/<hash>/…`). Computed in the same read as our own per-file digests, so
//! registering hashes each byte once, and a folder `az ml` uploaded is found by us (and ours
//! by it). Entries of each folder are taken by their lower-cased full path, each adding its
//! name then its bytes (or its own entries); symlinks are followed.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use aml_core::digest::Digest;
use aml_core::error::{Error, IoContext, Result};
use aml_core::tree::{FileEntry, Manifest};

const SEED: &[u8] = b"Initialize for october 2021 AML CLI version";

pub struct Hashed {
    /// Hex, as azure-ai-ml writes it.
    pub object_hash: String,
    /// Our manifest (sorted by path), whose digest is the model version's digest.
    pub manifest: Manifest,
    /// (path on disk, path in the tree), in upload order.
    pub files: Vec<(PathBuf, String)>,
}

pub fn hash_tree(path: &Path) -> Result<Hashed> {
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::usage(
            format!("`{}` does not exist", path.display()),
            "check the path (relative paths start at the current directory)",
        ),
        _ => Error::storage(format!("cannot read `{}`", path.display()), e),
    })?;
    let mut object = Sha256::new();
    object.update(SEED);
    let mut entries = Vec::new();
    let mut files = Vec::new();
    if meta.is_dir() {
        walk(path, "", &mut object, &mut entries, &mut files)?;
        if entries.is_empty() {
            return Err(Error::usage(
                format!("`{}` is an empty folder", path.display()),
                "register a folder that holds the model's files",
            ));
        }
    } else {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        let (size, digest) = hash_file(path, &mut object)?;
        entries.push(FileEntry { path: name.clone(), size, digest });
        files.push((path.to_path_buf(), name));
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Hashed { object_hash: hex(&object.finalize()), manifest: Manifest { entries }, files })
}

fn walk(
    dir: &Path,
    prefix: &str,
    object: &mut Sha256,
    entries: &mut Vec<FileEntry>,
    files: &mut Vec<(PathBuf, String)>,
) -> Result<()> {
    let mut children: Vec<PathBuf> = fs::read_dir(dir)
        .with_path("cannot list", dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_path("cannot list", dir)?;
    children.sort_by_key(|p| p.to_string_lossy().to_lowercase());
    for child in children {
        let name = child.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        object.update(name.as_bytes());
        let meta = fs::metadata(&child).with_path("cannot read", &child)?;
        if meta.is_file() {
            let (size, digest) = hash_file(&child, object)?;
            entries.push(FileEntry { path: rel.clone(), size, digest });
            files.push((child, rel));
        } else if meta.is_dir() {
            walk(&child, &rel, object, entries, files)?;
        }
    }
    Ok(())
}

/// One read of a file: its bytes into `object` (a hash over many files) and its own digest.
pub(super) fn hash_file(path: &Path, object: &mut Sha256) -> Result<(u64, Digest)> {
    let mut file = fs::File::open(path).with_path("cannot open", path)?;
    let mut own = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer).with_path("cannot read", path)?;
        if n == 0 {
            break;
        }
        object.update(&buffer[..n]);
        own.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((size, Digest::of_hash(own.finalize().into())))
}

use aml_core::digest::hex;

#[cfg(test)]
mod tests {
    use super::*;

    /// azure-ai-ml's `get_object_hash` on `path`, run from the test venv.
    fn theirs(path: &Path) -> std::result::Result<String, Box<dyn std::error::Error>> {
        let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
        let script = "import sys\nfrom azure.ai.ml._utils._asset_utils import get_object_hash\nprint(get_object_hash(sys.argv[1]))";
        let output = std::process::Command::new(python).args(["-c", script]).arg(path).output()?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into());
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// The blob folder an upload goes to must be the one `az ml` computes, so uploads are
    /// shared: held to azure-ai-ml on a folder where the orders differ (upper case before
    /// lower case, non-ASCII names, nesting, an empty file) and on a single file.
    #[test]
    fn object_hash_is_azure_ai_mls_for_folders_and_files() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("model");
        for (rel, text) in
            [("b.txt", "bee"), ("A/c.bin", "sea"), ("a2.txt", ""), ("Zeta/Été.txt", "été"), ("alpha/ß/deep.txt", "d")]
        {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().ok_or("a file at the root")?)?;
            fs::write(path, text)?;
        }
        let hashed = hash_tree(&root)?;
        assert_eq!(hashed.object_hash, theirs(&root)?);
        assert_eq!(hashed.files.len(), 5, "{:?}", hashed.files);
        let single = root.join("b.txt");
        assert_eq!(hash_tree(&single)?.object_hash, theirs(&single)?);
        Ok(())
    }

    #[test]
    fn a_missing_path_is_bad_input_naming_it() {
        let missing = Path::new("/nonexistent/model.pkl");
        let error = hash_tree(missing).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("`/nonexistent/model.pkl` does not exist"), "{error}");
    }
}
