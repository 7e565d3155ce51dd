//! Metrics: the PromQL queries an experiment collects, and (in later issues) the clients
//! that answer them.

pub mod presets;
pub mod query;
