//! From job YAML to a plan a backend can execute: every path resolved, every placeholder
//! and pipeline binding checked, steps in dependency order. `validate` and `run` share it,
//! so a job that validates has no input error left for `run` to find.

pub mod batch;
mod build;
pub mod online;
mod parallel;
pub mod registry_environments;
pub mod sweep;
pub mod template;

pub use build::{
    Blocker, DEFAULT_ARTIFACTS, DataResolver, DataSource, EnvPlan, InputPlan, PipelineOutput, Plan, Scope, StepPlan,
    SweepSettings, plan_code, plan_environment, requirement_lines, requirements_of,
};
pub use parallel::{DRIVER_VARIABLE, PARALLEL_DRIVER};

use crate::error::Result;
use crate::yaml::job::{JobSpec, LoadedJob};

/// Plan a loaded job. `workspace` resolves `azureml://jobs/…` and datastore inputs.
pub async fn plan(job: &LoadedJob, workspace: Option<&dyn DataResolver>) -> Result<Plan> {
    let mut notes = build::Notes::default();
    match &job.spec {
        JobSpec::Command(command) => build::plan_command(&job.file, command, workspace, &mut notes).await,
        JobSpec::Pipeline(pipeline) => build::plan_pipeline(&job.file, pipeline, workspace, &mut notes).await,
        JobSpec::Foreign(foreign) => build::plan_foreign(&job.file, foreign, workspace, &mut notes).await,
        JobSpec::Sweep(sweep) => sweep::plan_sweep(&job.file, sweep, workspace, &mut notes).await,
    }
    .map(|mut plan| {
        plan.warnings.extend(notes.warnings);
        plan.blockers.extend(notes.blockers);
        plan
    })
}
