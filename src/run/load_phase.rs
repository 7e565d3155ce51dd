//! The load phase: the stack's watcher (usage, a service that dies), timed actions, the
//! embedded scraper, and the load driver under the run's stop signal. What runs in the
//! background goes on through the cooldown and is gathered by the collect phase.

use std::time::Duration;

use super::apply::Run;
use super::metrics_phase::{self, Scrape};
use super::record::PhaseStatus;
use super::stop::StopReason;
use crate::load::driver::LoadDriver;
use crate::report::summary::Event;
use crate::stack::driver::{Background, StackDriver, Watched, Watcher};

/// What keeps running after the load until the collect phase.
#[derive(Default)]
pub struct During {
    watcher: Option<Watcher>,
    actions: Option<Background<Vec<Event>>>,
    scrape: Option<Scrape>,
    /// `alerts:`, evaluated live.
    rules: Option<Background<super::rules_phase::Evaluated>>,
    /// `autoscale:` controllers.
    scaling: Option<Background<Vec<crate::rules::record::ScalingRecord>>>,
    /// Turns "a service died" into the run's stop signal.
    forward: Option<tokio::task::JoinHandle<()>>,
}

impl During {
    /// Stops the background work; returns what the watcher and the actions gathered, and
    /// the scraper (still to be finished by the collect phase).
    pub async fn finish(
        self,
    ) -> (
        Watched,
        Vec<Event>,
        Option<Scrape>,
        super::rules_phase::Evaluated,
        Vec<crate::rules::record::ScalingRecord>,
    ) {
        if let Some(f) = self.forward {
            f.abort();
        }
        let evaluated = match self.rules {
            Some(r) => r.finish().await,
            None => Default::default(),
        };
        let scaling = match self.scaling {
            Some(s) => s.finish().await,
            None => Vec::new(),
        };
        let watched = match self.watcher {
            Some(w) => w.task.finish().await,
            None => Watched::default(),
        };
        let events = match self.actions {
            Some(a) => a.finish().await,
            None => Vec::new(),
        };
        (watched, events, self.scrape, evaluated, scaling)
    }
}

/// Runs the load phase (when the run is still going).
pub async fn run<L: LoadDriver>(
    run: &mut Run<'_>,
    stack: &impl StackDriver,
    engine: Result<L, impl std::error::Error>,
) -> During {
    let mut during = During::default();
    if !run.going() {
        return during;
    }
    let step = run.plan.metrics.step.0.max(Duration::from_secs(1));
    let watcher = stack.watch(step);
    let usage = watcher.as_ref().and_then(|w| w.exposition.clone());
    if let Some(w) = &watcher {
        let (mut broken, stop) = (w.broken.clone(), run.stop.clone());
        during.forward = Some(tokio::spawn(async move {
            if let Ok(name) = broken.wait_for(Option::is_some).await {
                let service = name.clone().unwrap_or_default();
                stop.stop(StopReason::ServiceExited { service });
            }
        }));
    }
    during.watcher = watcher;
    let mut in_process = Vec::new();
    if let Ok(e) = &engine {
        in_process.push(("soy", e.exposition()));
    }
    if let Some(u) = &usage {
        in_process.push(("cadvisor", u.clone()));
    }
    match metrics_phase::start_scrape(run, in_process) {
        Ok(s) => during.scrape = s,
        Err(e) => {
            run.end_early(StopReason::Failed(e));
            return during;
        }
    }
    let p = run.phases.begin("load");
    let load_start = crate::clock::now();
    run.load_start = Some(load_start);
    let live = match (&during.scrape, &run.metrics_source.prometheus) {
        (Some(s), _) => Some(super::rules_phase::Live::Embedded(s.store())),
        (None, Some(c)) => Some(super::rules_phase::Live::Prometheus(c.clone())),
        (None, None) => None,
    };
    let every = run.plan.evaluation_interval.0;
    let offset = match &run.plan.exec.experiment.metrics.source {
        crate::manifest::model::MetricsSource::Embedded(e) => e.scrape_interval.0 / 2,
        crate::manifest::model::MetricsSource::Prometheus(_) => every / 2,
    };
    let rules: Vec<crate::plan::AlertPlan> = run
        .plan
        .alerts
        .iter()
        .chain(&run.plan.live_slos)
        .cloned()
        .collect();
    during.scaling = super::autoscale_phase::start(
        &run.plan.autoscale,
        stack.scaler(),
        live.clone(),
        load_start,
    );
    during.rules =
        super::rules_phase::start(&rules, every, offset, live, load_start, run.stop.clone());
    super::apply::checkpoint(run);
    during.actions = stack.act(run.plan.exec.experiment.actions.clone());
    let result = match engine {
        Ok(mut e) => {
            if let Some(u) = usage {
                e.serve_also(u);
            }
            let stop = run.stop.clone();
            e.run(async move {
                stop.stopped().await;
            })
            .await
            .map_err(|e| crate::error::flatten(&e))
        }
        Err(e) => Err(crate::error::flatten(&e)),
    };
    match result {
        Ok(r) => {
            let cut = run
                .stop
                .reason()
                .or_else(|| r.cut.clone().map(StopReason::Failed));
            let status = if cut.is_some() {
                PhaseStatus::Interrupted
            } else {
                PhaseStatus::Ok
            };
            run.phases
                .end(p, status, cut.as_ref().map(ToString::to_string));
            if let Some(c) = cut {
                run.end_early(c);
            }
            run.results = Some(r);
        }
        Err(e) => {
            run.phases.end(p, PhaseStatus::Failed, Some(e.clone()));
            run.end_early(StopReason::Failed(e));
        }
    }
    during
}
