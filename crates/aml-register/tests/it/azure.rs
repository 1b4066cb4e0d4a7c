//! aml-register on an Azure ML workspace: the real binary against the emulator (ARM and
//! Entra over TLS, every body held to the official models) and Azurite (blob storage).

use std::process::Output;

use aml_client::testing::{TestWorkspace, binary};
use aml_emulator::azurite::Azurite;
use aml_emulator::harness::AzureTest;
use aml_emulator::{Emulator, Fault};
use serde_json::Value;

struct Azure(AzureTest);

impl std::ops::Deref for Azure {
    type Target = AzureTest;
    fn deref(&self) -> &AzureTest {
        &self.0
    }
}

impl Azure {
    fn start() -> Azure {
        Azure(AzureTest::start())
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)], remove: &[&str]) -> Output {
        let mut command = self.0.command("aml-register");
        for name in remove {
            command.env_remove(name);
        }
        for (k, v) in env {
            command.env(k, v);
        }
        let output = command.args(args).output().unwrap();
        self.0.assert_no_secrets(&output);
        output
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[], &[])
    }

    fn json(&self, args: &[&str]) -> Value {
        self.0.json("aml-register", args)
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The model flow every backend must give the same answers to.
fn model_flow(ws: &TestWorkspace, json: &dyn Fn(&[&str]) -> Value, plain: &dyn Fn(&[&str]) -> Output) -> Value {
    let model = ws.write("model/weights.bin", "weights v1");
    ws.write("model/conf/config.json", "{\"alpha\": 0.1}");
    let model_dir = model.parent().unwrap().display().to_string();

    let first = json(&["model", "--name", "diabetes", "--path", &model_dir, "--tag", "stage=candidate"]);
    assert_eq!(first["name"], "diabetes");
    assert_eq!(first["version"], "1");
    assert_eq!(first["tags"]["stage"], "candidate");
    assert_eq!(first["reused"], false);

    // The same files again: same version back, nothing stored twice.
    let again = json(&["model", "--name", "diabetes", "--path", &model_dir]);
    assert_eq!(again["version"], "1");
    assert_eq!(again["reused"], true);
    assert_eq!(again["digest"], first["digest"]);

    ws.write("model/weights.bin", "weights v2");
    let second = json(&["model", "--name", "diabetes", "--path", &model_dir]);
    assert_eq!(second["version"], "2");
    assert_ne!(second["digest"], first["digest"]);

    assert_eq!(json(&["show", "diabetes@latest"])["version"], "2");
    let tagged = json(&["tag", "diabetes:1", "approved=yes", "--remove", "stage"]);
    assert_eq!(tagged["tags"], serde_json::json!({"approved": "yes"}));
    assert_eq!(json(&["show", "diabetes@approved=yes"])["version"], "1");

    let listed = json(&["list", "diabetes"]);
    let versions: Vec<&str> = listed.as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!(versions, ["2", "1"]);
    let models = json(&["list"]);
    assert_eq!(models.as_array().unwrap().len(), 1);

    let target = ws.path().join("copy");
    let downloaded = json(&["download", "diabetes:1", &target.display().to_string()]);
    assert_eq!(downloaded["digest"], first["digest"]);
    assert_eq!(std::fs::read_to_string(target.join("weights.bin")).unwrap(), "weights v1");
    assert_eq!(std::fs::read_to_string(target.join("conf/config.json")).unwrap(), "{\"alpha\": 0.1}");

    // Bad input is refused the same way: exit 2 naming the model.
    let missing = plain(&["show", "diabetez:1"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no model named `diabetez`"), "{}", stderr(&missing));
    first
}

#[test]
fn the_model_flow_gives_the_same_answers_on_local_and_azure() {
    let local = TestWorkspace::new();
    let run_local = |args: &[&str]| local.run(&binary("aml-register"), args);
    let json_local = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let output = local.run(&binary("aml-register"), &all);
        assert!(output.status.success(), "{args:?} failed locally: {}", stderr(&output));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let on_local = model_flow(&local, &json_local, &run_local);

    let azure = Azure::start();
    let on_azure = model_flow(&azure.ws, &|args| azure.json(args), &|args| azure.run(args));
    // Same files, same digest, on either backend: what promote relies on.
    assert_eq!(on_local["digest"], on_azure["digest"]);

    // The stored version is what azure-ai-ml itself would write: modelUri on the default
    // datastore under LocalUpload/<object hash>/<folder>.
    let stored = azure.emulator.model_versions();
    let uri =
        stored[&("diabetes".to_string(), "1".to_string())]["properties"]["modelUri"].as_str().unwrap().to_string();
    assert!(
        uri.starts_with("azureml://subscriptions/")
            && uri.contains("/datastores/workspaceblobstore/paths/LocalUpload/")
            && uri.ends_with("/model"),
        "{uri}"
    );
    azure.emulator.assert_clean();
}

/// An identity-based datastore (no account key to list): storage is reached with the
/// identity's own Entra token for https://storage.azure.com, which Azurite checks (issuer,
/// audience, lifetime) in its OAuth mode over https. The same model flow, the same answers.
#[test]
fn an_identity_based_datastore_is_reached_with_the_identitys_storage_token() {
    let emulator = Emulator::start(None).unwrap();
    let azurite = Azurite::start_oauth(&emulator.cert, &emulator.key).unwrap();
    emulator.set_storage(azurite.storage(azurite.port));
    let azure = Azure(AzureTest::with(emulator, azurite));
    let first = model_flow(&azure.ws, &|args| azure.json(args), &|args| azure.run(args));
    assert_eq!(first["version"], "1");
    assert_eq!(azure.requests_containing("POST", "listSecrets"), 0, "no secret was asked for");
    azure.emulator.assert_clean();
}

#[test]
fn promote_copies_a_local_version_to_azure_with_the_same_digest() {
    let azure = Azure::start();
    azure.ws.write("m/model.pkl", "pickled");
    let local = azure.ws.path().join("dev");
    let local_ws = format!("local:{}", local.display());
    let registered = azure.json(&["model", "--name", "churn", "--path", "m", "--workspace", &local_ws]);
    let promoted = azure.json(&["promote", "churn:1", "--workspace", &local_ws, "--to", &azure.emulator.workspace()]);
    assert_eq!(promoted["digest"], registered["digest"]);
    assert_eq!(promoted["version"], "1");
    let again = azure.json(&["promote", "churn:1", "--workspace", &local_ws, "--to", &azure.emulator.workspace()]);
    assert_eq!(again["reused"], true);
    azure.emulator.assert_clean();
}

#[test]
fn throttling_and_transient_faults_are_retried() {
    let azure = Azure::start();
    azure.ws.write("m.pkl", "pickled");
    azure.emulator.inject("PUT", "/models/churn/versions/", Fault::Status(429, Some(1)), 2);
    azure.emulator.inject("GET", "/datastores/workspaceblobstore", Fault::Status(503, Some(1)), 1);
    azure.emulator.inject("POST", "/listSecrets", Fault::Reset, 1);
    let registered = azure.json(&["model", "--name", "churn", "--path", "m.pkl"]);
    assert_eq!(registered["version"], "1");
    let puts: Vec<u16> = azure
        .emulator
        .requests()
        .into_iter()
        .filter(|(m, p, _)| m == "PUT" && p.contains("/models/churn/versions/"))
        .map(|r| r.2)
        .collect();
    assert_eq!(puts, [429, 429, 201]);
    azure.emulator.assert_clean();
}

#[test]
fn wrong_secret_names_the_source_and_tenant_never_the_secret() {
    let azure = Azure::start();
    azure.ws.write("m.pkl", "pickled");
    let output = azure.run_with(&["list"], &[("AZURE_CLIENT_SECRET", "not-the-secret-k3y")], &[]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("client secret of app") && text.contains(aml_emulator::TENANT) && text.contains("AADSTS7000215"),
        "{text}"
    );
    assert!(!text.contains("not-the-secret-k3y"), "{text}");
    azure.emulator.assert_clean();
}

#[test]
fn a_workspace_that_does_not_exist_gives_arms_message() {
    let azure = Azure::start();
    let missing = format!(
        "azureml://subscriptions/{}/resourceGroups/{}/workspaces/nope",
        aml_emulator::SUBSCRIPTION,
        aml_emulator::RESOURCE_GROUP
    );
    let output = azure.run(&["list", "--workspace", &missing]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("ResourceNotFound") && stderr(&output).contains("workspaces/nope"),
        "{}",
        stderr(&output)
    );
    azure.emulator.assert_clean();
}

#[test]
fn every_identity_source_reaches_the_workspace() {
    let azure = Azure::start();
    let token_file = azure.ws.write("federated-token", aml_emulator::FEDERATED_ASSERTION);
    let token_file = token_file.display().to_string();
    let url = azure.emulator.url();
    let msi = format!("{url}/msi/token");
    let oidc = format!("{url}/github/oidc?api-version=2.0");
    // A stand-in `az` that prints what `az account get-access-token` prints: the emulator
    // accepts only tokens it issued, so it fetches one as a managed identity would.
    let bin = azure.ws.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let az = bin.join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\ntoken=$(curl -s --cacert '{}' -H 'X-IDENTITY-HEADER: {}' '{msi}?api-version=2019-08-01&resource=x' | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')\necho \"{{\\\"accessToken\\\": \\\"$token\\\", \\\"expires_on\\\": $(($(date +%s)+3600)), \\\"tokenType\\\": \\\"Bearer\\\"}}\"\n",
            azure.emulator.cert.display(),
            aml_emulator::IDENTITY_HEADER
        ),
    )
    .unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(&mut std::fs::metadata(&az).unwrap().permissions(), 0o755);
    std::fs::set_permissions(&az, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        ("workload", vec![("AZURE_FEDERATED_TOKEN_FILE", token_file.as_str())], vec!["AZURE_CLIENT_SECRET"]),
        (
            "workload",
            vec![
                ("ACTIONS_ID_TOKEN_REQUEST_URL", oidc.as_str()),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", aml_emulator::GITHUB_REQUEST_TOKEN),
            ],
            vec!["AZURE_CLIENT_SECRET"],
        ),
        (
            "managed-identity",
            vec![("IDENTITY_ENDPOINT", msi.as_str()), ("IDENTITY_HEADER", aml_emulator::IDENTITY_HEADER)],
            vec!["AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID"],
        ),
        ("cli", vec![("PATH", path.as_str())], vec!["AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID"]),
    ];
    for (source, env, remove) in cases {
        // Chosen explicitly, and found by `auto` alone.
        for auth in [source, "auto"] {
            let output = azure.run_with(&["list", "--auth", auth], &env, &remove);
            assert!(output.status.success(), "--auth {auth} with {env:?}: {}", stderr(&output));
        }
    }
    // Nothing configured: the error lists what was tried.
    let output = azure.run_with(
        &["list"],
        &[("PATH", "/usr/bin:/bin")],
        &["AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"],
    );
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let text = stderr(&output);
    for tried in ["client secret", "workload identity", "managed identity", "Azure CLI"] {
        assert!(text.contains(tried), "`{tried}` missing from: {text}");
    }
    azure.emulator.assert_clean();
}

#[test]
fn a_1_gib_upload_survives_connections_dropped_mid_body() {
    use std::io::Write;
    let azurite = Azurite::start().unwrap();
    // Three connections cut once they have carried 6 MiB: inside a 4 MiB block's body.
    let proxy = aml_emulator::proxy::Proxy::start(azurite.port, 6 << 20, 3).unwrap();
    let emulator = Emulator::start(Some(azurite.storage(proxy.port))).unwrap();
    let azure = Azure(AzureTest::with(emulator, azurite));
    let path = azure.ws.path().join("big.bin");
    {
        // Distinct bytes everywhere, so a block stored twice or out of order changes the digest.
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut chunk = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            for word in chunk.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                word.copy_from_slice(&state.to_le_bytes());
            }
            file.write_all(&chunk).unwrap();
        }
    }
    let registered = azure.json(&["model", "--name", "big", "--path", "big.bin"]);
    assert_eq!(registered["size"], 1u64 << 30);
    assert_eq!(proxy.resets_left(), 0, "the proxy never cut a connection");
    std::fs::remove_file(&path).unwrap();
    // The copy in storage is byte for byte the file: download checks every byte against the digest.
    let target = azure.ws.path().join("copy");
    let downloaded = azure.json(&["download", "big:1", &target.display().to_string()]);
    assert_eq!(downloaded["digest"], registered["digest"]);
    azure.emulator.assert_clean();
}

