//! The campaign report's data, pure: the runs as a table with their figures and verdicts,
//! each configuration's repetitions reduced to mean and min–max, throughput and p95 against
//! load per series with error bars, the USL fit drawn over the points, the latency knee, the
//! capacity curve of a search, and the best configuration per SLO.

use std::collections::BTreeMap;

use plotters::prelude::*;
use serde::Serialize;

use super::ReportError;
use super::charts::{COLORS, draw_err};
use crate::analysis::usl::{self, Fit, Point};
use crate::campaign::points::{label, text};
use crate::campaign::record::{CampaignRecord, RunEntry};

/// p95 above this many times its level at the lowest load is the latency knee.
pub const KNEE_FACTOR: f64 = 2.0;

/// Everything the campaign templates show.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignView {
    pub experiment: String,
    pub description: Option<String>,
    pub campaign_id: String,
    pub kind: String,
    pub status: String,
    pub parameters: Vec<String>,
    pub seed: u64,
    pub order: String,
    pub redeploy: String,
    pub repeat: u32,
    pub runs: Vec<RunRow>,
    pub passed: usize,
    pub slo_names: Vec<String>,
    pub configurations: Vec<ConfigRow>,
    /// What the load axis is: `users`, `rate`, or the parameter the charts put on x.
    pub axis: Option<String>,
    pub series: Vec<SeriesView>,
    pub best: Vec<Best>,
    pub searches: Vec<SearchView>,
    pub wall_s: f64,
    pub load_s: f64,
    /// Wall time not spent sending load: deploys, readiness, cooldowns, collects, pauses.
    pub overhead_s: f64,
    /// SVG charts: throughput, p95, USL, capacity (those that apply).
    pub charts: Vec<Chart>,
    /// System series against application series across the finished points (set by the
    /// writer, which reads the points' runs).
    pub correlation: Option<crate::analysis::signals::Correlation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub title: String,
    pub svg: String,
    pub file: String,
}

/// One run in the table.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub id: String,
    pub href: String,
    pub configuration: String,
    pub repetition: u32,
    pub values: Vec<String>,
    pub load: f64,
    pub status: String,
    pub rps: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub error_rate: Option<f64>,
    /// Per SLO name (in `slo_names` order): `pass`, `fail` or `–`.
    pub slos: Vec<String>,
    pub deployed: bool,
}

/// A statistic over a configuration's repetitions.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Spread {
    fn of(xs: &[f64]) -> Option<Spread> {
        let xs: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        if xs.is_empty() {
            return None;
        }
        Some(Spread {
            mean: xs.iter().sum::<f64>() / xs.len() as f64,
            min: xs.iter().copied().fold(f64::INFINITY, f64::min),
            max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            n: xs.len(),
        })
    }
}

/// One configuration, its repetitions reduced.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigRow {
    pub id: String,
    pub values: Vec<String>,
    pub runs: usize,
    pub passed: usize,
    pub load: f64,
    pub rps: Option<Spread>,
    pub p95_ms: Option<Spread>,
    pub error_rate: Option<Spread>,
    /// SLO name → met in every repetition.
    pub slos_met: BTreeMap<String, bool>,
}

/// The configurations that differ only in the load axis, as one line on the charts.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesView {
    pub name: String,
    /// By increasing load.
    pub points: Vec<SeriesPoint>,
    pub fit: Option<Fit>,
    /// The concurrency the fit counts: `users` or `in-flight requests`.
    pub fit_over: String,
    /// The points the fit was made from, one per run: (concurrency, throughput).
    #[serde(skip)]
    pub fit_points: Vec<Point>,
    pub knee: Option<f64>,
}

/// One load of a series: throughput and p95 over its repetitions.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesPoint {
    pub load: f64,
    pub rps: Option<Spread>,
    pub p95_ms: Option<Spread>,
}

/// The best configuration for one SLO: the highest mean throughput among those meeting it in
/// every repetition.
#[derive(Debug, Clone, Serialize)]
pub struct Best {
    pub slo: String,
    pub configuration: Option<String>,
    pub values: Vec<String>,
    pub rps: Option<f64>,
    pub p95_ms: Option<f64>,
    pub met_by: usize,
}

