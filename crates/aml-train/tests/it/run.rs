//! Running jobs on the local workspace through the real binary: outputs, metrics, logs,
//! failure, timeout, cancellation and pipelines. The fixture jobs use only the standard
//! library, so no environment needs building.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use std::time::{Duration, Instant};

use aml_client::testing::{TestWorkspace, binary, json, render};

fn aml_train() -> PathBuf {
    binary("aml-train")
}

fn fixture(ws: &TestWorkspace) -> PathBuf {
    ws.copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/echo"), "echo")
}

const VOLATILE: &[&str] =
    &[".created_at", ".started_at", ".ended_at", ".duration_seconds", ".environment", ".file", ".log"];

fn redacted(value: &serde_json::Value) -> serde_json::Value {
    let mut value = value.clone();
    for key in VOLATILE {
        if let Some(field) = value.get_mut(&key[1..])
            && !field.is_null()
        {
            *field = serde_json::Value::String(format!("[{}]", &key[1..]));
        }
    }
    value
}

#[test]
fn a_command_job_reports_status_metrics_and_outputs() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let output = ws.run(&aml_train(), &["run", "echo/job.yml", "--name", "echo-1", "--output", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    let job = json(&output);
    ws.settings().bind(|| insta::assert_json_snapshot!(redacted(&job), @r#"
    {
      "code_digest": "sha256:0f2c1da3a762878bb07af850fe2d0d4705f92df31fecf34d63bef399bb468397",
      "command": "python run.py --greeting hello --count 2 --data [TMP]/echo/data.csv --out [TMP]/.aml/jobs/echo-1/outputs/result --fail no",
      "created_at": "[created_at]",
      "display_name": "echo",
      "duration_seconds": "[duration_seconds]",
      "ended_at": "[ended_at]",
      "environment": "[environment]",
      "error": null,
      "experiment_name": "tests",
      "file": "[file]",
      "git": null,
      "inputs": {
        "count": {
          "digest": null,
          "type": "literal",
          "value": "2"
        },
        "data": {
          "digest": "sha256:04805195b70d54d7d651cc363929520a95d96f118eabf177c6482f7fa6f67378",
          "type": "uri_file",
          "value": "./data.csv"
        },
        "fail": {
          "digest": null,
          "type": "literal",
          "value": "no"
        },
        "greeting": {
          "digest": null,
          "type": "literal",
          "value": "hello"
        }
      },
      "log": "[log]",
      "metrics": {
        "count": 2.0,
        "rows": 2.0
      },
      "name": "echo-1",
      "output_paths": {
        "result": "[TMP]/.aml/jobs/echo-1/outputs/result"
      },
      "outputs": {
        "result": "azureml://jobs/echo-1/outputs/result"
      },
      "params": {},
      "started_at": "[started_at]",
      "status": "Completed",
      "tags": {},
      "type": "command"
    }
    "#));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("hello x2: 2 data rows") && stderr.contains("to stderr"),
        "the job's output is streamed:\n{stderr}"
    );
    let result = ws.workspace().join("jobs/echo-1/outputs/result/greeting.txt");
    assert_eq!(std::fs::read_to_string(result).unwrap(), "hello\nhello\n");
    // The snapshot of the code honours the code folder's .gitignore.
    let code = ws.workspace().join("jobs/echo-1/code");
    assert!(code.join("run.py").is_file());
    assert!(!code.join("secret-notes.txt").exists(), "an ignored file went into the snapshot");
}

#[test]
fn show_metrics_and_logs_read_a_finished_job() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let run = ws.run(&aml_train(), &["run", "echo/job.yml", "--name", "echo-2", "--set", "inputs.count=5", "--quiet"]);
    assert_eq!(run.status.code(), Some(0), "{}", render(&run));
    assert!(!String::from_utf8_lossy(&run.stderr).contains("hello x5"), "--quiet still echoed the job's output");

    let show = ws.run(&aml_train(), &["show", "echo-2"]);
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&show), @r"
    exit_code: 0
    ----- stdout -----
    job echo-2: Completed in [DURATION] (command, experiment tests)
      metrics  count=5  rows=2
      output   result  azureml://jobs/echo-2/outputs/result
      log      [TMP]/.aml/jobs/echo-2/logs/std_log.txt
    ----- stderr -----
    ")
    });
    let metrics = ws.run(&aml_train(), &["metrics", "echo-2", "--output", "json"]);
    assert_eq!(json(&metrics), serde_json::json!({"count": 5.0, "rows": 2.0}));
    let logs = ws.run(&aml_train(), &["logs", "echo-2"]);
    insta::assert_snapshot!(render(&logs), @r"
    exit_code: 0
    ----- stdout -----
    hello x5: 2 data rows
    to stderr
    ----- stderr -----
    ");
}

