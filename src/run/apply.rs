//! `soy apply`: the run lifecycle. Deploy, wait until ready, load (warm-up included), cool
//! down, collect, tear down, judge, report — recording each phase, stopping cleanly on
//! Ctrl-C and on errors, and always writing what was collected and a report that says why
//! it is incomplete when it is.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::dir::RunDir;
use super::record::{self, PhaseRecord, PhaseStatus, RunRecord};
use super::state::{RunState, ServiceState};
use crate::analysis::series::QueryResult;
use crate::analysis::slo;
use crate::error::Error;
use crate::exit;
use crate::load::engine;
use crate::load::live::Live;
use crate::load::results::Results;
use crate::load::setup::{Overrides, configure};
use crate::manifest::Manifest;
use crate::manifest::model::{Format, Stack, Teardown};
use crate::manifest::template;
use crate::plan::Plan;
use crate::report::render;
use crate::report::summary::{Event, LoadSummary, MetricSummary, Summary};
use crate::stack::local::LocalStack;
use crate::stack::{procfs, ready};

/// `/proc` samples: when, and each service's usage.
type Samples = Vec<crate::metrics::cadvisor::Sample>;

/// Where and how to run.
pub struct ApplyOptions {
    pub out: PathBuf,
    pub command_line: Vec<String>,
    /// Run even when a required metrics source does not answer.
    pub allow_missing_metrics: bool,
}

/// How a run ended.
pub struct Outcome {
    pub exit_code: u8,
    pub run_dir: PathBuf,
    pub report: Option<PathBuf>,
}

struct Phases(Vec<PhaseRecord>);

impl Phases {
    fn begin(&mut self, name: &str) -> usize {
        let t = crate::clock::now();
        self.0.push(PhaseRecord {
            name: name.into(),
            started_at: t,
            ended_at: t,
            status: PhaseStatus::Ok,
            error: None,
        });
        self.0.len() - 1
    }

    fn end(&mut self, i: usize, status: PhaseStatus, error: Option<String>) {
        if let Some(p) = self.0.get_mut(i) {
            p.ended_at = crate::clock::now();
            p.status = status;
            p.error = error;
        }
    }
}

/// Runs the experiment.
pub fn apply(m: &Manifest, plan: &Plan, opts: &ApplyOptions) -> Result<Outcome, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(format!("cannot start the runtime: {e}")))?;
    let dir = RunDir::create(&opts.out, &m.experiment.metadata.name).map_err(Error::Runtime)?;
    dir.write("manifest.yaml", m.source.as_bytes())
        .map_err(Error::Runtime)?;
    dir.write(
        "resolved.json",
        &serde_json::to_vec_pretty(plan).unwrap_or_default(),
    )
    .map_err(Error::Runtime)?;
    // Until the run ends, run.json says it is running and state.json what it deployed: a
    // run killed on the way reads as killed, and `soy down` finds what it left.
    let started = RunRecord {
        soy_version: env!("CARGO_PKG_VERSION").into(),
        api_version: crate::manifest::model::API_VERSION.into(),
        run_id: dir.id.clone(),
        experiment: m.experiment.metadata.name.clone(),
        host: record::hostname(),
        git: None,
        command_line: opts.command_line.clone(),
        phases: Vec::new(),
        status: "running".into(),
        reason: None,
        exit_code: 0,
    };
    dir.write(
        "run.json",
        &serde_json::to_vec_pretty(&started).unwrap_or_default(),
    )
    .map_err(Error::Runtime)?;
    let state = RunState::new(plan.stack.info.driver, &plan.stack.info.name);
    write_state(&dir, &state);
    eprintln!("soy: run directory {}", dir.path.display());
    Ok(rt.block_on(run(m, plan, opts, dir, state)))
}

/// Writes state.json; a failure is reported, not fatal (the run goes on).
fn write_state(dir: &RunDir, state: &RunState) {
    let written = serde_json::to_vec_pretty(state)
        .map_err(|e| e.to_string())
        .and_then(|b| dir.write("state.json", &b));
    if let Err(e) = written {
        eprintln!("soy: cannot record the run's state: {e}");
    }
}

