//! `load.shape:` — the target (users, or iterations per second) as a function of time.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::manifest::duration::Duration;

/// A load shape, chosen by `kind`. Targets are users (closed model) or iterations/s (open).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shape {
    /// The full target (`load.users` or `load.rate`) for the whole run.
    Constant(Constant),
    /// A straight line from `from` to `to`.
    Ramp(Ramp),
    /// Start at `start`, add `step` every `every`, stop growing at `until`.
    Steps(Steps),
    /// `base`, then `peak` at `at` for `hold`, then `base` again.
    Spike(Spike),
    /// A list of stages, each holding or ramping to its target (Locust's LoadTestShape as data).
    Stages(Stages),
    /// `base + amplitude * sin(2πt / period)`: a daily cycle in miniature, for autoscalers.
    Sine(Sine),
    /// Replay a recorded curve from a CSV file of `seconds,target` rows.
    Trace(Trace),
}

impl Default for Shape {
    fn default() -> Self {
        Shape::Constant(Constant::default())
    }
}

impl Shape {
    pub fn kind(&self) -> &'static str {
        match self {
            Shape::Constant(_) => "constant",
            Shape::Ramp(_) => "ramp",
            Shape::Steps(_) => "steps",
            Shape::Spike(_) => "spike",
            Shape::Stages(_) => "stages",
            Shape::Sine(_) => "sine",
            Shape::Trace(_) => "trace",
        }
    }
}

/// Constant load.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Constant {
    /// Target, if not `load.users` / `load.rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub target: Option<f64>,
}

/// A linear ramp.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ramp {
    /// Target at the start.
    #[schemars(range(min = 0))]
    pub from: f64,
    /// Target at the end of the ramp.
    #[schemars(range(min = 0))]
    pub to: f64,
    /// Length of the ramp; defaults to the whole run. After it, `to` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
}

/// A staircase.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Steps {
    /// Target of the first step.
    #[schemars(range(min = 0))]
    pub start: f64,
    /// Added at each step (may be negative for a descending staircase).
    pub step: f64,
    /// Length of each step.
    pub every: Duration,
    /// The target the staircase stops at.
    #[schemars(range(min = 0))]
    pub until: f64,
}

/// A spike.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spike {
    /// Target before and after the spike.
    #[schemars(range(min = 0))]
    pub base: f64,
    /// Target during the spike.
    #[schemars(range(min = 0))]
    pub peak: f64,
    /// When the spike starts, from the start of the run.
    pub at: Duration,
    /// How long the peak holds.
    pub hold: Duration,
}

/// Stages.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stages {
    /// The stages, in order. Their durations add up to the run time; the last target holds after.
    #[schemars(length(min = 1))]
    pub stages: Vec<Stage>,
}

/// One stage.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// How long this stage lasts.
    pub duration: Duration,
    /// Target reached in this stage.
    #[schemars(range(min = 0))]
    pub target: f64,
    /// Closed model: users per second while moving to `target` (default `load.spawn_rate`).
    /// Open model: ignored; the rate moves linearly over the stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub spawn_rate: Option<f64>,
}

/// A sine wave.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sine {
    /// The middle of the wave.
    #[schemars(range(min = 0))]
    pub base: f64,
    /// Half the distance from trough to crest; `base - amplitude` must not be negative.
    #[schemars(range(min = 0))]
    pub amplitude: f64,
    /// Length of one full cycle.
    pub period: Duration,
}

/// A recorded curve.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    /// CSV file of `seconds,target` rows (a header row is allowed), relative to the manifest.
    pub file: String,
    /// Multiplier applied to every target.
    #[serde(default = "one")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub scale: f64,
}

fn one() -> f64 {
    1.0
}
