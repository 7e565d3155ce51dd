//! `soy query RUN_DIR EXPR`: PromQL over a stored run's embedded metrics.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::Error;
use crate::exposition::format_float as value_text;
use crate::promql::{self, Annotation, Labels, Value};

/// How the answer is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QueryOutput {
    Table,
    Json,
    Csv,
}

/// When to evaluate, as given on the command line.
#[derive(Debug, Default)]
pub struct Spec {
    pub at: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub step: Option<String>,
}

/// The run's embedded store (`metrics/samples.tsdb`).
pub fn open_store(run_dir: &Path) -> Result<crate::tsdb::Store, Error> {
    let dir = std::fs::canonicalize(run_dir)
        .map_err(|e| Error::Usage(format!("{}: {e}", run_dir.display())))?;
    match crate::run::bundle::samples(&dir) {
        Ok(Some(store)) => Ok(store),
        Ok(None) => Err(Error::Usage(format!(
            "{} has no embedded metrics store (metrics/samples.tsdb): the run used a Prometheus source, or collected nothing",
            dir.display()
        ))),
        Err(e) => Err(Error::Usage(format!(
            "{}: {}",
            dir.display(),
            crate::error::flatten(&e)
        ))),
    }
}

/// Loads the run's store and answers `expr`.
pub fn run(run_dir: &Path, expr: &str, spec: &Spec, output: QueryOutput) -> Result<String, Error> {
    let store = open_store(run_dir)?;
    let dir = std::fs::canonicalize(run_dir)
        .map_err(|e| Error::Usage(format!("{}: {e}", run_dir.display())))?;
    let (load_start, run_end) = window(&dir);
    let time = |s: &str| parse_time(s, load_start).map_err(Error::Usage);
    let opts = promql::Options::default();
    let bad = |e: promql::EvalError| Error::Usage(format!("query: {}", crate::error::flatten(&e)));
    if let Some(at) = &spec.at {
        let t = time(at)?;
        let answer =
            promql::instant(expr, &store, (t * 1000.0).round() as i64, &opts).map_err(bad)?;
        return Ok(render_instant(&answer.value, t, output) + &notes(&answer.annotations, output));
    }
    let start = match &spec.start {
        Some(s) => time(s)?,
        None => load_start,
    };
    let end = match &spec.end {
        Some(s) => time(s)?,
        None => run_end,
    };
    if end < start {
        return Err(Error::Usage(format!(
            "--end ({end}) is before --start ({start})"
        )));
    }
    let step = match &spec.step {
        Some(s) => crate::manifest::duration::parse(s)
            .map_err(|e| Error::Usage(format!("--step: {e}")))?
            .0
            .as_secs_f64(),
        None => ((end - start) / 250.0).max(1.0).round(),
    };
    let answer = promql::range(
        expr,
        &store,
        (start * 1000.0).round() as i64,
        (end * 1000.0).round() as i64,
        ((step * 1000.0).round() as i64).max(1),
        &opts,
    )
    .map_err(bad)?;
    Ok(render_range(&answer.value, output) + &notes(&answer.annotations, output))
}

/// The load's start and the end of collection, from summary.json (else the last hour).
fn window(dir: &Path) -> (f64, f64) {
    let stored = crate::run::dir::RunDir::open(dir).read().ok();
    match stored.and_then(|r| r.load_window()) {
        Some(w) => w,
        None => {
            let now = crate::clock::now();
            (now - 3600.0, now)
        }
    }
}

/// Unix seconds, or `+DURATION` after `origin`.
fn parse_time(s: &str, origin: f64) -> Result<f64, String> {
    if let Some(d) = s.strip_prefix('+') {
        return crate::manifest::duration::parse(d)
            .map(|d| origin + d.0.as_secs_f64())
            .map_err(|e| format!("`{s}`: {e}"));
    }
    s.parse::<f64>()
        .ok()
        .filter(|t| t.is_finite())
        .ok_or_else(|| format!("`{s}` is not Unix seconds or `+DURATION` (from the load's start)"))
}

fn labels_text(l: &Labels) -> String {
    promql::format_labels(l)
}

