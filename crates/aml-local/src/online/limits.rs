//! A Kubernetes deployment's `resources.limits`, enforced locally as the cluster would: its
//! inference server and every process it starts run in a cgroup of their own (v2 where its
//! memory controller is available, else v1), with a memory limit the kernel enforces by
//! killing a process (`OOMKilled`) and a CPU quota. Where cgroups cannot be written, the
//! deployment is served without limits, and the user is told so once.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use aml_core::digest::Digest;
use aml_core::error::Result;
use aml_core::yaml::endpoint::{OnlineDeployment, OnlineKind};
use aml_core::yaml::quantity::{Resource, Resources};

/// The limits a deployment runs under, as written and as numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerLimits {
    /// `resources.limits.memory` as written (`200Mi`), and in bytes.
    pub memory: Option<(String, u64)>,
    /// `resources.limits.cpu` as written (`0.5`), and in cores.
    pub cpu: Option<(String, f64)>,
}

/// `memory 200Mi, cpu 0.5`, for logs.
impl std::fmt::Display for ContainerLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> =
            [("memory", self.memory.as_ref().map(|m| &m.0)), ("cpu", self.cpu.as_ref().map(|c| &c.0))]
                .into_iter()
                .filter_map(|(name, written)| written.map(|w| format!("{name} {w}")))
                .collect();
        f.write_str(&parts.join(", "))
    }
}

impl ContainerLimits {
    /// The limits of a `type: kubernetes` deployment, checked; none for a managed one (Azure
    /// sizes those by instance type, which means nothing on this machine).
    pub fn of(file: &Path, spec: &OnlineDeployment) -> Result<Option<ContainerLimits>> {
        if spec.kind != OnlineKind::Kubernetes {
            return Ok(None);
        }
        let resources = Resources::read(file, spec.resources.as_ref())?;
        let limits = ContainerLimits {
            memory: resources.limit(Resource::Memory).map(|a| (a.written.clone(), a.value as u64)),
            cpu: resources.limit(Resource::Cpu).map(|a| (a.written.clone(), a.value)),
        };
        Ok((limits.memory.is_some() || limits.cpu.is_some()).then_some(limits))
    }

    /// How an out-of-memory kill is reported: `OOMKilled (limit 200Mi)`.
    pub fn oom_killed(&self) -> String {
        match &self.memory {
            Some((written, _)) => format!("OOMKilled (limit {written})"),
            None => "OOMKilled".into(),
        }
    }
}

/// The cgroup (one folder per hierarchy) a deployment revision's processes run in.
#[derive(Debug, Clone)]
pub struct Cgroup {
    version: Version,
}

#[derive(Debug, Clone)]
enum Version {
    /// cgroup v1: one folder in the memory hierarchy, one in the cpu hierarchy (either may
    /// be absent when the deployment sets no such limit).
    V1 { memory: Option<PathBuf>, cpu: Option<PathBuf> },
    /// cgroup v2: one folder with both controllers.
    V2 { dir: PathBuf },
}

static SAID_NOT_ENFORCED: AtomicBool = AtomicBool::new(false);

/// Say once per command that limits are not enforced here, and why.
fn not_enforced(reason: &str) {
    if !SAID_NOT_ENFORCED.swap(true, Ordering::Relaxed) {
        aml_core::status!(
            "warning: resource limits are not enforced here ({reason}); the deployment runs without them"
        );
    }
}

/// The name of a revision's cgroup: from its folder, which is unique to the workspace,
/// endpoint, deployment and revision, so no user string becomes a path.
fn cgroup_name(revision: &Path) -> String {
    format!("aml-deployment-{}", &Digest::of_bytes(revision.as_os_str().as_bytes()).hex()[..24])
}