#[test]
fn a_failing_job_exits_1_and_shows_the_end_of_its_log() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let output =
        ws.run(&aml_train(), &["run", "echo/job.yml", "--name", "fails", "--set", "inputs.fail=yes", "--quiet"]);
    ws.settings().bind(|| insta::assert_snapshot!(render(&output).lines().filter(|l| !l.contains("Preparing") && !l.contains("Running")).collect::<Vec<_>>().join("\n"), @r"
    exit_code: 1
    ----- stdout -----
    job fails: Failed in [DURATION] (command, experiment tests)
      metrics  count=2  rows=2
      output   result  azureml://jobs/fails/outputs/result
      error    the command ended with exit code 3; last lines of its log:
               hello x2: 2 data rows
               to stderr
               failing on purpose
      log      [TMP]/.aml/jobs/fails/logs/std_log.txt
    ----- stderr -----
    job fails created (experiment tests); files in `[TMP]/.aml/jobs/fails`
    job fails: Failed in [DURATION]
    "));
}

#[test]
fn job_names_are_unique() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    assert_eq!(ws.run(&aml_train(), &["run", "echo/job.yml", "--name", "once", "-q"]).status.code(), Some(0));
    let again = ws.run(&aml_train(), &["run", "echo/job.yml", "--name", "once", "-q"]);
    insta::assert_snapshot!(render(&again), @r"
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: a job named `once` already exists in this workspace
    hint: job names are unique: remove `name:` from the YAML (a fresh name is generated) or pass `--name`
    ");
}

#[test]
fn an_unknown_job_gets_a_suggestion() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    assert_eq!(ws.run(&aml_train(), &["run", "echo/job.yml", "--name", "train-7", "-q"]).status.code(), Some(0));
    let output = ws.run(&aml_train(), &["show", "train-8"]);
    insta::assert_snapshot!(render(&output), @r"
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: no job named `train-8` in this workspace
    hint: did you mean `train-7`?
    ");
}

/// Running, not a zombie: an orphan's zombie lingers when the container's pid 1 never reaps.
fn pid_alive(pid: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) else { return false };
    let state = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next());
    state != Some("Z")
}

