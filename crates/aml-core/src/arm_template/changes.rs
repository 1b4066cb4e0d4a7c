//! What Azure Resource Manager says of a deployment, in the words `aml-infra` prints: a
//! what-if's changes with their property diffs, each resource operation's progress, and a
//! deployment's outputs. The JSON of these is part of `aml-infra`'s public contract.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;

/// One resource in a what-if: ARM's `WhatIfChange`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change {
    pub resource_id: String,
    /// `Create`, `Delete`, `Modify`, `NoChange`, `Ignore`, `Deploy` or `Unsupported`.
    pub change_type: String,
    /// For a `Modify`: each property that changes.
    pub delta: Vec<PropertyChange>,
}

/// ARM's `WhatIfPropertyChange`, its children flattened into dotted paths.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PropertyChange {
    pub path: String,
    /// `Create`, `Delete`, `Modify`, `Array` or `NoEffect`.
    pub change: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Json>,
}

impl Change {
    /// `Microsoft.Storage/storageAccounts` of an id.
    pub fn resource_type(&self) -> String {
        resource_type_of(&self.resource_id)
    }

    pub fn name(&self) -> String {
        let after_providers = self.resource_id.rsplit_once("/providers/").map(|(_, rest)| rest).unwrap_or_default();
        let parts: Vec<&str> = after_providers.split('/').collect();
        parts.iter().skip(2).step_by(2).copied().collect::<Vec<_>>().join("/")
    }

    /// Whether it is one of the kinds `--fail-on` lists (`delete`, `modify`, `create`).
    pub fn is(&self, kind: &str) -> bool {
        self.change_type.eq_ignore_ascii_case(kind)
    }
}

/// `Namespace/type[/child…]` of a resource id (the last provider segment's).
pub fn resource_type_of(id: &str) -> String {
    let after_providers = id.rsplit_once("/providers/").map(|(_, rest)| rest).unwrap_or_default();
    let parts: Vec<&str> = after_providers.split('/').collect();
    let mut kinds = vec![parts.first().copied().unwrap_or_default()];
    kinds.extend(parts.iter().skip(1).step_by(2).copied());
    kinds.join("/")
}

/// ARM's property changes, children flattened: `tags` with a child `project` is `tags.project`.
pub fn flatten(changes: &[Json], parent: &str, out: &mut Vec<PropertyChange>) {
    for change in changes {
        let path = change["path"].as_str().unwrap_or_default();
        let path = match (parent.is_empty(), path.starts_with('[')) {
            (true, _) => path.to_string(),
            (false, true) => format!("{parent}{path}"),
            (false, false) => format!("{parent}.{path}"),
        };
        match change.get("children").and_then(Json::as_array).filter(|c| !c.is_empty()) {
            Some(children) => flatten(children, &path, out),
            None => out.push(PropertyChange {
                path,
                change: change["propertyChangeType"].as_str().unwrap_or_default().to_string(),
                before: change.get("before").cloned(),
                after: change.get("after").cloned(),
            }),
        }
    }
}

/// One resource operation of a deployment as it stands.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Operation {
    pub resource_type: String,
    pub resource_name: String,
    /// `Running`, `Succeeded`, `Failed`, …
    pub state: String,
    /// ARM's HTTP status word: `Created`, `OK`, `BadRequest`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<OperationError>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OperationError {
    pub code: String,
    pub message: String,
}

/// A deployment's outputs by name: their values, without ARM's `{"type", "value"}` wrapping.
pub type Outputs = BTreeMap<String, Json>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_say_their_type_and_name() {
        let change = Change {
            resource_id:
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/computes/c"
                    .into(),
            change_type: "Create".into(),
            delta: Vec::new(),
        };
        assert_eq!(change.resource_type(), "Microsoft.MachineLearningServices/workspaces/computes");
        assert_eq!(change.name(), "w/c");
        assert!(change.is("create") && !change.is("delete"));
    }

    #[test]
    fn nested_property_changes_become_dotted_paths() {
        let arm = json!([
            {"path": "tags", "propertyChangeType": "Modify", "children": [
                {"path": "project", "propertyChangeType": "Modify", "before": "a", "after": "b"}]},
            {"path": "properties.retentionInDays", "propertyChangeType": "Modify", "before": 30, "after": 60}
        ]);
        let mut out = Vec::new();
        flatten(arm.as_array().map(Vec::as_slice).unwrap_or_default(), "", &mut out);
        let paths: Vec<&str> = out.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["tags.project", "properties.retentionInDays"]);
        assert_eq!(out[0].before, Some(json!("a")));
    }
}
