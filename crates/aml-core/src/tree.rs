//! File trees as content: a sorted manifest of (path, size, digest). A model version's
//! digest and a code snapshot's digest are the digest of their manifest, so the same
//! files under the same names give the same digest on any machine.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::{Digest, hash_reader};
use crate::error::{Error, IoContext, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// `/`-separated, relative to the tree's root.
    pub path: String,
    pub size: u64,
    pub digest: Digest,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Manifest {
    pub entries: Vec<FileEntry>,
}

impl Manifest {
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Field order is fixed by the struct and entries are sorted, so this is canonical.
        serde_json::to_vec(&self.entries).unwrap_or_default()
    }

    pub fn digest(&self) -> Digest {
        Digest::of_bytes(&self.canonical_bytes())
    }

    pub fn total_size(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}

/// Hash a file, or every file under a folder, into a manifest.
/// A single file becomes a one-entry manifest named after the file.
pub fn scan(path: &Path) -> Result<Manifest> {
    hash_files(list(path)?)
}

/// The files `scan` would hash, as (name in the tree, path on disk), sorted by name.
pub fn list(path: &Path) -> Result<Vec<(String, PathBuf)>> {
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::usage(
            format!("`{}` does not exist", path.display()),
            "check the path (relative paths start at the current directory)",
        ),
        _ => Error::storage(format!("cannot read `{}`", path.display()), e),
    })?;
    let mut files = Vec::new();
    if meta.is_file() {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        files.push((name, path.to_path_buf()));
    } else if meta.is_dir() {
        collect(path, "", &mut files)?;
        if files.is_empty() {
            return Err(Error::usage(
                format!("`{}` is an empty folder", path.display()),
                "register a folder that holds the model's files",
            ));
        }
    } else {
        return Err(Error::usage(
            format!("`{}` is neither a file nor a folder", path.display()),
            "register a regular file or folder",
        ));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// Hash the listed (name in the tree, path on disk) files in order.
pub fn hash_files(files: Vec<(String, PathBuf)>) -> Result<Manifest> {
    let mut entries = Vec::with_capacity(files.len());
    for (name, source) in files {
        let mut file = File::open(&source).with_path("cannot open", &source)?;
        let size = file.metadata().with_path("cannot read", &source)?.len();
        let digest = hash_reader(&mut file).with_path("cannot read", &source)?;
        entries.push(FileEntry { path: name, size, digest });
    }
    Ok(Manifest { entries })
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let mut children: Vec<_> = fs::read_dir(dir)
        .with_path("cannot list", dir)?
        .collect::<std::io::Result<_>>()
        .with_path("cannot list", dir)?;
    children.sort_by_key(|e| e.file_name());
    for child in children {
        let name = child.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let path = child.path();
        // Follow symlinks: a model folder often links to a checkpoint elsewhere.
        let meta = fs::metadata(&path).map_err(|e| match dangling(&path) {
            Some(error) => error,
            None => Error::storage(format!("cannot read `{}`", path.display()), e),
        })?;
        if meta.is_dir() {
            collect(&path, &rel, out)?;
        } else if meta.is_file() {
            out.push((rel, path));
        }
    }
    Ok(())
}

/// A job's `code:`: a single file, or a folder's files as `snapshot_files` takes them.
pub fn code_files(code: &Path) -> Result<Vec<(String, PathBuf)>> {
    if code.is_file() {
        return Ok(vec![(
            code.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            code.to_path_buf(),
        )]);
    }
    snapshot_files(code)
}

/// The files of a code folder as they go into a job's snapshot.
///
/// `.amlignore` at the root takes precedence over `.gitignore`, as azure-ai-ml decides;
/// without it, `.gitignore` files apply with git's rules, including those in parent folders
/// (a repository's root `.gitignore` that excludes `data/` or `.venv/` keeps them out).
/// `.git` folders never go in.
pub fn snapshot_files(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut builder = ignore::WalkBuilder::new(root);
    builder.standard_filters(false).hidden(false).follow_links(true).sort_by_file_name(|a, b| a.cmp(b));
    if root.join(".amlignore").is_file() {
        builder.add_custom_ignore_filename(".amlignore");
    } else {
        builder.git_ignore(true).parents(true).require_git(false);
    }
    builder.filter_entry(|e| e.file_name() != ".git");
    let mut files = Vec::new();
    for entry in builder.build() {
        let entry = entry.map_err(|e| walk_error(root, e))?;
        if !entry.file_type().is_some_and(|t| t.is_file()) && !entry.path().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        files.push((rel, entry.path().to_path_buf()));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// A link whose target is missing is the user's to fix (exit 2), not a storage failure: the
/// same tree on their machine and on the service would differ.
fn dangling(path: &Path) -> Option<Error> {
    let target = fs::read_link(path).ok()?;
    (!path.exists()).then(|| {
        Error::usage(
            format!("`{}` is a symbolic link to `{}`, which does not exist", path.display(), target.display()),
            "remove the link, point it at a file that exists, or list it in `.amlignore`",
        )
    })
}

/// What the walker reports, with a dangling link or a link loop said as bad input.
fn walk_error(root: &Path, error: ignore::Error) -> Error {
    fn innermost(error: &ignore::Error) -> (Option<&Path>, &ignore::Error) {
        match error {
            ignore::Error::WithPath { path, err } => match innermost(err) {
                (None, inner) => (Some(path), inner),
                found => found,
            },
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => innermost(err),
            other => (None, other),
        }
    }
    let (path, inner) = innermost(&error);
    if let Some(bad_link) = path.and_then(dangling) {
        return bad_link;
    }
    if let ignore::Error::Loop { child, .. } = inner {
        return Error::usage(
            format!("`{}` is a symbolic link that loops back to a folder above it", child.display()),
            "remove the link, or list it in `.amlignore`",
        );
    }
    Error::storage(format!("cannot walk the code folder `{}`", root.display()), error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn same_files_same_digest_and_names_matter() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write(&a.path().join("m/x.bin"), "x");
        write(&b.path().join("m/x.bin"), "x");
        assert_eq!(scan(&a.path().join("m")).unwrap().digest(), scan(&b.path().join("m")).unwrap().digest());
        write(&b.path().join("n/y.bin"), "x");
        assert_ne!(scan(&a.path().join("m")).unwrap().digest(), scan(&b.path().join("n")).unwrap().digest());
    }

    #[test]
    fn parent_gitignore_applies_unless_an_amlignore_is_present() {
        let repo = tempfile::tempdir().unwrap();
        write(&repo.path().join(".gitignore"), "*.csv\n");
        write(&repo.path().join("src/train.py"), "print()");
        write(&repo.path().join("src/data.csv"), "a,b");
        write(&repo.path().join("src/.git/HEAD"), "ref");
        let names: Vec<_> = snapshot_files(&repo.path().join("src")).unwrap().into_iter().map(|f| f.0).collect();
        assert_eq!(names, ["train.py"]);

        write(&repo.path().join("src/.amlignore"), "train.py\n");
        let names: Vec<_> = snapshot_files(&repo.path().join("src")).unwrap().into_iter().map(|f| f.0).collect();
        assert_eq!(names, [".amlignore", "data.csv"]);
    }
}
