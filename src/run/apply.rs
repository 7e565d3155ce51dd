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
    /// A campaign's run: its folder (instead of a new one under `out/<experiment>/`); no
    /// `latest` link and no runs index of its own (the campaign writes those).
    pub run_dir: Option<PathBuf>,
}

/// How a run ended.
pub struct Outcome {
    pub exit_code: u8,
    pub run_dir: PathBuf,
    pub report: Option<PathBuf>,
    /// Whether the run took its stack down (or found nothing to take down).
    pub torn_down: bool,
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
    let rt = runtime()?;
    let run = prepare(plan, opts)?;
    Ok(rt.block_on(async move {
        let mut stack = driver(&run);
        lifecycle(run, &mut stack, StackUse::OWN).await
    }))
}

/// soy's runtime: one thread, as every run (and a campaign's runs) expects.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Tokio)
}

/// Creates the run's directory, writes what the run starts from, and returns the run.
pub fn prepare<'a>(plan: &'a Plan, opts: &'a ApplyOptions) -> Result<Run<'a>, Error> {
    let exp = &plan.exec.experiment;
    use super::bundle::files;
    let dir = match &opts.run_dir {
        Some(path) => RunDir::create_at(path)?,
        None => RunDir::create(&opts.out, &exp.metadata.name)?,
    };
    dir.write(files::MANIFEST, plan.exec.source.as_bytes())?;
    dir.write_json(files::RESOLVED, plan)?;
    // Until the run ends, run.json says it is running and state.json what it deployed: a
    // run killed on the way reads as killed, and `soy down` finds what it left.
    dir.write_json(files::RUN, &running_record(exp, &dir, opts))?;
    let state = RunState::new(plan.stack.info.driver, &plan.stack.info.name);
    write_state(&dir, &state);
    eprintln!("soy: run directory {}", dir.path.display());
    Ok(Run {
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
    })
}

/// The stack driver for a run's plan (its local services log into the run's directory).
pub fn driver(run: &Run<'_>) -> AnyStack {
    let plan = run.plan;
    match &plan.exec.experiment.stack {
        Stack::Local(s) => AnyStack::Local(Local::new(
            &plan.stack.info.name,
            s.services.clone(),
            plan.exec.dir.clone(),
            run.dir.path.join("logs"),
            &run.dir.id,
        )),
        Stack::Swarm(s) => match plan
            .stack
            .swarm
            .as_ref()
            .map(|p| SwarmDriver::new(&p.spec, s.ready.timeout.0))
        {
            Some(Ok(driver)) => AnyStack::Swarm(Box::new(driver)),
            Some(Err(e)) => AnyStack::Failing(Failing(Some(e))),
            None => AnyStack::Failing(Failing(Some(StackError::NotPlanned))),
        },
        Stack::External(_) => AnyStack::External(External),
    }
}

/// Whether a run brings its stack up and takes it down, or shares it with the runs before
/// and after it (a campaign's points that change only the load).
#[derive(Debug, Clone, Copy)]
pub struct StackUse {
    /// Deploy the stack (false: it is up from the previous run).
    pub deploy: bool,
    /// Take it down at the end (false: the next run uses it; a run that ends early takes
    /// it down anyway).
    pub teardown: bool,
}

impl StackUse {
    /// A run of its own.
    pub const OWN: StackUse = StackUse {
        deploy: true,
        teardown: true,
    };
}

/// The phases, in order.
pub async fn lifecycle(mut run: Run<'_>, stack: &mut AnyStack, uses: StackUse) -> Outcome {
    run.stop.on_ctrl_c();
    super::metrics_phase::check(&mut run, false).await;
    if uses.deploy {
        deploy(&mut run, stack).await;
    } else {
        let p = run.phases.begin("deploy");
        run.phases.end(
            p,
            super::record::PhaseStatus::Skipped,
            Some("the stack of the previous run is reused".into()),
        );
    }
    checkpoint(&run);
    ready(&mut run, stack).await;
    super::metrics_phase::check(&mut run, true).await;
    checkpoint(&run);
    let collected = match (locust_driver(&run), distributed_driver(&run)) {
        (Some(locust), _) => super::load_phase::run(&mut run, &*stack, locust).await,
        (None, Some(workers)) => super::load_phase::run(&mut run, &*stack, workers).await,
        (None, None) => {
            let engine = load_driver(&mut run);
            super::load_phase::run(&mut run, &*stack, engine).await
        }
    };
    cooldown(&mut run).await;
    checkpoint(&run);
    super::metrics_phase::collect(&mut run, collected).await;
    let torn_down = uses.teardown || !run.going();
    if torn_down {
        teardown(&mut run, stack).await;
    } else {
        let p = run.phases.begin("teardown");
        run.phases.end(
            p,
            super::record::PhaseStatus::Skipped,
            Some("the stack is kept for the next run".into()),
        );
    }
    run.state.finished = true;
    write_state(&run.dir, &run.state);
    let mut outcome = super::finish::finish(run);
    outcome.torn_down = torn_down;
    outcome
}