async fn run(
    m: &Manifest,
    plan: &Plan,
    opts: &ApplyOptions,
    dir: RunDir,
    mut state: RunState,
) -> Outcome {
    let exp = &m.experiment;
    let (stop_tx, stop_rx) = watch::channel::<Option<String>>(None);
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let (tx, flag) = (stop_tx.clone(), interrupted.clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                let _ = tx.send(Some("interrupted (SIGINT)".into()));
            }
        });
    }
    let stopped = |rx: &watch::Receiver<Option<String>>| rx.borrow().clone();
    let mut phases = Phases(Vec::new());
    let mut reason: Option<String> = None;
    let vars = template::vars_context(&exp.vars);
    let mut local: Option<LocalStack> = None;
    let mut swarm: Option<crate::stack::swarm::Swarm> = None;
    let logs_dir = dir.path.join("logs");

    // The metrics source must answer before anything is deployed, when it is required. A
    // stack soy deploys may run the Prometheus itself: then it is asked again once the stack
    // is ready, still before any load.
    let mut prometheus = None;
    let mut metrics_error: Option<String> = None;
    let mut check_after_ready = false;
    if let crate::manifest::model::MetricsSource::Prometheus(src) = &exp.metrics.source {
        let p = phases.begin("metrics-check");
        match check_prometheus(src, &vars).await {
            Ok(c) => {
                phases.end(p, PhaseStatus::Ok, None);
                prometheus = Some(c);
            }
            Err(e) if !matches!(exp.stack, Stack::External(_)) => {
                eprintln!("soy: {e}; asking again once the stack is ready (it may run Prometheus)");
                phases.end(p, PhaseStatus::Skipped, Some(e));
                check_after_ready = true;
            }
            Err(e) => {
                let (status, stop) = metrics_unavailable(src, opts, &e);
                phases.end(p, status, Some(e.clone()));
                match stop {
                    Some(r) => reason = Some(r),
                    None => metrics_error = Some(e),
                }
            }
        }
    }

    // Deploy.
    let p = phases.begin("deploy");
    let deployed: Result<(), String> = match &exp.stack {
        _ if reason.is_some() => Err(reason.clone().unwrap_or_default()),
        Stack::Local(s) => {
            let (stack, result) =
                deploy_local(s, m, &vars, &logs_dir, &stop_rx, &dir, &mut state).await;
            local = stack;
            result
        }
        Stack::External(_) => Ok(()),
        Stack::Swarm(s) => {
            let deployed = interruptible(
                &stop_rx,
                deploy_swarm(s, plan.stack.swarm.as_ref(), &plan.stack.info.name),
            )
            .await
            .and_then(|r| r);
            deployed.map(|sw| {
                swarm = Some(sw);
            })
        }
    };
    phases.end(p, status_of(&deployed, &stop_rx), deployed.clone().err());
    if let Err(e) = deployed {
        reason = Some(e);
    }

    // Ready.
    if reason.is_none() {
        let p = phases.begin("ready");
        let log_paths: Vec<(String, PathBuf)> = local.as_ref().map_or_else(Vec::new, |l| {
            l.services
                .iter()
                .map(|r| (r.name.clone(), r.log.clone()))
                .collect()
        });
        let stack_ref = &mut local;
        let waited = interruptible(
            &stop_rx,
            ready::wait(exp.stack.ready(), &vars, &log_paths, || {
                match stack_ref.as_mut().and_then(|l| l.exited()) {
                    Some(e) => Err(e),
                    None => Ok(()),
                }
            }),
        )
        .await;
        let r = waited.and_then(|r| r.map(|_| ()));
        phases.end(p, status_of(&r, &stop_rx), r.clone().err());
        if let Err(e) = r {
            reason = Some(e);
        }
    }

    if check_after_ready && reason.is_none() {
        if let crate::manifest::model::MetricsSource::Prometheus(src) = &exp.metrics.source {
            let p = phases.begin("metrics-check");
            match check_prometheus(src, &vars).await {
                Ok(c) => {
                    phases.end(p, PhaseStatus::Ok, None);
                    prometheus = Some(c);
                }
                Err(e) => {
                    let (status, stop) = metrics_unavailable(src, opts, &e);
                    phases.end(p, status, Some(e.clone()));
                    match stop {
                        Some(r) => reason = Some(r),
                        None => metrics_error = Some(e),
                    }
                }
            }
        }
    }

    // Load, with process sampling and crash watching.
    let samples: Arc<Mutex<Samples>> = Arc::default();
    let groups: Vec<(String, i32)> = local.as_ref().map_or_else(Vec::new, LocalStack::groups);
    let watch = super::swarm_watch::Watch::default();
    let mut watcher: Option<tokio::task::JoinHandle<()>> = None;
    let process_text = crate::load::Exposition::default();
    let sampler = {
        let (samples, groups, tx) = (samples.clone(), groups.clone(), stop_tx.clone());
        let (text, stack) = (process_text.clone(), plan.stack.info.name.clone());
        let step = plan.metrics.step.0.max(Duration::from_secs(1));
        let pids: Vec<i32> = groups.iter().map(|g| g.1).collect();
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(step);
            loop {
                iv.tick().await;
                let usage = procfs::sample_without_leaders(&pids);
                // A service whose main process is gone (or a zombie) has died.
                if let Some(i) = pids.iter().position(|p| !procfs::alive(*p)) {
                    let _ = tx.send(Some(format!(
                        "service `{}` exited during the run",
                        groups[i].0
                    )));
                }
                let now = process_samples(&groups, crate::clock::now(), &usage, &stack);
                if !groups.is_empty() {
                    if let Ok(mut t) = text.lock() {
                        *t = crate::metrics::cadvisor::exposition(&now);
                    }
                }
                if let Ok(mut s) = samples.lock() {
                    s.extend(now);
                }
            }
        })
    };
    // The embedded source scrapes from here to the end of the cooldown.
    let store = Arc::new(Mutex::new(crate::tsdb::Store::new(EMBEDDED_MAX_SERIES)));
    let load_text = crate::load::Exposition::default();
    let (scrape_done, scrape_done_rx) = watch::channel(false);
    let mut scraper: Option<tokio::task::JoinHandle<Vec<crate::scrape::scraper::Source>>> = None;
    if let (crate::manifest::model::MetricsSource::Embedded(src), None) =
        (&exp.metrics.source, &reason)
    {
        let mut in_process = vec![("soy", load_text.clone())];
        if !groups.is_empty() {
            in_process.push(("cadvisor", process_text.clone()));
        }
        if swarm.is_some() {
            in_process.push(("cadvisor", watch.exposition.clone()));
        }
        match embedded_sources(src, &vars, in_process) {
            Ok(sources) => {
                let tls = crate::http::tls::client_config(false, None);
                match tls {
                    Ok(tls) => {
                        scraper = Some(tokio::spawn(crate::scrape::scraper::run(
                            sources,
                            store.clone(),
                            src.scrape_interval.0.max(Duration::from_millis(100)),
                            tls,
                            scrape_done_rx,
                        )));
                    }
                    Err(e) => reason = Some(format!("metrics: {e}")),
                }
            }
            Err(e) => reason = Some(e),
        }
    }
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let mut action_task: Option<tokio::task::JoinHandle<()>> = None;
    let mut results: Option<Results> = None;
    let mut load_start: Option<f64> = None;
    if reason.is_none() {
        let p = phases.begin("load");
        load_start = Some(crate::clock::now());
        if let Some(sw) = swarm.clone() {
            watcher = Some(watch.spawn(
                sw,
                plan.stack.info.name.clone(),
                plan.metrics.step.0.max(Duration::from_secs(1)),
                tokio::time::Instant::now(),
                events.clone(),
            ));
        }
        if let (Some(sw), false) = (swarm.clone(), exp.actions.is_empty()) {
            let (actions, stack, out) = (
                exp.actions.clone(),
                plan.stack.info.name.clone(),
                events.clone(),
            );
            let start = tokio::time::Instant::now();
            action_task = Some(tokio::spawn(async move {
                let mut actions = actions;
                actions.sort_by_key(|a| a.at);
                for a in actions {
                    tokio::time::sleep_until(start + a.at.0).await;
                    let svc = format!("{stack}_{}", a.service().unwrap_or_default());
                    let r = match (&a.scale, &a.restart) {
                        (Some(s), _) => sw.scale(&svc, s.replicas).await,
                        _ => sw.restart(&svc).await,
                    };
                    eprintln!(
                        "soy: action at {}: {}{}",
                        a.at,
                        a.describe(),
                        r.as_ref()
                            .err()
                            .map_or(String::new(), |e| format!(" failed: {e}"))
                    );
                    if let Ok(mut ev) = out.lock() {
                        ev.push(Event {
                            at: a.at.as_secs_f64(),
                            what: a.describe(),
                            error: r.err(),
                        });
                    }
                }
            }));
        }
        let overrides = Overrides::default();
        match configure(&exp.load, vars.clone(), &overrides, &m.dir) {
            Ok(mut cfg) => {
                cfg.exposition = Some(load_text.clone());
                if swarm.is_some() {
                    cfg.extra_metrics = Some(watch.exposition.clone());
                }
                let live = Live::new(cfg.model == crate::manifest::model::Workload::Open);
                let mut rx = stop_rx.clone();
                let stop = async move {
                    let _ = rx.wait_for(Option::is_some).await;
                };
                match engine::run(cfg, stop, |pr| live.update(pr)).await {
                    Ok(r) => {
                        live.finish();
                        let cut = stopped(&stop_rx);
                        phases.end(
                            p,
                            if cut.is_some() {
                                PhaseStatus::Interrupted
                            } else {
                                PhaseStatus::Ok
                            },
                            cut.clone(),
                        );
                        if let Some(c) = cut {
                            reason = Some(c);
                        }
                        results = Some(r);
                    }
                    Err(e) => {
                        phases.end(p, PhaseStatus::Failed, Some(e.clone()));
                        reason = Some(e);
                    }
                }
            }
            Err(e) => {
                phases.end(p, PhaseStatus::Failed, Some(e.clone()));
                reason = Some(e);
            }
        }
    }
    if reason.is_none() && !exp.load.cooldown.is_zero() {
        let p = phases.begin("cooldown");
        let r = interruptible(&stop_rx, tokio::time::sleep(exp.load.cooldown.0)).await;
        phases.end(p, status_of(&r, &stop_rx), r.clone().err());
        if let Err(e) = r {
            reason = Some(e);
        }
    }
    sampler.abort();
    if let Some(t) = action_task {
        t.abort();
    }
    if let Some(w) = watcher {
        w.abort();
    }

    // Collect.
    let p = phases.begin("collect");
    let stack_name = plan.stack.info.name.clone();
    let _ = &stack_name;
    let mut metrics = if groups.is_empty() {
        Vec::new()
    } else {
        crate::metrics::cadvisor::results(&samples.lock().map(|s| s.clone()).unwrap_or_default())
    };
    if matches!(exp.stack, Stack::Swarm(_)) {
        metrics.extend(watch.results());
    }
    let window = (
        load_start.unwrap_or_else(crate::clock::now),
        crate::clock::now(),
    );
    let collected = match scraper.take() {
        Some(task) => {
            let _ = scrape_done.send(true);
            let sources = task.await.unwrap_or_default();
            let mut problems = crate::scrape::scraper::problems(&sources);
            let store = store
                .lock()
                .map_err(|_| "the metrics store is poisoned".to_string());
            match store {
                Ok(store) => {
                    problems.extend(store.warning());
                    for p in &problems {
                        eprintln!("soy: metrics: {p}");
                    }
                    super::collect::embedded(&store, &problems, &plan.metrics, window, &dir)
                }
                Err(e) => {
                    reason.get_or_insert(e);
                    Vec::new()
                }
            }
        }
        None => {
            super::collect::queries(
                prometheus.as_ref(),
                metrics_error.as_deref(),
                &plan.metrics,
                window,
                &dir,
            )
            .await
        }
    };
    metrics.extend(collected);
    phases.end(p, PhaseStatus::Ok, None);

    // Tear down.
    let teardown = match &exp.stack {
        Stack::Local(s) => s.teardown,
        Stack::Swarm(s) => s.teardown,
        Stack::External(_) => Teardown::Never,
    };
    if let Some(mut stack) = local.take() {
        let p = phases.begin("teardown");
        let keep =
            teardown == Teardown::Never || (teardown == Teardown::OnSuccess && reason.is_some());
        if keep {
            let pids: Vec<String> = stack
                .groups()
                .iter()
                .map(|(n, pid)| format!("{n} (pid {pid})"))
                .collect();
            eprintln!(
                "soy: leaving the stack running (teardown: {teardown:?}): {}",
                pids.join(", ")
            );
            stack.detach();
            phases.end(p, PhaseStatus::Skipped, None);
        } else {
            stack.stop();
            phases.end(p, PhaseStatus::Ok, None);
        }
    }

    if let Some(sw) = swarm.take() {
        let p = phases.begin("teardown");
        let keep =
            teardown == Teardown::Never || (teardown == Teardown::OnSuccess && reason.is_some());
        if keep {
            eprintln!(
                "soy: leaving stack {} running (teardown: {teardown:?}); `soy down --stack {}` removes it",
                plan.stack.info.name, plan.stack.info.name
            );
            phases.end(p, PhaseStatus::Skipped, None);
        } else {
            let r = sw
                .remove(&plan.stack.info.name, Duration::from_secs(120))
                .await;
            phases.end(
                p,
                if r.is_ok() {
                    PhaseStatus::Ok
                } else {
                    PhaseStatus::Failed
                },
                r.err(),
            );
        }
    }

    state.finished = true;
    write_state(&dir, &state);

    // Judge and report.
    let verdicts = slo::judge(&exp.slos, results.as_ref(), &metrics);
    let failed = verdicts.iter().any(|v| !v.passed());
    let was_interrupted = interrupted.load(std::sync::atomic::Ordering::SeqCst);
    let (status, exit_code) = match (&reason, failed) {
        (Some(_), _) if was_interrupted => ("incomplete", exit::INTERRUPTED),
        (Some(_), _) => ("incomplete", exit::RUNTIME),
        (None, true) => ("failed", exit::SLO_FAILED),
        (None, false) => ("passed", exit::OK),
    };
    let git = record::git_state(&m.dir);
    let summary = Summary {
        experiment: exp.metadata.name.clone(),
        description: exp.metadata.description.clone(),
        run_id: dir.id.clone(),
        status: status.into(),
        reason: reason.clone(),
        exit_code,
        soy_version: env!("CARGO_PKG_VERSION").into(),
        git: git.clone(),
        phases: phases.0.clone(),
        slos: verdicts,
        load: results.as_ref().map(LoadSummary::from_results),
        metrics: metrics
            .iter()
            .map(|q| MetricSummary {
                name: q.name.clone(),
                series: q.series.len(),
                missing: q.missing.clone(),
                warnings: q.warnings.clone(),
                gaps: q.gaps.clone(),
            })
            .collect(),
        events: events
            .lock()
            .map(|e| {
                let mut e = e.clone();
                e.sort_by(|a, b| a.at.total_cmp(&b.at));
                e
            })
            .unwrap_or_default(),
        warnings: Vec::new(),
    };
    let mut problems = Vec::new();
    let mut note = |r: Result<(), String>| {
        if let Err(e) = r {
            problems.push(e);
        }
    };
    if let Some(r) = &results {
        note(dir.write(
            "results.json",
            &serde_json::to_vec_pretty(r).unwrap_or_default(),
        ));
        if let Some(prefix) = &exp.load.csv {
            for (suffix, text) in crate::load::locust_csv::files(r) {
                note(dir.write(&format!("{prefix}{suffix}"), text.as_bytes()));
            }
        }
    }
    note(dir.write(
        "metrics/series.json",
        &serde_json::to_vec_pretty(&metrics).unwrap_or_default(),
    ));
    note(dir.write("metrics/series.csv", tidy_csv(&metrics).as_bytes()));
    let run_record = RunRecord {
        soy_version: env!("CARGO_PKG_VERSION").into(),
        api_version: crate::manifest::model::API_VERSION.into(),
        run_id: dir.id.clone(),
        experiment: exp.metadata.name.clone(),
        host: record::hostname(),
        git,
        command_line: opts.command_line.clone(),
        phases: phases.0.clone(),
        status: status.into(),
        reason,
        exit_code,
    };
    note(dir.write(
        "run.json",
        &serde_json::to_vec_pretty(&run_record).unwrap_or_default(),
    ));
    note(dir.write(
        "summary.json",
        &serde_json::to_vec_pretty(&summary).unwrap_or_default(),
    ));
    let data = render::build(render::Inputs {
        title: exp
            .report
            .title
            .clone()
            .unwrap_or_else(|| exp.metadata.name.clone()),
        summary: summary.clone(),
        results: results.as_ref(),
        metrics: &metrics,
        labels: exp.metadata.labels.clone(),
        manifest: m.source.clone(),
        command_line: opts.command_line.join(" "),
        host: record::hostname(),
        load_start,
        warmup_s: exp.load.warmup.as_secs_f64(),
        cooldown_s: exp.load.cooldown.as_secs_f64(),
    });
    let written = super::dir::write_report(&dir, &data, &exp.report, &m.dir, &summary);
    let report = match written {
        Ok(p) => p,
        Err(e) => {
            problems.push(e);
            None
        }
    };
    dir.link_latest();
    for p in &problems {
        eprintln!("soy: {p}");
    }
    if let Some(r) = &results {
        eprintln!("{}", r.summary());
    }
    for v in &summary.slos {
        eprintln!(
            "soy: SLO {}: {:?} ({})",
            v.name,
            v.status,
            v.observed
                .map_or("no data".into(), |o| format!("{o:.3} {}", v.unit))
        );
    }
    if let Some(r) = &summary.reason {
        eprintln!("soy: run incomplete: {r}");
    }
    Outcome {
        exit_code: if problems.is_empty() || exit_code != exit::OK {
            exit_code
        } else {
            exit::RUNTIME
        },
        run_dir: dir.path.clone(),
        report,
    }
}

