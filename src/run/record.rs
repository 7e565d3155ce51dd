//! What a run records about itself (`run.json`): versions, host, git state, command line,
//! each phase's start and end, and how it ended.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::report::summary::{GitState, PhaseRecord, PhaseStatus};

/// `run.json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RunRecord {
    pub soy_version: String,
    pub api_version: String,
    pub run_id: String,
    pub experiment: String,
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<GitState>,
    pub command_line: Vec<String>,
    pub phases: Vec<PhaseRecord>,
    /// `passed`, `failed` (an SLO failed) or `incomplete` (a phase failed or was interrupted).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub exit_code: u8,
}

/// The git commit and dirty flag of the repository holding `dir`, if it is one.
pub fn git_state(dir: &std::path::Path) -> Option<GitState> {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = run(&["rev-parse", "HEAD"])?;
    let dirty = run(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    Some(GitState { commit, dirty })
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}
