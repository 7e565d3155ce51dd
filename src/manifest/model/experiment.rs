//! The manifest's top level: identity, variables and the five sections.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Load, MetricsConfig, Report, Slo, Stack};

/// The only manifest version this soy reads.
pub const API_VERSION: &str = "soy/v1";

/// A performance experiment: what to deploy, how to load it, what to measure and judge.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "soy experiment manifest (soy/v1)")]
pub struct Experiment {
    /// Manifest format version; always `soy/v1`.
    #[schemars(extend("const" = "soy/v1"))]
    pub api_version: String,
    /// Document kind; always `Experiment`.
    pub kind: Kind,
    /// Name, description and labels of the experiment.
    pub metadata: Metadata,
    /// Values for `{{ name }}` templates in the stack name, hosts, URLs and PromQL queries.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, VarValue>,
    /// The system under test and how soy brings it up and down. Defaults to `driver: external`.
    #[serde(default)]
    pub stack: Stack,
    /// The load: users or arrival rate, its shape over time, and the request scenario.
    pub load: Load,
    /// PromQL queries collected over the run's window.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Changes to the stack at time offsets during the load (scale, restart); swarm driver.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<super::Action>,
    /// Service-level objectives; any failing one makes `soy apply` exit 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slos: Vec<Slo>,
    /// Alerting rules evaluated while the load runs (Prometheus' semantics); one with
    /// `abort: true` stops a run that is already lost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<super::Alert>,
    /// A scaling controller per swarm service, deciding during the load and the cooldown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub autoscale: Vec<super::Autoscale>,
    /// Which reports to write.
    #[serde(default)]
    pub report: Report,
    /// Run the experiment once per point of a parameter matrix, with repetitions: a
    /// campaign of complete runs and one campaign report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<super::Sweep>,
    /// Search, per configuration of the sweep's matrix, the highest load that meets the
    /// SLOs, each probe a short run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<super::Search>,
}

impl Experiment {
    /// Whether this manifest describes a campaign (several runs) rather than one run.
    pub fn is_campaign(&self) -> bool {
        self.sweep.is_some() || self.search.is_some()
    }
}

/// The document kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Kind {
    /// A single experiment.
    Experiment,
}

/// Who the experiment is and what it is for.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Experiment name: names the report folder `reports/<name>/`. Letters, digits, `-`, `_`, `.`.
    #[schemars(length(min = 1, max = 63), pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]*$"))]
    pub name: String,
    /// One line on what this experiment tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Free-form key/value labels, copied into reports and summaries.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A template variable's value: a string, number or boolean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VarValue(pub serde_json::Value);

impl schemars::JsonSchema for VarValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "VarValue".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "number", "boolean"],
            "description": "A template variable's value: a string, number or boolean."
        })
    }
}
