//! `soy apply`: the run lifecycle as a sequence of phases over one `Run` value — check the
//! metrics source, deploy, wait until ready, load (warm-up included), cool down, collect,
//! tear down, judge, report. Every phase listens to one stop signal (Ctrl-C, a crashed
//! service, a failed phase); whatever stops the run, the phases that keep data still run and
//! the report says why it is incomplete. The stack and the load are driven through the
//! `StackDriver` and `LoadDriver` traits.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::dir::RunDir;
use super::phases::{Ended, PhaseLog};
use super::record::{self, RunRecord};
use super::state::{RunState, ServiceState};
use super::stop::{StopReason, StopSignal};
use crate::analysis::series::QueryResult;
use crate::error::Error;
use crate::load::driver::SoyEngine;
use crate::load::results::Results;
use crate::load::setup::{Overrides, configure};
use crate::manifest::model::{Format, Stack, Teardown};
use crate::manifest::template;
use crate::plan::Plan;
use crate::report::summary::Event;
use crate::stack::StackError;
use crate::stack::driver::{External, StackDriver};
use crate::stack::local_driver::Local;
use crate::stack::swarm_driver::SwarmDriver;

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

/// One run as it goes: its inputs, its directory, what has happened, what was collected.
pub struct Run<'a> {
    pub plan: &'a Plan,
    pub opts: &'a ApplyOptions,
    pub dir: RunDir,
    pub state: RunState,
    pub phases: PhaseLog,
    pub stop: StopSignal,
    /// Why the run ended early, once a phase was cut short or failed.
    pub ended: Option<StopReason>,
    /// The manifest's `vars`, for the load driver's request templates.
    pub vars: BTreeMap<String, minijinja::Value>,
    pub metrics_source: super::metrics_phase::Source,
    pub results: Option<Results>,
    pub metrics: Vec<QueryResult>,
    pub events: Vec<Event>,
    /// The alerts of `alerts:` that became active, with their state changes.
    pub alerts: Vec<crate::rules::record::AlertRecord>,
    /// What the `autoscale:` controllers decided.
    pub scaling: Vec<crate::rules::record::ScalingRecord>,
    /// Unix seconds at which the load started.
    pub load_start: Option<f64>,
}

impl Run<'_> {
    /// Whether the run goes on to its next phase.
    pub fn going(&self) -> bool {
        self.ended.is_none()
    }

    /// Notes why the run ends early (the first reason is kept).
    pub fn end_early(&mut self, why: StopReason) {
        self.stop.stop(why.clone());
        self.ended.get_or_insert(why);
    }
}

/// Runs the experiment the plan describes.
pub fn apply(plan: &Plan, opts: &ApplyOptions) -> Result<Outcome, Error> {
    let exp = &plan.exec.experiment;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Tokio)?;
    use super::bundle::files;
    let dir = RunDir::create(&opts.out, &exp.metadata.name)?;
    dir.write(files::MANIFEST, plan.exec.source.as_bytes())?;
    dir.write_json(files::RESOLVED, plan)?;
    // Until the run ends, run.json says it is running and state.json what it deployed: a
    // run killed on the way reads as killed, and `soy down` finds what it left.
    dir.write_json(files::RUN, &running_record(exp, &dir, opts))?;
    let state = RunState::new(plan.stack.info.driver, &plan.stack.info.name);
    write_state(&dir, &state);
    eprintln!("soy: run directory {}", dir.path.display());
    let run = Run {
        plan,
        opts,
        dir,
        state,
        phases: PhaseLog::default(),
        stop: StopSignal::default(),
        ended: None,
        vars: template::vars_context(&exp.vars),
        metrics_source: super::metrics_phase::Source::default(),
        results: None,
        metrics: Vec::new(),
        events: Vec::new(),
        alerts: Vec::new(),
        scaling: Vec::new(),
        load_start: None,
    };
    Ok(rt.block_on(async move {
        match &exp.stack {
            Stack::Local(s) => {
                let logs = run.dir.path.join("logs");
                let driver = Local::new(
                    &plan.stack.info.name,
                    s.services.clone(),
                    plan.exec.dir.clone(),
                    logs,
                    &run.dir.id,
                );
                lifecycle(run, driver).await
            }
            Stack::Swarm(s) => match plan
                .stack
                .swarm
                .as_ref()
                .map(|p| SwarmDriver::new(&p.spec, s.ready.timeout.0))
            {
                Some(Ok(driver)) => lifecycle(run, driver).await,
                Some(Err(e)) => lifecycle(run, Failing(Some(e))).await,
                None => lifecycle(run, Failing(Some(StackError::NotPlanned))).await,
            },
            Stack::External(_) => lifecycle(run, External).await,
        }
    }))
}

