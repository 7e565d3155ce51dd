//! The run: lifecycle of `soy apply`, its run directory and its record.

pub mod apply;
pub mod bundle;
mod collect;
pub mod dir;
pub mod down;
pub mod record;
pub mod rerender;
pub mod state;
mod swarm_watch;
