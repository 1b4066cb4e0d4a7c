//! ARM's template expression language, as much of it as a name can be computed with before
//! a deployment: `[concat(parameters('prefix'), 'st')]` parsed and evaluated against the
//! parameters and variables. What only Azure knows (the resource group, the subscription,
//! `reference()`) evaluates to `Unknown`; `uniqueString()` is 13 lowercase letters and digits
//! whose value only Azure knows, so it is kept as that many placeholder characters and a
//! name's length and alphabet can still be judged.

use std::collections::BTreeMap;

/// Stands for one character of a `uniqueString()` result: a lowercase letter or digit.
pub const UNIQUE: char = '\u{1}';

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Array(Vec<Value>),
    Object(BTreeMap<String, Value>),
    /// Known only when Azure deploys the template.
    Unknown,
}

impl Value {
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => n.as_i64().map(Value::Int).unwrap_or(Value::Unknown),
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => Value::Array(items.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }

    fn truthy(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Bool(b) => Some(if *b { "True".into() } else { "False".into() }),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Str(String),
    Int(i64),
    Call(String, Vec<Expr>),
    Property(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
}

/// Whether a JSON string is an expression (`[…]`, not `[[…` which is a literal `[`).
pub fn is_expression(text: &str) -> bool {
    text.len() >= 2 && text.starts_with('[') && text.ends_with(']') && !text.starts_with("[[")
}

struct Parser<'a> {
    chars: Vec<char>,
    at: usize,
    source: &'a str,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("`{}`: {what} at character {}", self.source, self.at + 1)
    }

    fn skip_spaces(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_spaces();
        if self.chars.get(self.at) == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expression(&mut self, depth: usize) -> Result<Expr, String> {
        if depth > 64 {
            return Err(self.error("nested too deeply"));
        }
        self.skip_spaces();
        let mut expr = match self.chars.get(self.at) {
            Some('\'') => {
                self.at += 1;
                let mut text = String::new();
                loop {
                    match self.chars.get(self.at) {
                        None => return Err(self.error("a string is not closed")),
                        Some('\'') if self.chars.get(self.at + 1) == Some(&'\'') => {
                            text.push('\'');
                            self.at += 2;
                        }
                        Some('\'') => {
                            self.at += 1;
                            break;
                        }
                        Some(c) => {
                            text.push(*c);
                            self.at += 1;
                        }
                    }
                }
                Expr::Str(text)
            }
            Some(c) if c.is_ascii_digit() || *c == '-' => {
                let start = self.at;
                self.at += 1;
                while self.chars.get(self.at).is_some_and(char::is_ascii_digit) {
                    self.at += 1;
                }
                let text: String = self.chars[start..self.at].iter().collect();
                Expr::Int(text.parse().map_err(|_| self.error("not a number"))?)
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.at;
                while self.chars.get(self.at).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                    self.at += 1;
                }
                let name: String = self.chars[start..self.at].iter().collect();
                if !self.eat('(') {
                    return Err(self.error(&format!("`{name}` is not followed by `(`")));
                }
                let mut args = Vec::new();
                if !self.eat(')') {
                    loop {
                        args.push(self.expression(depth + 1)?);
                        if self.eat(')') {
                            break;
                        }
                        if !self.eat(',') {
                            return Err(self.error("expected `,` or `)`"));
                        }
                    }
                }
                Expr::Call(name.to_ascii_lowercase(), args)
            }
            _ => return Err(self.error("expected a string, a number or a function")),
        };
        loop {
            if self.eat('.') {
                let start = self.at;
                while self.chars.get(self.at).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                    self.at += 1;
                }
                if start == self.at {
                    return Err(self.error("expected a property name after `.`"));
                }
                expr = Expr::Property(Box::new(expr), self.chars[start..self.at].iter().collect());
            } else if self.eat('[') {
                let index = self.expression(depth + 1)?;
                if !self.eat(']') {
                    return Err(self.error("expected `]`"));
                }
                expr = Expr::Index(Box::new(expr), Box::new(index));
            } else {
                return Ok(expr);
            }
        }
    }
}

