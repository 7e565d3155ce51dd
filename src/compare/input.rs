//! What a comparison reads from a stored run (the I/O edge of `soy compare`): which run a
//! reference names (a directory, `latest`, `EXPERIMENT@N`), and the run's per-request
//! statistics, its latency histograms per second over the measured window, its requests
//! per second and its metric series over the same window.

use std::path::{Path, PathBuf};

use super::Error;
use super::stats::Sparse;
use crate::load::hlog;
use crate::load::results::NameStats;
use crate::run::bundle::{self, files};

/// One request name (or `Aggregated`) of a run.
#[derive(Debug, Clone)]
pub struct NameData {
    /// `METHOD name`, or `Aggregated`.
    pub key: String,
    pub stats: NameStats,
    /// Each second's latency distribution over the measured window, in microseconds
    /// (`None` without `latency.hlog`: the comparison then rests on the percentiles).
    pub seconds: Option<Vec<Sparse>>,
    /// Requests in each whole second of the window.
    pub per_second: Vec<f64>,
}

/// One metric series over the load's window.
#[derive(Debug, Clone)]
pub struct MetricData {
    /// The query's name and the series' labels, as the report shows them.
    pub key: String,
    pub query: String,
    pub unit: Option<String>,
    pub values: Vec<f64>,
}

/// A run as a comparison sees it.
#[derive(Debug, Clone)]
pub struct RunData {
    /// `<experiment>/<run id>`.
    pub label: String,
    pub dir: PathBuf,
    pub experiment: String,
    pub started_at: f64,
    /// The request names, then `Aggregated`.
    pub names: Vec<NameData>,
    pub metrics: Vec<MetricData>,
    /// Per-second p95 in milliseconds over the whole load (for charts).
    pub p95: Vec<f64>,
    /// What could not be read and what the comparison does without it.
    pub notes: Vec<String>,
}

/// The run a reference names: a run directory (or `<experiment>/latest`), `latest` (the
/// most recent run under `out`), or `EXPERIMENT@N` (the N-th most recent run of that
/// experiment under `out`, `@1` being the latest).
pub fn resolve(reference: &str, out: &Path) -> Result<PathBuf, Error> {
    let path = Path::new(reference);
    if path.is_dir() {
        return std::fs::canonicalize(path).map_err(|e| Error::Read {
            path: path.to_path_buf(),
            why: e.to_string(),
        });
    }
    let (experiment, nth) = if reference == "latest" {
        (None, 1)
    } else if let Some((exp, n)) = reference.rsplit_once('@') {
        let nth = n
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| Error::Reference {
                reference: reference.into(),
                why: format!("`{n}` after `@` is not a run count (1 is the latest run)"),
            })?;
        (Some(exp), nth)
    } else {
        return Err(Error::Reference {
            reference: reference.into(),
            why: "no such directory (a run is named by its directory, `latest` or EXPERIMENT@N)"
                .into(),
        });
    };
    let runs = runs_of(out, experiment);
    let count = runs.len();
    runs.into_iter()
        .nth(nth - 1)
        .ok_or_else(|| Error::Reference {
            reference: reference.into(),
            why: match experiment {
                Some(e) if count == 0 => format!("no runs of `{e}` under {}", out.display()),
                Some(e) => format!("`{e}` has {count} stored run(s) under {}", out.display()),
                None => format!("no runs under {}", out.display()),
            },
        })
}

/// The stored runs (not campaigns) under `out`, of one experiment or all, newest first.
pub fn runs_of(out: &Path, experiment: Option<&str>) -> Vec<PathBuf> {
    let mut runs: Vec<(f64, PathBuf)> = crate::run::index::rows(out)
        .into_iter()
        .filter(|r| !r.campaign)
        .filter(|r| experiment.is_none_or(|e| r.experiment == e))
        .map(|r| {
            let dir = out.join(&r.experiment).join(&r.run_id);
            (r.started_at.unwrap_or(0.0), dir)
        })
        .filter(|(_, p)| p.join(files::SUMMARY).is_file())
        .collect();
    runs.sort_by(|a, b| b.0.total_cmp(&a.0));
    runs.into_iter().map(|(_, p)| p).collect()
}

/// Reads a run for comparison.
pub fn read(dir: &Path) -> Result<RunData, Error> {
    let stored = bundle::read(dir).map_err(|e| Error::Run {
        dir: dir.to_path_buf(),
        why: crate::error::flatten(&e),
    })?;
    let s = &stored.summary;
    let Some(results) = &stored.results else {
        return Err(Error::Run {
            dir: dir.to_path_buf(),
            why: "it has no load results (results.json) to compare".into(),
        });
    };
    let run = Parts {
        experiment: &s.experiment,
        run_id: &s.run_id,
        dir,
        status: &s.status,
        warnings: &s.warnings,
        results,
        metrics: &stored.metrics,
        latency: stored.latency.as_deref(),
    };
    Ok(build(&run))
}

/// What a run is made of, whether read from its directory or still in memory (a run judged
/// against its baseline before its files are written).
pub struct Parts<'a> {
    pub experiment: &'a str,
    pub run_id: &'a str,
    pub dir: &'a Path,
    pub status: &'a str,
    pub warnings: &'a [String],
    pub results: &'a crate::load::results::Results,
    pub metrics: &'a [crate::analysis::series::QueryResult],
    /// The text of `latency.hlog`, when the run has one.
    pub latency: Option<&'a str>,
}

