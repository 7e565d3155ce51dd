//! Commands: each turns parsed arguments into library calls and text on stdout/stderr.

mod args;
mod load;
pub mod query;

use std::io::Write;

pub use args::{Cli, Command, LoadArgs, Output};

use crate::campaign::{self, plan::Loaded};
use crate::error::Error;
use crate::exit;
use crate::manifest;
use crate::metrics::presets;
use crate::plan;

/// Runs a command; returns the exit code on success.
pub fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Validate {
            files,
            check_queries,
        } => validate(&files, check_queries),
        Command::Grafana { file, output } => {
            let p = one_plan(&file)?;
            let text = serde_json::to_string_pretty(&crate::report::grafana::dashboard(
                &p.exec.experiment,
                &p,
            ))
            .unwrap_or_default()
                + "\n";
            match output {
                Some(path) => {
                    crate::run::dir::write_atomic(&path, text.as_bytes())?;
                    out_line(&path.display().to_string())
                }
                None => out(&text),
            }
        }
        Command::Rules { file, output } => {
            let p = one_plan(&file)?;
            let text = rule_file(&p.exec.experiment, &p, &file)?;
            match output {
                Some(path) => {
                    crate::run::dir::write_atomic(&path, text.as_bytes())?;
                    out_line(&path.display().to_string())
                }
                None => out(&text),
            }
        }
        Command::Schema {
            summary: false,
            campaign: false,
        } => out(&manifest::schema::generate_text()),
        Command::Schema { summary: true, .. } => out(&crate::report::summary::schema_text()),
        Command::Schema { campaign: true, .. } => out(&crate::campaign::record::schema_text()),
        Command::Plan { file, output } => match campaign::plan::load(&file, None)? {
            Loaded::Single(b) => {
                let (_, p) = *b;
                warn(&p);
                match output {
                    Output::Text => out(&plan::render_text(&p)),
                    Output::Json => out(&(json(&p) + "\n")),
                }
            }
            Loaded::Campaign(c) => {
                if let Some(p) = c.plans.first() {
                    warn(p);
                }
                match output {
                    Output::Text => out(&c.render_text()),
                    Output::Json => out(&(json(&*c) + "\n")),
                }
            }
        },
        Command::Apply {
            file,
            resume,
            out,
            allow_missing_metrics,
        } => {
            let copts = campaign::run::CampaignOptions {
                out: out.clone(),
                command_line: std::env::args().collect(),
                allow_missing_metrics,
            };
            let loaded = match (resume, file) {
                (Some(dir), _) => {
                    let o = campaign::run::resume(&dir, &copts)?;
                    return finish_campaign(&o);
                }
                (None, Some(file)) => campaign::plan::load(&file, None)?,
                (None, None) => {
                    return Err(Error::Usage("apply needs a manifest or --resume".into()));
                }
            };
            let p = match loaded {
                Loaded::Campaign(c) => {
                    if let Some(p) = c.plans.first() {
                        warn(p);
                    }
                    let o = campaign::run::start(&c, &copts)?;
                    return finish_campaign(&o);
                }
                Loaded::Single(b) => b.1,
            };
            warn(&p);
            let opts = crate::run::apply::ApplyOptions {
                out,
                command_line: std::env::args().collect(),
                allow_missing_metrics,
                run_dir: None,
            };
            let outcome = crate::run::apply::apply(&p, &opts)?;
            match &outcome.report {
                Some(html) => {
                    out_line(&html.display().to_string())?;
                }
                None => {
                    out_line(&outcome.run_dir.display().to_string())?;
                }
            }
            Ok(outcome.exit_code)
        }
        Command::Load(args) => load::run(&args),
        Command::Worker { coordinator, wait } => distributed_task(async move {
            crate::load::distributed::worker::run(&coordinator, wait)
                .await
                .map_err(|e| crate::error::flatten(&e))
        }),
        Command::Coordinator { listen } => distributed_task(async move {
            crate::load::distributed::coordinator::serve(listen)
                .await
                .map_err(|e| crate::error::flatten(&e))
        }),
        Command::Down { file, stack, out } => down(file.as_deref(), stack, &out),
        Command::Supervise { command } => match command.split_first() {
            Some((program, args)) => Ok(crate::process::supervise::run(program, args)),
            None => Err(Error::Usage("supervise needs a program".into())),
        },
        Command::Report {
            run_dir,
            index: true,
            ..
        } => {
            let path = crate::run::index::write(&run_dir)?;
            out_line(&path.display().to_string())
        }
        Command::Report {
            run_dir,
            index: false,
            ..
        } if campaign::report::is_campaign_dir(&run_dir) => {
            let path = campaign::report::rerender(&run_dir)?;
            out_line(&path.display().to_string())
        }
        Command::Report {
            run_dir,
            index: false,
            format,
            template,
            manifest,
            output,
        } => {
            let text = crate::run::rerender::render_run(
                &run_dir,
                format,
                template.as_deref(),
                manifest.as_deref(),
            )?;
            match output.or_else(|| crate::run::rerender::default_output(&run_dir, format)) {
                Some(path) => {
                    crate::run::dir::write_atomic(&path, text.as_bytes())?;
                    out_line(&path.display().to_string())
                }
                None => out(&text),
            }
        }
        Command::Query {
            run_dir,
            expr,
            at,
            start,
            end,
            step,
            output,
        } => {
            let spec = query::Spec {
                at,
                start,
                end,
                step,
            };
            let text = query::run(&run_dir, &expr, &spec, output)?;
            out(&text)
        }
        Command::Compare {
            base,
            new,
            out: root,
            threshold,
            fail_on,
            format,
            output,
            seed,
        } => compare(
            &base, &new, &root, &threshold, fail_on, format, output, seed,
        ),
        Command::Correlate {
            run,
            out: root,
            max_lag,
            min_rho,
            alpha,
            all,
            application_of,
            format,
        } => correlate(
            &run,
            &root,
            max_lag,
            min_rho,
            alpha,
            all,
            application_of.as_deref(),
            format,
        ),
        Command::Export { run_dir } => {
            let store = query::open_store(&run_dir)?;
            out(&crate::metrics::openmetrics::write(&store))
        }
        Command::DemoService(cmd) => Ok(crate::demo::run(cmd).map(|()| exit::OK)?),
        Command::Presets => {
            let mut text = String::new();
            for p in presets::PRESETS {
                text.push_str(&format!(
                    "{:<26} {} [{}]\n    {}\n",
                    p.name, p.description, p.unit, p.promql
                ));
            }
            out(&text)
        }
        Command::Version => out(&format!(
            "soy {} (manifest {})\n",
            env!("CARGO_PKG_VERSION"),
            manifest::model::API_VERSION
        )),
    }
}

