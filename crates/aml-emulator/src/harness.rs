//! What every tool's Azure test starts with: Azurite, the emulator in front of it with the
//! tools as its compute, a scratch folder, and the tools run against them with every
//! output checked for secrets.

use std::path::Path;
use std::process::{Command, Output};

use aml_client::testing::{TestWorkspace, binary};
use serde_json::Value;

use crate::azurite::Azurite;
use crate::server::Emulator;

pub struct AzureTest {
    pub emulator: Emulator,
    pub azurite: Azurite,
    pub ws: TestWorkspace,
}

impl AzureTest {
    /// Azurite and the emulator, their ends wired; failures to start are the test failing.
    pub fn start() -> AzureTest {
        let azurite = Azurite::start().unwrap_or_else(|e| panic!("Azurite: {e}"));
        let emulator = Emulator::start(Some(azurite.storage(azurite.port))).unwrap_or_else(|e| panic!("emulator: {e}"));
        AzureTest::with(emulator, azurite)
    }

    /// From parts wired otherwise (storage behind a fault-injecting proxy).
    pub fn with(emulator: Emulator, azurite: Azurite) -> AzureTest {
        let tools = binary("aml-train");
        emulator.set_compute(tools.parent().unwrap_or(Path::new(".")));
        AzureTest { emulator, azurite, ws: TestWorkspace::new() }
    }

    /// A tool's command with the emulator's environment (a client secret identity).
    pub fn command(&self, tool: &str) -> Command {
        let mut command = self.ws.command(&binary(tool));
        for (k, v) in self.emulator.env() {
            command.env(k, v);
        }
        // Poll quickly: emulated jobs take seconds, not minutes.
        command.env("AZUREML_RUN_POLLING_INTERVAL_MIN", "0.2");
        // Every run is verbose, into a file the secret grep reads too.
        command.env("AML_LOG", "debug").env("AML_LOG_FILE", self.verbose_log());
        command
    }

    /// Where every tool this test ran wrote its `--verbose` log.
    pub fn verbose_log(&self) -> std::path::PathBuf {
        self.ws.path().join("verbose.log")
    }

    /// Run a tool; its output must hold no secret.
    pub fn run(&self, tool: &str, args: &[&str]) -> Output {
        let output = self.command(tool).args(args).output().unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
        self.assert_no_secrets(&output);
        output
    }

    /// Run a tool with `--output json`; it must succeed.
    pub fn json(&self, tool: &str, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let output = self.run(tool, &all);
        assert!(output.status.success(), "{tool} {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{tool} {args:?} printed no JSON ({e})"))
    }

    /// No credential the emulator holds (client secret, account key, bearer tokens, SAS
    /// signatures, endpoint keys and tokens) may appear in what a tool prints.
    pub fn assert_no_secrets(&self, output: &Output) {
        let log = std::fs::read_to_string(self.verbose_log()).unwrap_or_default();
        let text =
            format!("{}{}{log}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        let mut secrets = vec![
            crate::common::CLIENT_SECRET.to_string(),
            crate::azurite::KEY.to_string(),
            crate::common::FEDERATED_ASSERTION.to_string(),
            crate::common::GITHUB_REQUEST_TOKEN.to_string(),
            "emulator-access-token".into(),
            "emulator-endpoint-token".into(),
            "emulator-storage-signature".into(),
            "sig=".into(),
        ];
        secrets.extend(self.emulator.endpoint_keys());
        secrets.extend(self.emulator.registry_tokens());
        secrets.extend(["acr-refresh-".to_string(), "acr-access-".to_string()]);
        for secret in secrets {
            assert!(!text.contains(&secret), "a secret leaked into the output:\n{text}");
        }
    }

    /// (method, path) requests so far whose path contains `part`.
    pub fn requests_containing(&self, method: &str, part: &str) -> usize {
        self.emulator.requests().iter().filter(|(m, p, _)| m == method && p.contains(part)).count()
    }
}