/// Starts the local services in order, each ready before the next starts, recording each in
/// state.json as it starts.
async fn deploy_local(
    s: &crate::manifest::model::LocalStack,
    m: &Manifest,
    vars: &BTreeMap<String, minijinja::Value>,
    logs_dir: &std::path::Path,
    stop_rx: &watch::Receiver<Option<String>>,
    dir: &RunDir,
    state: &mut RunState,
) -> (Option<LocalStack>, Result<(), String>) {
    let mut stack = match LocalStack::new() {
        Ok(st) => st,
        Err(e) => return (None, Err(e)),
    };
    for svc in &s.services {
        if let Err(e) = stack.start(svc, &m.dir, logs_dir) {
            return (Some(stack), Err(e));
        }
        if let Some(r) = stack.services.last() {
            state.services.push(ServiceState {
                name: r.name.clone(),
                pgid: r.child.id() as i32,
                started: r.started,
            });
            write_state(dir, state);
        }
        let log_paths: Vec<(String, PathBuf)> = stack
            .services
            .iter()
            .map(|r| (r.name.clone(), r.log.clone()))
            .collect();
        let waited = interruptible(
            stop_rx,
            ready::wait(&svc.ready, vars, &log_paths, || match stack.exited() {
                Some(e) => Err(e),
                None => Ok(()),
            }),
        )
        .await;
        if let Err(e) = waited.and_then(|r| r.map(|_| ())) {
            return (Some(stack), Err(format!("service `{}`: {e}", svc.name)));
        }
    }
    (Some(stack), Ok(()))
}

