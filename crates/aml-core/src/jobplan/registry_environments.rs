//! Azure ML's own environments — the `azureml` registry's
//! (`azureml://registries/azureml/environments/NAME/…`) and their curated names in every
//! workspace (`azureml:AzureML-NAME@latest`) — as the local backend builds them: from the
//! definitions Azure/azureml-assets publishes, indexed in `azureml-assets/index.json` by
//! `cargo xtask assets-index`. An environment whose conda file lists its Python and packages
//! becomes a virtualenv of them on that Python; one defined only by a Dockerfile or by
//! requirements on top of a prepared image cannot be rebuilt without a container engine, and
//! says so. On Azure ML the reference is sent as it is written: Azure resolves it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use crate::yaml::environment::CondaFile;

#[derive(serde::Deserialize)]
struct Index {
    commit: String,
    date: String,
    environments: BTreeMap<String, Published>,
}

/// One environment's published build context, as azureml-assets has it.
#[derive(serde::Deserialize)]
struct Published {
    path: String,
    image: Option<String>,
    conda_file: Option<String>,
    requirements: Option<String>,
}

static INDEX: LazyLock<Result<Index, String>> =
    LazyLock::new(|| serde_json::from_str(include_str!("azureml-assets/index.json")).map_err(|e| e.to_string()));

/// The name of the `azureml` registry's environment a reference names, with the version or
/// label it asks for; None for anything else (a workspace's own environments, other registries).
pub fn azureml_environment(reference: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = reference.strip_prefix("azureml://registries/azureml/environments/") {
        let mut parts = rest.split('/');
        let name = parts.next().filter(|n| !n.is_empty())?;
        return Some((name, parts.nth(1)));
    }
    let rest = reference.strip_prefix("azureml:")?;
    let curated = rest.get(..8).filter(|p| p.eq_ignore_ascii_case("AzureML-")).map(|_| &rest[8..])?;
    let (name, version) = match curated.split_once(['@', ':']) {
        Some((name, version)) => (name, Some(version)),
        None => (curated, None),
    };
    (!name.is_empty()).then_some((name, version))
}

/// What the local backend can build of one of Azure ML's own environments.
pub(super) enum Resolved {
    /// Its published conda file, and what to say of it.
    Conda { conda: CondaFile, about: About },
    /// Why it cannot be built here.
    Unbuildable(String),
}

/// Where a published environment comes from, for the warning that says so.
pub(super) struct About {
    name: String,
    path: String,
    at: String,
    image: String,
    version: Option<String>,
}

impl About {
    pub(super) fn warning(&self, field: &str, reference: &str, python: Option<&str>) -> String {
        format!(
            "{field}: `{reference}` is Azure ML's `{}` environment: locally, a virtualenv of the packages its published conda file lists{} ({}, `{}`), without its image `{}`{}",
            self.name,
            python.map(|p| format!(" on Python {p}")).unwrap_or_default(),
            self.at,
            self.path,
            self.image,
            match self.version.as_deref() {
                Some(version) if version != "latest" => {
                    format!("; `{version}` is built from the definition published then, which may differ from this one")
                }
                _ => String::new(),
            }
        )
    }
}

