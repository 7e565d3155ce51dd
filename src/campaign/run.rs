//! Running a campaign: its runs one after another on one runtime, each a complete run in
//! `<campaign>/<run id>/`, `campaign.json` rewritten after every run, a stack shared by
//! consecutive runs that do not change it (`redeploy: per_stack_change`), Ctrl-C between or
//! inside runs ending the campaign with what it has, and `--resume` running only what is
//! missing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use super::Error;
use super::plan::CampaignPlan;
use super::points;
use super::record::{self, CampaignRecord, Probe, RunEntry, SearchRecord};
use super::search::{self, Next};
use crate::exit;
use crate::manifest::model::Redeploy;
use crate::plan::Plan;
use crate::report::summary::Summary;
use crate::run::apply::{self, AnyStack, ApplyOptions, StackUse};
use crate::run::dir::RunDir;

/// Where and how to run a campaign.
pub struct CampaignOptions {
    pub out: PathBuf,
    pub command_line: Vec<String>,
    pub allow_missing_metrics: bool,
}

/// How a campaign ended.
pub struct CampaignOutcome {
    pub dir: PathBuf,
    pub exit_code: u8,
    pub report: Option<PathBuf>,
}

/// Starts a new campaign in `out/<experiment>/<campaign id>/`.
pub fn start(c: &CampaignPlan, opts: &CampaignOptions) -> Result<CampaignOutcome, Error> {
    let dir = RunDir::create(&opts.out, &c.name)?;
    dir.write(record::MANIFEST, c.base.source.as_bytes())?;
    let exp = &c.base.experiment;
    let rec = CampaignRecord {
        soy_version: env!("CARGO_PKG_VERSION").into(),
        experiment: c.name.clone(),
        description: exp.metadata.description.clone(),
        campaign_id: dir.id.clone(),
        kind: c.kind.into(),
        status: "running".into(),
        manifest_path: c.base.path.display().to_string(),
        manifest_dir: absolute(&c.base.dir).display().to_string(),
        parameters: c.parameters.clone(),
        repeat: c.search.as_ref().map_or(c.repeat, |s| s.repeat),
        order: points::plain(&c.order),
        seed: c.seed,
        redeploy: points::plain(&c.redeploy),
        started_at: crate::clock::now(),
        ended_at: None,
        configurations: c.configs.clone(),
        runs: Vec::new(),
        searches: Vec::new(),
    };
    dir.write_json(record::FILE, &rec)?;
    eprintln!(
        "soy: campaign directory {} ({} runs{})",
        dir.path.display(),
        c.most_runs,
        if c.search.is_some() { " at most" } else { "" }
    );
    execute(c, &dir, rec, opts)
}

/// Reads a campaign directory's record and manifest: the record, and the plan it ran.
pub fn open(dir: &Path) -> Result<(CampaignRecord, CampaignPlan), Error> {
    let rec = read_record(dir)?;
    let text =
        std::fs::read_to_string(dir.join(record::MANIFEST)).map_err(|e| Error::NotCampaignDir {
            path: dir.to_path_buf(),
            source: Box::new(e),
        })?;
    let c = super::plan::load_stored(
        PathBuf::from(&rec.manifest_path),
        PathBuf::from(&rec.manifest_dir),
        text,
        rec.seed,
    )?;
    Ok((rec, c))
}

/// The record of a campaign directory.
pub fn read_record(dir: &Path) -> Result<CampaignRecord, Error> {
    let bad = |e: Box<dyn std::error::Error + Send + Sync>| Error::NotCampaignDir {
        path: dir.to_path_buf(),
        source: e,
    };
    let bytes = std::fs::read(dir.join(record::FILE)).map_err(|e| bad(Box::new(e)))?;
    serde_json::from_slice(&bytes).map_err(|e| bad(Box::new(e)))
}

/// Resumes a campaign: the runs it has not finished, in its order. A run cut short is kept,
/// renamed `<id>.incomplete-<n>`, and made again.
pub fn resume(path: &Path, opts: &CampaignOptions) -> Result<CampaignOutcome, Error> {
    // `reports/<experiment>/latest` names the campaign by its own folder.
    let real = absolute(path);
    let path = real.as_path();
    let (mut rec, c) = open(path)?;
    let dir = RunDir::open(path);
    rec.runs.retain(RunEntry::finished);
    // Every run folder without a finished entry — cut short by Ctrl-C, or by a kill that
    // left no entry at all — is kept aside and its run made again.
    let mut cut: Vec<String> = std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(crate::run::bundle::files::RUN).is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !n.contains(".incomplete-") && n != "latest")
        .filter(|n| !rec.runs.iter().any(|r| &r.id == n))
        .collect();
    cut.sort();
    for id in cut {
        let mut n = 1;
        while path.join(format!("{id}.incomplete-{n}")).exists() {
            n += 1;
        }
        let to = path.join(format!("{id}.incomplete-{n}"));
        std::fs::rename(path.join(&id), &to).map_err(|source| {
            crate::run::dir::DirError::Write {
                path: to.clone(),
                source,
            }
        })?;
        eprintln!("soy: run {id} did not finish; kept as {}", to.display());
    }
    let complete = match &c.search {
        None => c.runs.iter().all(|id| rec.runs.iter().any(|r| &r.id == id)),
        Some(_) => rec.searches.len() == c.configs.len() && rec.searches.iter().all(|s| s.done),
    };
    if complete {
        return Err(Error::Complete(path.to_path_buf()));
    }
    rec.status = "running".into();
    rec.ended_at = None;
    dir.write_json(record::FILE, &rec)?;
    eprintln!(
        "soy: resuming campaign {} ({} runs finished)",
        path.display(),
        rec.runs.len()
    );
    execute(&c, &dir, rec, opts)
}

