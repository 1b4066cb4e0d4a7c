//! The base image: imported from a root filesystem tarball (`aml-package base`), read from
//! an OCI layout, or pulled from a registry into the cache. What Python and C library it
//! carries decides the platform the dependency layer is resolved for.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use aml_client::digest::Digest;
use aml_client::error::{Error, IoContext, Result};
use aml_client::oci::registry::{ImageRef, RegistryClient};
use aml_client::oci::{self, Descriptor, History, ImageConfig, Index, Layout, Manifest, RootFs, RunConfig};
use aml_client::settings::Settings;
use serde::{Deserialize, Serialize};

/// Where an image is: `oci:DIR[:TAG|@sha256:…]` or `REGISTRY/REPO[:TAG|@sha256:…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Layout { dir: PathBuf, reference: Option<String> },
    Registry(ImageRef),
}

impl std::str::FromStr for Location {
    type Err = Error;
    fn from_str(text: &str) -> Result<Location> {
        if let Some(rest) = text.strip_prefix("oci:") {
            let (dir, reference) = if let Some((dir, digest)) = rest.split_once('@') {
                (dir, Some(digest.to_string()))
            } else {
                match rest.rsplit_once(':') {
                    Some((dir, tag)) if !tag.contains('/') && !dir.is_empty() => (dir, Some(tag.to_string())),
                    _ => (rest, None),
                }
            };
            if dir.is_empty() {
                return Err(Error::usage(format!("`{text}` names no folder"), "write `oci:DIR` or `oci:DIR:TAG`"));
            }
            return Ok(Location::Layout { dir: PathBuf::from(dir), reference });
        }
        text.parse::<ImageRef>().map(Location::Registry).map_err(|e| {
            Error::usage(
                format!("`{text}` is neither `oci:DIR[:TAG]` nor `REGISTRY/REPOSITORY:TAG`"),
                e.hint().unwrap_or_default().to_string(),
            )
        })
    }
}

/// A base image in the cache layout: its manifest and config.
pub struct Base {
    pub digest: Digest,
    pub manifest: Manifest,
    pub config: ImageConfig,
}

/// Copy (link) a base image into the cache layout and read it.
pub async fn resolve(location: &Location, cache: &Layout, settings: &Settings) -> Result<Base> {
    match location {
        Location::Layout { dir, reference } => {
            let layout = Layout::open(dir)?;
            let (descriptor, manifest) = layout.resolve(reference.as_deref())?;
            for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
                cache.link_blob(&layout.blob_path(&blob.digest), &blob.digest)?;
            }
            cache.link_blob(&layout.blob_path(&descriptor.digest), &descriptor.digest)?;
            let config: ImageConfig = serde_json::from_slice(&cache.read_blob(&manifest.config.digest)?)
                .map_err(|e| Error::storage("the base image's config is unreadable", e))?;
            Ok(Base { digest: descriptor.digest, manifest, config })
        }
        Location::Registry(image) => {
            let client = RegistryClient::new(&image.registry, settings).await?;
            let (media_type, bytes) = client.get_manifest(&image.repository, &image.reference).await?;
            let (digest, bytes) = if media_type.contains("index") || media_type.contains("manifest.list") {
                let index: Index = serde_json::from_slice(&bytes)
                    .map_err(|e| Error::service(format!("the index of {image} is unreadable: {e}"), None))?;
                let pick = index
                    .manifests
                    .iter()
                    .find(|m| m.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == "amd64"))
                    .ok_or_else(|| {
                        Error::usage(
                            format!("{image} has no linux/amd64 image"),
                            "use a base image built for linux/amd64",
                        )
                    })?;
                let (_, bytes) = client.get_manifest(&image.repository, &pick.digest.to_string()).await?;
                (pick.digest, bytes)
            } else {
                (Digest::of_bytes(&bytes), bytes)
            };
            let manifest: Manifest = serde_json::from_slice(&bytes)
                .map_err(|e| Error::service(format!("the manifest of {image} is unreadable: {e}"), None))?;
            for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
                if !cache.has_blob(&blob.digest) {
                    let temp = cache.temp_path();
                    client.get_blob(&image.repository, &blob.digest, &temp).await?;
                    cache.adopt_blob(&temp, &blob.digest)?;
                }
            }
            cache.write_blob(&bytes)?;
            let config: ImageConfig = serde_json::from_slice(&cache.read_blob(&manifest.config.digest)?)
                .map_err(|e| Error::storage("the base image's config is unreadable", e))?;
            Ok(Base { digest, manifest, config })
        }
    }
}

