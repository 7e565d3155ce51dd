//! `summary.json`: the machine-readable outcome of a run. Its JSON Schema is committed as
//! `schemas/summary.schema.json` (generated from these types).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::analysis::slo::Verdict;
use crate::load::results::Results;

/// How a phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    Ok,
    Failed,
    Interrupted,
    Skipped,
}

/// One phase of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseRecord {
    pub name: String,
    /// Unix seconds.
    pub started_at: f64,
    pub ended_at: f64,
    pub status: PhaseStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The git state of the manifest's repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GitState {
    pub commit: String,
    pub dirty: bool,
}

pub const SUMMARY_SCHEMA_PATH: &str = "schemas/summary.schema.json";

/// The run judged against `report.baseline`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BaselineSummary {
    /// What `report.baseline` says.
    pub spec: String,
    /// The run compared against (`experiment/run id`) and its directory, when one was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_dir: Option<String>,
    /// `no significant change`, `2 regression(s)`, or why nothing was compared.
    pub headline: String,
    pub regressions: usize,
    pub improvements: usize,
    pub rows: Vec<ComparedRow>,
    pub notes: Vec<String>,
}

/// One compared figure, as text (`soy compare`'s row).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ComparedRow {
    pub scope: String,
    pub stat: String,
    pub base: String,
    pub new: String,
    pub change: String,
    /// The 95% interval of the change (`–` without one).
    pub interval: String,
    pub verdict: String,
    /// `regressed`, `improved`, `same`, `changed` or `untested`.
    pub class: String,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub experiment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub run_id: String,
    /// `passed`, `failed` or `incomplete`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub exit_code: u8,
    pub soy_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<GitState>,
    pub phases: Vec<PhaseRecord>,
    pub slos: Vec<Verdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadSummary>,
    pub metrics: Vec<MetricSummary>,
    /// Timed actions and what became of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    /// Each alert of `alerts:` that became active, with its state changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<crate::rules::record::AlertRecord>,
    /// Each `autoscale:` controller's decisions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scaling: Vec<crate::rules::record::ScalingRecord>,
    /// The comparison with `report.baseline`, when the manifest asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineSummary>,
    /// Which system series moved with which application series over the steady window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<crate::analysis::signals::Correlation>,
    /// What soy worked around: damaged or missing files of a stored run, fallbacks taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

pub use crate::analysis::series::Event;

/// The load's headline numbers, over the measured window.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LoadSummary {
    pub model: String,
    pub duration_s: f64,
    pub measured_s: f64,
    pub requests: u64,
    pub failures: u64,
    pub error_rate: f64,
    pub rps: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub per_request: Vec<RequestSummary>,
    /// The load driver: `soy` or `locust`.
    #[serde(default = "soy_driver")]
    pub driver: String,
    /// What to know when reading these numbers (how Locust rounds its response times).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Exceptions raised in the locustfile's user code, as Locust counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exceptions: Option<u64>,
    /// Locust's workers (`processes`): each one's most users and last state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<WorkerSummary>,
    /// How much of its CPU soy's generator used (this machine's process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_cpu: Option<GeneratorCpuSummary>,
    /// soy's workers on the swarm (`load.distributed`): what each sent and used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub soy_workers: Vec<SoyWorkerSummary>,
}

/// soy's generator's CPU over the measured window.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GeneratorCpuSummary {
    /// The CPUs it could use.
    pub cpus: f64,
    /// Share of them used, on average and in the busiest second (0 to 1).
    pub mean: f64,
    pub max: f64,
    /// Seconds above 90%: the generator, not the system under test, may have set the pace.
    pub busy_seconds: u64,
}