/// Connects to the engine, deploys the plan's stack spec, and waits for convergence.
/// `${env:NAME}` references in environment values are resolved here, at the point of use.
async fn deploy_swarm(
    s: &crate::manifest::model::SwarmStack,
    planned: Option<&crate::plan::SwarmPlan>,
    stack: &str,
) -> Result<crate::stack::swarm::Swarm, String> {
    use crate::stack::swarm::Swarm;
    let planned = planned.ok_or("the plan holds no swarm stack")?;
    let mut spec = planned.spec.clone();
    for svc in &mut spec.services {
        let env = svc
            .pointer_mut("/TaskTemplate/ContainerSpec/Env")
            .and_then(serde_json::Value::as_array_mut);
        for e in env.into_iter().flatten() {
            if let Some(text) = e.as_str().filter(|t| t.contains("${env:")) {
                let resolved = crate::manifest::env::resolve_from_process(text)
                    .map_err(|err| format!("stack environment: {err}"))?;
                *e = serde_json::Value::String(resolved);
            }
        }
    }
    Swarm::check_ingress(&spec)?;
    let sw = Swarm::connect().await?;
    if let Err(e) = sw.deploy(&spec).await {
        let _ = sw.remove(stack, Duration::from_secs(60)).await;
        return Err(e);
    }
    if let Err(e) = sw.converge(stack, s.ready.timeout.0).await {
        let _ = sw.remove(stack, Duration::from_secs(60)).await;
        return Err(e);
    }
    Ok(sw)
}

