//! The run: `soy apply`'s lifecycle as phases over a `Run` value (`apply.rs`, then
//! `metrics_phase`, `load_phase` with `rules_phase` beside the load, `finish`), its stop signal and typed outcome (`stop`),
//! its run directory and records, and reading a stored run back (`bundle`).

pub mod apply;
mod autoscale_phase;
pub mod bundle;
mod collect;
pub mod correlation;
pub mod dir;
pub mod down;
mod finish;
pub mod index;
mod load_phase;
mod metrics_phase;
pub mod phases;
pub mod record;
pub mod rerender;
mod rules_phase;
pub mod state;
pub mod stop;
