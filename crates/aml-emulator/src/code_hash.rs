//! The content hash Azure ML checks a code snapshot against, computed here from
//! azure-ai-ml's own description of it (`_asset_utils.get_content_hash`, version 202208)
//! rather than with the tools' implementation, so the emulator catches a client that
//! drifts from it.

use std::io::Read;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// The file count; then, by lower-cased relative path, `#path#` and the size of each file;
/// then the bytes of each file in that order. Hex SHA-256.
pub fn content_hash(files: &[(String, PathBuf)]) -> Result<String, String> {
    let mut ordered: Vec<&(String, PathBuf)> = files.iter().collect();
    ordered.sort_by_cached_key(|(relative, _)| relative.to_lowercase());
    let mut hasher = Sha256::new();
    hasher.update(ordered.len().to_string());
    for (relative, path) in &ordered {
        let size = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.len();
        hasher.update(format!("#{relative}#{size}"));
    }
    let mut buffer = vec![0u8; 1 << 16];
    for (_, path) in &ordered {
        let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        loop {
            let read = file.read(&mut buffer).map_err(|e| format!("{}: {e}", path.display()))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
