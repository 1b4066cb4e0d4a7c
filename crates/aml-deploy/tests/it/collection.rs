//! Model data collection on a local endpoint, with the diabetes example's production
//! deployment as written: its score.py collects `model_inputs` and `model_outputs` through
//! PyPI azureml-ai-monitoring's `Collector`, unchanged; the endpoint logs `request` and
//! `response`. Files and lines are held to what Azure ML documents.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aml_client::testing::{TestWorkspace, binary, block_on, json, render, settings};
use aml_client::{Access, Workspace};
use serde_json::Value;

use crate::deploy::{raw_exchange, wait_until};
use crate::diabetes::{Cleanup, ok};

const COLLECTIONS: [&str; 4] = ["request", "response", "model_inputs", "model_outputs"];
/// The keys Azure ML documents for every collected line.
const KEYS: [&str; 7] = ["specversion", "id", "source", "type", "datacontenttype", "time", "data"];

/// Every collected file under `folder`, as (path relative to it, its lines).
fn collected(folder: &Path) -> Vec<(String, Vec<Value>)> {
    fn walk(dir: &Path, into: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, into);
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                into.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(folder, &mut files);
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let lines = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            (file.strip_prefix(folder).unwrap().display().to_string(), lines)
        })
        .collect()
}

/// The lines of a collection whose call id starts with `prefix`, by call id.
fn lines_by_call(folder: &Path, collection: &str, prefix: &str) -> BTreeMap<String, Vec<Value>> {
    let mut calls: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (_, lines) in collected(&folder.join(collection)) {
        for line in lines {
            let id = line["xrequestid"].as_str().unwrap_or_default().to_string();
            if id.starts_with(prefix) {
                calls.entry(id).or_default().push(line);
            }
        }
    }
    calls
}

