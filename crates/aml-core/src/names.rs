//! Every name and version the tools take, checked at the edge against Azure ML's own rule,
//! before anything is opened: a flag, a YAML field, a reference. A name that passes can be
//! a path segment (no `/`, no `..`, never empty), which is what the local backend builds
//! its folders from; the newtypes below are the only way to get one.
//!
//! The rules, and where they come from:
//! - endpoints and deployments: 3 to 32 characters, a letter first, then letters, digits
//!   and `-`, not ending in `-` (azure-ai-ml, `validate_endpoint_or_deployment_name`);
//! - jobs, experiments and datastores: a letter or digit, then up to 254 letters, digits, `-`
//!   and `_` (the REST spec's pattern for their names, `^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$`);
//! - assets (models, environments, data): the same, and `.` between other characters, as
//!   workspaces and registries hold them (`sklearn-1.5`, `my.model`);
//! - components: a lower-case letter, then lower-case letters, digits and `_` (azure-ai-ml's
//!   `PythonFuncNameStr`, `^[a-z][a-z\d_]*$`);
//! - versions: what Azure ML's version segment may be: a letter or digit, then up to 63
//!   letters, digits, `.`, `-` and `_` (`1`, `2.0.1`, `2024-06-01`, `v3`);
//! - input and output names: azure-ai-ml's `IOConstants.VALID_KEY_PATTERN` (identifier keys,
//!   `.` between them);
//! - tag keys: 1 to 256 characters, none of them a control character or one of `<>%&\?/`
//!   (Azure resource tags' rule).

use std::fmt;

use crate::error::Error;

/// Which rule a name is held to, and what to call it in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Endpoint,
    Deployment,
    Job,
    Experiment,
    /// Assets: `.` is allowed too, as workspaces and registries hold such names.
    Model,
    Environment,
    Component,
    Data,
    Datastore,
    /// A compute target: a cluster, an instance or an attached Kubernetes cluster.
    Compute,
    Output,
    Version,
    TagKey,
}

impl NameKind {
    pub fn what(self) -> &'static str {
        match self {
            NameKind::Endpoint => "endpoint name",
            NameKind::Deployment => "deployment name",
            NameKind::Job => "job name",
            NameKind::Experiment => "experiment name",
            NameKind::Model => "model name",
            NameKind::Environment => "environment name",
            NameKind::Component => "component name",
            NameKind::Data => "data asset name",
            NameKind::Datastore => "datastore name",
            NameKind::Compute => "compute name",
            NameKind::Output => "input or output name",
            NameKind::Version => "version",
            NameKind::TagKey => "tag key",
        }
    }

    /// The rule, as the hint says it.
    pub fn rule(self) -> &'static str {
        match self {
            NameKind::Endpoint | NameKind::Deployment => {
                "3 to 32 characters: a letter first, then letters, digits and `-`, not ending in `-`"
            }
            NameKind::Model | NameKind::Environment | NameKind::Data => {
                "a letter or digit first, then up to 254 letters, digits, `-`, `_` and `.`"
            }
            NameKind::Component => "a lower-case letter first, then lower-case letters, digits and `_`",
            NameKind::Version => "a letter or digit first, then up to 63 letters, digits, `.`, `-` and `_`",
            NameKind::TagKey => {
                "1 to 256 characters, none of them a control character or `<`, `>`, `%`, `&`, `\\`, `?`, `/`"
            }
            NameKind::Output => "letters, digits and `_`, not starting with a digit (`.` between such keys)",
            NameKind::Compute => {
                "2 to 24 characters: a letter first, then letters, digits and `-`, ending in a letter or digit"
            }
            _ => "a letter or digit first, then up to 254 letters, digits, `-` and `_`",
        }
    }

    /// Whether `text` follows this kind's rule.
    pub fn accepts(self, text: &str) -> bool {
        let mut chars = text.chars();
        let Some(first) = chars.next() else { return false };
        match self {
            NameKind::Endpoint | NameKind::Deployment => {
                (3..=32).contains(&text.len())
                    && first.is_ascii_alphabetic()
                    && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !text.ends_with('-')
            }
            NameKind::Component => {
                text.len() <= 255
                    && first.is_ascii_lowercase()
                    && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            }
            NameKind::Model | NameKind::Environment | NameKind::Data => {
                text.len() <= 255
                    && first.is_ascii_alphanumeric()
                    && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    && text != "."
                    && !text.contains("..")
            }
            NameKind::Version => {
                text.len() <= 64
                    && first.is_ascii_alphanumeric()
                    && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                    && !text.contains("..")
            }
            NameKind::TagKey => {
                text.chars().count() <= 256
                    && !text.chars().any(|c| c.is_control() || matches!(c, '<' | '>' | '%' | '&' | '\\' | '?' | '/'))
            }
            NameKind::Output => {
                // azure-ai-ml's IOConstants.VALID_KEY_PATTERN.
                text.len() <= 255
                    && text.split('.').all(|key| {
                        key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    })
            }
            NameKind::Compute => {
                (2..=24).contains(&text.len())
                    && first.is_ascii_alphabetic()
                    && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !text.ends_with('-')
            }
            NameKind::Job | NameKind::Experiment | NameKind::Datastore => {
                text.len() <= 255
                    && first.is_ascii_alphanumeric()
                    && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            }
        }
    }

    /// `Ok` when `text` follows the rule, else what is wrong, for a message.
    pub fn check(self, text: &str) -> Result<(), String> {
        if self.accepts(text) {
            return Ok(());
        }
        let shown: String = text.chars().take(80).flat_map(char::escape_debug).collect();
        let shown = if text.chars().count() > 80 { format!("{shown}…") } else { shown };
        Err(format!("`{shown}` is not a valid {}", self.what()))
    }

    /// The check as bad input from a flag or argument.
    pub fn usage(self, text: &str) -> Result<(), Error> {
        self.check(text).map_err(|problem| Error::usage(problem, format!("a {} is {}", self.what(), self.rule())))
    }
}

