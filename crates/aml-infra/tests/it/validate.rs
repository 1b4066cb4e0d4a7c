//! `aml-infra validate`: infra/deploy.json with each environment's parameters passes, and
//! what would fail late in Azure fails here, exit 2, naming the file and the parameter.

use aml_client::testing::{TestWorkspace, binary, json, render, repo_root};

fn validate(ws: &TestWorkspace, parameters: &str) -> std::process::Output {
    let template = repo_root().join("infra/deploy.json");
    ws.run(&binary("aml-infra"), &["validate", template.to_str().unwrap(), "--parameters", parameters])
}

/// The prod parameters file with `edit` applied to its text, written into the workspace.
fn prod_with(ws: &TestWorkspace, edit: impl Fn(&str) -> String) -> String {
    let text = std::fs::read_to_string(repo_root().join("infra/config/deploy.parameters.prod.json")).unwrap();
    ws.write("params.json", &edit(&text)).display().to_string()
}

#[test]
fn each_environment_s_parameters_make_a_valid_deployment() {
    let ws = TestWorkspace::new();
    for environment in ["dev", "qa", "prod"] {
        let file = repo_root().join(format!("infra/config/deploy.parameters.{environment}.json"));
        let checked = validate(&ws, file.to_str().unwrap());
        assert_eq!(checked.status.code(), Some(0), "{environment}: {}", render(&checked));
    }
    let file = repo_root().join("infra/config/deploy.parameters.prod.json");
    let template = repo_root().join("infra/deploy.json");
    let shown = ws.run(
        &binary("aml-infra"),
        &["validate", template.to_str().unwrap(), "--parameters", file.to_str().unwrap(), "-o", "json"],
    );
    let shown = json(&shown);
    let names: Vec<String> = shown["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {} {}", r["type"].as_str().unwrap(), r["name"].as_str().unwrap_or("?"), r["deployed"]))
        .collect();
    insta::assert_snapshot!(names.join("\n"), @r"
    Microsoft.Storage/storageAccounts mlopsprodst<5 chars of uniqueString> true
    Microsoft.KeyVault/vaults mlops-prod-kv-<5 chars of uniqueString> true
    Microsoft.OperationalInsights/workspaces mlops-prod-log true
    Microsoft.Insights/components mlops-prod-appi true
    Microsoft.ContainerRegistry/registries mlopsprodcr<5 chars of uniqueString> true
    Microsoft.MachineLearningServices/workspaces mlops-prod-mlw true
    Microsoft.MachineLearningServices/workspaces/computes mlops-prod-mlw/cpu-cluster true
    Microsoft.ContainerService/managedClusters mlops-prod-aks true
    Microsoft.KubernetesConfiguration/extensions azureml true
    Microsoft.MachineLearningServices/workspaces/computes mlops-prod-mlw/aks-prod true
    ");
}

#[test]
fn a_prefix_that_makes_the_storage_name_25_characters_is_refused_naming_the_parameter() {
    let ws = TestWorkspace::new();
    // 14 + "prod" + "st" + 5 characters of uniqueString() = 25.
    let file = prod_with(&ws, |text| text.replace("\"mlops\"", "\"mlopsplatform1\""));
    let refused = validate(&ws, &file);
    assert_eq!(refused.status.code(), Some(2), "{}", render(&refused));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("field `parameters.prefix`: makes a storage account name"), "{said}");
    assert!(said.contains("which is 25 characters; a storage account name is 3–24 characters"), "{said}");
    assert!(String::from_utf8_lossy(&refused.stdout).is_empty(), "nothing printed as a result");

    // A hyphen suits the key vault and the workspace, not the storage account or registry.
    let hyphen = prod_with(&ws, |text| text.replace("\"mlops\"", "\"ml-ops\""));
    let refused = validate(&ws, &hyphen);
    assert_eq!(refused.status.code(), Some(2), "{}", render(&refused));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("storage account name `ml-opsprodst") && said.contains("has `-`"), "{said}");
    assert!(said.contains("also:") && said.contains("container registry name"), "{said}");
}

#[test]
fn parameters_are_held_to_the_template_s_declarations() {
    let ws = TestWorkspace::new();
    // (case, text replaced in the prod parameters file, by what, what the refusal says)
    let cases = [
        ("unknown", "\"prefix\"", "\"prefx\"", "field `parameters.prefx`: is not a parameter"),
        ("missing", "\"prefix\": { \"value\": \"mlops\" },", "", "field `parameters.prefix`: is missing"),
        (
            "allowed",
            "\"prod\"",
            "\"production\"",
            "field `parameters.environment`: is `\"production\"`, which is not allowed",
        ),
        (
            "type",
            "\"purgeProtection\": { \"value\": true }",
            "\"purgeProtection\": { \"value\": \"yes\" }",
            "not a bool",
        ),
        ("minimum", "\"project\"", "\"clusterMaxNodes\": { \"value\": 0 },\n    \"project\"", "under its minValue 1"),
        (
            "json",
            "\"environment\": { \"value\": \"prod\" },",
            "\"environment\": { \"value\": \"prod\" }",
            "params.json:7:",
        ),
    ];
    for (case, from, to, says) in cases {
        let file = prod_with(&ws, |text| text.replace(from, to));
        let refused = validate(&ws, &file);
        assert_eq!(refused.status.code(), Some(2), "{case}: {}", render(&refused));
        assert!(String::from_utf8_lossy(&refused.stderr).contains(says), "{case}: {}", render(&refused));
    }
}
