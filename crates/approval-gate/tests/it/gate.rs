//! `approval-gate check` through the real binaries: models trained by real jobs, gates that
//! pass, fail, tie, force, lack a metric or a champion, champions read from an endpoint
//! that really serves them, decisions recorded where `aml-register show` finds them.

use aml_client::testing::{TestWorkspace, binary, json, render, repo_root};

fn gate(ws: &TestWorkspace, args: &[&str]) -> std::process::Output {
    ws.run(&binary("approval-gate"), args)
}

fn fixture() -> TestWorkspace {
    let ws = TestWorkspace::new();
    ws.copy_dir(&repo_root().join("crates/approval-gate/tests/fixtures/scored"), "scored");
    ws
}

/// Run the fixture job with these metrics as job `name`.
fn train(ws: &TestWorkspace, name: &str, rmse: f64, r2: f64) {
    let (rmse, r2) = (format!("inputs.rmse={rmse}"), format!("inputs.r2={r2}"));
    let out =
        ws.run(&binary("aml-train"), &["run", "scored/job.yml", "--name", name, "--set", &rmse, "--set", &r2, "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
}

/// Train and register; returns the version.
fn model(ws: &TestWorkspace, job: &str, rmse: f64, r2: f64) -> String {
    train(ws, job, rmse, r2);
    let out = ws.run(&binary("aml-register"), &["model", "--name", "scored", "--job", job, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    json(&out)["version"].as_str().unwrap().to_string()
}

fn audit_count(ws: &TestWorkspace, subject: &str) -> usize {
    let out = gate(ws, &["history", subject, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    json(&out).as_array().unwrap().len()
}

#[test]
fn a_better_candidate_passes_a_worse_one_fails_failures_first() {
    let ws = fixture();
    model(&ws, "champion", 55.0, 0.40);
    model(&ws, "better", 50.0, 0.45);
    model(&ws, "worse", 60.0, 0.30);
    let rules = ["--rule", "candidate.rmse <= champion.rmse * 1.02", "--rule", "candidate.r2 >= 0.35"];

    let pass = gate(
        &ws,
        &[&["check", "--candidate", "scored:2", "--champion", "scored:1", "-o", "json"], &rules[..]].concat(),
    );
    assert_eq!(pass.status.code(), Some(0), "{}", render(&pass));
    let decision = json(&pass);
    assert_eq!(decision["decision"], "pass");
    assert_eq!(decision["forced"], false);
    assert_eq!(decision["champion"]["reference"], "scored:1");
    assert_eq!(
        decision["rules"][0],
        serde_json::json!({
            "expression": "candidate.rmse <= champion.rmse * 1.02", "candidate": 50.0, "champion": 55.0, "passed": true,
            "values": {"candidate.rmse": 50.0, "champion.rmse": 55.0}
        })
    );

    let fail = gate(&ws, &[&["check", "--candidate", "scored:3", "--champion", "scored:1"], &rules[..]].concat());
    assert_eq!(fail.status.code(), Some(1), "a failed gate exits 1");
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&fail), @r"
    exit_code: 1
    ----- stdout -----
    gate FAILED: scored:3 vs scored:1
      FAIL  candidate.rmse <= champion.rmse * 1.02  candidate.rmse=60  champion.rmse=55
      FAIL  candidate.r2 >= 0.35                    candidate.r2=0.3
    recorded: audit entry 2 and on scored:3
    ----- stderr -----
    ")
    });

    // Recorded on the versions, where `aml-register show` shows them.
    let shown = json(&ws.run(&binary("aml-register"), &["show", "scored:3", "-o", "json"]));
    assert_eq!(shown["tags"]["gate.decision"], "fail");
    assert_eq!(shown["tags"]["gate.champion"], "scored:1");
    assert_eq!(shown["decisions"][0]["kind"], "gate");
    assert_eq!(shown["decisions"][0]["decision"], "fail");
    assert_eq!(shown["decisions"][0]["details"]["rules"][0]["passed"], false);
    assert_eq!(shown["decisions"][0]["by"], "tester");
    let text = render(&ws.run(&binary("aml-register"), &["show", "scored:2"]));
    assert!(text.contains("decision") && text.contains("gate pass vs scored:1 by tester"), "{text}");
}

#[test]
fn lower_is_better_ties_and_metric_thresholds() {
    let ws = fixture();
    model(&ws, "champion", 55.0, 0.40);
    model(&ws, "lower", 54.0, 0.40);
    model(&ws, "higher", 56.0, 0.40);
    let check = |candidate: &str, rules: &[&str]| -> (i32, serde_json::Value) {
        let out =
            gate(&ws, &[&["check", "--candidate", candidate, "--champion", "scored:1", "-o", "json"], rules].concat());
        (out.status.code().unwrap(), json(&out))
    };
    // Lower rmse is better: the lower candidate passes, the higher one fails, both ways of writing it.
    assert_eq!(check("scored:2", &["--metric", "rmse:lower"]).0, 0);
    assert_eq!(check("scored:3", &["--metric", "rmse:lower"]).0, 1);
    assert_eq!(check("scored:2", &["--rule", "candidate.rmse < champion.rmse"]).0, 0);
    assert_eq!(check("scored:3", &["--rule", "candidate.rmse < champion.rmse"]).0, 1);
    // A tie (the same metrics: same weights, so the same version comes back) is no worse, but no improvement.
    let (code, tie) = check("scored:1", &["--rule", "candidate.rmse <= champion.rmse"]);
    assert_eq!((code, tie["rules"][0]["passed"].as_bool()), (0, Some(true)));
    let (code, tie) = check("scored:1", &["--metric", "rmse:lower,min_relative_change=0.01"]);
    assert_eq!(
        (code, tie["rules"][0]["expression"].as_str()),
        (1, Some("candidate.rmse <= champion.rmse - 0.01 * abs(champion.rmse)"))
    );
    // 54 is 1.8% better than 55: enough for 1%, not for 2%; a threshold is absolute.
    assert_eq!(check("scored:2", &["--metric", "rmse:lower,min_relative_change=0.01"]).0, 0);
    assert_eq!(check("scored:2", &["--metric", "rmse:lower,min_relative_change=0.02"]).0, 1);
    assert_eq!(check("scored:3", &["--metric", "rmse:lower,threshold=57"]).0, 0);
    assert_eq!(check("scored:3", &["--metric", "rmse:lower,threshold=55.5"]).0, 1);
    assert_eq!(check("scored:2", &["--metric", "r2:higher,min_absolute_change=0.01"]).0, 1, "equal r2 is no gain");
}

#[test]
fn a_missing_metric_is_bad_input_and_nothing_is_recorded() {
    let ws = fixture();
    model(&ws, "champion", 55.0, 0.40);
    model(&ws, "candidate", 54.0, 0.40);
    let out = gate(
        &ws,
        &["check", "--candidate", "scored:2", "--champion", "scored:1", "--rule", "candidate.mae <= champion.mae"],
    );
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&out), @r"
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: rule `candidate.mae <= champion.mae` reads `candidate.mae`, but the candidate `scored:2` has no metric `mae`
    hint: it has: `r2`, `rmse`
    ")
    });
    let out = gate(
        &ws,
        &["check", "--candidate", "scored:2", "--champion", "scored:1", "--rule", "candidate.rmse <= champion.rsme"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        render(&out).contains(
            "the champion `scored:1` has no metric `rsme`\nhint: did you mean `champion.rmse`? it has: `r2`, `rmse`"
        ),
        "{}",
        render(&out)
    );
    assert_eq!(audit_count(&ws, "scored:2"), 0, "bad input records nothing");
}

#[test]
fn no_champion_is_decided_by_the_flag_and_said() {
    let ws = fixture();
    model(&ws, "first", 55.0, 0.40);
    let rules = ["--rule", "candidate.rmse <= champion.rmse", "--rule", "candidate.r2 >= 0.35"];
    let base = ["check", "--candidate", "scored:1", "--champion", "scored@stage=production"];
    let pass = gate(&ws, &[&base[..], &rules, &["--no-champion", "pass"]].concat());
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&pass), @r"
    exit_code: 0
    ----- stdout -----
    gate passed: scored:1 vs no champion: no version matches `scored@stage=production`; --no-champion pass
      skip  candidate.rmse <= champion.rmse  candidate.rmse=55  (needs a champion)
      pass  candidate.r2 >= 0.35             candidate.r2=0.4
    recorded: audit entry 1 and on scored:1
    ----- stderr -----
    ")
    });
    let fail = gate(&ws, &[&base[..], &rules, &["--no-champion", "fail", "-o", "json"]].concat());
    assert_eq!(fail.status.code(), Some(1));
    let decision = json(&fail);
    assert_eq!(decision["champion"], serde_json::Value::Null);
    assert_eq!(
        decision["no_champion"],
        serde_json::json!({"decision": "fail", "reason": "no version matches `scored@stage=production`"})
    );
    // Without the flag, no champion fails: the safe default.
    assert_eq!(gate(&ws, &[&base[..], &rules].concat()).status.code(), Some(1));
    // With no champion, the rules on the candidate alone still decide.
    let low = gate(&ws, &[&base[..], &["--rule", "candidate.r2 >= 0.5", "--no-champion", "pass"]].concat());
    assert_eq!(low.status.code(), Some(1), "{}", render(&low));
    // An exact version that does not exist is not "no champion": it is a mistake.
    let unknown = gate(
        &ws,
        &[
            "check",
            "--candidate",
            "scored:1",
            "--champion",
            "scored:9",
            "--rule",
            "candidate.r2 > 0",
            "--no-champion",
            "pass",
        ],
    );
    assert_eq!(unknown.status.code(), Some(2), "{}", render(&unknown));
    assert!(render(&unknown).contains("model `scored` has no version `scored:9`"), "{}", render(&unknown));
}

