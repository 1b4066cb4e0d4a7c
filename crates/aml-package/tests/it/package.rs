//! `aml-package` for real: images built on a Debian base (made by mmdebstrap), read back
//! with umoci and skopeo, pushed to a real registry, and run: the image's own entrypoint
//! under chroot in a fresh network namespace, answering smoke-test's cases.

use aml_client::testing::{Registry, TestWorkspace, base_image_tar, binary, json, render, repo_root};

/// A workspace with the linear model registered and the base image imported.
fn setup() -> TestWorkspace {
    let ws = TestWorkspace::new();
    setup_in(&ws);
    ws
}

fn setup_in(ws: &TestWorkspace) {
    ws.copy_dir(&repo_root().join("crates/aml-deploy/tests/fixtures/linear"), "linear");
    let model = ws.run(&binary("aml-register"), &["model", "--name", "linear", "--path", "linear/model"]);
    assert_eq!(model.status.code(), Some(0), "{}", render(&model));
    let base = ws.run(
        &binary("aml-package"),
        &["base", "--rootfs-tar", base_image_tar().to_str().unwrap(), "--to", "oci:base:bookworm"],
    );
    assert_eq!(base.status.code(), Some(0), "{}", render(&base));
}

fn package(ws: &TestWorkspace, to: &str, base: &str) -> std::process::Output {
    ws.run(&binary("aml-package"), &package_args(to, base))
}

/// `aml-package` with its own cache folder (layers, environments), empty at first.
fn with_cache(ws: &TestWorkspace, cache: &std::path::Path, args: &[&str]) -> std::process::Output {
    ws.command(&binary("aml-package")).env("AML_CACHE_DIR", cache).args(args).output().unwrap()
}

fn package_args<'a>(to: &'a str, base: &'a str) -> Vec<&'a str> {
    vec![
        "image",
        "--model",
        "linear:1",
        "--environment",
        "linear/environment/serve.yml",
        "--code",
        "linear/src",
        "--base",
        base,
        "--to",
        to,
        "-q",
        "-o",
        "json",
    ]
}

