//! `aml-register`: version models with their metrics and lineage, and environments. `run` is what `main`
//! calls and what the tests call; it returns a report and never exits the process.

mod cli;
mod components;
mod data;
mod environments;
pub mod output;
mod promotion;

use std::collections::BTreeMap;
use std::path::Path;

use aml_client::ci::Ci;
use aml_client::cli::{Report, Session};
use aml_client::jobs::Job;
use aml_client::model::{DataInput, Lineage, NewModelVersion};
use aml_client::names::NameKind;
use aml_client::refs::{DataRef, ModelRef, check_name, job_output_uri};
use aml_client::yaml::model::{ModelType, load_model};
use aml_client::yaml::resolve_path;
use aml_client::{Access, Error, Result, Workspace};
use cli::ModelArgs;
pub use cli::{Cli, Command};
use output::{Download, Listing, ModelView, Registration};

pub async fn run(cli: Cli, session: Session) -> Result<Box<dyn Report>> {
    let global = &cli.global;
    match cli.command {
        Command::Model(args) => {
            // The request is checked whole before a workspace is created.
            let existing = Workspace::open_if_exists(&global.workspace, &session.settings).await?;
            let new = registration(existing.as_ref(), &global.workspace, args, &session.ci).await?;
            let mut ws = match existing {
                Some(ws) => ws,
                None => Workspace::open(&global.workspace, Access::CreateIfMissing, &session.settings).await?,
            };
            let registered = ws.register_model(&new).await?;
            let mut view = ModelView::from(&registered.version);
            view.reused = Some(registered.reused);
            let existing = &registered.version;
            let differs = new.tags.iter().any(|(k, v)| existing.tags.get(k) != Some(v))
                || new.description.as_ref().is_some_and(|d| existing.description.as_ref() != Some(d));
            if registered.reused && differs {
                aml_client::status!(
                    "note: tags and description were not applied to the existing {}; use `aml-register tag {}` or `--force-new`",
                    view.id,
                    view.id
                );
            }
            Ok(Box::new(Registration(view)))
        }
        Command::List(args) => {
            let ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let versions = match &args.name {
                Some(name) => {
                    let limit = (!args.all).then_some(args.max_results);
                    let (versions, total) = ws.list_versions(name, limit).await?;
                    if total == 0 {
                        // Same message and hint as a missing model anywhere else.
                        ws.model_version(&name.parse::<ModelRef>()?).await?;
                    }
                    if (versions.len() as u64) < total {
                        aml_client::status!(
                            "showing the newest {} of {total} versions; `--all` lists every one",
                            versions.len()
                        );
                    }
                    versions
                }
                None => ws.list_models().await?,
            };
            Ok(Box::new(Listing { versions: versions.iter().map(ModelView::from).collect() }))
        }
        Command::Show(args) => {
            let ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let version = ws.model_version(&args.model.parse()?).await?;
            let mut view = ModelView::from(&version);
            view.decisions = Some(ws.audit(Some(&version.id()), version.lineage.job.as_deref()).await?);
            Ok(Box::new(view))
        }
        Command::Tag(args) => {
            let mut ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let set: BTreeMap<String, String> = args.tags.iter().map(|t| key_value(t, "tag")).collect::<Result<_>>()?;
            if set.is_empty() && args.remove.is_empty() {
                return Err(Error::usage("no tags to set or remove", "give `key=value` pairs, or `--remove KEY`"));
            }
            let version = ws.model_version(&args.model.parse()?).await?;
            let updated = ws.update_tags(&version, &set, &args.remove).await?;
            Ok(Box::new(ModelView::from(&updated)))
        }
        Command::Download(args) => {
            let ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let version = ws.model_version(&args.model.parse()?).await?;
            let files = ws.download_model(&version, &args.dir).await?;
            Ok(Box::new(Download {
                name: version.name,
                version: version.version,
                digest: version.digest.to_string(),
                directory: args.dir.display().to_string(),
                files: files.iter().map(|f| f.display().to_string()).collect(),
            }))
        }
        Command::Environment(args) => environments::run(args, &global.workspace, &session).await,
        Command::Data(args) => data::run(args, &global.workspace, &session).await,
        Command::Component(args) => components::run(args, &global.workspace, &session).await,
        Command::Promote(args) => {
            let tags: BTreeMap<String, String> =
                args.tags.iter().map(|t| key_value(t, "tag")).collect::<Result<_>>()?;
            let source = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let version = source.model_version(&args.model.parse()?).await?;
            promotion::check(&source, &args.to, "model", &session).await?;
            // Through a verified download: every byte is checked against the source's digests
            // on the way, and the copy is registered from those files.
            let staging = aml_client::process::scratch_dir("aml-promote")?;
            let result = async {
                source.download_model(&version, &staging.join("files")).await?;
                let mut target = Workspace::open(&args.to, Access::CreateIfMissing, &session.settings).await?;
                let mut properties = version.properties.clone();
                properties.insert("promoted_from".into(), format!("{}#{}", source.location(), version.id()));
                let mut all_tags = version.tags.clone();
                all_tags.extend(tags);
                let new = NewModelVersion {
                    name: version.name.clone(),
                    version: None,
                    kind: version.kind,
                    description: version.description.clone(),
                    source: format!("{}#{}", source.location(), version.id()),
                    source_path: staging.join("files"),
                    tags: all_tags,
                    properties,
                    metrics: version.metrics.clone(),
                    lineage: version.lineage.clone(),
                    force_new: false,
                };
                let registered = target.register_model(&new).await?;
                if registered.version.digest != version.digest {
                    return Err(Error::failed(
                        format!(
                            "the copy of {} has digest {}, not {}",
                            version.id(),
                            registered.version.digest,
                            version.digest
                        ),
                        Some("the files changed on the way; promote again".into()),
                    ));
                }
                let mut view = ModelView::from(&registered.version);
                view.reused = Some(registered.reused);
                Ok::<_, Error>(view)
            }
            .await;
            let _ = std::fs::remove_dir_all(&staging);
            Ok(Box::new(Registration(result?)))
        }
    }
}

