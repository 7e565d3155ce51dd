//! `metrics:` — where metrics come from and which PromQL queries to collect.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::manifest::duration::Duration;

/// Metric collection.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Where queries are answered. Defaults to `kind: embedded` (soy scrapes and evaluates itself).
    #[serde(default)]
    pub source: MetricsSource,
    /// Resolution of range queries; defaults to a step giving about 500 points over the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Duration>,
    /// Window of `rate()` in presets and the `rate_window` template variable.
    #[serde(default = "default_rate_window")]
    pub rate_window: Duration,
    /// The queries, each stored with the run, charted, and usable in SLOs by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<Query>,
    /// How often `alerts:` are evaluated during the load and the cooldown; defaults to the
    /// embedded scrape interval (5s with a Prometheus source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation_interval: Option<Duration>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            source: MetricsSource::default(),
            step: None,
            rate_window: default_rate_window(),
            queries: Vec::new(),
            evaluation_interval: None,
        }
    }
}

fn default_rate_window() -> Duration {
    Duration(std::time::Duration::from_secs(60))
}

/// A metrics source, chosen by `kind`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MetricsSource {
    /// A Prometheus server's HTTP API.
    Prometheus(PrometheusSource),
    /// soy scrapes the targets itself and answers PromQL without a server.
    Embedded(EmbeddedSource),
}

impl Default for MetricsSource {
    fn default() -> Self {
        MetricsSource::Embedded(EmbeddedSource::default())
    }
}

/// A Prometheus server.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSource {
    /// Base URL, e.g. `http://127.0.0.1:9090`.
    pub url: String,
    /// Bearer token; use `${env:NAME}` rather than writing it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<String>,
    /// Basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// Extra request headers.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Timeout of one query.
    #[serde(default = "default_query_timeout")]
    pub timeout: Duration,
    /// Fail before sending load when the server cannot be reached.
    #[serde(default = "yes")]
    pub required: bool,
}

fn default_query_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(30))
}

fn yes() -> bool {
    true
}

/// Basic authentication.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password; use `${env:NAME}`.
    pub password: String,
}

/// soy's own scraper.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedSource {
    /// Time between scrapes.
    #[serde(default = "default_scrape_interval")]
    pub scrape_interval: Duration,
    /// Extra endpoints serving Prometheus text format (e.g. `http://127.0.0.1:9901/stats/prometheus`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

impl Default for EmbeddedSource {
    fn default() -> Self {
        EmbeddedSource {
            scrape_interval: default_scrape_interval(),
            targets: Vec::new(),
        }
    }
}

fn default_scrape_interval() -> Duration {
    Duration(std::time::Duration::from_secs(5))
}

/// One query: written PromQL, or a named preset with its parameters.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Name used in reports and SLOs. Letters, digits and `_`.
    #[schemars(pattern(r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub name: String,
    /// PromQL, a minijinja template over `vars`, `stack`, `service`, `services`, `cluster`,
    /// `rate_window` and `step`. Give either `promql` or `preset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promql: Option<String>,
    /// A built-in query (`soy presets` lists them), e.g. `cadvisor.cpu`, `envoy.latency_quantile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Service name for `service` templates (as named in the stack, without the stack prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Envoy cluster name for `cluster` templates, e.g. `gateway_cluster`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Quantile for `envoy.latency_quantile` (default 0.95).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub quantile: Option<f64>,
    /// Envoy HTTP connection manager prefix for `envoy.downstream_rq_rate` (default `gateway_hcm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn_manager: Option<String>,
    /// One query per service or per cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<ForEach>,
    /// Unit of the values, for axes and tables (e.g. `cores`, `bytes`, `req/s`, `ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// What the query shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The report section its chart goes in (default: by preset, else by the metric's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<Section>,
}

/// A section of the report page.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// The load generator's own series.
    Load,
    /// The application's: gateway and Envoy request rates, latencies, response codes.
    Application,
    /// The system's: containers and nodes.
    System,
    /// Replicas and scaling.
    Scaling,
}

/// Expansion of one query into several. Give exactly one of `service` or `cluster`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForEach {
    /// One query per service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub service: Option<Vec<String>>,
    /// One query per Envoy cluster name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub cluster: Option<Vec<String>>,
}
