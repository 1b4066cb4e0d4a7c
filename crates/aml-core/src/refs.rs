//! References as `az ml` writes them, resolved the same way by every tool and backend:
//! `diabetes:3`, `azureml:diabetes@latest`, `diabetes@stage=production`,
//! `azureml://jobs/<job>/outputs/<output>`, `azureml://datastores/<ds>/paths/<p>`.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::model::VersionSelector;

/// A model version reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    pub name: String,
    pub selector: VersionSelector,
}

impl FromStr for ModelRef {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self, Error> {
        let bare = text.strip_prefix("azureml:").unwrap_or(text);
        let (name, selector) = if let Some((name, label)) = bare.split_once('@') {
            match label.split_once('=') {
                Some((key, value)) if !key.is_empty() => {
                    crate::names::NameKind::TagKey.check(key).map_err(|problem| {
                        Error::usage(
                            format!("`{text}`: {problem}"),
                            format!("a tag key is {}", crate::names::NameKind::TagKey.rule()),
                        )
                    })?;
                    (name, VersionSelector::Tag { key: key.into(), value: value.into() })
                }
                None if label == "latest" => (name, VersionSelector::Latest),
                _ => {
                    return Err(Error::usage(
                        format!("`{text}`: `@{label}` is neither `@latest` nor `@<tag>=<value>`"),
                        "write `diabetes@latest` or `diabetes@stage=production`",
                    ));
                }
            }
        } else if let Some((name, version)) = bare.rsplit_once(':') {
            if version.is_empty() {
                return Err(Error::usage(format!("`{text}` has an empty version"), "write `diabetes:3`"));
            }
            crate::names::NameKind::Version.check(version).map_err(|problem| {
                Error::usage(
                    format!("`{text}`: {problem}"),
                    format!("a version is {}", crate::names::NameKind::Version.rule()),
                )
            })?;
            (name, VersionSelector::Exact(version.into()))
        } else {
            (bare, VersionSelector::Latest)
        };
        check_name(name, "model name")
            .map_err(|e| Error::usage(format!("`{text}`: {e}"), e.hint().unwrap_or_default().to_string()))?;
        Ok(ModelRef { name: name.into(), selector })
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.selector {
            VersionSelector::Exact(v) => write!(f, "{}:{v}", self.name),
            VersionSelector::Latest => write!(f, "{}@latest", self.name),
            VersionSelector::Tag { key, value } => write!(f, "{}@{key}={value}", self.name),
        }
    }
}

/// A model name as Azure ML accepts it (`names::NameKind::Model`); `what` names the kind
/// of name in the message ("model name").
pub fn check_name(name: &str, what: &str) -> Result<(), Error> {
    let kind = crate::names::NameKind::Model;
    if kind.accepts(name) {
        return Ok(());
    }
    let shown: String = name.chars().take(80).flat_map(char::escape_debug).collect();
    Err(Error::usage(format!("`{shown}` is not a valid {what}"), format!("a {what} is {}", kind.rule())))
}

/// Where data for an input or a model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataRef {
    LocalPath(String),
    JobOutput {
        job: String,
        output: String,
    },
    Datastore {
        datastore: String,
        path: String,
    },
    /// `azureml:name:version` data assets.
    Registered(String),
    /// `https://`, `wasbs://`, `abfss://` and the like.
    Remote(String),
}

impl DataRef {
    pub fn parse(text: &str) -> DataRef {
        if let Some(rest) = text.strip_prefix("azureml://jobs/") {
            let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
            if let [job, "outputs", output] = parts.as_slice() {
                return DataRef::JobOutput { job: (*job).into(), output: (*output).into() };
            }
        }
        if let Some(rest) = text.strip_prefix("azureml://datastores/")
            && let Some((datastore, path)) = rest.split_once("/paths/")
        {
            return DataRef::Datastore { datastore: datastore.into(), path: path.into() };
        }
        if text.starts_with("azureml:") {
            return DataRef::Registered(text.into());
        }
        if let Some((scheme, _)) = text.split_once("://")
            && scheme != "file"
        {
            return DataRef::Remote(text.into());
        }
        DataRef::LocalPath(text.strip_prefix("file://").or_else(|| text.strip_prefix("file:")).unwrap_or(text).into())
    }
}

pub fn job_output_uri(job: &str, output: &str) -> String {
    format!("azureml://jobs/{job}/outputs/{output}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expected: &str) {
        let parsed: Result<ModelRef, Error> = text.parse();
        let shown = match parsed {
            Ok(r) => format!("{:?} {:?}", r.name, r.selector),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(shown, expected);
    }

    #[test]
    fn model_references() {
        check("diabetes:3", r#""diabetes" Exact("3")"#);
        check("azureml:diabetes:3", r#""diabetes" Exact("3")"#);
        check("azureml:diabetes@latest", r#""diabetes" Latest"#);
        check("diabetes", r#""diabetes" Latest"#);
        check("diabetes@stage=production", r#""diabetes" Tag { key: "stage", value: "production" }"#);
        check("diabetes@prod", "error: `diabetes@prod`: `@prod` is neither `@latest` nor `@<tag>=<value>`");
        // A tag key is held to Azure ML's rule; its value is free text, as Azure ML's are.
        assert!("diabetes@../=x".parse::<ModelRef>().is_err());
        check("diabetes@stage=../x", r#""diabetes" Tag { key: "stage", value: "../x" }"#);
        check("dia betes:1", "error: `dia betes:1`: `dia betes` is not a valid model name");
    }

    #[test]
    fn data_references() {
        assert_eq!(
            DataRef::parse("azureml://jobs/j1/outputs/model"),
            DataRef::JobOutput { job: "j1".into(), output: "model".into() }
        );
        assert_eq!(DataRef::parse("./data.csv"), DataRef::LocalPath("./data.csv".into()));
        assert_eq!(DataRef::parse("file:./data.csv"), DataRef::LocalPath("./data.csv".into()));
        assert_eq!(DataRef::parse("https://x/y.csv"), DataRef::Remote("https://x/y.csv".into()));
        assert_eq!(
            DataRef::parse("azureml://datastores/workspaceblobstore/paths/raw/d.csv"),
            DataRef::Datastore { datastore: "workspaceblobstore".into(), path: "raw/d.csv".into() }
        );
    }
}
