//! The one HTTP transport every Azure call goes through (ARM, Entra, storage): reqwest over
//! rustls with the ring provider, the system's roots (SSL_CERT_FILE honoured), no redirects
//! (as the SDK's own client), bounded connect and per-try read times, and RFC 6761
//! `*.localhost` names answered with the loopback address as curl does — how a storage
//! emulator's production-style URLs (`account.blob.localhost:PORT`) are reached.

use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use azure_core::http::Transport;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use aml_core::error::{Error, Result};

/// rustls needs one process-wide crypto provider; the second install is a no-op error.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[derive(Debug)]
struct LocalhostAware;

impl Resolve for LocalhostAware {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        Box::pin(async move {
            if host == "localhost" || host.ends_with(".localhost") {
                let addrs: Addrs = Box::new(vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))].into_iter());
                return Ok(addrs);
            }
            let found = tokio::task::spawn_blocking(move || {
                (host.as_str(), 0).to_socket_addrs().map(|a| a.collect::<Vec<_>>())
            })
            .await
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// What differs between the tools' clients.
#[derive(Debug, Clone, Copy)]
pub struct TransportOptions {
    /// Bounds each try's wait for the next bytes (the retry policy bounds the whole).
    pub read_timeout: Duration,
    /// Keep-alive connections kept per host: a load test keeps one per concurrent request.
    pub idle_per_host: usize,
}

impl TransportOptions {
    /// Services: a slow answer is waited for up to `read_timeout` between bytes.
    pub fn service(read_timeout: Duration) -> TransportOptions {
        TransportOptions { read_timeout, idle_per_host: 32 }
    }
}

/// The client every transport starts from: bounded connect and read times, no redirects
/// (as the SDK's own client), `*.localhost` as loopback, keep-alive connections kept.
fn builder(options: TransportOptions) -> reqwest::ClientBuilder {
    install_crypto();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(options.read_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(LocalhostAware))
        .pool_max_idle_per_host(options.idle_per_host)
        .tcp_nodelay(true)
}

fn build(builder: reqwest::ClientBuilder) -> Result<Transport> {
    let client = builder.build().map_err(|e| Error::storage("cannot set up the HTTP client (TLS roots?)", e))?;
    Ok(Transport::new(Arc::new(client)))
}

/// The transport a pipeline sends through: reqwest over rustls (ring), the system's roots.
pub fn transport(options: TransportOptions) -> Result<Transport> {
    build(builder(options))
}

/// A transport that also trusts `extra_root` (a PEM certificate): the test emulator's own,
/// for its in-process clients, where `SSL_CERT_FILE` is not set.
pub fn transport_trusting(options: TransportOptions, extra_root: &[u8]) -> Result<Transport> {
    let certificate = reqwest::Certificate::from_pem(extra_root)
        .map_err(|e| Error::usage(format!("not a PEM certificate: {e}"), "give the certificate in PEM"))?;
    build(builder(options).add_root_certificate(certificate))
}
