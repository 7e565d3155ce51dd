//! `campaign.json`: what a campaign is and what became of each of its runs, written after
//! every run so a stopped campaign keeps every finished point and can be resumed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::points::Config;
use crate::report::summary::Summary;

/// The file's name in the campaign directory.
pub const FILE: &str = "campaign.json";
/// The manifest's copy in the campaign directory (what `--resume` runs).
pub const MANIFEST: &str = "manifest.yaml";

/// A campaign and its runs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "soy campaign record (campaign.json)")]
pub struct CampaignRecord {
    pub soy_version: String,
    pub experiment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub campaign_id: String,
    /// `sweep` or `search`.
    pub kind: String,
    /// `running`, `complete`, `interrupted` (Ctrl-C) or `failed` (a run could not start, a
    /// probe did not plan); `soy apply --resume` runs the rest of the last two.
    pub status: String,
    /// The manifest as given, and the folder its relative paths start from.
    pub manifest_path: String,
    pub manifest_dir: String,
    /// The matrix's parameters, in order.
    pub parameters: Vec<String>,
    pub repeat: u32,
    /// `sequential` or `shuffled`.
    pub order: String,
    /// The shuffled order's seed.
    pub seed: u64,
    pub redeploy: String,
    pub started_at: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<f64>,
    pub configurations: Vec<Config>,
    /// Every run made, in the order made (a resumed campaign's after the earlier ones).
    pub runs: Vec<RunEntry>,
    /// A capacity search's probes and result, per configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub searches: Vec<SearchRecord>,
}

/// One run of the campaign.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RunEntry {
    /// Its folder in the campaign directory: `<configuration>-r<repetition>`, and for a
    /// probe `<configuration>-<over>-<load>-r<repetition>`.
    pub id: String,
    pub configuration: String,
    pub repetition: u32,
    /// Every value the run set, the search's load included.
    pub values: serde_json::Map<String, Value>,
    /// Users (closed model) or iterations per second (open) at full load.
    pub load: f64,
    /// `passed`, `failed`, `aborted`, `incomplete`; `interrupted` when Ctrl-C stopped it.
    pub status: String,
    pub exit_code: u8,
    pub started_at: f64,
    pub ended_at: f64,
    /// Seconds of load (warm-up included) this run sent.
    pub load_s: f64,
    /// Whether it deployed the stack (false: it reused the previous run's).
    pub deployed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures: Option<Figures>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slos: Vec<SloOutcome>,
    /// Why the run ended early, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl RunEntry {
    /// Whether the run finished, so a resumed campaign keeps it.
    pub fn finished(&self) -> bool {
        matches!(self.status.as_str(), "passed" | "failed" | "aborted")
    }
}

/// A run's headline numbers, over its measured window.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Figures {
    pub requests: u64,
    pub failures: u64,
    pub rps: f64,
    pub error_rate: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Requests in flight on average (Little's law: rps × mean response time).
    pub in_flight: f64,
}

/// One SLO's verdict in a run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SloOutcome {
    pub name: String,
    pub passed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<f64>,
    /// The limits as written, e.g. `<= 250ms`.
    pub threshold: String,
    /// Unit of `observed`.
    #[serde(default)]
    pub unit: String,
}

/// A capacity search of one configuration.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SearchRecord {
    pub configuration: String,
    /// `users` or `rate`.
    pub over: String,
    pub strategy: String,
    pub candidates: Vec<f64>,
    pub probes: Vec<Probe>,
    /// The highest load met; none when even the lowest failed (or the search did not end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<f64>,
    /// Whether the search reached its answer.
    pub done: bool,
}

/// One probed load and its verdict.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Probe {
    pub load: f64,
    pub met: bool,
    /// Why: the SLOs that failed, or that all held, per run.
    pub why: String,
    pub runs: Vec<String>,
}

/// The run's figures from its summary.
pub fn figures(s: &Summary) -> Option<Figures> {
    let l = s.load.as_ref()?;
    Some(Figures {
        requests: l.requests,
        failures: l.failures,
        rps: l.rps,
        error_rate: l.error_rate,
        mean_ms: l.mean_ms,
        p50_ms: l.p50_ms,
        p95_ms: l.p95_ms,
        p99_ms: l.p99_ms,
        in_flight: l.rps * l.mean_ms / 1000.0,
    })
}

/// The run's SLO verdicts from its summary, each under its `name:` when the manifest gives
/// one (`names` in the manifest's order, as the verdicts are).
pub fn slos(s: &Summary, names: &[Option<String>]) -> Vec<SloOutcome> {
    s.slos
        .iter()
        .enumerate()
        .map(|(i, v)| SloOutcome {
            name: names
                .get(i)
                .cloned()
                .flatten()
                .unwrap_or_else(|| v.name.clone()),
            passed: v.passed(),
            observed: v.observed,
            threshold: v.threshold.clone(),
            unit: v.unit.clone(),
        })
        .collect()
}

/// Where the schema of `campaign.json` is committed.
pub const SCHEMA_PATH: &str = "schemas/campaign.schema.json";

/// The JSON Schema of `campaign.json`, as committed in `SCHEMA_PATH`.
pub fn schema_text() -> String {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<CampaignRecord>();
    serde_json::to_string_pretty(&schema.to_value()).unwrap_or_default() + "\n"
}
