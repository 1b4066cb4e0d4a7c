//! The local workspace: a folder with a SQLite registry, a content-addressed blob store
//! and one folder per job. It never opens a connection to anything but 127.0.0.1 (the
//! MLflow endpoint its own jobs log to), so it runs the same on a laptop and in CI.

mod asset_versions;
pub mod audit;
pub mod batch;
pub mod blobs;
pub mod downloads;
pub mod online;
pub mod registry;
pub mod runner;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use blobs::BlobStore;
use registry::Registry;

use aml_core::components::{ComponentVersion, NewComponent};
use aml_core::data_assets::{DataContent, DataVersion, NewData};
use aml_core::digest::Digest;
use aml_core::environments::{EnvironmentVersion, NewEnvironment};
use aml_core::error::{Error, IoContext, Result};
use aml_core::jobs::{Job, JobStatus};
use aml_core::location::Access;
use aml_core::model::{ModelVersion, NewModelVersion, Registered, VersionSelector};
use aml_core::names::{DatastoreName, JobName};
use aml_core::progress::Progress;
use aml_core::refs::ModelRef;
use aml_core::settings::Settings;
use aml_core::tree::{self, Manifest};

pub struct LocalWorkspace {
    root: PathBuf,
    registry: Registry,
    blobs: BlobStore,
    settings: Settings,
    /// For the endpoints' routers and inference servers on 127.0.0.1; made on first use.
    loopback: std::sync::OnceLock<aml_http::client::Client>,
}

const DATABASE: &str = "registry.db";

impl LocalWorkspace {
    pub fn open(dir: &Path, access: Access, settings: &Settings) -> Result<LocalWorkspace> {
        let root = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let database = root.join(DATABASE);
        if !database.is_file() {
            match access {
                Access::Existing => return Err(Self::missing(&root)),
                Access::CreateIfMissing => {
                    fs::create_dir_all(root.join("jobs")).with_path("cannot create the workspace", &root)?;
                    // A workspace is data, not source: keep it out of git by default.
                    let ignore = root.join(".gitignore");
                    if !ignore.exists() {
                        fs::write(&ignore, "# created by aml-* tools: a local Azure ML workspace\n*\n")
                            .with_path("cannot write", &ignore)?;
                    }
                }
            }
        }
        let registry = Registry::open(&database)?;
        let blobs = BlobStore::new(&root);
        Ok(LocalWorkspace { root, registry, blobs, settings: settings.clone(), loopback: std::sync::OnceLock::new() })
    }

    /// The error for a workspace that is not there.
    pub fn missing(dir: &Path) -> Error {
        let root = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Error::usage(
            format!("no local workspace at `{}`", root.display()),
            "run `aml-train run` or `aml-register model` to create one, or point `--workspace local:DIR` (AML_WORKSPACE) at an existing one",
        )
    }

