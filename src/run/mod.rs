//! The run: lifecycle of `soy apply`, its run directory and its record.

pub mod apply;
mod collect;
pub mod dir;
pub mod record;
pub mod rerender;
mod swarm_watch;