/// `AML_LOG=debug` shows each request (method, URL without its query, status, try), the
/// token's source, and a throttled try being retried; at `trace` the SDK's and the HTTP
/// stack's own events join in. Neither level prints a secret.
#[test]
fn verbose_output_shows_requests_tokens_and_retries_never_a_secret() {
    let azure = Azure::start();
    azure.ws.write("m.pkl", "pickled");
    azure.json(&["model", "--name", "churn", "--path", "m.pkl"]);
    azure.emulator.inject("GET", "/models", Fault::Status(429, Some(1)), 1);
    let debug = azure.run_with(
        &["list", "--workspace", &azure.emulator.workspace()],
        &[("AML_LOG", "debug")],
        &["AML_LOG_FILE"],
    );
    assert!(debug.status.success(), "{}", stderr(&debug));
    let text = stderr(&debug);
    let arm = azure.emulator.url();
    for expected in [
        format!("GET {arm}/subscriptions/{}/resourceGroups/", aml_emulator::SUBSCRIPTION),
        "/models → 429".to_string(),
        "(try 1); retryable, Retry-After 1".to_string(),
        "/models → 200".to_string(),
        "(try 2)".to_string(),
        "acting as client secret of app".to_string(),
        "token for ".to_string(),
        format!("from client secret of app {}", aml_emulator::CLIENT_ID),
    ] {
        assert!(text.contains(&expected), "`{expected}` not in the verbose output:\n{text}");
    }
    assert!(!text.contains("api-version"), "a query was logged:\n{text}");
    // The result on stdout is the same JSON as without --verbose.
    assert!(String::from_utf8_lossy(&debug.stdout).contains("churn"));

    let trace = azure.run_with(&["list", "-v"], &[("AML_LOG", "trace")], &["AML_LOG_FILE"]);
    assert!(trace.status.success(), "{}", stderr(&trace));
    assert!(stderr(&trace).lines().count() > text.lines().count(), "trace adds the stack's own events");
    azure.emulator.assert_clean();
}

