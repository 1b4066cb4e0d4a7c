//! `aml-register component`: command components registered in a local workspace, and
//! pipeline steps that name them as `component: azureml:NAME@latest` / `azureml:NAME:V`.

use aml_client::testing::{TestWorkspace, binary, json, render};

fn component(ws: &TestWorkspace, args: &[&str]) -> std::process::Output {
    ws.run(&binary("aml-register"), &[&["component"][..], args].concat())
}

fn files(ws: &TestWorkspace, greeting: &str) {
    ws.write(
        "components/greet.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n\
         type: command\n\
         name: greet\n\
         display_name: Greet\n\
         code: ../src\n\
         additional_includes:\n  - ../shared/words.txt\n\
         environment:\n  image: python\n\
         inputs:\n  who:\n    type: string\n    default: world\n\
         outputs:\n  said:\n    type: uri_folder\n\
         command: python greet.py ${{inputs.who}} ${{outputs.said}}\n",
    );
    ws.write(
        "src/greet.py",
        &format!(
            "import pathlib, sys\n\
             word = pathlib.Path(__file__).with_name('words.txt').read_text().strip()\n\
             line = f'{greeting} {{sys.argv[1]}}, {{word}}'\n\
             print(line)\n\
             pathlib.Path(sys.argv[2], 'said.txt').write_text(line)\n"
        ),
    );
    ws.write("shared/words.txt", "from the shared words\n");
}

fn pipeline(ws: &TestWorkspace, reference: &str) {
    ws.write(
        "pipeline.yml",
        &format!(
            "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\n\
             type: pipeline\n\
             jobs:\n  greet:\n    component: {reference}\n    inputs:\n      who: team\n"
        ),
    );
}

#[test]
fn a_component_registers_frozen_with_its_code_and_pipeline_steps_run_the_version_they_name() {
    let ws = TestWorkspace::new();
    files(&ws, "hello");
    let first = component(&ws, &["-f", "components/greet.yml", "-o", "json"]);
    assert_eq!(first.status.code(), Some(0), "{}", render(&first));
    let first = json(&first);
    assert_eq!(first["id"], "greet:1", "{first}");
    assert_eq!(first["inputs"], serde_json::json!(["who"]));
    assert_eq!(first["outputs"], serde_json::json!(["said"]));
    assert_eq!(first["code_files"], 2, "greet.py and the included words.txt: {first}");
    let again = json(&component(&ws, &["-f", "components/greet.yml", "-o", "json"]));
    assert_eq!((again["id"].as_str(), again["reused"].as_bool()), (Some("greet:1"), Some(true)), "{again}");

    files(&ws, "good morning");
    assert_eq!(json(&component(&ws, &["-f", "components/greet.yml", "-o", "json"]))["id"], "greet:2");
    // Edits after registering reach no version.
    ws.write("src/greet.py", "raise SystemExit('not registered')\n");

    pipeline(&ws, "azureml:greet@latest");
    let latest = ws.run(&binary("aml-train"), &["run", "pipeline.yml"]);
    assert_eq!(latest.status.code(), Some(0), "{}", render(&latest));
    assert!(render(&latest).contains("good morning team, from the shared words"), "{}", render(&latest));
    pipeline(&ws, "azureml:greet:1");
    let first_version = ws.run(&binary("aml-train"), &["run", "pipeline.yml"]);
    assert_eq!(first_version.status.code(), Some(0), "{}", render(&first_version));
    assert!(render(&first_version).contains("hello team, from the shared words"), "{}", render(&first_version));

    let listed = json(&component(&ws, &["list", "greet", "-o", "json"]));
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["greet:2", "greet:1"]);
    let shown = json(&component(&ws, &["show", "greet@latest", "-o", "json"]));
    assert_eq!(shown["command"], "python greet.py ${{inputs.who}} ${{outputs.said}}");
}

