//! `soy load`: run the load phase alone, print a summary, write CSV and JSON results.

use std::path::{Path, PathBuf};

use super::LoadArgs;
use crate::error::Error;
use crate::exit;
use crate::load::engine;
use crate::load::live::Live;
use crate::load::locust::{Layout, LocustDriver, LocustRun};
use crate::load::locust_csv;
use crate::load::results::Results;
use crate::load::setup::{Overrides, configure};
use crate::manifest::{self, template};
use crate::run::dir::write_atomic;

pub fn run(args: &LoadArgs) -> Result<u8, Error> {
    if let Some(files) = &args.locustfile {
        return locust(args, files);
    }
    if let Some(f) = &args.file {
        let m = manifest::load(f)?;
        if m.experiment.load.driver == crate::manifest::model::Driver::Locust {
            let (_, plan) = crate::plan::load(f)?;
            let Some(lp) = &plan.load.locust else {
                return Err(Error::Usage("the plan holds no Locust settings".into()));
            };
            let l = &m.experiment.load;
            let mut run = lp.run(&plan.load, l, &m.dir);
            run.processes = args.processes.or(run.processes);
            run.host = args.host.clone().or(run.host);
            run.users = args.users.or(run.users);
            run.spawn_rate = args.spawn_rate.unwrap_or(run.spawn_rate);
            run.run_time = args.run_time.or(run.run_time);
            run.metrics_port = args.metrics_port.or(run.metrics_port);
            let csv = args.csv.clone().or(l.csv.as_ref().map(PathBuf::from));
            return run_locust(args, run, lp.version.clone(), csv);
        }
    }
    let overrides = Overrides {
        host: args.host.clone(),
        users: args.users,
        spawn_rate: args.spawn_rate,
        run_time: args.run_time,
        rate: args.rate,
        connections: args.connections,
        workers: args.workers,
        seed: args.seed,
        metrics_port: args.metrics_port,
        insecure: args.insecure,
        http2: args.http2,
    };
    let (load, vars, dir, csv) = match &args.file {
        Some(f) => {
            let m = manifest::load(f)?;
            let csv = m.experiment.load.csv.as_ref().map(PathBuf::from);
            (
                m.experiment.load.clone(),
                template::vars_context(&m.experiment.vars),
                m.dir.clone(),
                csv,
            )
        }
        None => {
            let host = args
                .host
                .clone()
                .ok_or_else(|| Error::Usage("give a manifest FILE or --host URL".into()))?;
            let users = args.users.or(args.connections).unwrap_or(10);
            let mut spec = serde_json::json!({"host": host, "users": users, "spawn_rate": f64::from(users), "run_time": "10s"});
            if let Some(rate) = args.rate {
                spec = serde_json::json!({"host": host, "model": "open", "rate": rate, "run_time": "10s"});
            }
            let load = serde_json::from_value(spec).map_err(|e| Error::Usage(e.to_string()))?;
            (load, Default::default(), PathBuf::from("."), None)
        }
    };
    if let Some(stack) = &args.stack {
        let overrides = Overrides {
            workers: None,
            ..overrides
        };
        return distributed(args, stack, load, vars, &overrides, &dir, csv);
    }
    let cfg = configure(&load, vars, &overrides, &dir, None)?;
    let live = Live::new(cfg.model == crate::manifest::model::Workload::Open);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Tokio)?;
    let results = rt.block_on(engine::run(
        cfg,
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
        |p| live.update(p),
    ))?;
    live.finish();
    write_outputs(
        &results,
        args.csv.clone().or(csv).as_deref(),
        args.json.as_deref(),
    )?;
    super::out(&results.summary())?;
    let verdict = verdict(&results, args.exit_code_on_error);
    if let Some(why) = &verdict.1 {
        eprintln!("soy: {why}");
    }
    Ok(verdict.0)
}

