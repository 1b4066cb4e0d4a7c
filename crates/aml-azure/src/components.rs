//! Command components registered in an Azure ML workspace, as `az ml component create`
//! registers them: the code (with `additional_includes` merged) uploaded as a code version,
//! the environment made or named as for a job, then a ComponentVersion whose spec is the one
//! azure-ai-ml writes (defaults and bounds as Python prints them). Our digest of that spec is
//! kept as a property, so the same component again is the version it already is. A pipeline
//! step naming one is a node pointing at its ARM id.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use aml_core::components::{ComponentVersion, NewComponent};
use aml_core::digest::Digest;
use aml_core::error::{Error, Result};
use aml_core::model::VersionSelector;
use aml_core::yaml::component::{CommandComponent, DeclaredType, InputDeclaration};
use aml_core::yaml::io::Literal;

use crate::AzureWorkspace;
use crate::assets::{AssetKind, Registration};

impl AzureWorkspace {
    pub async fn register_component(&self, new: &NewComponent) -> Result<(ComponentVersion, bool)> {
        let spec: CommandComponent = aml_core::yaml::parse(&new.file, &new.frozen)?;
        let files = new.code_files()?;
        let code_files = files.len();
        let code = if files.is_empty() {
            None
        } else {
            let folder = new
                .code
                .as_deref()
                .and_then(|c| std::path::absolute(c).ok())
                .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "code".into());
            let label = new.code.as_deref().unwrap_or(&new.file).display().to_string();
            Some(format!("azureml:{}", self.ensure_code_files(&label, &folder, false, files).await?.id))
        };
        let environment = crate::jobs::spec_id(&self.ensure_environment(&new.file, &spec.environment).await?);
        let mut component = component_spec(&spec, &new.name, code.as_deref(), &environment);
        if !new.additional_includes.is_empty() {
            component["additional_includes"] = json!(new.additional_includes);
        }
        let digest = Digest::of_bytes(serde_json::to_string(&component).unwrap_or_default().as_bytes());
        let version = match self.registration(&COMPONENTS, &new.name, new.version.as_deref(), &digest).await? {
            Registration::Existing(existing) => return Ok((existing, true)),
            Registration::New(version) => version,
        };
        component["version"] = json!(version);
        let mut properties = json!({
            "componentSpec": component,
            "isAnonymous": false,
            "isArchived": false,
            "properties": {
                "aml.digest": digest.to_string(),
                "aml.code_files": code_files.to_string(),
                "aml.environment": new.environment,
            },
            "tags": new.tags,
        });
        if let Some(description) = &new.description {
            properties["description"] = json!(description);
        }
        Ok((self.create_version(&COMPONENTS, &new.name, &version, properties).await?, false))
    }

    pub async fn component_version(&self, name: &str, selector: &VersionSelector) -> Result<ComponentVersion> {
        self.asset_version(&COMPONENTS, name, selector).await
    }

    /// A name's versions, newest first; without a name, the newest version of each.
    pub async fn component_versions(&self, name: Option<&str>) -> Result<Vec<ComponentVersion>> {
        self.asset_versions(&COMPONENTS, name).await
    }

    /// The id a pipeline node names a registered component by: a registry's asset id as
    /// written (Azure ML resolves it), a workspace's `azureml:NAME:V` or `@latest` as the
    /// version's ARM id, which must exist (exit 2 naming the step's field otherwise).
    pub(super) async fn component_id(&self, file: &Path, field: &str, reference: &str) -> Result<String> {
        if reference.starts_with("azureml://registries/") {
            return Ok(reference.to_string());
        }
        let written = reference.strip_prefix("azureml:").unwrap_or(reference);
        if written.starts_with("/subscriptions/") {
            return Ok(written.to_string());
        }
        let (name, selector) = aml_core::components::parse_reference(reference).map_err(|e| {
            Error::in_file(file, Some(field), e.to_string(), "write `azureml:NAME:VERSION` or `azureml:NAME@latest`")
        })?;
        let found = self.component_version(&name, &selector).await.map_err(|e| match e.exit_code() {
            2 => Error::in_file(
                file,
                Some(field),
                format!("`{reference}` is not registered in this workspace"),
                "register it with `aml-register component -f component.yml --workspace azureml://…`",
            ),
            _ => e,
        })?;
        Ok(format!("{}/versions/{}", self.asset_path(&COMPONENTS, &name), found.version))
    }
}

const COMPONENTS: AssetKind<ComponentVersion> = AssetKind {
    segment: "components",
    what: "component",
    verb: "component",
    from_arm: component_from_arm,
    digest: |version| version.digest,
    created_at: |version| &version.created_at,
};

