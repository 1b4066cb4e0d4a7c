//! Gathering a gate's rules from flags and a rules file, parsed whole before anything is
//! opened, with errors that point at the flag or the file's line and column.

use std::collections::BTreeMap;
use std::path::Path;

use aml_client::error::BadInput;
use aml_client::{Error, Result};
use serde::Deserialize;

use crate::cli::{CheckArgs, NoChampion};
use crate::threshold::{self, MetricThreshold};
use aml_client::rules::{ParseError, Rule};

/// `gate.yml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    metrics: BTreeMap<String, MetricThreshold>,
    no_champion: Option<NoChampion>,
}

pub struct Gate {
    pub rules: Vec<Rule>,
    pub no_champion: NoChampion,
}

/// The rule with a caret under the column, for an error message.
fn pointed(text: &str, error: &ParseError) -> String {
    // A long rule is shown as the stretch around the column, so the caret stays on screen.
    const SHOWN: usize = 60;
    let chars: Vec<char> = text.chars().collect();
    let at = error.column.saturating_sub(1).min(chars.len());
    let start = at.saturating_sub(SHOWN);
    let end = (at + SHOWN).min(chars.len());
    let (before, after) = (if start > 0 { "…" } else { "" }, if end < chars.len() { "…" } else { "" });
    let shown: String = chars[start..end].iter().collect();
    let caret = " ".repeat(at - start + before.chars().count());
    format!("{}\n    {before}{shown}{after}\n    {caret}^", error.message)
}

const RULE_HINT: &str = "rules read like `candidate.rmse <= champion.rmse * 1.02`: numbers, candidate.NAME, champion.NAME, + - * /, abs(), < <= > >= == !=, not, and, or";

fn from_flag(index: usize, text: &str) -> Result<Rule> {
    Rule::parse(text).map_err(|e| {
        Error::usage(format!("`--rule` {} (column {}): {}", index + 1, e.column, pointed(text, &e)), RULE_HINT)
    })
}

fn from_file(path: &Path, source: &str, text: &str) -> Result<Rule> {
    Rule::parse(text).map_err(|e| {
        // Point into the file: the line holding the rule, and the column within it.
        let found = source
            .lines()
            .enumerate()
            .find_map(|(n, line)| line.find(text).map(|at| (n + 1, line[..at].chars().count() + e.column)));
        Error::BadInput(Box::new(BadInput {
            file: Some(path.to_path_buf()),
            line: found.map(|f| f.0),
            column: found.map(|f| f.1),
            field: Some("rules".into()),
            problem: pointed(text, &e),
            hint: Some(RULE_HINT.into()),
        }))
    })
}

pub fn gather(args: &CheckArgs) -> Result<Gate> {
    let mut rules = Vec::new();
    let mut no_champion = None;
    for (index, text) in args.rules.iter().enumerate() {
        rules.push(from_flag(index, text)?);
    }
    for spec in &args.metrics {
        let (name, gate) = threshold::parse_flag(spec).map_err(|problem| {
            Error::usage(
                format!("`--metric {spec}`: {problem}"),
                "write `--metric NAME:lower|higher[,threshold=N][,min_absolute_change=N][,min_relative_change=N]`",
            )
        })?;
        for text in gate.rules(&name) {
            rules.push(from_flag(rules.len(), &text)?);
        }
    }
    if let Some(path) = &args.rules_file {
        let source = aml_client::yaml::read(path)?;
        let file: RulesFile = aml_client::yaml::parse(path, &source)?;
        for text in &file.rules {
            rules.push(from_file(path, &source, text)?);
        }
        for (name, gate) in &file.metrics {
            gate.check().map_err(|problem| {
                Error::in_file(path, Some(&format!("metrics.{name}")), problem, "see `approval-gate check --help`")
            })?;
            for text in gate.rules(name) {
                rules.push(from_file(path, &source, &text)?);
            }
        }
        no_champion = file.no_champion;
    }
    if rules.is_empty() {
        return Err(Error::usage(
            "the gate has no rules",
            "give `--rule 'candidate.rmse <= champion.rmse'`, `--metric rmse:lower` or `--rules gate.yml`",
        ));
    }
    Ok(Gate { rules, no_champion: args.no_champion.or(no_champion).unwrap_or(NoChampion::Fail) })
}
