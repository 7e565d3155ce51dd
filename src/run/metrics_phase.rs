//! The metrics source during a run (its URL and targets rendered by the plan): the pre-flight check of a Prometheus source (again once
//! the stack is ready, for stacks that run their own Prometheus), the embedded scraper, and
//! the collect phase over exactly the load's window.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::apply::Run;
use super::load_phase::During;
use super::record::PhaseStatus;
use super::stop::StopReason;
use crate::load::Exposition;
use crate::manifest::model::{EmbeddedSource, MetricsSource, PrometheusSource, Stack};
use crate::metrics::prometheus::Client;
use crate::scrape::scraper;
use crate::stack::driver::{Background, Watched};

/// The most series the embedded store keeps; beyond, new series are refused with a warning.
const EMBEDDED_MAX_SERIES: usize = 100_000;

/// What the run knows of its metrics source.
#[derive(Default)]
pub struct Source {
    pub prometheus: Option<Client>,
    /// Why a configured Prometheus cannot be used (queries are then marked missing).
    pub error: Option<String>,
    /// Ask again once the stack is ready (it may run the Prometheus itself).
    pub recheck: bool,
}

/// The embedded scraper, running during the load and the cooldown.
pub struct Scrape {
    store: Arc<Mutex<crate::tsdb::Store>>,
    task: Background<Vec<scraper::Source>>,
}

impl Scrape {
    /// The store the scraper writes (for rules evaluated while it does).
    pub fn store(&self) -> Arc<Mutex<crate::tsdb::Store>> {
        self.store.clone()
    }
}

/// Checks a Prometheus source before anything is deployed (`after_ready`: the second chance).
pub async fn check(run: &mut Run<'_>, after_ready: bool) {
    let MetricsSource::Prometheus(src) = &run.plan.exec.experiment.metrics.source else {
        return;
    };
    if after_ready && !(run.metrics_source.recheck && run.going()) {
        return;
    }
    let p = run.phases.begin("metrics-check");
    let answer = match Client::new(src) {
        Ok(c) => c.ping().await.map(|_| c),
        Err(e) => Err(e),
    }
    .map_err(|e| crate::error::flatten(&e));
    match answer {
        Ok(c) => {
            run.phases.end(p, PhaseStatus::Ok, None);
            run.metrics_source.prometheus = Some(c);
        }
        Err(e) if !after_ready && !matches!(run.plan.exec.experiment.stack, Stack::External(_)) => {
            eprintln!("soy: {e}; asking again once the stack is ready (it may run Prometheus)");
            run.phases.end(p, PhaseStatus::Skipped, Some(e));
            run.metrics_source.recheck = true;
        }
        Err(e) => {
            run.phases.end(p, PhaseStatus::Failed, Some(e.clone()));
            unavailable(run, src, e);
        }
    }
}

/// An unreachable source stops the run before any load when it is required; otherwise the
/// run goes on and its queries are marked missing.
fn unavailable(run: &mut Run<'_>, src: &PrometheusSource, e: String) {
    if src.required && !run.opts.allow_missing_metrics {
        run.end_early(StopReason::Failed(format!(
            "{e}; no load was sent (--allow-missing-metrics runs without it)"
        )));
    } else {
        eprintln!("soy: going on without metrics: {e}");
        run.metrics_source.error = Some(e);
    }
}

/// Starts the embedded scraper (for an embedded source): soy's in-process expositions and
/// the manifest's targets, from now until the end of the cooldown.
pub(super) fn start_scrape(
    run: &Run<'_>,
    in_process: Vec<(&str, Exposition)>,
) -> Result<Option<Scrape>, String> {
    let MetricsSource::Embedded(src) = &run.plan.exec.experiment.metrics.source else {
        return Ok(None);
    };
    let sources = embedded_sources(src, in_process)?;
    let tls = crate::http::tls::client_config(false, None).map_err(|e| format!("metrics: {e}"))?;
    let store = Arc::new(Mutex::new(crate::tsdb::Store::new(EMBEDDED_MAX_SERIES)));
    let interval = src.scrape_interval.0.max(Duration::from_millis(100));
    let s = store.clone();
    let task = Background::spawn(move |done| scraper::run(sources, s, interval, tls, done));
    Ok(Some(Scrape { store, task }))
}

