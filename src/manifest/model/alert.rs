//! `alerts:` — alerting rules evaluated while the load runs, with Prometheus' semantics.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::manifest::duration::Duration;

/// One alerting rule. Give `expr` (PromQL whose every result element is an alert), or a
/// `preset` with its parameters and `above` or `below`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    /// The alert's name (Prometheus' `alertname`). Letters, digits and `_`.
    #[schemars(pattern(r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub name: String,
    /// PromQL, a template as queries are (`stack`, `rate_window`, `vars`, …); each element of
    /// its result is an active alert, e.g. `soy_request_duration_p95 > 0.25`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
    /// A built-in query (`soy presets`), compared with `above` or `below`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// The preset's service (as named in the stack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The preset's Envoy cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The preset's quantile (`envoy.latency_quantile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub quantile: Option<f64>,
    /// The preset's Envoy connection manager (`envoy.downstream_rq_rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn_manager: Option<String>,
    /// With `preset`: active while the query's value is above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    /// With `preset`: active while the query's value is below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    /// How long an alert is active (pending) before it fires.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub hold: Option<Duration>,
    /// How long a firing alert goes on firing after its condition has cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<Duration>,
    /// Labels added to each alert (e.g. `severity: critical`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Texts templated as Prometheus templates them: `{{ $labels.service }}`, `{{ $value }}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Stop the load when this alert fires (teardown, collect and report still run; the run
    /// is `aborted` and `soy apply` exits 1).
    #[serde(default)]
    pub abort: bool,
}