/// The phases, in order.
async fn lifecycle(mut run: Run<'_>, mut stack: impl StackDriver) -> Outcome {
    run.stop.on_ctrl_c();
    super::metrics_phase::check(&mut run, false).await;
    deploy(&mut run, &mut stack).await;
    checkpoint(&run);
    ready(&mut run, &mut stack).await;
    super::metrics_phase::check(&mut run, true).await;
    checkpoint(&run);
    let collected = match locust_driver(&run) {
        Some(locust) => super::load_phase::run(&mut run, &stack, locust).await,
        None => {
            let engine = load_driver(&mut run);
            super::load_phase::run(&mut run, &stack, engine).await
        }
    };
    cooldown(&mut run).await;
    checkpoint(&run);
    super::metrics_phase::collect(&mut run, collected).await;
    teardown(&mut run, &mut stack).await;
    run.state.finished = true;
    write_state(&run.dir, &run.state);
    super::finish::finish(run)
}

async fn deploy(run: &mut Run<'_>, stack: &mut impl StackDriver) {
    let p = run.phases.begin("deploy");
    if let Some(why) = run.ended.clone() {
        // A required metrics source did not answer: nothing is deployed.
        run.phases
            .end(p, super::record::PhaseStatus::Failed, Some(why.to_string()));
        return;
    }
    let (dir, state) = (&run.dir, &mut run.state);
    let mut started = |procs: &[crate::stack::driver::Process]| {
        state.services = procs
            .iter()
            .map(|p| ServiceState {
                name: p.name.clone(),
                pgid: p.pgid,
                started: p.started,
            })
            .collect();
        write_state(dir, state);
    };
    let r = outcome(run.stop.unless_stopped(stack.deploy(&mut started)).await);
    run.phases.end_with(p, &r);
    if let Err(e) = r {
        run.end_early(e.reason());
    }
}

async fn ready(run: &mut Run<'_>, stack: &mut impl StackDriver) {
    if !run.going() {
        return;
    }
    let p = run.phases.begin("ready");
    let logs = stack.logs();
    let check = crate::stack::ready::wait(run.plan.exec.experiment.stack.ready(), &logs, || {
        stack.broken()
    });
    let r = outcome(run.stop.unless_stopped(check).await.map(|r| r.map(|_| ())));
    run.phases.end_with(p, &r);
    if let Err(e) = r {
        run.end_early(e.reason());
    }
}

/// soy's engine for the manifest's `load:` (a configuration error fails the load phase).
fn load_driver(run: &mut Run<'_>) -> Result<SoyEngine, crate::load::SetupError> {
    let exp = &run.plan.exec.experiment;
    configure(
        &exp.load,
        run.vars.clone(),
        &Overrides::default(),
        &run.plan.exec.dir,
        run.plan.load.trace.as_ref(),
    )
    .map(SoyEngine::new)
}

/// Locust for `driver: locust`, as the plan resolved it.
fn locust_driver(
    run: &Run<'_>,
) -> Option<Result<crate::load::locust::LocustDriver, crate::load::locust::DriverError>> {
    use crate::load::locust::{DriverError, Layout, LocustDriver};
    let l = &run.plan.exec.experiment.load;
    if l.driver != crate::manifest::model::Driver::Locust {
        return None;
    }
    let Some(lp) = run.plan.load.locust.as_ref() else {
        return Some(Err(DriverError::NotPlanned));
    };
    let locust = lp.run(&run.plan.load, l, &run.plan.exec.dir);
    let layout = Layout::in_run(&run.dir.path, l.csv.as_deref());
    Some(Ok(LocustDriver::new(locust, layout, lp.version.clone())))
}