/// The componentSpec azure-ai-ml writes for a command component (`_to_rest_object`), with
/// its code and environment as the ids they became; without a version.
fn component_spec(spec: &CommandComponent, name: &str, code: Option<&str>, environment: &str) -> Value {
    let mut out = Map::new();
    out.insert("command".into(), json!(spec.command));
    if let Some(code) = code {
        out.insert("code".into(), json!(code));
    }
    out.insert("environment".into(), json!(environment));
    for (key, value) in [("resources", &spec.resources), ("distribution", &spec.distribution)] {
        if let Some(value) = value {
            out.insert(key.into(), serde_json::to_value(value).unwrap_or_default());
        }
    }
    out.insert("name".into(), json!(name));
    if let Some(schema) = &spec.schema {
        out.insert("$schema".into(), json!(schema));
    }
    for (key, value) in [("display_name", &spec.display_name), ("description", &spec.description)] {
        if let Some(value) = value {
            out.insert(key.into(), json!(value));
        }
    }
    if !spec.tags.is_empty() {
        let tags: BTreeMap<&str, &str> = spec.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        out.insert("tags".into(), json!(tags));
    }
    out.insert("is_deterministic".into(), json!(spec.is_deterministic.unwrap_or(true)));
    if !spec.inputs.is_empty() {
        let inputs: Map<String, Value> = spec.inputs.iter().map(|(n, d)| (n.to_string(), input_spec(d))).collect();
        out.insert("inputs".into(), Value::Object(inputs));
    }
    if !spec.outputs.is_empty() {
        let outputs: Map<String, Value> = spec
            .outputs
            .iter()
            .map(|(n, d)| {
                let mut output = json!({"type": d.kind.as_str()});
                if let Some(mode) = d.mode {
                    output["mode"] = serde_json::to_value(mode).unwrap_or_default();
                }
                if let Some(description) = &d.description {
                    output["description"] = json!(description);
                }
                (n.to_string(), output)
            })
            .collect();
        out.insert("outputs".into(), Value::Object(outputs));
    }
    out.insert("type".into(), json!("command"));
    out.insert("_source".into(), json!("YAML.COMPONENT"));
    Value::Object(out)
}

/// An input declaration as azure-ai-ml writes it: `default`, `min` and `max` as the strings
/// Python prints for the declared type (`1.0` for a number, `True` for a boolean).
fn input_spec(declared: &InputDeclaration) -> Value {
    let mut input = json!({"type": serde_json::to_value(declared.kind).unwrap_or_default()});
    let number = |x: f64| match declared.kind {
        DeclaredType::Integer if x.fract() == 0.0 => format!("{}", x as i64),
        _ => python_float(x),
    };
    if let Some(default) = &declared.default {
        let text = match (declared.kind, default) {
            (DeclaredType::Number, Literal::Int(i)) => python_float(*i as f64),
            (DeclaredType::Number, Literal::Float(x)) => python_float(*x),
            (_, Literal::Float(x)) => number(*x),
            (_, other) => other.to_string(),
        };
        input["default"] = json!(text);
    }
    if let Some(max) = declared.max {
        input["max"] = json!(number(max));
    }
    if let Some(min) = declared.min {
        input["min"] = json!(number(min));
    }
    if let Some(allowed) = &declared.allowed {
        input["enum"] = serde_json::to_value(allowed).unwrap_or_default();
    }
    if let Some(description) = &declared.description {
        input["description"] = json!(description);
    }
    if declared.optional {
        input["optional"] = json!(true);
    }
    if let Some(mode) = declared.mode {
        input["mode"] = serde_json::to_value(mode).unwrap_or_default();
    }
    input
}

/// `repr(float)` in Python: the shortest digits that read back the same, in scientific
/// notation (`1e-05`, `1.5e+16`) below 1e-4 and from 1e16, else with at least one decimal.
fn python_float(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let scientific = format!("{x:e}");
    let exponent: i32 = scientific.rsplit('e').next().and_then(|e| e.parse().ok()).unwrap_or(0);
    if x != 0.0 && !(-4..16).contains(&exponent) {
        let mantissa = scientific.split('e').next().unwrap_or("0");
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    let plain = format!("{x}");
    if plain.contains('.') { plain } else { format!("{plain}.0") }
}

/// A ComponentVersion read back; one registered by other tools has none of our properties,
/// so its digest is that of its spec and its code file count unknown (0).
fn component_from_arm(name: &str, resource: &Value) -> ComponentVersion {
    let props = &resource["properties"];
    let spec = &props["componentSpec"];
    let own: BTreeMap<String, String> = serde_json::from_value(props["properties"].clone()).unwrap_or_default();
    let digest = own
        .get("aml.digest")
        .and_then(|d| d.parse::<Digest>().ok())
        .unwrap_or_else(|| Digest::of_bytes(spec.to_string().as_bytes()));
    let keys = |field: &str| spec[field].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    ComponentVersion {
        name: name.to_string(),
        version: resource["name"].as_str().unwrap_or_default().to_string(),
        display_name: spec["display_name"].as_str().map(str::to_string),
        description: props["description"].as_str().or(spec["description"].as_str()).map(str::to_string),
        tags: serde_json::from_value(props["tags"].clone()).unwrap_or_default(),
        command: spec["command"].as_str().unwrap_or_default().to_string(),
        inputs: keys("inputs"),
        outputs: keys("outputs"),
        environment: own
            .get("aml.environment")
            .cloned()
            .unwrap_or_else(|| spec["environment"].as_str().unwrap_or_default().to_string()),
        digest,
        code_files: own.get("aml.code_files").and_then(|n| n.parse().ok()).unwrap_or(0),
        created_at: resource["systemData"]["createdAt"].as_str().unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::python_float;

    #[test]
    fn floats_print_as_python_prints_them() {
        for (x, python) in [
            (1.0, "1.0"),
            (0.0, "0.0"),
            (0.5, "0.5"),
            (0.01, "0.01"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (123456789.0, "123456789.0"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(python_float(x), python, "{x}");
        }
    }
}
