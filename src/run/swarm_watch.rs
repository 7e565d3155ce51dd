//! Watching a swarm stack during the run: replicas per service, each container's usage (as
//! cAdvisor names it, also served on the load metrics port), and task failures as events.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::analysis::series::{QueryResult, Series};
use crate::clock;
use crate::load::Exposition;
use crate::metrics::cadvisor;
use crate::report::summary::Event;
use crate::stack::swarm::{Replicas, Swarm};

/// Replica counts: when, and each service's.
type ReplicaSamples = Vec<(f64, Vec<Replicas>)>;

/// What the watcher gathered; shared with the task that fills it.
#[derive(Clone, Default)]
pub struct Watch {
    replicas: Arc<Mutex<ReplicaSamples>>,
    containers: Arc<Mutex<Vec<cadvisor::Sample>>>,
    /// The latest container usage as Prometheus text.
    pub exposition: Exposition,
}

impl Watch {
    /// Samples every `step` until the returned task is aborted. Failed tasks become events,
    /// timed from `start` (the load's start); those that failed before are not repeated.
    pub fn spawn(
        &self,
        sw: Swarm,
        stack: String,
        step: Duration,
        start: tokio::time::Instant,
        events: Arc<Mutex<Vec<Event>>>,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut seen: Option<HashSet<String>> = None;
            let mut iv = tokio::time::interval(step);
            loop {
                iv.tick().await;
                if let Ok(r) = sw.replicas(&stack).await {
                    if let Ok(mut o) = me.replicas.lock() {
                        o.push((clock::now(), r));
                    }
                }
                if let Ok(samples) = sw.container_samples(Some(&stack)).await {
                    if let Ok(mut t) = me.exposition.lock() {
                        *t = cadvisor::exposition(&samples);
                    }
                    if let Ok(mut o) = me.containers.lock() {
                        o.extend(samples);
                    }
                }
                if let Ok(failed) = sw.failed_tasks(&stack).await {
                    let known = seen.get_or_insert_with(|| {
                        failed.iter().map(|(id, _, _)| id.clone()).collect()
                    });
                    for (id, service, err) in failed {
                        if known.insert(id) {
                            let at = start.elapsed().as_secs_f64();
                            eprintln!("soy: a task of {service} failed: {err}");
                            if let Ok(mut ev) = events.lock() {
                                ev.push(Event {
                                    at,
                                    what: format!("task of {service} failed"),
                                    error: Some(err),
                                });
                            }
                        }
                    }
                }
            }
        })
    }

    /// The stored series: `swarm_replicas` and the cAdvisor-named container series.
    pub fn results(&self) -> Vec<QueryResult> {
        let mut out = Vec::new();
        if let Ok(samples) = self.replicas.lock() {
            if !samples.is_empty() {
                out.push(replica_series(&samples));
            }
        }
        if let Ok(samples) = self.containers.lock() {
            out.extend(cadvisor::results(&samples));
        }
        out
    }
}

/// Running replicas per service over time.
fn replica_series(samples: &ReplicaSamples) -> QueryResult {
    let mut by: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (t, reps) in samples {
        for r in reps {
            by.entry(r.service.clone())
                .or_default()
                .push((*t, r.running as f64));
        }
    }
    QueryResult {
        name: "swarm_replicas".into(),
        promql: None,
        unit: Some("replicas".into()),
        series: by
            .into_iter()
            .map(|(svc, points)| Series {
                labels: BTreeMap::from([("service".to_string(), svc)]),
                points,
            })
            .collect(),
        missing: None,
        warnings: Vec::new(),
        gaps: Vec::new(),
    }
}