/// Prints where a campaign's report is and returns its exit code.
fn finish_campaign(o: &campaign::run::CampaignOutcome) -> Result<u8, Error> {
    match &o.report {
        Some(html) => out_line(&html.display().to_string())?,
        None => out_line(&o.dir.display().to_string())?,
    };
    Ok(o.exit_code)
}

/// The plan of a manifest's run, or of a campaign's first configuration.
fn one_plan(file: &std::path::Path) -> Result<plan::Plan, Error> {
    Ok(match campaign::plan::load(file, None)? {
        Loaded::Single(b) => b.1,
        Loaded::Campaign(c) => c
            .plans
            .into_iter()
            .next()
            .ok_or_else(|| Error::Usage("the campaign has no configuration".into()))?,
    })
}

/// `soy rules`: the plan's SLOs and alerts as one Prometheus rule group.
fn rule_file(
    exp: &manifest::model::Experiment,
    p: &plan::Plan,
    file: &std::path::Path,
) -> Result<String, Error> {
    use crate::rules::file::{AlertInput, rules, write};
    let alerts: Vec<AlertInput<'_>> = p
        .alerts
        .iter()
        .map(|a| AlertInput {
            name: &a.name,
            expr: &a.expr,
            hold_s: a.hold_s,
            keep_firing_for_s: a.keep_firing_for_s,
            labels: &a.labels,
            annotations: &a.annotations,
        })
        .collect();
    // SLO statistics over the experiment's load (its rate window when it runs until stopped).
    let window = match p.load.run_time.0.as_secs_f64() {
        t if t > 0.0 => t,
        _ => exp.metrics.rate_window.as_secs_f64(),
    };
    let defs =
        rules(&exp.slos, &p.metrics.queries, &alerts, window).map_err(|problems| Error::Rules {
            file: file.display().to_string(),
            problems,
        })?;
    Ok(write(
        &format!("soy-{}", exp.metadata.name),
        p.evaluation_interval.as_secs_f64(),
        &defs,
    ))
}