/// A byte altered on the wire never becomes a stored model: each block carries its
/// Content-MD5, so storage refuses the altered one; the upload is retried or fails, and
/// what is stored downloads byte for byte.
#[test]
fn a_byte_flipped_on_the_wire_is_refused_by_storage_never_stored() {
    let azurite = Azurite::start().unwrap();
    // One connection has a byte of a block's body flipped, 1 MiB in.
    let proxy = aml_emulator::proxy::Proxy::flipping(azurite.port, 1 << 20, 1).unwrap();
    let emulator = Emulator::start(Some(azurite.storage(proxy.port))).unwrap();
    let azure = Azure(AzureTest::with(emulator, azurite));
    let body: Vec<u8> = (0..(6u32 << 20)).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(azure.ws.path().join("model.bin"), &body).unwrap();
    let output = azure.run(&["model", "--name", "flipped", "--path", "model.bin", "-o", "json"]);
    assert_eq!(proxy.resets_left(), 0, "the proxy never flipped a byte");
    if output.status.success() {
        let registered: Value = serde_json::from_slice(&output.stdout).unwrap();
        let target = azure.ws.path().join("copy");
        let downloaded = azure.json(&["download", "flipped:1", &target.display().to_string()]);
        assert_eq!(downloaded["digest"], registered["digest"]);
        assert_eq!(std::fs::read(target.join("model.bin")).unwrap(), body, "altered bytes were stored");
    } else {
        let said = stderr(&output);
        assert!(said.contains("Md5Mismatch") || said.contains("MD5"), "{said}");
        let listed = azure.json(&["list"]);
        assert!(!listed.to_string().contains("flipped"), "a version was registered: {listed}");
    }
}

