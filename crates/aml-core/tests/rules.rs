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

/// Each spelling of an operator is read as what it says: `!=` beside `==`, `||` beside `or`.
#[test]
fn each_spelling_of_an_operator_is_read() {
    assert!(check("1 != 2", &[], &[]));
    assert!(!check("1 != 1", &[], &[]));
    assert!(check("1 > 2 || 2 > 1", &[], &[]));
    assert!(!check("1 > 2 || 2 > 3", &[], &[]));
}

/// An error says what it found where it expected something else.
#[test]
fn an_error_names_what_it_found() {
    let error = |rule: &str| Rule::parse(rule).expect_err("rule is rejected").message;
    assert!(error("(1 < 2").contains("found the end of the rule"), "{}", error("(1 < 2"));
    assert!(error("(1 < 2 3").contains("found `3`"), "{}", error("(1 < 2 3"));
}

/// Nesting is bounded by how deep a rule goes, not by how many groups it has: 64 levels
/// parse and 65 do not, while a hundred shallow groups, negations or `not`s side by side
/// parse.
#[test]
fn nesting_is_bounded_by_depth_not_by_count() {
    let nested = |levels: usize| format!("{}1{} > 0", "(".repeat(levels), ")".repeat(levels));
    assert!(Rule::parse(&nested(64)).is_ok());
    let refused = Rule::parse(&nested(65)).expect_err("65 levels are refused");
    assert!(refused.message.contains("deeper than 64"), "{}", refused.message);
    let side_by_side = |unit: &str, join: &str| vec![unit; 100].join(join);
    assert!(check(&format!("{} == 100", side_by_side("(1)", " + ")), &[], &[]));
    assert!(check(&format!("{} == -100", side_by_side("-1", " + ")), &[], &[]));
    assert!(check(&side_by_side("not 1 > 2", " and "), &[], &[]));
    assert!(check(&format!("{} == 100", side_by_side("abs(-1)", " + ")), &[], &[]));
}

/// Each operator computes what it says, at its boundary and on both sides of it.
#[test]
fn each_operator_computes_what_it_says() {
    let table = [
        ("1 < 2", true),
        ("2 < 2", false),
        ("3 < 2", false),
        ("1 <= 2", true),
        ("2 <= 2", true),
        ("3 <= 2", false),
        ("1 > 2", false),
        ("2 > 2", false),
        ("3 > 2", true),
        ("1 >= 2", false),
        ("2 >= 2", true),
        ("3 >= 2", true),
        ("2 == 2", true),
        ("1 == 2", false),
        ("2 != 2", false),
        ("not 1 < 2", false),
        ("not 2 < 1", true),
        ("not not 1 < 2", true),
        ("-3 + 5 == 2", true),
        ("-(2 - 5) == 3", true),
        ("7 / 2 == 3.5", true),
        ("7 - 2 == 5", true),
        ("7 * 2 == 14", true),
        ("7 + 2 == 9", true),
        ("abs(-3) == 3", true),
        ("1 < 2 and 2 < 1", false),
        ("1 < 2 and 2 < 3", true),
        ("1 < 2 or 2 < 1", true),
        ("2 < 1 or 3 < 2", false),
    ];
    for (rule, expected) in table {
        assert_eq!(check(rule, &[], &[]), expected, "{rule}");
    }
}

/// Whether a rule needs a champion is whether it names one.
#[test]
fn a_rule_needs_a_champion_only_when_it_names_one() {
    assert!(!Rule::parse("candidate.r2 > 0.3").expect("parses").uses_champion());
    assert!(Rule::parse("champion.r2 > 0.3").expect("parses").uses_champion());
    assert!(Rule::parse("candidate.r2 > champion.r2").expect("parses").uses_champion());
}

/// A rule of at most 1000 words and symbols parses; one more is refused at that symbol's column.
#[test]
fn a_rule_is_at_most_a_thousand_words_and_symbols() {
    let sum = |ones: usize| vec!["1"; ones].join(" + ");
    // `-` + 499 ones with 498 `+` + `>` `0`: 1000 tokens.
    let longest = format!("-{} > 0", sum(499));
    assert!(Rule::parse(&longest).is_ok());
    // 500 ones with 499 `+` + `>` `0`: 1001 tokens.
    let too_long = format!("{} > 0", sum(500));
    let refused = Rule::parse(&too_long).expect_err("1001 tokens are refused");
    assert!(refused.message.contains("longer than 1000"), "{}", refused.message);
    assert_eq!(refused.column, too_long.chars().count(), "the 1001st token is the final `0`");
    assert!(refused.to_string().starts_with(&format!("column {}: the rule is longer", refused.column)));
}
