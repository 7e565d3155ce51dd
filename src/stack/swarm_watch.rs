//! Watching a swarm stack during the run: replicas per service, each container's usage (as
//! cAdvisor names it, also served on the load metrics port), and task failures as events.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use tokio::sync::watch;

use super::driver::{Background, Watched, Watcher};
use super::swarm::{Replicas, Swarm};
use crate::analysis::series::Event;
use crate::analysis::series::{QueryResult, Series};
use crate::clock;
use crate::load::Exposition;
use crate::metrics::cadvisor;

/// Replica counts: when, and each service's.
type ReplicaSamples = Vec<(f64, Vec<Replicas>)>;

/// Samples the stack every `step` until told to finish: replicas, container usage (also as
/// an exposition) and failed tasks as events, timed from the watcher's start (the load's
/// start); tasks that had failed before are not repeated.
pub fn spawn(sw: Swarm, stack: String, step: Duration) -> Watcher {
    let exposition = Exposition::default();
    let (_broke_tx, broken) = watch::channel(None);
    let text = exposition.clone();
    let task = Background::spawn(move |mut done_rx| async move {
        let start = tokio::time::Instant::now();
        let mut replicas: ReplicaSamples = Vec::new();
        let mut containers = Vec::new();
        let mut events = Vec::new();
        let mut seen: Option<HashSet<String>> = None;
        let mut iv = tokio::time::interval(step);
        loop {
            tokio::select! {
                _ = iv.tick() => {}
                _ = done_rx.changed() => break,
            }
            if let Ok(r) = sw.replicas(&stack).await {
                replicas.push((clock::now(), r));
            }
            if let Ok(samples) = sw.container_samples(Some(&stack)).await {
                if let Ok(mut t) = text.lock() {
                    *t = cadvisor::exposition(&samples);
                }
                containers.extend(samples);
            }
            if let Ok(failed) = sw.failed_tasks(&stack).await {
                let known = seen
                    .get_or_insert_with(|| failed.iter().map(|(id, _, _)| id.clone()).collect());
                for (id, service, err) in failed {
                    if known.insert(id) {
                        eprintln!("soy: a task of {service} failed: {err}");
                        events.push(Event {
                            at: start.elapsed().as_secs_f64(),
                            what: format!("task of {service} failed"),
                            error: Some(err),
                            kind: crate::analysis::series::EventKind::Task,
                        });
                    }
                }
            }
        }
        let mut metrics = Vec::new();
        if !replicas.is_empty() {
            metrics.push(replica_series(&replicas));
        }
        metrics.extend(cadvisor::results(&containers));
        Watched {
            metrics,
            events,
            broke: None,
        }
    });
    Watcher {
        exposition: Some(exposition),
        broken,
        task,
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
        section: Some(crate::manifest::model::Section::Scaling),
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
