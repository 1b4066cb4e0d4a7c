//! MLflow-style metric thresholds (`--metric rmse:lower,min_relative_change=0.01`): the rules
//! each flag stands for, lower- and higher-is-better, and the flags refused with what to write.
//! The rule language itself is tested where it lives (aml-core's `tests/rules.rs`).

use std::collections::BTreeMap;

use approval_gate::expr::Rule;
use approval_gate::threshold::parse_flag;

fn passes(flag: &str, candidate: f64, champion: f64) -> bool {
    let (name, gate) = parse_flag(flag).expect("flag parses");
    let (c, p) = (BTreeMap::from([(name.clone(), candidate)]), BTreeMap::from([(name.clone(), champion)]));
    gate.rules(&name)
        .iter()
        .all(|r| Rule::parse(r).expect("generated rule parses").evaluate(&c, &p).expect("rule evaluates"))
}

#[test]
fn lower_is_better_means_a_smaller_value_wins() {
    // Published gates have shipped this inverted: a lower rmse must pass, a higher fail.
    assert!(passes("rmse:lower", 50.0, 55.0));
    assert!(!passes("rmse:lower", 60.0, 55.0));
    assert!(passes("rmse:lower", 55.0, 55.0), "a tie is no worse");
    assert!(passes("rmse:lower,threshold=60", 59.0, 0.0));
    assert!(!passes("rmse:lower,threshold=60", 61.0, 0.0));
    assert!(passes("rmse:lower,min_absolute_change=2", 53.0, 55.0));
    assert!(!passes("rmse:lower,min_absolute_change=2", 53.5, 55.0));
    assert!(passes("rmse:lower,min_relative_change=0.01", 54.4, 55.0));
    assert!(!passes("rmse:lower,min_relative_change=0.01", 54.5, 55.0));
    assert!(!passes("rmse:lower,min_relative_change=0.01", 55.0, 55.0), "a tie is not an improvement");
}

#[test]
fn higher_is_better_mirrors_it() {
    assert!(passes("r2:higher", 0.5, 0.4));
    assert!(!passes("r2:higher", 0.3, 0.4));
    assert!(passes("r2:higher,threshold=0.35", 0.36, 0.0));
    assert!(!passes("r2:higher,threshold=0.35", 0.34, 0.0));
    assert!(passes("r2:higher,min_relative_change=0.1", 0.45, 0.4));
    assert!(!passes("r2:higher,min_relative_change=0.1", 0.43, 0.4));
    assert!(passes("r2:higher,min_absolute_change=0.05", 0.46, 0.4));
    assert!(!passes("r2:higher,min_absolute_change=0.05", 0.44, 0.4));
}

#[test]
fn bad_flags_say_what_to_write() {
    assert!(parse_flag("rmse").unwrap_err().contains("rmse:lower"));
    assert!(parse_flag("rmse:smaller").unwrap_err().contains("`lower`"));
    assert!(parse_flag("rmse:lower,treshold=3").unwrap_err().contains("did you mean `threshold`"));
    assert!(parse_flag("rmse:lower,threshold=x").unwrap_err().contains("not a number"));
    assert!(parse_flag("rmse:lower,min_relative_change=-1").unwrap_err().contains("0 or more"));
    assert!(parse_flag(":lower").unwrap_err().contains("is not a metric name"));
    assert!(parse_flag("val-rmse:lower").unwrap_err().contains("is not a metric name"));
}

#[test]
fn metric_names_take_underscores_and_changes_may_be_zero() {
    assert_eq!(parse_flag("val_rmse:lower").map(|(name, _)| name), Ok("val_rmse".to_string()));
    let (_, gate) = parse_flag("rmse:lower,min_absolute_change=0,min_relative_change=0").expect("zero is a change");
    assert_eq!((gate.min_absolute_change, gate.min_relative_change), (Some(0.0), Some(0.0)));
}
