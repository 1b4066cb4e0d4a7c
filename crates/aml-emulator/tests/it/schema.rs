//! The emulator is only worth its tests if it is strict: bodies the official models reject
//! must be violations, and the official examples must pass.

use aml_emulator::schema::{Direction, Schema};
use serde_json::{Value, json};

fn schema() -> Schema {
    Schema::load(&aml_emulator::oracle_schema()).unwrap()
}

fn example(path: &str) -> Value {
    let file = aml_emulator::repo_root().join("contracts/azureml/examples").join(path);
    serde_json::from_str(&std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))).unwrap()
}

#[test]
fn a_valid_model_version_passes() {
    let body = json!({"properties": {"modelUri": "azureml://datastores/workspaceblobstore/paths/LocalUpload/x/model", "modelType": "custom_model", "tags": {"a": "b"}, "properties": {"k": "v"}}});
    assert_eq!(schema().check("ModelVersion", &body, Direction::Request), Vec::<String>::new());
}

#[test]
fn unknown_missing_read_only_and_mistyped_fields_are_violations() {
    let schema = schema();
    let unknown = json!({"properties": {"modelUri": "x", "modelUrl": "typo"}});
    assert!(
        schema
            .check("ModelVersion", &unknown, Direction::Request)
            .iter()
            .any(|p| p.contains("modelUrl") && p.contains("not a field"))
    );
    let missing = json!({"name": "3"});
    let problems = schema.check("ModelVersion", &missing, Direction::Request);
    assert!(problems.iter().any(|p| p.contains("$.properties: required")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("$.name: read-only")), "{problems:?}");
    let mistyped = json!({"properties": {"tags": {"a": 1}}});
    assert!(
        schema
            .check("ModelVersion", &mistyped, Direction::Request)
            .iter()
            .any(|p| p.contains("$.properties.tags.a: wrong type"))
    );
}

#[test]
fn discriminators_and_enums_are_checked() {
    let schema = schema();
    let job =
        json!({"properties": {"jobType": "Comand", "command": "python train.py", "environmentId": "azureml:env:1"}});
    assert!(
        schema.check("JobBase", &job, Direction::Request).iter().any(|p| p.contains("jobType") && p.contains("Comand"))
    );
    let secrets = json!({"expirableSecret": true, "expireAfterHours": "1"});
    assert!(!schema.check("SecretExpiry", &secrets, Direction::Request).is_empty());
    let upload = json!({"pendingUploadType": "TemporaryBlob"});
    assert!(
        schema
            .check("PendingUploadRequestDto", &upload, Direction::Request)
            .iter()
            .any(|p| p.contains("TemporaryBlob"))
    );
}

#[test]
fn the_official_examples_pass() {
    let schema = schema();
    let model = example("Workspace/ModelVersion/createOrUpdate.json");
    let request = &model["parameters"]["body"];
    assert_eq!(schema.check("ModelVersion", request, Direction::Request), Vec::<String>::new());
    for (status, response) in model["responses"].as_object().unwrap() {
        assert_eq!(
            schema.check("ModelVersion", &response["body"], Direction::Response),
            Vec::<String>::new(),
            "response {status}"
        );
    }
}
