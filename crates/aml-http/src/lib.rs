//! The one outgoing HTTP stack of the tools: reqwest (rustls, ring) under azure_core's
//! pipeline. Only this crate builds a client; every other crate asks it for one.

pub mod client;
pub mod get;
pub mod pipeline;
pub mod scoring;
pub mod transport;
pub mod url;

/// Every cause of an azure_core error, outermost first: its Display alone hides the reason
/// (a TLS failure reads "retry policy expired").
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    // A dependency's error may quote the URL it was given, query and user info included.
    aml_core::redact::urls(&parts.join(": "))
}

/// URLs may carry SAS tokens in their query and credentials in their user info; messages
/// show neither (`url::shown`).
pub fn strip_query(url: &str) -> String {
    url::shown(url)
}
