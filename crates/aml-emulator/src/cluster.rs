//! The emulator's Databricks cluster: a submitted run really runs. The task's PyPI libraries
//! are installed into a virtualenv (as the local runner builds one), the python_file runs
//! with its parameters, `/Volumes/…` seen through the folder that stands for the driver's
//! mount, MLflow pointed back at the emulator (as a driver's is at its workspace). The
//! process's output is the driver log; a traceback's last line is the task's error, as
//! Databricks reports a failed Python task. `runs/cancel` stops the process.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aml_client::jobplan::EnvPlan;
use aml_client::process::{Cancellation, ChildSpec, Outcome};

use crate::databricks::on_driver;
use crate::resources::DatabricksRun;
use crate::state::State;

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn update(state: &Mutex<State>, run_id: i64, change: impl FnOnce(&mut DatabricksRun)) {
    if let Some(run) = lock(state).databricks.runs.get_mut(&run_id) {
        change(run);
    }
}

fn end(state: &Mutex<State>, run_id: i64, life_cycle: &str, result: Option<&str>, message: &str) {
    update(state, run_id, |run| {
        run.life_cycle = life_cycle.into();
        run.result = result.map(str::to_owned);
        run.message = message.into();
        run.end_ms = Some(jiff::Timestamp::now().as_millisecond());
    });
}

pub fn spawn(state: Arc<Mutex<State>>, run_id: i64) {
    std::thread::spawn(move || {
        let outcome = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(run(&state, run_id)));
        if let Err(problem) = outcome {
            end(&state, run_id, "INTERNAL_ERROR", None, &problem);
        }
    });
}

async fn run(state: &Arc<Mutex<State>>, run_id: i64) -> Result<(), String> {
    let (task, root, port, cert, token, timeout, new_cluster) = {
        let mut locked = lock(state);
        let token = locked.issue_databricks_token();
        let run = locked.databricks.runs.get(&run_id).cloned().ok_or("the run vanished")?;
        (
            run.task.clone(),
            locked.databricks.root.clone(),
            locked.port,
            locked.cert.clone(),
            token,
            run.timeout_seconds,
            run.task["new_cluster"].is_object(),
        )
    };
    let (stop, mut cancel) = Cancellation::manual();
    let watcher = {
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                if lock(&state).databricks.runs.get(&run_id).is_none_or(|r| r.cancel_requested) {
                    let _ = stop.send(true);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    // A new job cluster takes longer to come up than an existing one to take the task.
    tokio::time::sleep(Duration::from_millis(if new_cluster { 800 } else { 300 })).await;

    let packages: Vec<String> = task["libraries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["pypi"]["package"].as_str().map(str::to_owned))
        .collect();
    update(state, run_id, |run| run.message = "Installing libraries".into());
    let plan = EnvPlan::Packages {
        packages,
        python: None,
        described_by: format!("libraries of run {run_id}").into(),
        python_required: false,
    };
    let interpreter =
        match aml_local::runner::environment::ensure(&plan, &mut cancel, false, &crate::common::settings()).await {
            Ok(interpreter) => interpreter,
            Err(e) => {
                watcher.abort();
                end(state, run_id, "INTERNAL_ERROR", None, &format!("Library installation failed: {e}"));
                return Ok(());
            }
        };
    if cancel.requested() {
        watcher.abort();
        end(state, run_id, "TERMINATED", Some("CANCELED"), "Run cancelled.");
        return Ok(());
    }
    update(state, run_id, |run| {
        run.life_cycle = "RUNNING".into();
        run.message = "In run".into();
    });
    let python_file = on_driver(&root, task["spark_python_task"]["python_file"].as_str().unwrap_or_default());
    let mut args = vec![python_file];
    args.extend(
        task["spark_python_task"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|p| on_driver(&root, p)),
    );
    let driver_dir = root.join("driver").join(run_id.to_string());
    std::fs::create_dir_all(&driver_dir).map_err(|e| e.to_string())?;
    let log = driver_dir.join("stdout");
    let mut env = vec![
        ("MLFLOW_TRACKING_URI".to_string(), format!("https://127.0.0.1:{port}")),
        ("MLFLOW_TRACKING_TOKEN".into(), token),
        ("MLFLOW_TRACKING_SERVER_CERT_PATH".into(), cert.display().to_string()),
        ("REQUESTS_CA_BUNDLE".into(), cert.display().to_string()),
        ("MLFLOW_DISABLE_TELEMETRY".into(), "true".into()),
        ("NO_PROXY".into(), "127.0.0.1,localhost".into()),
        ("PYTHONUNBUFFERED".into(), "1".into()),
    ];
    if let Some(venv) = &interpreter.venv {
        env.push((
            "PATH".into(),
            format!("{}:{}", venv.join("bin").display(), std::env::var("PATH").unwrap_or_default()),
        ));
        env.push(("VIRTUAL_ENV".into(), venv.display().to_string()));
    }
    let outcome = aml_client::process::run_child(
        ChildSpec {
            program: interpreter.python.clone(),
            args,
            cwd: driver_dir.clone(),
            env,
            log: log.clone(),
            prefix: String::new(),
            echo: false,
            timeout: timeout.map(Duration::from_secs),
        },
        &mut cancel,
    )
    .await
    .map_err(|e| e.to_string())?;
    watcher.abort();
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    let (error, trace) = python_error(&logs);
    update(state, run_id, |run| {
        run.logs = logs;
        run.error = error;
        run.error_trace = trace;
    });
    match outcome {
        Outcome::Exited(Some(0)) => end(state, run_id, "TERMINATED", Some("SUCCESS"), ""),
        Outcome::Exited(_) => {
            end(state, run_id, "TERMINATED", Some("FAILED"), "Workload failed, see run output for details")
        }
        Outcome::Canceled => end(state, run_id, "TERMINATED", Some("CANCELED"), "Run cancelled."),
        Outcome::TimedOut => end(state, run_id, "TERMINATED", Some("TIMEDOUT"), "Run timed out."),
    }
    Ok(())
}

use serde_json::Value;

/// The last traceback in the output, and its last line (`ValueError: …`): what Databricks
/// reports as a Python task's error and error_trace.
fn python_error(logs: &str) -> (Option<String>, Option<String>) {
    let Some(at) = logs.rfind("Traceback (most recent call last):") else {
        return (logs.lines().rev().find(|l| !l.trim().is_empty()).map(str::to_owned), None);
    };
    let trace = logs[at..].to_string();
    let error = trace.lines().rev().find(|l| !l.trim().is_empty() && !l.starts_with(' ')).map(str::to_owned);
    (error, Some(trace))
}