/// `soy load --stack NAME --workers N`: soy's workers on the swarm, in a stack that is up.
fn distributed(
    args: &LoadArgs,
    stack: &str,
    mut load: crate::manifest::model::Load,
    vars: std::collections::BTreeMap<String, minijinja::Value>,
    overrides: &Overrides,
    dir: &Path,
    csv: Option<PathBuf>,
) -> Result<u8, Error> {
    use crate::load::distributed::{DistributedDriver, swarm::SwarmSetup, wire::Job};
    let mut d = load.distributed.take().unwrap_or_default();
    if let Some(n) = args.workers {
        d.workers = Some(n.clamp(1, 1000) as u32);
        d.mode = crate::manifest::model::WorkerMode::Replicated;
    }
    if d.mode == crate::manifest::model::WorkerMode::Replicated && d.workers.is_none() {
        d.workers = Some(1);
    }
    let cfg = configure(&load, vars.clone(), overrides, dir, None)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Tokio)?;
    let host = overrides
        .host
        .clone()
        .or(load.host.clone())
        .unwrap_or_default();
    let target = host
        .split_once("://")
        .map_or(host.as_str(), |(_, r)| r)
        .split(['/', ':', '?'])
        .next()
        .unwrap_or_default()
        .to_string();
    let services = rt
        .block_on(async {
            crate::stack::swarm::Swarm::connect()
                .await?
                .service_networks(stack)
                .await
        })
        .map_err(|e| Error::Usage(format!("stack `{stack}`: {}", crate::error::flatten(&e))))?;
    let Some((_, network)) = services.iter().find(|(name, _)| *name == target) else {
        let names: Vec<&str> = services.iter().map(|(n, _)| n.as_str()).collect();
        return Err(Error::Usage(if names.is_empty() {
            format!("no stack `{stack}` is running (`docker stack ls` lists them)")
        } else {
            format!(
                "soy's workers send the load inside the stack's network, so --host must name one of the services of `{stack}` ({}), not `{target}`",
                names.join(", ")
            )
        }));
    };
    load.host = Some(host.clone());
    let setup = SwarmSetup::new(&d, stack, target.clone(), network.clone());
    let job = Job {
        load: crate::manifest::model::Load {
            host: Some(host),
            users: overrides.users.or(load.users),
            spawn_rate: overrides.spawn_rate.unwrap_or(load.spawn_rate),
            run_time: overrides
                .run_time
                .map(crate::manifest::duration::Duration)
                .or(load.run_time),
            ..load.clone()
        },
        vars: vars
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
            .collect(),
        trace: None,
        threads: d.threads.map(|t| t as usize),
        share: crate::load::segment::Share::WHOLE,
        start_unix_ms: 0,
    };
    let logs = std::env::temp_dir().join(format!("soy-load-{}", std::process::id()));
    let driver = DistributedDriver::new(cfg, job, setup, d.on_worker_loss, logs);
    let results = rt.block_on(crate::load::driver::LoadDriver::run(driver, async {
        let _ = tokio::signal::ctrl_c().await;
    }))?;
    write_outputs(
        &results,
        args.csv.clone().or(csv).as_deref(),
        args.json.as_deref(),
    )?;
    super::out(&results.summary())?;
    if let Some(why) = &results.cut {
        eprintln!("soy: {why}");
        return Ok(exit::RUNTIME);
    }
    let verdict = verdict(&results, args.exit_code_on_error);
    if let Some(why) = &verdict.1 {
        eprintln!("soy: {why}");
    }
    Ok(verdict.0)
}