/// How the local backend builds `reference`, if it names one of Azure ML's own environments.
pub(super) fn resolve(reference: &str) -> Option<Resolved> {
    let (name, version) = azureml_environment(reference)?;
    let index = match &*INDEX {
        Ok(index) => index,
        Err(damaged) => {
            return Some(Resolved::Unbuildable(format!("the index of Azure ML's environments is damaged ({damaged})")));
        }
    };
    let at = format!("Azure/azureml-assets@{} ({})", &index.commit[..7.min(index.commit.len())], index.date);
    let Some((name, published)) = index
        .environments
        .get_key_value(name)
        .or_else(|| index.environments.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)))
    else {
        return Some(Resolved::Unbuildable(format!(
            "`{name}` is not among the {} environments {at} publishes",
            index.environments.len()
        )));
    };
    let image = published.image.as_deref().map_or("no image", without_publish_tag);
    let Some(conda_text) = &published.conda_file else {
        return Some(Resolved::Unbuildable(match &published.requirements {
            Some(_) => format!(
                "Azure ML's `{name}` environment installs its requirements.txt on top of the image `{image}`, whose Python and packages no published file lists ({at}, `{}`)",
                published.path
            ),
            None => format!(
                "Azure ML's `{name}` environment is defined by a Dockerfile on `{image}` alone: no container engine here builds it ({at}, `{}`)",
                published.path
            ),
        }));
    };
    Some(match crate::yaml::parse(Path::new(&published.path), &without_publish_pins(conda_text)) {
        Ok(conda) => Resolved::Conda {
            conda,
            about: About {
                name: name.clone(),
                path: published.path.clone(),
                at,
                image: image.to_string(),
                version: version.map(str::to_string),
            },
        },
        Err(e) => Resolved::Unbuildable(format!("its published conda file does not read: {e}")),
    })
}

/// An image without the tag azureml-assets fills in when it publishes (`:{{latest-image-tag}}`).
fn without_publish_tag(image: &str) -> &str {
    image.find(":{{").map_or(image, |tag| &image[..tag])
}

/// azureml-assets pins packages to `{{latest-pypi-version}}` (filled in when it publishes an
/// image): locally that is the latest version when the virtualenv is built.
fn without_publish_pins(conda: &str) -> String {
    let mut out = String::with_capacity(conda.len());
    let mut rest = conda;
    while let Some(start) = rest.find("{{latest-pypi-version") {
        let before = rest[..start].trim_end_matches(['=', '~', '<', '>', '!', ' ']);
        out.push_str(before);
        rest = rest[start..].find("}}").map_or("", |end| &rest[start + end + 2..]);
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_and_curated_references_name_the_same_environment() {
        for (reference, expected) in [
            (
                "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
                Some(("sklearn-1.5", Some("latest"))),
            ),
            ("azureml://registries/azureml/environments/sklearn-1.5/versions/24", Some(("sklearn-1.5", Some("24")))),
            ("azureml://registries/azureml/environments/sklearn-1.5", Some(("sklearn-1.5", None))),
            ("azureml:AzureML-sklearn-1.5@latest", Some(("sklearn-1.5", Some("latest")))),
            ("azureml:azureml-lightgbm-3.3:7", Some(("lightgbm-3.3", Some("7")))),
            ("azureml:AzureML-", None),
            ("azureml://registries/other/environments/sklearn-1.5/labels/latest", None),
            ("azureml:my-env@latest", None),
            ("azureml:AzureM", None),
        ] {
            assert_eq!(azureml_environment(reference), expected, "{reference}");
        }
    }

    #[test]
    fn publish_time_pins_become_the_latest_version() {
        let conda = "- pip:\n  - azureml-core=={{latest-pypi-version}}\n  - mlflow[x]~={{latest-pypi-version}}\n  - a=={{latest-pypi-version:pre}}  # c\n  - numpy\n";
        assert_eq!(without_publish_pins(conda), "- pip:\n  - azureml-core\n  - mlflow[x]\n  - a  # c\n  - numpy\n");
    }

    #[test]
    fn publish_time_tags_are_left_out_of_image_names() {
        assert_eq!(
            without_publish_tag("mcr.microsoft.com/a/b:{{latest-image-tag:biweekly\\.\\d{6}}}"),
            "mcr.microsoft.com/a/b"
        );
        assert_eq!(without_publish_tag("ubuntu:24.04"), "ubuntu:24.04");
    }

    #[test]
    fn the_vendored_index_reads() {
        let index = INDEX.as_ref().map_err(Clone::clone);
        assert!(index.as_ref().is_ok_and(|i| i.environments.contains_key("sklearn-1.5")), "{:?}", index.err());
    }
}