/// A stack kept up between runs.
struct Held {
    stack: AnyStack,
    key: String,
    plan: Plan,
}

/// What the campaign loop shares.
struct Ctx<'a> {
    c: &'a CampaignPlan,
    dir: &'a RunDir,
    opts: &'a CampaignOptions,
    rec: CampaignRecord,
    held: Option<Held>,
    interrupted: Arc<AtomicBool>,
    ran: usize,
}

fn execute(
    c: &CampaignPlan,
    dir: &RunDir,
    rec: CampaignRecord,
    opts: &CampaignOptions,
) -> Result<CampaignOutcome, Error> {
    let rt = apply::runtime().map_err(|e| Error::Run(Box::new(e)))?;
    let interrupted = Arc::new(AtomicBool::new(false));
    let mut cx = Ctx {
        c,
        dir,
        opts,
        rec,
        held: None,
        interrupted: interrupted.clone(),
        ran: 0,
    };
    let result = rt.block_on(async {
        let flag = interrupted.clone();
        tokio::spawn(async move {
            // Every Ctrl-C reaches this listener and the running run's own.
            while tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, Ordering::SeqCst);
            }
        });
        let r = match &c.search {
            None => sweep(&mut cx).await,
            Some(_) => capacity(&mut cx).await,
        };
        if let Some(mut h) = cx.held.take() {
            apply::teardown_stack(&h.plan, &mut h.stack).await;
        }
        r
    });
    let stopped = interrupted.load(Ordering::SeqCst);
    let mut rec = cx.rec;
    rec.status = match (&result, stopped) {
        (_, true) => "interrupted",
        (Err(_), false) => "failed",
        (Ok(()), false) => "complete",
    }
    .into();
    rec.ended_at = Some(crate::clock::now());
    dir.write_json(record::FILE, &rec)?;
    let report = super::report::write(&dir.path, &rec)
        .map_err(|e| {
            eprintln!(
                "soy: the campaign report was not written: {}",
                crate::error::flatten(&e)
            )
        })
        .ok();
    dir.link_latest();
    if let Some(root) = dir.path.parent().and_then(Path::parent)
        && let Err(e) = crate::run::index::write(root)
    {
        eprintln!(
            "soy: the runs index was not updated: {}",
            crate::error::flatten(&e)
        );
    }
    result?;
    print_end(&rec, stopped, &dir.path);
    Ok(CampaignOutcome {
        dir: dir.path.clone(),
        exit_code: exit_code(&rec, stopped),
        report,
    })
}

/// The campaign's exit code: interrupted, a run that could not complete, an SLO failed in a
/// sweep's run or a search without a capacity, or all well.
fn exit_code(rec: &CampaignRecord, stopped: bool) -> u8 {
    if stopped {
        return exit::INTERRUPTED;
    }
    if rec.runs.iter().any(|r| r.status == "incomplete") {
        return exit::RUNTIME;
    }
    let failed = if rec.kind == "search" {
        rec.searches.iter().any(|s| s.capacity.is_none())
    } else {
        rec.runs.iter().any(|r| r.status != "passed")
    };
    if failed { exit::SLO_FAILED } else { exit::OK }
}

fn print_end(rec: &CampaignRecord, stopped: bool, dir: &Path) {
    let passed = rec.runs.iter().filter(|r| r.status == "passed").count();
    eprintln!(
        "soy: campaign {}: {} runs, {passed} passed{}",
        if stopped { "interrupted" } else { "complete" },
        rec.runs.len(),
        if stopped {
            format!("; resume with `soy apply --resume {}`", dir.display())
        } else {
            String::new()
        }
    );
    for s in &rec.searches {
        match s.capacity {
            Some(c) => eprintln!("soy: capacity of {}: {} {c}", s.configuration, s.over),
            None if s.done => eprintln!(
                "soy: capacity of {}: even the lowest load fails",
                s.configuration
            ),
            None => {}
        }
    }
}