/// One of soy's load workers (`load.distributed`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SoyWorkerSummary {
    pub index: u64,
    /// Its container's host name.
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    /// CPU used over its run, as a share of the CPUs it could use (0 to 1).
    pub cpu: f64,
    /// The share of its part of the plan it met, over the seconds it ran (users alive, or
    /// arrivals started).
    pub plan_met: f64,
    /// Above 90% CPU: the worker, not the system under test, may have set the pace.
    pub bottleneck: bool,
    /// Why it was lost, when it was, and the last second it delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_second: Option<u64>,
    /// A configuration it could not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SoyWorkerSummary {
    fn of(w: &crate::load::distributed::wire::WorkerReport) -> SoyWorkerSummary {
        let cpu = if w.wall_s > 0.0 && w.cpus > 0.0 {
            w.cpu_s / (w.wall_s * w.cpus)
        } else {
            0.0
        };
        SoyWorkerSummary {
            index: w.index,
            name: w.name.clone(),
            requests: w.requests,
            failures: w.failures,
            cpu,
            plan_met: if w.planned == 0 {
                1.0
            } else {
                w.met as f64 / w.planned as f64
            },
            bottleneck: cpu > crate::load::cpu::BUSY,
            lost: w.lost.clone(),
            last_second: w.last_second,
            error: w.error.clone(),
        }
    }
}

/// The warning of a generator that was busy most of a second (as Locust warns above 90%).
fn busy_note(r: &Results) -> Option<String> {
    let c = r.generator_cpu.as_ref().filter(|c| c.busy_seconds > 0)?;
    Some(format!(
        "soy's generator used more than 90% of its {} CPU(s) for {} s of the measured window (mean {:.0}%): it is a likely bottleneck, and its own queueing is part of these latencies. Give it more CPUs, or spread it over machines with `load.distributed`.",
        c.cpus,
        c.busy_seconds,
        c.mean * 100.0
    ))
}

/// What a reader of a distributed run's numbers should know.
fn distributed_note(d: &crate::load::distributed::DistributedInfo) -> String {
    let mut note = format!(
        "{} soy workers on the swarm sent the load; their per-second HDR histograms were merged exactly, so the percentiles are those of every request together.",
        d.workers.len()
    );
    let lost: Vec<String> = d
        .workers
        .iter()
        .filter_map(|w| {
            w.lost.as_ref().map(|why| {
                format!(
                    "worker {} ({}) after second {}: {why}",
                    w.index,
                    w.name,
                    w.last_second.map_or("none".into(), |s| s.to_string())
                )
            })
        })
        .collect();
    if !lost.is_empty() {
        note.push_str(&format!(
            " {} of {} workers were lost ({}); {:.1}% of the plan was not sent.",
            lost.len(),
            d.workers.len(),
            lost.join("; "),
            d.unsent * 100.0
        ));
    }
    let busy: Vec<String> = d
        .workers
        .iter()
        .map(SoyWorkerSummary::of)
        .filter(|w| w.bottleneck)
        .map(|w| format!("{} ({:.0}% CPU)", w.name, w.cpu * 100.0))
        .collect();
    if !busy.is_empty() {
        note.push_str(&format!(
            " Likely generator bottleneck: {} used more than 90% of its CPU.",
            busy.join(", ")
        ));
    }
    if d.coordinator_lost {
        note.push_str(" The coordinator was lost: the results stop at its last merged second.");
    }
    note
}

/// One Locust worker as the master saw it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct WorkerSummary {
    pub id: String,
    pub most_users: u64,
    /// `running`, `stopped`, `missing` (no heartbeat), or `gone` (no longer listed).
    pub last_state: String,
    /// The requests it reported to the master.
    pub requests: u64,
    /// Seconds into the load when the master lost it (its heartbeats stopped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_at_s: Option<f64>,
}

fn soy_driver() -> String {
    "soy".into()
}

/// One request name's numbers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RequestSummary {
    pub method: String,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub rps: f64,
}

/// One collected metric.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MetricSummary {
    pub name: String,
    pub series: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Windows `(from, to)` (Unix seconds) without data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<(f64, f64)>,
}

