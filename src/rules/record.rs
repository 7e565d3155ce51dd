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
    /// What the controller's behaviour amounted to.
    #[serde(default)]
    pub figures: ScalingFigures,
    /// The replica limits.
    #[serde(default)]
    pub min: u32,
    #[serde(default)]
    pub max: u32,
    /// The policy's levels of the metric (`target`, or `upper` and `lower`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<Level>,
}

/// A named level of a controller's metric.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Level {
    pub name: String,
    pub value: f64,
}

/// A controller's behaviour in figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ScalingFigures {
    /// From the first decision to scale out to the first decision that saw the new
    /// replicas ready (seconds; at the controller's interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction_s: Option<f64>,
    /// Ready replicas × seconds, over the decisions.
    pub replica_seconds: f64,
    /// Replica changes made.
    pub changes: u64,
    /// Times a change went the other way from the one before (oscillation).
    pub direction_changes: u64,
    /// Seconds of the load in which a load SLO's statistic, taken for that second alone,
    /// broke its bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo_breach_s: Option<u64>,
}

/// The figures of a controller's decisions taken every `interval_s`.
pub fn figures(decisions: &[ScaleDecision], interval_s: f64) -> ScalingFigures {
    let reaction_s = decisions.iter().find(|d| d.to > d.from).and_then(|up| {
        decisions
            .iter()
            .find(|d| d.at > up.at && d.ready >= u64::from(up.to))
            .map(|d| d.at - up.at)
    });
    let dirs: Vec<bool> = decisions
        .iter()
        .filter(|d| d.to != d.from)
        .map(|d| d.to > d.from)
        .collect();
    ScalingFigures {
        reaction_s,
        replica_seconds: decisions.iter().map(|d| d.ready as f64 * interval_s).sum(),
        changes: dirs.len() as u64,
        direction_changes: dirs.windows(2).filter(|w| w[0] != w[1]).count() as u64,
        slo_breach_s: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(at: f64, ready: u64, from: u32, to: u32) -> ScaleDecision {
        ScaleDecision {
            at,
            value: 0.0,
            ready,
            from,
            to,
            reason: String::new(),
            error: None,
        }
    }

    #[test]
    fn reaction_replica_seconds_and_oscillation() {
        let ds = [
            d(0.0, 1, 1, 1),
            d(2.0, 1, 1, 3),
            d(4.0, 2, 3, 3),
            d(6.0, 3, 3, 3),
            d(8.0, 3, 3, 2),
            d(10.0, 2, 2, 3),
        ];
        let f = figures(&ds, 2.0);
        assert_eq!(f.reaction_s, Some(4.0), "ready 3 first seen at 6 s");
        assert_eq!(f.replica_seconds, 24.0);
        assert_eq!((f.changes, f.direction_changes), (3, 2));
        assert_eq!(figures(&ds[..1], 2.0).reaction_s, None);
    }
}
