//! Metrics: the PromQL queries an experiment collects, and (in later issues) the clients
//! that answer them.

pub mod cadvisor;
pub mod embedded;
pub mod openmetrics;
pub mod presets;
pub mod prometheus;
pub mod query;