/// The collect phase: what the stack's watcher and the actions gathered, then every query
/// over the load's window, from the embedded store or the Prometheus source.
pub async fn collect(run: &mut Run<'_>, during: During) {
    let p = run.phases.begin("collect");
    let (watched, events, scrape, evaluated, scaling) = during.finish().await;
    for r in &scaling {
        for d in r.decisions.iter().filter(|d| d.to != d.from) {
            run.events.push(crate::report::summary::Event {
                at: d.at,
                what: format!(
                    "autoscale {} {} → {} ({})",
                    r.service, d.from, d.to, d.reason
                ),
                error: d.error.clone(),
                kind: crate::analysis::series::EventKind::Scaling,
            });
        }
    }
    run.scaling = scaling;
    for a in &evaluated.alerts {
        for c in &a.changes {
            run.events.push(crate::report::summary::Event {
                at: c.at,
                what: format!(
                    "alert {}{} {}",
                    a.name,
                    crate::rules::alert::show(&a.labels),
                    c.state
                ),
                error: None,
                kind: crate::analysis::series::EventKind::Alert,
            });
        }
    }
    run.alerts = evaluated.alerts;
    let Watched {
        metrics, events: e, ..
    } = watched;
    run.metrics = metrics;
    run.events.extend(events);
    run.events.extend(e);
    let now = crate::clock::now();
    let window = (run.load_start.unwrap_or(now), now);
    let plan = &run.plan.metrics;
    let collected = match scrape {
        Some(Scrape { store, task }) => {
            let sources = task.finish().await;
            let mut problems = scraper::problems(&sources);
            match store.lock() {
                Ok(store) => {
                    problems.extend(store.warning());
                    for p in &problems {
                        eprintln!("soy: metrics: {p}");
                    }
                    super::collect::embedded(&store, &problems, plan, window, &run.dir)
                }
                Err(_) => {
                    run.end_early(StopReason::Failed("the metrics store is poisoned".into()));
                    Vec::new()
                }
            }
        }
        None => {
            let (client, error) = (&run.metrics_source.prometheus, &run.metrics_source.error);
            super::collect::queries(client.as_ref(), error.as_deref(), plan, window, &run.dir).await
        }
    };
    run.metrics.extend(collected);
    run.phases.end(p, PhaseStatus::Ok, None);
}

/// The embedded source's targets: soy's in-process expositions, then the manifest's URLs
/// (`job="targets"`, `instance` = host:port, plus the path when it is not `/metrics`).
fn embedded_sources(
    src: &EmbeddedSource,
    in_process: Vec<(&str, Exposition)>,
) -> Result<Vec<scraper::Source>, String> {
    use crate::scrape::{ingest::TargetState, scraper::Origin};
    let mut out: Vec<scraper::Source> = in_process
        .into_iter()
        .map(|(job, text)| scraper::Source {
            origin: Origin::InProcess(text),
            state: TargetState::new(job, "soy"),
        })
        .collect();
    for (i, url) in src.targets.iter().enumerate() {
        let target = crate::http::target::Target::parse(url)
            .map_err(|e| format!("metrics.source.targets[{i}]: {e}"))?;
        // Prometheus' `host:port`, with the path when it is not `/metrics`, so two targets
        // on one port stay apart.
        let instance = if target.path == "/metrics" {
            format!("{}:{}", target.host, target.port)
        } else {
            format!("{}:{}{}", target.host, target.port, target.path)
        };
        out.push(scraper::Source {
            origin: Origin::Http(target),
            state: TargetState::new("targets", &instance),
        });
    }
    Ok(out)
}