/// A run as a comparison sees it, from its parts.
pub fn build(p: &Parts<'_>) -> RunData {
    let results = p.results;
    let dir = p.dir;
    let label = format!("{}/{}", p.experiment, p.run_id);
    let mut notes: Vec<String> = p.warnings.iter().map(|w| format!("{label}: {w}")).collect();
    if p.status == "incomplete" {
        notes.push(format!(
            "{label} is {}: its figures cover what it ran",
            p.status
        ));
    }
    let window = (results.warmup_s, results.duration_s.max(results.warmup_s));
    let mut seconds = match p.latency {
        Some(text) => match hlog::read(text) {
            Ok(intervals) => Some(per_second(&intervals, results, window)),
            Err(e) => {
                notes.push(format!(
                    "{label}: {} is unreadable ({e}); its latency compares on percentiles only",
                    files::LATENCY
                ));
                None
            }
        },
        None => {
            notes.push(format!(
                "{label} has no {} (an older soy, or Locust's generator): its latency compares on percentiles only, without intervals",
                files::LATENCY
            ));
            None
        }
    };
    let whole = |s: u64| s as f64 >= window.0 - 1e-9 && s as f64 + 1.0 <= window.1 + 0.01;
    let mut names = Vec::new();
    for stats in results
        .requests
        .iter()
        .chain(std::iter::once(&results.total))
    {
        let key = if stats.name == "Aggregated" && stats.method.is_empty() {
            "Aggregated".to_string()
        } else {
            format!("{} {}", stats.method, stats.name)
        };
        let secs = seconds.as_mut().map(|m| m.remove(&key).unwrap_or_default());
        let per_second = match (&secs, key.as_str()) {
            (_, "Aggregated") => results
                .series
                .iter()
                .filter(|r| whole(r.second))
                .map(|r| r.requests as f64)
                .collect(),
            (Some(v), _) => v
                .iter()
                .zip(first_second(window)..)
                .filter(|(_, s)| whole(*s))
                .map(|(h, _)| h.count() as f64)
                .collect(),
            (None, _) => Vec::new(),
        };
        names.push(NameData {
            key,
            stats: stats.clone(),
            seconds: secs,
            per_second,
        });
    }
    // Aggregated's seconds: every name's pooled.
    let pooled: Option<Vec<Sparse>> = {
        let parts: Vec<&Vec<Sparse>> = names[..names.len() - 1]
            .iter()
            .filter_map(|n| n.seconds.as_ref())
            .collect();
        (!parts.is_empty() && parts.len() == names.len() - 1).then(|| {
            let n = parts.iter().map(|p| p.len()).max().unwrap_or(0);
            (0..n)
                .map(|i| Sparse::merged(parts.iter().filter_map(|p| p.get(i))))
                .collect()
        })
    };
    if let Some(last) = names.last_mut() {
        last.seconds = pooled;
    }
    let from = results.started_at + window.0;
    let to = results.started_at + window.1;
    let mut metrics = Vec::new();
    for q in p.metrics {
        // A timestamp gauge (cAdvisor's `container_last_seen`) says nothing to compare.
        if q.name.ends_with("_last_seen") {
            continue;
        }
        // Counters (`_total`, as stored by the samplers) compare as their per-step rates,
        // as the report charts them.
        let counter = q.promql.is_none() && q.name.ends_with("_total");
        for series in &q.series {
            let inside: Vec<(f64, f64)> = series
                .points
                .iter()
                .copied()
                .filter(|(t, v)| *t >= from && *t <= to && v.is_finite())
                .collect();
            let values: Vec<f64> = if counter {
                inside
                    .windows(2)
                    .filter(|w| w[1].0 > w[0].0 && w[1].1 >= w[0].1)
                    .map(|w| (w[1].1 - w[0].1) / (w[1].0 - w[0].0))
                    .collect()
            } else {
                inside.iter().map(|(_, v)| *v).collect()
            };
            let legend = series.legend();
            metrics.push(MetricData {
                key: if q.series.len() == 1 && legend == "value" {
                    q.name.clone()
                } else {
                    format!("{} {legend}", q.name)
                },
                query: q.name.clone(),
                unit: if counter { None } else { q.unit.clone() },
                values,
            });
        }
    }
    RunData {
        label,
        dir: dir.to_path_buf(),
        experiment: p.experiment.to_string(),
        started_at: results.started_at,
        names,
        metrics,
        p95: results.series.iter().map(|r| r.p95_ms).collect(),
        notes,
    }
}

fn first_second(window: (f64, f64)) -> u64 {
    window.0.floor().max(0.0) as u64
}

/// Each name's histograms for the seconds of the measured window, in order; a second in
/// which a name had no request is an empty distribution.
fn per_second(
    intervals: &[hlog::Interval],
    results: &crate::load::results::Results,
    window: (f64, f64),
) -> std::collections::HashMap<String, Vec<Sparse>> {
    let first = first_second(window);
    let last = window.1.ceil().max(first as f64) as u64;
    let len = (last - first) as usize;
    let mut out: std::collections::HashMap<String, Vec<Sparse>> = results
        .requests
        .iter()
        .map(|r| {
            (
                format!("{} {}", r.method, r.name),
                vec![Sparse::default(); len],
            )
        })
        .collect();
    for i in intervals {
        let s = i.start_s.round() as u64;
        if s < first || s >= last {
            continue;
        }
        if let Some(v) = out.get_mut(&i.name) {
            v[(s - first) as usize] = Sparse::from_hist(&i.hist);
        }
    }
    out
}
