//! `aml-infra what-if | deploy | outputs` against the emulator's Resource Manager (every
//! request and answer held to azure-mgmt-resource's models): infra/deploy.json with the dev
//! parameters planned, deployed, trained on, planned and deployed again, changed; and the
//! failures a user meets, each with what it names.

use std::process::Output;

use aml_client::testing::{render, repo_root};
use aml_emulator::SUBSCRIPTION;
use aml_emulator::harness::AzureTest;
use serde_json::Value;

const GROUP: &str = "rg-mlops-dev";

fn template() -> String {
    repo_root().join("infra/deploy.json").display().to_string()
}

fn dev_parameters() -> String {
    repo_root().join("infra/config/deploy.parameters.dev.json").display().to_string()
}

struct Infra(AzureTest);

impl Infra {
    fn start() -> Infra {
        let azure = AzureTest::start();
        Infra(azure)
    }

    fn infra(&self, args: &[&str]) -> Output {
        let mut command = self.0.command("aml-infra");
        command.env("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION).args(args);
        let output = command.output().unwrap_or_else(|e| panic!("cannot run aml-infra: {e}"));
        self.0.assert_no_secrets(&output);
        output
    }

    fn infra_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let output = self.infra(&all);
        assert!(output.status.code().is_some_and(|c| c <= 1), "{args:?}: {}", render(&output));
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e})"))
    }

    fn plan(&self, verb: &str, parameters: &str, extra: &[&str]) -> Value {
        let template = template();
        let mut args = vec![verb, template.as_str(), "--parameters", parameters, "--resource-group", GROUP];
        args.extend(extra);
        self.infra_json(&args)
    }
}

