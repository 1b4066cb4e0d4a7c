//! `http(s)://` inputs, fetched once into the workspace: each file kept under its content's
//! digest (`downloads/<sha256>/<file name>`), each URL's last answer (digest, ETag,
//! Last-Modified) under the digest of the URL, so a later run asks the server only whether
//! it changed. The URL itself (a SAS in its query is a secret) is never written or printed.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use aml_core::digest::Digest;
use aml_core::error::{Error, IoContext, Result};
use aml_core::settings::Settings;

/// A data file can take a while on a slow link; the whole answer is allowed this long.
const TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Serialize, Deserialize)]
struct Fetched {
    digest: String,
    file_name: String,
    etag: Option<String>,
    last_modified: Option<String>,
}

/// The local copy of `url`'s file: fetched now, or the cached one when the server says it
/// has not changed (or cannot be reached and a copy exists, said as a warning).
pub async fn fetch(root: &Path, url: &str, settings: &Settings) -> Result<PathBuf> {
    let shown = aml_http::url::shown(url);
    let dir = root.join("downloads");
    let index = dir.join("index").join(format!("{}.json", Digest::of_bytes(url.as_bytes()).hex()));
    let known: Option<Fetched> = fs::read(&index).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let cached = known.as_ref().map(|k| dir.join(&k.digest).join(&k.file_name)).filter(|p| p.is_file());
    let mut headers = Vec::new();
    if let (Some(known), Some(_)) = (&known, &cached) {
        if let Some(etag) = &known.etag {
            headers.push(("If-None-Match", etag.as_str()));
        }
        if let Some(modified) = &known.last_modified {
            headers.push(("If-Modified-Since", modified.as_str()));
        }
    }
    let answer = match aml_http::get::get(settings, url, &headers, TIMEOUT).await {
        Ok(answer) => answer,
        Err(error) => match cached {
            Some(path) => {
                aml_core::status!("warning: `{shown}` cannot be reached ({error}); using the copy fetched before");
                return Ok(path);
            }
            None => return Err(error),
        },
    };
    if answer.status == 304
        && let Some(path) = cached
    {
        aml_core::status!("input `{shown}` unchanged since it was fetched");
        return Ok(path);
    }
    if !(200..300).contains(&answer.status) {
        return Err(Error::usage(
            format!("`{shown}` answered HTTP {}", answer.status),
            "check the input's path; the data must be readable without credentials",
        ));
    }
    let digest = Digest::of_bytes(&answer.body);
    let file_name = file_name(url);
    let folder = dir.join(digest.hex());
    let path = folder.join(&file_name);
    if !path.is_file() {
        fs::create_dir_all(&folder).with_path("cannot create", &folder)?;
        // Written beside, then renamed: a killed fetch leaves no half file under the digest.
        let partial = folder.join(format!(".{file_name}.partial-{}", std::process::id()));
        fs::write(&partial, &answer.body).with_path("cannot write", &partial)?;
        // Jobs read it where it is, as Azure ML mounts inputs: read-only.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&partial, fs::Permissions::from_mode(0o444)).with_path("cannot protect", &partial)?;
        fs::rename(&partial, &path).with_path("cannot move into place", &path)?;
    }
    let record = Fetched {
        digest: digest.hex(),
        file_name,
        etag: answer.header("etag").map(str::to_owned),
        last_modified: answer.header("last-modified").map(str::to_owned),
    };
    let index_dir = dir.join("index");
    fs::create_dir_all(&index_dir).with_path("cannot create", &index_dir)?;
    let partial = index.with_extension(format!("partial-{}", std::process::id()));
    fs::write(&partial, serde_json::to_vec(&record).unwrap_or_default()).with_path("cannot write", &partial)?;
    fs::rename(&partial, &index).with_path("cannot move into place", &index)?;
    aml_core::status!("input `{shown}` fetched ({} bytes, {digest})", answer.body.len());
    Ok(path)
}

/// The URL's last path segment, as a plain file name (`data.csv`), else `data`.
fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or_default();
    let plain = !last.is_empty()
        && last != "."
        && last != ".."
        && last.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if plain { last.to_string() } else { "data".to_string() }
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn the_file_keeps_a_plain_name_and_nothing_else() {
        assert_eq!(file_name("https://host/datasets/iris.csv?sv=1&sig=secret"), "iris.csv");
        assert_eq!(file_name("https://host/"), "data");
        assert_eq!(file_name("https://host/a/..%2F..%2Fetc"), "data");
        assert_eq!(file_name("https://host/a/.."), "data");
    }
}
