//! Resource groups and their template deployments, for `aml-infra`. Resource Manager is
//! Azure's own, so there is one backend and no seam: the azure backend's client is the API.

pub use aml_azure::deployments::{API_VERSION, Request, ResourceGroup};
