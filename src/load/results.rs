//! The results of a load run: per request name, in total, failures grouped as Locust groups
//! them, the per-second series, and (open model) schedule adherence. Serialized as
//! `results.json`; the Locust CSV files and the terminal summary are views of it.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::engine::EngineConfig;
use super::stats::{Block, Entry, SecondRow};
use crate::manifest::model::Workload;

/// Percentiles Locust reports, as fractions.
pub const LOCUST_PERCENTILES: [f64; 11] = [
    0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];

/// Statistics of one request name (or of all, as "Aggregated").
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct NameStats {
    pub method: String,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    pub bytes: u64,
    pub mean_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Locust's percentile columns (50% … 100%), in milliseconds.
    pub percentiles_ms: Vec<f64>,
    pub rps: f64,
    pub failures_per_s: f64,
    pub avg_content_size: f64,
}

impl NameStats {
    fn from_entry(method: &str, name: &str, e: &Entry, secs: f64) -> Self {
        let per_s = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        NameStats {
            method: method.to_string(),
            name: name.to_string(),
            requests: e.count,
            failures: e.failures,
            bytes: e.bytes,
            mean_ms: e.mean_ms(),
            min_ms: e.min_ms(),
            max_ms: e.max_ms(),
            p50_ms: e.quantile_ms(0.5),
            p90_ms: e.quantile_ms(0.9),
            p95_ms: e.quantile_ms(0.95),
            p99_ms: e.quantile_ms(0.99),
            percentiles_ms: LOCUST_PERCENTILES
                .iter()
                .map(|q| {
                    if *q >= 1.0 {
                        e.max_ms()
                    } else {
                        e.quantile_ms(*q)
                    }
                })
                .collect(),
            rps: per_s(e.count),
            failures_per_s: per_s(e.failures),
            avg_content_size: if e.count == 0 {
                0.0
            } else {
                e.bytes as f64 / e.count as f64
            },
        }
    }

    /// Share of failed requests.
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.failures as f64 / self.requests as f64
        }
    }
}

/// One group of failures.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FailureGroup {
    pub method: String,
    pub name: String,
    /// Short kind: `connect`, `timeout`, `status`, `check`, …
    pub kind: String,
    pub error: String,
    pub occurrences: u64,
    /// Unix seconds of the first and last second with this failure.
    pub first_seen: u64,
    pub last_seen: u64,
}

/// First and last second (from the start) each failure group was seen in.
pub type Seen = std::collections::HashMap<(usize, String), (u64, u64)>;

/// Open model: how well the schedule was kept.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct OpenStats {
    pub started: u64,
    pub dropped: u64,
    /// Iterations started per second over the measured window.
    pub achieved_rate: f64,
    pub lag_p50_ms: f64,
    pub lag_p99_ms: f64,
    pub lag_max_ms: f64,
    /// Service time of first requests (send to response), beside the schedule-based latency.
    pub service_p50_ms: f64,
    pub service_p99_ms: f64,
}

/// Everything a load run produced.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Results {
    pub soy_version: String,
    pub model: Workload,
    /// Unix seconds at the start of the load.
    pub started_at: f64,
    /// Seconds of load actually run.
    pub duration_s: f64,
    /// Seconds the statistics cover (after warm-up).
    pub measured_s: f64,
    pub warmup_s: f64,
    pub interrupted: bool,
    pub total: NameStats,
    pub requests: Vec<NameStats>,
    pub failures: Vec<FailureGroup>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<OpenStats>,
    pub series: Vec<SecondRow>,
    /// The load driver that produced these results: `soy` or `locust`.
    #[serde(default = "soy_driver")]
    pub driver: String,
    /// What only a Locust run has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locust: Option<LocustInfo>,
    /// The HDR histograms per request name (per second and over the measured window), as
    /// the interval-log files the run directory keeps; soy's own generator only.
    #[serde(skip)]
    pub latency: Option<super::hlog::LatencyLogs>,
    /// How much of its CPU soy's generator used (this process's; a distributed run's workers
    /// report theirs in `distributed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_cpu: Option<super::cpu::GeneratorCpu>,
    /// What only a distributed run has: its workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distributed: Option<super::distributed::DistributedInfo>,
    /// Why the generator ended the load early on its own (a lost coordinator, a lost worker
    /// under `on_worker_loss: abort`): the run is incomplete.
    #[serde(skip)]
    pub cut: Option<String>,
}

fn soy_driver() -> String {
    "soy".into()
}

