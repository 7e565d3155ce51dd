//! `report.baseline`: a run judged against a stored run as it ends. The baseline is named
//! as `latest` (this experiment's most recent earlier run), a run directory, or a git ref
//! (the most recent stored run of the experiment made at that commit). A baseline that
//! cannot be found or read is said in the report; it never costs the run its data.

use std::path::{Path, PathBuf};

use super::input::{self, Parts};
use super::judge::{self, Options};
use crate::report::summary::BaselineSummary;

/// The run `spec` names, other than `current`.
pub fn resolve(
    spec: &str,
    out: &Path,
    experiment: &str,
    current: &Path,
    manifest_dir: &Path,
) -> Result<PathBuf, String> {
    let current = std::fs::canonicalize(current).unwrap_or_else(|_| current.to_path_buf());
    let earlier = || {
        input::runs_of(out, Some(experiment))
            .into_iter()
            .filter(|d| std::fs::canonicalize(d).map_or(true, |d| d != current))
            .collect::<Vec<_>>()
    };
    if spec == "latest" {
        return earlier().into_iter().next().ok_or_else(|| {
            format!(
                "no earlier run of `{experiment}` under {}: nothing to compare with yet",
                out.display()
            )
        });
    }
    let path = manifest_dir.join(spec);
    if path.is_dir() {
        return std::fs::canonicalize(&path).map_err(|e| format!("{}: {e}", path.display()));
    }
    let commit = git_commit(manifest_dir, spec).ok_or_else(|| {
        format!("`{spec}` is neither `latest`, a run directory (from the manifest's folder) nor a git ref")
    })?;
    earlier()
        .into_iter()
        .find(|d| run_commit(d).as_deref() == Some(commit.as_str()))
        .ok_or_else(|| {
            format!(
                "no stored run of `{experiment}` under {} was made at `{spec}` ({})",
                out.display(),
                &commit[..commit.len().min(12)]
            )
        })
}

fn git_commit(dir: &Path, reference: &str) -> Option<String> {
    if reference.starts_with('-') {
        return None;
    }
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("{reference}^{{commit}}"))
        .output()
        .ok()?;
    let sha = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !sha.is_empty()).then_some(sha)
}

fn run_commit(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(crate::run::bundle::files::SUMMARY)).ok()?;
    let s: crate::report::summary::Summary = serde_json::from_str(&text).ok()?;
    s.git.map(|g| g.commit)
}

/// The current run (still in memory) against the baseline `spec`.
pub fn against(
    spec: &str,
    current: &Parts<'_>,
    out: &Path,
    manifest_dir: &Path,
) -> BaselineSummary {
    let not = |why: String| BaselineSummary {
        spec: spec.to_string(),
        base: None,
        base_dir: None,
        headline: format!("not compared: {why}"),
        regressions: 0,
        improvements: 0,
        rows: Vec::new(),
        notes: Vec::new(),
    };
    let dir = match resolve(spec, out, current.experiment, current.dir, manifest_dir) {
        Ok(d) => d,
        Err(why) => return not(why),
    };
    let base = match input::read(&dir) {
        Ok(b) => b,
        Err(e) => return not(e.to_string()),
    };
    let c = judge::compare(&base, &input::build(current), &Options::default());
    BaselineSummary {
        spec: spec.to_string(),
        base: Some(c.base.clone()),
        base_dir: Some(c.base_dir.clone()),
        headline: super::render::headline(&c),
        regressions: c.regressions,
        improvements: c.improvements,
        rows: c.rows.iter().map(super::render::row_view).collect(),
        notes: c.notes,
    }
}
