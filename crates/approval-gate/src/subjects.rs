//! What a gate compares: the candidate (a model version, or a job's metrics before it is
//! registered) and the champion (a model version, a query, or an endpoint's main model).

use std::collections::BTreeMap;

use aml_client::jobs::JobStatus;
use aml_client::model::ModelVersion;
use aml_client::refs::ModelRef;
use aml_client::{Error, Result, Workspace};
use serde::Serialize;

/// Where a champion taken from an endpoint was found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Serving {
    pub endpoint: String,
    pub deployment: String,
    /// Percent of the endpoint's traffic the deployment takes.
    pub traffic: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Subject {
    /// As the user would write it back: `diabetes:4`, `job:JOB`.
    pub reference: String,
    /// `name` and `version` when the subject is a model version.
    pub name: Option<String>,
    pub version: Option<String>,
    /// The job the metrics came from: the candidate job, or the model's lineage.
    pub job: Option<String>,
    pub metrics: BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serving: Option<Serving>,
}

impl Subject {
    fn of_model(model: &ModelVersion) -> Subject {
        Subject {
            reference: model.id(),
            name: Some(model.name.clone()),
            version: Some(model.version.clone()),
            job: model.lineage.job.clone(),
            metrics: model.metrics.clone(),
            serving: None,
        }
    }

    /// `name:version` when a model version.
    pub fn model_id(&self) -> Option<String> {
        Some(format!("{}:{}", self.name.as_ref()?, self.version.as_ref()?))
    }

    pub fn is_job(&self) -> bool {
        self.name.is_none()
    }
}

fn job_name(reference: &str) -> Option<&str> {
    reference
        .strip_prefix("job:")
        .or_else(|| reference.strip_prefix("azureml://jobs/").map(|rest| rest.trim_end_matches('/')))
        .filter(|name| !name.is_empty())
}

pub async fn candidate(ws: &Workspace, reference: &str) -> Result<Subject> {
    if let Some(name) = job_name(reference) {
        let job = ws.job(name).await?;
        if job.status != JobStatus::Completed {
            return Err(Error::usage(
                format!("job `{name}` is {}: only a completed job's metrics can be gated", job.status.as_str()),
                format!("`aml-train show {name}` says why; gate the job that completed"),
            ));
        }
        let metrics = ws.job_metrics(&job).await?;
        if metrics.is_empty() && job.kind == "pipeline" {
            let steps = ws.job_steps(name).await?;
            let mut with_metrics: Vec<String> = Vec::new();
            for step in &steps {
                if ws.job_metrics(step).await.is_ok_and(|m| !m.is_empty()) {
                    with_metrics.push(format!("`job:{}`", step.name));
                }
            }
            return Err(Error::usage(
                format!("pipeline job `{name}` logged no metrics of its own"),
                if with_metrics.is_empty() {
                    "none of its steps logged metrics either".to_string()
                } else {
                    format!("gate the step that did: {}", with_metrics.join(", "))
                },
            ));
        }
        return Ok(Subject {
            reference: format!("job:{name}"),
            name: None,
            version: None,
            job: Some(name.to_string()),
            metrics,
            serving: None,
        });
    }
    let model = ws.model_version(&parse_model(reference, "--candidate")?).await?;
    Ok(Subject::of_model(&model))
}

fn parse_model(reference: &str, flag: &str) -> Result<ModelRef> {
    reference.parse::<ModelRef>().map_err(|e| {
        Error::usage(
            format!("`{flag} {reference}`: {e}"),
            "write a model version (`diabetes:3`, `diabetes@latest`, `diabetes@stage=production`), `job:JOB` for a candidate, or `endpoint:NAME` for a champion",
        )
    })
}

/// The champion, or `None` with why there is none.
pub async fn champion(ws: &mut Workspace, reference: &str) -> Result<std::result::Result<Subject, String>> {
    if let Some(name) = reference.strip_prefix("endpoint:") {
        aml_client::names::NameKind::Endpoint.check(name).map_err(|problem| {
            Error::usage(
                format!("`--champion {reference}`: {problem}"),
                format!("write `endpoint:NAME`, NAME {}", aml_client::names::NameKind::Endpoint.rule()),
            )
        })?;
        // Before the first deployment the endpoint does not exist: no champion yet. The
        // reason names the endpoints there are, so a misspelt name shows.
        let existing: Vec<String> = ws.endpoints().await?.into_iter().map(|e| e.name).collect();
        if !existing.iter().any(|e| e == name) {
            let there = if existing.is_empty() {
                "no endpoints exist yet".to_string()
            } else {
                format!("endpoints here: {}", existing.join(", "))
            };
            return Ok(Err(format!("endpoint `{name}` does not exist ({there})")));
        }
        let endpoint = ws.endpoint(name).await?;
        // The deployment taking the most traffic now; on a tie, the one deployed first.
        let mut live: Vec<_> = endpoint
            .deployments
            .iter()
            .filter_map(|d| endpoint.traffic.get(&d.name).filter(|w| **w > 0).map(|w| (d, *w)))
            .collect();
        live.sort_by(|(a, wa), (b, wb)| wb.cmp(wa).then_with(|| a.created_at.cmp(&b.created_at)));
        let Some((deployment, traffic)) = live.first() else {
            return Ok(Err(format!("endpoint `{name}` sends no traffic to any deployment")));
        };
        let Some(model) = &deployment.model else {
            return Err(Error::usage(
                format!(
                    "deployment `{}` of endpoint `{name}` serves no registered model, so it has no metrics to compare",
                    deployment.name
                ),
                "name the champion model version instead: `--champion NAME:VERSION`",
            ));
        };
        let version = ws.model_version(&parse_model(model, "--champion")?).await?;
        let mut subject = Subject::of_model(&version);
        subject.serving =
            Some(Serving { endpoint: name.to_string(), deployment: deployment.name.clone(), traffic: *traffic });
        return Ok(Ok(subject));
    }
    if reference.starts_with("job:") {
        return Err(Error::usage(
            format!("`--champion {reference}`: a champion is a model version or an endpoint"),
            "write `--champion diabetes:3`, `--champion diabetes@stage=production` or `--champion endpoint:NAME`",
        ));
    }
    let parsed = parse_model(reference, "--champion")?;
    match ws.find_model_version(&parsed).await? {
        Some(version) => Ok(Ok(Subject::of_model(&version))),
        None => Ok(Err(format!("no version matches `{reference}`"))),
    }
}
