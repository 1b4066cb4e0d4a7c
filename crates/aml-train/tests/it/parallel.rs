//! A pipeline's parallel step on the local workspace: the task's `init()` once per worker and
//! `run(mini_batch)` per mini-batch of files, its rows appended in input order, failures
//! counted against `error_threshold` as Azure ML counts them.

use std::path::Path;

use aml_client::testing::{TestWorkspace, binary, render};

fn workspace() -> TestWorkspace {
    let ws = TestWorkspace::new();
    ws.copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parallel"), "parallel");
    ws
}

fn run(ws: &TestWorkspace, name: &str, sets: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "parallel/pipeline.yml", "--name", name, "-q"];
    for set in sets {
        args.extend(["--set", set]);
    }
    ws.run(&binary("aml-train"), &args)
}

fn log(ws: &TestWorkspace, job: &str) -> String {
    String::from_utf8_lossy(&ws.run(&binary("aml-train"), &["logs", job]).stdout).into_owned()
}

#[test]
fn a_parallel_step_scores_mini_batches_in_workers_and_keeps_input_order() {
    let ws = workspace();
    let done = run(&ws, "scaled", &[]);
    assert_eq!(done.status.code(), Some(0), "{}", render(&done));
    let rows = std::fs::read_to_string(ws.workspace().join("jobs/scaled_scale_readings/outputs/scaled")).unwrap();
    let expected: Vec<String> =
        [1, 2, 3, 4, 5, 6, 8, 9, 10].iter().map(|i| format!("reading-{i:02}.txt {}", i * 14)).collect();
    assert_eq!(rows.lines().collect::<Vec<_>>(), expected, "one row per readable file, in input order");
    let text = log(&ws, "scaled_scale_readings");
    assert!(text.contains("10 file(s) in 4 mini-batch(es) of up to 3, 2 worker(s)"), "{text}");
    assert!(text.contains("1 file(s) failed") && text.contains("reading-07.txt"), "the failure is listed: {text}");

    // No failure allowed: the step fails, naming the file's mini-batch.
    let strict = run(&ws, "strict", &["jobs.scale_readings.error_threshold=0"]);
    assert_eq!(strict.status.code(), Some(1), "{}", render(&strict));
    let text = log(&ws, "strict_scale_readings");
    assert!(text.contains("reading-07.txt: no number in it"), "{text}");
    assert!(text.contains("more failures than its thresholds allow"), "{text}");

    // An init() that fails fails each mini-batch it would take (retried), not the pool forever.
    let broken = run(&ws, "broken", &["jobs.scale_readings.task.program_arguments=--no-scale"]);
    assert_eq!(broken.status.code(), Some(1), "{}", render(&broken));
    let text = log(&ws, "broken_scale_readings");
    assert!(text.contains("init() failed") && text.contains("--scale"), "{text}");
}

#[test]
fn parallel_only_fields_belong_to_parallel_steps_and_tabular_splits_are_said_to_run_elsewhere() {
    let ws = workspace();
    let text = std::fs::read_to_string(ws.path().join("parallel/pipeline.yml")).unwrap();
    ws.write("parallel/command.yml", &text.replace("type: parallel", "type: command"));
    let refused = ws.run(&binary("aml-train"), &["validate", "parallel/command.yml"]);
    assert_eq!(refused.status.code(), Some(2), "{}", render(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("jobs.scale_readings.input_data"),
        "{}",
        render(&refused)
    );

    ws.write("parallel/sized.yml", &text.replace("mini_batch_size: \"3\"", "mini_batch_size: \"10kb\""));
    let valid = ws.run(&binary("aml-train"), &["validate", "parallel/sized.yml"]);
    assert_eq!(valid.status.code(), Some(0), "valid as azure-ai-ml says: {}", render(&valid));
    let refused = ws.run(&binary("aml-train"), &["run", "parallel/sized.yml"]);
    assert_eq!(refused.status.code(), Some(2), "{}", render(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("by size"), "{}", render(&refused));
    assert!(
        !ws.workspace().join("jobs").exists()
            || std::fs::read_dir(ws.workspace().join("jobs")).unwrap().next().is_none()
    );
}
