//! What `aml-infra` prints. The JSON is a public contract: `validate` guarantees `template`,
//! `parameters_file`, `resources` (each `type`, `name`, `api_version`, `deployed`) and
//! `parameters`; `what-if` and `deploy`/`outputs` guarantee what their types say. Fields
//! are only ever added; secure parameters never appear.

use std::collections::BTreeMap;
use std::io::{self, Write};

use aml_client::arm_template::Checked;
use aml_client::arm_template::changes::{Change, Outputs};

use crate::cli::{ChangeKind, PlanArgs, TargetArgs};
use aml_client::cli::Report;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
pub struct Validated {
    pub template: String,
    pub parameters_file: String,
    #[serde(flatten)]
    pub checked: Checked,
}

impl Report for Validated {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let deployed = self.checked.resources.iter().filter(|r| r.deployed).count();
        writeln!(out, "ok: {} with {} ({deployed} resources)", self.template, self.parameters_file)?;
        for resource in &self.checked.resources {
            let name = resource.name.as_deref().unwrap_or("(named by Azure at deployment)");
            let skipped = if resource.deployed { "" } else { "  (condition false: skipped)" };
            writeln!(out, "  {:<55} {name}{skipped}", resource.resource_type)?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// `what-if`'s result. JSON: `resource_group`, `deployment`, `mode`, `changes` (each
/// `resource_id`, `change_type`, `delta` of `path`, `change`, `before`, `after`), `counts`
/// by change type, `note` when the group does not exist, `fail_on` and `failed`.
#[derive(Serialize)]
pub struct WhatIf {
    pub resource_group: String,
    pub deployment: String,
    pub mode: String,
    pub changes: Vec<Change>,
    pub counts: BTreeMap<String, usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub fail_on: Vec<String>,
    pub failed: bool,
}

impl WhatIf {
    pub fn new(plan: &PlanArgs, changes: Vec<Change>, note: Option<String>, fail_on: &[ChangeKind]) -> WhatIf {
        let mut counts = BTreeMap::new();
        for change in &changes {
            *counts.entry(change.change_type.clone()).or_insert(0) += 1;
        }
        let fail_on: Vec<String> = fail_on.iter().map(|k| k.arm().to_string()).collect();
        let failed = changes.iter().any(|c| fail_on.iter().any(|kind| c.is(kind)));
        WhatIf {
            resource_group: plan.target.resource_group.clone(),
            deployment: plan.target.name.clone(),
            mode: plan.mode.arm().to_string(),
            changes,
            counts,
            note,
            fail_on,
            failed,
        }
    }

    fn tally(&self) -> String {
        let count = |kind: &str| self.counts.get(kind).copied().unwrap_or(0);
        format!(
            "{} to create, {} to modify, {} to delete, {} unchanged, {} ignored",
            count("Create"),
            count("Modify"),
            count("Delete"),
            count("NoChange"),
            count("Ignore")
        )
    }
}

fn shown_value(value: &Option<Value>) -> String {
    match value {
        None => "(none)".into(),
        Some(value) => {
            let text = value.to_string();
            if text.chars().count() > 80 { format!("{}…", text.chars().take(79).collect::<String>()) } else { text }
        }
    }
}

impl Report for WhatIf {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "what-if: deployment `{}` into `{}` ({})", self.deployment, self.resource_group, self.mode)?;
        if let Some(note) = &self.note {
            writeln!(out, "  {note}")?;
        }
        for change in &self.changes {
            writeln!(out, "  {:<9} {:<55} {}", change.change_type, change.resource_type(), change.name())?;
            for property in &change.delta {
                writeln!(
                    out,
                    "      {} {}: {} → {}",
                    property.change,
                    property.path,
                    shown_value(&property.before),
                    shown_value(&property.after)
                )?;
            }
        }
        writeln!(out, "{}", self.tally())?;
        if self.failed {
            writeln!(out, "failed: a change of a kind --fail-on lists ({})", self.fail_on.join(", "))?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn exit_code(&self) -> u8 {
        u8::from(self.failed)
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        let count = |kind: &str| self.counts.get(kind).copied().unwrap_or(0).to_string();
        vec![
            ("creates", count("Create")),
            ("modifies", count("Modify")),
            ("deletes", count("Delete")),
            ("changed", (self.changes.iter().any(|c| c.is("Create") || c.is("Modify") || c.is("Delete"))).to_string()),
        ]
    }

    fn summary(&self) -> Option<String> {
        let mut text = format!(
            "### What-if: `{}` into `{}`\n\n{}\n\n| change | type | name |\n|---|---|---|\n",
            self.deployment,
            self.resource_group,
            self.tally()
        );
        for change in &self.changes {
            text.push_str(&format!(
                "| {} | `{}` | `{}` |\n",
                change.change_type,
                change.resource_type(),
                change.name()
            ));
            for property in &change.delta {
                text.push_str(&format!(
                    "| | {} `{}` | `{}` → `{}` |\n",
                    property.change,
                    property.path,
                    shown_value(&property.before).replace('|', "\\|"),
                    shown_value(&property.after).replace('|', "\\|")
                ));
            }
        }
        if let Some(note) = &self.note {
            text.push_str(&format!("\n{note}\n"));
        }
        Some(text)
    }
}

/// `deploy`'s and `outputs`' result. JSON: `resource_group`, `deployment`, `outputs` (each
/// output's value by name). In CI each output is an output variable of its own name.
#[derive(Serialize)]
pub struct Deployed {
    pub resource_group: String,
    pub deployment: String,
    pub outputs: Outputs,
}

impl Deployed {
    pub fn new(target: &TargetArgs, outputs: Outputs) -> Deployed {
        Deployed { resource_group: target.resource_group.clone(), deployment: target.name.clone(), outputs }
    }
}

fn output_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Report for Deployed {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "deployed: `{}` in `{}`", self.deployment, self.resource_group)?;
        for (name, value) in &self.outputs {
            writeln!(out, "  {name:<24} {}", output_text(value))?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn named_ci_outputs(&self) -> Vec<(String, String)> {
        self.outputs.iter().map(|(name, value)| (name.clone(), output_text(value))).collect()
    }

    fn summary(&self) -> Option<String> {
        let mut text = format!(
            "### Deployed `{}` into `{}`\n\n| output | value |\n|---|---|\n",
            self.deployment, self.resource_group
        );
        for (name, value) in &self.outputs {
            text.push_str(&format!("| `{name}` | `{}` |\n", output_text(value).replace('|', "\\|")));
        }
        Some(text)
    }
}