/// Connects to the Prometheus source and checks that it answers.
async fn check_prometheus(
    src: &crate::manifest::model::PrometheusSource,
    vars: &BTreeMap<String, minijinja::Value>,
) -> Result<crate::metrics::prometheus::Client, String> {
    let c = crate::metrics::prometheus::Client::new(src, vars)?;
    c.ping().await.map(|_| c)
}

/// What an unreachable metrics source means: the phase's status, and the reason to stop
/// before any load when the source is required (or `None` to go on without it).
fn metrics_unavailable(
    src: &crate::manifest::model::PrometheusSource,
    opts: &ApplyOptions,
    e: &str,
) -> (PhaseStatus, Option<String>) {
    if src.required && !opts.allow_missing_metrics {
        (
            PhaseStatus::Failed,
            Some(format!(
                "{e}; no load was sent (--allow-missing-metrics runs without it)"
            )),
        )
    } else {
        eprintln!("soy: going on without metrics: {e}");
        (PhaseStatus::Failed, None)
    }
}

/// Awaits `f` unless a stop (Ctrl-C, a crash) comes first.
async fn interruptible<T>(
    rx: &watch::Receiver<Option<String>>,
    f: impl std::future::Future<Output = T>,
) -> Result<T, String> {
    let mut rx = rx.clone();
    if let Some(r) = rx.borrow().clone() {
        return Err(r);
    }
    tokio::select! {
        v = f => Ok(v),
        r = rx.wait_for(Option::is_some) => Err(r.ok().and_then(|v| v.clone()).unwrap_or_else(|| "stopped".into())),
    }
}

