//! Data contracts: the seeds' "data sanity test" before training. A small YAML file says,
//! per job input, which columns a CSV must have, their types, whether they may be empty,
//! their ranges and allowed values; every violation is reported with line numbers.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use aml_client::error::{Error, Result};
use aml_client::jobplan::{DataSource, InputPlan, Plan};
use aml_client::yaml::{self, OrderedMap, Scalar};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataContract {
    #[serde(rename = "$schema")]
    pub schema: Option<String>,
    pub description: Option<String>,
    /// Job input name → what its CSV data must look like.
    pub inputs: OrderedMap<TableContract>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableContract {
    pub min_rows: Option<u64>,
    pub max_rows: Option<u64>,
    #[serde(default)]
    pub unexpected_columns: Unexpected,
    pub columns: OrderedMap<ColumnContract>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unexpected {
    #[default]
    Error,
    Ignore,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnContract {
    #[serde(rename = "type")]
    pub kind: ColumnType,
    #[serde(default)]
    pub nullable: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub allowed: Option<Vec<Scalar>>,
    #[serde(default)]
    pub unique: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Integer,
    Number,
    String,
    Boolean,
}

/// The result of checking one file.
#[derive(Debug, Clone, Serialize)]
pub struct DataCheck {
    pub input: String,
    pub file: String,
    pub rows: u64,
    pub passed: bool,
    pub violations: Vec<Violation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub column: Option<String>,
    pub rule: String,
    pub message: String,
    /// How many rows break the rule.
    pub count: u64,
    /// The first few offending lines of the file (1 is the header).
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub line: u64,
    pub value: String,
}

const EXAMPLES: usize = 3;

pub fn load(path: &Path) -> Result<DataContract> {
    let text = yaml::read(path)?;
    let contract: DataContract = yaml::parse(path, &text)?;
    for (input, table) in contract.inputs.iter() {
        for (column, rules) in table.columns.iter() {
            let numeric = matches!(rules.kind, ColumnType::Integer | ColumnType::Number);
            if !numeric && (rules.min.is_some() || rules.max.is_some()) {
                return Err(Error::in_file(
                    path,
                    Some(&format!("inputs.{input}.columns.{column}")),
                    "`min`/`max` apply only to `integer` and `number` columns",
                    "remove them, or change the column's `type`",
                ));
            }
        }
    }
    Ok(contract)
}

/// Check the planned job's CSV inputs that the contract names.
pub fn check(contract_file: &Path, contract: &DataContract, plan: &Plan) -> Result<Vec<DataCheck>> {
    let mut checks = Vec::new();
    for (input, table) in contract.inputs.iter() {
        let Some((_, planned)) = plan.inputs.iter().find(|(name, _)| name == input) else {
            return Err(Error::in_file(
                contract_file,
                Some(&format!("inputs.{input}")),
                format!("`{}` has no input `{input}`", plan.file.display()),
                format!(
                    "the job's inputs: {}",
                    plan.inputs.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
            ));
        };
        let InputPlan::Data { source: DataSource::Path(path), .. } = planned else {
            return Err(Error::in_file(
                contract_file,
                Some(&format!("inputs.{input}")),
                format!("input `{input}` is not a file or folder the job reads"),
                "a data contract applies to `uri_file` or `uri_folder` inputs with a local path",
            ));
        };
        for file in csv_files(path)? {
            checks.push(check_file(input, &file, table)?);
        }
    }
    Ok(checks)
}

fn csv_files(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::storage(format!("cannot list `{}`", path.display()), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::usage(
            format!("`{}` holds no .csv file to check", path.display()),
            "point the input at a CSV file or a folder of them",
        ));
    }
    Ok(files)
}

fn is_null(value: &str) -> bool {
    let v = value.trim();
    v.is_empty() || ["na", "n/a", "nan", "null", "none"].contains(&v.to_ascii_lowercase().as_str())
}

struct Tally {
    rule: String,
    message: String,
    count: u64,
    examples: Vec<Example>,
}

#[derive(Default)]
struct Findings {
    by_rule: BTreeMap<(Option<String>, String), Tally>,
}

impl Findings {
    fn add(&mut self, column: Option<&str>, rule: &str, message: String, line: u64, value: &str) {
        let tally = self.by_rule.entry((column.map(str::to_owned), rule.to_owned())).or_insert_with(|| Tally {
            rule: rule.to_owned(),
            message,
            count: 0,
            examples: Vec::new(),
        });
        tally.count += 1;
        if tally.examples.len() < EXAMPLES {
            tally.examples.push(Example { line, value: value.to_owned() });
        }
    }
}

fn check_file(input: &str, file: &Path, table: &TableContract) -> Result<DataCheck> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(file).map_err(|e| {
        Error::usage(
            format!("cannot read `{}` as CSV: {e}", file.display()),
            "check the file is a comma-separated text file",
        )
    })?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| {
            Error::usage(
                format!("cannot read the header of `{}`: {e}", file.display()),
                "the first line must name the columns",
            )
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut findings = Findings::default();
    for (column, _) in table.columns.iter() {
        if !headers.iter().any(|h| h == column) {
            findings.add(Some(column), "present", format!("column `{column}` is missing"), 1, "");
        }
    }
    if table.unexpected_columns == Unexpected::Error {
        for header in &headers {
            if table.columns.get(header).is_none() {
                findings.add(Some(header), "expected", format!("column `{header}` is not in the contract"), 1, header);
            }
        }
    }
    let positions: Vec<(usize, &str, &ColumnContract)> = table
        .columns
        .iter()
        .filter_map(|(name, rules)| headers.iter().position(|h| h == name).map(|i| (i, name.as_str(), rules)))
        .collect();
    let mut seen: BTreeMap<usize, HashSet<String>> = BTreeMap::new();
    let mut rows = 0u64;
    for (index, record) in reader.records().enumerate() {
        let line = index as u64 + 2;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                findings.add(None, "parse", format!("a row is not valid CSV: {e}"), line, "");
                continue;
            }
        };
        rows += 1;
        if record.len() != headers.len() {
            findings.add(
                None,
                "shape",
                format!("rows must have {} fields, as the header", headers.len()),
                line,
                &record.len().to_string(),
            );
            continue;
        }
        for &(position, name, rules) in &positions {
            let value = record.get(position).unwrap_or_default();
            check_value(&mut findings, name, rules, value, line);
            if rules.unique && !is_null(value) && !seen.entry(position).or_default().insert(value.to_string()) {
                findings.add(Some(name), "unique", format!("`{name}` values must be unique"), line, value);
            }
        }
    }
    if let Some(min) = table.min_rows.filter(|m| rows < *m) {
        findings.add(None, "min_rows", format!("at least {min} rows are required"), 1, &rows.to_string());
    }
    if let Some(max) = table.max_rows.filter(|m| rows > *m) {
        findings.add(None, "max_rows", format!("at most {max} rows are allowed"), 1, &rows.to_string());
    }
    let violations: Vec<Violation> = findings
        .by_rule
        .into_iter()
        .map(|((column, _), t)| Violation {
            column,
            rule: t.rule,
            message: t.message,
            count: t.count,
            examples: t.examples,
        })
        .collect();
    Ok(DataCheck {
        input: input.to_string(),
        file: file.display().to_string(),
        rows,
        passed: violations.is_empty(),
        violations,
    })
}

fn check_value(findings: &mut Findings, name: &str, rules: &ColumnContract, value: &str, line: u64) {
    if is_null(value) {
        if !rules.nullable {
            findings.add(Some(name), "nullable", format!("`{name}` must not be empty"), line, value);
        }
        return;
    }
    let trimmed = value.trim();
    let number = match rules.kind {
        ColumnType::Integer => match trimmed.parse::<i64>() {
            Ok(n) => Some(n as f64),
            Err(_) => {
                findings.add(Some(name), "type", format!("`{name}` must be an integer"), line, value);
                return;
            }
        },
        ColumnType::Number => match trimmed.parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => {
                findings.add(Some(name), "type", format!("`{name}` must be a number"), line, value);
                return;
            }
        },
        ColumnType::Boolean => {
            if !["true", "false", "0", "1", "yes", "no"].contains(&trimmed.to_ascii_lowercase().as_str()) {
                findings.add(Some(name), "type", format!("`{name}` must be a boolean"), line, value);
                return;
            }
            None
        }
        ColumnType::String => None,
    };
    if let (Some(n), Some(min)) = (number, rules.min)
        && n < min
    {
        findings.add(Some(name), "min", format!("`{name}` must be ≥ {min}"), line, value);
    }
    if let (Some(n), Some(max)) = (number, rules.max)
        && n > max
    {
        findings.add(Some(name), "max", format!("`{name}` must be ≤ {max}"), line, value);
    }
    if let Some(allowed) = &rules.allowed {
        let matches = allowed.iter().any(|a| match number {
            Some(n) => a.as_str().parse::<f64>().is_ok_and(|x| x == n),
            None => a.as_str() == trimmed,
        });
        if !matches {
            let list = allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ");
            findings.add(Some(name), "allowed", format!("`{name}` must be one of {list}"), line, value);
        }
    }
}
