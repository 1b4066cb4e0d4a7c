//! Azure ML v2 YAML (the files `az ml` reads), parsed into typed structs with errors
//! that name the file, line, column and field, and `--set` overrides as `az ml` has them.
//!
//! Unknown fields are rejected, as the official loaders reject them: a typo in a job
//! file should stop the run before compute is spent, not be silently ignored.

pub mod batch;
pub mod component;
pub mod data_collector;
pub mod deploy_file;
pub mod endpoint;
pub mod environment;
pub mod io;
pub mod job;
pub mod model;
pub mod quantity;
pub mod sweep;

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use yaml_serde::Value;

use crate::error::{BadInput, Error, Result};

/// Read a YAML (or any text) file the user named; a missing file is bad input.
pub fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        let (problem, hint) = match e.kind() {
            std::io::ErrorKind::NotFound => {
                ("file not found".to_string(), "check the path; it is relative to the current directory")
            }
            std::io::ErrorKind::InvalidData => ("file is not UTF-8 text".to_string(), "save the file as UTF-8"),
            _ => (format!("cannot read file: {e}"), "check the file's permissions"),
        };
        Error::BadInput(Box::new(BadInput {
            file: Some(path.to_path_buf()),
            problem,
            hint: Some(hint.into()),
            ..Default::default()
        }))
    })
}

/// Parse YAML text into `T`, turning parser and schema errors into bad input at a line.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    serde_path_to_error::deserialize(yaml_serde::Deserializer::from_str(text))
        .map_err(|e| yaml_error(path, e.inner(), None, &e.path().to_string()))
}

/// Parse, apply `--set` overrides, and check the result against `T` again.
pub fn parse_with_sets<T: DeserializeOwned>(path: &Path, text: &str, sets: &[SetArg]) -> Result<T> {
    if sets.is_empty() {
        return parse(path, text);
    }
    let mut value: Value = parse(path, text)?;
    for set in sets {
        set.apply(path, &mut value)?;
    }
    let flags = sets.iter().map(|s| s.raw.as_str()).collect::<Vec<_>>().join(" ");
    let error = match serde_path_to_error::deserialize(value) {
        Ok(typed) => return Ok(typed),
        Err(e) => yaml_error(path, e.inner(), Some(&flags), &e.path().to_string()),
    };
    // A `--set` may replace what the file got wrong (`endpoint_name: <ENDPOINT_NAME>`); an
    // error in a field no `--set` touched is said with its line, as without them.
    if let Err(Error::BadInput(located)) = parse::<T>(path, text) {
        let touched = |field: &str| {
            sets.iter().any(|set| {
                let key = set.keys.join(".");
                field == key || field.starts_with(&format!("{key}.")) || key.starts_with(&format!("{field}."))
            })
        };
        if located.field.as_deref().is_none_or(|field| !touched(field)) {
            return Err(Error::BadInput(located));
        }
    }
    Err(error)
}

/// Judge a value already parsed (and edited, as a pipeline whose foreign steps were set
/// aside); `at` is where the value sat in the file. Values carry no line numbers.
/// A value as YAML, for files the tools write from what they read.
pub(crate) fn to_value<T: Serialize>(value: &T) -> Result<Value> {
    yaml_serde::to_value(value).map_err(|e| Error::usage(format!("cannot write a value as YAML: {e}"), ""))
}

pub(crate) fn from_value<T: DeserializeOwned>(path: &Path, value: Value, at: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let inner = if inner == "." || inner == "?" { String::new() } else { inner };
        let full = [at, inner.as_str()].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(".");
        let problem = e.inner().to_string();
        Error::BadInput(Box::new(BadInput {
            file: Some(path.to_path_buf()),
            line: None,
            column: None,
            field: (!full.is_empty()).then_some(full),
            hint: Some(hint_for(&problem)),
            problem,
        }))
    })
}

