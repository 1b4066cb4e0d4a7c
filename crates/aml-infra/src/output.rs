//! What `aml-infra` prints. The JSON is a public contract: `validate` guarantees `template`,
//! `parameters_file`, `resources` (each `type`, `name`, `api_version`, `deployed`) and
//! `parameters`. Fields are only ever added; secure parameters never appear.

use std::io::{self, Write};

use aml_client::arm_template::Checked;
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