/// What the base holds that the image needs to know.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaseInfo {
    /// `/usr/bin/python3`, or whichever the base has.
    pub python: String,
    /// `3.11`.
    pub python_version: String,
    /// `2.36`.
    pub glibc: Option<String>,
}

/// Look through the base's layers (once per base; the answer is cached by its digest).
pub fn inspect(base: &Base, cache: &Layout, cache_dir: &Path) -> Result<BaseInfo> {
    let remembered = cache_dir.join("base-info").join(format!("{}.json", base.digest.hex()));
    if let Ok(text) = std::fs::read(&remembered)
        && let Ok(info) = serde_json::from_slice(&text)
    {
        return Ok(info);
    }
    let mut python = None;
    let mut versions: Vec<(u32, u32)> = Vec::new();
    let mut glibc = None;
    for layer in &base.manifest.layers {
        let file = std::fs::File::open(cache.blob_path(&layer.digest))
            .with_path("cannot open", &cache.blob_path(&layer.digest))?;
        let reader: Box<dyn Read> = if layer.media_type.ends_with("gzip") {
            Box::new(flate2::read::GzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut archive = tar::Archive::new(reader);
        let entries = archive.entries().map_err(|e| Error::storage("cannot read a base layer", e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| Error::storage("cannot read a base layer", e))?;
            let path =
                entry.path().map(|p| p.to_string_lossy().trim_start_matches("./").to_string()).unwrap_or_default();
            if path == "usr/bin/python3" {
                python = Some("/usr/bin/python3".to_string());
            }
            if let Some(rest) = path.strip_prefix("usr/lib/python3.")
                && let Some(minor) = rest.split('/').next().and_then(|m| m.parse::<u32>().ok())
                && !versions.contains(&(3, minor))
                && rest.contains("/os.py")
            {
                versions.push((3, minor));
            }
            if path == "var/lib/dpkg/status" {
                let mut text = String::new();
                let _ = entry.read_to_string(&mut text);
                glibc = text.split("\n\n").find(|stanza| stanza.starts_with("Package: libc6\n")).and_then(|stanza| {
                    stanza
                        .lines()
                        .find_map(|l| l.strip_prefix("Version: "))
                        .map(|v| v.split('-').next().unwrap_or(v).to_string())
                });
            }
        }
    }
    let (Some(python), Some((major, minor))) = (python, versions.iter().max().copied()) else {
        return Err(Error::usage(
            "the base image has no Python 3 (`/usr/bin/python3` with its standard library)",
            "use a base with Python 3, e.g. `mmdebstrap --variant=apt --include=python3 bookworm base.tar` then `aml-package base --rootfs-tar base.tar`",
        ));
    };
    let info = BaseInfo { python, python_version: format!("{major}.{minor}"), glibc };
    if let Some(dir) = remembered.parent() {
        let _ = std::fs::create_dir_all(dir);
        let _ = std::fs::write(&remembered, serde_json::to_vec(&info).unwrap_or_default());
    }
    Ok(info)
}

/// A root file system is a tar holding at least `etc/` and `usr/` or `bin/`: anything else
/// (a garbage file, `/etc/passwd`, a tar of a project) would build an image that cannot run.
pub fn check_rootfs(rootfs: &Path) -> Result<()> {
    let hint = "give a tar of a root file system, e.g. `mmdebstrap --variant=apt --include=python3 bookworm base.tar`";
    let not_rootfs = |what: String| Error::usage(format!("`{}` {what}", rootfs.display()), hint);
    let file = std::fs::File::open(rootfs).map_err(|e| not_rootfs(format!("cannot be read: {e}")))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let entries = archive.entries().map_err(|e| not_rootfs(format!("is not a tar archive: {e}")))?;
    let (mut etc, mut programs, mut count) = (false, false, 0usize);
    for entry in entries {
        let entry = entry.map_err(|e| not_rootfs(format!("is not a tar archive: {e}")))?;
        count += 1;
        let path = entry.path().map_err(|e| not_rootfs(format!("holds an unreadable path: {e}")))?;
        let path = path.to_string_lossy();
        let path = path.trim_start_matches("./");
        etc |= path == "etc" || path.starts_with("etc/");
        programs |= ["usr", "bin"].iter().any(|dir| path == *dir || path.starts_with(&format!("{dir}/")));
        if etc && programs {
            return Ok(());
        }
    }
    Err(not_rootfs(match count {
        0 => "is not a tar archive, or an empty one".to_string(),
        _ => "is a tar, but not of a root file system (it has no `etc/` and `usr/` or `bin/`)".to_string(),
    }))
}

/// Import a root filesystem tarball as a one-layer image (the layer kept as is, uncompressed).
pub fn import(rootfs: &Path, to: &Layout, tag: &str) -> Result<Descriptor> {
    let temp = to.temp_path();
    let mut input = std::fs::File::open(rootfs).map_err(|e| {
        Error::usage(
            format!("cannot read `{}`: {e}", rootfs.display()),
            "give a tar of a root file system (e.g. from mmdebstrap)",
        )
    })?;
    let copied = std::fs::File::create(&temp).with_path("cannot create", &temp).and_then(|output| {
        aml_client::digest::hash_and_copy(&mut input, output).map_err(|e| match e {
            aml_client::digest::CopyError::Read(e) => Error::storage(format!("cannot read `{}`", rootfs.display()), e),
            aml_client::digest::CopyError::Write(e) => Error::storage(format!("cannot write `{}`", temp.display()), e),
        })
    });
    let adopted = copied.and_then(|(digest, size)| to.adopt_blob(&temp, &digest).map(|()| (digest, size)));
    let (digest, size) = match adopted {
        Ok(done) => done,
        Err(error) => {
            // A full disk must not also keep the half-written copy.
            let _ = std::fs::remove_file(&temp);
            return Err(error);
        }
    };
    let layer =
        Descriptor { media_type: oci::LAYER_TAR.into(), digest, size, annotations: BTreeMap::new(), platform: None };
    let config = ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        config: RunConfig {
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
            ..RunConfig::default()
        },
        rootfs: RootFs { kind: "layers".into(), diff_ids: vec![digest] },
        history: vec![History {
            created_by: format!(
                "aml-package base --rootfs-tar {}",
                rootfs.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            ),
            comment: None,
        }],
    };
    let config_bytes = oci::to_json(&config)?;
    let config_digest = to.write_blob(&config_bytes)?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(oci::MANIFEST.into()),
        config: Descriptor {
            media_type: oci::CONFIG.into(),
            digest: config_digest,
            size: config_bytes.len() as u64,
            annotations: BTreeMap::new(),
            platform: None,
        },
        layers: vec![layer],
        annotations: BTreeMap::new(),
    };
    let manifest_bytes = oci::to_json(&manifest)?;
    let manifest_digest = to.write_blob(&manifest_bytes)?;
    let descriptor = Descriptor {
        media_type: oci::MANIFEST.into(),
        digest: manifest_digest,
        size: manifest_bytes.len() as u64,
        annotations: BTreeMap::new(),
        platform: None,
    };
    to.tag(&descriptor, tag)?;
    Ok(descriptor)
}
