//! The run directory's files, by name, and a stored run read back from them for `soy report`
//! and `soy query` (and later `soy compare`); `RunDir` writes them. Every file that can be
//! read is used, and every one that cannot becomes a warning naming it and why, so a damaged
//! run still renders. A run whose `soy apply` was killed (run.json still says `running`, and
//! that process is gone) reads as `incomplete: killed`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::record::RunRecord;
use super::state::RunState;
use crate::analysis::series::QueryResult;
use crate::load::results::Results;
use crate::report::summary::Summary;

/// The files of a run directory.
pub mod files {
    pub const MANIFEST: &str = "manifest.yaml";
    pub const RESOLVED: &str = "resolved.json";
    pub const RUN: &str = "run.json";
    pub const STATE: &str = "state.json";
    pub const SUMMARY: &str = "summary.json";
    pub const RESULTS: &str = "results.json";
    pub const LATENCY: &str = crate::load::hlog::PER_SECOND;
    pub const LATENCY_WINDOW: &str = crate::load::hlog::WINDOW;
    pub const SERIES: &str = "metrics/series.json";
    pub const SERIES_CSV: &str = "metrics/series.csv";
    pub const SAMPLES: &str = "metrics/samples.tsdb";
}

/// Why a directory cannot be read as a run at all.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "{dir} is not a run directory: it has neither a readable summary.json nor run.json ({why})"
    )]
    NotARun { dir: String, why: String },
    #[error("{} cannot be read", files::SAMPLES)]
    Samples(#[source] crate::tsdb::TsdbError),
    #[error(
        "{}: no embedded samples to evaluate new queries on (the run used a Prometheus source)",
        .0.display()
    )]
    NoSamples(PathBuf),
    /// The manifest given to ask new questions of an old run.
    #[error(transparent)]
    Manifest(#[from] crate::manifest::LoadError),
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    #[error("cannot serialize the summary")]
    Json(#[source] serde_json::Error),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
}

/// What a run directory holds.
#[derive(Debug, Clone)]
pub struct StoredRun {
    pub dir: PathBuf,
    /// From summary.json, or rebuilt from run.json for a run that never finished; its
    /// `warnings` list what could not be read.
    pub summary: Summary,
    pub record: Option<RunRecord>,
    pub results: Option<Results>,
    pub metrics: Vec<QueryResult>,
    /// The exact manifest the run used (empty when missing).
    pub manifest: String,
    /// The plan the run executed (`resolved.json`), `Null` when missing.
    pub resolved: Value,
    /// The text of the per-second latency log (`latency.hlog`), when the run has one (soy's
    /// own generator since issue 15).
    pub latency: Option<String>,
}

impl StoredRun {
    /// Notes a problem with the stored files.
    pub fn warn(&mut self, w: String) {
        self.summary.warnings.push(w);
    }
}

/// Reads the run in `dir`.
pub fn read(dir: &Path) -> Result<StoredRun, BundleError> {
    let mut warnings = Vec::new();
    let record: Result<RunRecord, String> = json(dir, files::RUN);
    let summary = match json::<Summary>(dir, files::SUMMARY) {
        Ok(s) => s,
        Err(why) => match &record {
            Ok(r) => {
                let killed = r.status == "running" && !still_running(dir);
                if !killed && r.status != "running" {
                    warnings.push(format!("{why}; the summary is rebuilt from run.json"));
                }
                from_record(r, killed, dir)
            }
            Err(rwhy) => {
                return Err(BundleError::NotARun {
                    dir: dir.display().to_string(),
                    why: format!("{why}; {rwhy}"),
                });
            }
        },
    };
    let results = match json::<Results>(dir, files::RESULTS) {
        Ok(r) => Some(r),
        Err(why) => {
            if summary.load.is_some() || dir.join(files::RESULTS).exists() {
                warnings.push(format!(
                    "{why}: the per-second load charts and failure details are unavailable"
                ));
            }
            None
        }
    };
    let metrics = match json::<Vec<QueryResult>>(dir, files::SERIES) {
        Ok(m) => m,
        Err(why) => {
            if !summary.metrics.is_empty() || dir.join(files::SERIES).exists() {
                warnings.push(format!("{why}: metric series are unavailable"));
            }
            Vec::new()
        }
    };
    let manifest = std::fs::read_to_string(dir.join(files::MANIFEST)).unwrap_or_else(|e| {
        warnings.push(format!("{}: {e}", files::MANIFEST));
        String::new()
    });
    let resolved = json::<Value>(dir, files::RESOLVED).unwrap_or(Value::Null);
    let mut run = StoredRun {
        dir: dir.to_path_buf(),
        summary,
        record: record.ok(),
        results,
        metrics,
        manifest,
        resolved,
        latency: std::fs::read_to_string(dir.join(files::LATENCY)).ok(),
    };
    for w in warnings {
        run.warn(w);
    }
    Ok(run)
}

fn json<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<T, String> {
    let text = std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{name} is damaged: {e}"))
}

/// Whether the `soy apply` that wrote this run is still going.
fn still_running(dir: &Path) -> bool {
    json::<RunState>(dir, files::STATE).is_ok_and(|s| s.soy_alive())
}

/// The summary of a run that did not write one.
fn from_record(r: &RunRecord, killed: bool, dir: &Path) -> Summary {
    let last = r.phases.last().map(|p| p.name.clone());
    let reason = if killed {
        Some(match last {
            Some(p) => format!("killed: soy ended without finishing, during or after `{p}`"),
            None => "killed: soy ended without finishing the run".into(),
        })
    } else if r.status == "running" {
        Some(format!(
            "still running (soy pid {})",
            json::<RunState>(dir, files::STATE).map_or(0, |s| s.soy_pid)
        ))
    } else {
        r.reason.clone()
    };
    Summary {
        experiment: r.experiment.clone(),
        description: None,
        run_id: r.run_id.clone(),
        status: if r.status == "running" {
            "incomplete".into()
        } else {
            r.status.clone()
        },
        reason,
        // A killed soy exited with no code of its own: count it as a runtime failure.
        exit_code: if killed {
            crate::exit::RUNTIME
        } else {
            r.exit_code
        },
        soy_version: r.soy_version.clone(),
        git: r.git.clone(),
        phases: r.phases.clone(),
        slos: Vec::new(),
        load: None,
        metrics: Vec::new(),
        events: Vec::new(),
        alerts: Vec::new(),
        scaling: Vec::new(),
        baseline: None,
        correlation: None,
        warnings: Vec::new(),
    }
}

impl StoredRun {
    /// The load's window: from the load's start to the collect phase (Unix seconds).
    pub fn load_window(&self) -> Option<(f64, f64)> {
        let phase = |n: &str| self.summary.phases.iter().find(|p| p.name == n);
        let load = phase("load")?;
        Some((
            load.started_at,
            phase("collect").map_or(load.ended_at, |c| c.started_at),
        ))
    }
}

/// The run's embedded samples (`metrics/samples.tsdb`); `Ok(None)` when the run has none
/// (it used a Prometheus source, or collected nothing).
pub fn samples(dir: &Path) -> Result<Option<crate::tsdb::Store>, BundleError> {
    let path = dir.join(files::SAMPLES);
    if !path.exists() {
        return Ok(None);
    }
    crate::tsdb::file::load(&path)
        .map(Some)
        .map_err(BundleError::Samples)
}
