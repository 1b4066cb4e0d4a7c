//! Batch endpoints and deployments: judged as azure-ai-ml judges them (`validate`), refused
//! cleanly by `apply` before anything is written, each refusal naming the file and field.

use std::path::{Path, PathBuf};

use aml_client::testing::{TestWorkspace, binary, render};

fn corpus(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../aml-train/tests/corpus/azureml-examples/cli/endpoints/batch/deploy-models/heart-classifier-mlflow")
        .join(file)
}

#[test]
fn batch_files_validate_as_azure_ai_ml_reads_them_and_apply_refuses_them_writing_nothing() {
    let ws = TestWorkspace::new();
    for file in ["endpoint.yml", "deployment-custom/deployment.yml", "deployment-simple/deployment.yml"] {
        let checked = ws.run(&binary("aml-deploy"), &["validate", "-f", corpus(file).to_str().unwrap()]);
        assert_eq!(checked.status.code(), Some(0), "{file}: {}", render(&checked));
        let text = String::from_utf8_lossy(&checked.stdout);
        assert!(text.contains("aml-deploy does not deploy them yet"), "{text}");
        assert!(text.contains("ok: ") && text.contains("batch "), "{text}");

        let refused = ws.run(&binary("aml-deploy"), &["apply", "-f", corpus(file).to_str().unwrap()]);
        assert_eq!(refused.status.code(), Some(2), "{file}: {}", render(&refused));
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(said.contains("$schema") && said.contains("az ml batch-"), "{said}");
    }
    assert!(!ws.workspace().exists(), "a refused apply created the workspace");

    let deployment = std::fs::read_to_string(corpus("deployment-custom/deployment.yml")).unwrap();
    let cases = [
        (deployment.replace("compute: azureml:batch-cluster\n", ""), "compute"),
        (deployment.replace("settings:\n", "mini_batch_size: 2\nsettings:\n"), "mini_batch_size"),
        (deployment.replace("output_action: append_row", "output_action: append_rows"), "output_action"),
        (deployment.replace("modelBatchDeployment", "batchDeployment"), "settings"),
    ];
    // A copy of the example, so its relative paths resolve as written.
    ws.copy_dir(&corpus(""), "heart");
    for (text, field) in cases {
        ws.write(&format!("heart/deployment-custom/bad-{field}.yml"), &text);
        let file = format!("heart/deployment-custom/bad-{field}.yml");
        let refused = ws.run(&binary("aml-deploy"), &["validate", "-f", &file]);
        assert_eq!(refused.status.code(), Some(2), "{field}: {}", render(&refused));
        assert!(String::from_utf8_lossy(&refused.stderr).contains(field), "{field}: {}", render(&refused));
    }
}