/// `at` is where the deserializer stood, `endpoint_name` or `jobs.train.inputs`: it names the
/// field when the error itself does not (a value a field's own type refused).
fn yaml_error(path: &Path, error: &yaml_serde::Error, sets: Option<&str>, at: &str) -> Error {
    let text = error.to_string();
    // Locations are appended as " at line L column C"; they move to the `file:line:col` prefix.
    let message = match text.rfind(" at line ") {
        Some(at) if error.location().is_some() => text[..at].to_string(),
        _ => text.clone(),
    };
    // Schema errors start with the field's path: "jobs.train: unknown field ...". An unknown
    // field's own name is in the message; the deserializer's path would say it twice.
    let at = if message.contains("unknown field `") { "" } else { at };
    let (field, problem) = match message.split_once(": ") {
        // The deserializer's own path goes one step further: into the field whose type refused.
        Some((field, rest)) if !field.contains(' ') && !field.is_empty() => {
            let deeper = at.starts_with(&format!("{field}.")) && !at.ends_with(".?");
            (Some(if deeper { at } else { field }.to_string()), rest.to_string())
        }
        _ if !at.is_empty() && at != "." && at != "?" => (Some(at.to_string()), message.clone()),
        _ => (None, message.clone()),
    };
    let mut hint = hint_for(&problem);
    if let Some(flags) = sets {
        hint = format!("the value comes from `--set {flags}`; {hint}");
    }
    let location = if sets.is_none() { error.location() } else { None };
    Error::BadInput(Box::new(BadInput {
        file: Some(path.to_path_buf()),
        line: location.as_ref().map(|l| l.line()),
        column: location.as_ref().map(|l| l.column()),
        field,
        problem,
        hint: Some(hint),
    }))
}

/// A hint for a serde error message: the likely field for an unknown one, else what to check.
pub fn hint_for(problem: &str) -> String {
    if let Some(unknown) = between(problem, "unknown field `", "`") {
        let expected: Vec<&str> = problem
            .split_once(", expected ")
            .map(|(_, rest)| rest.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        return match closest(unknown, &expected) {
            Some(best) => format!("did you mean `{best}`? `az ml` rejects unknown fields too"),
            None => format!(
                "remove `{unknown}`; allowed here: {}",
                expected.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
            ),
        };
    }
    if let Some(variant) = between(problem, "unknown variant `", "`") {
        return format!("`{variant}` is not one of the values allowed here; see the list above");
    }
    if problem.starts_with("missing field") {
        return "add the field; `az ml` requires it too".into();
    }
    if problem.contains("invalid type") {
        return "check the value's type (quote strings, nest mappings under their key)".into();
    }
    if problem.contains("is not a valid") {
        return "replace it with a valid value, in the file or with `--set FIELD=VALUE`".into();
    }
    "fix the YAML at that position (indentation, quoting, a missing `:`)".into()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// The candidate nearest to `word` if it is near enough to be a typo (optimal string
/// alignment distance: a swapped pair of letters, `tpye`, is one edit).
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::osa_distance(word, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// One `--set path.to.field=value` override; the value is read as YAML (`0.5` is a number).
#[derive(Debug, Clone)]
pub struct SetArg {
    pub keys: Vec<String>,
    pub value: Value,
    pub raw: String,
}

impl std::str::FromStr for SetArg {
    type Err = String;
    fn from_str(raw: &str) -> std::result::Result<Self, String> {
        let (key, value) =
            raw.split_once('=').ok_or_else(|| format!("`{raw}` has no `=`; write it as `inputs.alpha=0.5`"))?;
        let keys: Vec<String> = key.split('.').map(str::to_owned).collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(format!("`{key}` is not a field path; write it as `inputs.alpha=0.5`"));
        }
        let value = if value.is_empty() {
            Value::String(String::new())
        } else {
            yaml_serde::from_str(value).map_err(|e| format!("the value `{value}` is not a YAML scalar: {e}"))?
        };
        Ok(SetArg { keys, value, raw: raw.to_string() })
    }
}

impl SetArg {
    fn apply(&self, path: &Path, root: &mut Value) -> Result<()> {
        let mut node = root;
        for (i, key) in self.keys.iter().enumerate() {
            let last = i + 1 == self.keys.len();
            if node.is_null() {
                *node = Value::Mapping(Default::default());
            }
            let Value::Mapping(map) = node else {
                return Err(Error::in_file(
                    path,
                    Some(&self.keys[..i].join(".")),
                    format!("`--set {}` descends into a value that is not a mapping", self.raw),
                    "set the field itself, or check the field path",
                ));
            };
            let key = Value::String(key.clone());
            if last {
                map.insert(key, self.value.clone());
                return Ok(());
            }
            node = map.entry(key).or_insert(Value::Null);
        }
        Ok(())
    }
}

/// A YAML mapping that keeps its keys in file order (pipeline steps run in the order written
/// when nothing else decides it).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<V> OrderedMap<V> {
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct OrderedVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
                Ok(OrderedMap(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, V>()? {
                    if entries.iter().any(|(k, _): &(String, V)| *k == key) {
                        return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
                    }
                    entries.push((key, value));
                }
                Ok(OrderedMap(entries))
            }
        }
        deserializer.deserialize_any(OrderedVisitor(PhantomData))
    }
}

