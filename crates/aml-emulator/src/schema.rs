//! Request and response bodies checked against the classes Microsoft generated from the
//! Azure ML REST spec (xtask/oracle_schema.py writes them from azure-ai-ml): an unknown
//! field, a missing required one, a wrong type, an unknown enum or discriminator value, or
//! a read-only field in a request is a violation.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub struct Schema {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    classes: BTreeMap<String, Class>,
    /// The HTTP operations the SDK makes (databricks-sdk's schema lists them; azure-ai-ml's
    /// is checked per body instead).
    #[serde(default)]
    pub operations: Vec<Operation>,
}

#[derive(Deserialize, Clone)]
pub struct Operation {
    pub method: String,
    /// `/api/2.0/fs/files{file_path}`: a `{…}` takes the rest of the path, slashes and all.
    pub path: String,
    /// The class holding the request's fields (the body's, or a GET's query parameters).
    pub request: String,
}

impl Operation {
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if !self.method.eq_ignore_ascii_case(method) {
            return false;
        }
        match (self.path.find('{'), self.path.find('}')) {
            (Some(open), Some(close)) => {
                let (prefix, suffix) = (&self.path[..open], &self.path[close + 1..]);
                path.len() > prefix.len() + suffix.len() && path.starts_with(prefix) && path.ends_with(suffix)
            }
            _ => self.path == path,
        }
    }
}

#[derive(Deserialize)]
struct Class {
    fields: BTreeMap<String, Field>,
    #[serde(default)]
    discriminator: Option<Discriminator>,
}

#[derive(Deserialize)]
struct Field {
    #[serde(rename = "type")]
    kind: Kind,
    required: bool,
    readonly: bool,
    #[serde(default)]
    writeonly: bool,
}

#[derive(Deserialize)]
struct Discriminator {
    field: String,
    values: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Kind {
    Str,
    Int,
    Number,
    Bool,
    Any,
    Enum { values: Vec<String> },
    List { item: Box<Kind> },
    Dict { value: Box<Kind> },
    Model { name: String },
}

/// Whether a body is sent (read-only fields are violations) or received.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

impl Schema {
    pub fn load(path: &Path) -> Result<Schema, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!("cannot read the oracle schema {}: {e} (`cargo xtask test` writes it)", path.display())
        })?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The operation the SDK knows for this method and path.
    pub fn operation(&self, method: &str, path: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.matches(method, path))
    }

    /// Every violation of `class` in `value`, as `path: problem`.
    pub fn check(&self, class: &str, value: &Value, direction: Direction) -> Vec<String> {
        let mut problems = Vec::new();
        self.model(class, value, "$", direction, &mut problems);
        problems
    }

    fn model(&self, class: &str, value: &Value, at: &str, direction: Direction, problems: &mut Vec<String>) {
        let Some(mut spec) = self.classes.get(class) else {
            problems.push(format!("{at}: the oracle has no class `{class}`"));
            return;
        };
        let Some(object) = value.as_object() else {
            problems.push(format!("{at}: expected an object ({class})"));
            return;
        };
        // A polymorphic base: the discriminator picks the concrete class.
        if let Some(discriminator) = &spec.discriminator {
            match object.get(&discriminator.field).and_then(Value::as_str) {
                Some(tag) => match discriminator.values.get(tag).and_then(|c| self.classes.get(c)) {
                    Some(concrete) => spec = concrete,
                    None => problems.push(format!(
                        "{at}.{}: `{tag}` is not one of {}",
                        discriminator.field,
                        discriminator.values.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                },
                None => problems.push(format!("{at}.{}: missing (the discriminator of {class})", discriminator.field)),
            }
        }
        for (name, field) in &spec.fields {
            let present = object.get(name).is_some_and(|v| !v.is_null());
            if field.required && !present && !(field.writeonly && direction == Direction::Response) {
                problems.push(format!("{at}.{name}: required by {class}, missing"));
            }
            if field.readonly && present && direction == Direction::Request {
                problems.push(format!("{at}.{name}: read-only in {class}; a client does not send it"));
            }
        }
        for (name, item) in object {
            match spec.fields.get(name) {
                Some(field) => {
                    if !item.is_null() {
                        self.kind(&field.kind, item, &format!("{at}.{name}"), direction, problems);
                    }
                }
                None => problems.push(format!("{at}.{name}: not a field of {class}")),
            }
        }
    }

    fn kind(&self, kind: &Kind, value: &Value, at: &str, direction: Direction, problems: &mut Vec<String>) {
        let ok = match kind {
            Kind::Any => true,
            Kind::Str => value.is_string(),
            Kind::Int => value.is_i64() || value.is_u64(),
            Kind::Number => value.is_number(),
            Kind::Bool => value.is_boolean(),
            Kind::Enum { values } => match value.as_str() {
                // Azure's enums are case-insensitive on the wire.
                Some(text) => {
                    if !values.iter().any(|v| v.eq_ignore_ascii_case(text)) {
                        problems.push(format!("{at}: `{text}` is not one of {}", values.join(", ")));
                    }
                    true
                }
                None => false,
            },
            Kind::List { item } => match value.as_array() {
                Some(items) => {
                    for (i, v) in items.iter().enumerate() {
                        self.kind(item, v, &format!("{at}[{i}]"), direction, problems);
                    }
                    true
                }
                None => false,
            },
            Kind::Dict { value: inner } => match value.as_object() {
                Some(map) => {
                    for (k, v) in map {
                        self.kind(inner, v, &format!("{at}.{k}"), direction, problems);
                    }
                    true
                }
                None => false,
            },
            Kind::Model { name } => {
                self.model(name, value, at, direction, problems);
                true
            }
        };
        if !ok {
            problems.push(format!("{at}: wrong type ({value})"));
        }
    }
}
