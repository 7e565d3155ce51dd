//! `autoscale:` — a controller that scales swarm services during the load.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::manifest::duration::Duration;

/// One scaled service. Give `target` (the Kubernetes HPA algorithm) or `threshold`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    /// The service, as named in the stack file.
    pub service: String,
    /// Fewest replicas.
    #[serde(default = "one")]
    #[schemars(range(min = 0))]
    pub min: u32,
    /// Most replicas.
    #[schemars(range(min = 1))]
    pub max: u32,
    /// How often the controller decides.
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// What the policy compares: a query (`promql` or a `preset` with its parameters).
    pub metric: ScaleMetric,
    /// The HPA algorithm: replicas = ceil(current × value / target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetPolicy>,
    /// Out by `step` above `upper`, in by `step` below `lower`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<ThresholdPolicy>,
}

fn one() -> u32 {
    1
}

fn default_interval() -> Duration {
    Duration(std::time::Duration::from_secs(5))
}

/// The controller's metric. Its value is summed over the result's series.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleMetric {
    /// PromQL, a template as queries are (`stack`, `service`, `rate_window`, `vars`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promql: Option<String>,
    /// A built-in query, e.g. `cadvisor.cpu` (its `service` is the scaled one unless given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub quantile: Option<f64>,
    /// Divide the value by the ready replicas (CPU per replica, as the HPA averages).
    #[serde(default)]
    pub per_replica: bool,
}

/// The HPA algorithm's settings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetPolicy {
    /// The metric's wanted value (per replica with `per_replica`).
    pub value: f64,
    /// No change while the value is within this fraction of the target (default 0.1).
    #[serde(default = "tolerance")]
    pub tolerance: f64,
    /// Scale-up stabilization: the lowest recommendation of this window (default 0s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_window: Option<Duration>,
    /// Scale-down stabilization: the highest recommendation of this window (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_window: Option<Duration>,
    /// The most replicas added or removed in one decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_step: Option<u32>,
}

fn tolerance() -> f64 {
    crate::rules::scale::TOLERANCE
}

/// A step policy with cooldowns.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdPolicy {
    pub upper: f64,
    pub lower: f64,
    /// Replicas added or removed at a time (default 1).
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub step: u32,
    /// After a change, how long before scaling out again (default 0s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_cooldown: Option<Duration>,
    /// After a change, how long before scaling in (default 1m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_cooldown: Option<Duration>,
}