#[test]
fn a_component_not_registered_here_is_refused_naming_the_step_and_a_bad_file_writes_nothing() {
    let ws = TestWorkspace::new();
    pipeline(&ws, "azureml:greet@latest");
    let run = ws.run(&binary("aml-train"), &["run", "pipeline.yml"]);
    assert_eq!(run.status.code(), Some(2), "{}", render(&run));
    assert!(render(&run).contains("field `jobs.greet.component`"), "{}", render(&run));
    assert!(render(&run).contains("aml-register component -f"), "{}", render(&run));
    // A step made from the file itself cannot merge its includes without registering it.
    files(&ws, "hello");
    pipeline(&ws, "./components/greet.yml");
    let from_file = ws.run(&binary("aml-train"), &["run", "pipeline.yml"]);
    assert_eq!(from_file.status.code(), Some(2), "{}", render(&from_file));
    assert!(render(&from_file).contains("additional_includes"), "{}", render(&from_file));

    for (file, text, said) in [
        ("noname.yml", "command: echo\nenvironment:\n  image: python\n", "noname.yml: field `name`: is missing"),
        ("badname.yml", "name: Bad-Name\ncommand: echo\nenvironment:\n  image: python\n", "field `name`"),
        ("nocode.yml", "name: x\ncode: ./nowhere\ncommand: echo\nenvironment:\n  image: python\n", "field `code`"),
        ("pipe.yml", "name: x\ntype: pipeline\ncommand: echo\nenvironment:\n  image: python\n", "field `type`"),
    ] {
        ws.write(file, text);
        let out = component(&ws, &["-f", file]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", render(&out));
        assert!(render(&out).contains(said), "{file}: {}", render(&out));
        assert!(!ws.workspace().exists(), "{file}: a refused registration created the workspace");
    }
}

/// `promote` copies an environment, a data asset and a component to another workspace with
/// the same digest; promoting again changes nothing; a pipeline there runs the copy.
#[test]
fn assets_promote_to_another_workspace_with_the_same_digest() {
    let ws = TestWorkspace::new();
    files(&ws, "hello");
    ws.write("env.yml", "name: team-tools\nimage: python:3.11-slim\n");
    ws.write("data.yml", "name: words\ntype: uri_file\npath: ./shared/words.txt\n");
    let registered: Vec<serde_json::Value> = [
        &["component", "-f", "components/greet.yml", "-o", "json"][..],
        &["environment", "-f", "env.yml", "-o", "json"],
        &["data", "-f", "data.yml", "-o", "json"],
    ]
    .iter()
    .map(|args| json(&ws.run(&binary("aml-register"), args)))
    .collect();
    let prod = format!("local:{}", ws.path().join("prod").display());
    for (asset, source) in [("component", &registered[0]), ("environment", &registered[1]), ("data", &registered[2])] {
        let id = source["id"].as_str().unwrap();
        let promoted = json(&ws.run(&binary("aml-register"), &[asset, "promote", id, "--to", &prod, "-o", "json"]));
        assert_eq!((promoted["id"].as_str(), promoted["reused"].as_bool()), (Some(id), Some(false)), "{promoted}");
        assert_eq!(promoted["digest"], source["digest"], "{asset}: {promoted}");
        let again = json(&ws.run(&binary("aml-register"), &[asset, "promote", id, "--to", &prod, "-o", "json"]));
        assert_eq!(again["reused"], true, "{asset}: {again}");
        let same = ws.run(&binary("aml-register"), &[asset, "promote", id, "--to", "local:.aml"]);
        assert_eq!(same.status.code(), Some(2), "{}", render(&same));
    }
    pipeline(&ws, "azureml:greet@latest");
    let run = ws.run(&binary("aml-train"), &["run", "pipeline.yml", "--workspace", &prod]);
    assert_eq!(run.status.code(), Some(0), "{}", render(&run));
    assert!(render(&run).contains("hello team, from the shared words"), "{}", render(&run));
}
