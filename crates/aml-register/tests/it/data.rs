//! `aml-register data`: data assets registered in a local workspace, and job inputs that name
//! them as `azureml:NAME@latest` / `azureml:NAME:V`.

use aml_client::testing::{TestWorkspace, binary, json, render};

fn data(ws: &TestWorkspace, args: &[&str]) -> std::process::Output {
    ws.run(&binary("aml-register"), &[&["data"][..], args].concat())
}

fn asset_files(ws: &TestWorkspace, rows: &str) {
    ws.write(
        "data.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\n\
         name: patients\n\
         description: the training rows\n\
         type: uri_folder\n\
         path: ./rows\n",
    );
    ws.write("rows/part-0.csv", &format!("age,bmi\n{rows}\n"));
    ws.write("rows/nested/part-1.csv", "age,bmi\n70,31.0\n");
}

fn job(ws: &TestWorkspace, reference: &str, kind: &str) {
    ws.write(
        "job.yml",
        &format!(
            "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n\
             command: cat ${{{{inputs.rows}}}}/part-0.csv\n\
             environment:\n  image: python\n\
             inputs:\n  rows:\n    type: {kind}\n    path: {reference}\n"
        ),
    );
}

#[test]
fn a_local_folder_is_copied_in_so_a_version_keeps_what_it_held_and_jobs_read_it() {
    let ws = TestWorkspace::new();
    asset_files(&ws, "50,24.1");
    let first = data(&ws, &["-f", "data.yml", "-o", "json"]);
    assert_eq!(first.status.code(), Some(0), "{}", render(&first));
    let first = json(&first);
    assert_eq!((first["id"].as_str(), first["type"].as_str()), (Some("patients:1"), Some("uri_folder")), "{first}");
    assert_eq!((first["copied"].as_bool(), first["file_count"].as_u64()), (Some(true), Some(2)), "{first}");
    assert_eq!(first["reused"], false);
    let again = json(&data(&ws, &["-f", "data.yml", "-o", "json"]));
    assert_eq!((again["id"].as_str(), again["reused"].as_bool()), (Some("patients:1"), Some(true)), "{again}");

    asset_files(&ws, "61,27.5");
    let second = json(&data(&ws, &["-f", "data.yml", "-o", "json"]));
    assert_eq!(second["id"], "patients:2", "{second}");
    // The files change again after registering: no version sees it.
    ws.write("rows/part-0.csv", "age,bmi\n99,99.9\n");

    job(&ws, "azureml:patients@latest", "uri_folder");
    let latest = ws.run(&binary("aml-train"), &["run", "job.yml"]);
    assert_eq!(latest.status.code(), Some(0), "{}", render(&latest));
    assert!(render(&latest).contains("61,27.5"), "{}", render(&latest));
    job(&ws, "azureml:patients:1", "uri_folder");
    let first_version = ws.run(&binary("aml-train"), &["run", "job.yml"]);
    assert_eq!(first_version.status.code(), Some(0), "{}", render(&first_version));
    assert!(render(&first_version).contains("50,24.1"), "{}", render(&first_version));

    // An input of another type than the asset's is refused naming the field.
    job(&ws, "azureml:patients:1", "uri_file");
    let mismatch = ws.run(&binary("aml-train"), &["run", "job.yml"]);
    assert_eq!(mismatch.status.code(), Some(2), "{}", render(&mismatch));
    assert!(render(&mismatch).contains("field `inputs.rows.type`"), "{}", render(&mismatch));
    assert!(render(&mismatch).contains("`uri_folder` data asset"), "{}", render(&mismatch));

    let listed = json(&data(&ws, &["list", "patients", "-o", "json"]));
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["patients:2", "patients:1"]);
    let shown = data(&ws, &["show", "patients:1"]);
    let mut filters = ws.settings();
    filters.add_filter(r"sha256:[0-9a-f]{64}", "[DIGEST]");
    filters.bind(|| {
        insta::assert_snapshot!(render(&shown), @r"
        exit_code: 0
        ----- stdout -----
        patients:1  uri_folder  [DIGEST]
          copied    2 files, 32 bytes, from [TMP]/rows
          about     the training rows
          created   [TIME]
        ----- stderr -----
        ");
    });
}

