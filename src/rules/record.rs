//! What the run keeps of its alerts: each alert's state changes over the load.

use serde::Serialize;

use super::alert::Labels;

/// One state change of one alert.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AlertChange {
    /// Seconds from the start of the load.
    pub at: f64,
    /// `pending`, `firing` or `resolved`.
    pub state: String,
    pub value: f64,
}

/// One alert (a rule and one labelset of its result) over the run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AlertRecord {
    pub name: String,
    /// The result element's labels with the rule's own.
    pub labels: Labels,
    pub changes: Vec<AlertChange>,
    /// Annotations as rendered when it last changed.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, String>,
    /// Whether it fired at some point.
    pub fired: bool,
    /// Whether its firing stopped the load.
    #[serde(default)]
    pub aborted: bool,
}

/// One decision of a scaling controller.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ScaleDecision {
    /// Seconds from the start of the load.
    pub at: f64,
    /// The metric's value the policy saw (per replica with `per_replica`).
    pub value: f64,
    /// Replicas ready (running, and healthy with a healthcheck) when it decided.
    pub ready: u64,
    pub from: u32,
    pub to: u32,
    pub reason: String,
    /// Why the change could not be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A controller's decisions over the run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ScalingRecord {
    pub service: String,
    pub decisions: Vec<ScaleDecision>,
    /// Evaluations without a value (the metric had no data yet).
    #[serde(default)]
    pub without_value: u64,
}