fn status_of<T>(r: &Result<T, String>, rx: &watch::Receiver<Option<String>>) -> PhaseStatus {
    match r {
        Ok(_) => PhaseStatus::Ok,
        Err(_) if rx.borrow().is_some() => PhaseStatus::Interrupted,
        Err(_) => PhaseStatus::Failed,
    }
}

/// The most series the embedded store keeps; beyond, new series are refused with a warning.
const EMBEDDED_MAX_SERIES: usize = 100_000;

/// The embedded source's targets: soy's in-process expositions, then the manifest's URLs
/// (`job="targets"`, `instance` = host:port, plus the path when it is not `/metrics`).
fn embedded_sources(
    src: &crate::manifest::model::EmbeddedSource,
    vars: &BTreeMap<String, minijinja::Value>,
    in_process: Vec<(&str, crate::load::Exposition)>,
) -> Result<Vec<crate::scrape::scraper::Source>, String> {
    use crate::scrape::{ingest::TargetState, scraper::Origin, scraper::Source};
    let mut out: Vec<Source> = in_process
        .into_iter()
        .map(|(job, text)| Source {
            origin: Origin::InProcess(text),
            state: TargetState::new(job, "soy"),
        })
        .collect();
    for (i, url) in src.targets.iter().enumerate() {
        let url =
            template::render(url, vars).map_err(|e| format!("metrics.source.targets[{i}]: {e}"))?;
        let target = crate::http::target::Target::parse(&url)
            .map_err(|e| format!("metrics.source.targets[{i}]: {e}"))?;
        // Prometheus' `host:port`, with the path when it is not `/metrics`, so two targets
        // on one port stay apart.
        let instance = if target.path == "/metrics" {
            format!("{}:{}", target.host, target.port)
        } else {
            format!("{}:{}{}", target.host, target.port, target.path)
        };
        out.push(Source {
            origin: Origin::Http(target),
            state: TargetState::new("targets", &instance),
        });
    }
    Ok(out)
}

