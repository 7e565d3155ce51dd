//! Child processes soy starts and never leaves behind: each runs under `soy supervise`
//! ([`supervise`]) in its own process group, holding a pipe only soy writes to, so it dies
//! with soy however soy ends; [`Supervised`] is soy's handle on one; [`procfs`] reads
//! `/proc` (start times, groups, usage). A lower layer: it imports nothing of soy.

pub mod procfs;
pub mod supervise;
mod supervised;

pub use supervised::{NotRunnable, Spawn, SpawnError, Supervised, find_program};

/// The environment entry that marks every process of a run's local services.
pub fn run_tag(run: &str) -> String {
    format!("SOY_RUN={run}")
}

/// The last `n` lines of a log file.
pub fn tail(path: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