/// Environments registered in an Azure ML workspace as `az ml environment create` registers
/// them (the body held to EnvironmentVersion), and a job naming one by `@latest` submitted
/// with that version.
#[test]
fn an_environment_registers_on_azure_once_per_content_and_jobs_name_it() {
    let azure = Azure::start();
    let ws = &azure.ws;
    ws.write("conda.yml", "dependencies:\n  - python=3.11\n  - pip:\n    - six==1.16.0\n");
    ws.write(
        "env.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json\n\
         name: team-tools\n\
         image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\n\
         conda_file: conda.yml\n\
         description: what the team's jobs use\n",
    );
    let first = azure.json(&["environment", "-f", "env.yml"]);
    assert_eq!((first["id"].as_str(), first["reused"].as_bool()), (Some("team-tools:1"), Some(false)), "{first}");
    assert_eq!(first["packages"], serde_json::json!(["six==1.16.0"]), "the plan read back: {first}");
    let sent = azure.emulator.bodies("/environments/team-tools/versions/1");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["properties"]["image"], "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04");
    assert!(sent[0]["properties"]["condaFile"].as_str().unwrap().contains("six==1.16.0"), "{}", sent[0]);

    let again = azure.json(&["environment", "-f", "env.yml"]);
    assert_eq!((again["id"].as_str(), again["reused"].as_bool()), (Some("team-tools:1"), Some(true)), "{again}");
    assert_eq!(azure.requests_containing("PUT", "/environments/team-tools/"), 1, "the same file was sent again");
    ws.write("conda.yml", "dependencies:\n  - python=3.11\n  - pip:\n    - six==1.17.0\n");
    let second = azure.json(&["environment", "-f", "env.yml"]);
    assert_eq!(second["id"], "team-tools:2", "{second}");
    let taken = azure.run(&["environment", "-f", "env.yml", "--version", "1"]);
    assert_eq!(taken.status.code(), Some(2), "{}", stderr(&taken));
    assert!(stderr(&taken).contains("already has a version `1`"), "{}", stderr(&taken));

    assert_eq!(azure.json(&["environment", "show", "team-tools@latest"])["version"], "2");
    let versions = azure.json(&["environment", "list", "team-tools"]);
    let ids: Vec<&str> = versions.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["team-tools:2", "team-tools:1"]);
    let newest = azure.json(&["environment", "list"]);
    assert_eq!(newest.as_array().map(|a| a.len()), Some(1), "{newest}");
    let missing = azure.run(&["environment", "show", "team-tools:9"]);
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));

    // One registered in a local workspace promotes to Azure ML as the same environment.
    ws.write("other.yml", "name: other-tools\nimage: python:3.11-slim\n");
    let local = ["--workspace", "local:dev"];
    assert_eq!(azure.run(&[&["environment", "-f", "other.yml"][..], &local].concat()).status.code(), Some(0));
    let azure_ws = azure.emulator.env().into_iter().find(|(k, _)| k == "AML_WORKSPACE").map(|(_, v)| v).unwrap();
    let promoted =
        azure.json(&[&["environment", "promote", "other-tools:1", "--to", azure_ws.as_str()][..], &local].concat());
    assert_eq!((promoted["id"].as_str(), promoted["reused"].as_bool()), (Some("other-tools:1"), Some(false)));

    ws.write("job.yml", "command: echo hello\nenvironment: azureml:team-tools@latest\n");
    let job = azure.0.run("aml-train", &["run", "job.yml", "-q"]);
    assert_eq!(job.status.code(), Some(0), "{}", stderr(&job));
    let submitted = azure.emulator.bodies("/jobs/");
    let environment = submitted.iter().find_map(|b| b["properties"]["environmentId"].as_str()).unwrap_or_default();
    assert!(environment.ends_with("/environments/team-tools/versions/2"), "{environment}");
    azure.emulator.assert_clean();
}

