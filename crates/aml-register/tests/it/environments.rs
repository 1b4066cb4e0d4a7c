//! `aml-register environment`: environments registered in a local workspace, and jobs that
//! name them as `azureml:NAME@latest` / `azureml:NAME:V`.

use aml_client::testing::{TestWorkspace, binary, json, render};

fn register(ws: &TestWorkspace, args: &[&str]) -> std::process::Output {
    ws.run(&binary("aml-register"), &[&["environment"][..], args].concat())
}

fn files(ws: &TestWorkspace, six: &str) {
    ws.write(
        "env.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json\n\
         name: team-tools\n\
         image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\n\
         conda_file: conda.yml\n\
         description: what the team's jobs use\n\
         tags:\n  owner: data\n",
    );
    ws.write("conda.yml", &format!("dependencies:\n  - python=3.11\n  - pip:\n    - six=={six}\n"));
}

#[test]
fn an_environment_file_registers_once_per_content_and_lists_and_shows_as_registered() {
    let ws = TestWorkspace::new();
    files(&ws, "1.16.0");
    let first = register(&ws, &["-f", "env.yml", "-o", "json"]);
    assert_eq!(first.status.code(), Some(0), "{}", render(&first));
    let first = json(&first);
    let mut digests = ws.settings();
    digests.add_filter(r"sha256:[0-9a-f]{64}", "[DIGEST]");
    digests.bind(|| {
        insta::assert_json_snapshot!(first, @r#"
        {
          "created_at": "[TIME]",
          "description": "what the team's jobs use",
          "digest": "[DIGEST]",
          "id": "team-tools:1",
          "image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
          "name": "team-tools",
          "not_built_here": null,
          "packages": [
            "six==1.16.0"
          ],
          "python": "3.11",
          "reused": false,
          "tags": {
            "owner": "data"
          },
          "version": "1"
        }
        "#);
    });

    // The same file again is the same version; a changed package list is the next one.
    let again = register(&ws, &["-f", "env.yml"]);
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&again), @r"
        exit_code: 0
        ----- stdout -----
        team-tools:1 is already this environment; no new version was made
        ----- stderr -----
        ");
    });
    files(&ws, "1.17.0");
    let changed = json(&register(&ws, &["-f", "env.yml", "-o", "json"]));
    assert_eq!(changed["id"], "team-tools:2", "{changed}");
    assert_ne!(changed["digest"], first["digest"]);
    // A version the file or the flag names cannot change its content.
    files(&ws, "1.16.0");
    let taken = register(&ws, &["-f", "env.yml", "--version", "2"]);
    assert_eq!(taken.status.code(), Some(2), "{}", render(&taken));
    assert!(render(&taken).contains("environment `team-tools` already has a version `2`"), "{}", render(&taken));

    let listed = json(&register(&ws, &["list", "-o", "json"]));
    assert_eq!(listed.as_array().map(|a| a.len()), Some(1), "{listed}");
    assert_eq!(listed[0]["id"], "team-tools:2");
    let versions = json(&register(&ws, &["list", "team-tools", "-o", "json"]));
    let ids: Vec<&str> = versions.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["team-tools:2", "team-tools:1"]);
    let shown = register(&ws, &["show", "team-tools:1"]);
    digests.bind(|| {
        insta::assert_snapshot!(render(&shown), @r"
        exit_code: 0
        ----- stdout -----
        team-tools:1  [DIGEST]
          image     mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04
          python    3.11
          packages  six==1.16.0
          about     what the team's jobs use
          tags      owner=data
          created   [TIME]
        ----- stderr -----
        ");
    });
    assert_eq!(json(&register(&ws, &["show", "azureml:team-tools@latest", "-o", "json"]))["version"], "2");
    let missing = register(&ws, &["show", "team-tools:7"]);
    assert_eq!(missing.status.code(), Some(2), "{}", render(&missing));
    assert!(render(&missing).contains("no environment `team-tools:7`"), "{}", render(&missing));
    assert!(render(&missing).contains("versions up to `2`"), "{}", render(&missing));
}

#[test]
fn a_job_runs_with_the_version_of_the_environment_it_names() {
    let ws = TestWorkspace::new();
    ws.write(
        "job.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n\
         command: python -c \"import six; print('six', six.__version__)\"\n\
         environment: azureml:team-tools@latest\n",
    );
    // Before it is registered the job is valid (Azure ML may have it) but not run here.
    let before = ws.run(&binary("aml-train"), &["run", "job.yml"]);
    assert_eq!(before.status.code(), Some(2), "{}", render(&before));
    assert!(render(&before).contains("field `environment`"), "{}", render(&before));
    assert!(render(&before).contains("aml-register environment -f"), "{}", render(&before));

    files(&ws, "1.16.0");
    assert_eq!(register(&ws, &["-f", "env.yml"]).status.code(), Some(0));
    files(&ws, "1.17.0");
    assert_eq!(register(&ws, &["-f", "env.yml"]).status.code(), Some(0));
    // The conda file changing after registration changes no version.
    ws.write("conda.yml", "dependencies:\n  - python=3.11\n  - pip:\n    - no-such-package-here\n");

    let latest = ws.run(&binary("aml-train"), &["run", "job.yml"]);
    assert_eq!(latest.status.code(), Some(0), "{}", render(&latest));
    assert!(render(&latest).contains("six 1.17.0"), "{}", render(&latest));
    let text = std::fs::read_to_string(ws.path().join("job.yml")).unwrap();
    ws.write("job.yml", &text.replace("@latest", ":1"));
    let first = ws.run(&binary("aml-train"), &["run", "job.yml"]);
    assert_eq!(first.status.code(), Some(0), "{}", render(&first));
    assert!(render(&first).contains("six 1.16.0"), "{}", render(&first));
}

#[test]
fn a_bad_environment_file_writes_nothing_and_names_the_field() {
    let ws = TestWorkspace::new();
    for (file, text, said) in [
        ("noname.yml", "image: python:3.11\n", "noname.yml: field `name`: is missing"),
        ("badname.yml", "name: ../etc\nimage: python:3.11\n", "badname.yml"),
        ("badconda.yml", "name: x\nimage: python:3.11\nconda_file: nowhere.yml\n", "field `conda_file`"),
        ("unknown.yml", "name: x\nimage: python:3.11\nimages: typo\n", "images"),
    ] {
        ws.write(file, text);
        let out = register(&ws, &["-f", file]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", render(&out));
        assert!(render(&out).contains(said), "{file}: {}", render(&out));
        assert!(!ws.workspace().exists(), "{file}: a refused registration created the workspace");
    }
    let none = register(&ws, &[]);
    assert_eq!(none.status.code(), Some(2), "{}", render(&none));
    assert!(render(&none).contains("aml-register environment -f env.yml"), "{}", render(&none));
}