fn parse(source: &str) -> Result<Expr, String> {
    if !is_expression(source) {
        return Err(format!("`{source}` is not an expression (`[…]`)"));
    }
    let inner = &source[1..source.len() - 1];
    let mut parser = Parser { chars: inner.chars().collect(), at: 0, source };
    let expr = parser.expression(0)?;
    parser.skip_spaces();
    if parser.at != parser.chars.len() {
        return Err(parser.error("unexpected text after the expression"));
    }
    Ok(expr)
}

/// What expressions are evaluated against: the parameters' values and the variables'
/// declarations. It notes the parameters an evaluation read, to name them in a problem.
pub struct Scope<'a> {
    pub parameters: &'a BTreeMap<String, Value>,
    pub variables: &'a serde_json::Map<String, serde_json::Value>,
    pub read: std::cell::RefCell<std::collections::BTreeSet<String>>,
    depth: std::cell::Cell<usize>,
    deployment: Option<&'a Deployment<'a>>,
}

/// What a deployment knows and a check before it does not: where it goes (so
/// `subscription()`, `resourceGroup()`, `resourceId()` and `uniqueString()` have values) and
/// what exists (`reference()`).
pub struct Deployment<'a> {
    pub subscription_id: String,
    pub tenant_id: String,
    pub resource_group: String,
    pub location: String,
    pub name: String,
    /// A resource's state by its id, as `reference()` reads it (the full resource).
    pub reference: &'a dyn Fn(&str) -> Option<serde_json::Value>,
}

impl Deployment<'_> {
    pub fn group_id(&self) -> String {
        format!("/subscriptions/{}/resourceGroups/{}", self.subscription_id, self.resource_group)
    }

    /// `type` `A/b/c` named `x/y` in this resource group: `…/providers/A/b/x/c/y`.
    pub fn resource_id(&self, resource_type: &str, names: &[String]) -> Result<String, String> {
        child_id(&self.group_id(), resource_type, names)
    }
}

/// A resource's id under `parent` (a resource group's or, for an extension, any resource's).
pub fn child_id(parent: &str, resource_type: &str, names: &[String]) -> Result<String, String> {
    let mut kinds = resource_type.split('/');
    let namespace = kinds.next().unwrap_or_default();
    let kinds: Vec<&str> = kinds.collect();
    let names: Vec<&str> = names.iter().flat_map(|n| n.split('/')).collect();
    if kinds.is_empty() || kinds.len() != names.len() || names.iter().any(|n| n.is_empty()) {
        return Err(format!(
            "type `{resource_type}` takes {} name segment(s), given `{}`",
            kinds.len(),
            names.join("/")
        ));
    }
    let mut id = format!("{}/providers/{namespace}", parent.trim_end_matches('/'));
    for (kind, name) in kinds.iter().zip(&names) {
        id.push_str(&format!("/{kind}/{name}"));
    }
    Ok(id)
}

