//! Rendering a run's report: the data the templates see, charts, and the HTML, Markdown and
//! JUnit outputs. Templates are built in (`templates/*.j2`) and replaceable per manifest;
//! a `.hbs` template is rendered with Handlebars.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use super::charts::{self, Line, Overlay};
use super::summary::Summary;
use super::{marks, scaling};
use crate::analysis::series::{EventKind, QueryResult};
use crate::load::results::{FailureGroup, Results};
use crate::load::stats::SecondRow;

pub const HTML_TEMPLATE: &str = include_str!("../../templates/report.html.j2");
pub const MD_TEMPLATE: &str = include_str!("../../templates/report.md.j2");

/// One chart: its file under `charts/`, title and SVG.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub file: String,
    pub title: String,
    pub svg: String,
}

/// A phase as the report shows it: offsets from the first phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseRow {
    pub name: String,
    pub offset: f64,
    pub duration: f64,
    pub status: String,
    pub error: Option<String>,
}

/// Everything the templates see.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    pub title: String,
    pub summary: Summary,
    pub failed_slos: usize,
    pub failures: Vec<FailureGroup>,
    pub charts: Vec<Chart>,
    /// Each controller's chart (in the scaling section, not in `charts`), by service.
    pub scaling_charts: BTreeMap<String, Chart>,
    pub phases: Vec<PhaseRow>,
    pub labels: BTreeMap<String, String>,
    pub manifest: String,
    pub command_line: String,
    pub host: String,
    pub generated_at: String,
}

/// Inputs to `build`.
pub struct Inputs<'a> {
    pub title: String,
    pub summary: Summary,
    pub results: Option<&'a Results>,
    pub metrics: &'a [QueryResult],
    pub labels: BTreeMap<String, String>,
    pub manifest: String,
    pub command_line: String,
    pub host: String,
    /// Unix seconds at which the load started (x = 0 of the charts).
    pub load_start: Option<f64>,
    pub warmup_s: f64,
    pub cooldown_s: f64,
}

/// Builds the report data and its charts.
pub fn build(i: Inputs<'_>) -> ReportData {
    let load_s = i.results.map_or(0.0, |r| r.duration_s);
    let bands = marks::bands(&i.summary, load_s, i.warmup_s, i.cooldown_s);
    let events = marks::marks(&i.summary, &[EventKind::Alert]);
    let overlay = Overlay {
        bands: &bands,
        marks: &events,
    };
    let mut charts = Vec::new();
    if let Some(r) = i.results {
        for (file, title, y, lines) in load_charts(r) {
            if let Ok(svg) = charts::lines(title, y, lines, &overlay) {
                charts.push(Chart {
                    file: file.into(),
                    title: title.into(),
                    svg,
                });
            }
        }
    }
    let origin = i.load_start.unwrap_or(0.0);
    for (n, q) in i.metrics.iter().enumerate() {
        // Raw counters are stored, not charted: their rate is.
        if q.series.is_empty() || q.name.ends_with("_total") {
            continue;
        }
        let lines: Vec<Line> = q
            .series
            .iter()
            .map(|s| Line {
                name: s.legend(),
                points: s.points.iter().map(|(t, v)| (t - origin, *v)).collect(),
            })
            .collect();
        let title = match &q.promql {
            Some(p) => format!("{} — {p}", q.name),
            None => q.name.clone(),
        };
        let unit = q.unit.as_deref().unwrap_or("");
        if let Ok(svg) = charts::lines(&q.name, unit, lines, &overlay) {
            charts.push(Chart {
                file: format!("metric-{n:02}-{}.svg", file_safe(&q.name)),
                title,
                svg,
            });
        }
    }
    let mut scaling_charts = BTreeMap::new();
    for r in &i.summary.scaling {
        let mut changes = scaling::changes(r);
        changes.extend(marks::marks(
            &i.summary,
            &[EventKind::Alert, EventKind::Scaling],
        ));
        let overlay = Overlay {
            bands: &bands,
            marks: &changes,
        };
        let title = format!("scaling of {}", r.service);
        if let Ok(svg) = charts::stacked(&title, &scaling::panels(r, i.results), &overlay) {
            let file = format!("scaling-{}.svg", file_safe(&r.service));
            scaling_charts.insert(r.service.clone(), Chart { file, title, svg });
        }
    }
    let first = i.summary.phases.first().map_or(0.0, |p| p.started_at);
    let phases = i
        .summary
        .phases
        .iter()
        .map(|p| PhaseRow {
            name: p.name.clone(),
            offset: p.started_at - first,
            duration: p.ended_at - p.started_at,
            status: format!("{:?}", p.status).to_lowercase(),
            error: p.error.clone(),
        })
        .collect();
    ReportData {
        title: i.title,
        failed_slos: i.summary.slos.iter().filter(|s| !s.passed()).count(),
        failures: i.results.map(|r| r.failures.clone()).unwrap_or_default(),
        charts,
        scaling_charts,
        phases,
        labels: i.labels,
        manifest: i.manifest,
        command_line: i.command_line,
        host: i.host,
        generated_at: crate::clock::iso(crate::clock::now() as u64),
        summary: i.summary,
    }
}

