//! What the registry promises under pressure: parallel registrations get distinct, gap-free
//! versions, and a process killed at any moment leaves no version whose files are missing.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;

use aml_client::testing::{TestWorkspace, binary, json, render};

fn aml_register() -> PathBuf {
    binary("aml-register")
}

#[test]
fn eight_processes_registering_25_versions_each_get_200_distinct_gap_free_versions() {
    let ws = TestWorkspace::new();
    for process in 0..8 {
        for i in 0..25 {
            ws.write(&format!("m/{process}-{i}.bin"), &format!("model {process}-{i}"));
        }
    }
    // All eight start on a fresh workspace at once: creating it races too.
    let handles: Vec<_> = (0..8)
        .map(|process| {
            let mut commands = Vec::new();
            for i in 0..25 {
                let mut command = ws.command(&aml_register());
                command.args(["model", "--name", "shared", "--path", &format!("m/{process}-{i}.bin"), "-o", "json"]);
                commands.push(command);
            }
            std::thread::spawn(move || {
                commands
                    .into_iter()
                    .map(|mut c| {
                        let output = c.output().unwrap();
                        assert_eq!(output.status.code(), Some(0), "{}", render(&output));
                        let model = json(&output);
                        (model["version"].as_str().unwrap().to_string(), model["digest"].as_str().unwrap().to_string())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let reported: Vec<(String, String)> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let versions: BTreeSet<u32> = reported.iter().map(|(v, _)| v.parse().unwrap()).collect();
    assert_eq!(versions, (1..=200).collect(), "versions are not 1..=200 without gaps or repeats");

    // What each process was told is what the registry holds.
    let listed = json(&ws.run(&aml_register(), &["list", "shared", "--all", "-o", "json"]));
    let stored: BTreeMap<String, String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["version"].as_str().unwrap().into(), m["digest"].as_str().unwrap().into()))
        .collect();
    assert_eq!(stored.len(), 200);
    for (version, digest) in &reported {
        assert_eq!(stored.get(version), Some(digest), "version {version}");
    }
}

#[test]
fn kill_9_at_any_moment_leaves_no_version_with_missing_files() {
    let ws = TestWorkspace::new();
    let size = 64 << 20;
    let big = ws.path().join("big.bin");
    let mut random = std::fs::File::open("/dev/urandom").unwrap();
    let mut file = std::fs::File::create(&big).unwrap();
    std::io::copy(&mut std::io::Read::take(&mut random, size), &mut file).unwrap();
    drop(file);

    // Kill at moments spread over a registration's life (before, during hashing and writing,
    // around the fsync and the commit), measured on this machine by one uncut registration:
    // fixed delays land after the end on a fast disk and all at the start on a slow one.
    let started = std::time::Instant::now();
    let uncut = ws.run(&aml_register(), &["model", "--name", "big", "--path", "big.bin"]);
    assert_eq!(uncut.status.code(), Some(0), "{}", render(&uncut));
    let life = started.elapsed();
    let rounds = 14u32;
    let mut interrupted = 0;
    let mut round = 0;
    // A busy machine makes one registration's life a poor measure of the next's: when too few
    // were cut, the same spread is tried again over a shorter life (at most three passes).
    for pass in 0..3u32 {
        let life = life / (1 << pass);
        for k in 0..rounds {
            // Distinct content each round.
            let mut file = std::fs::OpenOptions::new().write(true).open(&big).unwrap();
            file.seek(SeekFrom::Start(0)).unwrap();
            file.write_all(format!("round {round:04}").as_bytes()).unwrap();
            drop(file);
            round += 1;
            let mut child =
                ws.command(&aml_register()).args(["model", "--name", "big", "--path", "big.bin"]).spawn().unwrap();
            std::thread::sleep(life * k / rounds);
            if child.try_wait().unwrap().is_none() {
                interrupted += 1;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if interrupted >= rounds / 2 {
            break;
        }
    }
    assert!(
        interrupted >= rounds / 2,
        "only {interrupted} registrations were interrupted: the file is too small to test anything"
    );

    // Every version the registry lists is complete: its bytes download and match its digest.
    let listed = match ws.workspace().join("registry.db").exists() {
        true => json(&ws.run(&aml_register(), &["list", "big", "--all", "-o", "json"])),
        false => serde_json::json!([]),
    };
    let versions: Vec<String> = listed
        .as_array()
        .map(|a| a.iter().map(|m| m["version"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    for (n, version) in versions.iter().rev().enumerate() {
        assert_eq!(version, &(n + 1).to_string(), "versions have a gap: {versions:?}");
        let dir = format!("check-{version}");
        let output = ws.run(&aml_register(), &["download", &format!("big:{version}"), &dir]);
        assert_eq!(output.status.code(), Some(0), "version {version} is incomplete: {}", render(&output));
        assert_eq!(std::fs::metadata(ws.path().join(&dir).join("big.bin")).unwrap().len(), size);
    }

    // The workspace still works, and what the killed processes left half-written is swept.
    let after = ws.run(&aml_register(), &["model", "--name", "big", "--path", "big.bin", "-o", "json"]);
    assert_eq!(after.status.code(), Some(0), "{}", render(&after));
    let leftovers: Vec<_> = std::fs::read_dir(ws.workspace().join("tmp"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "temp files of killed processes were not swept: {leftovers:?}");
}

/// Run `script` with `$FULL` a 4 MiB file system of its own (a tmpfs in a private mount
/// namespace, so no privilege is needed and nothing outlives the test); returns its output.
fn on_a_small_disk(ws: &TestWorkspace, script: &str) -> std::process::Output {
    let full = ws.path().join("small-disk");
    std::fs::create_dir_all(&full).unwrap();
    let wrapped = format!("mount -t tmpfs -o size=4m tmpfs \"$FULL\" && {script}");
    ws.command(std::path::Path::new("unshare"))
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &wrapped])
        .env("FULL", &full)
        .env("REGISTER", aml_register())
        .output()
        .unwrap()
}

#[test]
fn a_full_disk_is_named_as_such_leaves_nothing_half_written_and_reads_still_work() {
    let ws = TestWorkspace::new();
    ws.write("small/model.txt", "small model");
    let mut big = std::fs::File::create(ws.path().join("big.bin")).unwrap();
    std::io::copy(&mut std::io::Read::take(std::fs::File::open("/dev/urandom").unwrap(), 3 << 20), &mut big).unwrap();
    drop(big);
    let script = r#"
        set -u
        W="local:$FULL/ws"
        "$REGISTER" --workspace "$W" model --name small --path small >/dev/null || exit 10
        head -c 2500000 /dev/zero > "$FULL/filler"
        "$REGISTER" --workspace "$W" model --name big --path big.bin 2> full.err; echo "register exit $?"
        "$REGISTER" --workspace "$W" list --all -o json > list.json 2> list.err; echo "list exit $?"
        ls "$FULL/ws/tmp" 2>/dev/null | wc -l | sed 's/^/temp files /'
    "#;
    let out = on_a_small_disk(&ws, script);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", render(&out));
    let full_err = std::fs::read_to_string(ws.path().join("full.err")).unwrap();
    assert!(said.contains("register exit 3"), "{said}\n{full_err}");
    assert!(full_err.contains("no space left on device"), "{full_err}");
    assert!(full_err.contains("hint: free space"), "{full_err}");
    assert!(said.contains("list exit 0"), "{said}\n{}", std::fs::read_to_string(ws.path().join("list.err")).unwrap());
    let listed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join("list.json")).unwrap()).unwrap();
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["small"], "{listed}");
    assert!(said.contains("temp files 0"), "{said}");
}

/// What `kill -9` cannot see, watched with strace: a blob's bytes are fsynced before it is
/// renamed into the store, its folder after, and the registry commits its row only then.
#[test]
fn a_blob_is_synced_before_it_is_named_and_the_row_is_committed_after() {
    let ws = TestWorkspace::new();
    ws.write("m.bin", "weights");
    let trace = ws.path().join("trace.txt");
    let traced = ws
        .command(std::path::Path::new("strace"))
        .args(["-f", "-y", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2", "-o"])
        .arg(&trace)
        .arg(aml_register())
        .args(["model", "--name", "m", "--path", "m.bin"])
        .output()
        .unwrap();
    assert_eq!(traced.status.code(), Some(0), "{}", render(&traced));
    // `PID call(args) = result`, the path of each descriptor in `<…>`; unfinished calls
    // are taken where they start.
    let calls: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("resumed>") && !l.contains("+++") && !l.contains("---"))
        .map(|l| l.split_once(' ').map_or(l, |(_, call)| call).trim().to_string())
        .collect();
    let synced = |path: &str| format!("<{path}>");
    let blob = calls
        .iter()
        .position(|c| c.starts_with("rename") && c.contains("/blobs/sha256/"))
        .unwrap_or_else(|| panic!("no blob was renamed into the store: {calls:#?}"));
    let quoted: Vec<&str> = calls[blob].split('"').collect();
    let (from, to) = (quoted[1], quoted[3]);
    let folder = std::path::Path::new(to).parent().unwrap().display().to_string();
    assert!(
        calls[..blob].iter().any(|c| c.starts_with("fsync") && c.contains(&synced(from))),
        "the blob was not synced before its rename: {calls:#?}"
    );
    let folder_synced = calls[blob..]
        .iter()
        .position(|c| c.starts_with("fsync") && c.contains(&synced(&folder)))
        .unwrap_or_else(|| panic!("the blob's folder was not synced after the rename: {calls:#?}"));
    assert!(
        calls[blob + folder_synced..].iter().any(|c| c.starts_with("fsync") && c.contains("registry.db")),
        "the registry did not commit after the blob was durable: {calls:#?}"
    );
}
