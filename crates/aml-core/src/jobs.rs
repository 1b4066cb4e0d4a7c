//! Jobs as both backends describe them, with Azure ML's status names.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// Azure ML's job statuses (JobStatus in the 2025-12-01 spec); the local runner uses a subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    NotStarted,
    Starting,
    Provisioning,
    Queued,
    Preparing,
    Running,
    Finalizing,
    CancelRequested,
    Completed,
    Failed,
    Canceled,
    NotResponding,
    Paused,
    Unknown,
}

const ALL: [JobStatus; 14] = [
    JobStatus::NotStarted,
    JobStatus::Starting,
    JobStatus::Provisioning,
    JobStatus::Queued,
    JobStatus::Preparing,
    JobStatus::Running,
    JobStatus::Finalizing,
    JobStatus::CancelRequested,
    JobStatus::Completed,
    JobStatus::Failed,
    JobStatus::Canceled,
    JobStatus::NotResponding,
    JobStatus::Paused,
    JobStatus::Unknown,
];

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::NotStarted => "NotStarted",
            JobStatus::Starting => "Starting",
            JobStatus::Provisioning => "Provisioning",
            JobStatus::Queued => "Queued",
            JobStatus::Preparing => "Preparing",
            JobStatus::Running => "Running",
            JobStatus::Finalizing => "Finalizing",
            JobStatus::CancelRequested => "CancelRequested",
            JobStatus::Completed => "Completed",
            JobStatus::Failed => "Failed",
            JobStatus::Canceled => "Canceled",
            JobStatus::NotResponding => "NotResponding",
            JobStatus::Paused => "Paused",
            JobStatus::Unknown => "Unknown",
        }
    }

    /// Run history's terminal statuses: nothing changes after these.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed
                | JobStatus::Failed
                | JobStatus::Canceled
                | JobStatus::NotResponding
                | JobStatus::Paused
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ALL.into_iter().find(|status| status.as_str() == s).ok_or_else(|| format!("unknown job status `{s}`"))
    }
}

/// The tag a sweep job gets naming its best trial, as Azure ML's `best_child_run_id`
/// property does; the sweep's metrics are that trial's.
pub const BEST_TRIAL_TAG: &str = "best_child_run_id";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub name: crate::names::JobName,
    /// `command` or `pipeline`.
    pub kind: String,
    pub parent: Option<String>,
    /// The step name inside the parent pipeline.
    pub step: Option<String>,
    pub display_name: Option<String>,
    pub experiment_name: String,
    pub status: JobStatus,
    pub created_at: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub inputs: BTreeMap<String, JobInputRecord>,
    pub outputs: BTreeMap<String, JobOutputRecord>,
    pub code_digest: Option<Digest>,
    pub environment: Option<String>,
    /// The command as it ran, placeholders expanded.
    #[serde(default)]
    pub command: Option<String>,
    pub error: Option<String>,
    /// The YAML file the job came from.
    pub file: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub git: Option<crate::model::GitInfo>,
    pub created_by: Option<String>,
    /// The `aml-train` process that runs it (local backend).
    pub runner_pid: Option<u32>,
}

/// An input as the job saw it: a literal value, or data with the digest of its bytes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobInputRecord {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    pub digest: Option<Digest>,
}

/// An output: its stable URI and, on the local backend, where it is on disk.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobOutputRecord {
    #[serde(rename = "type")]
    pub kind: String,
    pub uri: String,
    pub path: String,
}

/// How to run a job.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub name: Option<String>,
    pub experiment_name: Option<String>,
    pub display_name: Option<String>,
    /// Echo the job's output to stderr as it runs (as `az ml job stream`).
    pub stream_logs: bool,
    pub ci: crate::ci::Ci,
}

/// A job that ran to its end, and its steps for a pipeline.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub job: Job,
    pub steps: Vec<Job>,
}