impl<'a> Scope<'a> {
    pub fn new(
        parameters: &'a BTreeMap<String, Value>,
        variables: &'a serde_json::Map<String, serde_json::Value>,
    ) -> Scope<'a> {
        Scope { parameters, variables, read: Default::default(), depth: Default::default(), deployment: None }
    }

    /// Evaluate as the deployment does, with what only it knows.
    pub fn at(mut self, deployment: &'a Deployment<'a>) -> Scope<'a> {
        self.deployment = Some(deployment);
        self
    }

    /// A JSON value of the template, its expressions evaluated.
    pub fn value(&self, json: &serde_json::Value) -> Result<Value, String> {
        match json {
            serde_json::Value::String(text) if is_expression(text) => self.evaluate(text),
            serde_json::Value::String(text) if text.starts_with("[[") => Ok(Value::Str(text[1..].to_string())),
            serde_json::Value::Array(items) => {
                items.iter().map(|i| self.value(i)).collect::<Result<_, _>>().map(Value::Array)
            }
            serde_json::Value::Object(map) => map
                .iter()
                .map(|(k, v)| self.value(v).map(|v| (k.clone(), v)))
                .collect::<Result<_, _>>()
                .map(Value::Object),
            other => Ok(Value::from_json(other)),
        }
    }

    pub fn evaluate(&self, source: &str) -> Result<Value, String> {
        let expr = parse(source)?;
        self.eval(&expr)
    }

    fn eval(&self, expr: &Expr) -> Result<Value, String> {
        match expr {
            Expr::Str(s) => Ok(Value::Str(s.clone())),
            Expr::Int(i) => Ok(Value::Int(*i)),
            Expr::Property(inner, name) => Ok(match self.eval(inner)? {
                Value::Object(map) => map
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null),
                _ => Value::Unknown,
            }),
            Expr::Index(inner, index) => Ok(match (self.eval(inner)?, self.eval(index)?) {
                (Value::Array(items), Value::Int(i)) => {
                    usize::try_from(i).ok().and_then(|i| items.get(i).cloned()).unwrap_or(Value::Unknown)
                }
                (Value::Object(map), Value::Str(key)) => map.get(&key).cloned().unwrap_or(Value::Null),
                _ => Value::Unknown,
            }),
            Expr::Call(name, args) => self.call(name, args),
        }
    }

    fn call(&self, name: &str, args: &[Expr]) -> Result<Value, String> {
        let values = || args.iter().map(|a| self.eval(a)).collect::<Result<Vec<_>, _>>();
        let text_args = |values: &[Value]| -> Option<Vec<String>> { values.iter().map(Value::text).collect() };
        if let Some(deployment) = self.deployment
            && DEPLOYMENT_FUNCTIONS.contains(&name)
        {
            return deployment_call(deployment, name, &values()?);
        }
        Ok(match name {
            "parameters" => {
                let Some(Value::Str(key)) = values()?.into_iter().next() else { return Ok(Value::Unknown) };
                self.read.borrow_mut().insert(key.clone());
                self.parameters.get(&key).cloned().ok_or_else(|| format!("no parameter `{key}` is declared"))?
            }
            "variables" => {
                let Some(Value::Str(key)) = values()?.into_iter().next() else { return Ok(Value::Unknown) };
                let declared = self.variables.get(&key).ok_or_else(|| format!("no variable `{key}` is declared"))?;
                if self.depth.get() > 32 {
                    return Err(format!("variable `{key}` refers to itself"));
                }
                self.depth.set(self.depth.get() + 1);
                let value = self.value(declared);
                self.depth.set(self.depth.get() - 1);
                value?
            }
            "concat" => {
                let values = values()?;
                if values.iter().all(|v| matches!(v, Value::Array(_))) && !values.is_empty() {
                    Value::Array(
                        values.into_iter().flat_map(|v| if let Value::Array(a) = v { a } else { Vec::new() }).collect(),
                    )
                } else {
                    text_args(&values).map(|parts| Value::Str(parts.concat())).unwrap_or(Value::Unknown)
                }
            }
            "format" => {
                let values = values()?;
                match text_args(&values) {
                    Some(parts) if !parts.is_empty() => {
                        let mut text = parts[0].clone();
                        for (i, part) in parts[1..].iter().enumerate() {
                            text = text.replace(&format!("{{{i}}}"), part);
                        }
                        Value::Str(text)
                    }
                    _ => Value::Unknown,
                }
            }
            "tolower" | "toupper" => match values()?.into_iter().next() {
                Some(Value::Str(s)) if name == "tolower" => Value::Str(s.to_lowercase()),
                Some(Value::Str(s)) => Value::Str(s.to_uppercase()),
                _ => Value::Unknown,
            },
            "take" | "skip" => match values()?.as_slice() {
                [Value::Str(s), Value::Int(n)] => {
                    let n = usize::try_from(*n).unwrap_or(0);
                    Value::Str(if name == "take" { s.chars().take(n).collect() } else { s.chars().skip(n).collect() })
                }
                _ => Value::Unknown,
            },
            "substring" => match values()?.as_slice() {
                [Value::Str(s), Value::Int(start), rest @ ..] => {
                    let start = usize::try_from(*start).unwrap_or(0);
                    let length = match rest.first() {
                        Some(Value::Int(n)) => usize::try_from(*n).unwrap_or(0),
                        _ => usize::MAX,
                    };
                    Value::Str(s.chars().skip(start).take(length).collect())
                }
                _ => Value::Unknown,
            },
            "replace" => match values()?.as_slice() {
                [Value::Str(s), Value::Str(from), Value::Str(to)] if !from.contains(UNIQUE) => {
                    Value::Str(s.replace(from.as_str(), to))
                }
                _ => Value::Unknown,
            },
            "uniquestring" => Value::Str(UNIQUE.to_string().repeat(13)),
            "length" => match values()?.into_iter().next() {
                Some(Value::Str(s)) => Value::Int(s.chars().count() as i64),
                Some(Value::Array(a)) => Value::Int(a.len() as i64),
                Some(Value::Object(o)) => Value::Int(o.len() as i64),
                _ => Value::Unknown,
            },
            "if" => {
                let Some(condition) = args.first() else { return Err("if() needs three arguments".into()) };
                match self.eval(condition)?.truthy() {
                    Some(true) => args.get(1).map(|a| self.eval(a)).transpose()?.unwrap_or(Value::Unknown),
                    Some(false) => args.get(2).map(|a| self.eval(a)).transpose()?.unwrap_or(Value::Unknown),
                    None => Value::Unknown,
                }
            }
            "equals" => match values()?.as_slice() {
                [a, b] if !matches!(a, Value::Unknown) && !matches!(b, Value::Unknown) => Value::Bool(a == b),
                _ => Value::Unknown,
            },
            "empty" => match values()?.into_iter().next() {
                Some(Value::Str(s)) => Value::Bool(s.is_empty()),
                Some(Value::Array(a)) => Value::Bool(a.is_empty()),
                Some(Value::Object(o)) => Value::Bool(o.is_empty()),
                Some(Value::Null) => Value::Bool(true),
                _ => Value::Unknown,
            },
            "not" => match values()?.into_iter().next().and_then(|v| v.truthy()) {
                Some(b) => Value::Bool(!b),
                None => Value::Unknown,
            },
            "and" | "or" => {
                let flags: Option<Vec<bool>> = values()?.iter().map(Value::truthy).collect();
                match flags {
                    Some(flags) if name == "and" => Value::Bool(flags.iter().all(|b| *b)),
                    Some(flags) => Value::Bool(flags.iter().any(|b| *b)),
                    None => Value::Unknown,
                }
            }
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Null,
            "string" => values()?.into_iter().next().and_then(|v| v.text()).map(Value::Str).unwrap_or(Value::Unknown),
            "int" => match values()?.into_iter().next() {
                Some(Value::Int(i)) => Value::Int(i),
                Some(Value::Str(s)) => s.trim().parse().map(Value::Int).unwrap_or(Value::Unknown),
                _ => Value::Unknown,
            },
            "coalesce" => values()?.into_iter().find(|v| !matches!(v, Value::Null)).unwrap_or(Value::Null),
            // What only the deployment knows: where it goes, who runs it, what exists.
            _ => {
                values()?;
                Value::Unknown
            }
        })
    }
}

