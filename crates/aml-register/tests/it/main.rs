//! `aml-register`'s integration tests, one binary for the crate (fewer links, less disk): a module
//! per area, each running the real binaries.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is the test failing

mod azure;
mod ci;
mod components;
mod data;
mod durability;
mod environments;
mod register;
