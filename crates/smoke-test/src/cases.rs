//! The cases file: one JSON object per line, each a request and what its answer must be.
//!
//! ```json
//! {"name": "one patient", "request": {"data": [[59, 2, 32.1]]}, "status": 200, "expect": [210], "tolerance": {"relative": 0.1}}
//! {"name": "shape", "request": {"data": []}, "shape": {"type": "array", "items": {"type": "number"}}}
//! ```
//! `expect` is compared with the answer: numbers within the tolerance, arrays element by
//! element, objects on the keys the expectation names. `shape` is a subset of JSON Schema
//! (`type`, `items`, `properties`, `required`, `minimum`, `maximum`, `minItems`, `maxItems`, `enum`).

use std::path::Path;

use aml_client::error::{BadInput, Error, Result};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    request: Option<Value>,
    body: Option<String>,
    status: Option<u16>,
    expect: Option<Value>,
    tolerance: Option<Tolerance>,
    shape: Option<Value>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    #[serde(default)]
    pub absolute: f64,
    #[serde(default)]
    pub relative: f64,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub line: usize,
    pub body: Vec<u8>,
    pub status: u16,
    pub expect: Option<Value>,
    pub tolerance: Tolerance,
    pub shape: Option<Value>,
}

const SHAPE_KEYS: &[&str] =
    &["type", "items", "properties", "required", "minimum", "maximum", "minItems", "maxItems", "enum", "description"];

fn bad(file: &Path, line: usize, column: Option<usize>, field: Option<&str>, problem: String, hint: &str) -> Error {
    Error::BadInput(Box::new(BadInput {
        file: Some(file.to_path_buf()),
        line: Some(line),
        column,
        field: field.map(str::to_owned),
        problem,
        hint: Some(hint.into()),
    }))
}

pub fn load(file: &Path) -> Result<Vec<Case>> {
    let text = aml_client::yaml::read(file)?;
    let mut cases = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") || trimmed.starts_with('#') {
            continue;
        }
        let case: RawCase = serde_json::from_str(trimmed).map_err(|e| {
            let problem = e.to_string().split(" at line").next().unwrap_or_default().to_string();
            let hint = if problem.contains("unknown field") {
                aml_client::yaml::hint_for(&problem)
                    .replace("`az ml` rejects unknown fields too", "the cases file has no such field")
            } else {
                "each line is one JSON object: {\"name\": …, \"request\": {…}, \"status\": 200, \"expect\": …}"
                    .to_string()
            };
            bad(file, line, Some(e.column()), None, problem, &hint)
        })?;
        let body = match (&case.request, &case.body) {
            (Some(request), None) => serde_json::to_vec(request).unwrap_or_default(),
            (None, Some(body)) => body.clone().into_bytes(),
            _ => {
                return Err(bad(
                    file,
                    line,
                    None,
                    Some("request"),
                    format!("case `{}` needs exactly one of `request` (JSON) and `body` (text)", case.name),
                    "give the request as `\"request\": {…}`",
                ));
            }
        };
        if cases.iter().any(|c: &Case| c.name == case.name) {
            return Err(bad(
                file,
                line,
                None,
                Some("name"),
                format!("another case is already named `{}`", case.name),
                "give every case its own name",
            ));
        }
        if let Some(shape) = &case.shape {
            check_shape_keys(shape, "shape").map_err(|field| bad(file, line, None, Some(&field), "is not a shape keyword".into(), "shapes use `type`, `items`, `properties`, `required`, `minimum`, `maximum`, `minItems`, `maxItems`, `enum`"))?;
        }
        if case.tolerance.is_some() && case.expect.is_none() {
            return Err(bad(
                file,
                line,
                None,
                Some("tolerance"),
                "applies to `expect`, which this case does not give".into(),
                "add `expect`, or remove `tolerance`",
            ));
        }
        cases.push(Case {
            name: case.name,
            line,
            body,
            status: case.status.unwrap_or(200),
            expect: case.expect,
            tolerance: case.tolerance.unwrap_or_default(),
            shape: case.shape,
        });
    }
    if cases.is_empty() {
        return Err(Error::in_file(file, None, "has no cases", "write one JSON object per line"));
    }
    Ok(cases)
}

