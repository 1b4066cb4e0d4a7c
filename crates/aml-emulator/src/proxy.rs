//! A TCP proxy on 127.0.0.1 that harms connections mid-body: after a connection has carried
//! `after_bytes` from the client, it is closed (`start`) or one byte of what follows is
//! flipped (`flipping`), for the first `count` connections that get that far. Stands between
//! a client and Azurite to prove uploads survive resets and never store altered bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct Proxy {
    pub port: u16,
    resets_left: Arc<AtomicU32>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Proxy {
    pub fn start(target_port: u16, after_bytes: u64, resets: u32) -> Result<Proxy, String> {
        Proxy::with_harm(target_port, after_bytes, resets, Harm::Cut)
    }

    /// Flip one byte just past `after_bytes` on the first `flips` connections that get that far.
    pub fn flipping(target_port: u16, after_bytes: u64, flips: u32) -> Result<Proxy, String> {
        Proxy::with_harm(target_port, after_bytes, flips, Harm::Flip)
    }

    fn with_harm(target_port: u16, after_bytes: u64, resets: u32, harm: Harm) -> Result<Proxy, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).map_err(|e| format!("bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| format!("bind: {e}"))?.port();
        let resets_left = Arc::new(AtomicU32::new(resets));
        let left = resets_left.clone();
        runtime.spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { continue };
                let left = left.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)).await else { return };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let downstream = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                    });
                    let mut buffer = vec![0u8; 64 * 1024];
                    let mut carried = 0u64;
                    let mut harmed = false;
                    loop {
                        let n = client_read.read(&mut buffer).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        let before = carried;
                        carried += n as u64;
                        if carried > after_bytes
                            && !harmed
                            && left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| l.checked_sub(1)).is_ok()
                        {
                            harmed = true;
                            match harm {
                                // Cut: both directions go, mid-body.
                                Harm::Cut => {
                                    downstream.abort();
                                    return;
                                }
                                Harm::Flip => {
                                    let at = (after_bytes.saturating_sub(before) as usize).min(n - 1);
                                    buffer[at] ^= 0xFF;
                                }
                            }
                        }
                        if server_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = server_write.shutdown().await;
                    let _ = downstream.await;
                });
            }
        });
        Ok(Proxy { port, resets_left, runtime: Some(runtime) })
    }

    /// How many of the resets asked for have not happened yet.
    pub fn resets_left(&self) -> u32 {
        self.resets_left.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Copy)]
enum Harm {
    Cut,
    Flip,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