fn wait_for(path: &Path) -> String {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

#[test]
fn a_timeout_stops_the_job_and_everything_it_started() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let output = ws.run(
        &aml_train(),
        &["run", "echo/sleep.yml", "--name", "slow", "--set", "limits.timeout=2", "-q", "-o", "json"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", render(&output));
    let job = json(&output);
    assert_eq!(job["status"], "Failed");
    assert_eq!(job["error"], "the job ran longer than its `limits.timeout` of 2s and was stopped");
    let grandchild = std::fs::read_to_string(ws.workspace().join("jobs/slow/code/grandchild.pid")).unwrap();
    assert!(!pid_alive(&grandchild), "the script's child outlived the job");
}

#[test]
fn sigterm_cancels_the_job_and_records_it_as_canceled() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let runner = ws
        .command(&aml_train())
        .args(["run", "echo/sleep.yml", "--name", "cancel-me", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let grandchild = wait_for(&ws.workspace().join("jobs/cancel-me/code/grandchild.pid"));
    assert!(pid_alive(&grandchild));
    assert!(Command::new("kill").args(["-TERM", &runner.id().to_string()]).status().unwrap().success());
    let output = runner.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", render(&output));
    assert!(!pid_alive(&grandchild), "the script's child outlived the canceled job");
    let show = ws.run(&aml_train(), &["show", "cancel-me", "-o", "json"]);
    let job = json(&show);
    assert_eq!(job["status"], "Canceled");
    assert_eq!(job["error"], "canceled (SIGINT or SIGTERM)");
}

/// `aml-train cancel` from another shell does what Ctrl-C in the running one would.
#[test]
fn cancel_from_another_process_stops_the_job() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let runner = ws
        .command(&aml_train())
        .args(["run", "echo/sleep.yml", "--name", "stop-me", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let grandchild = wait_for(&ws.workspace().join("jobs/stop-me/code/grandchild.pid"));
    let cancel = ws.run(&aml_train(), &["cancel", "stop-me", "-o", "json"]);
    assert_eq!(cancel.status.code(), Some(0), "{}", render(&cancel));
    assert_eq!(json(&cancel)["status"], "Canceled");
    let output = runner.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", render(&output));
    assert!(!pid_alive(&grandchild), "the script's child outlived the canceled job");
    let again = ws.run(&aml_train(), &["cancel", "stop-me"]);
    assert_eq!(again.status.code(), Some(2), "{}", render(&again));
    assert!(render(&again).contains("already ended: Canceled"), "{}", render(&again));
    let unknown = ws.run(&aml_train(), &["cancel", "nobody"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", render(&unknown));
}

#[test]
fn a_pipeline_wires_step_outputs_to_later_steps() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let output = ws.run(&aml_train(), &["run", "echo/pipeline.yml", "--name", "pipe", "-q", "-o", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    let job = json(&output);
    assert_eq!(job["status"], "Completed");
    assert_eq!(job["type"], "pipeline");
    assert_eq!(job["outputs"], serde_json::json!({"final": "azureml://jobs/pipe/outputs/final"}));
    // Later steps win when metric names clash: `second` counted 3 and read a 1-line file.
    assert_eq!(job["metrics"], serde_json::json!({"count": 3.0, "rows": 0.0}));
    let steps: Vec<(String, String)> = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap().into(), s["status"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        steps,
        [("first".to_string(), "Completed".to_string()), ("second".to_string(), "Completed".to_string())]
    );
    let final_output = PathBuf::from(job["output_paths"]["final"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(final_output.join("greeting.txt")).unwrap(), "again\nagain\nagain\n");
    // The second step recorded where its input came from.
    let second = ws.run(&aml_train(), &["show", "pipe_second", "-o", "json"]);
    assert_eq!(json(&second)["inputs"]["previous"]["value"], "azureml://jobs/pipe_first/outputs/result");
    let logs = ws.run(&aml_train(), &["logs", "pipe"]);
    insta::assert_snapshot!(render(&logs), @r"
    exit_code: 0
    ----- stdout -----
    ==> step first (pipe_first) <==
    hi x1: 2 data rows
    to stderr
    ==> step second (pipe_second) <==
    again x3: 0 data rows
    to stderr
    ----- stderr -----
    ");
}

#[test]
fn a_failed_step_stops_the_steps_that_need_it() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let output = ws.run(
        &aml_train(),
        &["run", "echo/pipeline.yml", "--name", "broken", "-q", "--set", "jobs.first.command=exit 4"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", render(&output));
    let show = ws.run(&aml_train(), &["show", "broken"]);
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&show), @r"
    exit_code: 1
    ----- stdout -----
    job broken: Failed in [DURATION] (pipeline, experiment tests)
      output   final  azureml://jobs/broken/outputs/final
      step     first: Failed in [DURATION]  
      step     second: NotStarted  
      error    step(s) first, second did not complete
      logs     aml-train logs broken
    ----- stderr -----
    ")
    });
}

#[test]
fn component_steps_take_defaults_optional_sections_and_continue_on_failure() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let output = ws.run(&aml_train(), &["run", "echo/pipeline-components.yml", "--name", "pc", "-q", "-o", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", render(&output));
    let job = json(&output);
    let steps: Vec<String> = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let command = s["command"].as_str().unwrap_or("-").replace(ws.path().to_str().unwrap(), "[TMP]");
            format!("{} {}: {command}", s["step"].as_str().unwrap(), s["status"].as_str().unwrap())
        })
        .collect();
    insta::assert_snapshot!(steps.join("\n"), @r"
    custom Failed: python run.py --greeting ahoy --count 2 --data [TMP]/echo/data.csv --out [TMP]/.aml/jobs/pc_custom/outputs/result --fail yes
    defaults Completed: python run.py --greeting hey --count 2 --data [TMP]/echo/data.csv --out [TMP]/.aml/jobs/pc_defaults/outputs/result 
    after_custom NotStarted: -
    ");
    assert_eq!(job["error"], "step(s) custom, after_custom did not complete");
}

#[test]
fn a_job_whose_runner_was_killed_shows_as_failed() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let mut runner = ws
        .command(&aml_train())
        .args(["run", "echo/sleep.yml", "--name", "orphan", "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let grandchild = wait_for(&ws.workspace().join("jobs/orphan/code/grandchild.pid"));
    runner.kill().unwrap(); // SIGKILL: no chance to record anything
    runner.wait().unwrap();
    let job = json(&ws.run(&aml_train(), &["show", "orphan", "-o", "json"]));
    assert_eq!(job["status"], "Failed");
    assert!(job["error"].as_str().unwrap().contains("ended without finishing it"), "{job}");
    // Nobody is left to stop what the job started; end exactly its processes (the script,
    // the grandchild's parent, and the grandchild) so the test leaves nothing behind.
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", grandchild.trim())).unwrap_or_default();
    let parent = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().nth(1)).unwrap_or("").to_string();
    for pid in [parent.as_str(), grandchild.trim()] {
        if !pid.is_empty() && pid != "1" {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
}

#[test]
fn hostile_job_and_experiment_names_are_refused_before_anything_is_written() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    let victim = ws.write("victim/precious.txt", "keep me");
    let job = std::fs::read_to_string(ws.path().join("echo/job.yml")).unwrap();
    for (flag, name) in [("--name", "../../victim"), ("--name", ""), ("--name", "."), ("--experiment-name", "../x")] {
        let out = ws.run(&aml_train(), &["run", "echo/job.yml", flag, name, "-q"]);
        assert_eq!(out.status.code(), Some(2), "{flag} {name:?}: {}", render(&out));
    }
    for field in ["name: ../../victim", "experiment_name: a/b", "name: ''"] {
        let kept: Vec<&str> =
            job.lines().filter(|l| !l.starts_with("name:") && !l.starts_with("experiment_name:")).collect();
        ws.write("echo/hostile.yml", &format!("{}\n{field}\n", kept.join("\n")));
        let out = ws.run(&aml_train(), &["run", "echo/hostile.yml", "-q"]);
        assert_eq!(out.status.code(), Some(2), "`{field}`: {}", render(&out));
        let field_name = field.split(':').next().unwrap();
        assert!(String::from_utf8_lossy(&out.stderr).contains(field_name), "{}", render(&out));
    }
    assert!(!ws.workspace().exists(), "bad input created the workspace");
    for verb in ["show", "logs", "metrics", "cancel"] {
        for name in ["../../victim", "", ".."] {
            let out = ws.run(&aml_train(), &[verb, name]);
            assert_eq!(out.status.code(), Some(2), "{verb} {name:?}: {}", render(&out));
        }
    }
    assert_eq!(std::fs::read_to_string(victim).unwrap(), "keep me");
}

#[test]
fn a_dangling_link_in_the_code_folder_is_bad_input_at_validate_and_run() {
    let ws = TestWorkspace::new();
    let echo = fixture(&ws);
    std::os::unix::fs::symlink(ws.path().join("gone/weights.bin"), echo.join("src/weights.bin")).unwrap();
    for verb in ["validate", "run"] {
        let out = ws.run(&aml_train(), &[verb, "echo/job.yml"]);
        assert_eq!(out.status.code(), Some(2), "{verb}: {}", render(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("weights.bin"), "{}", render(&out));
    }
    assert!(!ws.workspace().exists(), "bad input created the workspace");
}

#[test]
fn a_command_can_write_to_outputs_without_making_the_folder_as_on_azure() {
    let ws = TestWorkspace::new();
    fixture(&ws);
    ws.write(
        "echo/hello-world-output.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n\
         command: echo \"hello world\" > ./outputs/helloworld.txt\n\
         environment:\n  image: python:3.11-slim\n  conda_file: ./conda.yml\n",
    );
    let out = ws.run(&aml_train(), &["run", "echo/hello-world-output.yml", "--name", "hello", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let written = ws.workspace().join("jobs/hello/code/outputs/helloworld.txt");
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "hello world\n");
}

/// A loopback file server: GET /iris.csv with an ETag, 304 when asked with it; counts the
/// full answers and the conditional ones.
fn file_server(body: &'static str) -> (u16, std::sync::Arc<std::sync::Mutex<(u32, u32)>>) {
    let counts = std::sync::Arc::new(std::sync::Mutex::new((0, 0)));
    let seen = counts.clone();
    let port = aml_client::testing::http_server(move |head| {
        let head: Vec<String> = head.iter().map(|l| l.to_ascii_lowercase()).collect();
        let etag = vec![("ETag".to_string(), "\"v1\"".to_string())];
        if head.iter().any(|l| l.starts_with("if-none-match: \"v1\"")) {
            seen.lock().unwrap().1 += 1;
            (304, etag, String::new())
        } else if head.first().is_some_and(|l| l.starts_with("get /iris.csv")) {
            seen.lock().unwrap().0 += 1;
            (200, etag, body.to_string())
        } else {
            (404, Vec::new(), String::new())
        }
    })
    .unwrap();
    (port, counts)
}

#[test]
fn a_web_input_is_fetched_once_and_asked_again_only_whether_it_changed() {
    let ws = TestWorkspace::new();
    let (port, counts) = file_server("a,b\n1,2\n3,4\n");
    ws.write(
        "web.yml",
        &format!(
            "command: python -c \"import sys; print(sum(1 for _ in open(sys.argv[1])) - 1, 'rows')\" ${{{{inputs.iris}}}}\n\
             environment:\n  image: python\n\
             inputs:\n  iris:\n    type: uri_file\n    path: http://127.0.0.1:{port}/iris.csv?sv=1&sig=SECRET\n"
        ),
    );
    let first = ws.run(&aml_train(), &["run", "web.yml", "--name", "web-1", "-o", "json"]);
    assert_eq!(first.status.code(), Some(0), "{}", render(&first));
    assert!(render(&first).contains("2 rows"), "{}", render(&first));
    let job = json(&first);
    assert_eq!(job["status"], "Completed");
    // The lineage keeps the data's digest and the URL without its query (a SAS is a secret).
    assert_eq!(job["inputs"]["iris"]["value"], format!("http://127.0.0.1:{port}/iris.csv"));
    assert!(job["inputs"]["iris"]["digest"].as_str().unwrap().starts_with("sha256:"));
    let second = ws.run(&aml_train(), &["run", "web.yml", "--name", "web-2", "-o", "json"]);
    assert_eq!(second.status.code(), Some(0), "{}", render(&second));
    assert!(render(&second).contains("unchanged since it was fetched"), "{}", render(&second));
    assert_eq!(json(&second)["inputs"]["iris"]["digest"], job["inputs"]["iris"]["digest"]);
    assert_eq!(*counts.lock().unwrap(), (1, 1), "one full answer, then one conditional one");
    for output in [&first, &second] {
        assert!(!render(output).contains("SECRET"), "{}", render(output));
    }
    let stored = std::process::Command::new("grep").args(["-r", "SECRET"]).arg(ws.workspace()).output().unwrap();
    assert!(stored.stdout.is_empty(), "the SAS was written: {}", String::from_utf8_lossy(&stored.stdout));
    // A missing file is said with the status, before any job is recorded.
    ws.write(
        "missing.yml",
        &std::fs::read_to_string(ws.path().join("web.yml")).unwrap().replace("iris.csv", "nope.csv"),
    );
    let missing = ws.run(&aml_train(), &["run", "missing.yml", "--name", "web-3"]);
    assert_eq!(missing.status.code(), Some(2), "{}", render(&missing));
    assert!(render(&missing).contains("answered HTTP 404"), "{}", render(&missing));
    assert!(!ws.workspace().join("jobs/web-3").exists());
}

/// Run a job file to completion; its log.
fn completed_job_log(ws: &TestWorkspace, file: &str) -> String {
    let run = ws.run(&aml_train(), &["run", file, "-o", "json"]);
    assert_eq!(run.status.code(), Some(0), "{}", render(&run));
    let name = json(&run)["name"].as_str().unwrap().to_string();
    std::fs::read_to_string(ws.workspace().join("jobs").join(name).join("logs/std_log.txt")).unwrap()
}

/// On Azure ML each job starts in a fresh container: what one job's command pip-installs is
/// gone for the next. Locally the environment is cached and shared, so a job installs into a
/// layer of its own; the next job with the same environment does not see it.
#[test]
fn what_a_job_pip_installs_stays_with_that_job() {
    let ws = TestWorkspace::new();
    ws.write("conda.yml", "dependencies:\n  - python=3\n  - pip:\n    - six==1.16.0\n");
    let environment = "environment:\n  image: python:3.11-slim\n  conda_file: conda.yml\n";
    ws.write(
        "installs.yml",
        &format!("command: pip install -q pyjokes==0.8.3 && python -c \"import pyjokes, six; print('told', pyjokes.get_joke()[:0] + 'a joke')\"\n{environment}"),
    );
    ws.write(
        "next.yml",
        &format!("command: python -c \"import importlib.util as u, six; print('six', six.__version__, 'pyjokes', u.find_spec('pyjokes') is not None)\"\n{environment}"),
    );
    let log = completed_job_log(&ws, "installs.yml");
    assert!(log.contains("told a joke"), "{log}");

    let log = completed_job_log(&ws, "next.yml");
    assert!(log.contains("six 1.16.0 pyjokes False"), "the next job saw the first one's install: {log}");
}

/// A step input written as `{type, path: ${{parent.jobs.S.outputs.O}}}` binds to that output,
/// as the bare `${{parent.jobs.S.outputs.O}}` does; a step's `artifacts:` output with nothing
/// in it is Azure ML's default output, holding what the step wrote to `./outputs`.
#[test]
fn typed_bindings_and_the_default_artifacts_output_carry_a_steps_files() {
    let ws = TestWorkspace::new();
    ws.write(
        "pipeline.yml",
        "type: pipeline\n\
         jobs:\n\
         \x20 write:\n\
         \x20   command: mkdir -p ${{outputs.rows}} && echo 1,2 > ${{outputs.rows}}/part.csv && echo done > ./outputs/note.txt\n\
         \x20   environment:\n      image: python:3.11-slim\n\
         \x20   outputs:\n      rows:\n        type: uri_folder\n      artifacts:\n\
         \x20 read:\n\
         \x20   command: cat ${{inputs.rows}}/part.csv ${{inputs.artifacts}}/outputs/note.txt\n\
         \x20   environment:\n      image: python:3.11-slim\n\
         \x20   inputs:\n\
         \x20     rows:\n        type: uri_folder\n        path: ${{parent.jobs.write.outputs.rows}}\n\
         \x20     artifacts: ${{parent.jobs.write.outputs.artifacts}}\n",
    );
    let run = ws.run(&aml_train(), &["run", "pipeline.yml", "-o", "json"]);
    assert_eq!(run.status.code(), Some(0), "{}", render(&run));
    let name = json(&run)["name"].as_str().unwrap().to_string();
    let log =
        std::fs::read_to_string(ws.workspace().join("jobs").join(format!("{name}_read")).join("logs/std_log.txt"))
            .unwrap();
    assert_eq!(log, "1,2\ndone\n");
}
