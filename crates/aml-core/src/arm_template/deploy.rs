//! A template expanded as Resource Manager expands it for a deployment into one resource
//! group: the parameters resolved (given, else their defaults), conditions applied, every
//! expression evaluated with what the deployment knows, the resources ordered by their
//! `dependsOn`, and the outputs once the resources exist. The emulator plays ARM with it;
//! against Azure, ARM does this itself.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as Json};

use super::expr::{Deployment, Scope, Value, child_id};

/// The fields of a resource declaration that become its body.
const BODY_FIELDS: &[&str] = &["location", "tags", "sku", "kind", "identity", "properties", "zones", "plan"];

/// One resource as the deployment creates or updates it.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: String,
    pub resource_type: String,
    /// As the template gives it: `workspace/cluster` for a child.
    pub name: String,
    pub api_version: String,
    /// `location`, `tags`, `sku`, `kind`, `identity`, `properties`: what is PUT.
    pub body: Json,
    /// The ids (lowercase) of the deployed resources it waits for.
    pub depends_on: Vec<String>,
}

#[derive(Debug)]
pub struct Expanded {
    /// In an order that honours every `dependsOn`; resources whose condition is false are
    /// left out, and so are dependencies on them (as ARM drops them).
    pub resources: Vec<Resource>,
    pub parameters: BTreeMap<String, Value>,
}

fn object<'a>(json: &'a Map<String, Json>, key: &str) -> Option<&'a Map<String, Json>> {
    json.get(key).and_then(Json::as_object)
}

/// The deployment's parameters (`{"NAME": {"value": …}}`) against the template's
/// declarations: unknown or missing ones are errors, as ARM says them.
pub fn parameter_values(
    template: &Map<String, Json>,
    given: &Map<String, Json>,
    deployment: &Deployment,
) -> Result<BTreeMap<String, Value>, String> {
    let empty = Map::new();
    let declared = object(template, "parameters").unwrap_or(&empty);
    let variables = object(template, "variables").unwrap_or(&empty);
    if let Some(unknown) = given.keys().find(|name| !declared.contains_key(*name)) {
        return Err(format!(
            "The template parameters '{unknown}' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time."
        ));
    }
    let mut values = BTreeMap::new();
    let mut defaults = Vec::new();
    for (name, declaration) in declared {
        match given.get(name).and_then(|g| g.get("value")) {
            Some(value) => {
                values.insert(name.clone(), Value::from_json(value));
            }
            None => match declaration.get("defaultValue") {
                Some(default) => defaults.push((name.clone(), default.clone())),
                None => {
                    return Err(format!(
                        "The value for the template parameter '{name}' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details."
                    ));
                }
            },
        }
    }
    for (name, default) in defaults {
        let value = Scope::new(&values, variables).at(deployment).value(&default)?;
        values.insert(name, value);
    }
    Ok(values)
}

/// A value the deployment can write: nothing left that only Azure would know.
pub fn to_json(value: &Value, at: &str) -> Result<Json, String> {
    Ok(match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Str(s) => Json::String(s.clone()),
        Value::Array(items) => Json::Array(items.iter().map(|v| to_json(v, at)).collect::<Result<_, _>>()?),
        Value::Object(map) => {
            Json::Object(map.iter().map(|(k, v)| Ok((k.clone(), to_json(v, at)?))).collect::<Result<_, String>>()?)
        }
        Value::Unknown => return Err(format!("`{at}` uses a function this engine does not evaluate")),
    })
}

/// Null properties are left out of what is PUT, as ARM leaves them out.
fn without_nulls(json: Json) -> Json {
    match json {
        Json::Object(map) => {
            Json::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_nulls(v))).collect())
        }
        Json::Array(items) => Json::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