fn changes(plan: &Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let id = c["resource_id"].as_str().unwrap();
            let short = id.split("/providers/").last().unwrap();
            format!("{} {short}", c["change_type"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn the_dev_workspace_is_planned_deployed_trained_on_and_deployed_again_without_change() {
    let infra = Infra::start();
    infra.0.emulator.add_resource_group(GROUP, "westeurope");
    let dev = dev_parameters();

    let first = infra.plan("what-if", &dev, &[]);
    let listed = changes(&first);
    assert_eq!(listed.len(), 7, "{listed:#?}");
    assert!(listed.iter().all(|c| c.starts_with("Create ")), "{listed:#?}");

    let deployed = infra.plan("deploy", &dev, &[]);
    let workspace = deployed["outputs"]["workspace"].as_str().unwrap().to_string();
    assert_eq!(
        workspace,
        format!("azureml://subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/workspaces/mlops-dev-mlw")
    );
    assert_eq!(deployed["outputs"]["clusterName"], "cpu-cluster");
    let login = deployed["outputs"]["registryLoginServer"].as_str().unwrap();
    assert!(login.starts_with("mlopsdevcr") && login.ends_with(".azurecr.io"), "{login}");
    let made = infra.0.emulator.deployed_resources();
    assert_eq!(made.len(), 7, "{:#?}", made.keys());
    let storage = made.values().find(|r| r["type"] == "Microsoft.Storage/storageAccounts").unwrap();
    assert_eq!(storage["properties"]["minimumTlsVersion"], "TLS1_2");
    assert_eq!(storage["tags"]["environment"], "dev");

    // The workspace it made is one the other tools work on.
    infra.0.ws.copy_dir(&repo_root().join("crates/aml-train/tests/fixtures/echo"), "echo");
    let trained = infra
        .0
        .command("aml-train")
        .args(["run", "echo/job.yml", "--name", "on-dev", "--workspace", &workspace, "--quiet", "--output", "json"])
        .output()
        .unwrap();
    assert!(trained.status.success(), "{}", render(&trained));
    let job: Value = serde_json::from_slice(&trained.stdout).unwrap();
    assert_eq!(job["status"], "Completed", "{job:#}");

    let again = infra.plan("what-if", &dev, &["--fail-on", "create,modify,delete"]);
    assert!(changes(&again).iter().all(|c| c.starts_with("NoChange ")), "{:#?}", changes(&again));
    assert_eq!(again["failed"], false);
    let before = infra.0.emulator.deployed_resources();
    let redeployed = infra.plan("deploy", &dev, &[]);
    assert_eq!(redeployed["outputs"], deployed["outputs"]);
    assert_eq!(infra.0.emulator.deployed_resources(), before, "a second deploy changed a resource");

    // One tag of one resource changed: one modify, with its diff.
    let text = std::fs::read_to_string(template()).unwrap().replacen(
        "\"environment\": \"[parameters('environment')]\" },\n      \"sku\": { \"name\": \"Standard_LRS\" }",
        "\"environment\": \"development\" },\n      \"sku\": { \"name\": \"Standard_LRS\" }",
        1,
    );
    assert!(text.contains("\"development\""), "the storage account's tags were not found to change");
    let changed = infra.0.ws.write("deploy-retagged.json", &text).display().to_string();
    let args =
        ["what-if", changed.as_str(), "--parameters", dev.as_str(), "--resource-group", GROUP, "--fail-on", "modify"];
    let plan = infra.infra_json(&args);
    let modified: Vec<&Value> =
        plan["changes"].as_array().unwrap().iter().filter(|c| c["change_type"] != "NoChange").collect();
    assert_eq!(modified.len(), 1, "{plan:#}");
    assert_eq!(modified[0]["change_type"], "Modify");
    assert!(modified[0]["resource_id"].as_str().unwrap().contains("Microsoft.Storage/storageAccounts/mlopsdevst"));
    assert_eq!(
        modified[0]["delta"],
        serde_json::json!([{"path": "tags.environment", "change": "Modify", "before": "dev", "after": "development"}])
    );
    assert_eq!(plan["failed"], true);
    let shown = infra.infra(&args);
    assert_eq!(shown.status.code(), Some(1), "{}", render(&shown));
    insta::assert_snapshot!(String::from_utf8_lossy(&shown.stdout), @r#"
    what-if: deployment `aml-infra` into `rg-mlops-dev` (Incremental)
      Modify    Microsoft.Storage/storageAccounts                       mlopsdevst3v6sb
          Modify tags.environment: "dev" → "development"
      NoChange  Microsoft.KeyVault/vaults                               mlops-dev-kv-3v6sb
      NoChange  Microsoft.OperationalInsights/workspaces                mlops-dev-log
      NoChange  Microsoft.Insights/components                           mlops-dev-appi
      NoChange  Microsoft.ContainerRegistry/registries                  mlopsdevcr3v6sb
      NoChange  Microsoft.MachineLearningServices/workspaces            mlops-dev-mlw
      NoChange  Microsoft.MachineLearningServices/workspaces/computes   mlops-dev-mlw/cpu-cluster
    0 to create, 1 to modify, 0 to delete, 6 unchanged, 0 ignored
    failed: a change of a kind --fail-on lists (Modify)
    "#);
    infra.0.emulator.assert_clean();
}

#[test]
fn a_resource_group_that_does_not_exist_is_all_creates_then_made_by_deploy() {
    let infra = Infra::start();
    let group = "rg-mlops-qa";
    let qa = repo_root().join("infra/config/deploy.parameters.qa.json").display().to_string();
    let template = template();
    let base = ["--parameters", qa.as_str(), "--resource-group", group];
    let plan = infra.infra_json(&[&["what-if", template.as_str()][..], &base[..]].concat());
    assert!(plan["note"].as_str().unwrap().contains("does not exist yet"), "{plan:#}");
    assert!(changes(&plan).iter().all(|c| c.starts_with("Create ")), "{plan:#}");
    assert_eq!(infra.0.requests_containing("POST", "whatIf"), 0, "nothing to ask ARM of a group it does not have");

    let refused = infra.infra(&[&["deploy", template.as_str()][..], &base[..]].concat());
    assert_eq!(refused.status.code(), Some(2), "{}", render(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--location"), "{}", render(&refused));

    let deployed = infra.infra(&[&["deploy", template.as_str(), "--location", "northeurope"][..], &base[..]].concat());
    assert_eq!(deployed.status.code(), Some(0), "{}", render(&deployed));
    let said = String::from_utf8_lossy(&deployed.stderr);
    assert!(said.contains("creating resource group `rg-mlops-qa` in northeurope"), "{said}");
    assert!(said.contains("Succeeded  Microsoft.MachineLearningServices/workspaces `mlops-qa-mlw`"), "{said}");
    // The plan without the group and the deployment agree on every resource.
    let made: Vec<String> = infra.0.emulator.deployed_resources().keys().cloned().collect();
    let planned: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["resource_id"].as_str().unwrap().to_ascii_lowercase())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(made, planned);

    let outputs = infra.infra(&["outputs", "--resource-group", group, "--output", "json"]);
    let outputs: Value = serde_json::from_slice(&outputs.stdout).unwrap();
    assert_eq!(outputs["outputs"]["workspaceName"], "mlops-qa-mlw");
    infra.0.emulator.assert_clean();
}

#[test]
fn a_resource_the_provider_fails_is_named_with_its_code_and_message() {
    let infra = Infra::start();
    infra.0.emulator.add_resource_group(GROUP, "westeurope");
    infra.0.emulator.fail_resource_type(
        "Microsoft.KeyVault/vaults",
        "VaultAlreadyExists",
        "The vault name 'mlops-dev-kv-abcde' is already in use. Vault names are globally unique.",
    );
    let template = template();
    let dev = dev_parameters();
    let failed = infra.infra(&["deploy", template.as_str(), "--parameters", dev.as_str(), "--resource-group", GROUP]);
    assert_eq!(failed.status.code(), Some(1), "{}", render(&failed));
    let said = String::from_utf8_lossy(&failed.stderr);
    assert!(said.contains("Microsoft.KeyVault/vaults `mlops-dev-kv-"), "{said}");
    assert!(said.contains("VaultAlreadyExists: The vault name"), "{said}");
    assert!(!said.contains("DeploymentFailed"), "the wrapper's code instead of the resource's: {said}");
    assert_eq!(failed.stdout, b"", "no outputs from a failed deployment");
    infra.0.emulator.assert_clean();
}

#[test]
fn bad_files_and_names_are_refused_before_any_request() {
    let infra = Infra::start();
    let template = template();
    let dev = std::fs::read_to_string(dev_parameters()).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "long prefix",
            dev.replace("\"mlops\" }", "\"mlopsplatform12\" }"),
            "field `parameters.prefix`: makes a storage account name",
        ),
        ("unknown", dev.replace("\"project\"", "\"projekt\""), "field `parameters.projekt`: is not a parameter"),
        (
            "missing",
            dev.replace("\"environment\": { \"value\": \"dev\" },", ""),
            "field `parameters.environment`: is missing",
        ),
        ("broken JSON", dev.replace("\"prefix\": {", "\"prefix\" {"), "params.json:5:"),
    ];
    for (case, text, said) in cases {
        assert_ne!(text, dev, "{case}: the edit did not apply");
        let file = infra.0.ws.write("params.json", &text).display().to_string();
        for verb in ["what-if", "deploy"] {
            let refused =
                infra.infra(&[verb, template.as_str(), "--parameters", file.as_str(), "--resource-group", GROUP]);
            assert_eq!(refused.status.code(), Some(2), "{case} {verb}: {}", render(&refused));
            assert!(String::from_utf8_lossy(&refused.stderr).contains(said), "{case} {verb}: {}", render(&refused));
        }
    }
    let dev = dev_parameters();
    for (flag, value) in [("--resource-group", "rg/../../x"), ("--name", "a b"), ("--location", "West Europe")] {
        let mut args = vec!["deploy", template.as_str(), "--parameters", dev.as_str(), "--resource-group", GROUP];
        args.extend([flag, value]);
        let refused = infra.infra(&args);
        assert_eq!(refused.status.code(), Some(2), "{flag}: {}", render(&refused));
        assert!(String::from_utf8_lossy(&refused.stderr).contains(flag), "{flag}: {}", render(&refused));
    }
    assert!(infra.0.emulator.requests().is_empty(), "a request was sent: {:?}", infra.0.emulator.requests());
}
