//! `sweep:` and `search:` — a campaign: the experiment run once per point of a parameter
//! matrix, with repetitions, or searched for the highest load that meets its SLOs.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::manifest::duration::Duration;

/// A parameter sweep: every combination of the matrix's values is a point, each run `repeat`
/// times as a complete run of its own.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// Parameters and their values, in the order written; every combination is a point. A
    /// name with a dot is a place in the manifest: `load.users`, `load.rate`,
    /// `load.spawn_rate`, `load.run_time`, `stack.replicas.<service>`, or any place the
    /// manifest already has (`stack.file`, `autoscale.0.policy.target`); any other name is a
    /// template variable, set under `vars` (so any templated field can vary).
    pub matrix: Matrix,
    /// Runs per point.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 100))]
    pub repeat: u32,
    /// `sequential` (points in matrix order, repetitions together) or `shuffled` (every run
    /// in an order drawn from `seed`, to spread drift over the points).
    #[serde(default)]
    pub order: Order,
    /// Seed of the shuffled order; drawn and recorded in `campaign.json` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// `per_point`: every run deploys and removes the stack. `per_stack_change`: a run whose
    /// stack is the same as the previous run's reuses it (points that change only the load).
    #[serde(default)]
    pub redeploy: Redeploy,
    /// Pause between runs (metrics settle, connections close).
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub pause: Duration,
}

fn one() -> u32 {
    1
}

/// The matrix: parameter names to their values, in the order written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Matrix(pub serde_json::Map<String, Value>);

impl Matrix {
    /// Each parameter with its values (a value that is not a list is one value).
    pub fn params(&self) -> Vec<(String, Vec<Value>)> {
        self.0
            .iter()
            .map(|(k, v)| {
                let vals = match v {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                (k.clone(), vals)
            })
            .collect()
    }
}

impl JsonSchema for Matrix {
    fn schema_name() -> Cow<'static, str> {
        "Matrix".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "minProperties": 1,
            "description": "Parameters and their values: `name: [v1, v2, …]`.",
            "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_.-]*$"},
            "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "items": {"type": ["string", "number", "boolean"]}
            }
        })
    }
}

/// The order of a sweep's runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Points in matrix order, a point's repetitions one after another.
    #[default]
    Sequential,
    /// Every run in an order drawn from the seed.
    Shuffled,
}

/// When a sweep deploys the stack again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Redeploy {
    /// Every run deploys and removes its stack.
    #[default]
    PerPoint,
    /// Consecutive runs with the same stack share one deployment.
    PerStackChange,
}

/// A capacity search: for each configuration of the matrix, the highest load that meets the
/// named SLOs, each probe a short run of its own (Theodolite's capacity).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// The load that is searched: `users` (closed model) or `rate` (open model).
    pub over: SearchOver,
    /// Lowest load probed.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub from: f64,
    /// Highest load probed.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub to: f64,
    /// Loads probed are `from`, `from + step`, … up to `to`.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub step: f64,
    /// `binary` (halves the candidates each probe; assumes a load that fails makes every
    /// higher one fail) or `linear` (from `from` upwards until the first failure).
    #[serde(default)]
    pub strategy: Strategy,
    /// Names of the SLOs (their `name:`) a probe must meet; all SLOs when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slos: Vec<String>,
    /// Each probe's `load.run_time` (default: the manifest's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time: Option<Duration>,
    /// Runs per probe; a load is met when every one of them meets the SLOs.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 100))]
    pub repeat: u32,
}

/// What a capacity search varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchOver {
    /// `load.users`.
    Users,
    /// `load.rate`.
    Rate,
}

impl SearchOver {
    /// The load's name, as `over:` writes it.
    pub fn name(self) -> &'static str {
        match self {
            SearchOver::Users => "users",
            SearchOver::Rate => "rate",
        }
    }

    /// The manifest path the search sets.
    pub fn path(self) -> &'static str {
        match self {
            SearchOver::Users => "load.users",
            SearchOver::Rate => "load.rate",
        }
    }
}

/// How a capacity search picks its probes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Bisection over the candidate loads.
    #[default]
    Binary,
    /// Every candidate from the lowest up, until one fails.
    Linear,
}