/// The local services' usage as cAdvisor-named samples.
fn process_samples(
    groups: &[(String, i32)],
    at: f64,
    usage: &[procfs::Usage],
    stack: &str,
) -> Vec<crate::metrics::cadvisor::Sample> {
    groups
        .iter()
        .zip(usage)
        .map(|((name, _), u)| crate::metrics::cadvisor::Sample {
            at,
            labels: crate::metrics::cadvisor::process_labels(stack, name),
            usage: crate::metrics::cadvisor::Usage {
                cpu_seconds: u.cpu_seconds,
                memory_bytes: u.rss_bytes as f64,
                working_set_bytes: u.rss_bytes as f64,
                rx_bytes: 0.0,
                tx_bytes: 0.0,
            },
        })
        .collect()
}

/// `timestamp,query,labels,value` rows.
fn tidy_csv(metrics: &[QueryResult]) -> String {
    let mut s = String::from("timestamp,query,labels,value\n");
    for q in metrics {
        for se in &q.series {
            let labels = se
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(";");
            for (t, v) in &se.points {
                s.push_str(&format!(
                    "{t:.3},{},\"{}\",{v}\n",
                    q.name,
                    labels.replace('"', "\"\"")
                ));
            }
        }
    }
    s
}

/// Which formats to write.
pub fn wants(formats: &[Format], f: Format) -> bool {
    formats.contains(&f)
}
