//! The azure backend's blob rows: our upload (`blob-upload`, the code `aml-register model`
//! runs on Azure) beside the Python storage SDK's default `upload_blob`, AzCopy (Microsoft's
//! Go uploader, what a user reaches for to move big files) and a single `curl -T` Put Blob
//! (the ceiling: one request, no client work), on one Azurite started here.
//! Wall time, client CPU and peak RSS come from GNU time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::measure::{Row, median, shell, write_random};
use crate::setup::{root, step};

const ACCOUNT: &str = "devstoreaccount1";
/// Azurite's documented development key.
const KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const CONTAINER: &str = "bench";
/// AzCopy as Microsoft publishes it on npm (its Linux build needs Debian's libsecret-1-0).
const AZCOPY: &str = "@azure-tools/azcopy-linux@10.32.2";

/// AzCopy installed under target/bench-tools (once), its runtime library from Debian.
fn ensure_azcopy(dir: &Path) -> Result<PathBuf, String> {
    crate::setup::ensure_debian_packages(&[("libsecret-1-0", "/usr/lib/x86_64-linux-gnu/libsecret-1.so.0")])?;
    let tools = crate::setup::target_dir().join("bench-tools");
    let exe = tools.join("node_modules/@azure-tools/azcopy-linux/dist/bin/azcopy_linux_amd64");
    if !exe.is_file() {
        step(&format!("installing AzCopy ({AZCOPY}, npm)"));
        std::fs::create_dir_all(&tools).map_err(|e| e.to_string())?;
        crate::setup::run(
            Command::new("npm")
                .args(["install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
                .arg(&tools)
                .arg(AZCOPY),
        )?;
    }
    // npm does not keep the executable bit of a file in `dist/`.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    let _ = std::fs::create_dir_all(dir.join("azcopy"));
    Ok(exe)
}

struct Azurite(Child);

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What GNU time says of one run.
#[derive(Clone, Copy)]
struct Usage {
    wall: Duration,
    cpu: Duration,
    rss_mib: f64,
}

fn timed(command: &str, dir: &Path) -> Result<Usage, String> {
    let out = dir.join("time.txt");
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%e %U %S %M", "-o"])
        .arg(&out)
        .args(["sh", "-c", command])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run /usr/bin/time: {e}"))?;
    if !status.success() {
        return Err(format!("`{command}` failed ({status})"));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    let fields: Vec<f64> =
        text.lines().last().unwrap_or("").split_whitespace().filter_map(|f| f.parse().ok()).collect();
    let [wall, user, system, rss_kib] = fields.as_slice() else {
        return Err(format!("cannot read GNU time's output: {text}"));
    };
    Ok(Usage {
        wall: Duration::from_secs_f64(*wall),
        cpu: Duration::from_secs_f64(user + system),
        rss_mib: rss_kib / 1024.0,
    })
}

fn medians(runs: &[Usage]) -> Usage {
    let mut rss: Vec<f64> = runs.iter().map(|u| u.rss_mib).collect();
    rss.sort_by(f64::total_cmp);
    Usage {
        wall: median(runs.iter().map(|u| u.wall).collect()),
        cpu: median(runs.iter().map(|u| u.cpu).collect()),
        rss_mib: rss[rss.len() / 2],
    }
}

pub fn run(dir: &Path, bin: &Path, runs: usize, size_mib: u64, python: &Path) -> Result<Vec<Row>, String> {
    let azurite_bin = crate::templates::ensure_npm_tools()?.join("azurite-blob");
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let data = dir.join("azurite");
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    step(&format!("starting Azurite on 127.0.0.1:{port}"));
    let _azurite = Azurite(
        Command::new(&azurite_bin)
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
                "--silent",
                "--skipApiVersionCheck",
                "--location",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", azurite_bin.display()))?,
    );
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            return Err("Azurite did not start within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let conn = format!(
        "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    );
    let script = root().join("xtask").join("bench_blob.py");
    let sdk = |args: &str| format!("{} {} {args}", python.display(), script.display());
    crate::setup::run(&mut shell(&sdk(&format!("create '{conn}' {CONTAINER}"))))?;
    let sas = Command::new(python).arg(&script).args(["sas", &conn, CONTAINER]).output().map_err(|e| e.to_string())?;
    let sas = String::from_utf8_lossy(&sas.stdout).trim().to_string();
    let ours_url = format!("http://{ACCOUNT}.blob.localhost:{port}/{CONTAINER}");
    let upload = bin.join("blob-upload");
    let ours = |path: &Path, prefix: &str| {
        format!("AZURE_STORAGE_KEY='{KEY}' {} {ours_url} {ACCOUNT} {} {prefix}", upload.display(), path.display())
    };
    let peer = |path: &Path, prefix: &str| sdk(&format!("upload '{conn}' {CONTAINER} {} {prefix}", path.display()));
    let azcopy_exe = ensure_azcopy(dir)?;
    let azcopy_home = dir.join("azcopy");
    let azcopy = |path: &Path, prefix: &str, recursive: bool| {
        format!(
            "AZCOPY_LOG_LOCATION={home} AZCOPY_JOB_PLAN_LOCATION={home} {exe} copy {path} 'http://127.0.0.1:{port}/{ACCOUNT}/{CONTAINER}/{prefix}?{sas}' --from-to LocalBlob --output-level quiet{recursive}",
            home = azcopy_home.display(),
            exe = azcopy_exe.display(),
            path = path.display(),
            recursive = if recursive { " --recursive" } else { "" },
        )
    };
    let curl = |path: &Path| {
        format!(
            "curl -sS -f -T {} -H 'x-ms-blob-type: BlockBlob' 'http://127.0.0.1:{port}/{ACCOUNT}/{CONTAINER}/curl/{}?{sas}'",
            path.display(),
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        )
    };

    let mut rows = Vec::new();
    let small = dir.join("upload-100.bin");
    let big = dir.join("upload-big.bin");
    step("writing the upload files (100 MiB and the big one)");
    write_random(&small, 100 << 20)?;
    write_random(&big, size_mib << 20)?;

    step(&format!(
        "{size_mib} MiB upload: ours vs azure-storage-blob's upload_blob vs curl -T (alternating, {runs} runs)"
    ));
    let (mut a, mut b, mut c, mut d) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs.max(1) {
        a.push(timed(&ours(&big, &format!("ours{run}/")), dir)?);
        b.push(timed(&peer(&big, &format!("sdk{run}/")), dir)?);
        d.push(timed(&azcopy(&big, &format!("azcopy{run}/big.bin"), false), dir)?);
        c.push(timed(&curl(&big), dir)?);
    }
    let (ours_big, sdk_big, curl_big, azcopy_big) = (medians(&a), medians(&b), medians(&c), medians(&d));
    let azcopy_small = medians(
        &(0..3)
            .map(|run| timed(&azcopy(&small, &format!("azsmall{run}/small.bin"), false), dir))
            .collect::<Result<Vec<_>, _>>()?,
    );
    let ours_small =
        medians(&(0..3).map(|run| timed(&ours(&small, &format!("small{run}/")), dir)).collect::<Result<Vec<_>, _>>()?);
    let sdk_small = medians(
        &(0..3).map(|run| timed(&peer(&small, &format!("sdksmall{run}/")), dir)).collect::<Result<Vec<_>, _>>()?,
    );

    let ours_cmd = "blob-upload URL ACCOUNT big.bin (4 MiB blocks with Content-MD5, 4 in flight)";
    let sdk_cmd = "BlobClient.upload_blob(f, overwrite=True) (defaults)";
    let speedup = sdk_big.wall.as_secs_f64() / ours_big.wall.as_secs_f64().max(1e-9);
    rows.push(Row::custom(
        format!("upload {size_mib} MiB to Azurite"),
        ours_cmd,
        fmt(ours_big.wall),
        sdk_cmd,
        fmt(sdk_big.wall),
        format!("{speedup:.2}× faster"),
        "≥ 1.3× faster than the SDK",
        speedup >= 1.3,
    ));
    let to_ceiling = ours_big.wall.as_secs_f64() / curl_big.wall.as_secs_f64().max(1e-9);
    rows.push(Row::custom(
        format!("upload {size_mib} MiB, against the ceiling"),
        ours_cmd,
        fmt(ours_big.wall),
        "curl -T big.bin 'URL?SAS' (one Put Blob)",
        fmt(curl_big.wall),
        format!("{to_ceiling:.2}×"),
        "within 5% of curl (≤ 1.05×)",
        to_ceiling <= 1.05,
    ));
    let cpu = ours_big.cpu.as_secs_f64() / sdk_big.cpu.as_secs_f64().max(1e-9);
    rows.push(Row::custom(
        format!("client CPU (user + system), {size_mib} MiB upload"),
        ours_cmd,
        fmt(ours_big.cpu),
        sdk_cmd,
        fmt(sdk_big.cpu),
        format!("{cpu:.2}×"),
        "≤ 0.5× the SDK's",
        cpu <= 0.5,
    ));
    let azcopy_cmd = "azcopy copy big.bin 'URL?SAS' --from-to LocalBlob (defaults)";
    let against_azcopy = azcopy_big.wall.as_secs_f64() / ours_big.wall.as_secs_f64().max(1e-9);
    rows.push(Row::custom(
        format!("…for context: upload {size_mib} MiB, against AzCopy"),
        ours_cmd,
        fmt(ours_big.wall),
        azcopy_cmd,
        fmt(azcopy_big.wall),
        format!("{against_azcopy:.2}× faster"),
        "(no target)",
        true,
    ));
    let cpu_vs_azcopy = ours_big.cpu.as_secs_f64() / azcopy_big.cpu.as_secs_f64().max(1e-9);
    rows.push(Row::custom(
        format!("…for context: client CPU, {size_mib} MiB upload, against AzCopy"),
        ours_cmd,
        fmt(ours_big.cpu),
        azcopy_cmd,
        fmt(azcopy_big.cpu),
        format!("{cpu_vs_azcopy:.2}×"),
        "(no target)",
        true,
    ));
    rows.push(Row::custom(
        format!("…for context: peak RSS, 100 MiB → {size_mib} MiB upload, against AzCopy"),
        ours_cmd,
        format!("{:.1} → {:.1} MiB", ours_small.rss_mib, ours_big.rss_mib),
        azcopy_cmd,
        format!("{:.1} → {:.1} MiB", azcopy_small.rss_mib, azcopy_big.rss_mib),
        "-".into(),
        "(no target)",
        true,
    ));
    let flat = (ours_big.rss_mib - ours_small.rss_mib).abs() <= 4.0;
    rows.push(Row::custom(
        format!("peak RSS, 100 MiB → {size_mib} MiB upload"),
        ours_cmd,
        format!("{:.1} → {:.1} MiB", ours_small.rss_mib, ours_big.rss_mib),
        sdk_cmd,
        format!("{:.1} → {:.1} MiB", sdk_small.rss_mib, sdk_big.rss_mib),
        "-".into(),
        "≤ 32 MiB and flat (±4 MiB)",
        ours_big.rss_mib <= 32.0 && flat,
    ));

    step("10,000 files of 1 KiB as a code folder: ours vs the SDK one by one");
    let folder = dir.join("code-10k");
    for i in 0..10_000u32 {
        let sub = folder.join(format!("pkg{:02}", i % 50));
        std::fs::create_dir_all(&sub).map_err(|e| e.to_string())?;
        let bytes: Vec<u8> = (0..1024u32).map(|j| ((i.wrapping_mul(31) ^ j) & 0xff) as u8).collect();
        std::fs::write(sub.join(format!("m{i}.py")), bytes).map_err(|e| e.to_string())?;
    }
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs.clamp(1, 3) {
        a.push(timed(&ours(&folder, &format!("code-ours{run}/")), dir)?);
        b.push(timed(&peer(&folder, &format!("code-sdk{run}/")), dir)?);
        c.push(timed(&azcopy(&folder, &format!("code-azcopy{run}"), true), dir)?);
    }
    let (ours_code, sdk_code, azcopy_code) = (medians(&a), medians(&b), medians(&c));
    let speedup = sdk_code.wall.as_secs_f64() / ours_code.wall.as_secs_f64().max(1e-9);
    rows.push(Row::custom(
        "upload 10,000 files of 1 KiB",
        "blob-upload URL ACCOUNT code/ (16 files in flight)",
        fmt(ours_code.wall),
        "upload_blob per file, one by one",
        fmt(sdk_code.wall),
        format!("{speedup:.2}× faster"),
        "≥ 1.5× faster than the SDK",
        speedup >= 1.5,
    ));
    let against_azcopy = azcopy_code.wall.as_secs_f64() / ours_code.wall.as_secs_f64().max(1e-9);
    rows.push(Row::custom(
        "…for context: upload 10,000 files of 1 KiB, against AzCopy",
        "blob-upload URL ACCOUNT code/ (16 files in flight)",
        fmt(ours_code.wall),
        "azcopy copy code/ 'URL?SAS' --recursive --from-to LocalBlob (defaults)",
        fmt(azcopy_code.wall),
        format!(
            "{against_azcopy:.2}× faster (CPU {:.2} s vs {:.2} s)",
            ours_code.cpu.as_secs_f64(),
            azcopy_code.cpu.as_secs_f64()
        ),
        "(no target)",
        true,
    ));

    step("re-submitting unchanged code (the 10,000 files): ours vs one hash of the folder");
    let snapshot = bin.join("code-snapshot");
    let hash_once = format!("find {} -type f -print0 | sort -z | xargs -0 cat | sha256sum", folder.display());
    let (mut ours_runs, mut peer_runs, mut uploads) = (Vec::new(), Vec::new(), 0u64);
    for _ in 0..runs.clamp(1, 3) {
        let output = Command::new(&snapshot)
            .arg(&folder)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", snapshot.display()))?;
        if !output.status.success() {
            return Err(format!("code-snapshot failed: {}", String::from_utf8_lossy(&output.stderr)));
        }
        let report = String::from_utf8_lossy(&output.stdout).to_string();
        let field = |name: &str| {
            report.split_whitespace().find_map(|pair| pair.strip_prefix(&format!("{name}="))).unwrap_or("").to_string()
        };
        if field("reused") != "true" {
            return Err(format!("the unchanged folder was not reused: {report}"));
        }
        // One pending upload is the first submission's; any more is the re-submit uploading.
        uploads += field("pending_uploads").parse::<u64>().unwrap_or(0).saturating_sub(1);
        ours_runs.push(Duration::from_secs_f64(
            field("resubmit_seconds").parse().map_err(|_| format!("code-snapshot printed no time: {report}"))?,
        ));
        peer_runs.push(timed(&hash_once, dir)?.wall);
    }
    let (ours_resubmit, one_hash) = (median(ours_runs), median(peer_runs));
    let ratio = ours_resubmit.as_secs_f64() / one_hash.as_secs_f64().max(1e-9);
    rows.push(Row::custom(
        "re-submit unchanged code (10,000 files of 1 KiB)",
        &format!("code-snapshot code/ (content hash + one ARM query; {uploads} uploads)"),
        fmt(ours_resubmit),
        "find | sort | xargs cat | sha256sum (one hash)",
        fmt(one_hash),
        format!("{ratio:.2}×"),
        "uploads nothing, ≤ one hash of the folder (≤ 1×)",
        uploads == 0 && ratio <= 1.0,
    ));
    Ok(rows)
}

fn fmt(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}
