//! Where a workspace keeps its endpoints: one folder each under `endpoints/`, named by the
//! checked endpoint name, and their locks under `endpoints/.locks/`.

use std::path::{Path, PathBuf};

use aml_core::names::EndpointName;

pub fn endpoints_dir(root: &Path) -> PathBuf {
    root.join("endpoints")
}

/// An endpoint's folder: also the mark its processes carry (`server::SERVES`).
pub fn endpoint_dir(root: &Path, endpoint: &EndpointName) -> PathBuf {
    endpoints_dir(root).join(endpoint)
}
