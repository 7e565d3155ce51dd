//! `soy report RUN_DIR`: re-render a stored run's reports from its files, without running it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::bundle::{BundleError, StoredRun};
use super::dir::RunDir;
use crate::analysis::series::QueryResult;
use crate::report::render;

/// The formats `soy report` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    Md,
    Json,
}

/// Renders `format` for the run in `dir`; returns the text.
pub fn render_run(
    dir: &Path,
    format: ReportFormat,
    template: Option<&Path>,
    manifest_file: Option<&Path>,
) -> Result<String, BundleError> {
    let mut run = RunDir::open(dir).read()?;
    if format == ReportFormat::Json {
        return serde_json::to_string_pretty(&run.summary)
            .map(|s| s + "\n")
            .map_err(BundleError::Json);
    }
    let mut metrics = std::mem::take(&mut run.metrics);
    match reevaluate(&run, manifest_file, &mut metrics) {
        Ok(()) => {}
        // New questions need the samples: without them there is nothing to answer with.
        Err(e) if manifest_file.is_some() => return Err(e),
        Err(e) => run.warn(format!(
            "{}; the series stored at the end of the run (metrics/series.json) are shown instead",
            crate::error::flatten(&e)
        )),
    }
    // Correlated again on the series now shown (a run from before the analysis gets one).
    if let Some(r) = &run.results
        && let Some((_, c)) = super::correlation::of_results(r, &metrics, &Default::default())
    {
        run.summary.correlation = Some(c);
    }
    let StoredRun {
        summary,
        record,
        results,
        manifest,
        ..
    } = run;
    let doc = crate::manifest::yaml::parse(&manifest)
        .map(|(v, _)| v)
        .unwrap_or(Value::Null);
    let secs = |ptr: &str| {
        doc.pointer(ptr)
            .and_then(Value::as_str)
            .and_then(|s| crate::manifest::duration::parse(s).ok())
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let labels = doc
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let title = doc
        .pointer("/report/title")
        .and_then(Value::as_str)
        .map_or_else(|| summary.experiment.clone(), str::to_string);
    let data = render::build(render::Inputs {
        title,
        results: results.as_ref(),
        metrics: &metrics,
        labels,
        manifest,
        command_line: record
            .as_ref()
            .map_or_else(String::new, |r| r.command_line.join(" ")),
        host: record.as_ref().map_or_else(String::new, |r| r.host.clone()),
        load_start: summary
            .phases
            .iter()
            .find(|p| p.name == "load")
            .map(|p| p.started_at),
        warmup_s: secs("/load/warmup"),
        cooldown_s: secs("/load/cooldown"),
        summary,
        charting: crate::report::web::charting(),
    });
    Ok(match format {
        ReportFormat::Html => {
            render::render(&data, "report.html.j2", render::HTML_TEMPLATE, template)?
        }
        _ => render::markdown(&data, template)?,
    })
}

/// With the run's embedded samples (`metrics/samples.tsdb`), evaluates the queries again
/// offline — those of `manifest_file` when given (new questions for an old run), else the
/// run's own — over the run's window, replacing stored results of the same name.
fn reevaluate(
    run: &StoredRun,
    manifest_file: Option<&Path>,
    metrics: &mut Vec<QueryResult>,
) -> Result<(), BundleError> {
    let dir = &run.dir;
    let no_samples = || match manifest_file {
        Some(_) => Err(BundleError::NoSamples(dir.clone())),
        None => Ok(()),
    };
    if !dir.join(super::bundle::files::SAMPLES).exists() {
        return no_samples();
    }
    let (queries, step) = match manifest_file {
        Some(path) => {
            let m = crate::manifest::load(path)?;
            let plan = crate::plan::build(&m)?;
            let step = plan.metrics.step.as_secs_f64();
            let queries: Vec<_> = plan
                .metrics
                .queries
                .into_iter()
                .map(|q| (q.name, q.promql, q.unit))
                .collect();
            (queries, step)
        }
        None => stored_queries(&run.resolved),
    };
    let Some(window) = run.load_window() else {
        return Ok(());
    };
    let Some(store) = super::bundle::samples(dir)? else {
        return no_samples();
    };
    for (name, promql, unit) in queries {
        let mut r =
            crate::metrics::embedded::query_range(&store, &name, &promql, unit, window, step);
        match metrics.iter_mut().find(|m| m.name == name) {
            Some(existing) => {
                r.section = existing.section;
                *existing = r
            }
            None => metrics.push(r),
        }
    }
    Ok(())
}

/// The run's own queries and step, from its `resolved.json`.
fn stored_queries(resolved: &Value) -> (Vec<(String, String, Option<String>)>, f64) {
    let step = resolved
        .pointer("/metrics/step")
        .and_then(Value::as_str)
        .and_then(|s| crate::manifest::duration::parse(s).ok())
        .map_or(15.0, |d| d.as_secs_f64());
    let queries = resolved
        .pointer("/metrics/queries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|q| {
            Some((
                q["name"].as_str()?.to_string(),
                q["promql"].as_str()?.to_string(),
                q["unit"].as_str().map(str::to_string),
            ))
        })
        .collect();
    (queries, step)
}

/// Where `soy report` writes when no output is given: HTML into the run directory.
pub fn default_output(dir: &Path, format: ReportFormat) -> Option<PathBuf> {
    (format == ReportFormat::Html).then(|| RunDir::open(dir).path.join("report.html"))
}
