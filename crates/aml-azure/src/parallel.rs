//! A pipeline's parallel step as azure-ai-ml sends it: an anonymous component of type
//! `parallel` whose task names the code and environment by ARM id, and a node that repeats
//! the task and the run settings (the mini-batch size there as a number, in the component as
//! written).

use serde_json::{Map, Value, json};

use aml_core::yaml::job::{ParallelTask, PipelineStep};

pub(super) struct Parallel {
    task: Value,
    settings: Map<String, Value>,
    mini_batch_size: Option<String>,
}

impl Parallel {
    /// `code` and `environment` are the ids of what was registered for the task.
    pub(super) fn of(step: &PipelineStep, task: &ParallelTask, code: Option<&str>, environment: &str) -> Parallel {
        let mut rest_task = json!({ "type": task.kind });
        if let Some(code) = code {
            rest_task["code"] = json!(code);
        }
        for (key, value) in [
            ("entry_script", &task.entry_script),
            ("program_arguments", &task.program_arguments),
            ("model", &task.model),
            ("append_row_to", &task.append_row_to),
        ] {
            if let Some(value) = value {
                rest_task[key] = json!(value);
            }
        }
        rest_task["environment"] = json!(environment);
        let mut settings = Map::new();
        if let Some(input_data) = &step.input_data {
            settings.insert("input_data".into(), json!(input_data));
        }
        for (key, value) in [
            ("max_concurrency_per_instance", step.max_concurrency_per_instance),
            ("error_threshold", step.error_threshold),
            ("mini_batch_error_threshold", step.mini_batch_error_threshold),
        ] {
            if let Some(value) = value {
                settings.insert(key.into(), json!(value));
            }
        }
        if let Some(level) = &step.logging_level {
            settings.insert("logging_level".into(), json!(level));
        }
        if let Some(retry) = &step.retry_settings {
            let mut given = Map::new();
            for (key, value) in [("timeout", &retry.timeout), ("max_retries", &retry.max_retries)] {
                if let Some(value) = value {
                    given.insert(key.into(), serde_json::to_value(value).unwrap_or(Value::Null));
                }
            }
            settings.insert("retry_settings".into(), Value::Object(given));
        }
        Parallel { task: rest_task, settings, mini_batch_size: step.mini_batch_size.clone() }
    }

    /// The component's spec, before its name, version and interface are added.
    pub(super) fn component(&self) -> Value {
        let mut spec = self.with_settings();
        if let Some(size) = &self.mini_batch_size {
            spec["mini_batch_size"] = json!(size);
        }
        spec
    }

    /// The pipeline node, before its name, component and bindings are added.
    pub(super) fn node(&self) -> Value {
        let mut node = self.with_settings();
        if let Some(size) = &self.mini_batch_size {
            node["mini_batch_size"] = size.parse::<u64>().map_or_else(|_| json!(size), |count| json!(count));
        }
        node
    }

    fn with_settings(&self) -> Value {
        let mut value = json!({ "type": "parallel", "task": self.task });
        if let Some(object) = value.as_object_mut() {
            object.extend(self.settings.clone());
        }
        value
    }
}
