//! Exit codes, defined once. README documents them.

/// Everything passed.
pub const OK: u8 = 0;
/// The run completed but an SLO failed.
pub const SLO_FAILED: u8 = 1;
/// The manifest is invalid, or the command line is wrong.
pub const INVALID: u8 = 2;
/// A runtime failure: deploy, load or metrics.
pub const RUNTIME: u8 = 3;
/// Interrupted by Ctrl-C (SIGINT).
pub const INTERRUPTED: u8 = 130;
