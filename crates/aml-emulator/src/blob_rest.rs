//! The emulator's own Blob REST calls — create a container, list, get and put a blob —
//! written from the service's REST reference and authorised with SAS tokens the emulator
//! signs itself. What the tools upload is read back without the tools' blob code, so a
//! naming or encoding mistake shared by both sides cannot pass unseen.

use std::time::Duration;

use aml_http::client::{Client, HttpMethod, Response};
use aml_http::pipeline::Retry;
use aml_http::transport::TransportOptions;
use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::common::Storage;

const VERSION: &str = "2021-08-06";

const TIMEOUT: Duration = Duration::from_secs(60);

pub struct BlobRest {
    client: Client,
    storage: Storage,
}

impl BlobRest {
    pub fn new(storage: &Storage) -> Result<BlobRest, String> {
        let options = TransportOptions::service(TIMEOUT);
        // Retried as the tools retry: the storage may sit behind the fault proxy, and a
        // pooled connection may have been closed while a job ran.
        let retry = Retry::service(&crate::common::settings());
        let client = match &storage.ca {
            None => Client::new(options, retry),
            Some(ca) => {
                let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
                Client::trusting(options, retry, &pem)
            }
        }
        .map_err(|e| e.to_string())?;
        Ok(BlobRest { client, storage: storage.clone() })
    }

    /// Create Container; one that exists already is fine.
    pub async fn create_container(&self, container: &str) -> Result<(), String> {
        let url = format!("{}?restype=container&{}", self.storage.url(container), self.storage.account_sas());
        let answer = self.send(HttpMethod::Put, &url, &[], Bytes::new()).await?;
        match answer.status {
            201 | 409 => Ok(()),
            status => Err(failure("creating container", container, status, &answer)),
        }
    }

    /// The names of every blob under `prefix`, page after page.
    pub async fn list(&self, container: &str, prefix: &str) -> Result<Vec<String>, String> {
        let mut names = Vec::new();
        let mut marker = String::new();
        loop {
            let mut url = format!(
                "{}?restype=container&comp=list&prefix={}&{}",
                self.storage.url(container),
                percent_encode(prefix, false),
                self.storage.container_sas(container)
            );
            if !marker.is_empty() {
                url.push_str(&format!("&marker={}", percent_encode(&marker, false)));
            }
            let answer = self.send(HttpMethod::Get, &url, &[], Bytes::new()).await?;
            if answer.status != 200 {
                return Err(failure("listing", prefix, answer.status, &answer));
            }
            let xml = String::from_utf8_lossy(&answer.body);
            names.extend(elements(&xml, "Name").into_iter().map(|name| xml_text(&name)));
            marker = elements(&xml, "NextMarker").first().map(|m| xml_text(m)).unwrap_or_default();
            if marker.is_empty() {
                return Ok(names);
            }
        }
    }

    pub async fn get(&self, container: &str, name: &str) -> Result<Bytes, String> {
        let answer = self.send(HttpMethod::Get, &self.blob_url(container, name), &[], Bytes::new()).await?;
        match answer.status {
            200 => Ok(answer.body),
            status => Err(failure("reading", name, status, &answer)),
        }
    }

    /// Put Blob: the whole blob in one request.
    pub async fn put(&self, container: &str, name: &str, bytes: Bytes) -> Result<(), String> {
        let headers = [("x-ms-blob-type", "BlockBlob")];
        let answer = self.send(HttpMethod::Put, &self.blob_url(container, name), &headers, bytes).await?;
        match answer.status {
            201 => Ok(()),
            status => Err(failure("writing", name, status, &answer)),
        }
    }

    fn blob_url(&self, container: &str, name: &str) -> String {
        format!(
            "{}/{}?{}",
            self.storage.url(container),
            percent_encode(name, true),
            self.storage.container_sas(container)
        )
    }

    async fn send(
        &self,
        method: HttpMethod,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Response, String> {
        let mut all = vec![("x-ms-version", VERSION)];
        all.extend_from_slice(headers);
        self.client.send(method, url, &all, body, TIMEOUT).await.map_err(|e| e.to_string())
    }
}

fn failure(doing: &str, what: &str, status: u16, answer: &Response) -> String {
    let code = answer.header("x-ms-error-code").unwrap_or("no error code");
    format!("{doing} `{what}` in Azurite: HTTP {status} ({code})")
}

/// RFC 3986's unreserved characters stay; every other byte is `%XX`. Chosen here, not
/// taken from the tools, so the two sides do not share a choice of what to escape.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A blob's path keeps its `/`.
const BLOB_PATH: &AsciiSet = &UNRESERVED.remove(b'/');

fn percent_encode(text: &str, keep_slash: bool) -> String {
    utf8_percent_encode(text, if keep_slash { BLOB_PATH } else { UNRESERVED }).to_string()
}

/// The text of every `<tag>…</tag>` in `xml`, in order (the listing has no nesting of the
/// same tag).
fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        found.push(after[..end].to_string());
        rest = &after[end + close.len()..];
    }
    found
}

/// XML's five predefined entities and numeric character references.
fn xml_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let entity = &rest[at..];
        let Some(end) = entity.find(';') else {
            out.push_str(entity);
            return out;
        };
        let name = &entity[1..end];
        let decoded = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&entity[..=end]),
        }
        rest = &entity[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_byte_by_byte_and_listings_decoded() {
        assert_eq!(percent_encode("a b/Ü+c", true), "a%20b/%C3%9C%2Bc");
        assert_eq!(percent_encode("a/b", false), "a%2Fb");
        let xml = "<Blobs><Blob><Name>x &amp; y</Name></Blob><Blob><Name>&#x4E2D;&lt;</Name></Blob></Blobs>";
        let names: Vec<String> = elements(xml, "Name").iter().map(|n| xml_text(n)).collect();
        assert_eq!(names, ["x & y", "中<"]);
    }
}
