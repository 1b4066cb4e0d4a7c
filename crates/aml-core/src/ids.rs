//! Names and random identifiers as Azure ML makes them, shared by both backends.

use crate::digest::Digest;
use crate::error::{Error, Result};

/// Bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::service(format!("cannot read random bytes from the operating system: {e}"), None))?;
    Ok(bytes)
}

/// `N` random bytes as lower-case hex: keys, tokens, request ids.
pub fn random_hex<const N: usize>() -> Result<String> {
    Ok(crate::digest::hex(&random_bytes::<N>()?))
}

/// A random (version 4) UUID: the names azure-ai-ml gives anonymous assets.
pub fn uuid4() -> Result<String> {
    Ok(uuid::Builder::from_random_bytes(random_bytes::<16>()?).into_uuid().hyphenated().to_string())
}

/// Azure ML names jobs like `sincere_house_2gmt7kxs`; so do we.
pub fn job_name() -> String {
    const ADJECTIVES: [&str; 16] = [
        "amber", "brave", "calm", "dapper", "eager", "frosty", "gentle", "happy", "icy", "jolly", "keen", "lucid",
        "mellow", "nimble", "quiet", "sincere",
    ];
    const NOUNS: [&str; 16] = [
        "apple", "bridge", "cloud", "dream", "engine", "forest", "garden", "harbor", "island", "jungle", "kettle",
        "lemon", "meadow", "night", "ocean", "river",
    ];
    let seed = format!("{:?}{}{:?}", std::time::SystemTime::now(), std::process::id(), std::thread::current().id());
    let digest = Digest::of_bytes(seed.as_bytes()).hex();
    let bytes = digest.as_bytes();
    let pick = |i: usize| usize::from(bytes[i] % 16);
    let suffix: String = digest.chars().skip(4).take(8).collect();
    format!("{}_{}_{suffix}", ADJECTIVES[pick(0)], NOUNS[pick(1)])
}

/// As `az ml`, the experiment defaults to the name of the current folder.
pub fn default_experiment() -> String {
    let cwd = std::env::current_dir().ok();
    let name = cwd
        .as_ref()
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Default".into());
    let cleaned: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if cleaned.is_empty() { "Default".into() } else { cleaned }
}