/// `soy down`: removes a swarm stack by name, or what runs of a manifest's experiment left.
fn down(
    file: Option<&std::path::Path>,
    stack: Option<String>,
    runs: &std::path::Path,
) -> Result<u8, Error> {
    use crate::manifest::model::Stack;
    let swarm_name = match (stack, file) {
        (Some(s), _) => s,
        (None, Some(f)) => {
            let m = manifest::load(f)?;
            let name = manifest::semantic::stack_name(&m.experiment)
                .ok_or_else(|| Error::Usage("the stack name does not render".into()))?;
            match &m.experiment.stack {
                Stack::Swarm(_) => name,
                Stack::External(_) => {
                    return out_line("an external stack: soy deployed nothing to remove");
                }
                Stack::Local(_) => {
                    let cleaned = crate::run::down::local(runs, &m.experiment.metadata.name)?;
                    let stopped: Vec<String> = cleaned
                        .iter()
                        .filter(|c| !c.stopped.is_empty())
                        .map(|c| format!("stopped {} of {}", c.stopped.join(", "), c.run))
                        .collect();
                    if stopped.is_empty() {
                        return out_line(&format!(
                            "nothing left of local stack {name} ({} runs checked)",
                            cleaned.len()
                        ));
                    }
                    return out(&(stopped.join("\n") + "\n"));
                }
            }
        }
        (None, None) => return Err(Error::Usage("give a manifest or --stack NAME".into())),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Tokio)?;
    rt.block_on(async {
        let sw = crate::stack::swarm::Swarm::connect().await?;
        sw.remove(&swarm_name, std::time::Duration::from_secs(120))
            .await
    })?;
    out_line(&format!("removed stack {swarm_name}"))
}

fn validate(files: &[std::path::PathBuf], check_queries: bool) -> Result<u8, Error> {
    let mut bad = 0;
    for f in files {
        // The plan reads what the manifest refers to (a swarm stack's Compose file, a
        // trace), so a manifest is valid only when it plans.
        let planned = campaign::plan::load(f, None).map(|l| match l {
            Loaded::Single(b) => b.1,
            Loaded::Campaign(c) => {
                eprintln!(
                    "{}: a campaign of {} configuration(s), each planned",
                    f.display(),
                    c.configs.len()
                );
                c.plans
                    .into_iter()
                    .next()
                    .expect("a campaign has a configuration")
            }
        });
        match planned {
            Ok(p) => {
                warn(&p);
                if !check_queries {
                    eprintln!("ok: {}", f.display());
                    continue;
                }
                match check_with_server(&p) {
                    Ok(note) => eprintln!("ok: {} ({note})", f.display()),
                    Err(problems) => {
                        bad += 1;
                        for p in problems {
                            eprintln!("error: {}: {p}", f.display());
                        }
                    }
                }
            }
            Err(e) => {
                bad += 1;
                eprintln!("{}", chain(&e));
            }
        }
    }
    match bad {
        0 => Ok(exit::OK),
        n if files.len() == 1 => {
            let _ = n;
            Ok(exit::INVALID)
        }
        n => Err(Error::SomeInvalid(n, files.len())),
    }
}

/// Asks the manifest's Prometheus to evaluate every rendered query once.
fn check_with_server(p: &plan::Plan) -> Result<String, Vec<String>> {
    let crate::manifest::model::MetricsSource::Prometheus(src) = &p.exec.experiment.metrics.source
    else {
        return Ok("no Prometheus source: queries checked offline only".into());
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| vec![e.to_string()])?;
    rt.block_on(async {
        let flat = |e: crate::metrics::prometheus::PrometheusError| vec![crate::error::flatten(&e)];
        let client = crate::metrics::prometheus::Client::new(src).map_err(flat)?;
        client.ping().await.map_err(flat)?;
        let mut problems = Vec::new();
        let now = crate::clock::now();
        for q in &p.metrics.queries {
            if let Err(e) = client.query(&q.promql, now).await {
                let e = crate::error::flatten(&e);
                problems.push(format!("metrics query `{}`: {e}", q.name));
            }
        }
        if problems.is_empty() {
            Ok(format!(
                "{} queries accepted by {}",
                p.metrics.queries.len(),
                client.url()
            ))
        } else {
            Err(problems)
        }
    })
}

/// An error and its causes, `caused by:` lines after the first (as the binary prints them).
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    if !text.starts_with("error") {
        text = format!("error: {text}");
    }
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(&format!("\n  caused by: {s}"));
        source = s.source();
    }
    text
}

/// Prints what the plan warns about (as `docker stack deploy` would) to stderr.
fn warn(p: &plan::Plan) {
    for w in p.warnings() {
        eprintln!("warning: {w}");
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Writes one line to stdout.
fn out_line(line: &str) -> Result<u8, Error> {
    out(&format!("{line}\n"))
}

/// Writes to stdout; a closed pipe (`soy plan | head`) is not an error.
pub(crate) fn out(text: &str) -> Result<u8, Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(exit::OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit::OK),
        Err(e) => Err(Error::Output(e)),
    }
}