/// Merge the YAML file and the flags into one registration request.
async fn registration(ws: Option<&Workspace>, location: &str, args: ModelArgs, ci: &Ci) -> Result<NewModelVersion> {
    let loaded = args.file.as_deref().map(|f| load_model(f, &args.sets)).transpose()?;
    let spec = loaded.as_ref().map(|l| &l.spec);
    let name = args
        .name
        .clone()
        .or_else(|| spec.and_then(|s| s.name.clone()))
        .ok_or_else(|| Error::usage("the model has no name", "give `--name NAME`, or `name:` in the model YAML"))?;
    check_name(&name, "model name")?;

    // Where the bytes come from: a job output, or a path (flag, or the YAML's `path`).
    let yaml_path = spec.and_then(|s| s.path.clone());
    let (job_output, path) = match (&args.job, &args.path, &yaml_path) {
        (Some(job), _, _) => (Some((job.clone(), args.output_name.clone())), None),
        (None, Some(path), _) => (None, Some(path.clone())),
        (None, None, Some(written)) => match DataRef::parse(written) {
            DataRef::JobOutput { job, output } => (Some((job, Some(output))), None),
            DataRef::LocalPath(p) => {
                (None, Some(loaded.as_ref().map(|l| resolve_path(&l.file, &p)).unwrap_or_else(|| p.into())))
            }
            _ => {
                let file = args.file.clone().unwrap_or_default();
                return Err(Error::in_file(
                    &file,
                    Some("path"),
                    format!("`{written}` cannot be registered into the local workspace"),
                    "use a local path or `azureml://jobs/<job>/outputs/<output>`",
                ));
            }
        },
        (None, None, None) => {
            return Err(Error::usage(
                "nothing to register",
                "give `--job JOB` (with `--output-name`), `--path PATH`, or `path:` in the model YAML",
            ));
        }
    };

    let mut tags: BTreeMap<String, String> =
        spec.map(|s| s.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
    if let Some(stage) = spec.and_then(|s| s.stage.clone()) {
        // `stage:` in a model YAML becomes the tag `@stage=…` references select on.
        tags.entry("stage".into()).or_insert(stage);
    }
    for tag in &args.tags {
        let (k, v) = key_value(tag, "tag")?;
        tags.insert(k, v);
    }
    let mut properties: BTreeMap<String, String> =
        spec.map(|s| s.properties.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
    for property in &args.properties {
        let (k, v) = key_value(property, "property")?;
        properties.insert(k, v);
    }
    let version =
        args.version.clone().or_else(|| spec.and_then(|s| s.version.as_ref().map(|v| v.as_str().to_string())));
    if let Some(version) = &version {
        NameKind::Version.usage(version)?;
    }

    let mut lineage = Lineage {
        created_by: ci.requester.clone(),
        created_at: Some(aml_client::time::now()),
        ci_run: ci.run_url.clone(),
        ..Lineage::default()
    };
    let (source, source_path, metrics, output_kind) = match job_output {
        Some((job_name, output)) => {
            let ws = ws.ok_or_else(|| Workspace::missing(location))?;
            let job = ws.job(&job_name).await?;
            let output = pick_output(&job, output)?;
            let path = ws.job_output_path(&job.name, &output).await?;
            job_lineage(ws, &job, &path, &mut lineage).await?;
            let kind = job.outputs.get(&output).map(|o| o.kind.clone());
            (job_output_uri(&job.name, &output), path, ws.job_metrics(&job).await?, kind)
        }
        None => {
            let path = path.unwrap_or_default();
            if !path.exists() {
                return Err(Error::usage(
                    format!("`{}` does not exist", path.display()),
                    "give an existing file or folder (relative paths start at the current directory)",
                ));
            }
            let dir =
                if path.is_dir() { path.clone() } else { path.parent().map(Path::to_path_buf).unwrap_or_default() };
            lineage.git =
                aml_client::lineage::git_info(if dir.as_os_str().is_empty() { Path::new(".") } else { &dir }, ci);
            if let Some(job) = spec.and_then(|s| s.job_name.clone()) {
                lineage.job = Some(job);
            }
            (path.display().to_string(), path, BTreeMap::new(), None)
        }
    };
    let kind = args
        .kind
        .or_else(|| spec.and_then(|s| s.kind))
        .or_else(|| output_kind.and_then(|k| k.parse::<ModelType>().ok()))
        .unwrap_or(ModelType::CustomModel);
    Ok(NewModelVersion {
        name,
        version,
        kind,
        description: args.description.clone().or_else(|| spec.and_then(|s| s.description.clone())),
        source,
        source_path,
        tags,
        properties,
        metrics,
        lineage,
        force_new: args.force_new,
    })
}

/// The output to register when `--output-name` is not given: the only one, or `model`.
fn pick_output(job: &Job, wanted: Option<String>) -> Result<String> {
    if let Some(output) = wanted {
        return Ok(output);
    }
    if job.outputs.len() == 1 {
        return Ok(job.outputs.keys().next().cloned().unwrap_or_default());
    }
    if job.outputs.contains_key("model") {
        return Ok("model".into());
    }
    Err(Error::usage(
        format!("job `{}` has {} outputs; which one is the model?", job.name, job.outputs.len()),
        format!(
            "give `--output-name`: {}",
            job.outputs.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        ),
    ))
}

/// Lineage from a job: for a pipeline, the step that wrote the output supplies the code digest.
async fn job_lineage(ws: &Workspace, job: &Job, output_path: &Path, lineage: &mut Lineage) -> Result<()> {
    lineage.job = Some(job.name.to_string());
    lineage.experiment = Some(job.experiment_name.clone());
    lineage.git = job.git.clone();
    lineage.code_digest = job.code_digest;
    let steps = ws.job_steps(&job.name).await?;
    if let Some(producer) = steps.iter().find(|s| s.outputs.values().any(|o| Path::new(&o.path) == output_path)) {
        lineage.code_digest = producer.code_digest;
    }
    // The data the job consumed from outside; what its steps passed each other is derived.
    let data: Vec<DataInput> = job
        .inputs
        .iter()
        .filter(|(_, record)| record.digest.is_some())
        .map(|(input, record)| DataInput { input: input.clone(), uri: record.value.clone(), digest: record.digest })
        .collect();
    lineage.data = data;
    Ok(())
}

fn key_value(text: &str, what: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => {
            NameKind::TagKey.usage(k.trim())?;
            Ok((k.trim().to_string(), v.to_string()))
        }
        _ => Err(Error::usage(
            format!("{what} `{text}` is not `key=value`"),
            format!("write the {what} as `stage=candidate`"),
        )),
    }
}
