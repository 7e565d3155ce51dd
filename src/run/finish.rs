//! The end of a run: judge the SLOs, write what was collected (results, Locust CSV, series,
//! run.json, summary.json) and the reports, and print the outcome. A file that cannot be
//! written is reported and turns a passing run's exit code into a runtime failure.

use super::apply::{Outcome, Run};
use super::record::{self, RunRecord};
use super::stop::{RunStatus, StopReason};
use crate::analysis::series::QueryResult;
use crate::analysis::slo;
use crate::exit;
use crate::report::render;
use crate::report::summary::{LoadSummary, MetricSummary, Summary};

/// Judges, writes and reports; returns how the run ended.
pub fn finish(mut run: Run<'_>) -> Outcome {
    let exp = &run.plan.exec.experiment;
    let verdicts = slo::judge(&exp.slos, run.results.as_ref(), &run.metrics);
    let failed = verdicts.iter().any(|v| !v.passed());
    let interrupted = run.stop.was_interrupted();
    let (mut status, mut exit_code) = match (&run.ended, failed) {
        (Some(StopReason::Interrupted), _) => (RunStatus::Incomplete, exit::INTERRUPTED),
        (Some(_), _) if interrupted => (RunStatus::Incomplete, exit::INTERRUPTED),
        (Some(StopReason::Aborted { .. }), _) => (RunStatus::Aborted, exit::SLO_FAILED),
        (Some(_), _) => (RunStatus::Incomplete, exit::RUNTIME),
        (None, true) => (RunStatus::Failed, exit::SLO_FAILED),
        (None, false) => (RunStatus::Passed, exit::OK),
    };
    run.events.sort_by(|a, b| a.at.total_cmp(&b.at));
    if let Some(r) = &run.results {
        let breach = breach_seconds(&exp.slos, &r.series);
        for s in &mut run.scaling {
            s.figures.slo_breach_s = breach;
        }
    }
    let baseline = exp
        .report
        .baseline
        .as_ref()
        .map(|spec| against_baseline(&run, spec, status));
    let mut regressed = None;
    if let Some(b) = &baseline {
        eprintln!(
            "soy: against baseline {}: {}",
            b.base.as_deref().unwrap_or(&b.spec),
            b.headline
        );
        if exp.report.fail_on_regression && b.regressions > 0 && status == RunStatus::Passed {
            status = RunStatus::Failed;
            exit_code = exit::SLO_FAILED;
            regressed = Some(format!(
                "regressed against baseline {}: {}",
                b.base.as_deref().unwrap_or(&b.spec),
                b.headline
            ));
        }
    }
    let git = record::git_state(&run.plan.exec.dir);
    let reason = run.ended.as_ref().map(ToString::to_string).or(regressed);
    let summary = Summary {
        experiment: exp.metadata.name.clone(),
        description: exp.metadata.description.clone(),
        run_id: run.dir.id.clone(),
        status: status.as_str().into(),
        reason: reason.clone(),
        exit_code,
        soy_version: env!("CARGO_PKG_VERSION").into(),
        git: git.clone(),
        phases: run.phases.0.clone(),
        slos: verdicts,
        load: run.results.as_ref().map(LoadSummary::from_results),
        metrics: run.metrics.iter().map(metric_summary).collect(),
        events: run.events.clone(),
        alerts: run.alerts.clone(),
        scaling: run.scaling.clone(),
        baseline,
        correlation: run
            .results
            .as_ref()
            .and_then(|r| super::correlation::of_results(r, &run.metrics, &Default::default()))
            .map(|(_, c)| c),
        warnings: Vec::new(),
    };
    let record = RunRecord {
        soy_version: env!("CARGO_PKG_VERSION").into(),
        api_version: crate::manifest::model::API_VERSION.into(),
        run_id: run.dir.id.clone(),
        experiment: exp.metadata.name.clone(),
        host: record::hostname(),
        git,
        command_line: run.opts.command_line.clone(),
        phases: run.phases.0.clone(),
        status: status.as_str().into(),
        reason,
        exit_code,
    };
    let mut problems = write_files(&run, &summary, &record);
    let report = write_report(&run, &summary).unwrap_or_else(|e| {
        problems.push(crate::error::flatten(&e));
        None
    });
    // The runs index of the reports root; a failure there loses nothing of this run. A
    // campaign's run leaves both to its campaign.
    let own = run.opts.run_dir.is_none();
    if own {
        run.dir.link_latest();
    }
    if let Some(root) = run.dir.path.parent().and_then(std::path::Path::parent)
        && own
        && let Err(e) = super::index::write(root)
    {
        eprintln!(
            "soy: the runs index was not updated: {}",
            crate::error::flatten(&e)
        );
    }
    print(&run, &summary, &problems);
    Outcome {
        exit_code: if problems.is_empty() || exit_code != exit::OK {
            exit_code
        } else {
            exit::RUNTIME
        },
        run_dir: run.dir.path.clone(),
        report,
        torn_down: true,
    }
}

fn metric_summary(q: &QueryResult) -> MetricSummary {
    MetricSummary {
        name: q.name.clone(),
        series: q.series.len(),
        missing: q.missing.clone(),
        warnings: q.warnings.clone(),
        gaps: q.gaps.clone(),
    }
}