fn score(port: u16, key: &str, call: &str, body: &str) -> String {
    let answer = raw_exchange(
        port,
        format!(
            "POST /score HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {key}\r\nx-request-id: {call}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{call}: {answer}");
    answer.split("\r\n\r\n").nth(1).unwrap_or_default().to_string()
}

#[test]
fn every_call_is_collected_once_per_collection_tied_by_its_request_id_and_sampled_as_configured() {
    let ws = TestWorkspace::new();
    ws.copy_example("diabetes");
    let _cleanup = Cleanup(&ws);
    ok(ws.run(&binary("aml-train"), &["run", "diabetes/job.yml", "--name", "train-1", "-q"]));
    ok(ws.run(&binary("aml-register"), &["model", "-f", "diabetes/model.yml", "--job", "train-1"]));
    ok(ws.run(&binary("aml-deploy"), &["apply", "-f", "diabetes/endpoint-prod.yml"]));
    let prod = ["apply", "-f", "diabetes/deployment-prod.yml", "--set", "model=azureml:diabetes:1", "-q"];
    // A collection score.py fills but the YAML leaves off: said in the log at the first call.
    let off = [&prod[..], &["--set", "data_collector.collections.model_inputs.enabled='False'"]].concat();
    ok(ws.run(&binary("aml-deploy"), &off));

    let location = format!("local:{}", ws.workspace().display());
    let access = block_on(async {
        let mut opened = Workspace::open(&location, Access::Existing, &settings()).await?;
        opened.endpoint_access("diabetes").await
    })
    .unwrap();
    let port: u16 = access.scoring_uri.rsplit_once(':').unwrap().1.trim_end_matches("/score").parse().unwrap();
    let folder = ws.workspace().join("datastores/workspaceblobstore/modelDataCollector/diabetes/green");
    let one = r#"{"data": [[59, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87]]}"#;
    score(port, &access.key, "first-call", one);
    let logs = ok(ws.run(&binary("aml-deploy"), &["logs", "diabetes", "green"]));
    let log = String::from_utf8_lossy(&logs.stdout);
    assert!(log.contains("data collection: collection model_inputs is not enabled"), "{log}");
    ok(ws.run(&binary("aml-deploy"), &prod));

    let mut answers = BTreeMap::new();
    for i in 0..100 {
        let call = format!("call-{i:03}");
        let body = format!(r#"{{"data": [[{}, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87]]}}"#, 40 + i % 30);
        answers.insert(call.clone(), (body.clone(), score(port, &access.key, &call, &body)));
    }
    wait_until("100 lines in each collection", || {
        COLLECTIONS.iter().all(|c| lines_by_call(&folder, c, "call-").values().map(Vec::len).sum::<usize>() >= 100)
    });
    // Let anything late land before counting exactly.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let calls: BTreeSet<String> = answers.keys().cloned().collect();
    for collection in COLLECTIONS {
        let by_call = lines_by_call(&folder, collection, "call-");
        assert_eq!(by_call.keys().cloned().collect::<BTreeSet<_>>(), calls, "{collection}: one call each");
        assert!(by_call.values().all(|lines| lines.len() == 1), "{collection}: exactly one line per call");
        for (call, lines) in &by_call {
            let line = &lines[0];
            for key in KEYS {
                assert!(!line[key].is_null(), "{collection} line without `{key}`: {line}");
            }
            assert_eq!(line["specversion"], "1.0");
            assert_eq!(line["type"], format!("azureml.inference.{collection}"));
            assert_eq!(line["correlationid"], line["xrequestid"], "{line}");
            assert!(line["source"].as_str().unwrap().ends_with("/onlineEndpoints/diabetes/deployments/green"));
            let time = line["time"].as_str().unwrap();
            assert!(time.len() == 20 && time.ends_with('Z'), "RFC 3339 in whole seconds: {time}");
            let range = line["contentrange"].as_str().unwrap();
            assert!(range.starts_with("bytes 0-"), "{range}");
            let (body, answer) = &answers[call];
            match collection {
                "request" => {
                    assert_eq!(line["data"], serde_json::from_str::<Value>(body).unwrap());
                    assert_eq!((line["method"].as_str(), line["path"].as_str()), (Some("POST"), Some("/score")));
                }
                "response" => assert_eq!(line["data"], serde_json::from_str::<Value>(answer).unwrap()),
                "model_inputs" => {
                    let row = &line["data"][0];
                    let age = serde_json::from_str::<Value>(body).unwrap()["data"][0][0].as_f64();
                    assert_eq!(row["age"].as_f64(), age, "{line}");
                    assert_eq!(line["collectdatatype"], "pandas.core.frame.DataFrame");
                    assert!(line["agent"].as_str().unwrap().starts_with("azureml-ai-monitoring/"), "{line}");
                }
                _ => {
                    // pandas writes JSON numbers with 10 decimals, as on Azure ML.
                    let predicted = serde_json::from_str::<Value>(answer).unwrap()[0].as_f64().unwrap();
                    let collected = line["data"][0]["progression"].as_f64().unwrap();
                    assert!((collected - predicted).abs() < 1e-9, "{predicted}: {line}");
                }
            }
        }
    }
    // Each file sits in the hour folder of the lines it holds (rolling_rate: hour).
    for collection in COLLECTIONS {
        for (relative, lines) in collected(&folder.join(collection)) {
            let hour: String = relative.split('/').take(4).collect::<Vec<_>>().join("/");
            for line in lines {
                let time = line["time"].as_str().unwrap();
                let expected = format!("{}/{}/{}/{}", &time[0..4], &time[5..7], &time[8..10], &time[11..13]);
                assert_eq!(hour, expected, "{relative}: {line}");
            }
        }
    }
    let shown = json(&ok(ws.run(
        &binary("aml-deploy"),
        &["collected", "diabetes", "green", "model_inputs", "--since", "1h", "-o", "json"],
    )));
    assert_eq!(shown["count"], 100, "{shown}");
    let mut first = shown["lines"][0].clone();
    for volatile in ["id", "time", "correlationid", "xrequestid", "data", "contentrange"] {
        first[volatile] = "[redacted]".into();
    }
    insta::assert_json_snapshot!(first, @r#"
    {
      "agent": "azureml-ai-monitoring/1.0.0",
      "collectdatatype": "pandas.core.frame.DataFrame",
      "contentrange": "[redacted]",
      "correlationid": "[redacted]",
      "data": "[redacted]",
      "datacontenttype": "application/json",
      "id": "[redacted]",
      "modelversion": "default",
      "source": "/workspaces/local/onlineEndpoints/diabetes/deployments/green",
      "specversion": "1.0",
      "time": "[redacted]",
      "type": "azureml.inference.model_inputs",
      "xrequestid": "[redacted]"
    }
    "#);
    let unknown = ws.run(&binary("aml-deploy"), &["collected", "diabetes", "green", "features"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", render(&unknown));

    // A quarter of the calls, the same ones in every collection.
    let sampled = [&prod[..], &["--set", "data_collector.sampling_rate=0.25"]].concat();
    ok(ws.run(&binary("aml-deploy"), &sampled));
    let body = r#"{"data": [[59, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87]]}"#;
    for i in 0..2000 {
        score(port, &access.key, &format!("sample-{i:04}"), body);
    }
    let counts = || COLLECTIONS.map(|c| lines_by_call(&folder, c, "sample-").len());
    wait_until("the collections to agree", || {
        let seen = counts();
        seen[0] > 0 && seen.iter().all(|n| *n == seen[0])
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let seen = counts();
    assert!(seen.iter().all(|n| (440..=560).contains(n)), "500 ± 60 lines of 2000 calls in each: {seen:?}");
    let ids: Vec<BTreeSet<String>> =
        COLLECTIONS.iter().map(|c| lines_by_call(&folder, c, "sample-").into_keys().collect()).collect();
    assert!(ids.iter().all(|set| *set == ids[0]), "one call is kept or dropped in every collection alike");
}
