//! The load generator: shapes, scenarios, the engine and its results, over [`crate::http`].
//!
//! Flow: `scenario` compiles the manifest's requests; `engine` runs workers whose `user`s
//! send them through `crate::http`, recording into `stats`; `results` gathers the outcome, which
//! `locust_csv` and `live` present.

pub mod cpu;
pub mod distributed;
pub mod driver;
pub mod engine;
pub mod error;
pub use error::{EngineError, ScenarioError, SetupError, TraceError};
mod exporter;
pub use exporter::{Counts, Exposition, render_counts, serve as serve_exposition};
pub mod failure;
mod fast;
mod functions;
pub mod hlog;
mod json_scan;
pub mod live;
pub mod locust;
pub mod locust_csv;
pub mod open;
mod outcome;
mod render;
pub mod results;
pub mod scenario;
pub mod segment;
pub mod setup;
pub mod shape;
pub mod stats;
mod user;
