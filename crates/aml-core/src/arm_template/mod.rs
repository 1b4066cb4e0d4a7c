//! ARM templates and their parameters files as `aml-infra` judges them before any request:
//! the JSON read with `file:line` errors, the parameters file held to the template's
//! declarations (unknown, missing, type, `allowedValues`, length and value bounds), and every
//! resource name that the template writes or computes from parameters held to Azure's naming
//! rule for its type. Deploying stays Azure Resource Manager's: nothing here creates anything.

pub mod changes;
pub mod deploy;
pub mod expr;
pub mod names;
mod unique;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value as Json;

use crate::error::{BadInput, Error, Result};
use expr::{Scope, Value};

/// A template file, read.
pub struct Template {
    pub file: PathBuf,
    pub json: serde_json::Map<String, Json>,
}

/// A parameters file (`deploymentParameters.json`), read.
pub struct ParametersFile {
    pub file: PathBuf,
    /// Each parameter's `value`; a Key Vault `reference` is a value only Azure knows.
    pub values: BTreeMap<String, Option<Json>>,
}

/// A JSON file, or an error at its `file:line:column`.
pub fn read_json(path: &Path) -> Result<Json> {
    let text = crate::yaml::read(path)?;
    serde_json::from_str(&text).map_err(|e| {
        Error::BadInput(Box::new(BadInput {
            file: Some(path.to_path_buf()),
            line: Some(e.line()),
            column: Some(e.column()),
            field: None,
            problem: format!("is not valid JSON: {e}"),
            hint: Some("fix the JSON at that line (a missing comma or quote, a trailing comma)".into()),
        }))
    })
}

pub fn load_template(path: &Path) -> Result<Template> {
    let Json::Object(json) = read_json(path)? else {
        return Err(Error::in_file(
            path,
            None,
            "is not a JSON object",
            "an ARM template is an object with `resources`",
        ));
    };
    if !json.get("resources").is_some_and(|r| r.is_array() || r.is_object()) {
        return Err(Error::in_file(path, Some("resources"), "is missing", "an ARM template lists its `resources`"));
    }
    Ok(Template { file: path.to_path_buf(), json })
}

pub fn load_parameters(path: &Path) -> Result<ParametersFile> {
    let json = read_json(path)?;
    let Some(Json::Object(parameters)) = json.get("parameters") else {
        return Err(Error::in_file(
            path,
            Some("parameters"),
            "is missing",
            "a parameters file is `{\"parameters\": {\"NAME\": {\"value\": …}}}`",
        ));
    };
    let mut values = BTreeMap::new();
    for (name, given) in parameters {
        let value = match (given.get("value"), given.get("reference")) {
            (Some(value), _) => Some(value.clone()),
            (None, Some(_)) => None,
            (None, None) => {
                return Err(Error::in_file(
                    path,
                    Some(&format!("parameters.{name}")),
                    "has neither `value` nor `reference`",
                    format!("write `\"{name}\": {{\"value\": …}}`"),
                ));
            }
        };
        values.insert(name.clone(), value);
    }
    Ok(ParametersFile { file: path.to_path_buf(), values })
}

/// A resource of the template as it would be deployed.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedResource {
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Its name, `<uniqueString>` where Azure computes part of it; None when only Azure
    /// knows it.
    pub name: Option<String>,
    pub api_version: Option<String>,
    /// False when its `condition` is false: Azure skips it.
    pub deployed: bool,
}

/// What a template with these parameters would deploy, judged.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub resources: Vec<PlannedResource>,
    /// Each parameter's value (`null` where only Azure knows it; secure ones left out).
    pub parameters: BTreeMap<String, Json>,
}

struct Problem {
    file: PathBuf,
    field: String,
    problem: String,
    hint: String,
}