pub fn expand(
    template: &Map<String, Json>,
    given: &Map<String, Json>,
    deployment: &Deployment,
) -> Result<Expanded, String> {
    let empty = Map::new();
    let variables = object(template, "variables").unwrap_or(&empty);
    let parameters = parameter_values(template, given, deployment)?;
    let listed: Vec<&Json> = match template.get("resources") {
        Some(Json::Array(items)) => items.iter().collect(),
        Some(Json::Object(map)) => map.values().collect(),
        _ => return Err("The template has no `resources`.".into()),
    };
    let scope = Scope::new(&parameters, variables).at(deployment);
    let mut declared = Vec::new();
    let mut skipped = BTreeSet::new();
    for (index, resource) in listed.iter().enumerate() {
        let at = |field: &str| format!("resources[{index}].{field}");
        let Some(declaration) = resource.as_object() else {
            return Err(format!("`resources[{index}]` is not an object"));
        };
        if declaration.contains_key("copy") {
            return Err(format!("`{}`: this engine does not evaluate `copy` loops", at("copy")));
        }
        let text = |field: &str| -> Result<String, String> {
            match declaration
                .get(field)
                .map(|v| scope.value(v))
                .transpose()
                .map_err(|e| format!("`{}`: {e}", at(field)))?
            {
                Some(Value::Str(s)) => Ok(s),
                _ => Err(format!("`{}` is not a string", at(field))),
            }
        };
        let resource_type = text("type")?;
        let name = text("name")?;
        let api_version = text("apiVersion")?;
        let id = match declaration.get("scope") {
            None => deployment.resource_id(&resource_type, std::slice::from_ref(&name))?,
            Some(_) => {
                let scope_text = text("scope")?;
                let parent = if scope_text.starts_with('/') {
                    scope_text
                } else {
                    let mut parts = scope_text.splitn(3, '/');
                    let (namespace, kind, rest) = (parts.next(), parts.next(), parts.next());
                    match (namespace, kind, rest) {
                        (Some(namespace), Some(kind), Some(rest)) => {
                            deployment.resource_id(&format!("{namespace}/{kind}"), &[rest.to_string()])?
                        }
                        _ => return Err(format!("`{}` is neither a resource id nor `Type/name`", at("scope"))),
                    }
                };
                child_id(&parent, &resource_type, std::slice::from_ref(&name))?
            }
        };
        let condition = match declaration.get("condition") {
            None => true,
            Some(condition) => match scope.value(condition).map_err(|e| format!("`{}`: {e}", at("condition")))? {
                Value::Bool(b) => b,
                other => return Err(format!("`{}` is {other:?}, not a bool", at("condition"))),
            },
        };
        if !condition {
            skipped.insert(id.to_ascii_lowercase());
            continue;
        }
        let mut body = Map::new();
        for field in BODY_FIELDS {
            if let Some(value) = declaration.get(*field) {
                let value = scope.value(value).map_err(|e| format!("`{}`: {e}", at(field)))?;
                body.insert(field.to_string(), without_nulls(to_json(&value, &at(field))?));
            }
        }
        let depends_on = match declaration.get("dependsOn") {
            Some(Json::Array(items)) => items
                .iter()
                .map(|item| match scope.value(item) {
                    Ok(Value::Str(s)) => Ok(s),
                    Ok(other) => Err(format!("`{}` has {other:?}, not a resource id", at("dependsOn"))),
                    Err(e) => Err(format!("`{}`: {e}", at("dependsOn"))),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => Vec::new(),
        };
        declared.push((
            Resource { id, resource_type, name, api_version, body: Json::Object(body), depends_on: Vec::new() },
            depends_on,
        ));
    }
    let ids: BTreeSet<String> = declared.iter().map(|(r, _)| r.id.to_ascii_lowercase()).collect();
    for (resource, depends_on) in &declared {
        for dependency in depends_on {
            let key = dependency.to_ascii_lowercase();
            if !ids.contains(&key) && !skipped.contains(&key) {
                return Err(format!(
                    "The resource '{dependency}' is not defined in the template (a dependency of '{}').",
                    resource.id
                ));
            }
        }
    }
    // Kahn's order, keeping the template's order among the ready ones.
    let mut ordered = Vec::new();
    let mut done = BTreeSet::new();
    while ordered.len() < declared.len() {
        let ready = declared.iter().position(|(resource, depends_on)| {
            let key = resource.id.to_ascii_lowercase();
            !done.contains(&key)
                && depends_on
                    .iter()
                    .all(|d| done.contains(&d.to_ascii_lowercase()) || skipped.contains(&d.to_ascii_lowercase()))
        });
        let Some(index) = ready else {
            return Err("Deployment template validation failed: circular dependency among the resources.".into());
        };
        let mut resource = declared[index].0.clone();
        resource.depends_on =
            declared[index].1.iter().map(|d| d.to_ascii_lowercase()).filter(|d| !skipped.contains(d)).collect();
        done.insert(resource.id.to_ascii_lowercase());
        ordered.push(resource);
    }
    Ok(Expanded { resources: ordered, parameters })
}

/// The template's outputs once its resources exist, as ARM reports them:
/// `{"NAME": {"type": "String", "value": …}}`.
pub fn outputs(
    template: &Map<String, Json>,
    parameters: &BTreeMap<String, Value>,
    deployment: &Deployment,
) -> Result<Map<String, Json>, String> {
    let empty = Map::new();
    let variables = object(template, "variables").unwrap_or(&empty);
    let scope = Scope::new(parameters, variables).at(deployment);
    let mut outputs = Map::new();
    for (name, declaration) in object(template, "outputs").unwrap_or(&empty) {
        if let Some(condition) = declaration.get("condition")
            && scope.value(condition)? == Value::Bool(false)
        {
            continue;
        }
        let value = declaration.get("value").map(|v| scope.value(v)).transpose()?.unwrap_or(Value::Null);
        let kind = declaration.get("type").and_then(Json::as_str).unwrap_or("string");
        // ARM answers with the type capitalised: `String`, `Int`, `Bool`, `Object`, `Array`.
        let mut chars = kind.chars();
        let kind: String = chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars).collect();
        outputs.insert(
            name.clone(),
            serde_json::json!({"type": kind, "value": to_json(&value, &format!("outputs.{name}"))?}),
        );
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(reference: &dyn Fn(&str) -> Option<Json>) -> Deployment<'_> {
        Deployment {
            subscription_id: "00000000-0000-0000-0000-000000000000".into(),
            tenant_id: "t".into(),
            resource_group: "my-rg".into(),
            location: "westeurope".into(),
            name: "infra".into(),
            reference,
        }
    }

    fn template() -> Map<String, Json> {
        let json = json!({
            "parameters": {"prefix": {"type": "string"}, "location": {"type": "string", "defaultValue": "[resourceGroup().location]"}, "child": {"type": "bool", "defaultValue": false}},
            "variables": {"suffix": "[take(uniqueString(resourceGroup().id), 5)]", "parent": "[format('{0}p{1}', parameters('prefix'), variables('suffix'))]"},
            "resources": [
                {"type": "A.B/parents/kids", "apiVersion": "1", "name": "[format('{0}/kid', variables('parent'))]", "condition": "[parameters('child')]",
                 "dependsOn": ["[resourceId('A.B/parents', variables('parent'))]"]},
                {"type": "A.B/parents/things", "apiVersion": "1", "name": "[format('{0}/t', variables('parent'))]",
                 "dependsOn": ["[resourceId('A.B/parents', variables('parent'))]", "[resourceId('A.B/parents/kids', variables('parent'), 'kid')]", "[resourceId('A.B/kids', 'never')]"]},
                {"type": "A.B/parents", "apiVersion": "1", "name": "[variables('parent')]", "location": "[parameters('location')]",
                 "properties": {"kept": "[parameters('prefix')]", "gone": "[null()]"}},
            ],
            "outputs": {"where": {"type": "string", "value": "[reference(resourceId('A.B/parents', variables('parent'))).state]"}}
        });
        json.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn resources_come_out_in_dependency_order_with_values_and_ids() -> Result<(), String> {
        let nothing = |_: &str| None;
        let given = json!({"prefix": {"value": "x"}, "child": {"value": false}});
        let expanded = expand(&template(), given.as_object().ok_or("")?, &deployment(&nothing));
        // The skipped `kids` is no dependency; `never` is not declared at all.
        assert!(expanded.as_ref().is_err_and(|e| e.contains("A.B/kids/never")), "{expanded:?}");
        let mut fixed = template();
        fixed["resources"][1]["dependsOn"] = json!([
            "[resourceId('A.B/parents', variables('parent'))]",
            "[resourceId('A.B/parents/kids', variables('parent'), 'kid')]"
        ]);
        let expanded = expand(&fixed, given.as_object().ok_or("")?, &deployment(&nothing))?;
        let suffix: String = super::super::unique::unique_string(&[
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg".into(),
        ])
        .chars()
        .take(5)
        .collect();
        let ids: Vec<&str> = expanded.resources.iter().map(|r| r.id.as_str()).collect();
        let parent = format!(
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg/providers/A.B/parents/xp{suffix}"
        );
        assert_eq!(ids, [parent.clone(), format!("{parent}/things/t")]);
        assert_eq!(expanded.resources[0].body, json!({"location": "westeurope", "properties": {"kept": "x"}}));
        let state = |id: &str| (id == parent).then(|| json!({"properties": {"state": "ok"}}));
        let outputs = outputs(&fixed, &expanded.parameters, &deployment(&state))?;
        assert_eq!(Json::Object(outputs), json!({"where": {"type": "String", "value": "ok"}}));
        Ok(())
    }

    #[test]
    fn parameters_are_held_to_the_declarations() {
        let nothing = |_: &str| None;
        let unknown = json!({"prefix": {"value": "x"}, "prefx": {"value": "y"}});
        let missing = json!({});
        for (given, said) in [(unknown, "'prefx'"), (missing, "'prefix' is not provided")] {
            let given = given.as_object().cloned().unwrap_or_default();
            let error = expand(&template(), &given, &deployment(&nothing));
            assert!(error.as_ref().is_err_and(|e| e.contains(said)), "{error:?}");
        }
    }
}
