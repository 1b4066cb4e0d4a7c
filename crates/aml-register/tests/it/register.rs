//! `aml-register` through the real binary: content addressing, dedup, lineage from jobs,
//! YAML files, listing, tags, downloads, and bad input that writes nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use aml_client::testing::{TestWorkspace, binary, json, render, repo_root};

fn aml_register() -> PathBuf {
    binary("aml-register")
}

fn model_folder(ws: &TestWorkspace) -> PathBuf {
    ws.write("model/model.pkl", "pretend pickle\n");
    ws.write("model/conf/params.json", "{\"alpha\": 0.5}\n");
    ws.path().join("model")
}

/// The manifest digest computed with `sha256sum`, independently of our code:
/// sha256 of the compact JSON list of {path, size, digest}, sorted by path.
fn expected_digest(root: &Path, files: &[&str]) -> String {
    let sha = |input: &[u8]| -> String {
        let mut child = Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
    };
    let entries: Vec<String> = files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(root.join(f)).unwrap();
            format!(r#"{{"path":"{f}","size":{},"digest":"sha256:{}"}}"#, bytes.len(), sha(&bytes))
        })
        .collect();
    format!("sha256:{}", sha(format!("[{}]", entries.join(",")).as_bytes()))
}

fn blob_count(ws: &TestWorkspace) -> usize {
    fn walk(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
            .unwrap_or(0)
    }
    walk(&ws.workspace().join("blobs"))
}