/// `soy load -f FILE`: the seed wrapper's command line, run by Locust under soy.
fn locust(args: &LoadArgs, files: &str) -> Result<u8, Error> {
    let dir =
        std::env::current_dir().map_err(|e| Error::Usage(format!("no working directory: {e}")))?;
    let paths: Vec<PathBuf> = crate::manifest::semantic::locust::files(files)
        .iter()
        .map(|f| dir.join(f))
        .collect();
    let shape_file = args.loadshape_file.as_ref().map(|f| dir.join(f));
    for p in paths.iter().chain(&shape_file) {
        if !p.exists() {
            return Err(Error::Usage(format!("{} does not exist", p.display())));
        }
    }
    let command = crate::process::find_program(&args.locust_command).map_err(|why| {
        Error::Usage(format!(
            "Locust is not installed: {why}; install it with `{}`",
            crate::load::locust::check::INSTALL
        ))
    })?;
    let hook = crate::load::locust::check::write_hook(crate::load::locust::command::HOOK)
        .map_err(|e| Error::Usage(format!("cannot write soy's Locust hook: {e}")))?;
    let mut asked = paths.clone();
    asked.push(hook.path().to_path_buf());
    asked.extend(shape_file.clone());
    let found = crate::load::locust::check::inspect(&command, &asked, &dir)?;
    let run = LocustRun {
        command,
        files: paths,
        shape_file,
        user_classes: Vec::new(),
        processes: args.processes,
        options: Vec::new(),
        host: args.host.clone(),
        users: args.users,
        spawn_rate: args.spawn_rate.unwrap_or(1.0),
        run_time: args.run_time,
        segments: Vec::new(),
        shaped: args.loadshape_file.is_some(),
        warmup: std::time::Duration::ZERO,
        metrics_port: args.metrics_port,
        workdir: dir,
        swarm: None,
    };
    run_locust(args, run, found.version, args.csv.clone())
}

/// Runs Locust with soy's live view; writes `--json` results (Locust writes the CSV files).
fn run_locust(
    args: &LoadArgs,
    run: LocustRun,
    version: String,
    csv: Option<PathBuf>,
) -> Result<u8, Error> {
    let work = crate::load::locust::check::private_dir("soy-locust")
        .map_err(|e| Error::Usage(format!("cannot create a working directory: {e}")))?;
    let csv = csv.map(|c| std::path::absolute(&c).unwrap_or(c));
    let layout = Layout {
        csv: csv.unwrap_or_else(|| work.join("locust")),
        log: work.join("locust.log"),
        work: work.clone(),
        run: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Tokio)?;
    let driver = LocustDriver::new(run, layout.clone(), version);
    let results = rt.block_on(crate::load::driver::LoadDriver::run(driver, async {
        let _ = tokio::signal::ctrl_c().await;
    }));
    let results = results?;
    if let Some(path) = &args.json {
        let text = serde_json::to_vec_pretty(&results).map_err(Error::Json)?;
        write_atomic(path, &text)?;
    }
    let _ = std::fs::remove_dir_all(&work);
    super::out(&results.summary())?;
    let verdict = verdict(&results, args.exit_code_on_error);
    if let Some(why) = &verdict.1 {
        eprintln!("soy: {why}");
    }
    Ok(verdict.0)
}

/// The exit code of a finished load, Locust's convention: interrupted → 130; no request
/// succeeded → 3 with the first failure's reason; any failure → `on_error` (0 disables).
fn verdict(r: &Results, on_error: u8) -> (u8, Option<String>) {
    let (requests, failures) = (r.total.requests, r.total.failures);
    if r.interrupted {
        return (exit::INTERRUPTED, None);
    }
    if requests == 0 {
        return (exit::RUNTIME, Some("no request was sent".into()));
    }
    if failures >= requests {
        let first = r.failures.iter().min_by_key(|f| f.first_seen).map_or_else(
            || "unknown".to_string(),
            |f| format!("{} {}: {}", f.method, f.name, f.error),
        );
        return (
            exit::RUNTIME,
            Some(format!(
                "no request succeeded ({requests} sent); first failure: {first}"
            )),
        );
    }
    if failures > 0 && on_error != 0 {
        return (
            on_error,
            Some(format!(
                "{failures} of {requests} requests failed (exit code {on_error}; --exit-code-on-error 0 ignores failures)"
            )),
        );
    }
    (exit::OK, None)
}

/// Writes the CSV files and the JSON results, each atomically.
pub fn write_outputs(r: &Results, csv: Option<&Path>, json: Option<&Path>) -> Result<(), Error> {
    if let Some(prefix) = csv {
        for (suffix, text) in locust_csv::files(r) {
            let mut name = prefix.as_os_str().to_owned();
            name.push(suffix);
            write_atomic(Path::new(&name), text.as_bytes())?;
        }
    }
    if let Some(path) = json {
        let text = serde_json::to_vec_pretty(r).map_err(Error::Json)?;
        write_atomic(path, &text)?;
    }
    Ok(())
}