#[test]
fn a_path_elsewhere_is_kept_as_written_and_read_as_an_input_written_with_it() {
    let ws = TestWorkspace::new();
    // A file in the local workspace's datastore, named as Azure ML names datastore paths.
    ws.write(
        "remote.yml",
        "name: scores\ntype: uri_file\npath: azureml://datastores/workspaceblobstore/paths/in/scores.csv\n",
    );
    let registered = json(&data(&ws, &["-f", "remote.yml", "-o", "json"]));
    assert_eq!(registered["copied"], false, "{registered}");
    assert_eq!(registered["path"], "azureml://datastores/workspaceblobstore/paths/in/scores.csv");
    ws.write(".aml/datastores/workspaceblobstore/in/scores.csv", "from the datastore\n");
    ws.write(
        "job.yml",
        "command: cat ${{inputs.scores}}\nenvironment:\n  image: python\n\
         inputs:\n  scores:\n    type: uri_file\n    path: azureml:scores@latest\n",
    );
    let run = ws.run(&binary("aml-train"), &["run", "job.yml"]);
    assert_eq!(run.status.code(), Some(0), "{}", render(&run));
    assert!(render(&run).contains("from the datastore"), "{}", render(&run));
}

#[test]
fn a_data_asset_not_registered_here_is_valid_and_refused_here_and_a_bad_file_writes_nothing() {
    let ws = TestWorkspace::new();
    job(&ws, "azureml:nobody@latest", "uri_folder");
    let checked = ws.run(&binary("aml-train"), &["validate", "job.yml"]);
    assert_eq!(checked.status.code(), Some(0), "{}", render(&checked));
    let run = ws.run(&binary("aml-train"), &["run", "job.yml"]);
    assert_eq!(run.status.code(), Some(2), "{}", render(&run));
    assert!(render(&run).contains("field `inputs.rows.path`"), "{}", render(&run));
    assert!(render(&run).contains("aml-register data -f data.yml"), "{}", render(&run));

    for (file, text, said) in [
        ("noname.yml", "type: uri_file\npath: ./x.csv\n", "noname.yml: field `name`: is missing"),
        ("nopath.yml", "name: x\ntype: uri_file\n", "field `path`: is missing"),
        ("missing.yml", "name: x\ntype: uri_file\npath: ./nowhere.csv\n", "`./nowhere.csv` is not an existing file"),
        ("model.yml", "name: x\ntype: mlflow_model\npath: ./m\n", "field `type`"),
        ("badname.yml", "name: -x\ntype: uri_file\npath: ./x.csv\n", "badname.yml"),
    ] {
        ws.write(file, text);
        let out = data(&ws, &["-f", file]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", render(&out));
        assert!(render(&out).contains(said), "{file}: {}", render(&out));
        assert!(!ws.workspace().exists(), "{file}: a refused registration created the workspace");
    }
}

#[test]
fn racing_registrations_of_the_same_content_end_as_one_version_each() {
    let ws = TestWorkspace::new();
    asset_files(&ws, "50,24.1");
    // The workspace exists first, so the race is on the registration, not on creating it.
    ws.write("env.yml", "name: racer\nimage: python:3.11-slim\n");
    assert_eq!(ws.run(&binary("aml-register"), &["environment", "-f", "env.yml"]).status.code(), Some(0));
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let kind = if i % 2 == 0 { "data" } else { "environment" };
            let mut command = ws.command(&binary("aml-register"));
            match kind {
                "data" => command.args(["data", "-f", "data.yml", "-o", "json"]),
                _ => command.args(["environment", "-f", "env.yml", "--set", "image=python:3.12-slim", "-o", "json"]),
            };
            command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for racer in racers {
        let out = racer.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", render(&out));
        ids.insert(json(&out)["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.into_iter().collect::<Vec<_>>(), ["patients:1", "racer:2"]);
    let versions = json(&data(&ws, &["list", "patients", "-o", "json"]));
    assert_eq!(versions.as_array().map(|v| v.len()), Some(1), "{versions}");
    let environments = json(&ws.run(&binary("aml-register"), &["environment", "list", "racer", "-o", "json"]));
    assert_eq!(environments.as_array().map(|v| v.len()), Some(2), "{environments}");
}