type ChartSpec = (&'static str, &'static str, &'static str, Vec<Line>);

/// The load's charts: users or arrival rate, throughput, latency, and for an open model
/// iterations started and dropped.
fn load_charts(r: &Results) -> Vec<ChartSpec> {
    let at = |f: &dyn Fn(&SecondRow) -> f64| -> Vec<(f64, f64)> {
        r.series
            .iter()
            .map(|row| (row.second as f64 + 1.0, f(row)))
            .collect()
    };
    // Latencies of a second without requests are unknown, not zero.
    let lat = |f: &dyn Fn(&SecondRow) -> f64| -> Vec<(f64, f64)> {
        r.series
            .iter()
            .map(|row| {
                let v = if row.requests == 0 { f64::NAN } else { f(row) };
                (row.second as f64 + 1.0, v)
            })
            .collect()
    };
    let line = |name: &str, points| Line {
        name: name.into(),
        points,
    };
    let open = r.open.is_some();
    let (unit, active, title) = if open {
        (
            "iterations/s",
            "in flight",
            "target rate and iterations in flight",
        )
    } else {
        ("users", "active users", "target and active users")
    };
    let mut specs: Vec<ChartSpec> = vec![
        (
            "load.svg",
            title,
            unit,
            vec![
                line(&format!("target {unit}"), at(&|row| row.target)),
                line(active, at(&|row| row.active as f64)),
            ],
        ),
        (
            "throughput.svg",
            "requests and failures per second",
            "per second",
            vec![
                line("requests/s", at(&|row| row.requests as f64)),
                line("failures/s", at(&|row| row.failures as f64)),
            ],
        ),
        (
            "latency.svg",
            "latency percentiles per second",
            "ms",
            vec![
                line("p50", lat(&|row| row.p50_ms)),
                line("p90", lat(&|row| row.p90_ms)),
                line("p95", lat(&|row| row.p95_ms)),
                line("p99", lat(&|row| row.p99_ms)),
                line("max", lat(&|row| row.max_ms)),
            ],
        ),
    ];
    if open {
        specs.push((
            "open.svg",
            "iterations started and dropped per second",
            "per second",
            vec![
                line("started", at(&|row| row.started.unwrap_or(0) as f64)),
                line("dropped", at(&|row| row.dropped.unwrap_or(0) as f64)),
            ],
        ));
    }
    specs
}

/// A name usable in a file name: letters, digits and `_`, the rest as `_`.
pub fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Renders with a built-in or given template (`name` decides HTML escaping).
pub fn render(
    data: &ReportData,
    name: &str,
    builtin: &str,
    custom: Option<&Path>,
) -> Result<String, super::ReportError> {
    use super::ReportError;
    let (source, name) = match custom {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|source| ReportError::ReadTemplate {
                path: p.to_path_buf(),
                source,
            })?,
            p.file_name()
                .map_or(name.to_string(), |n| n.to_string_lossy().into_owned()),
        ),
        None => (builtin.to_string(), name.to_string()),
    };
    if name.ends_with(".hbs") {
        let mut hb = handlebars::Handlebars::new();
        hb.set_strict_mode(false);
        return hb
            .render_template(&source, data)
            .map_err(|source| ReportError::Handlebars { name, source });
    }
    let mut env = Environment::new();
    env.set_auto_escape_callback(|n| {
        if n.contains(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.add_filter("md", |s: String| -> String {
        s.replace('|', "\\|")
            .replace('\n', " ")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    });
    let fail = |source| ReportError::Template {
        name: name.clone(),
        source,
    };
    env.add_template_owned(name.clone(), source).map_err(fail)?;
    env.get_template(&name)
        .and_then(|t| t.render(data))
        .map_err(fail)
}

/// JUnit XML with one test case per SLO.
pub fn junit(s: &Summary) -> String {
    let esc = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failures = s.slos.iter().filter(|v| !v.passed()).count();
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        esc(&s.experiment),
        s.slos.len()
    );
    for v in &s.slos {
        x.push_str(&format!(
            "    <testcase classname=\"soy.slo\" name=\"{}\">",
            esc(&v.name)
        ));
        if !v.passed() {
            let observed = v
                .observed
                .map_or("no data".to_string(), |o| format!("{o} {}", v.unit));
            x.push_str(&format!(
                "<failure message=\"observed {} , threshold {}\"/>",
                esc(&observed),
                esc(&v.threshold)
            ));
        }
        x.push_str("</testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}
