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

/// A reqwest client; `read_timeout` bounds each try (the retry policy bounds the total).
pub fn client(read_timeout: Duration) -> Result<reqwest::Client> {
    install_crypto();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(read_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(LocalhostAware))
        .pool_max_idle_per_host(32)
        .build()
        .map_err(|e| Error::storage("cannot set up the HTTP client (TLS roots?)", e))
}

pub fn transport(read_timeout: Duration) -> Result<Transport> {
    Ok(wrap(client(read_timeout)?))
}

/// A client built elsewhere (the test emulator's, trusting its own certificate) as a transport.
pub fn wrap(client: reqwest::Client) -> Transport {
    Transport::new(Arc::new(client))
}