/// This run (before its files are written) against `report.baseline`.
fn against_baseline(
    run: &Run<'_>,
    spec: &str,
    status: RunStatus,
) -> crate::report::summary::BaselineSummary {
    use crate::compare::{baseline, input::Parts};
    // <out>/<experiment>/<run>, or <out>/<experiment>/<campaign>/<run>.
    let levels = if run.opts.run_dir.is_none() { 2 } else { 3 };
    let out = run
        .dir
        .path
        .ancestors()
        .nth(levels)
        .unwrap_or(&run.dir.path);
    let Some(results) = &run.results else {
        return crate::report::summary::BaselineSummary {
            spec: spec.to_string(),
            base: None,
            base_dir: None,
            headline: "not compared: this run has no load results".into(),
            regressions: 0,
            improvements: 0,
            rows: Vec::new(),
            notes: Vec::new(),
        };
    };
    let parts = Parts {
        experiment: &run.plan.exec.experiment.metadata.name,
        run_id: &run.dir.id,
        dir: &run.dir.path,
        status: status.as_str(),
        warnings: &[],
        results,
        metrics: &run.metrics,
        latency: results.latency.as_ref().map(|l| l.per_second.as_str()),
    };
    baseline::against(spec, &parts, out, &run.plan.exec.dir)
}

/// Writes the data files; returns what could not be written.
fn write_files(run: &Run<'_>, summary: &Summary, record: &RunRecord) -> Vec<String> {
    use super::bundle::files;
    let d = &run.dir;
    let mut written = Vec::new();
    if let Some(r) = &run.results {
        written.push(d.write_json(files::RESULTS, r));
        if let Some(l) = &r.latency {
            written.push(d.write(files::LATENCY, l.per_second.as_bytes()));
            written.push(d.write(files::LATENCY_WINDOW, l.window.as_bytes()));
        }
        // Locust writes its own CSV files; soy writes them for its own generator.
        if let Some(prefix) = run
            .plan
            .exec
            .experiment
            .load
            .csv
            .as_ref()
            .filter(|_| r.locust.is_none())
        {
            for (suffix, body) in crate::load::locust_csv::files(r) {
                written.push(d.write(&format!("{prefix}{suffix}"), body.as_bytes()));
            }
        }
    }
    written.push(d.write_json(files::SERIES, &run.metrics));
    written.push(d.write(files::SERIES_CSV, tidy_csv(&run.metrics).as_bytes()));
    written.push(d.write_json(files::RUN, record));
    written.push(d.write_json(files::SUMMARY, summary));
    written
        .into_iter()
        .filter_map(Result::err)
        .map(|e| crate::error::flatten(&e))
        .collect()
}

fn write_report(
    run: &Run<'_>,
    summary: &Summary,
) -> Result<Option<std::path::PathBuf>, super::dir::DirError> {
    let exp = &run.plan.exec.experiment;
    let data = render::build(render::Inputs {
        title: exp
            .report
            .title
            .clone()
            .unwrap_or_else(|| exp.metadata.name.clone()),
        summary: summary.clone(),
        results: run.results.as_ref(),
        metrics: &run.metrics,
        labels: exp.metadata.labels.clone(),
        manifest: run.plan.exec.source.clone(),
        command_line: run.opts.command_line.join(" "),
        host: record::hostname(),
        load_start: run.load_start,
        warmup_s: exp.load.warmup.as_secs_f64(),
        cooldown_s: exp.load.cooldown.as_secs_f64(),
        charting: crate::report::web::charting(),
    });
    super::dir::write_report(&run.dir, &data, &exp.report, &run.plan.exec.dir, summary)
}

fn print(run: &Run<'_>, summary: &Summary, problems: &[String]) {
    for p in problems {
        eprintln!("soy: {p}");
    }
    if let Some(r) = &run.results {
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
    match &summary.reason {
        Some(r) if summary.status == "aborted" => eprintln!("soy: run {r}"),
        Some(r) => eprintln!("soy: run incomplete: {r}"),
        None => {}
    }
}

/// Seconds whose own statistics break a load SLO over all requests (p50–p99, max, error
/// rate); `None` without such an SLO.
fn breach_seconds(
    slos: &[crate::manifest::model::Slo],
    rows: &[crate::load::stats::SecondRow],
) -> Option<u64> {
    use crate::manifest::model::LoadStat;
    let judged: Vec<&crate::manifest::model::Slo> = slos
        .iter()
        .filter(|s| {
            s.request.is_none()
                && s.load.is_some_and(|l| {
                    l != LoadStat::Rps && l != LoadStat::Mean && l != LoadStat::P75
                })
        })
        .collect();
    if judged.is_empty() {
        return None;
    }
    let broken = |s: &crate::manifest::model::Slo, r: &crate::load::stats::SecondRow| {
        let (value, limit) = match s.load {
            Some(LoadStat::ErrorRate) => (
                if r.requests == 0 {
                    0.0
                } else {
                    r.failures as f64 / r.requests as f64
                },
                s.max.and_then(|t| t.as_ratio()),
            ),
            Some(stat) => (
                match stat {
                    LoadStat::P50 => r.p50_ms,
                    LoadStat::P90 => r.p90_ms,
                    LoadStat::P95 => r.p95_ms,
                    LoadStat::P99 => r.p99_ms,
                    _ => r.max_ms,
                },
                s.max.and_then(|t| t.as_millis()),
            ),
            None => (0.0, None),
        };
        limit.is_some_and(|l| r.requests > 0 && value > l)
    };
    Some(
        rows.iter()
            .filter(|r| judged.iter().any(|s| broken(s, r)))
            .count() as u64,
    )
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