/// Takes a stack down outside any run (a campaign's stack after its last run), as its
/// `teardown:` says; a failure is printed.
pub async fn teardown_stack(plan: &Plan, stack: &mut AnyStack) {
    if !stack.deployed() {
        return;
    }
    let keep = teardown_policy(plan) == Teardown::Never;
    if let Err(e) = stack.teardown(keep).await {
        eprintln!(
            "soy: the stack was not removed: {}",
            crate::error::flatten(&e)
        );
    }
}

fn teardown_policy(plan: &Plan) -> Teardown {
    match &plan.exec.experiment.stack {
        Stack::Local(s) => s.teardown,
        Stack::Swarm(s) => s.teardown,
        Stack::External(_) => Teardown::Never,
    }
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

/// soy's workers on the swarm for `load.distributed`, as the plan resolved it.
fn distributed_driver(
    run: &Run<'_>,
) -> Option<
    Result<crate::load::distributed::DistributedDriver, crate::load::distributed::DriverError>,
> {
    use crate::load::distributed::{DistributedDriver, DriverError, wire::Job};
    let exp = &run.plan.exec.experiment;
    let d = exp.load.distributed.as_ref()?;
    let Some(setup) = run.plan.load.distributed.clone() else {
        return Some(Err(DriverError::NotPlanned));
    };
    let cfg = match configure(
        &exp.load,
        run.vars.clone(),
        &Overrides::default(),
        &run.plan.exec.dir,
        run.plan.load.trace.as_ref(),
    ) {
        Ok(cfg) => cfg,
        Err(e) => {
            return Some(Err(DriverError::NotStarted(crate::error::flatten(&e))));
        }
    };
    let job = Job {
        load: exp.load.clone(),
        vars: exp
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
            .collect(),
        trace: run.plan.load.trace.clone(),
        threads: d.threads.map(|t| t as usize),
        share: crate::load::segment::Share::WHOLE,
        start_unix_ms: 0,
    };
    Some(Ok(DistributedDriver::new(
        cfg,
        job,
        setup,
        d.on_worker_loss,
        run.dir.path.join("logs"),
    )))
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
    let when = teardown_policy(run.plan);
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
pub struct Failing(Option<StackError>);

/// The stack driver a run's plan picks, as one type a campaign can hold across its runs.
pub enum AnyStack {
    Local(Local),
    Swarm(Box<SwarmDriver>),
    External(External),
    Failing(Failing),
}

/// Calls the same method on whichever driver it is.
macro_rules! each {
    ($self:expr, $d:ident => $e:expr) => {
        match $self {
            AnyStack::Local($d) => $e,
            AnyStack::Swarm($d) => $e,
            AnyStack::External($d) => $e,
            AnyStack::Failing($d) => $e,
        }
    };
}

impl StackDriver for AnyStack {
    type Error = StackError;

    fn name(&self) -> &'static str {
        each!(self, d => d.name())
    }
    async fn deploy(
        &mut self,
        started: &mut dyn FnMut(&[crate::stack::driver::Process]),
    ) -> Result<(), StackError> {
        match self {
            AnyStack::Local(d) => d.deploy(started).await,
            AnyStack::Swarm(d) => d.deploy(started).await,
            AnyStack::External(_) => Ok(()),
            AnyStack::Failing(d) => d.deploy(started).await,
        }
    }
    fn broken(&mut self) -> Option<String> {
        each!(self, d => d.broken())
    }
    fn logs(&self) -> Vec<(String, PathBuf)> {
        each!(self, d => d.logs())
    }
    fn watch(&self, step: std::time::Duration) -> Option<crate::stack::driver::Watcher> {
        each!(self, d => d.watch(step))
    }
    fn act(
        &self,
        actions: Vec<crate::manifest::model::Action>,
    ) -> Option<crate::stack::driver::Background<Vec<Event>>> {
        each!(self, d => d.act(actions))
    }
    fn deployed(&self) -> bool {
        each!(self, d => d.deployed())
    }
    fn scaler(&self) -> Option<crate::stack::driver::Scaler> {
        each!(self, d => d.scaler())
    }
    async fn teardown(&mut self, keep: bool) -> Result<(), StackError> {
        match self {
            AnyStack::Local(d) => d.teardown(keep).await,
            AnyStack::Swarm(d) => d.teardown(keep).await,
            AnyStack::External(_) => Ok(()),
            AnyStack::Failing(d) => d.teardown(keep).await,
        }
    }
}

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
