//! `aml-infra`'s integration tests: the real binary on the repository's own templates, and
//! on copies of them broken one way at a time.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is the test failing

mod deploy;
mod validate;
