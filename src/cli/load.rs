//! `soy load`: run the load phase alone, print a summary, write CSV and JSON results.

use std::path::{Path, PathBuf};

use super::LoadArgs;
use crate::error::Error;
use crate::exit;
use crate::load::engine;
use crate::load::live::Live;
use crate::load::locust_csv;
use crate::load::results::Results;
use crate::load::setup::{Overrides, configure};
use crate::manifest::{self, template};
use crate::run::dir::write_atomic;

pub fn run(args: &LoadArgs) -> Result<u8, Error> {
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