/// A Locust run's own facts.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct LocustInfo {
    pub version: String,
    /// Locust's exit code (1 when a request failed, as Locust exits by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Whether the statistics are Locust's final ones (false: its last per-second report,
    /// when Locust ended without writing them).
    pub final_stats: bool,
    /// Exceptions raised in user code, as Locust groups them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<crate::load::locust::stats::LocustException>,
    /// Workers (`--processes`, distributed): the most connected at once, and each one's most
    /// users and last state (`gone` once the master stopped listing it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<WorkerInfo>,
    #[serde(default)]
    pub most_workers: usize,
}

/// One Locust worker as the master saw it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct WorkerInfo {
    pub id: String,
    pub most_users: u64,
    pub last_state: String,
    /// The requests it reported to the master.
    #[serde(default)]
    pub requests: u64,
    /// Seconds into the load when the master lost it (its heartbeats stopped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_at_s: Option<f64>,
}

impl Results {
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        cfg: &EngineConfig,
        totals: &Block,
        seen: &Seen,
        series: Vec<SecondRow>,
        started_at: SystemTime,
        elapsed: Duration,
        measured: Duration,
        interrupted: bool,
    ) -> Results {
        let secs = measured.as_secs_f64();
        let start_unix = started_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let names = &cfg.scenario.names;
        let requests: Vec<NameStats> = names
            .iter()
            .zip(&totals.entries)
            .filter(|(_, e)| e.count > 0)
            .map(|((m, n), e)| NameStats::from_entry(m, n, e, secs))
            .collect();
        let mut failures: Vec<FailureGroup> = totals
            .failures
            .iter()
            .map(|((stat, error), n)| {
                let (method, name) = names.get(*stat).cloned().unwrap_or_default();
                let (first, last) = seen
                    .get(&(*stat, error.clone()))
                    .copied()
                    .unwrap_or_default();
                FailureGroup {
                    method,
                    name,
                    kind: error.split(':').next().unwrap_or("").to_string(),
                    error: error.clone(),
                    occurrences: *n,
                    first_seen: start_unix + first,
                    last_seen: start_unix + last,
                }
            })
            .collect();
        failures.sort_by(|a, b| {
            b.occurrences
                .cmp(&a.occurrences)
                .then_with(|| a.name.cmp(&b.name))
        });
        let open = (cfg.model == Workload::Open).then(|| OpenStats {
            started: totals.started,
            dropped: totals.dropped,
            achieved_rate: if secs > 0.0 {
                totals.started as f64 / secs
            } else {
                0.0
            },
            lag_p50_ms: totals.lag.quantile_ms(0.5),
            lag_p99_ms: totals.lag.quantile_ms(0.99),
            lag_max_ms: totals.lag.max_ms(),
            service_p50_ms: totals.service.quantile_ms(0.5),
            service_p99_ms: totals.service.quantile_ms(0.99),
        });
        Results {
            soy_version: env!("CARGO_PKG_VERSION").to_string(),
            model: cfg.model,
            started_at: started_at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            duration_s: elapsed.as_secs_f64(),
            measured_s: secs,
            warmup_s: cfg.warmup.as_secs_f64(),
            interrupted,
            total: NameStats::from_entry("", "Aggregated", &totals.total(), secs),
            requests,
            failures,
            open,
            series,
            driver: soy_driver(),
            locust: None,
            latency: None,
            generator_cpu: None,
            distributed: None,
            cut: None,
        }
    }

    /// A summary table for the terminal.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "{:<8} {:<40} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9} {:>10}\n",
            "Type", "Name", "# reqs", "# fails", "Avg ms", "p50 ms", "p95 ms", "p99 ms", "req/s"
        ));
        for r in self.requests.iter().chain(std::iter::once(&self.total)) {
            s.push_str(&format!(
                "{:<8} {:<40} {:>9} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>10.1}\n",
                r.method,
                truncate(&r.name, 40),
                r.requests,
                r.failures,
                r.mean_ms,
                r.p50_ms,
                r.p95_ms,
                r.p99_ms,
                r.rps
            ));
        }
        if !self.failures.is_empty() {
            s.push_str("\nFailures:\n");
            for f in &self.failures {
                s.push_str(&format!(
                    "{:>9}  {} {}: {}\n",
                    f.occurrences, f.method, f.name, f.error
                ));
            }
        }
        if let Some(o) = &self.open {
            s.push_str(&format!(
                "\nOpen model: {} iterations started ({:.1}/s), {} dropped at the in-flight cap; lag behind schedule p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; service time p50 {:.2} ms, p99 {:.2} ms\n",
                o.started, o.achieved_rate, o.dropped, o.lag_p50_ms, o.lag_p99_ms, o.lag_max_ms, o.service_p50_ms, o.service_p99_ms
            ));
        }
        if self.interrupted {
            s.push_str("\n(interrupted: results cover the load run until then)\n");
        }
        s
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(std::iter::once('…')).collect()
    }
}
