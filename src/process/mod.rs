//! Child processes soy starts and never leaves behind: each runs under `soy supervise`
//! ([`supervise`]) in its own process group, holding a pipe only soy writes to, so it dies
//! with soy however soy ends; [`Supervised`] is soy's handle on one; [`procfs`] reads
//! `/proc` (start times, groups, usage). A lower layer: it imports nothing of soy.

pub mod procfs;
pub mod supervise;
mod supervised;

pub use supervised::{NotRunnable, Spawn, SpawnError, Supervised, find_program};