const DEPLOYMENT_FUNCTIONS: &[&str] =
    &["uniquestring", "subscription", "resourcegroup", "deployment", "resourceid", "extensionresourceid", "reference"];

fn deployment_call(deployment: &Deployment, name: &str, values: &[Value]) -> Result<Value, String> {
    let texts = || -> Result<Vec<String>, String> {
        values.iter().map(|v| v.text().ok_or_else(|| format!("{name}() takes strings, given {v:?}"))).collect()
    };
    let object = |pairs: &[(&str, &str)]| {
        Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), Value::Str(v.to_string()))).collect())
    };
    Ok(match name {
        "uniquestring" => Value::Str(super::unique::unique_string(&texts()?)),
        "subscription" => object(&[
            ("id", &format!("/subscriptions/{}", deployment.subscription_id)),
            ("subscriptionId", &deployment.subscription_id),
            ("tenantId", &deployment.tenant_id),
            ("displayName", &deployment.subscription_id),
        ]),
        "resourcegroup" => object(&[
            ("id", &deployment.group_id()),
            ("name", &deployment.resource_group),
            ("type", "Microsoft.Resources/resourceGroups"),
            ("location", &deployment.location),
        ]),
        "deployment" => object(&[("name", &deployment.name)]),
        "resourceid" => {
            let texts = texts()?;
            // Optional subscription and resource group come before the type, the only
            // argument with a `/`.
            let at = texts.iter().position(|t| t.contains('/')).ok_or("resourceId() needs a resource type")?;
            let (subscription, group) = match at {
                0 => (deployment.subscription_id.clone(), deployment.resource_group.clone()),
                1 => (deployment.subscription_id.clone(), texts[0].clone()),
                2 => (texts[0].clone(), texts[1].clone()),
                _ => {
                    return Err("resourceId() takes at most a subscription and a resource group before the type".into());
                }
            };
            Value::Str(child_id(
                &format!("/subscriptions/{subscription}/resourceGroups/{group}"),
                &texts[at],
                &texts[at + 1..],
            )?)
        }
        "extensionresourceid" => {
            let texts = texts()?;
            let [parent, resource_type, names @ ..] = texts.as_slice() else {
                return Err("extensionResourceId() takes a resource id, a type and names".into());
            };
            Value::Str(child_id(parent, resource_type, names)?)
        }
        "reference" => {
            let Some(Value::Str(id)) = values.first() else { return Err("reference() takes a resource id".into()) };
            let full = values.iter().skip(1).any(|v| matches!(v, Value::Str(s) if s.eq_ignore_ascii_case("full")));
            let found = (deployment.reference)(id).ok_or_else(|| format!("the resource `{id}` is not defined"))?;
            let json = if full { found } else { found.get("properties").cloned().unwrap_or_default() };
            Value::from_json(&json)
        }
        _ => Value::Unknown,
    })
}

