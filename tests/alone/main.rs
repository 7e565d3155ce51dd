//! Integration tests that need the machine to themselves, because what they assert is a
//! property of timing on it: `compare` judges two runs of one configuration the same and a
//! 30% slower upstream slower; the correlation demo plants a noisy neighbour (a batch job
//! busying both cores) and checks that its CPU is found moving with the users' p95. Beside
//! the suite's other tests (a swarm of soy workers starting, another generator at full
//! speed) the bursts of those would be neighbours of their own, unplanned. Cargo runs test
//! binaries one after another, so nothing of `suite` runs beside these; within this binary
//! each test holds [`alone`] for its whole run.

use std::sync::{Mutex, MutexGuard};

// The suite's harness, shared as a file; this binary uses only part of it.
#[allow(dead_code)]
#[macro_use]
#[path = "../suite/harness.rs"]
pub mod harness;

mod compare;
mod correlate;

pub use harness::{free_port, root, soy, text};

/// Held for a test's whole run: no other test of this binary runs meanwhile.
pub fn alone() -> MutexGuard<'static, ()> {
    static MACHINE: Mutex<()> = Mutex::new(());
    MACHINE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
