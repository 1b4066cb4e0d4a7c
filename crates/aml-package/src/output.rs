//! What `aml-package` prints. The JSON is a public contract: `digest` (of the manifest),
//! `reference` (where the image is) and `layers` are guaranteed; fields are only added.

use std::io::{self, Write};

use aml_client::cli::Report;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct LayerView {
    /// `base`, `python dependencies`, `code`, `model`.
    pub content: String,
    pub digest: String,
    pub diff_id: String,
    pub media_type: String,
    pub size: u64,
    /// Taken from the cache: the same inputs were packaged before.
    pub cached: bool,
    /// On a push: whether the bytes were sent (false when the registry had them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Image {
    pub digest: String,
    pub reference: String,
    pub config_digest: String,
    pub model: Option<String>,
    pub base: Option<String>,
    pub python: Option<String>,
    pub platform: Option<String>,
    pub layers: Vec<LayerView>,
}

use aml_client::cli::human_size as size;

impl Report for Image {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "image {}  {}", self.reference, self.digest)?;
        for layer in &self.layers {
            let mut notes = Vec::new();
            if layer.cached {
                notes.push("cached");
            }
            match layer.sent {
                Some(true) => notes.push("sent"),
                Some(false) => notes.push("already in the registry"),
                None => {}
            }
            let notes = if notes.is_empty() { String::new() } else { format!("  ({})", notes.join(", ")) };
            writeln!(
                out,
                "  {:<20} {}  {:>9}{notes}",
                layer.content,
                &layer.digest[..19.min(layer.digest.len())],
                size(layer.size)
            )?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        vec![("imageDigest", self.digest.clone()), ("imageReference", self.reference.clone())]
    }

    fn summary(&self) -> Option<String> {
        let mut md = format!(
            "### aml-package: `{}`\n\n- digest `{}`\n\n| layer | digest | size |\n|---|---|---|\n",
            self.reference, self.digest
        );
        for layer in &self.layers {
            md.push_str(&format!(
                "| {} | `{}` | {} |\n",
                layer.content,
                &layer.digest[..19.min(layer.digest.len())],
                size(layer.size)
            ));
        }
        Some(md)
    }
}
