//! Uploads, downloads, conditional writes and listings against Azurite, the storage
//! emulator Microsoft maintains (installed by `cargo xtask setup`), which checks SharedKey
//! signatures, Content-MD5 and block lists as Azure Storage does. Azurite is started here
//! rather than through the emulator crate, which depends on this one: these tests are what
//! `cargo xtask mutants upload` runs against each change of this module, and they must
//! rebuild nothing but it.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::*;

type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Azurite's documented development account.
const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const MIB: usize = 1 << 20;

struct Azurite {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Azurite {
    fn start() -> std::result::Result<Azurite, Box<dyn std::error::Error>> {
        let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-tools/node_modules/.bin/azurite-blob");
        assert!(
            bin.exists(),
            "the test set-up is missing Azurite (`{}`): run `cargo xtask setup` once (or `cargo xtask test`)",
            bin.display()
        );
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(&bin)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string(), "--silent", "--skipApiVersionCheck"])
            .arg("--location")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let azurite = Azurite { port, child, _dir: dir };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!("Azurite did not listen on {port} within 30 s").into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(azurite)
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
}

/// A container of the account at `port` (Azurite's, or a proxy's in front of it), path-style
/// as Azurite serves it, made if missing.
async fn container(port: u16, name: &str, key: &str, options: BlobOptions) -> Result<Container> {
    let container = container_at(port, name, key, options)?;
    container.create().await?;
    Ok(container)
}

/// A client of a container, without creating it.
fn container_at(port: u16, name: &str, key: &str, options: BlobOptions) -> Result<Container> {
    let transport =
        aml_http::transport::transport(aml_http::transport::TransportOptions::service(Duration::from_secs(30)))?;
    let url = format!("http://127.0.0.1:{port}/{ACCOUNT}/{name}");
    Container::new(ACCOUNT, &url, StorageAuth::AccountKey(key.to_string().into()), &transport, options)
}

/// Blocks of one MiB, two in flight; two retries, quickly.
fn small_blocks() -> BlobOptions {
    BlobOptions {
        retry: Retry::Backoff {
            max_retries: 2,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_total: Duration::from_secs(10),
        },
        block_size: MIB,
        blocks_in_flight: 2,
    }
}

/// Bytes that differ at every offset, so a block out of place or repeated shows.
fn content(size: usize) -> Vec<u8> {
    (0..size).map(|i| ((i * 7 + i / 251) % 256) as u8).collect()
}

/// The committed block list's sizes, read from the service.
async fn committed_blocks(container: &Container, name: &str) -> Result<Vec<u64>> {
    let request = Request::new(container.blob_url(name, "comp=blocklist&blocklisttype=committed")?, Method::Get);
    let response = container.send_expecting(request, "reading a block list", &[200]).await?;
    let body = String::from_utf8_lossy(response.body().as_ref()).to_string();
    Ok(body
        .split("<Size>")
        .skip(1)
        .filter_map(|s| s.split("</Size>").next().and_then(|n| n.trim().parse().ok()))
        .collect())
}

