//! Prometheus' alerting-rule state machine, pure: one rule's alerts across evaluations.
//!
//! As Prometheus' `AlertingRule.Eval` does it: each element of the expression's result is an
//! active alert, `pending` from the evaluation it first appears at (`active_at`) and `firing`
//! once it has been active for `for`; an alert missing from a result resolves at that
//! evaluation (a pending one is dropped at once) unless it was firing and `keep_firing_for`
//! still holds it; a resolved alert is forgotten after a retention. Staleness is the
//! query's business: a series that went stale is simply not in the result.

use std::collections::BTreeMap;

/// How long a resolved alert is kept (Prometheus' `resolvedRetention`).
pub const RESOLVED_RETENTION: f64 = 15.0 * 60.0;

/// An alert's labels: the result element's, as a sorted map.
pub type Labels = BTreeMap<String, String>;

/// Labels as PromQL writes them: `{service="gateway"}` (nothing when there are none).
pub fn show(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Inactive,
    Pending,
    Firing,
}

/// One alert of a rule: one labelset of its result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Alert {
    pub labels: Labels,
    pub state: State,
    /// The result's value at the last evaluation that had it.
    pub value: f64,
    /// When it first appeared (seconds).
    pub active_at: f64,
    pub fired_at: Option<f64>,
    pub resolved_at: Option<f64>,
    /// When it left the result while firing (for `keep_firing_for`).
    keep_firing_since: Option<f64>,
}

/// A state an alert entered at one evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Transition {
    pub at: f64,
    pub labels: Labels,
    pub to: State,
    pub value: f64,
}

/// One rule's alerts.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    /// `for`, seconds.
    pub hold: f64,
    /// `keep_firing_for`, seconds.
    pub keep_firing_for: f64,
    active: BTreeMap<Labels, Alert>,
}

impl Rule {
    pub fn new(hold: f64, keep_firing_for: f64) -> Rule {
        Rule {
            hold,
            keep_firing_for,
            active: BTreeMap::new(),
        }
    }