#[test]
fn a_folder_becomes_version_1_named_by_its_content() {
    let ws = TestWorkspace::new();
    let folder = model_folder(&ws);
    let output = ws.run(
        &aml_register(),
        &["model", "--name", "diabetes", "--path", "model", "--tag", "stage=candidate", "-o", "json"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    let model = json(&output);
    assert_eq!(model["digest"], expected_digest(&folder, &["conf/params.json", "model.pkl"]));
    ws.settings().bind(|| {
        insta::assert_json_snapshot!(model, @r#"
    {
      "created_at": "[TIME]",
      "created_by": "tester",
      "description": null,
      "digest": "sha256:dc0c909cdfebc6d834bb50c4d761c9f323cffffdbcc4847ba080c497e48b8060",
      "file_count": 2,
      "id": "diabetes:1",
      "lineage": {
        "ci_run": null,
        "code_digest": null,
        "created_at": "[TIME]",
        "created_by": "tester",
        "data": [],
        "experiment": null,
        "git": null,
        "job": null
      },
      "metrics": {},
      "name": "diabetes",
      "properties": {},
      "reused": false,
      "size": 30,
      "source": "model",
      "tags": {
        "stage": "candidate"
      },
      "type": "custom_model",
      "version": "1"
    }
    "#)
    });
}

#[test]
fn the_same_bytes_return_the_same_version_and_are_stored_once() {
    let ws = TestWorkspace::new();
    model_folder(&ws);
    let first = json(&ws.run(&aml_register(), &["model", "--name", "m", "--path", "model", "-o", "json"]));
    let blobs = blob_count(&ws);
    assert_eq!(blobs, 2);
    let again = ws.run(&aml_register(), &["model", "--name", "m", "--path", "model", "--tag", "x=y"]);
    insta::assert_snapshot!(render(&again), @r"
    exit_code: 0
    ----- stdout -----
    m:1 already holds these bytes (sha256:dc0c909cdfeb); no new version was made
    ----- stderr -----
    note: tags and description were not applied to the existing m:1; use `aml-register tag m:1` or `--force-new`
    ");
    let forced =
        json(&ws.run(&aml_register(), &["model", "--name", "m", "--path", "model", "--force-new", "-o", "json"]));
    assert_eq!((forced["version"].as_str(), forced["reused"].as_bool()), (Some("2"), Some(false)));
    assert_eq!(forced["digest"], first["digest"]);
    // Another name holding the same bytes is a new model, sharing the blobs.
    let other = json(&ws.run(&aml_register(), &["model", "--name", "other", "--path", "model", "-o", "json"]));
    assert_eq!(other["id"], "other:1");
    assert_eq!(blob_count(&ws), blobs, "identical content was stored twice");
    // A changed byte is a new version.
    ws.write("model/model.pkl", "pretend pickle!\n");
    let changed = json(&ws.run(&aml_register(), &["model", "--name", "m", "--path", "model", "-o", "json"]));
    assert_eq!(changed["version"], "3");
    assert_ne!(changed["digest"], first["digest"]);
}

fn run_echo_job(ws: &TestWorkspace, name: &str) {
    ws.copy_dir(&repo_root().join("crates/aml-train/tests/fixtures/echo"), "echo");
    let output = ws.run(&binary("aml-train"), &["run", "echo/job.yml", "--name", name, "-q"]);
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
}

#[test]
fn a_job_output_brings_the_jobs_metrics_and_lineage() {
    let ws = TestWorkspace::new();
    run_echo_job(&ws, "echo-1");
    let output = ws.run(&aml_register(), &["model", "--name", "greeter", "--job", "echo-1", "-o", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    let model = json(&output);
    assert_eq!(model["source"], "azureml://jobs/echo-1/outputs/result");
    assert_eq!(model["digest"], expected_digest(&ws.workspace().join("jobs/echo-1/outputs/result"), &["greeting.txt"]));
    assert_eq!(model["metrics"], serde_json::json!({"count": 2.0, "rows": 2.0}));
    assert_eq!(model["lineage"]["job"], "echo-1");
    assert_eq!(model["lineage"]["experiment"], "tests");
    // Digests as the job recorded them (see aml-train's run tests).
    assert_eq!(
        model["lineage"]["code_digest"],
        "sha256:0f2c1da3a762878bb07af850fe2d0d4705f92df31fecf34d63bef399bb468397"
    );
    assert_eq!(
        model["lineage"]["data"],
        serde_json::json!([{"input": "data", "uri": "./data.csv", "digest": "sha256:04805195b70d54d7d651cc363929520a95d96f118eabf177c6482f7fa6f67378"}])
    );
    let show = ws.run(&aml_register(), &["show", "greeter:1"]);
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&show), @r"
    exit_code: 0
    ----- stdout -----
    greeter:1  custom_model  sha256:5d4e5997fc0b2ae8fac5aba6f1efc8964ad652aa55af5d65c4e8ae8182fe6aec
      size      1 file, 12 B
      source    azureml://jobs/echo-1/outputs/result
      metrics   count=2 rows=2
      job       echo-1 (experiment tests)
      code      sha256:0f2c1da3a762
      data      data sha256:04805195b70d ./data.csv
      created   [TIME] by tester
    ----- stderr -----
    ")
    });
}

#[test]
fn a_model_yaml_gives_name_type_tags_and_stage() {
    let ws = TestWorkspace::new();
    model_folder(&ws);
    ws.write(
        "model.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/model.schema.json\nname: diabetes\npath: ./model\ntype: mlflow_model\nstage: production\ntags:\n  team: ml\n",
    );
    let output =
        json(&ws.run(&aml_register(), &["model", "-f", "model.yml", "--set", "description=from yaml", "-o", "json"]));
    assert_eq!(output["id"], "diabetes:1");
    assert_eq!(output["type"], "mlflow_model");
    assert_eq!(output["description"], "from yaml");
    assert_eq!(output["tags"], serde_json::json!({"stage": "production", "team": "ml"}));
    let by_stage = json(&ws.run(&aml_register(), &["show", "diabetes@stage=production", "-o", "json"]));
    assert_eq!(by_stage["id"], "diabetes:1");
}

#[test]
fn list_show_tag_and_download() {
    let ws = TestWorkspace::new();
    model_folder(&ws);
    for (i, text) in ["one", "two", "three"].iter().enumerate() {
        ws.write("model/model.pkl", text);
        let out = ws.run(&aml_register(), &["model", "--name", "diabetes", "--path", "model", "-o", "json"]);
        assert_eq!(json(&out)["version"], (i + 1).to_string());
    }
    let list = ws.run(&aml_register(), &["list", "diabetes", "--max-results", "2"]);
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&list), @r"
    exit_code: 0
    ----- stdout -----
    NAME      VERSION  DIGEST               CREATED               TAGS
    diabetes  3        sha256:39ef73b72e32  [TIME]  
    diabetes  2        sha256:e74567a1ac5c  [TIME]  
    ----- stderr -----
    showing the newest 2 of 3 versions; `--all` lists every one
    ")
    });
    let all = json(&ws.run(&aml_register(), &["list", "diabetes", "--all", "-o", "json"]));
    let versions: Vec<&str> = all.as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!(versions, ["3", "2", "1"]);

    let tagged = ws.run(&aml_register(), &["tag", "diabetes:2", "stage=production", "owner=ml", "-o", "json"]);
    assert_eq!(json(&tagged)["tags"], serde_json::json!({"owner": "ml", "stage": "production"}));
    assert_eq!(json(&ws.run(&aml_register(), &["show", "diabetes@stage=production", "-o", "json"]))["version"], "2");
    assert_eq!(json(&ws.run(&aml_register(), &["show", "diabetes@latest", "-o", "json"]))["version"], "3");
    let removed = ws.run(&aml_register(), &["tag", "diabetes:2", "--remove", "owner", "-o", "json"]);
    assert_eq!(json(&removed)["tags"], serde_json::json!({"stage": "production"}));
    assert_eq!(ws.run(&aml_register(), &["tag", "diabetes:3", "stage=production"]).status.code(), Some(0));
    let ambiguous = ws.run(&aml_register(), &["show", "diabetes@stage=production"]);
    insta::assert_snapshot!(render(&ambiguous), @r"
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: `diabetes@stage=production` is ambiguous: versions 3, 2 carry that tag
    hint: name one version (`diabetes:3`), or move the tag so one version carries it
    ");

    let download = ws.run(&aml_register(), &["download", "diabetes:2", "out"]);
    assert_eq!(download.status.code(), Some(0), "{}", render(&download));
    assert_eq!(std::fs::read_to_string(ws.path().join("out/model.pkl")).unwrap(), "two");
    assert_eq!(std::fs::read_to_string(ws.path().join("out/conf/params.json")).unwrap(), "{\"alpha\": 0.5}\n");
    let again = ws.run(&aml_register(), &["download", "diabetes:1", "out"]);
    insta::assert_snapshot!(render(&again), @r"
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: `out/conf/params.json` already exists; nothing was downloaded
    hint: download into an empty or new folder
    ");
    assert_eq!(
        std::fs::read_to_string(ws.path().join("out/model.pkl")).unwrap(),
        "two",
        "a refused download overwrote a file"
    );
}

#[test]
fn a_corrupted_blob_is_caught_on_download() {
    let ws = TestWorkspace::new();
    model_folder(&ws);
    let model = json(&ws.run(&aml_register(), &["model", "--name", "m", "--path", "model", "-o", "json"]));
    assert_eq!(model["version"], "1");
    let hex = expected_digest(&ws.path().join("model"), &["model.pkl"]);
    assert!(hex.starts_with("sha256:"));
    // Flip the content of the model.pkl blob behind the registry's back.
    let file_digest =
        String::from_utf8(Command::new("sha256sum").arg(ws.path().join("model/model.pkl")).output().unwrap().stdout)
            .unwrap();
    let file_hex = file_digest.split_whitespace().next().unwrap();
    let blob = ws.workspace().join("blobs/sha256").join(&file_hex[..2]).join(file_hex);
    let mut perms = std::fs::metadata(&blob).unwrap().permissions();
    assert!(perms.readonly(), "blobs are stored read-only");
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&blob, perms).unwrap();
    std::fs::write(&blob, "tampered").unwrap();
    let output = ws.run(&aml_register(), &["download", "m:1", "out"]);
    assert_eq!(output.status.code(), Some(3), "{}", render(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is corrupt"), "{}", render(&output));
    assert!(!ws.path().join("out/model.pkl").exists(), "a corrupt file was left behind");
}

/// Bad input: exit 2, a message naming what is wrong, and the registry unchanged.
#[test]
fn bad_input_writes_nothing() {
    let ws = TestWorkspace::new();
    model_folder(&ws);
    ws.write("typo.yml", "name: m\npath: ./model\ntpye: custom_model\n");
    ws.write("remote.yml", "name: m\npath: https://example.invalid/model.pkl\n");
    let cases: &[(&str, &[&str])] = &[
        ("no name", &["model", "--path", "model"]),
        ("nothing to register", &["model", "--name", "m"]),
        ("bad name", &["model", "--name", "no spaces", "--path", "model"]),
        ("missing path", &["model", "--name", "m", "--path", "nope"]),
        ("bad tag", &["model", "--name", "m", "--path", "model", "--tag", "stage"]),
        ("unknown job", &["model", "--name", "m", "--job", "nope"]),
        ("typo in yaml", &["model", "-f", "typo.yml"]),
        ("remote path", &["model", "-f", "remote.yml"]),
        ("both path and job", &["model", "--name", "m", "--path", "model", "--job", "j"]),
    ];
    let mut transcript = String::new();
    for (what, args) in cases {
        let output = ws.run(&aml_register(), args);
        assert_eq!(output.status.code(), Some(2), "{what}: {}", render(&output));
        assert!(!ws.workspace().exists(), "{what}: bad input created a workspace");
        transcript.push_str(&format!("## {what}\n{}", String::from_utf8_lossy(&output.stderr)));
    }
    ws.settings().bind(|| insta::assert_snapshot!(transcript));

    // With a workspace: a bad request leaves it as it was.
    assert_eq!(ws.run(&aml_register(), &["model", "--name", "m", "--path", "model"]).status.code(), Some(0));
    let before = std::fs::read(ws.workspace().join("registry.db")).unwrap();
    for args in [
        &["model", "--name", "m", "--version", "1", "--path", "typo.yml"][..],
        &["tag", "m:9", "a=b"],
        &["model", "--name", "m", "--job", "nope"],
    ] {
        let output = ws.run(&aml_register(), args);
        assert_eq!(output.status.code(), Some(2), "{}", render(&output));
    }
    let list = json(&ws.run(&aml_register(), &["list", "m", "-o", "json"]));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!before.is_empty());
}

#[test]
fn help_teaches_the_commands() {
    let output = TestWorkspace::new().run(&aml_register(), &["model", "--help"]);
    insta::assert_snapshot!(render(&output));
}

#[test]
fn promote_copies_a_version_with_its_metrics_lineage_and_digest() {
    let ws = TestWorkspace::new();
    run_echo_job(&ws, "echo-1");
    let source =
        json(&ws.run(
            &aml_register(),
            &["model", "--name", "greeter", "--job", "echo-1", "--tag", "stage=dev", "-o", "json"],
        ));
    let prod = format!("local:{}", ws.path().join("prod").display());
    let out =
        ws.run(&aml_register(), &["promote", "greeter:1", "--to", &prod, "--tag", "stage=production", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let copy = json(&out);
    assert_eq!(copy["digest"], source["digest"], "the copy holds the same bytes");
    assert_eq!(copy["metrics"], source["metrics"]);
    assert_eq!(copy["lineage"], source["lineage"]);
    assert_eq!(copy["tags"]["stage"], "production", "the new tag wins over the source's");
    assert_eq!(copy["properties"]["promoted_from"], format!("local:{}#greeter:1", ws.workspace().display()));
    assert_eq!(copy["reused"], false);
    // Promoting again finds the same bytes there: the same version, nothing copied twice.
    let again = json(&ws.run(&aml_register(), &["promote", "greeter:1", "--to", &prod, "-o", "json"]));
    assert_eq!((again["id"].as_str(), again["reused"].as_bool()), (copy["id"].as_str(), Some(true)));
    // The target shows it like any version of its own.
    let shown = json(&ws.run(&aml_register(), &["show", "greeter:1", "-w", &prod, "-o", "json"]));
    assert_eq!(shown["digest"], source["digest"]);
    // Into the workspace it is already in, or of a model that is not there: bad input.
    let same = ws.run(&aml_register(), &["promote", "greeter:1", "--to", "local:.aml"]);
    assert_eq!(same.status.code(), Some(2), "{}", render(&same));
    let missing = ws.run(&aml_register(), &["promote", "greeter:9", "--to", &prod]);
    assert_eq!(missing.status.code(), Some(2), "{}", render(&missing));
}

/// Registering 64 MiB or more shows its progress: a bar drawn in place on a terminal, and
/// on a pipe (a CI log) no escape code at all.
#[test]
fn large_registrations_show_a_bar_on_a_terminal_and_plain_text_elsewhere() {
    let ws = TestWorkspace::new();
    let chunk: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let big = ws.path().join("big.bin");
    std::fs::write(&big, chunk.repeat(80)).unwrap();

    let piped = ws.run(&aml_register(), &["model", "--name", "big", "--path", "big.bin"]);
    assert!(piped.status.success(), "{}", render(&piped));
    assert!(!String::from_utf8_lossy(&piped.stderr).contains('\u{1b}'), "{}", render(&piped));

    // script(1) gives the tool a terminal; what it drew comes back on script's stdout.
    let line = format!("{} model --name big-on-a-terminal --path big.bin", aml_register().display());
    let terminal =
        ws.command(Path::new("script")).env_remove("NO_COLOR").args(["-qec", &line, "/dev/null"]).output().unwrap();
    let drawn = String::from_utf8_lossy(&terminal.stdout);
    assert!(terminal.status.success(), "{drawn}");
    assert!(drawn.contains("registering `big-on-a-terminal`") && drawn.contains("MiB"), "no bar was drawn:\n{drawn}");
    assert!(drawn.contains('\u{1b}'), "a bar is redrawn in place:\n{drawn}");
}

#[test]
fn hostile_versions_tags_and_targets_are_refused_and_write_nothing() {
    let ws = TestWorkspace::new();
    model_folder(&ws);
    for args in [
        &["model", "--name", "m", "--path", "model", "--version", "../x"][..],
        &["model", "--name", "m", "--path", "model", "--version", ".."],
        &["model", "--name", "m", "--path", "model", "--version", "1..2"],
        &["model", "--name", "m", "--path", "model", "--version", ""],
        &["model", "--name", "m", "--path", "model", "--version", "a/b"],
        &["model", "--name", "../m", "--path", "model"],
        &["model", "--name", "m", "--path", "model", "--tag", "a/b=1"],
        &["model", "--name", "m", "--path", "model", "--tag", "=1"],
        &["model", "--name", "m", "--path", "model", "--job", "../../x"],
    ] {
        let out = ws.run(&aml_register(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", render(&out));
    }
    assert!(!ws.workspace().exists(), "bad input created the workspace");
    ws.write("hostile.yml", "name: ../../victim\npath: model\n");
    let out = ws.run(&aml_register(), &["model", "-f", "hostile.yml"]);
    assert_eq!(out.status.code(), Some(2), "{}", render(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("name"), "{}", render(&out));

    let registered = ws.run(&aml_register(), &["model", "--name", "m", "--path", "model"]);
    assert_eq!(registered.status.code(), Some(0), "{}", render(&registered));
    for args in [
        &["promote", "m:1", "--to", ""][..],
        &["tag", "m:1", "a/b=1"],
        &["tag", "m:1", "--remove", "a<b"],
        &["show", "m:../1"],
        &["download", "../m:1", "out"],
    ] {
        let out = ws.run(&aml_register(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", render(&out));
    }
    let listed = json(&ws.run(&aml_register(), &["list", "m", "--all", "-o", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["tags"], serde_json::json!({}), "{listed}");
}

mod properties {
    use super::{aml_register, model_folder};
    use aml_client::testing::{TestWorkspace, render};
    use proptest::prelude::*;

    proptest! {
        // Each case runs the binary: a sample, not an exhaustive search (the rules themselves
        // are searched in aml-core's properties).
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn a_hostile_name_or_version_is_exit_2_and_writes_nothing(
            name in "(\\.\\./|/|\\.|[a-z]{1,3}|-| ){1,6}",
            flag in prop_oneof![Just("--name"), Just("--version")],
        ) {
            prop_assume!(aml_client::names::NameKind::Model.check(&name).is_err());
            let ws = TestWorkspace::new();
            model_folder(&ws);
            let mut args = vec!["model", "--path", "model"];
            if flag == "--version" {
                args.extend(["--name", "m"]);
            }
            args.extend([flag, name.as_str()]);
            let out = ws.run(&aml_register(), &args);
            prop_assert_eq!(out.status.code(), Some(2), "{}", render(&out));
            prop_assert!(!ws.workspace().exists(), "`{}` created the workspace", name);
        }
    }
}