#[test]
fn a_file_goes_up_in_blocks_of_the_size_asked_in_order_and_comes_back_equal() -> TestResult {
    let azurite = Azurite::start()?;
    let runtime = runtime()?;
    let dir = tempfile::tempdir()?;
    runtime.block_on(async {
        let container = container(azurite.port, "blocks", KEY, small_blocks()).await?;
        // Over the one-request size, a part block at the end; then whole blocks only; then
        // at the one-request size itself.
        for (name, size, blocks) in [
            ("model/weights.bin", 4 * MIB + 123, vec![MIB as u64, MIB as u64, MIB as u64, MIB as u64, 123]),
            ("model/exact.bin", 5 * MIB, vec![MIB as u64; 5]),
            ("model/one-put.bin", 4 * MIB, vec![]),
        ] {
            let path = dir.path().join(name.replace('/', "-"));
            std::fs::write(&path, content(size))?;
            let told = AtomicU64::new(0);
            let sent = container
                .upload_file(&path, name, &|n| {
                    told.fetch_add(n, Ordering::SeqCst);
                })
                .await?;
            assert_eq!((sent, told.load(Ordering::SeqCst)), (size as u64, size as u64), "{name}");
            assert_eq!(committed_blocks(&container, name).await?, blocks, "{name}");
            assert_eq!(container.read(name).await?, Some(content(size)), "{name}");
            let back = dir.path().join("back").join(name);
            let got = AtomicU64::new(0);
            let written = container
                .download(name, &back, &|n| {
                    got.fetch_add(n, Ordering::SeqCst);
                })
                .await?;
            assert_eq!((written, got.load(Ordering::SeqCst)), (size as u64, size as u64));
            assert_eq!(std::fs::read(&back)?, content(size), "{name}");
        }
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"")?;
        assert_eq!(container.upload_file(&empty, "empty", &|_| {}).await?, 0);
        assert_eq!(container.read("empty").await?, Some(Vec::new()));
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}

#[test]
fn a_block_corrupted_on_the_way_is_refused_by_the_service_and_nothing_is_committed() -> TestResult {
    let azurite = Azurite::start()?;
    let runtime = runtime()?;
    let dir = tempfile::tempdir()?;
    runtime.block_on(async {
        for (name, size) in [("big.bin", 4 * MIB + 5), ("small.bin", 1000)] {
            // The first body byte of the first request for this blob flipped; every other
            // byte as sent.
            // Only the upload goes through the proxy: the container is made beside it.
            container(azurite.port, "corrupted", KEY, small_blocks()).await?;
            let proxy = FlippingProxy::start(azurite.port, name).await?;
            let container = container_at(proxy.port, "corrupted", KEY, small_blocks())?;
            let path = dir.path().join(name);
            std::fs::write(&path, content(size))?;
            let Err(refused) = container.upload_file(&path, name, &|_| {}).await else {
                return Err(format!("`{name}` went up with a flipped byte: no Content-MD5 was checked").into());
            };
            assert!(proxy.flipped.load(Ordering::SeqCst), "the proxy flipped nothing");
            assert!(refused.to_string().contains("Md5Mismatch"), "{refused}");
            assert_eq!(container.metadata(name).await?, None, "a corrupted blob was committed");
        }
        Ok(())
    })
}

#[test]
fn a_name_is_stored_and_listed_as_given_whatever_its_characters() -> TestResult {
    let azurite = Azurite::start()?;
    let runtime = runtime()?;
    let dir = tempfile::tempdir()?;
    runtime.block_on(async {
        let container = container(azurite.port, "names", KEY, small_blocks()).await?;
        let names = [
            "plain.txt",
            "with space/and+plus.txt",
            "query?and#hash.txt",
            "percent%20literal.txt",
            "xml<&>'\"chars.txt",
            "ünïcødé/文件.txt",
        ];
        let files: Vec<(PathBuf, String)> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let path = dir.path().join(format!("{i}"));
                std::fs::write(&path, name.as_bytes()).map(|()| (path, name.to_string()))
            })
            .collect::<std::io::Result<_>>()?;
        let upload = container.upload_files(&files, &|_| {}).await?;
        let total: usize = names.iter().map(|n| n.len()).sum();
        assert_eq!((upload.files, upload.bytes), (names.len() as u64, total as u64));
        let mut expected: Vec<(String, u64)> = names.iter().map(|n| (n.to_string(), n.len() as u64)).collect();
        expected.sort();
        assert_eq!(container.list_sized("").await?, expected);
        assert_eq!(container.list("with space/").await?, ["with space/and+plus.txt"]);
        for name in names {
            assert_eq!(container.read(name).await?, Some(name.as_bytes().to_vec()), "{name}");
        }
        assert_eq!(container.read("missing").await?, None);
        let Err(missing) = container.download("missing", &dir.path().join("m"), &|_| {}).await else {
            return Err("a missing blob was downloaded".into());
        };
        assert!(missing.to_string().contains("downloading `missing`: HTTP 404"), "{missing}");
        Ok(())
    })
}

#[test]
fn a_listing_follows_the_service_from_page_to_page() -> TestResult {
    let azurite = Azurite::start()?;
    let runtime = runtime()?;
    let dir = tempfile::tempdir()?;
    runtime.block_on(async {
        let container = container(azurite.port, "pages", KEY, small_blocks()).await?;
        // The service answers at most 5000 names a page.
        let one = dir.path().join("one");
        std::fs::write(&one, b"1")?;
        let files: Vec<(PathBuf, String)> = (0..5003).map(|i| (one.clone(), format!("many/{i:05}"))).collect();
        let upload = container.upload_files(&files, &|_| {}).await?;
        assert_eq!((upload.files, upload.bytes), (5003, 5003));
        let listed = container.list("many/").await?;
        assert_eq!(listed.len(), 5003);
        assert_eq!(listed.last().map(String::as_str), Some("many/05002"));
        Ok(())
    })
}