    /// The alerts known now (active, and resolved within the retention).
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.active.values()
    }

    /// Whether any alert is firing.
    pub fn firing(&self) -> bool {
        self.active.values().any(|a| a.state == State::Firing)
    }

    /// One evaluation at `ts` with the expression's result; returns the state changes.
    pub fn eval(&mut self, ts: f64, result: &[(Labels, f64)]) -> Vec<Transition> {
        let mut out = Vec::new();
        for (labels, value) in result {
            match self.active.get_mut(labels) {
                Some(a) if a.state != State::Inactive => {
                    a.value = *value;
                }
                _ => {
                    self.active.insert(
                        labels.clone(),
                        Alert {
                            labels: labels.clone(),
                            state: State::Pending,
                            value: *value,
                            active_at: ts,
                            fired_at: None,
                            resolved_at: None,
                            keep_firing_since: None,
                        },
                    );
                    out.push(Transition {
                        at: ts,
                        labels: labels.clone(),
                        to: State::Pending,
                        value: *value,
                    });
                }
            }
        }
        let present: std::collections::BTreeSet<&Labels> = result.iter().map(|(l, _)| l).collect();
        let mut forget = Vec::new();
        for (key, a) in self.active.iter_mut() {
            if present.contains(key) {
                a.keep_firing_since = None;
            } else {
                let mut keep = false;
                if a.state == State::Firing && self.keep_firing_for > 0.0 {
                    let since = *a.keep_firing_since.get_or_insert(ts);
                    keep = ts - since < self.keep_firing_for;
                }
                if a.state == State::Pending
                    || a.resolved_at.is_some_and(|r| ts - r > RESOLVED_RETENTION)
                {
                    forget.push(key.clone());
                }
                if a.state != State::Inactive && !keep {
                    a.state = State::Inactive;
                    a.resolved_at = Some(ts);
                    out.push(Transition {
                        at: ts,
                        labels: key.clone(),
                        to: State::Inactive,
                        value: a.value,
                    });
                }
                if !keep {
                    continue;
                }
            }
            if a.state == State::Pending && ts - a.active_at >= self.hold {
                a.state = State::Firing;
                a.fired_at = Some(ts);
                out.push(Transition {
                    at: ts,
                    labels: key.clone(),
                    to: State::Firing,
                    value: a.value,
                });
            }
        }
        for k in forget {
            self.active.remove(&k);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(service: &str) -> Labels {
        Labels::from([("service".to_string(), service.to_string())])
    }

    fn states(t: &[Transition]) -> Vec<(f64, State)> {
        t.iter().map(|t| (t.at, t.to)).collect()
    }

    #[test]
    fn without_for_an_alert_fires_at_its_first_evaluation() {
        let mut r = Rule::new(0.0, 0.0);
        let t = r.eval(10.0, &[(l("a"), 2.0)]);
        assert_eq!(states(&t), [(10.0, State::Pending), (10.0, State::Firing)]);
        assert!(r.firing());
    }

    #[test]
    fn for_holds_it_pending_until_it_has_been_active_that_long() {
        let mut r = Rule::new(30.0, 0.0);
        let mut all = Vec::new();
        for ts in [0.0, 10.0, 20.0, 30.0, 40.0] {
            all.extend(r.eval(ts, &[(l("a"), 1.0)]));
        }
        // Fires at the first evaluation at least `for` after it became active.
        assert_eq!(states(&all), [(0.0, State::Pending), (30.0, State::Firing)]);
        let a = r.alerts().next().expect("alert");
        assert_eq!((a.active_at, a.fired_at), (0.0, Some(30.0)));
    }

    #[test]
    fn a_pending_alert_that_goes_away_is_dropped_and_starts_over() {
        let mut r = Rule::new(30.0, 0.0);
        r.eval(0.0, &[(l("a"), 1.0)]);
        let t = r.eval(10.0, &[]);
        assert_eq!(states(&t), [(10.0, State::Inactive)]);
        assert_eq!(r.alerts().count(), 0, "forgotten");
        r.eval(20.0, &[(l("a"), 1.0)]);
        let t = r.eval(40.0, &[(l("a"), 1.0)]);
        assert!(t.is_empty(), "20 s active, not yet 30: {t:?}");
        let t = r.eval(50.0, &[(l("a"), 1.0)]);
        assert_eq!(states(&t), [(50.0, State::Firing)]);
    }

    #[test]
    fn a_firing_alert_resolves_when_its_series_goes_and_is_kept_as_resolved() {
        let mut r = Rule::new(0.0, 0.0);
        r.eval(0.0, &[(l("a"), 5.0)]);
        let t = r.eval(10.0, &[]);
        assert_eq!(states(&t), [(10.0, State::Inactive)]);
        let a = r.alerts().next().expect("kept as resolved");
        assert_eq!(
            (a.state, a.resolved_at, a.value),
            (State::Inactive, Some(10.0), 5.0)
        );
        // Back again: a new alert, pending from now.
        let t = r.eval(20.0, &[(l("a"), 6.0)]);
        assert_eq!(states(&t), [(20.0, State::Pending), (20.0, State::Firing)]);
        // Forgotten after the retention.
        r.eval(30.0, &[]);
        r.eval(30.0 + RESOLVED_RETENTION + 1.0, &[]);
        assert_eq!(r.alerts().count(), 0);
    }

    #[test]
    fn keep_firing_for_holds_a_firing_alert_after_its_condition_clears() {
        let mut r = Rule::new(0.0, 25.0);
        r.eval(0.0, &[(l("a"), 1.0)]);
        let mut all = Vec::new();
        for ts in [10.0, 20.0, 30.0, 40.0] {
            all.extend(r.eval(ts, &[]));
        }
        // Gone at 10 s; still firing at 20 and 30 (under 25 s), resolved at 40.
        assert_eq!(states(&all), [(40.0, State::Inactive)]);
        // A return within the window resets it.
        let mut r = Rule::new(0.0, 25.0);
        r.eval(0.0, &[(l("a"), 1.0)]);
        r.eval(10.0, &[]);
        r.eval(20.0, &[(l("a"), 1.0)]);
        let t = r.eval(40.0, &[]);
        assert!(t.is_empty() && r.firing(), "{t:?}");
    }

    #[test]
    fn each_labelset_is_its_own_alert() {
        let mut r = Rule::new(10.0, 0.0);
        r.eval(0.0, &[(l("a"), 1.0)]);
        let t = r.eval(10.0, &[(l("a"), 1.0), (l("b"), 2.0)]);
        assert_eq!(
            t.iter()
                .map(|t| (t.labels["service"].as_str(), t.to))
                .collect::<Vec<_>>(),
            [("b", State::Pending), ("a", State::Firing)]
        );
    }
}
