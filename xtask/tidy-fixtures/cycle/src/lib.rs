//! A deliberately broken fixture for the tidy test: `jobs` and `plan` import each other.
pub mod jobs;
pub mod plan;
