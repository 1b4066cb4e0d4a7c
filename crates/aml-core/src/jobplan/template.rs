//! `${{inputs.x}}` placeholders in commands and bindings, and `$[[ … ]]` optional sections
//! (dropped when an optional input they mention is not given), as Azure ML expands them.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder {
    Input(String),
    Output(String),
    ParentInput(String),
    ParentOutput(String),
    ParentJobOutput { job: String, output: String },
    Unknown(String),
}

impl Placeholder {
    fn parse(expr: &str) -> Placeholder {
        let parts: Vec<&str> = expr.split('.').collect();
        match parts.as_slice() {
            ["inputs", name] => Placeholder::Input((*name).into()),
            ["outputs", name] => Placeholder::Output((*name).into()),
            ["parent", "inputs", name] => Placeholder::ParentInput((*name).into()),
            ["parent", "outputs", name] => Placeholder::ParentOutput((*name).into()),
            ["parent", "jobs", job, "outputs", output] => {
                Placeholder::ParentJobOutput { job: (*job).into(), output: (*output).into() }
            }
            _ => Placeholder::Unknown(expr.into()),
        }
    }
}

impl std::fmt::Display for Placeholder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let expr = match self {
            Placeholder::Input(n) => format!("inputs.{n}"),
            Placeholder::Output(n) => format!("outputs.{n}"),
            Placeholder::ParentInput(n) => format!("parent.inputs.{n}"),
            Placeholder::ParentOutput(n) => format!("parent.outputs.{n}"),
            Placeholder::ParentJobOutput { job, output } => format!("parent.jobs.{job}.outputs.{output}"),
            Placeholder::Unknown(e) => e.clone(),
        };
        write!(f, "${{{{{expr}}}}}")
    }
}

/// A piece of a template: literal text, a placeholder, or an optional section.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Slot(Placeholder),
    Optional(Vec<Piece>),
}

fn parse(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let slot = rest.find("${{");
        let optional = rest.find("$[[");
        match (slot, optional) {
            (Some(s), o) if o.is_none_or(|o| s < o) => {
                push_text(&mut pieces, &rest[..s]);
                let end = rest[s..]
                    .find("}}")
                    .ok_or_else(|| format!("`${{{{` at `{}` is never closed with `}}}}`", snippet(&rest[s..])))?;
                pieces.push(Piece::Slot(Placeholder::parse(rest[s + 3..s + end].trim())));
                rest = &rest[s + end + 2..];
            }
            (_, Some(o)) => {
                push_text(&mut pieces, &rest[..o]);
                let end = rest[o..]
                    .find("]]")
                    .ok_or_else(|| format!("`$[[` at `{}` is never closed with `]]`", snippet(&rest[o..])))?;
                pieces.push(Piece::Optional(parse(&rest[o + 3..o + end])?));
                rest = &rest[o + end + 2..];
            }
            _ => {
                push_text(&mut pieces, rest);
                rest = "";
            }
        }
    }
    Ok(pieces)
}

fn push_text(pieces: &mut Vec<Piece>, text: &str) {
    if !text.is_empty() {
        pieces.push(Piece::Text(text.to_string()));
    }
}

fn snippet(text: &str) -> String {
    text.chars().take(24).collect()
}

/// Every placeholder in a template, with whether it sits in an optional section.
pub fn placeholders(text: &str) -> Result<Vec<(Placeholder, bool)>, String> {
    fn walk(pieces: &[Piece], optional: bool, out: &mut Vec<(Placeholder, bool)>) {
        for piece in pieces {
            match piece {
                Piece::Text(_) => {}
                Piece::Slot(p) => out.push((p.clone(), optional)),
                Piece::Optional(inner) => walk(inner, true, out),
            }
        }
    }
    let mut out = Vec::new();
    walk(&parse(text)?, false, &mut out);
    Ok(out)
}

/// What a placeholder stands for when a command is rendered.
pub enum Value {
    Text(String),
    /// An optional input that was not given: its `$[[ … ]]` section disappears.
    Absent,
}

pub fn render(text: &str, lookup: &dyn Fn(&Placeholder) -> Result<Value, String>) -> Result<String, String> {
    fn walk(
        pieces: &[Piece],
        lookup: &dyn Fn(&Placeholder) -> Result<Value, String>,
        out: &mut String,
    ) -> Result<bool, String> {
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot(p) => match lookup(p)? {
                    Value::Text(t) => out.push_str(&t),
                    Value::Absent => return Ok(false),
                },
                Piece::Optional(inner) => {
                    let mut section = String::new();
                    if walk(inner, lookup, &mut section)? {
                        out.push_str(&section);
                    }
                }
            }
        }
        Ok(true)
    }
    let mut out = String::new();
    if walk(&parse(text)?, lookup, &mut out)? {
        Ok(out)
    } else {
        Err("an optional input is used outside a `$[[ … ]]` section".into())
    }
}

/// A value that is exactly one placeholder (`${{parent.inputs.x}}`), as pipeline bindings are.
pub fn whole_binding(text: &str) -> Option<Placeholder> {
    match parse(text.trim()).ok()?.as_slice() {
        [Piece::Slot(p)] => Some(p.clone()),
        _ => None,
    }
}

/// Put a trial's values in place of its `${{search_space.<name>}}` placeholders, leaving
/// every other placeholder as written; a name the search space lacks is an error.
pub fn substitute_search_space(
    text: &str,
    values: &std::collections::BTreeMap<String, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let Some(len) = rest[start..].find("}}") else { break };
        let expr = rest[start + 3..start + len].trim();
        out.push_str(&rest[..start]);
        match expr.strip_prefix("search_space.") {
            Some(name) => match values.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    let known: Vec<String> = values.keys().map(|k| format!("`{k}`")).collect();
                    return Err(format!(
                        "uses `${{{{search_space.{name}}}}}` but the search space has no `{name}` (it has {})",
                        if known.is_empty() { "nothing".to_string() } else { known.join(", ") }
                    ));
                }
            },
            None => out.push_str(&rest[start..start + len + 2]),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(p: &Placeholder) -> Result<Value, String> {
        match p {
            Placeholder::Input(n) if n == "alpha" => Ok(Value::Text("0.5".into())),
            Placeholder::Input(n) if n == "seed" => Ok(Value::Absent),
            Placeholder::Output(n) => Ok(Value::Text(format!("/out/{n}"))),
            other => Err(format!("unknown {other:?}")),
        }
    }

    #[test]
    fn renders_inputs_outputs_and_optional_sections() {
        let cmd = "python train.py --alpha ${{ inputs.alpha }} $[[--seed ${{inputs.seed}}]] --model ${{outputs.model}}";
        assert_eq!(render(cmd, &lookup).unwrap(), "python train.py --alpha 0.5  --model /out/model");
        assert_eq!(render("a $[[--alpha ${{inputs.alpha}}]]", &lookup).unwrap(), "a --alpha 0.5");
    }

    #[test]
    fn unclosed_placeholders_are_errors() {
        assert!(render("python ${{inputs.alpha", &lookup).is_err());
    }

    #[test]
    fn bindings_parse_whole_values_only() {
        assert_eq!(
            whole_binding("${{parent.jobs.prep.outputs.train}}"),
            Some(Placeholder::ParentJobOutput { job: "prep".into(), output: "train".into() })
        );
        assert_eq!(whole_binding("x ${{parent.inputs.a}}"), None);
    }
}
