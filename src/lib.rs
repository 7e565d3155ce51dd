//! soy: performance experiments from declarative manifests.
//!
//! The run flows `manifest → plan → stack → load → metrics → analysis → report`;
//! see ARCHITECTURE.md for the module map and its invariants.

pub mod analysis;
pub mod campaign;
pub mod cli;
pub mod clock;
pub mod compare;
pub mod compose;
pub mod demo;
pub mod error;
pub mod exit;
pub mod exposition;
pub mod http;
pub mod load;
pub mod manifest;
pub mod metrics;
pub mod plan;
pub mod process;
pub mod promql;
pub mod report;
pub mod rules;
pub mod run;
pub mod scrape;
pub mod splitmix;
pub mod stack;
pub mod tsdb;