/// Data assets registered in an Azure ML workspace as `az ml data create` registers them:
/// local files uploaded to `LocalUpload/…` once, the DataVersion held to DataVersionBase.
#[test]
fn a_data_asset_registers_on_azure_once_per_content() {
    let azure = Azure::start();
    let ws = &azure.ws;
    ws.write("rows/part-0.csv", "age,bmi\n50,24.1\n");
    ws.write("data.yml", "name: patients\ntype: uri_folder\npath: ./rows\ndescription: the training rows\n");
    let first = azure.json(&["data", "-f", "data.yml"]);
    assert_eq!((first["id"].as_str(), first["reused"].as_bool()), (Some("patients:1"), Some(false)), "{first}");
    assert_eq!((first["copied"].as_bool(), first["file_count"].as_u64()), (Some(true), Some(1)), "{first}");
    let sent = azure.emulator.bodies("/data/patients/versions/1");
    assert_eq!(sent.len(), 1);
    let uri = sent[0]["properties"]["dataUri"].as_str().unwrap_or_default();
    assert!(uri.starts_with("azureml://datastores/workspaceblobstore/paths/LocalUpload/"), "{uri}");
    assert_eq!(sent[0]["properties"]["dataType"], "uri_folder");

    let again = azure.json(&["data", "-f", "data.yml"]);
    assert_eq!((again["id"].as_str(), again["reused"].as_bool()), (Some("patients:1"), Some(true)), "{again}");
    assert_eq!(azure.requests_containing("PUT", "/data/patients/"), 1, "the same content was sent again");
    ws.write("rows/part-0.csv", "age,bmi\n61,27.5\n");
    assert_eq!(azure.json(&["data", "-f", "data.yml"])["id"], "patients:2");

    ws.write("web.yml", "name: scores\ntype: uri_file\npath: https://example.com/data/scores.csv\n");
    let web = azure.json(&["data", "-f", "web.yml"]);
    assert_eq!(
        (web["copied"].as_bool(), web["path"].as_str()),
        (Some(false), Some("https://example.com/data/scores.csv"))
    );

    let versions = azure.json(&["data", "list", "patients"]);
    let ids: Vec<&str> = versions.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["patients:2", "patients:1"]);
    assert_eq!(azure.json(&["data", "list"]).as_array().map(|a| a.len()), Some(2));
    assert_eq!(azure.json(&["data", "show", "patients@latest"])["version"], "2");
    azure.emulator.assert_clean();
}

