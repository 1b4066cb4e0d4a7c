//! OCI images (image-spec 1.1): descriptors, manifests, configs, and the image layout on
//! disk. Blobs are written to a temp file, fsynced and renamed before `index.json` names
//! them, so a crash never leaves a layout pointing at missing bytes.

pub mod acr;
pub mod registry;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use aml_core::digest::{Digest, hash_reader};
use aml_core::error::{Error, IoContext, Result};

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
}

/// The image config: what runs, and the layers' uncompressed digests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageConfig {
    pub architecture: String,
    pub os: String,
    #[serde(default)]
    pub config: RunConfig,
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunConfig {
    #[serde(rename = "Env", default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(rename = "Entrypoint", default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "WorkingDir", default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(rename = "ExposedPorts", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, serde_json::Value>,
    #[serde(rename = "Labels", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    pub diff_ids: Vec<Digest>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct History {
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Canonical JSON for blobs we write: field order fixed by the structs, no whitespace.
pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::storage("cannot encode an OCI document", e))
}

/// An OCI image layout folder (`oci-layout`, `index.json`, `blobs/sha256/…`).
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// Open a layout, creating an empty one if the folder is new.
    pub fn create(root: &Path) -> Result<Layout> {
        fs::create_dir_all(root.join("blobs").join("sha256")).with_path("cannot create the OCI layout", root)?;
        let marker = root.join("oci-layout");
        if !marker.is_file() {
            write_atomically(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let index = root.join("index.json");
        if !index.is_file() {
            write_atomically(
                &index,
                &to_json(&Index { schema_version: 2, media_type: Some(INDEX.into()), manifests: Vec::new() })?,
            )?;
        }
        Ok(Layout { root: root.to_path_buf() })
    }

    pub fn open(root: &Path) -> Result<Layout> {
        if !root.join("oci-layout").is_file() {
            return Err(Error::usage(
                format!("`{}` is not an OCI image layout (no `oci-layout` file)", root.display()),
                "give a folder written by `aml-package`, `skopeo copy … oci:DIR` or `umoci`",
            ));
        }
        Ok(Layout { root: root.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest.hex())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    pub fn write_blob(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::of_bytes(bytes);
        if !self.has_blob(&digest) {
            write_atomically(&self.blob_path(&digest), bytes)?;
        }
        Ok(digest)
    }

    /// Move a finished temp file in as a blob (it must already be fsynced).
    pub fn adopt_blob(&self, temp: &Path, digest: &Digest) -> Result<()> {
        let target = self.blob_path(digest);
        if target.is_file() {
            let _ = fs::remove_file(temp);
            return Ok(());
        }
        fs::rename(temp, &target).with_path("cannot move a blob into", &target)?;
        sync_dir(target.parent().unwrap_or(&self.root))
    }

    /// Put a blob of another layout (or cache) in this one: a hard link when both are on one
    /// file system, else a copy.
    pub fn link_blob(&self, source: &Path, digest: &Digest) -> Result<()> {
        let target = self.blob_path(digest);
        if target.is_file() {
            return Ok(());
        }
        if fs::hard_link(source, &target).is_ok() {
            return Ok(());
        }
        let temp = self.temp_path();
        fs::copy(source, &temp).with_path("cannot copy a blob from", source)?;
        File::open(&temp).and_then(|f| f.sync_all()).with_path("cannot fsync", &temp)?;
        self.adopt_blob(&temp, digest)
    }

    pub fn temp_path(&self) -> PathBuf {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        self.root.join("blobs").join(format!(".tmp-{}-{nanos}", std::process::id()))
    }

    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let bytes = fs::read(&path)
            .map_err(|e| Error::storage(format!("blob {digest} is missing from `{}`", self.root.display()), e))?;
        if Digest::of_bytes(&bytes) != *digest {
            return Err(Error::service(format!("blob `{}` does not match its digest", path.display()), None));
        }
        Ok(bytes)
    }

    /// Check a (large) blob's bytes against its digest.
    pub fn verify_blob(&self, digest: &Digest) -> Result<()> {
        let path = self.blob_path(digest);
        let mut file = File::open(&path).with_path("cannot open", &path)?;
        let actual = hash_reader(&mut file).with_path("cannot read", &path)?;
        if actual != *digest {
            return Err(Error::service(format!("blob `{}` does not match its digest", path.display()), None));
        }
        Ok(())
    }

    pub fn index(&self) -> Result<Index> {
        let path = self.root.join("index.json");
        let text = fs::read(&path).with_path("cannot read", &path)?;
        serde_json::from_slice(&text)
            .map_err(|e| Error::storage(format!("`{}` is not an OCI index", path.display()), e))
    }

    /// The manifest a tag (`org.opencontainers.image.ref.name`) or a digest names; the only
    /// manifest when neither is given.
    pub fn resolve(&self, reference: Option<&str>) -> Result<(Descriptor, Manifest)> {
        let index = self.index()?;
        let found = match reference {
            Some(r) if r.starts_with("sha256:") => index.manifests.iter().find(|d| d.digest.to_string() == r),
            Some(tag) => index.manifests.iter().find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(tag)),
            None if index.manifests.len() == 1 => index.manifests.first(),
            None => None,
        };
        let descriptor = found.cloned().ok_or_else(|| {
            let tags: Vec<String> =
                index.manifests.iter().filter_map(|d| d.annotations.get(REF_NAME).cloned()).collect();
            Error::usage(
                format!(
                    "`{}` has no image {}",
                    self.root.display(),
                    reference.map(|r| format!("`{r}`")).unwrap_or_else(|| "to pick (give a tag)".into())
                ),
                format!("its tags: {}", if tags.is_empty() { "none".into() } else { tags.join(", ") }),
            )
        })?;
        let manifest: Manifest = serde_json::from_slice(&self.read_blob(&descriptor.digest)?)
            .map_err(|e| Error::storage("an image manifest is unreadable", e))?;
        Ok((descriptor, manifest))
    }

    /// Name a manifest with a tag in `index.json`, replacing what had the tag.
    pub fn tag(&self, manifest: &Descriptor, tag: &str) -> Result<()> {
        let mut index = self.index()?;
        index.manifests.retain(|d| d.annotations.get(REF_NAME).map(String::as_str) != Some(tag));
        let mut descriptor = manifest.clone();
        descriptor.annotations.insert(REF_NAME.into(), tag.into());
        index.manifests.push(descriptor);
        write_atomically(&self.root.join("index.json"), &to_json(&index)?)
    }
}

/// Write a small file durably: temp, fsync, rename, fsync the folder.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let mut file = File::create(&temp).with_path("cannot create", &temp)?;
    file.write_all(bytes).with_path("cannot write", &temp)?;
    file.sync_all().with_path("cannot fsync", &temp)?;
    fs::rename(&temp, path).with_path("cannot replace", path)?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).with_path("cannot fsync", dir)
}

/// Read a whole small file, such as a manifest.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)).with_path("cannot read", path)?;
    Ok(bytes)
}