#[allow(clippy::too_many_arguments)]
fn compare(
    base: &str,
    new: &[String],
    root: &std::path::Path,
    threshold: &str,
    fail_on: Option<args::FailOn>,
    format: args::CompareFormat,
    output: Option<std::path::PathBuf>,
    seed: u64,
) -> Result<u8, Error> {
    use crate::compare;
    let opts = compare::Options {
        threshold: compare::parse_threshold(threshold)?,
        seed,
        ..Default::default()
    };
    let base = compare::input::resolve(base, root)?;
    let new = new
        .iter()
        .map(|n| compare::input::resolve(n, root))
        .collect::<Result<Vec<_>, _>>()?;
    let cs = compare::run(&base, &new, &opts)?;
    let text = match format {
        args::CompareFormat::Table => cs
            .iter()
            .map(compare::render::table)
            .collect::<Vec<_>>()
            .join("\n"),
        args::CompareFormat::Md => compare::render::markdown(&cs).map_err(compare::Error::from)?,
        args::CompareFormat::Html => compare::render::html(&cs).map_err(compare::Error::from)?,
        args::CompareFormat::Json => serde_json::to_string_pretty(&cs).map_err(Error::Json)? + "\n",
    };
    match output {
        Some(path) => {
            crate::run::dir::write_atomic(&path, text.as_bytes())?;
            out_line(&path.display().to_string())?;
        }
        None => {
            out(&text)?;
        }
    }
    let regressed = cs.iter().any(|c| c.regressions > 0);
    Ok(if fail_on.is_some() && regressed {
        exit::SLO_FAILED
    } else {
        exit::OK
    })
}

/// `soy correlate`: a stored run's (or a campaign's) system series against its application
/// series (or, with `application_of`, another run's).
#[allow(clippy::too_many_arguments)] // one per command-line option
fn correlate(
    reference: &str,
    root: &std::path::Path,
    max_lag: usize,
    min_rho: f64,
    alpha: f64,
    all: bool,
    application_of: Option<&str>,
    format: args::CorrelateFormat,
) -> Result<u8, Error> {
    use crate::analysis::correlate::Options;
    use crate::report::relations;
    use crate::run::correlation;
    if !(0.0..=1.0).contains(&min_rho) {
        return Err(Error::Usage(format!(
            "--min-rho {min_rho}: a correlation's size is between 0 and 1"
        )));
    }
    if !(alpha > 0.0 && alpha <= 1.0) {
        return Err(Error::Usage(format!(
            "--alpha {alpha}: a significance level is above 0 and at most 1"
        )));
    }
    let wanted = Options {
        max_lag,
        alpha,
        min_rho,
        ..Options::default()
    };
    // With --all every pair is kept; the thresholds still say which are findings.
    let opts = if all {
        Options {
            alpha: 1.0 + f64::EPSILON,
            min_rho: 0.0,
            ..wanted.clone()
        }
    } else {
        wanted.clone()
    };
    let path = std::path::Path::new(reference);
    let (label, mut c) = if let Some(other) = application_of {
        let dir = crate::compare::input::resolve(reference, root)?;
        let other = crate::compare::input::resolve(other, root)?;
        (
            format!(
                "{} (system) against {} (application)",
                dir.display(),
                other.display()
            ),
            correlation::of_pair(&dir, &other, &opts)?,
        )
    } else if crate::campaign::report::is_campaign_dir(path) {
        let rec = crate::campaign::run::read_record(path)?;
        (
            format!("campaign {}/{}", rec.experiment, rec.campaign_id),
            correlation::of_campaign(path, &rec, &opts),
        )
    } else {
        let dir = crate::compare::input::resolve(reference, root)?;
        let label = dir
            .parent()
            .and_then(|p| p.file_name())
            .zip(dir.file_name())
            .map_or_else(
                || dir.display().to_string(),
                |(e, r)| format!("{}/{}", e.to_string_lossy(), r.to_string_lossy()),
            );
        (label, correlation::of_run(&dir, &opts)?)
    };
    c.alpha = wanted.alpha;
    c.min_rho = wanted.min_rho;
    let text = match format {
        args::CorrelateFormat::Table => relations::table(&label, &c),
        args::CorrelateFormat::Md => relations::markdown(&label, &c),
        args::CorrelateFormat::Json => {
            serde_json::to_string_pretty(&c).map_err(Error::Json)? + "\n"
        }
    };
    out(&text)
}

/// Runs `soy worker` or `soy coordinator` on a current-thread runtime (the engine starts its
/// own worker threads); a failure is printed and exits 3.
fn distributed_task(f: impl std::future::Future<Output = Result<(), String>>) -> Result<u8, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Tokio)?;
    Ok(match rt.block_on(f) {
        Ok(()) => exit::OK,
        Err(why) => {
            eprintln!("soy: {why}");
            exit::RUNTIME
        }
    })
}
