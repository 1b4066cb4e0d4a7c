//! The image layer cache kept under a size (`AML_PACKAGE_CACHE_MIB`): after each image, the
//! blobs used least recently go first until the cache fits. The blobs of the image just
//! built stay (and count as just used), and so does any blob used in the last `IN_USE`:
//! another `aml-package` may be about to copy it. A layer whose blob went is built again
//! the next time it is needed (the cache checks for the blob before it reuses a layer).

use std::fs;
use std::time::{Duration, SystemTime};

use aml_client::digest::Digest;
use aml_client::oci::Layout;

const IN_USE: Duration = Duration::from_secs(600);

/// Mark `digests` as used now, then remove the least recently used of the others until the
/// cache's blobs fit in `limit_bytes`. Returns the bytes freed. Errors are not the image's:
/// a blob that cannot be touched or removed is left.
pub fn prune(cache: &Layout, limit_bytes: u64, keep: &[Digest]) -> u64 {
    let now = SystemTime::now();
    for digest in keep {
        if let Ok(file) = fs::File::options().write(true).open(cache.blob_path(digest)) {
            let _ = file.set_modified(now);
        }
    }
    let dir = cache.root().join("blobs").join("sha256");
    let mut blobs: Vec<(SystemTime, u64, std::path::PathBuf)> = fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let meta = entry.metadata().ok().filter(|m| m.is_file())?;
            Some((meta.modified().ok()?, meta.len(), entry.path()))
        })
        .collect();
    let mut total: u64 = blobs.iter().map(|(_, size, _)| size).sum();
    if total <= limit_bytes {
        return 0;
    }
    blobs.sort_by_key(|(modified, _, _)| *modified);
    let kept: Vec<std::path::PathBuf> = keep.iter().map(|d| cache.blob_path(d)).collect();
    let mut freed = 0;
    for (modified, size, path) in blobs {
        if total <= limit_bytes {
            break;
        }
        let recent = now.duration_since(modified).map_or(true, |age| age < IN_USE);
        if recent || kept.contains(&path) {
            continue;
        }
        if fs::remove_file(&path).is_ok() {
            total -= size;
            freed += size;
        }
    }
    freed
}
