//! `state.json`: what a run has deployed so far, written as it deploys (atomically), so that
//! `soy down` can clean what a killed run left and `soy report` can tell a killed run from
//! one still going.

use serde::{Deserialize, Serialize};

use crate::process::procfs;

/// A run's deployment, as far as it got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// The `soy apply` process and its start time (`/proc/<pid>/stat`).
    pub soy_pid: i32,
    pub soy_started: u64,
    pub driver: String,
    pub stack: String,
    /// Local services: each supervisor's process group and start time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceState>,
    /// Set once teardown has run (or the stack was left running on purpose).
    #[serde(default)]
    pub finished: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    pub name: String,
    pub pgid: i32,
    pub started: u64,
}

impl RunState {
    /// The state of this process's run of `stack`.
    pub fn new(driver: &str, stack: &str) -> RunState {
        let pid = std::process::id() as i32;
        RunState {
            soy_pid: pid,
            soy_started: procfs::start_time(pid).unwrap_or_default(),
            driver: driver.into(),
            stack: stack.into(),
            services: Vec::new(),
            finished: false,
        }
    }

    /// Whether the `soy apply` that wrote this is still running.
    pub fn soy_alive(&self) -> bool {
        procfs::same_alive(self.soy_pid, self.soy_started)
    }
}