fn check_shape_keys(shape: &Value, path: &str) -> std::result::Result<(), String> {
    let Value::Object(map) = shape else { return Err(path.to_string()) };
    for (key, value) in map {
        let here = format!("{path}.{key}");
        if !SHAPE_KEYS.contains(&key.as_str()) {
            return Err(here);
        }
        match key.as_str() {
            "items" => check_shape_keys(value, &here)?,
            "properties" => {
                if let Value::Object(properties) = value {
                    for (name, inner) in properties {
                        check_shape_keys(inner, &format!("{here}.{name}"))?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

impl Case {
    /// None when the answer is right; else what is wrong with it.
    pub fn check(&self, status: u16, body: &[u8]) -> Option<String> {
        if status != self.status {
            let text = String::from_utf8_lossy(body);
            let text: String = text.chars().take(300).collect();
            return Some(format!("expected status {}, got {status}: {text}", self.status));
        }
        if self.expect.is_none() && self.shape.is_none() {
            return None;
        }
        let answer: Value = match serde_json::from_slice(body) {
            Ok(answer) => answer,
            Err(e) => {
                return Some(format!(
                    "the answer is not JSON ({e}): {}",
                    String::from_utf8_lossy(body).chars().take(300).collect::<String>()
                ));
            }
        };
        if let Some(expected) = &self.expect
            && let Err(problem) = compare(expected, &answer, self.tolerance, "$")
        {
            return Some(problem);
        }
        if let Some(shape) = &self.shape
            && let Err(problem) = conforms(shape, &answer, "$")
        {
            return Some(problem);
        }
        None
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 { format!("{}…", text.chars().take(80).collect::<String>()) } else { text }
}

/// Compare an expected value with the answer; numbers within the tolerance.
pub fn compare(expected: &Value, got: &Value, tolerance: Tolerance, path: &str) -> std::result::Result<(), String> {
    match (expected, got) {
        (Value::Number(e), Value::Number(g)) => {
            let (e, g) = (e.as_f64().unwrap_or(f64::NAN), g.as_f64().unwrap_or(f64::NAN));
            let allowed = tolerance.absolute.max(tolerance.relative * e.abs());
            if (e - g).abs() <= allowed {
                Ok(())
            } else if allowed > 0.0 {
                Err(format!("{path}: expected {e} ± {allowed}, got {g}"))
            } else {
                Err(format!("{path}: expected {e}, got {g}"))
            }
        }
        (Value::Array(e), Value::Array(g)) => {
            if e.len() != g.len() {
                return Err(format!("{path}: expected {} items, got {}: {}", e.len(), g.len(), short(got)));
            }
            for (i, (e, g)) in e.iter().zip(g).enumerate() {
                compare(e, g, tolerance, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Object(e), Value::Object(g)) => {
            for (key, value) in e {
                match g.get(key) {
                    Some(got) => compare(value, got, tolerance, &format!("{path}.{key}"))?,
                    None => return Err(format!("{path}: expected a key `{key}`, got {}", short(got))),
                }
            }
            Ok(())
        }
        (e, g) if e == g => Ok(()),
        (e, g) => Err(format!("{path}: expected {}, got {}", short(e), short(g))),
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Check a value against a shape (a subset of JSON Schema).
pub fn conforms(shape: &Value, value: &Value, path: &str) -> std::result::Result<(), String> {
    let get = |key: &str| shape.get(key);
    if let Some(Value::String(kind)) = get("type") {
        let actual = type_of(value);
        let ok = kind == actual || (kind == "number" && actual == "integer");
        if !ok {
            return Err(format!("{path}: expected {kind}, got {actual} {}", short(value)));
        }
    }
    if let Some(Value::Array(allowed)) = get("enum")
        && !allowed.contains(value)
    {
        return Err(format!("{path}: {} is not one of {}", short(value), short(&Value::Array(allowed.clone()))));
    }
    if let Some(number) = value.as_f64() {
        if let Some(min) = get("minimum").and_then(Value::as_f64)
            && number < min
        {
            return Err(format!("{path}: {number} is below the minimum {min}"));
        }
        if let Some(max) = get("maximum").and_then(Value::as_f64)
            && number > max
        {
            return Err(format!("{path}: {number} is above the maximum {max}"));
        }
    }
    if let Value::Array(items) = value {
        if let Some(min) = get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            return Err(format!("{path}: {} items, fewer than {min}", items.len()));
        }
        if let Some(max) = get("maxItems").and_then(Value::as_u64)
            && items.len() as u64 > max
        {
            return Err(format!("{path}: {} items, more than {max}", items.len()));
        }
        if let Some(item_shape) = get("items") {
            for (i, item) in items.iter().enumerate() {
                conforms(item_shape, item, &format!("{path}[{i}]"))?;
            }
        }
    }
    if let Value::Object(map) = value {
        if let Some(Value::Array(required)) = get("required") {
            for key in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(key) {
                    return Err(format!("{path}: the key `{key}` is missing"));
                }
            }
        }
        if let Some(Value::Object(properties)) = get("properties") {
            for (key, inner) in properties {
                if let Some(v) = map.get(key) {
                    conforms(inner, v, &format!("{path}.{key}"))?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[track_caller]
    fn check(expected: Value, got: Value, tolerance: Tolerance, verdict: &str) {
        let result = match compare(&expected, &got, tolerance, "$") {
            Ok(()) => "ok".to_string(),
            Err(e) => e,
        };
        assert_eq!(result, verdict);
    }

    #[test]
    fn numbers_within_tolerance() {
        check(json!([210]), json!([210.6]), Tolerance { absolute: 1.0, relative: 0.0 }, "ok");
        check(
            json!([210]),
            json!([250]),
            Tolerance { absolute: 0.0, relative: 0.1 },
            "$[0]: expected 210 ± 21, got 250",
        );
        check(json!([1, 2]), json!([1]), Tolerance::default(), "$: expected 2 items, got 1: [1]");
        check(json!({"a": 1}), json!({"a": 1, "b": 2}), Tolerance::default(), "ok");
        check(json!({"a": 1}), json!({"b": 2}), Tolerance::default(), "$: expected a key `a`, got {\"b\":2}");
    }

    #[test]
    fn shapes() {
        let shape = json!({"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 2});
        assert_eq!(conforms(&shape, &json!([1.5, 2]), "$"), Ok(()));
        assert_eq!(conforms(&shape, &json!([1.5]), "$"), Err("$: 1 items, fewer than 2".into()));
        assert_eq!(conforms(&shape, &json!([1.5, -1]), "$"), Err("$[1]: -1 is below the minimum 0".into()));
        assert_eq!(conforms(&shape, &json!({"x": 1}), "$"), Err("$: expected array, got object {\"x\":1}".into()));
    }
}
