//! Properties every parser of user input keeps, over generated input: no panic, no stack
//! overflow, and what is accepted is safe to use (a name is one path segment, a relative
//! path stays inside its folder, a duration is bounded, a split adds up).

use std::collections::BTreeMap;
use std::path::{Component, Path};

use proptest::prelude::*;

use crate::names::{NameKind, relative_path};

const KINDS: [NameKind; 12] = [
    NameKind::Endpoint,
    NameKind::Deployment,
    NameKind::Job,
    NameKind::Experiment,
    NameKind::Model,
    NameKind::Environment,
    NameKind::Component,
    NameKind::Data,
    NameKind::Datastore,
    NameKind::Output,
    NameKind::Version,
    NameKind::TagKey,
];

/// Text a hostile user types: path pieces, dots, separators, controls, long runs, anything.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._/\\-]{0,40}",
        "(\\.\\./|\\./|/|\\.|[a-z]{1,3}){0,12}",
        any::<String>(),
        "[a-z]{250,300}",
        Just(String::new()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn an_accepted_name_is_one_plain_path_segment(text in hostile(), kind in 0..KINDS.len()) {
        let kind = KINDS[kind];
        let verdict = kind.check(&text);
        if verdict.is_ok() && kind != NameKind::TagKey && kind != NameKind::Output {
            let components: Vec<Component> = Path::new(&text).components().collect();
            prop_assert_eq!(components.len(), 1, "{} `{}`", kind.what(), text);
            prop_assert!(matches!(components[0], Component::Normal(_)), "{} `{}`", kind.what(), text);
            prop_assert!(text.len() <= 255 && !text.contains('\0'));
        }
        if let Err(message) = verdict {
            prop_assert!(message.contains(kind.what()), "the message does not say what was wrong: {message}");
        }
    }

    #[test]
    fn an_accepted_relative_path_stays_inside_its_folder(text in hostile()) {
        if let Ok(path) = relative_path(&text) {
            prop_assert!(path.components().all(|c| matches!(c, Component::Normal(_))), "`{}`", text);
            prop_assert!(Path::new("/base").join(&path).starts_with("/base"));
        }
    }

    #[test]
    fn a_duration_parses_or_says_why_and_is_bounded(text in prop_oneof![
        "[0-9]{1,30}(ms|s|m|h|d)?",
        "[0-9.e+\\-]{1,12}(ms|s|m|h|d)",
        any::<String>(),
    ]) {
        match crate::duration::parse(&text) {
            Ok(duration) => prop_assert!(duration <= std::time::Duration::from_secs(30 * 24 * 3600)),
            Err(message) => prop_assert!(!message.is_empty()),
        }
    }

    #[test]
    fn a_model_reference_parses_to_checked_parts_or_is_refused(text in prop_oneof![
        "[a-z./]{0,10}(:|@)[a-z0-9./=]{0,10}",
        hostile(),
    ]) {
        if let Ok(reference) = text.parse::<crate::refs::ModelRef>() {
            // The name, version and tag key are checked; a tag's value is free text, as in Azure ML.
            let checked = match &reference.selector {
                crate::model::VersionSelector::Exact(version) => format!("{} {version}", reference.name),
                crate::model::VersionSelector::Tag { key, .. } => format!("{} {key}", reference.name),
                crate::model::VersionSelector::Latest => reference.name.clone(),
            };
            prop_assert!(!checked.contains("../") && !checked.contains('/'), "{reference:?}");
        }
        let _ = crate::refs::DataRef::parse(&text);
    }

    #[test]
    fn a_set_flag_parses_or_is_refused(text in prop_oneof!["[a-z.]{0,12}=[ -~]{0,20}", any::<String>()]) {
        let _ = text.parse::<crate::yaml::SetArg>();
    }

    #[test]
    fn a_traffic_split_that_passes_adds_up_and_names_only_deployments(
        split in proptest::collection::btree_map("[a-z]{1,6}", 0u32..=150, 0..5),
    ) {
        let deployments = ["blue", "green", "red"];
        if crate::online::check_traffic(&split, &deployments).is_ok() {
            let total: u32 = split.values().sum();
            prop_assert!(total == 100 || total == 0, "{split:?}");
            prop_assert!(split.keys().all(|k| deployments.contains(&k.as_str())));
        }
    }

    #[test]
    fn any_yaml_file_loads_or_is_refused_with_the_file_named(text in prop_oneof![
        "(name|endpoint_name|model|code_configuration|traffic|instance_count): [ -~]{0,20}\n{0,3}",
        any::<String>(),
    ]) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("spec.yml");
        std::fs::write(&file, &text).unwrap();
        if let Err(error) = crate::yaml::deploy_file::load_online(&file, &[]) {
            prop_assert!(error.to_string().contains("spec.yml"), "{error}");
        }
    }
}

#[test]
fn deeply_nested_yaml_is_refused_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep.yml");
    for text in [format!("name: {}x{}\n", "[".repeat(10_000), "]".repeat(10_000)), "- ".repeat(5_000)] {
        std::fs::write(&file, text).unwrap();
        assert!(crate::yaml::deploy_file::load_online(&file, &[]).is_err());
    }
}

#[test]
fn a_split_with_unknown_deployments_is_refused() {
    let split = BTreeMap::from([("../x".to_string(), 100)]);
    assert!(crate::online::check_traffic(&split, &["blue"]).is_err());
}

/// Text an ARM template's author (or a broken file) gives an expression: function calls,
/// quotes, brackets and dots in any order.
fn template_expression() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\[[a-z(),'.\\[\\] 0-9-]{0,60}\\]",
        "\\[(concat\\(|format\\(|parameters\\('p'\\)|variables\\('v'\\)|'x'|,|\\)|\\.a|\\[0\\]){0,30}\\]",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn an_arm_expression_evaluates_or_is_refused_without_a_panic(text in template_expression()) {
        let parameters = BTreeMap::from([("p".to_string(), crate::arm_template::expr::Value::Str("mlops".into()))]);
        let serde_json::Value::Object(variables) = serde_json::json!({"v": "[concat(parameters('p'), variables('v'))]"}) else {
            return Err(TestCaseError::fail("variables"));
        };
        let scope = crate::arm_template::expr::Scope::new(&parameters, &variables);
        let _ = scope.value(&serde_json::Value::String(text));
    }
}