impl LoadSummary {
    pub fn from_results(r: &Results) -> LoadSummary {
        let t = &r.total;
        LoadSummary {
            model: format!("{:?}", r.model).to_lowercase(),
            duration_s: r.duration_s,
            measured_s: r.measured_s,
            requests: t.requests,
            failures: t.failures,
            error_rate: t.error_rate(),
            rps: t.rps,
            mean_ms: t.mean_ms,
            p50_ms: t.p50_ms,
            p90_ms: t.p90_ms,
            p95_ms: t.p95_ms,
            p99_ms: t.p99_ms,
            max_ms: t.max_ms,
            per_request: r
                .requests
                .iter()
                .map(|n| RequestSummary {
                    method: n.method.clone(),
                    name: n.name.clone(),
                    requests: n.requests,
                    failures: n.failures,
                    mean_ms: n.mean_ms,
                    p50_ms: n.p50_ms,
                    p95_ms: n.p95_ms,
                    p99_ms: n.p99_ms,
                    max_ms: n.max_ms,
                    rps: n.rps,
                })
                .collect(),
            driver: r.driver.clone(),
            note: r
                .distributed
                .as_ref()
                .map(distributed_note)
                .or_else(|| busy_note(r))
                .or_else(|| r.locust.as_ref().map(|l| {
                let mut note = format!(
                    "Locust {} ran the load; it rounds each response time to two significant digits (whole milliseconds below 100 ms), so these percentiles are Locust's and rounded as it rounds them.",
                    l.version
                );
                if !l.final_stats {
                    note.push_str(" Locust ended without writing its final statistics: these are its last per-second report.");
                }
                let lost: Vec<String> = l
                    .workers
                    .iter()
                    .filter_map(|w| w.lost_at_s.map(|t| format!("{} at {t:.1} s", w.id)))
                    .collect();
                if !lost.is_empty() {
                    note.push_str(&format!(
                        " {} of {} Locust workers stopped reporting during the run ({}); Locust went on with the others.",
                        lost.len(),
                        l.workers.len(),
                        lost.join(", ")
                    ));
                }
                note
            })),
            exceptions: r
                .locust
                .as_ref()
                .map(|l| l.exceptions.iter().map(|e| e.count).sum()),
            workers: r
                .locust
                .iter()
                .flat_map(|l| &l.workers)
                .map(|w| WorkerSummary {
                    id: w.id.clone(),
                    most_users: w.most_users,
                    last_state: w.last_state.clone(),
                    requests: w.requests,
                    lost_at_s: w.lost_at_s,
                })
                .collect(),
            generator_cpu: r.generator_cpu.as_ref().map(|c| GeneratorCpuSummary {
                cpus: c.cpus,
                mean: c.mean,
                max: c.max,
                busy_seconds: c.busy_seconds,
            }),
            soy_workers: r
                .distributed
                .iter()
                .flat_map(|d| &d.workers)
                .map(SoyWorkerSummary::of)
                .collect(),
        }
    }
}

/// The summary schema as committed.
pub fn schema_text() -> String {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Summary>();
    let mut text = serde_json::to_string_pretty(&schema.to_value()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::distributed::{DistributedInfo, OnLoss, wire::WorkerReport};

    #[test]
    fn a_busy_generator_and_a_lost_worker_are_told() {
        let worker = |index: u64, cpu_s: f64, lost: bool| WorkerReport {
            index,
            name: format!("w{index}"),
            requests: 100,
            met: 50,
            planned: 50,
            planned_total: if lost { 100 } else { 50 },
            cpu_s,
            cpus: 0.5,
            wall_s: 10.0,
            last_second: Some(9),
            lost: lost.then(|| "its connection closed before its end".into()),
            ..WorkerReport::default()
        };
        let d = DistributedInfo {
            workers: vec![worker(0, 4.8, false), worker(1, 1.0, true)],
            on_worker_loss: OnLoss::Continue,
            unsent: 50.0 / 150.0,
            coordinator_lost: false,
        };
        let note = distributed_note(&d);
        assert!(note.contains("1 of 2 workers were lost"), "{note}");
        assert!(note.contains("33.3% of the plan was not sent"), "{note}");
        assert!(
            note.contains("Likely generator bottleneck: w0 (96% CPU)"),
            "{note}"
        );
        let rows: Vec<SoyWorkerSummary> = d.workers.iter().map(SoyWorkerSummary::of).collect();
        assert!(rows[0].bottleneck && !rows[1].bottleneck);
        assert_eq!(rows[1].plan_met, 1.0);
    }
}