/// One configuration's capacity search.
#[derive(Debug, Clone, Serialize)]
pub struct SearchView {
    pub configuration: String,
    pub values: Vec<String>,
    pub over: String,
    pub capacity: Option<f64>,
    pub done: bool,
    pub probes: Vec<ProbeRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProbeRow {
    pub load: f64,
    pub met: bool,
    pub why: String,
    pub runs: Vec<String>,
}

/// The view of a campaign's record.
pub fn view(rec: &CampaignRecord) -> Result<CampaignView, ReportError> {
    let slo_names = slo_names(&rec.runs);
    let vals = |values: &serde_json::Map<String, serde_json::Value>| -> Vec<String> {
        rec.parameters
            .iter()
            .map(|p| values.get(p).map_or("–".into(), text))
            .collect()
    };
    let mut runs: Vec<&RunEntry> = rec.runs.iter().collect();
    runs.sort_by(|a, b| {
        (a.configuration.as_str(), a.load, a.repetition)
            .partial_cmp(&(b.configuration.as_str(), b.load, b.repetition))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let rows: Vec<RunRow> = runs
        .iter()
        .map(|r| RunRow {
            id: r.id.clone(),
            href: format!("{}/report.html", r.id),
            configuration: r.configuration.clone(),
            repetition: r.repetition,
            values: vals(&r.values),
            load: r.load,
            status: r.status.clone(),
            rps: r.figures.as_ref().map(|f| f.rps),
            p50_ms: r.figures.as_ref().map(|f| f.p50_ms),
            p95_ms: r.figures.as_ref().map(|f| f.p95_ms),
            p99_ms: r.figures.as_ref().map(|f| f.p99_ms),
            error_rate: r.figures.as_ref().map(|f| f.error_rate),
            slos: slo_names
                .iter()
                .map(|n| match r.slos.iter().find(|s| &s.name == n) {
                    Some(s) if s.passed => "pass".into(),
                    Some(_) => "fail".into(),
                    None => "–".into(),
                })
                .collect(),
            deployed: r.deployed,
        })
        .collect();
    // Configurations: a sweep's are its matrix points; a search's probes are grouped by
    // configuration and load.
    let mut groups: BTreeMap<(String, u64), Vec<&RunEntry>> = BTreeMap::new();
    for r in &rec.runs {
        if r.finished() {
            groups
                .entry((r.configuration.clone(), r.load.to_bits()))
                .or_default()
                .push(r);
        }
    }
    let configurations: Vec<ConfigRow> = groups
        .iter()
        .map(|((id, _), rs)| config_row(id, rs, &slo_names, &vals(&rs[0].values)))
        .collect();
    let axis = axis(rec);
    let series = series(rec, &groups, axis.as_deref());
    let best = slo_names.iter().map(|n| best(n, &configurations)).collect();
    let searches: Vec<SearchView> = rec
        .searches
        .iter()
        .map(|s| SearchView {
            configuration: s.configuration.clone(),
            values: rec
                .configurations
                .iter()
                .find(|c| c.id == s.configuration)
                .map(|c| vals(&c.values))
                .unwrap_or_default(),
            over: s.over.clone(),
            capacity: s.capacity,
            done: s.done,
            probes: s
                .probes
                .iter()
                .map(|p| ProbeRow {
                    load: p.load,
                    met: p.met,
                    why: p.why.clone(),
                    runs: p.runs.clone(),
                })
                .collect(),
        })
        .collect();
    let wall_s = rec.ended_at.unwrap_or_else(crate::clock::now) - rec.started_at;
    let load_s: f64 = rec.runs.iter().map(|r| r.load_s).sum();
    let mut v = CampaignView {
        experiment: rec.experiment.clone(),
        description: rec.description.clone(),
        campaign_id: rec.campaign_id.clone(),
        kind: rec.kind.clone(),
        status: rec.status.clone(),
        parameters: rec.parameters.clone(),
        seed: rec.seed,
        order: rec.order.clone(),
        redeploy: rec.redeploy.clone(),
        repeat: rec.repeat,
        passed: rec.runs.iter().filter(|r| r.status == "passed").count(),
        runs: rows,
        slo_names,
        configurations,
        axis,
        series,
        best,
        searches,
        wall_s,
        load_s,
        overhead_s: (wall_s - load_s).max(0.0),
        charts: Vec::new(),
        correlation: None,
    };
    v.charts = charts(&v, rec)?;
    Ok(v)
}

fn slo_names(runs: &[RunEntry]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in runs {
        for s in &r.slos {
            if !names.contains(&s.name) {
                names.push(s.name.clone());
            }
        }
    }
    names
}

fn config_row(id: &str, rs: &[&RunEntry], slos: &[String], values: &[String]) -> ConfigRow {
    let f = |g: fn(&crate::campaign::record::Figures) -> f64| {
        Spread::of(
            &rs.iter()
                .filter_map(|r| r.figures.as_ref().map(g))
                .collect::<Vec<_>>(),
        )
    };
    ConfigRow {
        id: id.to_string(),
        values: values.to_vec(),
        runs: rs.len(),
        passed: rs.iter().filter(|r| r.status == "passed").count(),
        load: rs[0].load,
        rps: f(|x| x.rps),
        p95_ms: f(|x| x.p95_ms),
        error_rate: f(|x| x.error_rate),
        slos_met: slos
            .iter()
            .map(|n| {
                let met = rs
                    .iter()
                    .all(|r| r.slos.iter().any(|s| &s.name == n && s.passed));
                (n.clone(), met)
            })
            .collect(),
    }
}

/// The parameter on the charts' x axis: the load (`load.users`, `load.rate`, a search's
/// load), else the first parameter whose values are all numbers.
fn axis(rec: &CampaignRecord) -> Option<String> {
    if rec.kind == "search" {
        return rec.searches.first().map(|s| format!("load.{}", s.over));
    }
    for p in ["load.users", "load.rate"] {
        if rec.parameters.iter().any(|x| x == p) {
            return Some(p.into());
        }
    }
    rec.parameters
        .iter()
        .find(|p| {
            rec.configurations
                .iter()
                .all(|c| c.values.get(*p).is_some_and(serde_json::Value::is_number))
        })
        .cloned()
}

fn series(
    rec: &CampaignRecord,
    groups: &BTreeMap<(String, u64), Vec<&RunEntry>>,
    axis: Option<&str>,
) -> Vec<SeriesView> {
    let Some(axis) = axis else { return Vec::new() };
    let mut by: BTreeMap<String, Vec<&Vec<&RunEntry>>> = BTreeMap::new();
    for rs in groups.values() {
        let name: Vec<String> = rec
            .parameters
            .iter()
            .filter(|p| p.as_str() != axis)
            .map(|p| {
                format!(
                    "{}={}",
                    label(p),
                    rs[0].values.get(p).map_or("–".into(), text)
                )
            })
            .collect();
        let name = if name.is_empty() {
            "all".to_string()
        } else {
            name.join(" ")
        };
        by.entry(name).or_default().push(rs);
    }
    let x_of = |r: &RunEntry| -> Option<f64> {
        r.values
            .get(axis)
            .and_then(serde_json::Value::as_f64)
            .or(if axis.starts_with("load.") {
                Some(r.load)
            } else {
                None
            })
    };
    by.into_iter()
        .map(|(name, gs)| {
            let mut points: Vec<SeriesPoint> = gs
                .iter()
                .filter_map(|rs| {
                    let x = x_of(rs[0])?;
                    let rps: Vec<f64> = rs
                        .iter()
                        .filter_map(|r| r.figures.as_ref().map(|f| f.rps))
                        .collect();
                    let p95: Vec<f64> = rs
                        .iter()
                        .filter_map(|r| r.figures.as_ref().map(|f| f.p95_ms))
                        .collect();
                    Some(SeriesPoint {
                        load: x,
                        rps: Spread::of(&rps),
                        p95_ms: Spread::of(&p95),
                    })
                })
                .collect();
            points.sort_by(|a, b| a.load.total_cmp(&b.load));
            // USL: throughput against users (closed model) or requests in flight (open).
            let users = axis == "load.users";
            let fit_points: Vec<Point> = gs
                .iter()
                .flat_map(|rs| rs.iter())
                .filter_map(|r| {
                    let f = r.figures.as_ref()?;
                    let n = if users { x_of(r)? } else { f.in_flight };
                    Some(Point { n, x: f.rps })
                })
                .collect();
            let fit = if axis.starts_with("load.") {
                usl::fit(&fit_points)
            } else {
                None
            };
            let lat: Vec<(f64, f64)> = gs
                .iter()
                .flat_map(|rs| rs.iter())
                .filter_map(|r| Some((x_of(r)?, r.figures.as_ref()?.p95_ms)))
                .collect();
            SeriesView {
                name,
                points,
                fit,
                fit_over: if users {
                    "users".into()
                } else {
                    "in-flight requests".into()
                },
                fit_points,
                knee: usl::knee(&lat, KNEE_FACTOR),
            }
        })
        .collect()
}

fn best(slo: &str, configs: &[ConfigRow]) -> Best {
    let meeting: Vec<&ConfigRow> = configs
        .iter()
        .filter(|c| c.slos_met.get(slo) == Some(&true))
        .collect();
    let top = meeting.iter().max_by(|a, b| {
        let r = |c: &ConfigRow| c.rps.map_or(0.0, |s| s.mean);
        r(a).total_cmp(&r(b))
    });
    Best {
        slo: slo.to_string(),
        configuration: top.map(|c| c.id.clone()),
        values: top.map(|c| c.values.clone()).unwrap_or_default(),
        rps: top.and_then(|c| c.rps.map(|s| s.mean)),
        p95_ms: top.and_then(|c| c.p95_ms.map(|s| s.mean)),
        met_by: meeting.len(),
    }
}

/// A point with an error bar.
struct Bar {
    x: f64,
    mean: f64,
    lo: f64,
    hi: f64,
}

fn charts(v: &CampaignView, rec: &CampaignRecord) -> Result<Vec<Chart>, ReportError> {
    let mut out = Vec::new();
    let Some(axis) = v.axis.as_deref() else {
        return Ok(out);
    };
    let x_label = label(axis);
    let bars = |pick: fn(&SeriesPoint) -> Option<Spread>| -> Vec<(String, Vec<Bar>)> {
        v.series
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.points
                        .iter()
                        .filter_map(|p| {
                            pick(p).map(|sp| Bar {
                                x: p.load,
                                mean: sp.mean,
                                lo: sp.min,
                                hi: sp.max,
                            })
                        })
                        .collect(),
                )
            })
            .collect()
    };
    let tput = bars(|p| p.rps);
    if tput.iter().any(|(_, b)| !b.is_empty()) {
        let curves: Vec<(String, Vec<(f64, f64)>)> = if axis == "load.users" {
            v.series
                .iter()
                .filter_map(|s| {
                    let f = s.fit.as_ref()?;
                    let hi = s.points.last()?.load * 1.25;
                    let pts = (0..=80).map(|i| {
                        let n = 1.0 + (hi - 1.0) * f64::from(i) / 80.0;
                        (n, usl::model(f.lambda, f.sigma, f.kappa, n))
                    });
                    Some((
                        format!("USL fit {} (σ {:.3}, κ {:.5})", s.name, f.sigma, f.kappa),
                        pts.collect(),
                    ))
                })
                .collect()
        } else {
            Vec::new()
        };
        out.push(Chart {
            title: "Throughput against load (mean, min–max over repetitions)".into(),
            svg: xy(
                "Throughput against load",
                &x_label,
                "requests per second",
                &tput,
                &curves,
            )?,
            file: "throughput.svg".into(),
        });
    }
    let p95 = bars(|p| p.p95_ms);
    if p95.iter().any(|(_, b)| !b.is_empty()) {
        out.push(Chart {
            title: "p95 latency against load (mean, min–max over repetitions)".into(),
            svg: xy("p95 against load", &x_label, "p95 (ms)", &p95, &[])?,
            file: "p95.svg".into(),
        });
    }
    // The USL over in-flight requests when the load axis is not users.
    if axis != "load.users" && v.series.iter().any(|s| s.fit.is_some()) {
        let mut scatter = Vec::new();
        let mut curves = Vec::new();
        for s in &v.series {
            let Some(f) = &s.fit else { continue };
            // This series' own runs, as the fit saw them.
            let pts: Vec<Bar> = s
                .fit_points
                .iter()
                .map(|p| Bar {
                    x: p.n,
                    mean: p.x,
                    lo: p.x,
                    hi: p.x,
                })
                .collect();
            let hi = pts.iter().map(|b| b.x).fold(1.0, f64::max) * 1.25;
            curves.push((
                format!("USL fit {}", s.name),
                (0..=80)
                    .map(|i| {
                        let n = 0.1 + hi * f64::from(i) / 80.0;
                        (n, usl::model(f.lambda, f.sigma, f.kappa, n))
                    })
                    .collect(),
            ));
            scatter.push((s.name.clone(), pts));
        }
        out.push(Chart {
            title: "Throughput against requests in flight, with the USL fit".into(),
            svg: xy(
                "USL over requests in flight",
                "requests in flight",
                "requests per second",
                &scatter,
                &curves,
            )?,
            file: "usl.svg".into(),
        });
    }
    if !v.searches.is_empty() {
        let first = v.parameters.first();
        let pts: Vec<Bar> = v
            .searches
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let x = first
                    .and_then(|p| {
                        rec.configurations
                            .iter()
                            .find(|c| c.id == s.configuration)?
                            .values
                            .get(p)?
                            .as_f64()
                    })
                    .unwrap_or(i as f64 + 1.0);
                s.capacity.map(|c| Bar {
                    x,
                    mean: c,
                    lo: c,
                    hi: c,
                })
            })
            .collect();
        if !pts.is_empty() {
            let over = v.searches[0].over.clone();
            out.push(Chart {
                title: format!("Capacity: the highest load ({over}) that meets the SLOs"),
                svg: xy(
                    "Capacity curve",
                    &first.map_or("configuration".into(), |p| label(p)),
                    &format!("highest {over} met"),
                    &[("capacity".into(), pts)],
                    &[],
                )?,
                file: "capacity.svg".into(),
            });
        }
    }
    Ok(out)
}