/// A name for people: each run of `uniqueString()` characters shown as how many they are,
/// `<5 chars of uniqueString>`.
pub fn shown(name: &str) -> String {
    let mut out = String::new();
    let mut run = 0;
    for c in name.chars().chain(std::iter::once('\0')) {
        if c == UNIQUE {
            run += 1;
            continue;
        }
        if run > 0 {
            out.push_str(&format!("<{run} chars of uniqueString>"));
            run = 0;
        }
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_eval(parameters: &[(&str, Value)], variables: serde_json::Value, expr: &str) -> Result<Value, String> {
        let parameters: BTreeMap<String, Value> = parameters.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let serde_json::Value::Object(variables) = variables else { return Err("variables".into()) };
        Scope::new(&parameters, &variables).evaluate(expr)
    }

    #[test]
    fn names_are_computed_as_azure_computes_them() -> Result<(), String> {
        let prefix = [("prefix", Value::Str("MLOps".into())), ("env", Value::Str("dev".into()))];
        let vars = serde_json::json!({"suffix": "[take(uniqueString(subscription().subscriptionId), 5)]"});
        let name = scope_eval(
            &prefix,
            vars.clone(),
            "[toLower(format('{0}{1}st{2}', parameters('prefix'), parameters('env'), variables('suffix')))]",
        )?;
        assert_eq!(name, Value::Str(format!("mlopsdevst{}", UNIQUE.to_string().repeat(5))));
        assert_eq!(
            scope_eval(&prefix, vars.clone(), "[concat(parameters('prefix'), '-', 'it''s')]")?,
            Value::Str("MLOps-it's".into())
        );
        assert_eq!(scope_eval(&prefix, vars.clone(), "[resourceGroup().location]")?, Value::Unknown);
        assert_eq!(
            scope_eval(&prefix, vars.clone(), "[if(equals(parameters('env'), 'dev'), 'a', 'b')]")?,
            Value::Str("a".into())
        );
        assert_eq!(scope_eval(&prefix, vars, "[substring(parameters('prefix'), 1, 2)]")?, Value::Str("LO".into()));
        Ok(())
    }

    #[test]
    fn bad_expressions_and_loops_are_errors_not_crashes() {
        let vars = serde_json::json!({"a": "[variables('b')]", "b": "[variables('a')]"});
        assert!(scope_eval(&[], vars.clone(), "[variables('a')]").is_err());
        assert!(scope_eval(&[], vars.clone(), "[concat('a'").is_err());
        assert!(scope_eval(&[], vars.clone(), "[parameters('missing')]").is_err());
        let deep = format!("[{}'x'{}]", "concat(".repeat(200), ")".repeat(200));
        assert!(scope_eval(&[], vars.clone(), &deep).is_err());
        for odd in ["[", "[]", "[ ]", "[concat(]", "['unclosed]", "[x.]", "[a(1)[]"] {
            assert!(scope_eval(&[], vars.clone(), odd).is_err(), "{odd}");
        }
    }
}
