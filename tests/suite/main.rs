//! Integration tests, one binary with a module per feature (faster to link than one per file).
//! `harness` holds what they share.

#[macro_use]
pub mod harness;

mod alerts;
mod apply;
mod campaign;
mod cli;
mod compose;
mod distributed;
mod embedded;
mod examples;
mod harness_checks;
mod invalid_manifests;
mod loadgen;
mod locust;
mod prometheus;
mod schema_drift;
mod server;
mod swarm;

pub use harness::{free_port, gateway_metric, rel, root, runs, soy, text};