/// For clap's `value_parser`: a flag or argument checked as a `kind` name, the rule in the
/// message (clap exits 2, as for any bad input).
fn arg(kind: NameKind, text: &str) -> Result<String, String> {
    kind.check(text)
        .map(|()| text.to_string())
        .map_err(|problem| format!("{problem}: a {} is {}", kind.what(), kind.rule()))
}

pub fn endpoint_arg(text: &str) -> Result<String, String> {
    arg(NameKind::Endpoint, text)
}

pub fn deployment_arg(text: &str) -> Result<String, String> {
    arg(NameKind::Deployment, text)
}

pub fn job_arg(text: &str) -> Result<String, String> {
    arg(NameKind::Job, text)
}

pub fn experiment_arg(text: &str) -> Result<String, String> {
    arg(NameKind::Experiment, text)
}

pub fn model_arg(text: &str) -> Result<String, String> {
    arg(NameKind::Model, text)
}

pub fn environment_arg(text: &str) -> Result<String, String> {
    arg(NameKind::Environment, text)
}

pub fn version_arg(text: &str) -> Result<String, String> {
    arg(NameKind::Version, text)
}

pub fn tag_key_arg(text: &str) -> Result<String, String> {
    arg(NameKind::TagKey, text)
}

/// For serde's `deserialize_with` on an optional name field: the value checked as `kind`, the
/// rule in the message (the YAML loader adds the file, line and field).
fn optional<'de, D: serde::Deserializer<'de>>(kind: NameKind, deserializer: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize;
    let text = Option::<String>::deserialize(deserializer)?;
    if let Some(text) = &text {
        kind.check(text).map_err(|problem| serde::de::Error::custom(format!("{problem} ({})", kind.rule())))?;
    }
    Ok(text)
}

pub fn optional_job<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    optional(NameKind::Job, deserializer)
}

pub fn optional_experiment<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    optional(NameKind::Experiment, deserializer)
}

pub fn optional_environment<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    optional(NameKind::Environment, deserializer)
}

pub fn optional_data<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    optional(NameKind::Data, deserializer)
}

pub fn data_arg(text: &str) -> Result<String, String> {
    arg(NameKind::Data, text)
}

pub fn optional_component<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    optional(NameKind::Component, deserializer)
}

pub fn optional_model<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    optional(NameKind::Model, deserializer)
}

