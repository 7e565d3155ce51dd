//! Rendering a run's report: the data the templates see, charts, and the HTML, Markdown and
//! JUnit outputs. Templates are built in (`templates/*.j2`) and replaceable per manifest;
//! a `.hbs` template is rendered with Handlebars.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use super::charts::{self, Overlay};
use super::summary::Summary;
use super::web::Charting;
use super::{marks, mermaid, page, plots, relations, scaling};
use crate::analysis::series::{EventKind, QueryResult};
use crate::load::results::{FailureGroup, Results};
use crate::manifest::model::Section;

pub const HTML_TEMPLATE: &str = include_str!("../../templates/report.html.j2");
pub const MD_TEMPLATE: &str = include_str!("../../templates/report.md.j2");

/// One chart: its file under `charts/`, title and SVG.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub file: String,
    pub title: String,
    pub svg: String,
}

/// A chart as the page places it: its plot's id, title, and SVG for a static page.
#[derive(Debug, Clone, Serialize)]
pub struct ChartView {
    pub id: String,
    pub title: String,
    pub svg: Option<String>,
}

/// What the page inlines for its interactive charts (empty strings without them).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Web {
    pub library: String,
    pub library_css: String,
    pub script: String,
    /// The plots, bands and markers as JSON (`page::json`).
    pub data: String,
    /// Why the page has static charts only.
    pub static_why: Option<String>,
}