#[test]
fn a_job_is_gated_before_registration_and_the_decision_follows_the_model() {
    let ws = fixture();
    model(&ws, "champion", 55.0, 0.40);
    train(&ws, "next", 50.0, 0.45);
    let out = gate(
        &ws,
        &[
            "check",
            "--candidate",
            "job:next",
            "--champion",
            "scored@latest",
            "--rules",
            "scored/gate.yml",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let decision = json(&out);
    assert_eq!(decision["candidate"]["reference"], "job:next");
    assert_eq!(decision["candidate"]["version"], serde_json::Value::Null);
    let expressions: Vec<&str> =
        decision["rules"].as_array().unwrap().iter().map(|r| r["expression"].as_str().unwrap()).collect();
    assert_eq!(expressions, ["candidate.r2 >= 0.35", "candidate.rmse <= champion.rmse - 0.01 * abs(champion.rmse)"]);
    // Registered afterwards, the version shows the gate its job passed.
    let registered =
        json(&ws.run(&binary("aml-register"), &["model", "--name", "scored", "--job", "next", "-o", "json"]));
    let shown = json(&ws.run(&binary("aml-register"), &["show", registered["id"].as_str().unwrap(), "-o", "json"]));
    assert_eq!(shown["decisions"][0]["job"], "next");
    assert_eq!(shown["decisions"][0]["decision"], "pass");
    // A job that failed cannot be gated.
    let failed =
        ws.run(&binary("aml-train"), &["run", "scored/job.yml", "--name", "broken", "--set", "inputs.rmse=oops", "-q"]);
    assert_eq!(failed.status.code(), Some(1), "{}", render(&failed));
    let out = gate(&ws, &["check", "--candidate", "job:broken", "--rule", "candidate.r2 > 0", "--no-champion", "pass"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        render(&out).contains("job `broken` is Failed: only a completed job's metrics can be gated"),
        "{}",
        render(&out)
    );
}

#[test]
fn force_passes_a_failing_gate_and_records_the_override() {
    let ws = fixture();
    model(&ws, "champion", 55.0, 0.40);
    model(&ws, "worse", 60.0, 0.40);
    let out = gate(
        &ws,
        &[
            "check",
            "--candidate",
            "scored:2",
            "--champion",
            "scored:1",
            "--metric",
            "rmse:lower",
            "--force",
            "--reason",
            "hotfix for INC-42",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let decision = json(&out);
    assert_eq!(
        (decision["decision"].as_str(), decision["forced"].as_bool(), decision["reason"].as_str()),
        (Some("pass"), Some(true), Some("hotfix for INC-42"))
    );
    assert_eq!(decision["rules"][0]["passed"], false, "the rule still reads as failed");
    let shown = json(&ws.run(&binary("aml-register"), &["show", "scored:2", "-o", "json"]));
    assert_eq!(shown["tags"]["gate.forced"], "true");
    assert_eq!(shown["decisions"][0]["details"]["reason"], "hotfix for INC-42");
    // --force needs a reason.
    let out =
        gate(&ws, &["check", "--candidate", "scored:2", "--champion", "scored:1", "--metric", "rmse:lower", "--force"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_rules_point_at_the_column_or_the_line() {
    let ws = fixture();
    model(&ws, "champion", 55.0, 0.40);
    let out = gate(
        &ws,
        &["check", "--candidate", "scored:1", "--rule", "candidate.r2 >= 0.3", "--rule", "candidate.rmse <= * 1.02"],
    );
    ws.settings().bind(|| insta::assert_snapshot!("flag_rule_error", render(&out)));
    ws.write("bad-gate.yml", "rules:\n  - candidate.r2 >= 0.3\n  - candidate.rmse =< 60\nno_champion: pass\n");
    let out = gate(&ws, &["check", "--candidate", "scored:1", "--rules", "bad-gate.yml"]);
    ws.settings().bind(|| insta::assert_snapshot!("file_rule_error", render(&out)));
    ws.write("typo-gate.yml", "rules:\n  - candidate.r2 >= 0.3\nno_champoin: pass\n");
    let out = gate(&ws, &["check", "--candidate", "scored:1", "--rules", "typo-gate.yml"]);
    ws.settings().bind(|| insta::assert_snapshot!("file_field_error", render(&out)));
    let out = gate(&ws, &["check", "--candidate", "scored:1", "--metric", "rmse:smaller"]);
    ws.settings().bind(|| insta::assert_snapshot!("metric_flag_error", render(&out)));
    let out = gate(&ws, &["check", "--candidate", "scored:1"]);
    ws.settings().bind(|| insta::assert_snapshot!("no_rules", render(&out)));
    assert_eq!(audit_count(&ws, "scored:1"), 0, "bad input records nothing");
    // An endpoint that does not exist yet (the first deployment) is no champion, said as such.
    let out = gate(
        &ws,
        &[
            "check",
            "--candidate",
            "scored:1",
            "--champion",
            "endpoint:nowhere",
            "--rule",
            "candidate.r2 > 0",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", render(&out));
    assert_eq!(json(&out)["no_champion"]["reason"], "endpoint `nowhere` does not exist (no endpoints exist yet)");
}

#[test]
fn ci_gets_the_decision_the_exact_version_and_each_rules_values() {
    let ws = fixture();
    model(&ws, "champion", 55.0, 0.40);
    model(&ws, "better", 50.0, 0.45);
    let outputs = ws.path().join("github_output");
    let summary = ws.path().join("step_summary");
    let out = ws
        .command(&binary("approval-gate"))
        .args([
            "check",
            "--candidate",
            "scored@latest",
            "--champion",
            "scored:1",
            "--rule",
            "candidate.rmse <= champion.rmse",
            "--rule",
            "candidate.r2 >= 0.35",
        ])
        .env("AML_CI", "auto")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    insta::assert_snapshot!(std::fs::read_to_string(&outputs).unwrap(), @r"
    decision=pass
    champion=scored:1
    candidate=scored:2
    candidateModel=scored
    candidateVersion=2
    candidateJob=better
    forced=false
    rule1Passed=true
    rule1Candidate=50
    rule1Champion=55
    rule2Passed=true
    rule2Candidate=0.45
    rule2Champion=
    ");
    insta::assert_snapshot!(std::fs::read_to_string(&summary).unwrap(), @r"
    ### approval-gate: pass

    candidate `scored:2` vs champion `scored:1`

    | rule | candidate | champion | result |
    |---|---|---|---|
    | `candidate.rmse <= champion.rmse` | 50 | 55 | pass |
    | `candidate.r2 >= 0.35` | 0.45 | - | pass |
    ");
    // A failed gate fails the step with the tool's first line as the annotation.
    let out = ws
        .command(&binary("approval-gate"))
        .args(["check", "--candidate", "scored:1", "--champion", "scored:2", "--metric", "rmse:lower"])
        .env("AML_CI", "auto")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("::error::gate FAILED: scored:1 vs scored:2\n"),
        "{}",
        render(&out)
    );
}

#[test]
fn help_teaches_the_rule_language() {
    let output = TestWorkspace::new().run(&binary("approval-gate"), &["check", "--help"]);
    insta::assert_snapshot!(render(&output));
}

#[test]
fn hostile_rules_and_champions_are_refused_with_exit_2_and_record_nothing() {
    let ws = fixture();
    model(&ws, "champion", 55.0, 0.40);
    model(&ws, "candidate", 50.0, 0.45);
    let deep_parens = format!("{}candidate.rmse{} > 0", "(".repeat(10_000), ")".repeat(10_000));
    let deep_abs = format!("{}candidate.rmse{} > 0", "abs(".repeat(10_000), ")".repeat(10_000));
    let nested = format!("{}candidate.rmse{} > 0", "(".repeat(100), ")".repeat(100));
    let negated = format!("{}candidate.rmse > 0", "not ".repeat(100));
    let long = vec!["candidate.rmse > 0"; 600].join(" and ");
    let bad_rules = [
        (deep_parens.as_str(), "longer than"),
        (deep_abs.as_str(), "longer than"),
        (nested.as_str(), "nests deeper"),
        (negated.as_str(), "nests deeper"),
        (long.as_str(), "longer than"),
        ("1/0 > 0", "divides by zero"),
        ("candidate.rmse / (champion.rmse - champion.rmse) > 1", "divides by zero"),
    ];
    for (rule, says) in bad_rules {
        let out = gate(&ws, &["check", "--candidate", "scored:2", "--champion", "scored:1", "--rule", rule]);
        let shown = render(&out);
        assert_eq!(out.status.code(), Some(2), "{}", &shown[..shown.len().min(2000)]);
        assert!(shown.contains(says), "{}", &shown[..shown.len().min(2000)]);
    }
    for champion in ["endpoint:", "endpoint:../..", "endpoint:a/b", "../scored:1"] {
        let out =
            gate(&ws, &["check", "--candidate", "scored:2", "--champion", champion, "--rule", "candidate.r2 > 0"]);
        assert_eq!(out.status.code(), Some(2), "--champion {champion}: {}", render(&out));
    }
    assert_eq!(audit_count(&ws, "scored:2"), 0, "bad input records nothing");
}
