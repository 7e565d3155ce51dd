//! Scaling decisions, pure: the Kubernetes HPA algorithm (`target`) and a step policy with
//! cooldowns (`threshold`). Each takes the metric's value, the running replicas and the time
//! and says how many replicas the service should have, and why.

use std::collections::VecDeque;

/// The HPA's `--horizontal-pod-autoscaler-tolerance` default.
pub const TOLERANCE: f64 = 0.1;

/// A decision: the replicas wanted and the reason, for the run's events.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decision {
    pub at: f64,
    pub value: f64,
    pub from: u32,
    pub to: u32,
    pub reason: String,
}

/// Replica limits shared by both policies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub min: u32,
    pub max: u32,
}

impl Limits {
    fn clamp(&self, n: i64) -> u32 {
        n.clamp(i64::from(self.min), i64::from(self.max.max(self.min))) as u32
    }
}

/// The HPA algorithm: desired = ceil(current × value / target) outside the tolerance band,
/// stabilized over separate windows (a scale-down takes the highest recommendation of its
/// window, a scale-up the lowest of its own), at most `max_step` replicas per decision.
#[derive(Debug, Clone)]
pub struct Target {
    pub target: f64,
    pub tolerance: f64,
    /// Seconds (Kubernetes' defaults: 0 up, 300 down).
    pub up_window: f64,
    pub down_window: f64,
    pub max_step: Option<u32>,
    pub limits: Limits,
    history: VecDeque<(f64, u32)>,
}

impl Target {
    pub fn new(target: f64, limits: Limits) -> Target {
        Target {
            target,
            tolerance: TOLERANCE,
            up_window: 0.0,
            down_window: 300.0,
            max_step: None,
            limits,
            history: VecDeque::new(),
        }
    }

    /// The raw recommendation: the replicas that bring the value to the target.
    pub fn desired(&self, current: u32, value: f64) -> u32 {
        if current == 0 || self.target <= 0.0 || !value.is_finite() {
            return current;
        }
        let ratio = value / self.target;
        if (ratio - 1.0).abs() <= self.tolerance {
            return current;
        }
        (f64::from(current) * ratio).ceil().max(0.0) as u32
    }

    /// One decision at `now` (seconds), with `current` replicas running.
    pub fn decide(&mut self, now: f64, current: u32, value: f64) -> Decision {
        let raw = self.desired(current, value);
        let (mut up, mut down) = (raw, raw);
        for &(t, rec) in &self.history {
            if t > now - self.up_window {
                up = up.min(rec);
            }
            if t > now - self.down_window {
                down = down.max(rec);
            }
        }
        self.history.push_back((now, raw));
        let keep = self.up_window.max(self.down_window);
        while self.history.front().is_some_and(|(t, _)| *t <= now - keep) {
            self.history.pop_front();
        }
        let stabilized = current.max(up).min(down);
        let mut to = i64::from(stabilized);
        if let Some(step) = self.max_step {
            let c = i64::from(current);
            to = to.clamp(c - i64::from(step), c + i64::from(step));
        }
        let to = self.limits.clamp(to);
        let ratio = value / self.target;
        let mut reason = format!(
            "value {value:.3} / target {:.3} = {ratio:.2}: {raw} wanted",
            self.target
        );
        if stabilized != raw {
            reason.push_str(&format!(", {stabilized} after stabilization"));
        }
        if to != stabilized {
            reason.push_str(&format!(", {to} within the limits"));
        }
        Decision {
            at: now,
            value,
            from: current,
            to,
            reason,
        }
    }
}

/// Out by `step` above `upper`, in by `step` below `lower`, each direction waiting its
/// cooldown after the last change.
#[derive(Debug, Clone)]
pub struct Threshold {
    pub upper: f64,
    pub lower: f64,
    pub step: u32,
    /// Seconds after any change before scaling out again, and before scaling in.
    pub up_cooldown: f64,
    pub down_cooldown: f64,
    pub limits: Limits,
    last_change: Option<f64>,
}

impl Threshold {
    pub fn new(upper: f64, lower: f64, step: u32, limits: Limits) -> Threshold {
        Threshold {
            upper,
            lower,
            step,
            up_cooldown: 0.0,
            down_cooldown: 0.0,
            limits,
            last_change: None,
        }
    }

