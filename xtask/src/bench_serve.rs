//! The serving half of `cargo xtask bench`: smoke-test against wrk on one endpoint, what
//! the router adds to a request, and packaging against the floor of reading, hashing and
//! copying the model, on real parts (the inference server, a Distribution registry).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::measure::{Row, cmd, durable_floor, interleave, median, shell, sync};
use crate::setup::{self, root, step};

struct Registry(Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).map_err(|e| e.to_string())
}

fn start_registry(dir: &Path) -> Result<(Registry, String), String> {
    let port = free_port()?;
    let config = dir.join("registry.yml");
    std::fs::write(&config, format!("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n", dir.join("registry").display())).map_err(|e| e.to_string())?;
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("docker-registry: {e}"))?;
    let address = format!("127.0.0.1:{port}");
    let start = Instant::now();
    while std::net::TcpStream::connect(&address).is_err() {
        if start.elapsed() > Duration::from_secs(20) {
            return Err("the registry did not start".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((Registry(child), address))
}

fn output(mut command: Command) -> Result<String, String> {
    let out = command.stderr(Stdio::inherit()).output().map_err(|e| format!("{command:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{command:?} failed: {}", String::from_utf8_lossy(&out.stdout)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn field(json: &str, path: &[&str]) -> Option<String> {
    // The xtask has no JSON parser; python3 (always there for the tools) reads it.
    let mut script = String::from("import json,sys; v=json.load(sys.stdin)");
    for key in path {
        script.push_str(&format!("[{key:?}]"));
    }
    script.push_str("; print(v)");
    let mut child =
        Command::new("python3").args(["-c", &script]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().ok()?;
    use std::io::Write;
    child.stdin.take()?.write_all(json.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The endpoint's key and a deployment's port, read from the workspace's registry as an
/// operator with access to the files could (no command prints the key).
fn secret_and_port(workspace: &Path) -> Result<(String, u16), String> {
    let script = format!(
        "import sqlite3,json; db=sqlite3.connect({:?}); e=json.loads(db.execute(\"select record from endpoints where name='linear'\").fetchone()[0]); d=json.loads(db.execute(\"select record from deployments where name='blue'\").fetchone()[0]); print(e['keys'][0], d['port'])",
        workspace.join("registry.db").display().to_string()
    );
    let out = output({
        let mut c = Command::new("python3");
        c.args(["-c", &script]);
        c
    })?;
    let mut parts = out.split_whitespace();
    let key = parts.next().ok_or("no key")?.to_string();
    let port = parts.next().and_then(|p| p.parse().ok()).ok_or("no port")?;
    Ok((key, port))
}

pub fn run(dir: &Path, bin: &Path, heavy_runs: usize, size_mib: u64) -> Result<Vec<Row>, String> {
    setup::ensure_debian_packages(&[("wrk", "/usr/bin/wrk")])?;
    let base_tar = setup::ensure_base_image()?;
    let serve = dir.join("serve");
    std::fs::create_dir_all(&serve).map_err(|e| e.to_string())?;
    let fixture = root().join("crates/aml-deploy/tests/fixtures/linear");
    setup::run(Command::new("cp").arg("-r").arg(&fixture).arg(serve.join("linear")))?;
    let workspace = serve.join(".aml");
    let tool = |name: &str| {
        let mut c = cmd(&bin.join(name), &[]);
        c.current_dir(&serve)
            .env("AML_WORKSPACE", format!("local:{}", workspace.display()))
            .env("AML_CACHE_DIR", setup::test_cache())
            .env("PATH", format!("{}:{}", bin.display(), setup::path_with_venv()));
        c
    };
    let mut rows = Vec::new();

    step("deploying the linear fixture: the Azure ML inference server behind our router");
    for file in ["linear/endpoint.yml", "linear/deployment-blue.yml"] {
        let mut c = tool("aml-deploy");
        c.args(["apply", "-f", file, "-q"]).stdout(Stdio::null());
        setup::run(&mut c)?;
    }
    let result = serving_rows(&serve, &workspace, &tool, &mut rows);
    let mut delete = tool("aml-deploy");
    delete.args(["delete", "linear"]).stdout(Stdio::null());
    let _ = delete.status();
    result?;

    step(&format!("aml-package of a new {size_mib} MiB model vs `openssl dgst -sha256` + `cp` of it"));
    let (_registry, address) = start_registry(&serve)?;
    let big = serve.join("big.bin");
    crate::measure::write_random(&big, size_mib << 20)?;
    let package = |model: &str, to: &str| {
        let mut c = tool("aml-package");
        c.args([
            "image",
            "--model",
            model,
            "--environment",
            "linear/environment/serve.yml",
            "--code",
            "linear/src",
            "--base",
            "oci:base:bookworm",
            "--to",
            to,
            "-q",
            "-o",
            "json",
        ]);
        c
    };
    let mut base = tool("aml-package");
    base.args(["base", "--rootfs-tar"]).arg(&base_tar).args(["--to", "oci:base:bookworm"]).stdout(Stdio::null());
    setup::run(&mut base)?;
    let mut register = tool("aml-register");
    register.args(["model", "--name", "warm", "--path", "linear/model"]).stdout(Stdio::null());
    setup::run(&mut register)?;
    setup::run(package("warm:1", "oci:images").stdout(Stdio::null()))?; // base, dependencies and code layers now cached
    let version = std::cell::Cell::new(0);
    let setups = std::cell::Cell::new(0);
    let copy = serve.join("copy.bin");
    let (ours, floor) = interleave(
        heavy_runs,
        || {
            let _ = std::fs::remove_file(&copy);
            // interleave sets up before ours, then before the peer: register before ours only.
            setups.set(setups.get() + 1);
            if setups.get() % 2 == 0 {
                sync();
                return;
            }
            // A new version each round, so the model layer is built anew; the rest stays cached.
            version.set(version.get() + 1);
            // Should the write fail, no new version is registered and packaging `big:N`
            // fails, which stops the bench: no figure comes from reused layers.
            if let Ok(mut file) = std::fs::OpenOptions::new().write(true).open(&big) {
                use std::io::Write;
                let _ = file.write_all(format!("round {:06}", version.get()).as_bytes());
            }
            let mut register = tool("aml-register");
            register.args(["model", "--name", "big", "--path"]).arg(&big).stdout(Stdio::null());
            let _ = register.status();
            sync();
        },
        || package(&format!("big:{}", version.get()), "oci:images"),
        || shell(&format!("openssl dgst -sha256 {0} > /dev/null && cp {0} {1}", big.display(), copy.display())),
    )?;
    rows.push(Row::ratio(
        format!("`aml-package image` of a new {size_mib} MiB model (base, dependencies, code cached)"),
        "aml-package image --model big:N … --to oci:images",
        ours,
        "openssl dgst -sha256 big.bin && cp big.bin copy.bin",
        floor,
        "≤ 1.5× the floor",
        1.5,
    ));
    // As for register: the layer is fsynced before it is named, `cp` is not.
    let (_, durable) = interleave(
        heavy_runs.min(3),
        || {
            let _ = std::fs::remove_file(&copy);
            sync();
        },
        || shell("true"),
        || {
            shell(&format!(
                "openssl dgst -sha256 {0} > /dev/null && cp {0} {1} && sync {1}",
                big.display(),
                copy.display()
            ))
        },
    )?;
    rows.push(Row::context(
        "…for context: the same, against the floor made durable (`+ sync`), as the layer is",
        "aml-package image --model big:N … --to oci:images",
        ours,
        "openssl dgst -sha256 big.bin && cp big.bin copy.bin && sync copy.bin",
        Some(durable),
    ));
    let floor = durable_floor(&big, &copy, heavy_runs)?;
    rows.push(Row::ratio(
        format!("`aml-package image` of a new {size_mib} MiB model, against the physical floor of a durable write"),
        "aml-package image --model big:N … --to oci:images",
        ours,
        "max(openssl dgst -sha256 big.bin, dd if=big.bin of=copy.bin bs=4M conv=fsync)",
        floor,
        "≤ 1.5× that floor",
        1.5,
    ));

    step("packaging the same inputs again");
    let latest = format!("big:{}", version.get());
    let first = output(package(&latest, "oci:images"))?;
    let mut again_times = Vec::new();
    let mut same = true;
    for _ in 0..5 {
        let start = Instant::now();
        let again = output(package(&latest, "oci:images"))?;
        again_times.push(start.elapsed());
        same &= field(&again, &["digest"]) == field(&first, &["digest"]);
    }
    let again = median(again_times);
    rows.push(Row::absolute(
        "package unchanged inputs again (same digest)",
        "aml-package image --model big:N … (again)",
        again,
        "≤ 0.2 s, same digest",
        again <= Duration::from_millis(200) && same,
    ));

    step("pushing the image to a registry, then pushing it again unchanged");
    let to = format!("{address}/big:latest");
    let first = output(package(&latest, &to))?;
    let sent_first = first.matches("\"sent\": true").count();
    let start = Instant::now();
    let second = output(package(&latest, &to))?;
    let took = start.elapsed();
    let sent_again = second.matches("\"sent\": true").count();
    rows.push(Row::absolute(
        format!("push an unchanged image again ({sent_first} layers sent the first time, {sent_again} the second)"),
        "aml-package image … --to REGISTRY/big:latest (again)",
        took,
        "no layer re-sent",
        sent_again == 0,
    ));
    Ok(rows)
}

fn serving_rows(
    serve: &Path,
    workspace: &Path,
    tool: &dyn Fn(&str) -> Command,
    rows: &mut Vec<Row>,
) -> Result<(), String> {
    let (key, server_port) = secret_and_port(workspace)?;
    let show = output({
        let mut c = tool("aml-deploy");
        c.args(["show", "linear", "-o", "json"]);
        c
    })?;
    let uri = field(&show, &["scoring_uri"]).ok_or("no scoring URI")?;
    let body = r#"{"data": [[1, 1]]}"#;
    let cases = serve.join("bench.jsonl");
    std::fs::write(&cases, format!("{{\"name\": \"score\", \"request\": {body}, \"status\": 200}}\n"))
        .map_err(|e| e.to_string())?;
    let lua = serve.join("post.lua");
    std::fs::write(&lua, format!("wrk.method = \"POST\"\nwrk.body = '{body}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Authorization\"] = \"Bearer {key}\"\n")).map_err(|e| e.to_string())?;

    step("requests per second at 16 connections: smoke-test vs wrk on the same endpoint");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let smoke = output({
            let mut c = tool("smoke-test");
            c.args(["run", "--endpoint", "linear", "--cases"]).arg(&cases).args([
                "--concurrency",
                "16",
                "--duration",
                "10s",
                "-o",
                "json",
            ]);
            c
        })?;
        ours.push(
            field(&smoke, &["requests_per_second"])
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or("no rate from smoke-test")?,
        );
        let wrk = output({
            let mut c = Command::new("wrk");
            c.args(["-t2", "-c16", "-d10s", "-s"]).arg(&lua).arg(&uri);
            c
        })?;
        theirs.push(
            wrk.lines()
                .find_map(|l| l.strip_prefix("Requests/sec:"))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .ok_or("no rate from wrk")?,
        );
    }
    let (ours, theirs) = (median_f64(ours), median_f64(theirs));
    rows.push(Row::rate(
        "requests/s through the router at 16 connections",
        "smoke-test run --endpoint linear --concurrency 16 --duration 10s",
        ours,
        "wrk -t2 -c16 -d10s -s post.lua SCORING_URI",
        theirs,
        "≥ 0.9× wrk",
        0.9,
    ));

    step("the router's overhead: p50 through it vs straight to the inference server");
    let direct = format!("http://127.0.0.1:{server_port}/score");
    let (through, straight) = p50_through_and_straight(tool, &cases, &direct)?;
    rows.push(Row::overhead(
        "p50 latency added by the router (through it vs straight to the inference server)",
        "smoke-test run --endpoint linear --requests 2000",
        through,
        "smoke-test run --url http://127.0.0.1:SERVER_PORT/score --requests 2000",
        straight,
        "≤ +0.2 ms",
        0.2,
    ));

    // The same with the router's hop made by the HTTP crate's pipeline (reqwest under
    // azure_core), as every other outgoing call is: the figure that decides whether the
    // router may keep its own hyper client.
    step("the router's overhead again, its hop through the HTTP crate's pipeline (AML_ROUTER_HOP=pipeline)");
    restart_router(workspace, tool, Some("pipeline"))?;
    let (through, straight) = p50_through_and_straight(tool, &cases, &direct)?;
    restart_router(workspace, tool, None)?;
    rows.push(Row::overhead(
        "…the same, the router's hop made by the HTTP crate's pipeline (reqwest under azure_core) instead of hyper",
        "AML_ROUTER_HOP=pipeline: smoke-test run --endpoint linear --requests 2000",
        through,
        "smoke-test run --url http://127.0.0.1:SERVER_PORT/score --requests 2000",
        straight,
        "≤ +0.2 ms (else the router keeps hyper)",
        0.2,
    ));
    Ok(())
}

/// The p50 of 2,000 sequential requests through the router and straight to the inference
/// server, each the median of three rounds.
fn p50_through_and_straight(tool: &dyn Fn(&str) -> Command, cases: &Path, direct: &str) -> Result<(f64, f64), String> {
    let p50 = |target: &[&str]| -> Result<f64, String> {
        let out = output({
            let mut c = tool("smoke-test");
            c.arg("run").args(target).arg("--cases").arg(cases).args(["--requests", "2000", "-o", "json"]);
            c
        })?;
        field(&out, &["latency_ms", "p50"]).and_then(|v| v.parse::<f64>().ok()).ok_or_else(|| "no p50".to_string())
    };
    let (mut through, mut straight) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        through.push(p50(&["--endpoint", "linear"])?);
        straight.push(p50(&["--url", direct])?);
    }
    Ok((median_f64(through), median_f64(straight)))
}

/// Stop the endpoint's router and let the next command start it again, with `hop` as its
/// AML_ROUTER_HOP (the default hyper client when `None`).
fn restart_router(workspace: &Path, tool: &dyn Fn(&str) -> Command, hop: Option<&str>) -> Result<(), String> {
    let script = format!(
        "import sqlite3,json; db=sqlite3.connect({:?}); print(json.loads(db.execute(\"select record from endpoints where name='linear'\").fetchone()[0])['router_pid'])",
        workspace.join("registry.db").display().to_string()
    );
    let pid = output({
        let mut c = Command::new("python3");
        c.args(["-c", &script]);
        c
    })?;
    setup::run(Command::new("kill").arg(pid.trim()))?;
    std::thread::sleep(Duration::from_millis(500));
    let mut show = tool("aml-deploy");
    show.args(["show", "linear"]).stdout(Stdio::null());
    match hop {
        Some(hop) => show.env("AML_ROUTER_HOP", hop),
        None => show.env_remove("AML_ROUTER_HOP"),
    };
    setup::run(&mut show)
}

fn median_f64(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}