/// A correlation finding's interactive chart: its words and its two panels.
#[derive(Debug, Clone, Serialize)]
pub struct RelationView {
    pub title: String,
    pub plots: Vec<ChartView>,
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
    /// Each controller's interactive panels, by service.
    pub scaling_views: BTreeMap<String, Vec<ChartView>>,
    /// The strongest correlation findings' charts (static), in the order of the findings.
    pub relation_charts: Vec<Chart>,
    /// Their interactive panels (two each), in the same order.
    pub relation_views: Vec<RelationView>,
    /// The page's charts by section (`load`, `application`, `system`, `scaling`), with their
    /// SVG when the page has no interactive charts.
    pub sections: BTreeMap<Section, Vec<ChartView>>,
    /// The interactive charts' code and data, or why there are none.
    pub web: Web,
    /// The page's styles.
    pub style: String,
    /// The Markdown's charts: the load's, then the metric queries'.
    pub mermaid: Vec<mermaid::Block>,
    /// Mermaid charts left out to keep the Markdown within a comment's size.
    pub trimmed: usize,
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
    /// Interactive charts or static ones (`web::charting()` for this build's).
    pub charting: Charting,
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
    let mut plots = i.results.map(plots::load).unwrap_or_default();
    plots.extend(plots::metrics(i.metrics, i.load_start.unwrap_or(0.0)));
    let interactive = matches!(i.charting, Charting::Interactive { .. });
    let mut charts = Vec::new();
    let mut sections: BTreeMap<Section, Vec<ChartView>> = BTreeMap::new();
    for p in &plots {
        let Ok(svg) = charts::lines(&p.title, &p.y_label, p.lines.clone(), &overlay) else {
            continue;
        };
        sections.entry(p.section).or_default().push(ChartView {
            id: p.id.clone(),
            title: p.title.clone(),
            svg: (!interactive).then(|| svg.clone()),
        });
        charts.push(Chart {
            file: format!("{}.svg", p.id),
            title: p.title.clone(),
            svg,
        });
    }
    let mut scaling_charts = BTreeMap::new();
    let mut scaling_views = BTreeMap::new();
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
        // The panels are computed once: drawn as the static chart, then handed to the page.
        let panels = scaling::panels(r, i.results);
        if let Ok(svg) = charts::stacked(&title, &panels, &overlay) {
            let file = format!("scaling-{}.svg", file_safe(&r.service));
            scaling_charts.insert(r.service.clone(), Chart { file, title, svg });
        }
        if interactive {
            let panels = plots::scaling(r, panels);
            let views = panels
                .iter()
                .map(|p| ChartView {
                    id: p.id.clone(),
                    title: p.title.clone(),
                    svg: None,
                })
                .collect();
            scaling_views.insert(r.service.clone(), views);
            plots.extend(panels);
        }
    }
    let mut relation_charts = Vec::new();
    let mut relation_views = Vec::new();
    let pairs = match (i.results, &i.summary.correlation) {
        (Some(r), Some(c)) if !c.findings.is_empty() => {
            crate::analysis::signals::build(r, i.metrics, 1)
                .map(|s| relations::pairs(c, &s))
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    for (n, pair) in pairs.into_iter().enumerate() {
        let overlay = Overlay {
            bands: &bands,
            marks: &events,
        };
        if let Ok(svg) = charts::stacked(&pair.title, &relations::panels(&pair), &overlay) {
            relation_charts.push(Chart {
                file: format!("relation-{n}.svg"),
                title: pair.title.clone(),
                svg,
            });
        }
        if interactive {
            relation_views.push(RelationView {
                title: pair.title.clone(),
                plots: pair
                    .plots
                    .iter()
                    .map(|p| ChartView {
                        id: p.id.clone(),
                        title: p.title.clone(),
                        svg: None,
                    })
                    .collect(),
            });
            plots.extend(pair.plots);
        }
    }
    let mermaid = plots
        .iter()
        .filter(|p| !p.id.starts_with("relation-"))
        .filter(|p| p.id != "load" && !p.id.starts_with("scaling-"))
        .filter_map(mermaid::block)
        .collect();
    let web = match i.charting {
        Charting::Interactive { library, css } => Web {
            library: library.into(),
            library_css: css.into(),
            script: super::web::SCRIPT.into(),
            data: page::json(&page::Data {
                origin: i.load_start,
                bands: &bands,
                marks: &events,
                plots: &plots,
            }),
            static_why: None,
        },
        Charting::Static { why } => Web {
            static_why: Some(why.into()),
            ..Web::default()
        },
    };
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
        scaling_views,
        relation_charts,
        relation_views,
        sections,
        web,
        style: super::web::STYLE.into(),
        mermaid,
        trimmed: 0,
        phases,
        labels: i.labels,
        manifest: i.manifest,
        command_line: i.command_line,
        host: i.host,
        generated_at: crate::clock::iso(crate::clock::now() as u64),
        summary: i.summary,
    }
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
pub fn render<T: Serialize>(
    data: &T,
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
    env.add_filter("human", |v: f64, unit: String| -> String {
        super::units::human(v, &unit)
    });
    env.add_filter("num", |v: f64| -> String {
        if v.fract() == 0.0 && v.abs() < 1e15 {
            format!("{v:.0}")
        } else {
            format!("{v}")
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

/// GitHub's limit on a comment's size, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// The Markdown report, within a pull-request comment's size: Mermaid charts are left out
/// from the last while it is longer (the report says how many), then the text is cut.
pub fn markdown(data: &ReportData, custom: Option<&Path>) -> Result<String, super::ReportError> {
    let mut data = data.clone();
    loop {
        let text = render(&data, "report.md.j2", MD_TEMPLATE, custom)?;
        if text.chars().count() <= COMMENT_LIMIT {
            return Ok(text);
        }
        if data.mermaid.pop().is_some() {
            data.trimmed += 1;
            continue;
        }
        let note = "\n\n… cut here to stay within a pull-request comment's 65,536 characters; see report.html.\n";
        let keep = COMMENT_LIMIT - note.chars().count();
        return Ok(text.chars().take(keep).collect::<String>() + note);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::series::Series;

    fn inputs<'a>(metrics: &'a [QueryResult], charting: Charting) -> Inputs<'a> {
        let summary: Summary = serde_json::from_value(serde_json::json!({
            "experiment": "x", "run_id": "r1", "status": "passed", "exit_code": 0,
            "soy_version": "0", "phases": [], "slos": [], "metrics": [], "events": [],
            "warnings": []
        }))
        .expect("a summary");
        Inputs {
            title: "x".into(),
            summary,
            results: None,
            metrics,
            labels: BTreeMap::new(),
            manifest: String::new(),
            command_line: String::new(),
            host: String::new(),
            load_start: Some(100.0),
            warmup_s: 0.0,
            cooldown_s: 0.0,
            charting,
        }
    }

    fn metric(name: &str, label: &str) -> QueryResult {
        QueryResult {
            name: name.into(),
            promql: None,
            unit: Some("bytes".into()),
            series: vec![Series {
                labels: [("service".to_string(), label.to_string())].into(),
                points: vec![(100.0, 1.0), (101.0, 2.0)],
            }],
            section: None,
            missing: None,
            warnings: Vec::new(),
            gaps: Vec::new(),
        }
    }

    #[test]
    fn a_build_without_the_library_keeps_static_charts_and_says_why() {
        let m = [metric("container_memory_usage_bytes", "api")];
        let data = build(inputs(
            &m,
            Charting::Static {
                why: "npm was not found",
            },
        ));
        let html = render(&data, "report.html", HTML_TEMPLATE, None).expect("html");
        assert!(html.contains(
            "Static charts: this soy was built without its charting library (npm was not found)"
        ));
        assert!(html.contains("<svg") && !html.contains("id=\"soy-data\""));
        assert_eq!(data.sections[&Section::System].len(), 1);
    }

    #[test]
    fn an_interactive_page_carries_its_data_escaped_and_no_svg() {
        let m = [metric(
            "container_memory_usage_bytes",
            "<script>alert(1)</script>",
        )];
        let charting = Charting::Interactive {
            library: "/* the library */",
            css: "",
        };
        let data = build(inputs(&m, charting));
        let html = render(&data, "report.html", HTML_TEMPLATE, None).expect("html");
        assert!(html.contains("id=\"plot-metric-00-container_memory_usage_bytes\""));
        assert!(html.contains("/* the library */") && !html.contains("<svg"));
        assert!(
            !html.contains("<script>alert(1)"),
            "a label cannot open a script"
        );
        assert!(html.contains("\\u003cscript>alert(1)\\u003c/script>"));
        // The SVG charts are still written for the Markdown report and charts/.
        assert_eq!(data.charts.len(), 1);
    }
}
