//! URLs as messages and logs may show them, and the one percent-encoder.
//!
//! A URL can carry secrets in two places: its user info (`https://user:password@host`) and
//! its query (a SAS token, a `code=` key). `SafeUrl`'s `Display` and `Debug` print neither,
//! so a URL formatted into an error, a log line or a progress message cannot leak them.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

pub use url::Url;

/// RFC 3986's unreserved characters stay; everything else is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// One path segment or query value, percent-encoded (spaces as `%20`, not `+`).
pub fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// A URL whose `Display` is scheme, host, port and path only.
#[derive(Clone, PartialEq, Eq)]
pub struct SafeUrl(Url);

impl SafeUrl {
    pub fn parse(text: &str) -> Option<SafeUrl> {
        Url::parse(text).ok().map(SafeUrl)
    }

    pub fn url(&self) -> &Url {
        &self.0
    }
}

impl From<Url> for SafeUrl {
    fn from(url: Url) -> Self {
        SafeUrl(url)
    }
}

impl fmt::Display for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.0;
        write!(f, "{}://", url.scheme())?;
        if let Some(host) = url.host_str() {
            f.write_str(host)?;
        }
        if let Some(port) = url.port() {
            write!(f, ":{port}")?;
        }
        f.write_str(url.path())
    }
}

impl fmt::Debug for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafeUrl({self})")
    }
}

/// A URL given as text, for a message: what `SafeUrl` shows, or, when it does not parse,
/// the text up to its query with any user info removed.
pub fn shown(text: &str) -> String {
    match SafeUrl::parse(text) {
        Some(url) => url.to_string(),
        None => {
            let before_query = text.split(['?', '#']).next().unwrap_or(text);
            match before_query.split_once("://") {
                Some((scheme, rest)) => {
                    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
                    format!("{scheme}://{host}{path}")
                }
                None => before_query.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_query_are_never_shown() {
        let url =
            SafeUrl::parse("https://user:pw@acct.blob.core.windows.net:8443/c/b?sv=2024&sig=SECRET#frag").unwrap();
        assert_eq!(url.to_string(), "https://acct.blob.core.windows.net:8443/c/b");
        assert_eq!(format!("{url:?}"), "SafeUrl(https://acct.blob.core.windows.net:8443/c/b)");
        assert_eq!(shown("http://user:pw@127.0.0.1:9/score?k=v"), "http://127.0.0.1:9/score");
        assert_eq!(shown("not a url?sig=SECRET"), "not a url");
        assert_eq!(shown("weird://u:p@[::1/x?y"), "weird://[::1/x");
    }

    #[test]
    fn components_keep_only_unreserved_characters() {
        assert_eq!(encode_component("a b/ü~.-_"), "a%20b%2F%C3%BC~.-_");
    }
}
