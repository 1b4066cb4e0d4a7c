//! The rule language of gates and rollout analyses, through the library's API: precedence,
//! functions, errors at their column, the metrics a rule reads, numbers as people write
//! them, and any text parsed and evaluated or refused without a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is the test failing

use std::collections::BTreeMap;

use aml_core::rules::Rule;

fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn check(rule: &str, candidate: &[(&str, f64)], champion: &[(&str, f64)]) -> bool {
    Rule::parse(rule).expect("rule parses").evaluate(&metrics(candidate), &metrics(champion)).expect("rule evaluates")
}

#[test]
fn lower_is_better_within_a_margin() {
    let rule = "candidate.rmse <= champion.rmse * 1.02";
    assert!(check(rule, &[("rmse", 50.0)], &[("rmse", 55.0)]), "a lower rmse is better");
    assert!(check(rule, &[("rmse", 56.0)], &[("rmse", 55.0)]), "within 2% worse still passes");
    assert!(!check(rule, &[("rmse", 57.0)], &[("rmse", 55.0)]), "over 2% worse fails");
}

#[test]
fn precedence_and_functions() {
    assert!(check("1 + 2 * 3 == 7", &[], &[]));
    assert!(check("(1 + 2) * 3 == 9", &[], &[]));
    assert!(check("-2 * -3 == 6", &[], &[]));
    assert!(check("abs(candidate.a - champion.a) < 0.1", &[("a", 1.0)], &[("a", 1.05)]));
    assert!(check(
        "candidate.a > 1 or candidate.a < 0 and candidate.a > 5 or not candidate.a == 0.5",
        &[("a", 2.0)],
        &[]
    ));
    assert!(check("1e-3 < 0.01 && 2.5E2 == 250", &[], &[]));
    // A division by zero (or any result that is not a finite number) decides nothing: the
    // rule cannot be evaluated, and the error names the part that did it.
    for (rule, operand) in [
        ("candidate.a / 0 > 0", "`candidate.a / 0` divides by zero (`0` is 0)"),
        ("candidate.a / (champion.a - champion.a) > 1", "`candidate.a / (champion.a - champion.a)` divides by zero"),
        ("candidate.a * 1e308 * 10 > 0", "is inf, not a finite number"),
    ] {
        let error = Rule::parse(rule)
            .unwrap()
            .evaluate(&metrics(&[("a", 2.0)]), &metrics(&[("a", 0.5)]))
            .expect_err(rule)
            .to_string();
        assert!(error.contains(operand), "{rule}: {error}");
    }
}

#[test]
fn errors_point_at_the_column() {
    let error = |rule: &str| Rule::parse(rule).expect_err("rule is rejected");
    assert_eq!(error("candidate.rmse <= * 1.02").column, 19);
    assert_eq!(error("candidate.rmse = 3").column, 16);
    assert!(error("candidate.rmse = 3").message.contains("`==`"));
    assert_eq!(error("candidate.rmse").column, 1);
    assert!(error("candidate.rmse").message.contains("comparison"));
    assert_eq!(error("candidat.rmse < 3").message, "unknown word `candidat`; did you mean `candidate`?");
    assert_eq!(error("1 < 2 < 3").column, 7);
    assert_eq!(error("(1 < 2").column, 7);
    assert_eq!(error("candidate.r2 >= 0.3 and 4").column, 25);
    assert_eq!(error("candidate. < 3").column, 12);
    assert_eq!(error("  ").column, 1);
}

#[test]
fn metrics_are_listed_once_in_order() {
    let rule =
        Rule::parse("candidate.rmse <= champion.rmse and candidate.rmse < 60 and champion.r2 > 0").expect("parses");
    let names: Vec<String> = rule.metrics().iter().map(|m| format!("{}.{}", m.side, m.name)).collect();
    assert_eq!(names, ["candidate.rmse", "champion.rmse", "champion.r2"]);
    assert!(rule.uses_champion());
}

mod properties {
    use super::metrics;
    use aml_core::rules::Rule;
    use proptest::prelude::*;

    /// Rules made of the language's own words in any order, nested, and plain noise.
    fn rule_text() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            Just("candidate.rmse"),
            Just("champion.rmse"),
            Just("candidate.r2"),
            Just("abs("),
            Just("("),
            Just(")"),
            Just("<="),
            Just(">"),
            Just("=="),
            Just("!="),
            Just("and"),
            Just("or"),
            Just("not"),
            Just("&&"),
            Just("*"),
            Just("/"),
            Just("-"),
            Just("+"),
            Just("0"),
            Just("1e308"),
            Just("0.5"),
        ];
        prop_oneof![
            proptest::collection::vec(word, 0..60).prop_map(|words| words.join(" ")),
            (1usize..300).prop_map(|depth| format!("{}candidate.rmse{} > 0", "(".repeat(depth), ")".repeat(depth))),
            any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn any_rule_parses_and_evaluates_or_says_where_it_is_wrong(
            text in rule_text(),
            rmse in prop_oneof![Just(0.0), Just(f64::MAX), -1e6f64..1e6],
            r2 in -1.0f64..1.0,
        ) {
            match Rule::parse(&text) {
                Ok(rule) => {
                    let values = metrics(&[("rmse", rmse), ("r2", r2)]);
                    // A verdict, or an error naming the part that cannot be computed: never a panic.
                    if let Err(error) = rule.evaluate(&values, &values) {
                        prop_assert!(!error.operand.is_empty());
                    }
                }
                Err(error) => {
                    prop_assert!(error.column >= 1 && error.column <= text.chars().count() + 1, "column {} of `{text}`", error.column);
                    prop_assert!(!error.message.is_empty());
                }
            }
        }
    }
}

/// Numbers as people write them in rules: a leading dot, and an `e` that is not an exponent
/// (the rule then names what follows as a word, at its column), never a crash at the end.
#[test]
fn numbers_with_a_leading_dot_or_a_dangling_exponent() {
    assert!(check(".5 + .25 == 0.75", &[], &[]));
    assert!(check("candidate.r2 >= .35", &[("r2", 0.4)], &[]));
    let error = |rule: &str| Rule::parse(rule).expect_err("rule is rejected");
    for (rule, column) in [("1 < 2e", 6), ("1 < 2e+", 6), ("1 < 2E-", 6), ("2ex < 1", 2)] {
        let refused = error(rule);
        assert_eq!(refused.column, column, "{rule}: {}", refused.message);
    }
}