impl Cgroup {
    /// The cgroup for a revision, created (or found) with its limits set. `None`, after one
    /// warning, where this machine does not let us write cgroups.
    pub fn prepare(revision: &Path, limits: &ContainerLimits) -> Option<Cgroup> {
        match Self::try_prepare(revision, limits) {
            Ok(cgroup) => Some(cgroup),
            Err(reason) => {
                not_enforced(&reason);
                None
            }
        }
    }

    fn try_prepare(revision: &Path, limits: &ContainerLimits) -> std::result::Result<Cgroup, String> {
        let name = cgroup_name(revision);
        let mounts = Mounts::read()?;
        if let Some(unified) = mounts.v2.as_ref().filter(|m| controllers(m).iter().any(|c| c == "memory")) {
            let parent = unified.join(own_path("").unwrap_or_default().trim_start_matches('/'));
            write(&parent.join("cgroup.subtree_control"), "+memory +cpu")?;
            let dir = parent.join(&name);
            create(&dir)?;
            if let Some((_, bytes)) = &limits.memory {
                write(&dir.join("memory.max"), &bytes.to_string())?;
                let _ = write(&dir.join("memory.swap.max"), "0");
            }
            if let Some((_, cores)) = &limits.cpu {
                write(&dir.join("cpu.max"), &format!("{} 100000", quota_micros(*cores)))?;
            }
            return Ok(Cgroup { version: Version::V2 { dir } });
        }
        let in_v1 = |controller: &str| -> std::result::Result<PathBuf, String> {
            let mount = mounts
                .v1
                .iter()
                .find(|(c, _)| c.iter().any(|c| c == controller))
                .map(|(_, m)| m)
                .ok_or_else(|| format!("no cgroup hierarchy with the {controller} controller is mounted"))?;
            let dir = mount.join(own_path(controller).unwrap_or_default().trim_start_matches('/')).join(&name);
            create(&dir)?;
            Ok(dir)
        };
        let memory = match &limits.memory {
            Some((_, bytes)) => {
                let dir = in_v1("memory")?;
                write(&dir.join("memory.limit_in_bytes"), &bytes.to_string())?;
                // Where swap is accounted, the limit covers it too, so going over kills.
                if dir.join("memory.memsw.limit_in_bytes").exists() {
                    write(&dir.join("memory.memsw.limit_in_bytes"), &bytes.to_string())?;
                }
                Some(dir)
            }
            None => None,
        };
        let cpu = match &limits.cpu {
            Some(cores) => {
                let dir = in_v1("cpu")?;
                write(&dir.join("cpu.cfs_period_us"), "100000")?;
                write(&dir.join("cpu.cfs_quota_us"), &quota_micros(cores.1).to_string())?;
                Some(dir)
            }
            None => None,
        };
        Ok(Cgroup { version: Version::V1 { memory, cpu } })
    }

    /// The `cgroup.procs` files a starting process writes itself into (as C strings, ready
    /// for the moment between fork and exec, where nothing may allocate).
    pub fn procs_files(&self) -> Vec<CString> {
        let dirs: Vec<&PathBuf> = match &self.version {
            Version::V1 { memory, cpu } => memory.iter().chain(cpu.iter()).collect(),
            Version::V2 { dir } => vec![dir],
        };
        dirs.into_iter().filter_map(|dir| CString::new(dir.join("cgroup.procs").as_os_str().as_bytes()).ok()).collect()
    }

    /// How many processes the kernel has killed in this cgroup for going over its memory.
    pub fn oom_kills(&self) -> u64 {
        let (file, text) = match &self.version {
            Version::V1 { memory: Some(dir), .. } => (dir.join("memory.oom_control"), "oom_kill"),
            Version::V1 { memory: None, .. } => return 0,
            Version::V2 { dir } => (dir.join("memory.events"), "oom_kill"),
        };
        fs::read_to_string(file)
            .ok()
            .and_then(|events| events.lines().find_map(|line| line.strip_prefix(text)?.trim().parse::<u64>().ok()))
            .unwrap_or(0)
    }

