//! `alerts:` evaluated live, from the start of the load to the end of the cooldown: every
//! evaluation interval each rule's expression is asked as an instant query (of the embedded
//! store while the scraper writes it, or of the Prometheus source), its result goes through
//! Prometheus' state machine (`rules::alert`), every change is printed and kept, and a rule
//! with `abort: true` that fires stops the load.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::stop::{StopReason, StopSignal};
use crate::metrics::prometheus::Client;
use crate::plan::AlertPlan;
use crate::rules::alert::{Labels, Rule, State};
use crate::rules::record::{AlertChange, AlertRecord};
use crate::stack::driver::Background;

/// Where the rules read.
#[derive(Clone)]
pub enum Live {
    Embedded(Arc<Mutex<crate::tsdb::Store>>),
    Prometheus(Client),
}

/// What the evaluator kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evaluated {
    pub alerts: Vec<AlertRecord>,
    /// Evaluations that could not be answered: `(rule, why)`, the first of each.
    pub errors: Vec<(String, String)>,
    pub evaluations: u64,
}

/// Starts the evaluator; `None` without rules.
/// `offset`: how long after the load's start the first evaluation is (half a scrape
/// interval after the embedded scrapes, so that an evaluation does not race the scrape of
/// the same instant).
pub fn start(
    rules: &[AlertPlan],
    every: Duration,
    offset: Duration,
    source: Option<Live>,
    load_start: f64,
    stop: StopSignal,
) -> Option<Background<Evaluated>> {
    if rules.is_empty() {
        return None;
    }
    let rules = rules.to_vec();
    let every = every.max(Duration::from_millis(100));
    Some(Background::spawn(move |mut done| async move {
        let mut out = Evaluated::default();
        let Some(source) = source else {
            out.errors.push((
                "alerts".into(),
                "no metrics source answers queries in this run".into(),
            ));
            return out;
        };
        let mut machines: Vec<Rule> = rules
            .iter()
            .map(|r| Rule::new(r.hold_s, r.keep_firing_for_s))
            .collect();
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // Each evaluation at its scheduled time, as Prometheus evaluates a group: `for` and
        // `keep_firing_for` then count whole intervals, whatever the timer's jitter.
        let first = crate::clock::now() + offset.as_secs_f64();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = done.changed() => break,
            }
            let step = every.as_secs_f64();
            let ts = first + ((crate::clock::now() - first) / step).round().max(0.0) * step;
            out.evaluations += 1;
            let elapsed = ts - load_start;
            for (i, rule) in rules.iter().enumerate() {
                if elapsed < rule.after_s {
                    continue;
                }
                let expr = rule.expr.replace(
                    crate::rules::file::ELAPSED,
                    &format!("{}s", elapsed.round().max(1.0)),
                );
                let result = match instant(&source, &expr, ts).await {
                    Ok(r) => r,
                    Err(e) => {
                        if !out.errors.iter().any(|(n, _)| n == &rule.name) {
                            eprintln!("soy: alert {}: {e}", rule.name);
                            out.errors.push((rule.name.clone(), e));
                        }
                        continue;
                    }
                };
                for t in machines[i].eval(ts, &result) {
                    let mut labels = t.labels.clone();
                    labels.extend(rule.labels.clone());
                    let annotations = rule
                        .annotations
                        .iter()
                        .map(|(k, v)| {
                            let text = crate::rules::annotation::render(v, &labels, t.value)
                                .unwrap_or_else(|e| e.to_string());
                            (k.clone(), text)
                        })
                        .collect();
                    let state = match t.to {
                        State::Pending => "pending",
                        State::Firing => "firing",
                        State::Inactive => "resolved",
                    };
                    let at = ts - load_start;
                    eprintln!(
                        "soy: alert {}{} {state} at {at:.1}s (value {})",
                        rule.name,
                        crate::rules::alert::show(&t.labels),
                        t.value
                    );
                    let record = match out
                        .alerts
                        .iter_mut()
                        .find(|a| a.name == rule.name && a.labels == labels)
                    {
                        Some(r) => r,
                        None => {
                            out.alerts.push(AlertRecord {
                                name: rule.name.clone(),
                                labels: labels.clone(),
                                changes: Vec::new(),
                                annotations: Default::default(),
                                fired: false,
                                aborted: false,
                            });
                            out.alerts.last_mut().expect("pushed")
                        }
                    };
                    record.changes.push(AlertChange {
                        at,
                        state: state.into(),
                        value: t.value,
                    });
                    record.annotations = annotations;
                    if t.to == State::Firing {
                        record.fired = true;
                        if rule.abort && stop.reason().is_none() {
                            record.aborted = true;
                            stop.stop(StopReason::Aborted {
                                alert: rule.name.clone(),
                                labels: crate::rules::alert::show(&t.labels),
                                slo: rule.slo,
                            });
                        }
                    }
                }
            }
        }
        out
    }))
}

/// One instant query: `(labels, value)` of each element (a scalar is one element without
/// labels).
pub(super) async fn instant(
    source: &Live,
    expr: &str,
    ts: f64,
) -> Result<Vec<(Labels, f64)>, String> {
    match source {
        Live::Embedded(store) => {
            let store = store
                .lock()
                .map_err(|_| "the metrics store is poisoned".to_string())?;
            let answer = crate::promql::instant(
                expr,
                &*store,
                (ts * 1000.0).round() as i64,
                &crate::promql::Options::default(),
            )
            .map_err(|e| crate::error::flatten(&e))?;
            Ok(match answer.value {
                crate::promql::Value::Vector(v) => v
                    .into_iter()
                    .map(|s| (s.labels.iter().cloned().collect(), s.value))
                    .collect(),
                crate::promql::Value::Scalar(v) => vec![(Labels::new(), v)],
                other => return Err(format!("the expression gives a {}", other.kind())),
            })
        }
        Live::Prometheus(client) => {
            let answer = client
                .query(expr, ts)
                .await
                .map_err(|e| crate::error::flatten(&e))?;
            Ok(answer
                .series
                .into_iter()
                .filter_map(|s| Some((s.labels, s.points.last()?.1)))
                .collect())
        }
    }
}