#[test]
fn the_image_is_reproducible_and_runs() {
    let ws = setup();
    let first = package(&ws, "oci:image", "oci:base:bookworm");
    assert_eq!(first.status.code(), Some(0), "{}", render(&first));
    let image = json(&first);
    let contents: Vec<&str> =
        image["layers"].as_array().unwrap().iter().map(|l| l["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["base", "python dependencies", "code", "model"]);
    assert_eq!(image["reference"], format!("oci:image:linear-1"));

    // Unchanged inputs: the same digest, every layer from the cache.
    let again = json(&package(&ws, "oci:image-again", "oci:base:bookworm"));
    assert_eq!(again["digest"], image["digest"]);
    assert!(again["layers"].as_array().unwrap().iter().all(|l| l["cached"] == true), "{again}");

    // Another folder, its own empty layer cache, a later clock: still the same digest.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let elsewhere = TestWorkspace::new();
    setup_in(&elsewhere);
    let cache = elsewhere.path().join("empty-cache");
    let fresh = json(&with_cache(&elsewhere, &cache, &package_args("oci:image", "oci:base:bookworm")));
    let rebuilt: Vec<&str> = fresh["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["cached"] == false)
        .map(|l| l["content"].as_str().unwrap())
        .collect();
    assert!(rebuilt.contains(&"code") && rebuilt.contains(&"model"), "not built afresh: {fresh}");
    assert_eq!(fresh["digest"], image["digest"], "two builds from empty caches differ: {fresh}\n{image}");

    // The model version knows its image.
    let model = json(&ws.run(&binary("aml-register"), &["show", "linear:1", "-o", "json"]));
    assert_eq!(model["properties"]["image_digest"], image["digest"]);

    // umoci unpacks it (checking every layer's diff id), and its entrypoint serves.
    let unpack = std::process::Command::new(aml_client::testing::set_up_program("umoci"))
        .args(["unpack", "--image", "image:linear-1", "bundle"])
        .current_dir(ws.path())
        .output()
        .unwrap();
    assert!(unpack.status.success(), "umoci: {}", String::from_utf8_lossy(&unpack.stderr));
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.path().join("bundle/config.json")).unwrap()).unwrap();
    let args: Vec<String> =
        config["process"]["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
    assert_eq!(
        args,
        [
            "/usr/bin/python3",
            "-m",
            "azureml_inference_server_http.amlserver",
            "--entry_script",
            "/var/azureml-app/score.py"
        ]
    );
    let env: Vec<String> =
        config["process"]["env"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
    assert!(env.contains(&"AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/linear/1".to_string()), "{env:?}");
    // Inside a fresh network namespace: the image's entrypoint under chroot (its own port,
    // 5001, clashes with nothing), then smoke-test once the port accepts connections.
    let script = ws.write(
        "run-image.sh",
        &format!(
            "set -e\nip link set lo up\nchroot bundle/rootfs /usr/bin/env -i {env} /bin/sh -c 'cd {cwd} && exec {args}' > image.log 2>&1 &\n\
             for i in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/5001) 2>/dev/null && break; sleep 0.1; done\n\
             {smoke} run --url http://127.0.0.1:5001/score --cases linear/cases.jsonl --timeout 60s\n",
            env = env.join(" "),
            cwd = config["process"]["cwd"].as_str().unwrap(),
            args = args.join(" "),
            smoke = binary("smoke-test").display()
        ),
    );
    let run = std::process::Command::new("unshare")
        .args(["--net", "--mount", "--pid", "--fork", "--mount-proc", "bash"])
        .arg(&script)
        .current_dir(ws.path())
        .output()
        .unwrap();
    let log = std::fs::read_to_string(ws.path().join("image.log")).unwrap_or_default();
    assert_eq!(run.status.code(), Some(0), "{}\nthe image's log:\n{log}", render(&run));
    assert!(String::from_utf8_lossy(&run.stdout).contains("2 cases: 2 passed, 0 failed"), "{}", render(&run));
}

#[test]
fn a_push_sends_each_layer_once_and_reads_back() {
    let ws = setup();
    let registry = Registry::start();
    let to = format!("{}/linear:1", registry.address);
    let first = package(&ws, &to, "oci:base:bookworm");
    assert_eq!(first.status.code(), Some(0), "{}", render(&first));
    let pushed = json(&first);
    assert!(pushed["layers"].as_array().unwrap().iter().all(|l| l["sent"] == true), "{pushed}");
    let second = json(&package(&ws, &to, "oci:base:bookworm"));
    assert_eq!(second["digest"], pushed["digest"]);
    assert!(
        second["layers"].as_array().unwrap().iter().all(|l| l["sent"] == false),
        "an unchanged push sent layers again: {second}"
    );

    let inspect = std::process::Command::new(aml_client::testing::set_up_program("skopeo"))
        .args(["inspect", "--tls-verify=false", &format!("docker://{to}")])
        .output()
        .unwrap();
    assert!(inspect.status.success(), "skopeo: {}", String::from_utf8_lossy(&inspect.stderr));
    let inspected: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(inspected["Digest"], pushed["digest"]);
    assert_eq!(inspected["Labels"]["ml.azure.model"], "linear:1");
    let copy = std::process::Command::new(aml_client::testing::set_up_program("skopeo"))
        .args(["copy", "--src-tls-verify=false", &format!("docker://{to}"), "oci:pulled:linear"])
        .current_dir(ws.path())
        .output()
        .unwrap();
    assert!(copy.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&copy.stderr));

    // The pushed image serves as a base pulled from the registry: the same layers, found.
    let on_top = package(&ws, "oci:on-top", &to);
    assert_eq!(on_top.status.code(), Some(0), "{}", render(&on_top));
}

#[test]
fn an_image_is_pushed_to_azure_container_registry_with_an_entra_token() {
    let azure = aml_emulator::harness::AzureTest::start();
    setup_in(&azure.ws);
    let registry = Registry::start();
    azure.emulator.set_registry(&registry.address);
    let to = format!("{}/team/linear:1", azure.emulator.acr());
    let push = || {
        // The model is on the local workspace; only the registry is Azure's.
        let output = azure
            .command("aml-package")
            .env_remove("AML_WORKSPACE")
            .args([
                "image",
                "--model",
                "linear:1",
                "--environment",
                "linear/environment/serve.yml",
                "--code",
                "linear/src",
                "--base",
                "oci:base:bookworm",
                "--to",
                &to,
                "-q",
                "-o",
                "json",
            ])
            .output()
            .unwrap();
        azure.assert_no_secrets(&output);
        output
    };
    let first = push();
    assert_eq!(first.status.code(), Some(0), "{}", render(&first));
    let pushed = json(&first);
    assert!(pushed["layers"].as_array().unwrap().iter().all(|l| l["sent"] == true), "{pushed}");
    // One exchange of the Entra token, then an access token for the repository.
    assert_eq!(azure.requests_containing("POST", "/oauth2/exchange"), 1);
    assert_eq!(azure.requests_containing("POST", "/oauth2/token"), 1);
    let second = json(&push());
    assert!(
        second["layers"].as_array().unwrap().iter().all(|l| l["sent"] == false),
        "an unchanged push sent layers again: {second}"
    );

    // The registry behind holds the image, read back by skopeo.
    let inspect = std::process::Command::new(aml_client::testing::set_up_program("skopeo"))
        .args(["inspect", "--tls-verify=false", &format!("docker://{}/team/linear:1", registry.address)])
        .output()
        .unwrap();
    assert!(inspect.status.success(), "skopeo: {}", String::from_utf8_lossy(&inspect.stderr));
    let inspected: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(inspected["Digest"], pushed["digest"]);

    // A wrong secret is refused before any layer is built: exit 3 naming the identity.
    let refused = azure
        .command("aml-package")
        .env_remove("AML_WORKSPACE")
        .env("AZURE_CLIENT_SECRET", "wrong")
        .args([
            "image",
            "--model",
            "linear:1",
            "--environment",
            "linear/environment/serve.yml",
            "--code",
            "linear/src",
            "--base",
            "oci:base:bookworm",
            "--to",
            &to,
            "-q",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(3), "{}", render(&refused));
    azure.emulator.assert_clean();
}

#[test]
fn bad_input_writes_nothing() {
    let ws = setup();
    ws.write("no-server.txt", "numpy\n");
    let cases: &[(&str, Vec<&str>)] = &[
        (
            "unknown model",
            vec![
                "image",
                "--model",
                "nope:1",
                "--environment",
                "linear/environment/serve.yml",
                "--code",
                "linear/src",
                "--base",
                "oci:base:bookworm",
                "--to",
                "oci:out",
            ],
        ),
        (
            "no inference server",
            vec![
                "image",
                "--model",
                "linear:1",
                "--environment",
                "no-server.txt",
                "--code",
                "linear/src",
                "--base",
                "oci:base:bookworm",
                "--to",
                "oci:out",
            ],
        ),
        (
            "no scoring script",
            vec![
                "image",
                "--model",
                "linear:1",
                "--environment",
                "linear/environment/serve.yml",
                "--code",
                "linear",
                "--base",
                "oci:base:bookworm",
                "--to",
                "oci:out",
            ],
        ),
        (
            "not a destination",
            vec![
                "image",
                "--model",
                "linear:1",
                "--environment",
                "linear/environment/serve.yml",
                "--code",
                "linear/src",
                "--base",
                "oci:base:bookworm",
                "--to",
                "out",
            ],
        ),
        (
            "no base there",
            vec![
                "image",
                "--model",
                "linear:1",
                "--environment",
                "linear/environment/serve.yml",
                "--code",
                "linear/src",
                "--base",
                "oci:nothing-here",
                "--to",
                "oci:out",
            ],
        ),
    ];
    let mut transcript = String::new();
    for (what, args) in cases {
        let out = ws.run(&binary("aml-package"), args);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", render(&out));
        assert!(!ws.path().join("out").exists(), "{what}: bad input wrote the destination");
        transcript.push_str(&format!("## {what}\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    ws.settings().bind(|| insta::assert_snapshot!(transcript));
}

#[test]
fn a_base_must_be_a_root_file_system_and_a_full_disk_leaves_no_half_copied_layer() {
    let ws = TestWorkspace::new();
    ws.write("garbage.tar", "this is not a tar archive at all, just text that happens to be long enough");
    let project = ws.path().join("project.tar");
    ws.write("project/src/main.py", "print('hi')\n");
    let tarred = std::process::Command::new("tar")
        .args(["-cf"])
        .arg(&project)
        .args(["-C", ws.path().to_str().unwrap(), "project"])
        .status()
        .unwrap();
    assert!(tarred.success());
    for bad in ["garbage.tar", "/etc/passwd", "project.tar", "/dev/null"] {
        let out = ws.run(&binary("aml-package"), &["base", "--rootfs-tar", bad, "--to", "oci:base:x"]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", render(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("root file system"), "{bad}: {}", render(&out));
        assert!(!ws.path().join("base").exists(), "{bad}: bad input created the layout");
    }

    // The layout on a disk far smaller than the base: exit 3, said as a full disk, and the
    // partial copy is gone.
    let small = ws.path().join("small-disk");
    std::fs::create_dir_all(&small).unwrap();
    let script = r#"mount -t tmpfs -o size=4m tmpfs "$SMALL" && "$PACKAGE" base --rootfs-tar "$BASE" --to "oci:$SMALL/base:x"; echo "exit $?" >&2; find "$SMALL" -type f -size +1k | sed 's/^/LEFTOVER /' >&2"#;
    let out = ws
        .command(std::path::Path::new("unshare"))
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .env("SMALL", &small)
        .env("PACKAGE", binary("aml-package"))
        .env("BASE", base_image_tar())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("exit 3"), "{}", render(&out));
    assert!(said.contains("no space left on device"), "{}", render(&out));
    assert!(!said.contains("LEFTOVER "), "a partial copy was left behind: {}", render(&out));
}

/// The layer cache stays under `AML_PACKAGE_CACHE_MIB`: past it, the layers used least
/// recently go (never the image's own, never one used in the last minutes), images already
/// written stay whole, and a layer that went is built again when next needed.
#[test]
fn the_layer_cache_keeps_under_its_bound_dropping_the_layers_used_least_recently() {
    let ws = setup();
    let cache = ws.path().join("cache");
    let first = with_cache(&ws, &cache, &package_args("oci:one", "oci:base:bookworm"));
    assert_eq!(first.status.code(), Some(0), "{}", render(&first));
    let first = json(&first);
    let model_layer = |image: &serde_json::Value| {
        image["layers"].as_array().unwrap().iter().find(|l| l["content"] == "model").unwrap()["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
            .to_string()
    };
    let blobs = cache.join("oci/blobs/sha256");
    let old_model = model_layer(&first);
    assert!(blobs.join(&old_model).is_file());
    // Everything cached so far was last used two hours ago.
    for entry in std::fs::read_dir(&blobs).unwrap() {
        let touched =
            std::process::Command::new("touch").args(["-d", "2 hours ago"]).arg(entry.unwrap().path()).status();
        assert!(touched.unwrap().success());
    }

    // A second model, packaged with a bound the cache is already over.
    ws.copy_dir(&ws.path().join("linear/model"), "linear/model-2");
    ws.write("linear/model-2/notes.txt", "the second model\n");
    let model = ws.run(&binary("aml-register"), &["model", "--name", "linear", "--path", "linear/model-2"]);
    assert_eq!(model.status.code(), Some(0), "{}", render(&model));
    let mut args = package_args("oci:two", "oci:base:bookworm");
    args[2] = "linear:2";
    let second = ws
        .command(&binary("aml-package"))
        .env("AML_CACHE_DIR", &cache)
        .env("AML_PACKAGE_CACHE_MIB", "0")
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", render(&second));
    assert!(String::from_utf8_lossy(&second.stderr).contains("AML_PACKAGE_CACHE_MIB"), "{}", render(&second));
    let second = json(&second);
    assert!(!blobs.join(&old_model).exists(), "the first model's layer, used least recently, went");
    for layer in second["layers"].as_array().unwrap() {
        let digest = layer["digest"].as_str().unwrap().trim_start_matches("sha256:");
        assert!(blobs.join(digest).is_file(), "the new image's own layers stay: {layer}");
    }
    assert!(ws.path().join("one/blobs/sha256").join(&old_model).is_file(), "an image already written stays whole");

    // The first model's image again: its model layer is built again, to the same digest.
    let again = with_cache(&ws, &cache, &package_args("oci:three", "oci:base:bookworm"));
    assert_eq!(again.status.code(), Some(0), "{}", render(&again));
    let again = json(&again);
    assert_eq!(model_layer(&again), old_model);
    assert_eq!(again["digest"], first["digest"], "the same image as before");
}