/// Command components registered in an Azure ML workspace as `az ml component create`
/// registers them: the ComponentVersion equal to azure-ai-ml's for the same file (its code
/// uploaded with `additional_includes` merged), once per content; a pipeline step naming one
/// by `@latest` is submitted with that version and runs it.
#[test]
fn a_component_registers_on_azure_as_azure_ai_ml_sends_it_and_pipelines_run_it() {
    let azure = Azure::start();
    let ws = &azure.ws;
    ws.write("lib/shared.py", "GREETING = 'hello'\n");
    ws.write(
        "greet/src/main.py",
        "import pathlib, sys\nfrom shared import GREETING\n\
         out = pathlib.Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)\n\
         (out / 'greeting.txt').write_text(GREETING + ' ' + sys.argv[1])\n",
    );
    ws.write("greet/conda.yml", "dependencies:\n  - python=3.11\n");
    ws.write(
        "greet/component.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n\
         name: greet\n\
         display_name: Greet\n\
         description: writes a greeting\n\
         tags:\n  team: ml\n\
         type: command\n\
         inputs:\n\
         \x20 who:\n    type: string\n    default: world\n\
         \x20 times:\n    type: integer\n    default: 2\n    min: 1\n    max: 5\n\
         \x20 rate:\n    type: number\n    default: 1\n    optional: true\n    description: how fast\n\
         \x20 loud:\n    type: boolean\n    default: false\n\
         \x20 rows:\n    type: uri_folder\n    optional: true\n    mode: ro_mount\n\
         outputs:\n  out:\n    type: uri_folder\n    mode: rw_mount\n\
         code: ./src\n\
         additional_includes:\n  - ../lib/shared.py\n\
         environment:\n  image: python:3.11-slim\n  conda_file: conda.yml\n\
         command: python main.py ${{inputs.who}} ${{outputs.out}}\n",
    );
    let first = azure.json(&["component", "-f", "greet/component.yml"]);
    assert_eq!((first["id"].as_str(), first["reused"].as_bool()), (Some("greet:1"), Some(false)), "{first}");
    assert_eq!(first["code_files"], 2, "main.py and the included shared.py: {first}");
    let sent = azure.emulator.bodies("/components/greet/versions/1");
    assert_eq!(sent.len(), 1);
    let spec = &sent[0]["properties"]["componentSpec"];
    let oracle = std::process::Command::new(aml_client::testing::venv_python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/component_body.py"))
        .arg(ws.path().join("greet/component.yml"))
        .arg(format!("code={}", spec["code"].as_str().unwrap()))
        .arg(format!("environment={}", spec["environment"].as_str().unwrap()))
        .arg("version=1")
        .output()
        .unwrap();
    assert!(oracle.status.success(), "{}", String::from_utf8_lossy(&oracle.stderr));
    let mut expected: Value = serde_json::from_slice(&oracle.stdout).unwrap();
    // What differs by design: our `aml.*` properties in place of azure-ai-ml's own hash.
    expected["properties"]["properties"] = sent[0]["properties"]["properties"].clone();
    assert_eq!(sent[0]["properties"], expected["properties"], "ours, then azure-ai-ml's");

    let again = azure.json(&["component", "-f", "greet/component.yml"]);
    assert_eq!((again["id"].as_str(), again["reused"].as_bool()), (Some("greet:1"), Some(true)), "{again}");
    assert_eq!(azure.requests_containing("PUT", "/components/greet/"), 1, "the same component was sent again");
    ws.write("lib/shared.py", "GREETING = 'good morning'\n");
    let second = azure.json(&["component", "-f", "greet/component.yml"]);
    assert_eq!(second["id"], "greet:2", "an included file changed: {second}");
    assert_eq!(azure.json(&["component", "show", "greet@latest"])["version"], "2");
    let versions = azure.json(&["component", "list", "greet"]);
    let ids: Vec<&str> = versions.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["greet:2", "greet:1"]);
    let missing = azure.run(&["component", "show", "greet:7"]);
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));

    ws.write(
        "pipeline.yml",
        "type: pipeline\n\
         outputs:\n  greeting:\n    type: uri_folder\n\
         jobs:\n  hello:\n    component: azureml:greet@latest\n    inputs:\n      who: team\n\
         \x20   outputs:\n      out: ${{parent.outputs.greeting}}\n",
    );
    let run = azure.0.run("aml-train", &["run", "pipeline.yml", "-q", "-o", "json"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let job: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(job["status"], "Completed", "{job}");
    let submitted = azure.emulator.bodies("/jobs/");
    let node = submitted.iter().find_map(|b| b["properties"]["jobs"].get("hello").cloned()).unwrap_or_default();
    let component = node["componentId"].as_str().unwrap_or_default();
    assert!(component.ends_with("/components/greet/versions/2"), "{node}");
    azure.emulator.assert_clean();
}
