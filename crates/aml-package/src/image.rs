//! `aml-package image`: a serving image for a model version. The base's layers, then ours:
//! Python dependencies (resolved with uv for the base's Python and C library), the scoring
//! code, and the model's files at `AZUREML_MODEL_DIR`. Each of ours is cached under a key of
//! its inputs, so packaging again what did not change writes nothing but the manifest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aml_client::digest::Digest;
use aml_client::error::{Error, Result};
use aml_client::oci::registry::RegistryClient;
use aml_client::oci::{self, Descriptor, History, Layout, Manifest, RootFs};
use aml_client::refs::ModelRef;
use aml_client::settings::Settings;
use aml_client::{Access, Workspace};

use crate::base::{self, Location};
use crate::cli::ImageArgs;
use crate::layers::{self, Entry, Layer, Source};
use crate::output::{Image, LayerView};

const APP_ROOT: &str = "var/azureml-app";
const SITE_PACKAGES: &str = "opt/aml/site-packages";
/// Bumped when how a layer is written changes, so old cache entries are not reused.
const LAYER_FORMAT: &str = "aml-layer-v1";

struct Ours {
    content: &'static str,
    layer: Layer,
    cached: bool,
}

pub async fn build(args: ImageArgs, workspace: &str, settings: &Settings) -> Result<Image> {
    // Everything is checked before anything is written.
    let base_location: Location = args.base.parse()?;
    let destination: Location = args.to.parse()?;
    // A registry we cannot push to is bad input, found before any layer is built.
    let push_client = match &destination {
        Location::Registry(image) => Some(RegistryClient::new(&image.registry, settings).await?),
        Location::Layout { .. } => None,
    };
    let code = args.code.clone();
    if !code.join(&args.scoring_script).is_file() {
        return Err(Error::usage(
            format!("`{}` is not a file in `{}`", args.scoring_script, code.display()),
            "`--scoring-script` is relative to `--code`",
        ));
    }
    let (packages, _) = aml_client::jobplan::requirements_of(&args.environment)?;
    if !packages.iter().any(|p| p.to_ascii_lowercase().replace('_', "-").starts_with("azureml-inference-server-http")) {
        return Err(Error::in_file(
            &args.environment,
            None,
            "does not install the Azure ML inference server, which the image runs",
            "add `azureml-inference-server-http` to its pip dependencies",
        ));
    }
    let mut ws = Workspace::open(workspace, Access::Existing, settings).await?;
    let model = ws.model_version(&args.model.parse::<ModelRef>()?).await?;
    let uv = settings.find_on_path("uv").ok_or_else(|| {
        Error::usage(
            "`uv` is not on PATH; it resolves the dependencies for the image's platform",
            "install it: `pip install uv` (or `cargo xtask test`, which puts one in .venv/bin)",
        )
    })?;

    let cache_dir = settings.cache_dir().join("oci");
    let cache = Layout::create(&cache_dir)?;
    let base = base::resolve(&base_location, &cache, settings).await?;
    let info = base::inspect(&base, &cache, &cache_dir)?;
    let python_version = args.python_version.clone().unwrap_or_else(|| info.python_version.clone());
    let platform = match (&args.python_platform, &info.glibc) {
        (Some(platform), _) => platform.clone(),
        (None, Some(glibc)) => format!("x86_64-manylinux_{}", glibc.replace('.', "_")),
        (None, None) => {
            return Err(Error::usage(
                "the base's C library version could not be read",
                "give `--python-platform`, e.g. `x86_64-manylinux_2_36`",
            ));
        }
    };

    let deps = cached_layer(
        &cache,
        &cache_dir,
        &format!("{LAYER_FORMAT}\ndeps\n{python_version}\n{platform}\n{}", packages.join("\n")),
        true,
        "writing the dependency layer",
        settings,
        || dependency_entries(&uv, &packages, &python_version, &platform, &cache_dir, args.quiet),
    )?;
    let code_files = aml_client::tree::snapshot_files(&code)?;
    let code_digest = aml_client::tree::hash_files(code_files.clone())?.digest();
    let code_key = format!("{LAYER_FORMAT}\ncode\n{code_digest}");
    let code_layer = cached_layer(&cache, &cache_dir, &code_key, true, "writing the code layer", settings, || {
        Ok((
            code_files
                .iter()
                .map(|(rel, path)| Entry {
                    path: format!("{APP_ROOT}/{rel}"),
                    source: Source::File { path: path.clone(), executable: is_executable(path) },
                })
                .collect(),
            None,
        ))
    })?;
    let model_dir = format!("{APP_ROOT}/azureml-models/{}/{}", model.name, model.version);
    let model_files = ws.model_files(&model).await?;
    // Model weights rarely compress; a plain tar costs one pass over the bytes.
    let model_layer = cached_layer(
        &cache,
        &cache_dir,
        &format!("{LAYER_FORMAT}\nmodel\n{model_dir}\n{}", model.digest),
        false,
        &format!("writing the model layer of {}", model.id()),
        settings,
        || {
            Ok((
                model_files
                    .iter()
                    .map(|(rel, path)| Entry {
                        path: format!("{model_dir}/{rel}"),
                        source: Source::File { path: path.clone(), executable: false },
                    })
                    .collect(),
                None,
            ))
        },
    )?;
    let ours = [
        Ours { content: "python dependencies", layer: deps.0, cached: deps.1 },
        Ours { content: "code", layer: code_layer.0, cached: code_layer.1 },
        Ours { content: "model", layer: model_layer.0, cached: model_layer.1 },
    ];

    // The config: the base's, plus how to run the inference server on our layers.
    let mut config = base.config.clone();
    let ours_env = [
        ("PYTHONPATH".to_string(), format!("/{SITE_PACKAGES}")),
        ("AML_APP_ROOT".to_string(), format!("/{APP_ROOT}")),
        ("AZUREML_ENTRY_SCRIPT".to_string(), format!("/{APP_ROOT}/{}", args.scoring_script)),
        ("AZUREML_MODEL_DIR".to_string(), format!("/{model_dir}")),
        ("PYTHONUNBUFFERED".to_string(), "1".to_string()),
    ];
    config.config.env.retain(|kv| !ours_env.iter().any(|(k, _)| kv.starts_with(&format!("{k}="))));
    config.config.env.extend(ours_env.iter().map(|(k, v)| format!("{k}={v}")));
    config.config.entrypoint =
        Some(vec![info.python.clone(), "-m".into(), "azureml_inference_server_http.amlserver".into()]);
    // The server takes its script only as a flag (AZUREML_ENTRY_SCRIPT alone is not read);
    // as the command, it stays easy to override (`--port`, say).
    config.config.cmd = Some(vec!["--entry_script".into(), format!("/{APP_ROOT}/{}", args.scoring_script)]);
    config.config.working_dir = Some(format!("/{APP_ROOT}"));
    config.config.exposed_ports = BTreeMap::from([("5001/tcp".to_string(), serde_json::json!({}))]);
    config.config.labels.insert("ml.azure.model".into(), model.id());
    config.config.labels.insert("ml.azure.model.digest".into(), model.digest.to_string());
    config.rootfs = RootFs {
        kind: "layers".into(),
        diff_ids: base.config.rootfs.diff_ids.iter().copied().chain(ours.iter().map(|o| o.layer.diff_id)).collect(),
    };
    config
        .history
        .extend(ours.iter().map(|o| History { created_by: format!("aml-package: {}", o.content), comment: None }));
    let config_bytes = oci::to_json(&config)?;
    let config_digest = cache.write_blob(&config_bytes)?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(oci::MANIFEST.into()),
        config: Descriptor {
            media_type: oci::CONFIG.into(),
            digest: config_digest,
            size: config_bytes.len() as u64,
            annotations: BTreeMap::new(),
            platform: None,
        },
        layers: base.manifest.layers.iter().cloned().chain(ours.iter().map(|o| o.layer.descriptor.clone())).collect(),
        annotations: BTreeMap::from([("org.opencontainers.image.base.digest".to_string(), base.digest.to_string())]),
    };
    let manifest_bytes = oci::to_json(&manifest)?;
    let manifest_digest = cache.write_blob(&manifest_bytes)?;
    let descriptor = Descriptor {
        media_type: oci::MANIFEST.into(),
        digest: manifest_digest,
        size: manifest_bytes.len() as u64,
        annotations: BTreeMap::new(),
        platform: None,
    };

    let default_tag = format!("{}-{}", model.name, model.version);
    let mut views: Vec<LayerView> = base
        .manifest
        .layers
        .iter()
        .zip(&base.config.rootfs.diff_ids)
        .map(|(d, diff)| LayerView {
            content: "base".into(),
            digest: d.digest.to_string(),
            diff_id: diff.to_string(),
            media_type: d.media_type.clone(),
            size: d.size,
            cached: true,
            sent: None,
        })
        .chain(ours.iter().map(|o| LayerView {
            content: o.content.into(),
            digest: o.layer.descriptor.digest.to_string(),
            diff_id: o.layer.diff_id.to_string(),
            media_type: o.layer.descriptor.media_type.clone(),
            size: o.layer.descriptor.size,
            cached: o.cached,
            sent: None,
        }))
        .collect();
    let reference = match &destination {
        Location::Layout { dir, reference } => {
            let layout = Layout::create(dir)?;
            for blob in
                manifest.layers.iter().chain(std::iter::once(&manifest.config)).chain(std::iter::once(&descriptor))
            {
                layout.link_blob(&cache.blob_path(&blob.digest), &blob.digest)?;
            }
            let tag = reference.clone().unwrap_or(default_tag);
            layout.tag(&descriptor, &tag)?;
            format!("oci:{}:{tag}", dir.display())
        }
        Location::Registry(image) => {
            let Some(client) = push_client else { return Err(Error::service("no registry client", None)) };
            for (view, blob) in views.iter_mut().zip(&manifest.layers) {
                let present = client.blob_exists(&image.repository, &blob.digest).await?;
                if !present {
                    aml_client::status!("sending {} layer {} ({} bytes)", view.content, blob.digest, blob.size);
                    client.upload_blob(&image.repository, &blob.digest, &cache.blob_path(&blob.digest)).await?;
                }
                view.sent = Some(!present);
            }
            if !client.blob_exists(&image.repository, &manifest.config.digest).await? {
                client
                    .upload_blob(&image.repository, &manifest.config.digest, &cache.blob_path(&manifest.config.digest))
                    .await?;
            }
            client.put_manifest(&image.repository, &image.reference, oci::MANIFEST, &manifest_bytes).await?;
            image.to_string()
        }
    };
    let limit_mib: u64 = settings.number(aml_client::settings::EnvVars::AML_PACKAGE_CACHE_MIB, 10_240);
    let keep: Vec<Digest> =
        manifest.layers.iter().map(|l| l.digest).chain([manifest.config.digest, manifest_digest]).collect();
    let freed = crate::cache_bound::prune(&cache, limit_mib.saturating_mul(1 << 20), &keep);
    if freed > 0 {
        aml_client::status!(
            "the layer cache was over {limit_mib} MiB (AML_PACKAGE_CACHE_MIB): {} MiB of the layers used least recently removed",
            freed.div_ceil(1 << 20)
        );
    }
    ws.set_model_properties(
        &model,
        &BTreeMap::from([
            ("image".to_string(), reference.clone()),
            ("image_digest".to_string(), manifest_digest.to_string()),
        ]),
    )
    .await?;
    Ok(Image {
        digest: manifest_digest.to_string(),
        reference,
        config_digest: config_digest.to_string(),
        model: Some(model.id()),
        base: Some(base.digest.to_string()),
        python: Some(python_version),
        platform: Some(platform),
        layers: views,
    })
}