/// The parameters file against the template's declarations, then every name the template
/// writes or computes from them against Azure's rule for its type. All problems are said,
/// the first as the error and the others after it.
pub fn check(template: &Template, given: &ParametersFile) -> Result<Checked> {
    let empty = serde_json::Map::new();
    let declared = template.json.get("parameters").and_then(Json::as_object).unwrap_or(&empty);
    let variables = template.json.get("variables").and_then(Json::as_object).unwrap_or(&empty);
    let mut problems = Vec::new();
    let in_parameters = |name: &str, problem: String, hint: String| Problem {
        file: given.file.clone(),
        field: format!("parameters.{name}"),
        problem,
        hint,
    };
    for name in given.values.keys() {
        if !declared.contains_key(name) {
            let names: Vec<&str> = declared.keys().map(String::as_str).collect();
            let hint = match crate::yaml::closest(name, &names) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("the template's parameters: {}", names.join(", ")),
            };
            problems.push(in_parameters(name, format!("is not a parameter of `{}`", template.file.display()), hint));
        }
    }
    // Defaults are evaluated after the values given, as they may read other parameters.
    let mut values: BTreeMap<String, Value> = BTreeMap::new();
    let mut defaults = Vec::new();
    for (name, declaration) in declared {
        match given.values.get(name) {
            Some(Some(value)) => {
                if let Some(problem) = declaration_problem(declaration, value) {
                    problems.push(in_parameters(name, problem.0, problem.1));
                }
                values.insert(name.clone(), Value::from_json(value));
            }
            Some(None) => {
                values.insert(name.clone(), Value::Unknown);
            }
            None => match declaration.get("defaultValue") {
                Some(default) => defaults.push((name.clone(), default.clone())),
                None => problems.push(in_parameters(
                    name,
                    "is missing".into(),
                    format!(
                        "`{}` declares it without a default: give it, `\"{name}\": {{\"value\": …}}`",
                        template.file.display()
                    ),
                )),
            },
        }
    }
    for (name, default) in defaults {
        let value = Scope::new(&values, variables).value(&default).unwrap_or(Value::Unknown);
        values.insert(name, value);
    }
    let mut resources = Vec::new();
    let listed = match template.json.get("resources") {
        Some(Json::Array(items)) => items.clone(),
        Some(Json::Object(map)) => map.values().cloned().collect(),
        _ => Vec::new(),
    };
    for (index, resource) in listed.iter().enumerate() {
        let field = format!("resources[{index}]");
        let resource_type = resource.get("type").and_then(Json::as_str).unwrap_or_default().to_string();
        let scope = Scope::new(&values, variables);
        let deployed = match resource.get("condition") {
            Some(condition) => !matches!(scope.value(condition), Ok(Value::Bool(false))),
            None => true,
        };
        let name = match resource.get("name").map(|n| scope.value(n)) {
            Some(Ok(Value::Str(name))) => Some(name),
            Some(Err(problem)) => {
                problems.push(Problem {
                    file: template.file.clone(),
                    field: format!("{field}.name"),
                    problem: format!("cannot be computed: {problem}"),
                    hint: "fix the expression".into(),
                });
                None
            }
            _ => None,
        };
        if let Some(name) = name.as_ref().filter(|_| deployed) {
            for (segment_type, segment) in segments(&resource_type, name) {
                let Some(rule) = names::rule_for(&segment_type) else { continue };
                let Some(problem) = rule.problem(&segment) else { continue };
                let read = scope.read.borrow();
                // The parameter to change: one free to change (no `allowedValues`), the
                // longest first, of those the file gives.
                let mut from_file: Vec<&String> = read.iter().filter(|p| given.values.contains_key(*p)).collect();
                from_file.sort_by_key(|p| {
                    let fixed = declared.get(p.as_str()).is_some_and(|d| d.get("allowedValues").is_some());
                    let length = match values.get(p.as_str()) {
                        Some(Value::Str(s)) => s.chars().count(),
                        _ => 0,
                    };
                    (fixed, std::cmp::Reverse(length))
                });
                let shown = expr::shown(&segment);
                problems.push(match from_file.first() {
                    Some(parameter) => in_parameters(
                        parameter,
                        format!("makes {} `{shown}`, which {problem}", rule.what),
                        format!("{} ({} is computed from {})", rule.describe(), shown, list(read.iter())),
                    ),
                    None => Problem {
                        file: template.file.clone(),
                        field: format!("{field}.name"),
                        problem: format!("{} `{shown}` {problem}", rule.what),
                        hint: rule.describe(),
                    },
                });
            }
        }
        resources.push(PlannedResource {
            resource_type,
            name: name.as_deref().map(expr::shown),
            api_version: resource.get("apiVersion").and_then(Json::as_str).map(str::to_owned),
            deployed,
        });
    }
    if let Some(first) = problems.first() {
        let more: Vec<String> = problems[1..]
            .iter()
            .map(|p| format!("\n  also: {}: field `{}`: {}", p.file.display(), p.field, p.problem))
            .collect();
        return Err(Error::in_file(
            &first.file,
            Some(&first.field),
            format!("{}{}", first.problem, more.concat()),
            first.hint.clone(),
        ));
    }
    let secure: Vec<&String> = declared
        .iter()
        .filter(|(_, d)| {
            d.get("type").and_then(Json::as_str).is_some_and(|t| t.to_ascii_lowercase().starts_with("secure"))
        })
        .map(|(n, _)| n)
        .collect();
    let parameters = values
        .iter()
        .filter(|(name, _)| !secure.contains(name))
        .map(|(name, value)| (name.clone(), to_json(value)))
        .collect();
    Ok(Checked { resources, parameters })
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if names.is_empty() { "nothing the file gives".into() } else { names.join(", ") }
}

