//! `soy compare`: one or more runs against a base run, every difference judged against the
//! run-to-run noise. `input.rs` reads runs (the I/O edge), `stats.rs` holds the statistics,
//! `judge.rs` turns two runs into rows with intervals and verdicts (pure), `render.rs`
//! writes them as a terminal table, Markdown, HTML or JSON.

pub mod baseline;
pub mod input;
pub mod judge;
pub mod render;
pub mod stats;

use std::path::PathBuf;

pub use judge::{Comparison, Options, Row, Verdict};

/// Why a comparison cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`{reference}`: {why}")]
    Reference { reference: String, why: String },
    #[error("{}: {why}", .path.display())]
    Read { path: PathBuf, why: String },
    #[error("{} cannot be compared: {why}", .dir.display())]
    Run { dir: PathBuf, why: String },
    #[error("--threshold `{0}`: a percentage such as 5% (or a fraction such as 0.05)")]
    Threshold(String),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
}

/// Parses `5%` or `0.05`.
pub fn parse_threshold(s: &str) -> Result<f64, Error> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    };
    v.ok()
        .filter(|v| v.is_finite() && (0.0..10.0).contains(v))
        .ok_or_else(|| Error::Threshold(s.to_string()))
}

/// Compares each of `new` against `base`, read from their directories.
pub fn run(
    base: &std::path::Path,
    new: &[PathBuf],
    opts: &Options,
) -> Result<Vec<Comparison>, Error> {
    let base = input::read(base)?;
    new.iter()
        .map(|n| Ok(judge::compare(&base, &input::read(n)?, opts)))
        .collect()
}