    /// Remove the cgroup once nothing runs in it (the kernel refuses before).
    pub fn remove(revision: &Path) {
        let name = cgroup_name(revision);
        let Ok(mounts) = Mounts::read() else { return };
        let mut dirs = Vec::new();
        if let Some(unified) = &mounts.v2 {
            dirs.push(unified.join(own_path("").unwrap_or_default().trim_start_matches('/')).join(&name));
        }
        for (controllers, mount) in &mounts.v1 {
            for controller in controllers {
                dirs.push(mount.join(own_path(controller).unwrap_or_default().trim_start_matches('/')).join(&name));
            }
        }
        for dir in dirs {
            if dir.is_dir() {
                let _ = fs::remove_dir(&dir);
            }
        }
    }
}

/// CFS quota in microseconds per 100 ms period; the kernel's minimum is 1 ms.
fn quota_micros(cores: f64) -> u64 {
    ((cores * 100_000.0).round() as u64).max(1_000)
}

fn create(dir: &Path) -> std::result::Result<(), String> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("cannot create cgroup `{}`: {e}", dir.display())),
    }
}

fn write(file: &Path, value: &str) -> std::result::Result<(), String> {
    fs::write(file, value).map_err(|e| format!("cannot write `{}`: {e}", file.display()))
}

fn controllers(unified: &Path) -> Vec<String> {
    fs::read_to_string(unified.join("cgroup.controllers"))
        .map(|text| text.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// This process's cgroup in the hierarchy of `controller` ("" for v2), from /proc/self/cgroup.
fn own_path(controller: &str) -> Option<String> {
    let text = fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_id, names, path) = (fields.next()?, fields.next()?, fields.next()?);
        let matches = if controller.is_empty() { names.is_empty() } else { names.split(',').any(|n| n == controller) };
        matches.then(|| path.to_string())
    })
}

/// Where the cgroup hierarchies are mounted, from /proc/self/mountinfo.
struct Mounts {
    v1: Vec<(Vec<String>, PathBuf)>,
    v2: Option<PathBuf>,
}

impl Mounts {
    fn read() -> std::result::Result<Mounts, String> {
        let text = fs::read_to_string("/proc/self/mountinfo").map_err(|e| format!("cannot read mounts: {e}"))?;
        let mut mounts = Mounts { v1: Vec::new(), v2: None };
        for line in text.lines() {
            // `id parent major:minor root mountpoint options [optional…] - fstype source super`
            let Some((left, right)) = line.split_once(" - ") else { continue };
            let Some(mount_point) = left.split(' ').nth(4) else { continue };
            let mut right = right.split(' ');
            let (fs_type, _source, options) = (right.next(), right.next(), right.next().unwrap_or(""));
            match fs_type {
                Some("cgroup2") => mounts.v2 = Some(PathBuf::from(mount_point)),
                Some("cgroup") => {
                    let controllers: Vec<String> = options
                        .split(',')
                        .filter(|o| ["memory", "cpu", "cpuacct"].contains(o))
                        .map(str::to_owned)
                        .collect();
                    if !controllers.is_empty() {
                        mounts.v1.push((controllers, PathBuf::from(mount_point)));
                    }
                }
                _ => {}
            }
        }
        if mounts.v2.is_none() && mounts.v1.is_empty() {
            return Err("no cgroup hierarchy is mounted".into());
        }
        Ok(mounts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_is_cores_times_the_period_and_never_below_the_kernels_minimum() {
        assert_eq!(quota_micros(0.5), 50_000);
        assert_eq!(quota_micros(2.0), 200_000);
        assert_eq!(quota_micros(0.001), 1_000);
    }

    #[test]
    fn a_revisions_cgroup_name_is_made_of_hex_only() {
        let name = cgroup_name(Path::new("/ws/endpoints/../../etc/blue/0123"));
        assert!(name.strip_prefix("aml-deployment-").is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit())));
        assert_ne!(name, cgroup_name(Path::new("/ws/endpoints/other/blue/0123")));
    }
}