    pub fn exists(dir: &Path) -> bool {
        dir.join(DATABASE).is_file()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn database_path(&self) -> PathBuf {
        self.root.join(DATABASE)
    }

    pub fn jobs_dir(&self) -> PathBuf {
        self.root.join("jobs")
    }

    /// A job's folder. Only a checked name makes a path (`JobName`).
    pub fn job_dir(&self, name: &JobName) -> PathBuf {
        self.jobs_dir().join(name)
    }

    /// Where `azureml://datastores/<datastore>/paths/<path>` is: under the datastore's folder,
    /// never outside it.
    pub fn datastore_path(&self, datastore: &DatastoreName, path: &str) -> Result<PathBuf> {
        Ok(self.root.join("datastores").join(datastore).join(aml_core::names::relative_path(path)?))
    }

    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    pub fn registry_ref(&self) -> &Registry {
        &self.registry
    }

    // Environments.

    pub fn register_environment(&mut self, new: &NewEnvironment) -> Result<(EnvironmentVersion, bool)> {
        self.registry.insert_environment(new, &aml_core::time::now())
    }

    /// A registered environment version, or exit 2 naming what there is.
    pub fn environment_version(&self, name: &str, selector: &VersionSelector) -> Result<EnvironmentVersion> {
        if let Some(found) = self.registry.environment_version(name, selector)? {
            return Ok(found);
        }
        let newest = self.registry.environment_versions(Some(name))?.into_iter().next();
        Err(missing_asset(
            "environment",
            "aml-register environment -f env.yml",
            name,
            selector,
            newest.map(|v| v.version),
        ))
    }

    pub fn environment_versions(&self, name: Option<&str>) -> Result<Vec<EnvironmentVersion>> {
        self.registry.environment_versions(name)
    }

    // Models.

    /// Store the source's blobs, then write the version's row (in one transaction).
    /// Identical content under the same name returns the existing version, unless forced.
    ///
    /// Two ways in. When no version of the name has the same size, the content is new for
    /// certain: each file is read once, hashed while it is written. Otherwise it may be a
    /// re-registration: hash first and return the existing version without writing; should
    /// it be new after all, the blobs are written with a second pass whose digests must match
    /// the first (a file that changed in between is an error, not a mislabelled blob).
    pub fn register_model(&mut self, new: &NewModelVersion) -> Result<Registered> {
        // Writers clean up after writers that were killed mid-way.
        self.blobs.sweep_abandoned();
        let files = tree::list(&new.source_path)?;
        let mut total = 0u64;
        for (_, source) in &files {
            total += fs::metadata(source).with_path("cannot read", source)?.len();
        }
        let maybe_known = new.force_new || self.registry.has_version_sized(&new.name, total, files.len() as u64)?;
        let progress = Progress::bytes(format!("registering `{}`", new.name), total, &self.settings);
        let manifest = if maybe_known {
            let manifest = tree::hash_files(files.clone())?;
            if !new.force_new
                && let Some(version) = self.registry.find_by_digest(&new.name, &manifest.digest())?
            {
                return Ok(Registered { version, reused: true });
            }
            for (entry, (_, source)) in manifest.entries.iter().zip(&files) {
                if self.blobs.contains(&entry.digest) {
                    continue;
                }
                let (stored, _) = self.blobs.ingest(source, &progress)?;
                if stored != entry.digest {
                    return Err(Error::failed(
                        format!("`{}` changed while it was being registered", source.display()),
                        Some("register it again once whatever writes it has finished".into()),
                    ));
                }
            }
            manifest
        } else {
            let mut entries = Vec::with_capacity(files.len());
            for (name, source) in &files {
                let (digest, size) = self.blobs.ingest(source, &progress)?;
                entries.push(tree::FileEntry { path: name.clone(), size, digest });
            }
            Manifest { entries }
        };
        progress.finish();
        self.registry.insert_model_version(new, &manifest, &aml_core::time::now())
    }

    pub fn model_version(&self, reference: &ModelRef) -> Result<ModelVersion> {
        if let Some(found) = self.registry.model_version(&reference.name, &reference.selector)? {
            return Ok(found);
        }
        let (recent, total) = self.registry.list_versions(&reference.name, Some(5))?;
        let hint = if total == 0 {
            let models: Vec<String> = self.registry.list_models()?.into_iter().map(|m| m.name).collect();
            match aml_core::yaml::closest(&reference.name, &models.iter().map(String::as_str).collect::<Vec<_>>()) {
                Some(near) => format!("did you mean `{near}`? `aml-register list` shows every model"),
                None => "`aml-register list` shows every model".into(),
            }
        } else {
            format!(
                "newest versions: {}; `aml-register list {}` shows them all",
                recent.iter().map(|v| format!("`{}`", v.id())).collect::<Vec<_>>().join(", "),
                reference.name
            )
        };
        let what = match &reference.selector {
            VersionSelector::Tag { key, value } => {
                format!("no version of model `{}` has tag `{key}={value}`", reference.name)
            }
            _ if total == 0 => format!("no model named `{}` in this workspace", reference.name),
            _ => format!("model `{}` has no version `{reference}`", reference.name),
        };
        Err(Error::usage(what, hint))
    }

    pub fn list_versions(&self, name: &str, limit: Option<u64>) -> Result<(Vec<ModelVersion>, u64)> {
        self.registry.list_versions(name, limit)
    }

    pub fn list_models(&self) -> Result<Vec<ModelVersion>> {
        self.registry.list_models()
    }

    pub fn update_tags(
        &mut self,
        version: &ModelVersion,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<ModelVersion> {
        self.registry.update_tags(&version.name, &version.version, set, remove)
    }

    pub fn manifest(&self, version: &ModelVersion) -> Result<Manifest> {
        self.registry.manifest(&version.name, &version.version)
    }

    /// A version's files: (path in the model, where its bytes are stored).
    pub fn model_files(&self, version: &ModelVersion) -> Result<Vec<(String, PathBuf)>> {
        let manifest = self.manifest(version)?;
        Ok(manifest.entries.iter().map(|e| (e.path.clone(), self.blobs.path(&e.digest))).collect())
    }

    /// A version's files as a folder of their own (`models/<digest>/`), made once and shared
    /// by every job whose input names the model; named by the content digest, so no user
    /// string becomes a path and two versions with the same files share it.
    pub fn model_folder(&self, version: &ModelVersion) -> Result<PathBuf> {
        self.materialized("models", &version.digest, &self.manifest(version)?)
    }

    /// Files stored under `digest` as a folder `KIND/<digest>/` of the workspace, made once
    /// (in a staging folder, then renamed into place) and shared by every job that reads it.
    fn materialized(&self, kind: &str, digest: &Digest, manifest: &Manifest) -> Result<PathBuf> {
        let dir = self.root.join(kind).join(digest.hex());
        if dir.is_dir() {
            return Ok(dir);
        }
        let staging = self.root.join("tmp").join(format!("{kind}-{}-{}", &digest.hex()[..16], std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).with_path("cannot create", &staging)?;
        self.write_files(manifest, &staging)?;
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).with_path("cannot create", parent)?;
        }
        match fs::rename(&staging, &dir) {
            Ok(()) => Ok(dir),
            // Another job made it first: theirs is the same files.
            Err(_) if dir.is_dir() => {
                let _ = fs::remove_dir_all(&staging);
                Ok(dir)
            }
            Err(e) => Err(e).with_path("cannot move into place", &dir),
        }
    }

    /// Copy a version's files into `dir`, checking every byte against its digest.
    /// Refuses before writing anything if a file would be overwritten.
    pub fn download_model(&self, version: &ModelVersion, dir: &Path) -> Result<Vec<PathBuf>> {
        self.write_files(&self.manifest(version)?, dir)
    }

    fn write_files(&self, manifest: &Manifest, dir: &Path) -> Result<Vec<PathBuf>> {
        // Entry paths may come from a remote listing: each must stay inside `dir`.
        let targets: Vec<PathBuf> = manifest
            .entries
            .iter()
            .map(|e| aml_core::names::relative_path(&e.path).map(|p| dir.join(p)))
            .collect::<Result<_>>()?;
        if let Some(existing) = targets.iter().find(|t| t.exists()) {
            return Err(Error::usage(
                format!("`{}` already exists; nothing was downloaded", existing.display()),
                "download into an empty or new folder",
            ));
        }
        for (entry, target) in manifest.entries.iter().zip(&targets) {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).with_path("cannot create", parent)?;
            }
            self.blobs.copy_out(&entry.digest, target)?;
        }
        Ok(targets)
    }

    // Components.

    /// The component file and its code folder's files go into the blob store, frozen as one
    /// folder (`component.yml`, `code/…`); the same folder again is the same version.
    pub fn register_component(&mut self, new: &NewComponent) -> Result<(ComponentVersion, bool)> {
        use aml_core::components::{CODE_FOLDER, COMPONENT_FILE};
        self.blobs.sweep_abandoned();
        let files = new.code_files()?;
        let total = files.iter().map(|(_, f)| fs::metadata(f).map(|m| m.len()).unwrap_or(0)).sum();
        let progress = Progress::bytes(format!("registering `{}`", new.name), total, &self.settings);
        let mut entries = Vec::with_capacity(files.len() + 1);
        for (name, file) in &files {
            let (digest, size) = self.blobs.ingest(file, &progress)?;
            entries.push(tree::FileEntry { path: format!("{CODE_FOLDER}/{name}"), size, digest });
        }
        progress.finish();
        let amlignore = format!("{CODE_FOLDER}/.amlignore");
        if !entries.is_empty() && !entries.iter().any(|e| e.path == amlignore) {
            // The files were chosen when registering; laid out inside the workspace (whose
            // `.gitignore` excludes everything) they must all go into a job's snapshot.
            let digest = self.blobs.put_bytes(b"")?;
            entries.push(tree::FileEntry { path: amlignore, size: 0, digest });
        }
        let digest = self.blobs.put_bytes(new.frozen.as_bytes())?;
        entries.push(tree::FileEntry { path: COMPONENT_FILE.into(), size: new.frozen.len() as u64, digest });
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        let manifest = Manifest { entries };
        self.registry.insert_component(new, &manifest, files.len() as u64, &aml_core::time::now())
    }

    /// A registered component version, or exit 2 naming what there is.
    pub fn component_version(&self, name: &str, selector: &VersionSelector) -> Result<ComponentVersion> {
        if let Some(found) = self.registry.component_version(name, selector)? {
            return Ok(found);
        }
        let newest = self.registry.component_versions(Some(name))?.into_iter().next();
        Err(missing_asset(
            "component",
            "aml-register component -f component.yml",
            name,
            selector,
            newest.map(|v| v.version),
        ))
    }

    pub fn component_versions(&self, name: Option<&str>) -> Result<Vec<ComponentVersion>> {
        self.registry.component_versions(name)
    }

    /// The frozen component file, in its folder laid out once under `components/<digest>/`.
    pub fn component_file(&self, version: &ComponentVersion) -> Result<PathBuf> {
        let manifest = self
            .registry
            .component_manifest(version)?
            .ok_or_else(|| Error::failed(format!("component `{}` has no files recorded", version.id()), None))?;
        let folder = self.materialized("components", &version.digest, &manifest)?;
        Ok(folder.join(aml_core::components::COMPONENT_FILE))
    }

    // Data assets.

    /// A local file or folder is copied into the blob store first (a version keeps what it
    /// held then); a path elsewhere is recorded as written.
    pub fn register_data(&mut self, new: &NewData) -> Result<(DataVersion, bool)> {
        let now = aml_core::time::now();
        match &new.content {
            DataContent::Elsewhere(path) => {
                let digest = Digest::of_bytes(format!("{}\n{path}", new.kind.as_str()).as_bytes());
                self.registry.insert_data(new, digest, None, path, &now)
            }
            DataContent::Local(source) => {
                self.blobs.sweep_abandoned();
                let files = tree::list(source)?;
                let total = files.iter().map(|(_, f)| fs::metadata(f).map(|m| m.len()).unwrap_or(0)).sum();
                let progress = Progress::bytes(format!("registering `{}`", new.name), total, &self.settings);
                let mut entries = Vec::with_capacity(files.len());
                for (name, file) in &files {
                    let (digest, size) = self.blobs.ingest(file, &progress)?;
                    entries.push(tree::FileEntry { path: name.clone(), size, digest });
                }
                progress.finish();
                let manifest = Manifest { entries };
                let path = source.display().to_string();
                self.registry.insert_data(new, manifest.digest(), Some(&manifest), &path, &now)
            }
        }
    }

    /// A registered data asset version, or exit 2 naming what there is.
    pub fn data_version(&self, name: &str, selector: &VersionSelector) -> Result<DataVersion> {
        if let Some(found) = self.registry.data_version(name, selector)? {
            return Ok(found);
        }
        let newest = self.registry.data_versions(Some(name))?.into_iter().next();
        Err(missing_asset("data asset", "aml-register data -f data.yml", name, selector, newest.map(|v| v.version)))
    }

    pub fn data_versions(&self, name: Option<&str>) -> Result<Vec<DataVersion>> {
        self.registry.data_versions(name)
    }

    /// What a job input naming this version reads: the copied files' folder (the file in it,
    /// for a `uri_file`), or the path elsewhere it names.
    pub fn data_target(&self, version: &DataVersion) -> Result<String> {
        let Some(manifest) = self.registry.data_manifest(version)? else { return Ok(version.path.clone()) };
        let folder = self.materialized("data", &version.digest, &manifest)?;
        let target = match (version.kind, manifest.entries.as_slice()) {
            (aml_core::yaml::io::AssetType::UriFile, [only]) => folder.join(&only.path),
            _ => folder,
        };
        Ok(target.display().to_string())
    }

    // Jobs.

    pub fn job(&self, name: &str) -> Result<Job> {
        if let Some(job) = self.registry.job(name)? {
            return Ok(refresh_abandoned(job));
        }
        let recent = self.registry.recent_job_names(5)?;
        let hint = match aml_core::yaml::closest(name, &recent.iter().map(String::as_str).collect::<Vec<_>>()) {
            Some(near) => format!("did you mean `{near}`?"),
            None if recent.is_empty() => {
                "no jobs have run in this workspace yet; start one with `aml-train run JOB.yml`".into()
            }
            None => format!("recent jobs: {}", recent.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
        };
        Err(Error::usage(format!("no job named `{name}` in this workspace"), hint))
    }

    /// Cancel a running job: its `aml-train run` process is sent SIGINT, as Ctrl-C would be,
    /// and cancels it wherever it runs (its process here, or `runs/cancel` on Databricks);
    /// then wait for the record to say it ended.
    pub fn cancel_job(&self, name: &str) -> Result<Job> {
        let job = self.job(name)?;
        if job.status.is_terminal() {
            return Err(Error::usage(format!("job `{name}` already ended: {}", job.status), "nothing to cancel"));
        }
        let pid = job
            .runner_pid
            .ok_or_else(|| Error::failed(format!("job `{name}` has no runner process to signal"), None))?;
        if !aml_core::process::interrupt(pid) {
            return Err(Error::failed(
                format!("cannot signal the aml-train process (pid {pid}) running job `{name}`"),
                Some("is it running as another user?".into()),
            ));
        }
        aml_core::status!("asked the aml-train process (pid {pid}) running job {name} to cancel it");
        let started = std::time::Instant::now();
        loop {
            let job = self.job(name)?;
            if job.status.is_terminal() {
                return Ok(job);
            }
            if started.elapsed() > std::time::Duration::from_secs(600) {
                return Err(Error::failed(
                    format!("job `{name}` is still {} 10 minutes after it was asked to cancel", job.status),
                    None,
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    pub fn job_steps(&self, name: &str) -> Result<Vec<Job>> {
        Ok(self.registry.children(name)?.into_iter().map(refresh_abandoned).collect())
    }

    /// A job's metrics; a pipeline's are its steps' merged, later steps winning on a clash.
    pub fn job_metrics(&self, job: &Job) -> Result<BTreeMap<String, f64>> {
        // A sweep's are its best trial's, as on Azure ML.
        if let Some(best) = job.tags.get(aml_core::jobs::BEST_TRIAL_TAG).filter(|_| job.kind == "sweep") {
            return self.registry.latest_metrics(best);
        }
        let mut metrics = BTreeMap::new();
        for step in self.job_steps(&job.name)? {
            metrics.extend(self.registry.latest_metrics(&step.name)?);
        }
        metrics.extend(self.registry.latest_metrics(&job.name)?);
        Ok(metrics)
    }

    pub fn job_params(&self, job: &Job) -> Result<BTreeMap<String, String>> {
        let mut params = BTreeMap::new();
        for step in self.job_steps(&job.name)? {
            params.extend(self.registry.params(&step.name)?);
        }
        params.extend(self.registry.params(&job.name)?);
        Ok(params)
    }

    pub fn job_log(&self, name: &JobName) -> PathBuf {
        self.job_dir(name).join("logs").join("std_log.txt")
    }

    /// Where a job's named output is on disk, if the job finished and has that output.
    pub fn job_output_path(&self, job_name: &str, output: &str) -> Result<PathBuf> {
        let job = self.job(job_name)?;
        let Some(record) = job.outputs.get(output) else {
            return Err(Error::usage(
                format!("job `{job_name}` has no output `{output}`"),
                match job.outputs.is_empty() {
                    true => "the job declares no outputs".to_string(),
                    false => format!(
                        "its outputs: {}",
                        job.outputs.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                    ),
                },
            ));
        };
        if job.status != JobStatus::Completed {
            return Err(Error::usage(
                format!("job `{job_name}` is {}; its output `{output}` may be incomplete", job.status),
                format!("use the output of a Completed job; `aml-train logs {job_name}` shows what happened"),
            ));
        }
        let path = PathBuf::from(&record.path);
        if !path.exists() {
            return Err(Error::usage(
                format!("job `{job_name}` completed but wrote nothing to its output `{output}` (`{}`)", path.display()),
                "check that the script writes to the path it is given for this output",
            ));
        }
        Ok(path)
    }
}

/// A job still marked running whose `aml-train` process is gone was killed; say so.
fn refresh_abandoned(mut job: Job) -> Job {
    if !job.status.is_terminal()
        && job.status != JobStatus::NotStarted
        && let Some(pid) = job.runner_pid
        && !blobs::process_alive(pid as i32)
    {
        job.status = JobStatus::Failed;
        job.error = Some(format!("the aml-train process (pid {pid}) that ran this job ended without finishing it"));
    }
    job
}

/// A registered asset that is not here: what there is, or how to register it.
fn missing_asset(what: &str, register: &str, name: &str, selector: &VersionSelector, newest: Option<String>) -> Error {
    let which = match selector {
        VersionSelector::Exact(version) => format!("`{name}:{version}`"),
        VersionSelector::Latest | VersionSelector::Tag { .. } => format!("`{name}`"),
    };
    let kind = what.split(' ').next().unwrap_or(what);
    let hint = match newest {
        Some(newest) => format!("`{name}` has versions up to `{newest}`: `aml-register {kind} list {name}`"),
        None => format!("register it first: `{register}` (with `name: {name}`)"),
    };
    Error::usage(format!("there is no {what} {which} in this workspace"), hint)
}