    pub fn decide(&mut self, now: f64, current: u32, value: f64) -> Decision {
        let since = self.last_change.map_or(f64::INFINITY, |t| now - t);
        let c = i64::from(current);
        let (to, reason) = if value > self.upper && since >= self.up_cooldown {
            (
                self.limits.clamp(c + i64::from(self.step)),
                format!("value {value:.3} above {:.3}", self.upper),
            )
        } else if value < self.lower && since >= self.down_cooldown {
            (
                self.limits.clamp(c - i64::from(self.step)),
                format!("value {value:.3} below {:.3}", self.lower),
            )
        } else if value > self.upper || value < self.lower {
            (
                current,
                format!("value {value:.3} out of band, cooling down"),
            )
        } else {
            (
                self.limits.clamp(c),
                format!(
                    "value {value:.3} within [{:.3}, {:.3}]",
                    self.lower, self.upper
                ),
            )
        };
        if to != current {
            self.last_change = Some(now);
        }
        Decision {
            at: now,
            value,
            from: current,
            to,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits { min: 1, max: 5 };

    #[test]
    fn the_hpa_ratio_with_its_tolerance_band() {
        let t = Target::new(0.5, L);
        // 2 replicas at 0.9 cores each against 0.5: ceil(2 × 1.8) = 4.
        assert_eq!(t.desired(2, 0.9), 4);
        // Within 10% of the target: no change.
        assert_eq!(t.desired(2, 0.54), 2);
        assert_eq!(t.desired(2, 0.46), 2);
        // Below: ceil(3 × 0.2) = 1.
        assert_eq!(t.desired(3, 0.1), 1);
        assert_eq!(t.desired(3, f64::NAN), 3);
    }

    #[test]
    fn limits_and_the_largest_step_hold() {
        let mut t = Target::new(0.1, L);
        assert_eq!(t.decide(0.0, 2, 10.0).to, 5, "max");
        let mut t = Target::new(0.1, L);
        t.max_step = Some(1);
        let d = t.decide(0.0, 2, 10.0);
        assert_eq!(d.to, 3, "{d:?}");
        let mut t = Target::new(10.0, L);
        t.down_window = 0.0;
        assert_eq!(t.decide(0.0, 3, 0.0).to, 1, "min");
    }

    #[test]
    fn the_down_window_prevents_a_scale_down_right_after_a_scale_up() {
        let mut t = Target::new(0.5, L);
        t.down_window = 60.0;
        let up = t.decide(0.0, 1, 1.5);
        assert_eq!((up.from, up.to), (1, 3));
        // The load drops at once: the window still holds the recommendation of 3.
        let d = t.decide(15.0, 3, 0.1);
        assert_eq!(d.to, 3, "{d:?}");
        assert!(d.reason.contains("after stabilization"), "{}", d.reason);
        let d = t.decide(45.0, 3, 0.1);
        assert_eq!(d.to, 3);
        // Once the high recommendation has left the window, it scales in.
        let d = t.decide(61.0, 3, 0.1);
        assert_eq!(d.to, 1, "{d:?}");
    }

    #[test]
    fn an_up_window_takes_the_lowest_recent_recommendation() {
        let mut t = Target::new(1.0, L);
        t.up_window = 30.0;
        t.down_window = 0.0;
        assert_eq!(t.decide(0.0, 1, 1.0).to, 1);
        // A spike: 4 wanted, but the window still has 1.
        assert_eq!(t.decide(10.0, 1, 4.0).to, 1);
        // Sustained: after the window only high recommendations remain.
        assert_eq!(t.decide(20.0, 1, 4.0).to, 1);
        assert_eq!(t.decide(31.0, 1, 4.0).to, 4);
    }

    #[test]
    fn the_threshold_policy_steps_with_cooldowns() {
        let mut p = Threshold::new(0.8, 0.2, 1, L);
        p.up_cooldown = 20.0;
        p.down_cooldown = 60.0;
        assert_eq!(p.decide(0.0, 1, 0.9).to, 2);
        let d = p.decide(10.0, 2, 0.9);
        assert_eq!(d.to, 2, "cooling down: {d:?}");
        assert!(d.reason.contains("cooling down"));
        assert_eq!(p.decide(20.0, 2, 0.9).to, 3);
        assert_eq!(p.decide(30.0, 3, 0.5).to, 3, "in band");
        assert_eq!(p.decide(50.0, 3, 0.1).to, 3, "40 s after, under 60");
        assert_eq!(p.decide(80.0, 3, 0.1).to, 2);
        let mut p = Threshold::new(0.8, 0.2, 2, L);
        assert_eq!(p.decide(0.0, 4, 0.9).to, 5, "max");
        assert_eq!(p.decide(1.0, 2, 0.1).to, 1, "min");
    }
}