/// Tags and properties are strings to Azure ML, but YAML writes `version: 1` unquoted.
pub fn string_map<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<OrderedMap<String>, D::Error> {
    let raw: OrderedMap<Option<Scalar>> = OrderedMap::deserialize(deserializer)?;
    Ok(OrderedMap(raw.0.into_iter().map(|(k, v)| (k, v.map(|s| s.0).unwrap_or_default())).collect()))
}

/// A YAML scalar read as the text a user wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Resolve a path written in a YAML file: relative paths are relative to the file's folder,
/// and a `file:` prefix (as `az ml` allows) is dropped.
pub fn resolve_path(yaml_file: &Path, written: &str) -> PathBuf {
    let written = written.strip_prefix("file:").unwrap_or(written);
    let base = yaml_file.parent().unwrap_or(Path::new("."));
    let joined = base.join(written);
    std::path::absolute(&joined).unwrap_or(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swapped_letters_are_one_typo() {
        assert_eq!(closest("tpye", &["type", "path"]), Some("type"));
        assert_eq!(closest("zzz", &["type", "path"]), None);
    }

    #[test]
    fn a_field_named_like_the_message_still_gets_its_hint() {
        let hint = hint_for("unknown field `expected`, expected one of `name`, `expect`, `shape`");
        assert_eq!(hint, "did you mean `expect`? `az ml` rejects unknown fields too");
    }

    #[test]
    fn typos_get_a_suggestion() {
        let hint = hint_for("unknown field `comand`, expected one of `command`, `code`, `environment`");
        assert_eq!(hint, "did you mean `command`? `az ml` rejects unknown fields too");
    }

    #[test]
    fn ordered_maps_round_trip_as_mappings() {
        let map: OrderedMap<u32> = yaml_serde::from_str("b: 1\na: 2\n").unwrap();
        let json = serde_json::to_string(&map).unwrap();
        assert_eq!(json, r#"{"b":1,"a":2}"#);
        let back: OrderedMap<u32> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.keys().collect::<Vec<_>>(), ["b", "a"]);
    }

    #[test]
    fn set_values_are_yaml_scalars() {
        let set: SetArg = "inputs.alpha=0.5".parse().unwrap();
        assert_eq!(set.keys, ["inputs", "alpha"]);
        assert_eq!(set.value, Value::Number(0.5.into()));
        assert!("inputs.alpha".parse::<SetArg>().is_err());
        assert!("inputs..alpha=1".parse::<SetArg>().is_err());
    }
}