macro_rules! name_type {
    ($(#[doc = $doc:literal])* $name:ident, $kind:expr) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub const KIND: NameKind = $kind;

            /// The name, if it follows the rule; bad input otherwise.
            pub fn new(text: &str) -> Result<$name, Error> {
                Self::KIND.usage(text)?;
                Ok($name(text.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(text: &str) -> Result<$name, Error> {
                $name::new(text)
            }
        }

        // Deref to `str` so a checked name goes wherever a name is read; only the
        // constructors above make one, so a path built from it is always safe.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl AsRef<std::path::Path> for $name {
            fn as_ref(&self) -> &std::path::Path {
                std::path::Path::new(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::KIND
                    .check(&text)
                    .map_err(|problem| serde::de::Error::custom(format!("{problem} ({})", Self::KIND.rule())))?;
                Ok($name(text))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

name_type!(
    /// An online endpoint's name: also its folder in a local workspace.
    EndpointName,
    NameKind::Endpoint
);
name_type!(
    /// A deployment's name: also its folder under its endpoint's.
    DeploymentName,
    NameKind::Deployment
);
name_type!(
    /// A job's name: also its folder in a local workspace.
    JobName,
    NameKind::Job
);
name_type!(
    /// A compute's name: also the last segment of its ARM id.
    ComputeName,
    NameKind::Compute
);
name_type!(
    /// A datastore's name: also its folder in a local workspace.
    DatastoreName,
    NameKind::Datastore
);

/// A relative path under a folder the workspace owns (a datastore path): each segment a
/// plain name, none empty, `.` or `..`, so it cannot leave that folder.
pub fn relative_path(text: &str) -> Result<std::path::PathBuf, Error> {
    let bad = || {
        Error::usage(
            format!("`{}` is not a relative path inside its folder", text.escape_debug()),
            "give a relative path of plain names: no `..`, no leading `/`, no empty segment",
        )
    };
    if text.is_empty() || text.starts_with('/') || text.contains('\0') {
        return Err(bad());
    }
    let mut path = std::path::PathBuf::new();
    for segment in text.trim_end_matches('/').split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(bad());
        }
        path.push(segment);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(kind: NameKind, text: &str, ok: bool) {
        assert_eq!(kind.accepts(text), ok, "{} `{text}`", kind.what());
    }

    #[test]
    fn endpoints_and_deployments_follow_azure_ml() {
        for good in ["diabetes", "blue", "abc", "a-b-c", "Ep1", &"a".repeat(32)] {
            check(NameKind::Endpoint, good, true);
        }
        for bad in [
            "",
            "ab",
            ".",
            "..",
            "../../victim",
            "1abc",
            "-abc",
            "abc-",
            "a_b",
            "a.b",
            "{{ENDPOINT_NAME}}",
            &"a".repeat(33),
        ] {
            check(NameKind::Endpoint, bad, false);
            check(NameKind::Deployment, bad, false);
        }
    }

    #[test]
    fn versions_cannot_be_paths() {
        for good in ["1", "10", "2.0.1", "2024-06-01", "v3", "a_b"] {
            check(NameKind::Version, good, true);
        }
        for bad in ["", "../1", "a/b", "..", "1 2", "-1", "x:", ".1", "1..2", &"1".repeat(65)] {
            check(NameKind::Version, bad, false);
        }
    }

    #[test]
    fn asset_and_job_names() {
        check(NameKind::Job, "sincere_house_2gmt7kxs", true);
        check(NameKind::Job, "a.b", false);
        check(NameKind::Job, "../x", false);
        check(NameKind::Model, "sklearn.diabetes", true);
        check(NameKind::Model, "..", false);
        check(NameKind::Model, "a..b", false);
        check(NameKind::TagKey, "stage", true);
        check(NameKind::TagKey, "", false);
        check(NameKind::TagKey, "a/b", false);
    }

    #[test]
    fn relative_paths_stay_inside() {
        assert!(relative_path("data/train.csv").is_ok());
        for bad in ["", "/etc/passwd", "../x", "a/../../b", "a//b", "./a"] {
            assert!(relative_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_deserialize_with_the_rule_in_the_message() {
        let error = yaml_serde::from_str::<EndpointName>("../../victim").unwrap_err().to_string();
        assert!(error.contains("not a valid endpoint name") && error.contains("3 to 32 characters"), "{error}");
        assert_eq!(yaml_serde::from_str::<EndpointName>("diabetes").unwrap().as_str(), "diabetes");
    }
}