/// A child resource's name (`workspace/cluster`) against each level of its type.
fn segments(resource_type: &str, name: &str) -> Vec<(String, String)> {
    let mut parts = resource_type.split('/');
    let provider = parts.next().unwrap_or_default();
    let kinds: Vec<&str> = parts.collect();
    let names: Vec<&str> = name.split('/').collect();
    if kinds.len() != names.len() {
        return Vec::new();
    }
    (0..kinds.len()).map(|i| (format!("{provider}/{}", kinds[..=i].join("/")), names[i].to_string())).collect()
}

/// What breaks a parameter's declaration, as (problem, hint).
fn declaration_problem(declaration: &Json, value: &Json) -> Option<(String, String)> {
    let kind = declaration.get("type").and_then(Json::as_str).unwrap_or("string").to_ascii_lowercase();
    let fits = match kind.as_str() {
        "string" | "securestring" => value.is_string(),
        "int" => value.is_i64(),
        "bool" => value.is_boolean(),
        "object" | "secureobject" => value.is_object(),
        "array" => value.is_array(),
        _ => true,
    };
    if !fits {
        return Some((format!("is `{value}`, not a {kind}"), format!("give a {kind}, as the template declares")));
    }
    if let Some(Json::Array(allowed)) = declaration.get("allowedValues")
        && !allowed.contains(value)
    {
        let listed: Vec<String> = allowed.iter().map(|v| v.to_string()).collect();
        return Some((format!("is `{value}`, which is not allowed"), format!("give one of {}", listed.join(", "))));
    }
    let length = match value {
        Json::String(s) => Some(s.chars().count() as i64),
        Json::Array(a) => Some(a.len() as i64),
        _ => None,
    };
    let bound = |key: &str| declaration.get(key).and_then(Json::as_i64);
    if let (Some(length), Some(min)) = (length, bound("minLength"))
        && length < min
    {
        return Some((format!("is {length} long, under its minLength {min}"), format!("give at least {min}")));
    }
    if let (Some(length), Some(max)) = (length, bound("maxLength"))
        && length > max
    {
        return Some((format!("is {length} long, over its maxLength {max}"), format!("give at most {max}")));
    }
    if let (Some(number), Some(min)) = (value.as_i64(), bound("minValue"))
        && number < min
    {
        return Some((format!("is {number}, under its minValue {min}"), format!("give {min} or more")));
    }
    if let (Some(number), Some(max)) = (value.as_i64(), bound("maxValue"))
        && number > max
    {
        return Some((format!("is {number}, over its maxValue {max}"), format!("give {max} or less")));
    }
    None
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::Null | Value::Unknown => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Str(s) => Json::String(expr::shown(s)),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Object(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}
