//! Metric series as stored with a run: a name, labels, and `(unix seconds, value)` points;
//! and the events that happened to the stack, timed from the load's start.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::manifest::model::Section;

/// Something done to the stack during the run (an action, a failed task).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    /// Seconds from the start of the load.
    pub at: f64,
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What kind of thing happened (charts mark actions, tasks and scaling with lines and
    /// draw alerts as bands).
    #[serde(default)]
    pub kind: EventKind,
}

/// The kinds of event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A timed action of `actions:`.
    #[default]
    Action,
    /// A task of the stack failed.
    Task,
    /// A scaling controller changed a service's replicas.
    Scaling,
    /// An alert changed state.
    Alert,
}

/// One labelled series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    /// `(unix seconds, value)`.
    pub points: Vec<(f64, f64)>,
}

/// The result of one query (or one sampler), with whether it has data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QueryResult {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promql: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub series: Vec<Series>,
    /// The report section its chart goes in, when the query or its preset says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<crate::manifest::model::Section>,
    /// Why there are no series, when there are none (`no data`, an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    /// Warnings the metrics source returned with the data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Windows `(from, to)` (Unix seconds) in which a series has no points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<(f64, f64)>,
}

impl QueryResult {
    /// The layer a query's series belong to: its own section or its preset's, else by the
    /// metric's name (`soy_` the load, `replicas` scaling, `container_`/`node_`/`process_`
    /// the system, the rest the application).
    pub fn layer(&self) -> Section {
        if let Some(s) = self.section {
            return s;
        }
        let text = self.promql.as_deref().unwrap_or("");
        let any = |prefixes: &[&str]| {
            prefixes
                .iter()
                .any(|p| self.name.starts_with(p) || text.contains(p))
        };
        if any(&["soy_"]) {
            Section::Load
        } else if any(&["swarm_replicas", "kube_deployment", "replicas"]) {
            Section::Scaling
        } else if any(&["container_", "node_", "process_", "machine_"]) {
            Section::System
        } else {
            Section::Application
        }
    }
}

impl Series {
    /// A short label text for legends: the labels' values joined.
    pub fn legend(&self) -> String {
        if self.labels.is_empty() {
            return "value".into();
        }
        for key in [
            "service",
            "name",
            "container_label_com_docker_swarm_service_name",
        ] {
            if let Some(s) = self.labels.get(key) {
                return s.clone();
            }
        }
        self.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