async fn sweep(cx: &mut Ctx<'_>) -> Result<(), Error> {
    let c = cx.c;
    let todo: Vec<usize> = (0..c.slots.len())
        .filter(|&i| {
            !cx.rec
                .runs
                .iter()
                .any(|r| r.id == c.runs[i] && r.finished())
        })
        .collect();
    for (k, &i) in todo.iter().enumerate() {
        if !pause(cx).await {
            break;
        }
        let slot = c.slots[i];
        let cfg = &c.configs[slot.config];
        let next = todo.get(k + 1).map(|&j| &c.plans[c.slots[j].config]);
        let entry = run_point(
            cx,
            &c.plans[slot.config],
            &c.runs[i],
            cfg,
            slot.rep,
            cfg.values.clone(),
            next.map(stack_key),
        )
        .await?;
        let cut = entry.status == "interrupted";
        cx.rec.runs.push(entry);
        cx.dir.write_json(record::FILE, &cx.rec)?;
        if cut {
            cx.interrupted.store(true, Ordering::SeqCst);
            break;
        }
    }
    Ok(())
}

async fn capacity(cx: &mut Ctx<'_>) -> Result<(), Error> {
    let c = cx.c;
    let Some(s) = &c.search else { return Ok(()) };
    'configs: for cfg in &c.configs {
        let at = match cx
            .rec
            .searches
            .iter()
            .position(|r| r.configuration == cfg.id)
        {
            Some(i) => i,
            None => {
                cx.rec.searches.push(SearchRecord {
                    configuration: cfg.id.clone(),
                    over: s.over.name().into(),
                    strategy: points::plain(&s.strategy),
                    candidates: s.candidates.clone(),
                    probes: Vec::new(),
                    capacity: None,
                    done: false,
                });
                cx.rec.searches.len() - 1
            }
        };
        loop {
            let known: Vec<(usize, bool)> = cx.rec.searches[at]
                .probes
                .iter()
                .filter_map(|p| {
                    s.candidates
                        .iter()
                        .position(|x| *x == p.load)
                        .map(|i| (i, p.met))
                })
                .collect();
            let i = match search::next(s.strategy, s.candidates.len(), &known) {
                Next::Done(best) => {
                    let r = &mut cx.rec.searches[at];
                    r.capacity = best.map(|i| s.candidates[i]);
                    r.done = true;
                    cx.dir.write_json(record::FILE, &cx.rec)?;
                    break;
                }
                Next::Probe(i) => i,
            };
            let load = s.candidates[i];
            let values = c.values(cfg, Some(load));
            let probe_id = format!("{}-{}-{}", cfg.id, s.over.name(), points::number(load));
            let plan = c.point_plan(&probe_id, &values)?;
            let key = stack_key(&plan);
            let mut runs = Vec::new();
            for rep in 1..=s.repeat {
                let id = points::run_id(&probe_id, rep);
                if let Some(done) = cx.rec.runs.iter().find(|r| r.id == id && r.finished()) {
                    runs.push(done.clone());
                    continue;
                }
                if !pause(cx).await {
                    break 'configs;
                }
                let entry =
                    run_point(cx, &plan, &id, cfg, rep, values.clone(), Some(key.clone())).await?;
                let cut = entry.status == "interrupted";
                cx.rec.runs.push(entry.clone());
                cx.dir.write_json(record::FILE, &cx.rec)?;
                if cut {
                    cx.interrupted.store(true, Ordering::SeqCst);
                    break 'configs;
                }
                runs.push(entry);
            }
            let (met, why) = verdict(&runs, &s.slos);
            eprintln!(
                "soy: probe {} {} of {}: {}",
                s.over.name(),
                points::number(load),
                cfg.id,
                if met { "met" } else { "not met" }
            );
            cx.rec.searches[at].probes.push(Probe {
                load,
                met,
                why,
                runs: runs.iter().map(|r| r.id.clone()).collect(),
            });
            cx.dir.write_json(record::FILE, &cx.rec)?;
        }
    }
    Ok(())
}

/// Whether a probe's runs met the named SLOs (all SLOs when none are named), and why.
pub fn verdict(runs: &[RunEntry], names: &[String]) -> (bool, String) {
    let mut met = true;
    let mut why = Vec::new();
    for r in runs {
        if !r.finished() || r.status == "aborted" {
            met = false;
            why.push(format!(
                "{}: {}{}",
                r.id,
                r.status,
                r.reason
                    .as_ref()
                    .map_or(String::new(), |x| format!(" ({x})"))
            ));
            continue;
        }
        let judged: Vec<_> = r
            .slos
            .iter()
            .filter(|v| names.is_empty() || names.contains(&v.name))
            .collect();
        let failed: Vec<String> = judged
            .iter()
            .filter(|v| !v.passed)
            .map(|v| match v.observed {
                Some(o) => format!(
                    "{} ({}, limit {})",
                    v.name,
                    crate::report::units::human(o, &v.unit),
                    v.threshold
                ),
                None => format!("{} (no value)", v.name),
            })
            .collect();
        if failed.is_empty() {
            why.push(format!("{}: {} SLO(s) met", r.id, judged.len()));
        } else {
            met = false;
            why.push(format!("{}: failed {}", r.id, failed.join(", ")));
        }
    }
    (met, why.join("; "))
}