/// The layer for `key` from the cache, or built now (and remembered). True when cached.
fn cached_layer(
    cache: &Layout,
    cache_dir: &Path,
    key: &str,
    gzip: bool,
    what: &str,
    settings: &Settings,
    entries: impl FnOnce() -> Result<(Vec<Entry>, Option<PathBuf>)>,
) -> Result<(Layer, bool)> {
    let key_hex = Digest::of_bytes(key.as_bytes()).hex();
    let remembered = cache_dir.join("layers").join(format!("{key_hex}.json"));
    if let Some(layer) = std::fs::read(&remembered).ok().and_then(|t| serde_json::from_slice::<Layer>(&t).ok())
        && cache.has_blob(&layer.descriptor.digest)
    {
        return Ok((layer, true));
    }
    let (entries, staging) = entries()?;
    let layer = layers::build(entries, gzip, cache, what, settings);
    if let Some(staging) = staging {
        let _ = std::fs::remove_dir_all(staging);
    }
    let layer = layer?;
    std::fs::create_dir_all(remembered.parent().unwrap_or(cache_dir))
        .map_err(|e| Error::storage("cannot create the layer cache", e))?;
    oci::write_atomically(&remembered, &oci::to_json(&layer)?)?;
    Ok((layer, false))
}

/// Install the packages for the image's platform into a staging folder, as layer entries.
fn dependency_entries(
    uv: &Path,
    packages: &[String],
    python: &str,
    platform: &str,
    cache_dir: &Path,
    quiet: bool,
) -> Result<(Vec<Entry>, Option<PathBuf>)> {
    let staging = cache_dir.join(format!("staging-{}", std::process::id()));
    let target = staging.join(SITE_PACKAGES);
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&target).map_err(|e| Error::storage(format!("cannot create `{}`", target.display()), e))?;
    let requirements = staging.join("requirements.txt");
    std::fs::write(&requirements, format!("{}\n", packages.join("\n")))
        .map_err(|e| Error::storage("cannot write the requirements", e))?;
    aml_client::status!("resolving the Python dependencies for Python {python} on {platform}");
    let mut command = std::process::Command::new(uv);
    command
        .args(["pip", "install", "--target"])
        .arg(&target)
        .args(["--python-version", python, "--python-platform", platform, "--only-binary", ":all:", "-r"])
        .arg(&requirements);
    if quiet {
        command.arg("--quiet");
    }
    let output = command
        .stdin(std::process::Stdio::null())
        .stdout(if quiet { std::process::Stdio::null() } else { std::process::Stdio::inherit() })
        .output()
        .map_err(|e| Error::service(format!("cannot run `{}`: {e}", uv.display()), None))?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(Error::failed(
            format!("resolving the dependencies failed:\n{}", String::from_utf8_lossy(&output.stderr).trim()),
            Some("every package must have a wheel for the image's platform (`--only-binary :all:`)".into()),
        ));
    }
    // Console scripts carry this machine's interpreter in their first line; the image runs `python -m`.
    let _ = std::fs::remove_dir_all(target.join("bin"));
    let mut entries = Vec::new();
    collect(&target, SITE_PACKAGES, &mut entries)?;
    Ok((entries, Some(staging)))
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<Entry>) -> Result<()> {
    let mut children: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::storage(format!("cannot list `{}`", dir.display()), e))?
        .flatten()
        .collect();
    children.sort_by_key(|e| e.file_name());
    for child in children {
        let path = child.path();
        let rel = format!("{prefix}/{}", child.file_name().to_string_lossy());
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| Error::storage(format!("cannot read `{}`", path.display()), e))?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path)
                .map_err(|e| Error::storage(format!("cannot read `{}`", path.display()), e))?;
            out.push(Entry { path: rel, source: Source::Symlink(target) });
        } else if meta.is_dir() {
            collect(&path, &rel, out)?;
        } else {
            out.push(Entry {
                path: rel,
                source: Source::File { path: path.clone(), executable: is_executable(&path) },
            });
        }
    }
    Ok(())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}
