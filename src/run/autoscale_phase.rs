//! `autoscale:` during the load and the cooldown: each controller, every `interval`, reads
//! its service's replicas and its metric (an instant query of the live source), asks its
//! policy (`rules::scale`) and scales the service when the policy says so. Every decision is
//! kept; every change is an event and is printed.

use crate::plan::{AutoscalePlan, PolicyPlan};
use crate::rules::record::{ScaleDecision, ScalingRecord};
use crate::rules::scale::{Limits, Target, Threshold};
use crate::stack::driver::{Background, Scaler};

use super::rules_phase::Live;

enum Policy {
    Target(Target),
    Threshold(Threshold),
}

impl Policy {
    fn new(p: &AutoscalePlan) -> Policy {
        let limits = Limits {
            min: p.min,
            max: p.max,
        };
        match &p.policy {
            PolicyPlan::Target {
                value,
                tolerance,
                up_window_s,
                down_window_s,
                max_step,
            } => {
                let mut t = Target::new(*value, limits);
                t.tolerance = *tolerance;
                t.up_window = *up_window_s;
                t.down_window = *down_window_s;
                t.max_step = *max_step;
                Policy::Target(t)
            }
            PolicyPlan::Threshold {
                upper,
                lower,
                step,
                up_cooldown_s,
                down_cooldown_s,
            } => {
                let mut t = Threshold::new(*upper, *lower, *step, limits);
                t.up_cooldown = *up_cooldown_s;
                t.down_cooldown = *down_cooldown_s;
                Policy::Threshold(t)
            }
        }
    }

    fn decide(&mut self, at: f64, current: u32, value: f64) -> crate::rules::scale::Decision {
        match self {
            Policy::Target(t) => t.decide(at, current, value),
            Policy::Threshold(t) => t.decide(at, current, value),
        }
    }
}

/// Starts the controllers; `None` without any.
pub fn start(
    plans: &[AutoscalePlan],
    scaler: Option<Scaler>,
    source: Option<Live>,
    load_start: f64,
) -> Option<Background<Vec<ScalingRecord>>> {
    if plans.is_empty() {
        return None;
    }
    let plans = plans.to_vec();
    Some(Background::spawn(move |done| async move {
        let (Some(scaler), Some(source)) = (scaler, source) else {
            eprintln!("soy: autoscale: no swarm stack or no metrics source to scale by");
            return Vec::new();
        };
        let runs = plans.into_iter().map(|p| {
            let (scaler, source, done) = (scaler.clone(), source.clone(), done.clone());
            control(p, scaler, source, load_start, done)
        });
        futures_util::future::join_all(runs).await
    }))
}

async fn control(
    plan: AutoscalePlan,
    scaler: Scaler,
    source: Live,
    load_start: f64,
    mut done: tokio::sync::watch::Receiver<bool>,
) -> ScalingRecord {
    let mut record = ScalingRecord {
        service: plan.service.clone(),
        decisions: Vec::new(),
        without_value: 0,
        figures: Default::default(),
        min: plan.min,
        max: plan.max,
        levels: plan.policy.levels(),
    };
    let mut policy = Policy::new(&plan);
    let every = std::time::Duration::from_secs_f64(plan.interval_s.max(0.1));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut warned = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = done.changed() => break,
        }
        let now = crate::clock::now();
        let at = now - load_start;
        let reps = match scaler.replicas(&plan.swarm_service).await {
            Ok(r) => r,
            Err(e) => {
                if !warned {
                    warned = true;
                    eprintln!(
                        "soy: autoscale {}: {}",
                        plan.service,
                        crate::error::flatten(&e)
                    );
                }
                continue;
            }
        };
        let value = match super::rules_phase::instant(&source, &plan.promql, now).await {
            Ok(v) if !v.is_empty() => v.iter().map(|(_, x)| x).sum::<f64>(),
            _ => {
                record.without_value += 1;
                continue;
            }
        };
        let value = if plan.per_replica {
            value / reps.ready.max(1) as f64
        } else {
            value
        };
        let current = u32::try_from(reps.desired).unwrap_or(u32::MAX);
        let d = policy.decide(at, current, value);
        let mut error = None;
        if d.to != d.from {
            let r = scaler.scale(&plan.swarm_service, d.to).await;
            error = r.err().map(|e| crate::error::flatten(&e));
            eprintln!(
                "soy: autoscale {} {} -> {} at {at:.1}s: {}{}",
                plan.service,
                d.from,
                d.to,
                d.reason,
                error
                    .as_ref()
                    .map_or(String::new(), |e| format!(" (failed: {e})"))
            );
        }
        record.decisions.push(ScaleDecision {
            at,
            value,
            ready: reps.ready,
            from: d.from,
            to: d.to,
            reason: d.reason,
            error,
        });
    }
    record.figures = crate::rules::record::figures(&record.decisions, plan.interval_s);
    record
}