#[test]
fn a_conditional_write_loses_to_the_writer_that_came_first() -> TestResult {
    let azurite = Azurite::start()?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let container = container(azurite.port, "records", KEY, small_blocks()).await?;
        assert_eq!(container.read_tagged("record.json").await?, None);
        assert!(container.put_bytes("record.json", b"{\"v\":1}".to_vec(), Condition::Absent).await?);
        assert!(!container.put_bytes("record.json", b"{\"v\":2}".to_vec(), Condition::Absent).await?);
        let Some((bytes, etag)) = container.read_tagged("record.json").await? else {
            return Err("the record is gone".into());
        };
        assert_eq!(bytes, b"{\"v\":1}");
        assert!(container.put_bytes("record.json", b"{\"v\":3}".to_vec(), Condition::Unchanged(etag.clone())).await?);
        assert!(!container.put_bytes("record.json", b"{\"v\":4}".to_vec(), Condition::Unchanged(etag)).await?);
        assert!(container.put_bytes("record.json", b"{\"v\":5}".to_vec(), Condition::Any).await?);
        assert_eq!(container.read("record.json").await?, Some(b"{\"v\":5}".to_vec()));
        Ok(())
    })
}

#[test]
fn metadata_is_none_for_a_missing_blob_and_what_was_set_otherwise() -> TestResult {
    let azurite = Azurite::start()?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let container = container(azurite.port, "meta", KEY, small_blocks()).await?;
        assert_eq!(container.metadata("snapshot").await?, None);
        container.put_bytes("snapshot", b"x".to_vec(), Condition::Any).await?;
        assert_eq!(container.metadata("snapshot").await?, Some(BTreeMap::new()));
        let set: BTreeMap<String, String> = [("hash".to_string(), "abc".to_string()), ("n".into(), "3".into())].into();
        container.set_metadata("snapshot", &set).await?;
        assert_eq!(container.metadata("snapshot").await?, Some(set));
        Ok(())
    })
}

#[test]
fn a_wrong_account_key_is_refused_with_what_to_check() -> TestResult {
    let azurite = Azurite::start()?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let wrong = BASE64.encode([7u8; 64]);
        let transport =
            aml_http::transport::transport(aml_http::transport::TransportOptions::service(Duration::from_secs(30)))?;
        let url = format!("http://127.0.0.1:{}/{ACCOUNT}/denied", azurite.port);
        let container =
            Container::new(ACCOUNT, &url, StorageAuth::AccountKey(wrong.into()), &transport, small_blocks())?;
        let Err(refused) = container.create().await else { return Err("a wrong key was accepted".into()) };
        assert!(refused.to_string().contains("HTTP 403 AuthorizationFailure"), "{refused}");
        assert!(refused.hint().is_some_and(|h| h.contains("account key or SAS")), "{refused:?}");
        for code in ["AuthenticationFailed", "AuthorizationFailure"] {
            assert!(refusal_hint(code).is_some_and(|h| h.contains("account key or SAS")), "{code}");
        }
        // An account that takes identities only: Azurite cannot be one.
        assert!(refusal_hint("KeyBasedAuthenticationNotPermitted").is_some_and(|h| h.contains("identity-based")));
        assert_eq!(refusal_hint("BlobNotFound"), None);
        let not_base64 =
            Container::new(ACCOUNT, &url, StorageAuth::AccountKey("not base64!".into()), &transport, small_blocks());
        assert!(not_base64.is_err());
        Ok(())
    })
}

#[test]
fn a_shared_access_signature_is_sent_with_every_request_and_never_shown() -> TestResult {
    let azurite = Azurite::start()?;
    let runtime = runtime()?;
    let dir = tempfile::tempdir()?;
    runtime.block_on(async {
        // The container made with the key, then used with an account SAS only.
        container(azurite.port, "signed", KEY, small_blocks()).await?;
        let sas = account_sas()?;
        let transport =
            aml_http::transport::transport(aml_http::transport::TransportOptions::service(Duration::from_secs(30)))?;
        let url = format!("http://127.0.0.1:{}/{ACCOUNT}/signed", azurite.port);
        let container =
            Container::new(ACCOUNT, &url, StorageAuth::Sas(format!("?{sas}").into()), &transport, small_blocks())?;
        container.create().await?;
        let path = dir.path().join("f");
        std::fs::write(&path, content(2 * MIB + 1))?;
        container.upload_file(&path, "data/f", &|_| {}).await?;
        assert_eq!(container.list("data/").await?, ["data/f"]);
        assert_eq!(container.read("data/f").await?, Some(content(2 * MIB + 1)));
        assert!(!container.put_bytes("data/f", Vec::new(), Condition::Unchanged("\"0x1\"".into())).await?);
        // A refusal never shows the signature.
        let denied = Container::new(
            ACCOUNT,
            &url,
            StorageAuth::Sas("sv=2021-08-06&sig=bad".into()),
            &transport,
            small_blocks(),
        )?;
        let Err(error) = denied.read("data/f").await else { return Err("a bad signature was accepted".into()) };
        assert!(!error.to_string().contains("sig="), "the signature was shown: {error}");
        Ok(())
    })
}

