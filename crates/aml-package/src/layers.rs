//! Reproducible layers: entries sorted by path, every parent folder present, owner root,
//! time 0, modes 0644/0755, and gzip with a fixed header, so the same files give the same
//! digest on any machine. A thread writes the tar into a pipe while the caller hashes and
//! writes it out (with the disk write started as it goes), as `aml-register` does.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::PathBuf;

use aml_client::digest::{Digest, hash_and_copy};
use aml_client::error::{Error, Result};
use aml_client::oci::{Descriptor, LAYER_TAR, LAYER_TAR_GZIP, Layout};
use aml_client::progress::Progress;
use aml_client::settings::Settings;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// A file or link to put at `path` (relative to `/`) in a layer.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub source: Source,
}

#[derive(Debug, Clone)]
pub enum Source {
    File { path: PathBuf, executable: bool },
    Symlink(PathBuf),
}

/// A layer in the cache layout: its blob, and the digest of its uncompressed tar.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Layer {
    pub descriptor: Descriptor,
    pub diff_id: Digest,
}

/// Feeds everything written into a SHA-256 (the layer's diff id, before compression).
struct Hashing<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

fn write_tar<W: Write>(entries: &[Entry], out: W) -> io::Result<W> {
    let mut builder = tar::Builder::new(out);
    builder.mode(tar::HeaderMode::Deterministic);
    let mut folders = BTreeSet::new();
    for entry in entries {
        let mut parent = std::path::Path::new(&entry.path).parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            folders.insert(format!("{}/", p.display()));
            parent = p.parent();
        }
    }
    // Folders and entries in one sorted stream: a folder sorts before what it holds.
    let mut all: Vec<(String, Option<&Entry>)> = folders.into_iter().map(|f| (f, None)).collect();
    all.extend(entries.iter().map(|e| (e.path.clone(), Some(e))));
    all.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, entry) in all {
        match entry {
            None => {
                let mut h = header(tar::EntryType::Directory, 0o755, 0);
                builder.append_data(&mut h, &path, io::empty())?;
            }
            Some(Entry { source: Source::File { path: from, executable }, .. }) => {
                let file = File::open(from)?;
                let size = file.metadata()?.len();
                let mut h = header(tar::EntryType::Regular, if *executable { 0o755 } else { 0o644 }, size);
                builder.append_data(&mut h, &path, io::BufReader::with_capacity(256 << 10, file))?;
            }
            Some(Entry { source: Source::Symlink(target), .. }) => {
                let mut h = header(tar::EntryType::Symlink, 0o777, 0);
                builder.append_link(&mut h, &path, target)?;
            }
        }
    }
    builder.into_inner()
}

/// Write a layer into `layout`; `gzip` for text-like content, plain tar for model weights.
pub fn build(entries: Vec<Entry>, gzip: bool, layout: &Layout, what: &str, settings: &Settings) -> Result<Layer> {
    let total: u64 = entries
        .iter()
        .filter_map(|e| match &e.source {
            Source::File { path, .. } => fs::metadata(path).ok().map(|m| m.len()),
            Source::Symlink(_) => None,
        })
        .sum();
    let progress = Progress::bytes(what, total, settings);
    let (reader, writer) = io::pipe().map_err(|e| Error::storage("cannot create a pipe", e))?;
    let producer = std::thread::spawn(move || -> io::Result<Option<Digest>> {
        if gzip {
            // The diff id is the digest of the tar before compression: hash, then compress.
            // A fixed gzip header (no name, time 0) keeps the compressed bytes reproducible.
            let encoder =
                flate2::GzBuilder::new().mtime(0).operating_system(255).write(writer, flate2::Compression::new(6));
            let hashing = write_tar(&entries, Hashing { inner: encoder, hasher: Sha256::new() })?;
            let diff: [u8; 32] = hashing.hasher.finalize().into();
            hashing.inner.finish()?;
            Ok(Some(Digest::of_hash(diff)))
        } else {
            write_tar(&entries, writer)?;
            Ok(None)
        }
    });
    let temp = layout.temp_path();
    let file = File::create(&temp).map_err(|e| Error::storage(format!("cannot create `{}`", temp.display()), e))?;
    let mut reader = progress.reader(reader);
    let copied = hash_and_copy(&mut reader, file);
    drop(reader);
    let produced = producer.join().unwrap_or_else(|_| Err(io::Error::other("the layer writer panicked")));
    let (digest, size) = match copied {
        Ok(done) => done,
        Err(_) => {
            let _ = fs::remove_file(&temp);
            let cause =
                produced.err().map(|e| e.to_string()).unwrap_or_else(|| "the layer could not be written".into());
            return Err(Error::storage(format!("cannot write a layer: {cause}"), io::Error::other(cause.clone())));
        }
    };
    let diff_id = match produced {
        Ok(Some(diff)) => diff,
        Ok(None) => digest,
        Err(e) => {
            let _ = fs::remove_file(&temp);
            return Err(Error::storage("cannot read a file for a layer", e));
        }
    };
    layout.adopt_blob(&temp, &digest)?;
    let media_type = if gzip { LAYER_TAR_GZIP } else { LAYER_TAR };
    Ok(Layer {
        descriptor: Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            annotations: Default::default(),
            platform: None,
        },
        diff_id,
    })
}