async fn cooldown(run: &mut Run<'_>) {
    let cool = run.plan.exec.experiment.load.cooldown;
    if !run.going() || cool.is_zero() {
        return;
    }
    let p = run.phases.begin("cooldown");
    let r = outcome(
        run.stop
            .unless_stopped(tokio::time::sleep(cool.0))
            .await
            .map(Ok::<(), std::convert::Infallible>),
    );
    run.phases.end_with(p, &r);
    if let Err(e) = r {
        run.end_early(e.reason());
    }
}

async fn teardown(run: &mut Run<'_>, stack: &mut impl StackDriver) {
    if !stack.deployed() {
        return;
    }
    let when = match &run.plan.exec.experiment.stack {
        Stack::Local(s) => s.teardown,
        Stack::Swarm(s) => s.teardown,
        Stack::External(_) => Teardown::Never,
    };
    let keep = when == Teardown::Never || (when == Teardown::OnSuccess && !run.going());
    let p = run.phases.begin("teardown");
    let r = stack.teardown(keep).await;
    let status = match (&r, keep) {
        (Err(_), _) => super::record::PhaseStatus::Failed,
        (Ok(()), true) => super::record::PhaseStatus::Skipped,
        (Ok(()), false) => super::record::PhaseStatus::Ok,
    };
    run.phases
        .end(p, status, r.err().map(|e| crate::error::flatten(&e)));
}

/// A phase's work as a result: cut short by the stop signal, failed (with the error's whole
/// chain), or done.
fn outcome<T, E: std::error::Error>(r: Result<Result<T, E>, StopReason>) -> Result<T, Ended> {
    match r {
        Err(why) => Err(Ended::Stopped(why)),
        Ok(Err(e)) => Err(Ended::Failed(crate::error::flatten(&e))),
        Ok(Ok(v)) => Ok(v),
    }
}

/// A driver that could not be built: its deploy fails with the reason.
struct Failing(Option<StackError>);

impl StackDriver for Failing {
    type Error = StackError;

    fn name(&self) -> &'static str {
        "swarm"
    }
    async fn deploy(
        &mut self,
        _: &mut dyn FnMut(&[crate::stack::driver::Process]),
    ) -> Result<(), StackError> {
        self.0.take().map_or(Ok(()), Err)
    }
    fn broken(&mut self) -> Option<String> {
        None
    }
    fn logs(&self) -> Vec<(String, PathBuf)> {
        Vec::new()
    }
    fn watch(&self, _: std::time::Duration) -> Option<crate::stack::driver::Watcher> {
        None
    }
    fn act(
        &self,
        _: Vec<crate::manifest::model::Action>,
    ) -> Option<crate::stack::driver::Background<Vec<Event>>> {
        None
    }
    fn deployed(&self) -> bool {
        false
    }
    async fn teardown(&mut self, _: bool) -> Result<(), StackError> {
        Ok(())
    }
}

fn running_record(
    exp: &crate::manifest::model::Experiment,
    dir: &RunDir,
    opts: &ApplyOptions,
) -> RunRecord {
    RunRecord {
        soy_version: env!("CARGO_PKG_VERSION").into(),
        api_version: crate::manifest::model::API_VERSION.into(),
        run_id: dir.id.clone(),
        experiment: exp.metadata.name.clone(),
        host: record::hostname(),
        git: None,
        command_line: opts.command_line.clone(),
        phases: Vec::new(),
        status: "running".into(),
        reason: None,
        exit_code: 0,
    }
}

/// Rewrites run.json (still `running`) with the phases so far, so a run killed later shows
/// how far it got.
pub(super) fn checkpoint(run: &Run<'_>) {
    let mut record = running_record(&run.plan.exec.experiment, &run.dir, run.opts);
    record.phases = run.phases.0.clone();
    if let Err(e) = run.dir.write_json(super::bundle::files::RUN, &record) {
        eprintln!(
            "soy: cannot record the run's progress: {}",
            crate::error::flatten(&e)
        );
    }
}

/// Writes state.json; a failure is reported, not fatal (the run goes on).
pub(super) fn write_state(dir: &RunDir, state: &RunState) {
    if let Err(e) = dir.write_json(super::bundle::files::STATE, state) {
        eprintln!(
            "soy: cannot record the run's state: {}",
            crate::error::flatten(&e)
        );
    }
}

/// Which formats to write.
pub fn wants(formats: &[Format], f: Format) -> bool {
    formats.contains(&f)
}