/// An account SAS for the blob service, as the storage account's keys sign one (version
/// 2020-12-06 and later: the string-to-sign ends with the encryption scope).
fn account_sas() -> std::result::Result<String, Box<dyn std::error::Error>> {
    let expiry = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(1))?
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let (permissions, services, types, version) = ("racwdl", "b", "sco", STORAGE_VERSION);
    let to_sign = format!("{ACCOUNT}\n{permissions}\n{services}\n{types}\n\n{expiry}\n\nhttp,https\n{version}\n\n");
    let mut mac = HmacSha256::new_from_slice(&BASE64.decode(KEY)?)?;
    mac.update(to_sign.as_bytes());
    let signature = BASE64.encode(mac.finalize().into_bytes());
    Ok(format!(
        "sv={version}&ss={services}&srt={types}&sp={permissions}&se={}&spr=http,https&sig={}",
        aml_http::url::encode_component(&expiry),
        aml_http::url::encode_component(&signature)
    ))
}

#[test]
fn block_size_and_blocks_in_flight_come_from_the_settings_within_bounds() {
    let options = |vars: &[(&'static str, &str)]| {
        BlobOptions::from_settings(&Settings::from_vars(vars.iter().map(|(k, v)| (*k, v.to_string()))))
    };
    let default = options(&[]);
    assert_eq!((default.block_size, default.blocks_in_flight), (BLOCK_SIZE, BLOCKS_IN_FLIGHT));
    let set = options(&[(EnvVars::AML_BLOB_BLOCK_MIB, "2"), (EnvVars::AML_BLOB_BLOCKS_IN_FLIGHT, "3")]);
    assert_eq!((set.block_size, set.blocks_in_flight), (2 * MIB, 3));
    let capped = options(&[(EnvVars::AML_BLOB_BLOCK_MIB, "100000"), (EnvVars::AML_BLOB_BLOCKS_IN_FLIGHT, "0")]);
    assert_eq!((capped.block_size, capped.blocks_in_flight), (256 * MIB, BLOCKS_IN_FLIGHT));
    assert_eq!(options(&[(EnvVars::AML_BLOB_BLOCK_MIB, "256")]).block_size, 256 * MIB);
}

/// A TCP proxy in front of Azurite that flips the first body byte of the first request
/// whose request line names `marker`, and passes every other byte as it came.
struct FlippingProxy {
    port: u16,
    flipped: std::sync::Arc<AtomicBool>,
}

impl FlippingProxy {
    async fn start(upstream: u16, marker: &str) -> std::io::Result<FlippingProxy> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let flipped = std::sync::Arc::new(AtomicBool::new(false));
        let (marker, done) = (marker.to_string(), flipped.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (marker, done) = (marker.clone(), done.clone());
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else { return };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let back = tokio::spawn(async move { tokio::io::copy(&mut server_read, &mut client_write).await });
                    let _ = flip_once(&mut client_read, &mut server_write, &marker, &done).await;
                    let _ = back.await;
                });
            }
        });
        Ok(FlippingProxy { port, flipped })
    }
}

/// Copy `from` to `to`; after the header of a request naming `marker`, flip the next byte.
async fn flip_once(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    marker: &str,
    done: &AtomicBool,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut seen: Vec<u8> = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buffer).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        let chunk = &mut buffer[..n];
        if !done.load(Ordering::SeqCst) {
            let start = seen.len();
            seen.extend_from_slice(chunk);
            let named = seen.windows(marker.len()).position(|w| w == marker.as_bytes());
            let body =
                named.and_then(|at| seen[at..].windows(4).position(|w| w == b"\r\n\r\n").map(|end| at + end + 4));
            // The first body byte is flipped in the read that brings it.
            if let Some(body) = body.filter(|b| *b < seen.len() && *b >= start) {
                chunk[body - start] ^= 0xff;
                done.store(true, Ordering::SeqCst);
            }
            if named.is_none() && seen.len() > 16 * 1024 {
                seen.drain(..seen.len() - 1024);
            }
        }
        to.write_all(chunk).await?;
    }
}

#[test]
fn by_default_a_file_goes_up_whole_to_4_mib_and_in_4_mib_blocks_past_that() -> TestResult {
    let azurite = Azurite::start()?;
    let runtime = runtime()?;
    let dir = tempfile::tempdir()?;
    runtime.block_on(async {
        let container =
            container(azurite.port, "defaults", KEY, BlobOptions::from_settings(&Settings::from_vars([]))).await?;
        for (name, size, blocks) in
            [("whole.bin", 4 * MIB, vec![]), ("blocks.bin", 4 * MIB + 1, vec![4 * MIB as u64, 1])]
        {
            let path = dir.path().join(name);
            std::fs::write(&path, content(size))?;
            container.upload_file(&path, name, &|_| {}).await?;
            assert_eq!(committed_blocks(&container, name).await?, blocks, "{name}");
            assert_eq!(container.read(name).await?, Some(content(size)), "{name}");
        }
        Ok(())
    })
}