/// Waits the campaign's pause before a run (not before its first); false when Ctrl-C came.
async fn pause(cx: &mut Ctx<'_>) -> bool {
    if cx.interrupted.load(Ordering::SeqCst) {
        return false;
    }
    let p = cx.c.pause.0;
    if cx.ran > 0 && !p.is_zero() {
        let until = tokio::time::Instant::now() + p;
        while tokio::time::Instant::now() < until {
            tokio::time::sleep_until(
                until.min(tokio::time::Instant::now() + std::time::Duration::from_millis(100)),
            )
            .await;
            if cx.interrupted.load(Ordering::SeqCst) {
                return false;
            }
        }
    }
    !cx.interrupted.load(Ordering::SeqCst)
}

/// Makes one run: reuses the held stack when allowed and unchanged, keeps it for the next
/// run when that one has the same stack.
async fn run_point(
    cx: &mut Ctx<'_>,
    plan: &Plan,
    id: &str,
    cfg: &points::Config,
    rep: u32,
    values: serde_json::Map<String, Value>,
    next_key: Option<String>,
) -> Result<RunEntry, Error> {
    let shared = cx.c.redeploy == Redeploy::PerStackChange;
    let key = stack_key(plan);
    let reuse = shared && cx.held.as_ref().is_some_and(|h| h.key == key);
    if !reuse && let Some(mut h) = cx.held.take() {
        apply::teardown_stack(&h.plan, &mut h.stack).await;
    }
    let opts = ApplyOptions {
        out: cx.opts.out.clone(),
        command_line: cx.opts.command_line.clone(),
        allow_missing_metrics: cx.opts.allow_missing_metrics,
        run_dir: Some(cx.dir.path.join(id)),
    };
    eprintln!("soy: campaign run {id}");
    let started_at = crate::clock::now();
    let run = apply::prepare(plan, &opts).map_err(|e| Error::Run(Box::new(e)))?;
    let mut stack = match cx.held.take() {
        Some(h) if reuse => h.stack,
        _ => apply::driver(&run),
    };
    let keep = shared && next_key.as_deref() == Some(key.as_str());
    let outcome = apply::lifecycle(
        run,
        &mut stack,
        StackUse {
            deploy: !reuse,
            teardown: !keep,
        },
    )
    .await;
    cx.ran += 1;
    if !outcome.torn_down {
        cx.held = Some(Held {
            stack,
            key,
            plan: plan.clone(),
        });
    }
    let summary: Option<Summary> =
        std::fs::read(outcome.run_dir.join(crate::run::bundle::files::SUMMARY))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
    let interrupted = outcome.exit_code == exit::INTERRUPTED;
    Ok(RunEntry {
        id: id.to_string(),
        configuration: cfg.id.clone(),
        repetition: rep,
        values,
        load: plan.load.target,
        status: if interrupted {
            "interrupted".into()
        } else {
            summary
                .as_ref()
                .map_or("incomplete".into(), |s| s.status.clone())
        },
        exit_code: outcome.exit_code,
        started_at,
        ended_at: crate::clock::now(),
        load_s: summary.as_ref().map_or(0.0, load_seconds),
        deployed: !reuse,
        figures: summary.as_ref().and_then(record::figures),
        slos: summary
            .as_ref()
            .map(|s| record::slos(s, &slo_names(plan)))
            .unwrap_or_default(),
        reason: summary.as_ref().and_then(|s| s.reason.clone()),
    })
}

/// The SLOs' given names, in the manifest's order.
fn slo_names(plan: &Plan) -> Vec<Option<String>> {
    plan.exec
        .experiment
        .slos
        .iter()
        .map(|s| s.name.clone())
        .collect()
}

/// Seconds the load phase lasted.
fn load_seconds(s: &Summary) -> f64 {
    s.phases
        .iter()
        .filter(|p| p.name == "load")
        .map(|p| p.ended_at - p.started_at)
        .sum()
}

/// What identifies a run's stack: two runs with the same key can share one deployment.
fn stack_key(plan: &Plan) -> String {
    format!(
        "{}\n{}",
        serde_json::to_string(&plan.exec.experiment.stack).unwrap_or_default(),
        serde_json::to_string(&plan.stack).unwrap_or_default()
    )
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
