//! Locust as a load driver: existing locustfiles and `LoadTestShape` files run under soy's
//! lifecycle, their statistics in soy's model.
//!
//! `command` says what a run is (pure: files, flags, a generated shape), `check` asks Locust
//! about the files before anything runs, `stats` turns its snapshots and final statistics
//! into soy's rows and results (pure), `swarm` places a master and workers on the swarm, and
//! `driver` runs it.

pub mod check;
pub mod command;
pub mod driver;
pub mod stats;
pub mod swarm;

pub use command::{Layout, LocustRun};
pub use driver::{DriverError, LocustDriver};
