//! Running in CI: results become pipeline variables, a summary, and error annotations, in
//! each CI's own protocol (`shared/contracts/ci/README.md`), while stdout stays the result.

use aml_client::testing::{TestWorkspace, binary, json, render};

fn register(ws: &TestWorkspace, ci: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    ws.write("model/weights.bin", "weights");
    let mut command = ws.command(&binary("aml-register"));
    command.env("AML_CI", "auto").args(args);
    for (k, v) in ci {
        command.env(k, v);
    }
    command.output().unwrap()
}

const REGISTER: &[&str] = &["model", "--name", "m", "--path", "model", "-o", "json"];

#[test]
fn github_actions_gets_outputs_and_a_step_summary() {
    let ws = TestWorkspace::new();
    let outputs = ws.path().join("github_output");
    let summary = ws.path().join("step_summary");
    let output = register(
        &ws,
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
        REGISTER,
    );
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    let digest = json(&output)["digest"].as_str().unwrap().to_string();
    assert_eq!(
        std::fs::read_to_string(&outputs).unwrap(),
        format!("modelName=m\nmodelVersion=1\nmodelId=m:1\nmodelDigest={digest}\n")
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.starts_with("### aml-register: `m:1`"), "{summary}");
}

#[test]
fn azure_devops_gets_output_variables_and_a_summary_on_stderr() {
    let ws = TestWorkspace::new();
    let output = register(&ws, &[("TF_BUILD", "True"), ("AGENT_TEMPDIRECTORY", ws.path().to_str().unwrap())], REGISTER);
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    json(&output); // stdout is still exactly one JSON document
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("##vso[task.setvariable variable=modelVersion;isoutput=true]1\n"), "{stderr}");
    assert!(stderr.contains("##vso[task.setvariable variable=modelId;isoutput=true]m:1\n"), "{stderr}");
    let upload = stderr.lines().find_map(|l| l.strip_prefix("##vso[task.uploadsummary]")).expect("a summary upload");
    assert!(std::path::Path::new(upload).is_absolute());
    assert!(std::fs::read_to_string(upload).unwrap().contains("`m:1`"));
}

#[test]
fn jenkins_gets_a_properties_file() {
    let ws = TestWorkspace::new();
    let file = ws.path().join("aml.properties");
    let output = register(
        &ws,
        &[("JENKINS_URL", "http://jenkins.invalid/"), ("AML_OUTPUTS_FILE", file.to_str().unwrap())],
        REGISTER,
    );
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    let properties = std::fs::read_to_string(file).unwrap();
    // `:` needs no escape in a properties value (only in keys); Jenkins' readProperties reads this as is.
    assert!(properties.starts_with("modelName=m\nmodelVersion=1\nmodelId=m:1\nmodelDigest=sha256:"), "{properties}");
}

#[test]
fn errors_become_annotations_pointing_at_the_file_and_line() {
    let ws = TestWorkspace::new();
    ws.write("typo.yml", "name: m\npath: ./model\ntpye: custom_model\n");
    let ado = register(&ws, &[("TF_BUILD", "True")], &["model", "-f", "typo.yml"]);
    assert_eq!(ado.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&ado.stderr);
    assert!(
        stderr.starts_with("##vso[task.logissue type=error;sourcepath=typo.yml;linenumber=3;columnnumber=1]typo.yml:3:1: unknown field `tpye`"),
        "{stderr}"
    );
    let github = register(&ws, &[("GITHUB_ACTIONS", "true")], &["model", "-f", "typo.yml"]);
    let stderr = String::from_utf8_lossy(&github.stderr);
    assert!(stderr.starts_with("::error file=typo.yml,line=3,col=1::typo.yml:3:1: unknown field `tpye`"), "{stderr}");
}

#[test]
fn outside_ci_nothing_extra_is_printed() {
    let ws = TestWorkspace::new();
    let output = register(&ws, &[("TF_BUILD", "True")], &["model", "--name", "m", "--path", "model", "--ci", "none"]);
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stderr), @"");
}