/// Points with error bars joined per series, and curves; returns the SVG text.
fn xy(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<Bar>)],
    curves: &[(String, Vec<(f64, f64)>)],
) -> Result<String, ReportError> {
    let xs = series
        .iter()
        .flat_map(|(_, b)| b.iter().map(|p| p.x))
        .chain(curves.iter().flat_map(|(_, c)| c.iter().map(|p| p.0)));
    let x_max = xs.fold(0.0f64, f64::max).max(1.0) * 1.05;
    let ys = series
        .iter()
        .flat_map(|(_, b)| b.iter().map(|p| p.hi))
        .chain(curves.iter().flat_map(|(_, c)| c.iter().map(|p| p.1)));
    let y_max = ys
        .filter(|y| y.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.12;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(draw_err)?;
        let cap = x_max / 150.0;
        for (i, (name, bars)) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    bars.iter().map(|b| (b.x, b.mean)),
                    color.stroke_width(2),
                ))
                .map_err(draw_err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    bars.iter()
                        .map(|b| Circle::new((b.x, b.mean), 3, color.filled())),
                )
                .map_err(draw_err)?;
            for b in bars.iter().filter(|b| b.hi > b.lo) {
                chart
                    .draw_series([
                        PathElement::new(vec![(b.x, b.lo), (b.x, b.hi)], color.stroke_width(1)),
                        PathElement::new(
                            vec![(b.x - cap, b.lo), (b.x + cap, b.lo)],
                            color.stroke_width(1),
                        ),
                        PathElement::new(
                            vec![(b.x - cap, b.hi), (b.x + cap, b.hi)],
                            color.stroke_width(1),
                        ),
                    ])
                    .map_err(draw_err)?;
            }
        }
        for (i, (name, pts)) in curves.iter().enumerate() {
            let color = COLORS[i % COLORS.len()].mix(0.6);
            chart
                .draw_series(DashedLineSeries::new(
                    pts.iter().copied().filter(|p| p.1.is_finite()),
                    6,
                    4,
                    color.stroke_width(2),
                ))
                .map_err(draw_err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::points::configs;
    use crate::campaign::record::{Figures, SloOutcome};
    use serde_json::json;

    fn entry(
        cfg: &str,
        values: serde_json::Value,
        rep: u32,
        rps: f64,
        p95: f64,
        pass: bool,
    ) -> RunEntry {
        RunEntry {
            id: format!("{cfg}-r{rep}"),
            configuration: cfg.into(),
            repetition: rep,
            values: values.as_object().cloned().unwrap_or_default(),
            load: values["load.users"].as_f64().unwrap_or(0.0),
            status: if pass { "passed" } else { "failed" }.into(),
            exit_code: u8::from(!pass),
            started_at: 0.0,
            ended_at: 10.0,
            load_s: 8.0,
            deployed: rep == 1,
            figures: Some(Figures {
                requests: 100,
                failures: 0,
                rps,
                error_rate: 0.0,
                mean_ms: p95 / 2.0,
                p50_ms: p95 / 2.0,
                p95_ms: p95,
                p99_ms: p95,
                in_flight: rps * p95 / 2000.0,
            }),
            slos: vec![SloOutcome {
                name: "fast".into(),
                passed: pass,
                observed: Some(p95),
                threshold: "<= 50ms".into(),
                unit: "ms".into(),
            }],
            reason: None,
        }
    }

    fn record() -> CampaignRecord {
        let params = vec![
            ("tier".to_string(), vec![json!("a"), json!("b")]),
            (
                "load.users".to_string(),
                vec![json!(1), json!(2), json!(4), json!(8)],
            ),
        ];
        let cs = configs(&params);
        let mut runs = Vec::new();
        for c in &cs {
            let n = c.values["load.users"].as_f64().unwrap_or(1.0);
            let b = c.values["tier"] == json!("b");
            for rep in 1..=2 {
                let x = usl::model(if b { 200.0 } else { 100.0 }, 0.05, 0.01, n)
                    * if rep == 1 { 0.98 } else { 1.02 };
                let p95 = if n >= 8.0 { 60.0 } else { 10.0 + n };
                runs.push(entry(
                    &c.id,
                    serde_json::Value::Object(c.values.clone()),
                    rep,
                    x,
                    p95,
                    p95 <= 50.0,
                ));
            }
        }
        CampaignRecord {
            soy_version: "0".into(),
            experiment: "t".into(),
            description: None,
            campaign_id: "c".into(),
            kind: "sweep".into(),
            status: "complete".into(),
            manifest_path: "m.yaml".into(),
            manifest_dir: ".".into(),
            parameters: params.iter().map(|p| p.0.clone()).collect(),
            repeat: 2,
            order: "sequential".into(),
            seed: 1,
            redeploy: "per_point".into(),
            started_at: 0.0,
            ended_at: Some(200.0),
            configurations: cs,
            runs,
            searches: Vec::new(),
        }
    }

    #[test]
    fn repetitions_reduce_to_spreads_and_series_follow_the_load() {
        let v = view(&record()).expect("view");
        assert_eq!(v.runs.len(), 16);
        assert_eq!(v.configurations.len(), 8);
        assert_eq!(v.axis.as_deref(), Some("load.users"));
        let names: Vec<&str> = v.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["tier=a", "tier=b"]);
        let a = &v.series[0];
        let loads: Vec<f64> = a.points.iter().map(|p| p.load).collect();
        assert_eq!(loads, [1.0, 2.0, 4.0, 8.0]);
        let r = a.points[0].rps.expect("rps");
        assert_eq!(r.n, 2);
        assert!(
            (r.mean - 100.0).abs() < 1e-9 && r.min < r.mean && r.max > r.mean,
            "{r:?}"
        );
        // p95 doubles from the lowest load at 8 users.
        assert_eq!(a.knee, Some(8.0));
        let f = a.fit.as_ref().expect("a fit over 4 loads");
        assert!((f.sigma - 0.05).abs() < 0.02 && f.r2 > 0.95, "{f:?}");
        assert_eq!(v.overhead_s, 200.0 - 16.0 * 8.0);
        let files: Vec<&str> = v.charts.iter().map(|c| c.file.as_str()).collect();
        assert_eq!(files, ["throughput.svg", "p95.svg"]);
    }

    #[test]
    fn the_best_configuration_serves_most_while_meeting_the_slo_every_time() {
        let mut rec = record();
        // One repetition of tier b at 4 users fails: that point no longer counts as met.
        let r = rec
            .runs
            .iter_mut()
            .find(|r| r.id.contains("tier-b_users-4") && r.repetition == 2)
            .expect("run");
        r.slos[0].passed = false;
        let v = view(&rec).expect("view");
        let b = &v.best[0];
        assert_eq!(b.slo, "fast");
        assert_eq!(b.configuration.as_deref(), Some("p6-tier-b_users-2"));
        assert_eq!(b.met_by, 5);
    }
}