fn render_instant(v: &Value, t: f64, output: QueryOutput) -> String {
    let mut o = String::new();
    match (v, output) {
        (Value::Scalar(x), QueryOutput::Json) => {
            let _ = write!(
                o,
                "{}",
                serde_json::json!({"resultType": "scalar", "result": [t, value_text(*x)]})
            );
            o.push('\n');
        }
        (Value::String(x), QueryOutput::Json) => {
            let _ = writeln!(
                o,
                "{}",
                serde_json::json!({"resultType": "string", "result": [t, x]})
            );
        }
        (Value::Scalar(x), QueryOutput::Csv) => {
            let _ = writeln!(o, "timestamp,labels,value\n{t},,{}", value_text(*x));
        }
        (Value::Scalar(x), QueryOutput::Table) => {
            let _ = writeln!(o, "scalar {}", value_text(*x));
        }
        (Value::String(x), _) => {
            let _ = writeln!(o, "{x}");
        }
        (Value::Vector(samples), QueryOutput::Json) => {
            let result: Vec<serde_json::Value> = samples
                .iter()
                .map(|s| {
                    let metric = metric_json(&s.labels);
                    serde_json::json!({"metric": metric, "value": [t, value_text(s.value)]})
                })
                .collect();
            let _ = writeln!(
                o,
                "{}",
                serde_json::json!({"resultType": "vector", "result": result})
            );
        }
        (Value::Vector(samples), QueryOutput::Csv) => {
            o.push_str("timestamp,labels,value\n");
            for s in samples {
                let _ = writeln!(
                    o,
                    "{t},{},{}",
                    csv_field(&labels_text(&s.labels)),
                    value_text(s.value)
                );
            }
        }
        (Value::Vector(samples), QueryOutput::Table) => {
            if samples.is_empty() {
                o.push_str("(no series)\n");
            }
            let width = samples
                .iter()
                .map(|s| labels_text(&s.labels).chars().count())
                .max()
                .unwrap_or(0);
            for s in samples {
                let _ = writeln!(
                    o,
                    "{:<width$}  {}",
                    labels_text(&s.labels),
                    value_text(s.value)
                );
            }
        }
        (Value::Matrix(series), _) => {
            let m: Vec<promql::RangeSeries> = series.clone();
            o.push_str(&render_range(&m, output));
        }
    }
    o
}

fn render_range(series: &[promql::RangeSeries], output: QueryOutput) -> String {
    let mut o = String::new();
    match output {
        QueryOutput::Json => {
            let result: Vec<serde_json::Value> = series
                .iter()
                .map(|s| {
                    let metric = metric_json(&s.labels);
                    let values: Vec<serde_json::Value> = s
                        .points
                        .iter()
                        .map(|(t, v)| serde_json::json!([*t as f64 / 1000.0, value_text(*v)]))
                        .collect();
                    serde_json::json!({"metric": metric, "values": values})
                })
                .collect();
            let _ = writeln!(
                o,
                "{}",
                serde_json::json!({"resultType": "matrix", "result": result})
            );
        }
        QueryOutput::Csv => {
            o.push_str("timestamp,labels,value\n");
            for s in series {
                let l = csv_field(&labels_text(&s.labels));
                for (t, v) in &s.points {
                    let _ = writeln!(o, "{},{l},{}", *t as f64 / 1000.0, value_text(*v));
                }
            }
        }
        QueryOutput::Table => {
            if series.is_empty() {
                o.push_str("(no series)\n");
            }
            for s in series {
                let _ = writeln!(o, "{}", labels_text(&s.labels));
                for (t, v) in &s.points {
                    let _ = writeln!(o, "  {:.3}  {}", *t as f64 / 1000.0, value_text(*v));
                }
            }
        }
    }
    o
}

/// A label set as the `metric` object of Prometheus' API answers.
fn metric_json(labels: &Labels) -> serde_json::Map<String, serde_json::Value> {
    labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect()
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Warnings and infos after the answer (on stderr for machine formats).
fn notes(a: &[Annotation], output: QueryOutput) -> String {
    let mut o = String::new();
    for n in a {
        let text = match n {
            Annotation::Warning(m) | Annotation::Info(m) => m,
        };
        if output == QueryOutput::Table {
            let _ = writeln!(o, "# {text}");
        } else {
            eprintln!("soy: {text}");
        }
    }
    o
}
