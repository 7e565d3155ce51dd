//! What a report charts, as plots: the load's, each metric query's (in the section its metric
//! belongs to) and each scaling controller's panels. The same plots become the static SVG
//! charts and the page's interactive ones.

use super::charts::Line;
use super::page::Plot;
use super::units::{self, Unit};
use crate::analysis::series::QueryResult;
use crate::load::results::Results;
use crate::load::stats::SecondRow;
use crate::manifest::model::Section;
use crate::rules::record::ScalingRecord;

/// The load's charts: users or arrival rate, throughput, latency, and for an open model
/// iterations started and dropped.
pub fn load(r: &Results) -> Vec<Plot> {
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
    let specs: Vec<(&str, &str, &str, Unit, Vec<Line>)> = vec![
        (
            "load",
            title,
            unit,
            Unit::Count(unit.into()),
            vec![
                line(&format!("target {unit}"), at(&|row| row.target)),
                line(active, at(&|row| row.active as f64)),
            ],
        ),
        (
            "throughput",
            "requests and failures per second",
            "per second",
            Unit::Rate("/s".into()),
            vec![
                line("requests/s", at(&|row| row.requests as f64)),
                line("failures/s", at(&|row| row.failures as f64)),
            ],
        ),
        (
            "latency",
            "latency percentiles per second",
            "ms",
            Unit::Millis,
            vec![
                line("p50", lat(&|row| row.p50_ms)),
                line("p90", lat(&|row| row.p90_ms)),
                line("p95", lat(&|row| row.p95_ms)),
                line("p99", lat(&|row| row.p99_ms)),
                line("max", lat(&|row| row.max_ms)),
            ],
        ),
    ];
    let mut specs = specs;
    if open {
        specs.push((
            "open",
            "iterations started and dropped per second",
            "per second",
            Unit::Rate("/s".into()),
            vec![
                line("started", at(&|row| row.started.unwrap_or(0) as f64)),
                line("dropped", at(&|row| row.dropped.unwrap_or(0) as f64)),
            ],
        ));
    }
    specs
        .into_iter()
        .map(|(id, title, y, unit, lines)| Plot {
            id: id.into(),
            title: title.into(),
            y_label: y.into(),
            section: Section::Load,
            unit,
            levels: Vec::new(),
            stepped: false,
            lines,
        })
        .collect()
}

/// Built-in series that say nothing over time.
const NOT_CHARTED: [&str; 1] = ["container_last_seen"];

/// The section of a query's chart: its own or its preset's, else by the metric's name.
pub fn section_of(q: &QueryResult) -> Section {
    q.layer()
}

/// One plot per chartable query: not raw counters (their rate is charted), not
/// `container_last_seen`, not an empty result. `origin`: Unix seconds of x = 0.
pub fn metrics(results: &[QueryResult], origin: f64) -> Vec<Plot> {
    results
        .iter()
        .enumerate()
        .filter(|(_, q)| {
            !q.series.is_empty()
                && !q.name.ends_with("_total")
                && !NOT_CHARTED.contains(&q.name.as_str())
        })
        .map(|(n, q)| Plot {
            id: format!("metric-{n:02}-{}", super::render::file_safe(&q.name)),
            title: match &q.promql {
                Some(p) => format!("{} — {p}", q.name),
                None => q.name.clone(),
            },
            y_label: q.unit.clone().unwrap_or_default(),
            section: section_of(q),
            unit: units::infer(q.unit.as_deref(), &q.name),
            levels: Vec::new(),
            stepped: q.unit.as_deref() == Some("replicas"),
            lines: q
                .series
                .iter()
                .map(|s| Line {
                    name: s.legend(),
                    points: s.points.iter().map(|(t, v)| (t - origin, *v)).collect(),
                })
                .collect(),
        })
        .collect()
}

/// A controller's panels as plots of the scaling section.
pub fn scaling(r: &ScalingRecord, panels: Vec<super::charts::Panel>) -> Vec<Plot> {
    let units = [
        Unit::Count("replicas".into()),
        Unit::Rate("/s".into()),
        Unit::Millis,
    ];
    let n = panels.len();
    panels
        .into_iter()
        .enumerate()
        .map(|(i, p)| Plot {
            id: format!("scaling-{}-{i}", super::render::file_safe(&r.service)),
            title: match i {
                0 => format!("{}: {}", r.service, p.y_label),
                _ if i + 1 == n => format!("{}: controller metric", r.service),
                _ => {
                    let names: Vec<&str> = p.lines.iter().map(|l| l.name.as_str()).collect();
                    format!("{}: {}", r.service, names.join(", "))
                }
            },
            // The metric is last; its unit is the query's, which the record does not keep.
            unit: if i + 1 == n {
                Unit::Count(String::new())
            } else {
                units[i.min(2)].clone()
            },
            y_label: p.y_label,
            stepped: i == 0,
            section: Section::Scaling,
            levels: p.levels,
            lines: p.lines,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::series::Series;

    fn q(name: &str, promql: Option<&str>) -> QueryResult {
        QueryResult {
            name: name.into(),
            promql: promql.map(String::from),
            unit: None,
            series: vec![Series {
                labels: Default::default(),
                points: vec![(100.0, 1.0)],
            }],
            section: None,
            missing: None,
            warnings: Vec::new(),
            gaps: Vec::new(),
        }
    }

    #[test]
    fn queries_land_in_the_section_of_their_metric() {
        let cases = [
            (
                q(
                    "cpu",
                    Some("sum(rate(container_cpu_usage_seconds_total[1m]))"),
                ),
                Section::System,
            ),
            (
                q(
                    "rps",
                    Some("sum(rate(envoy_cluster_upstream_rq_total[1m]))"),
                ),
                Section::Application,
            ),
            (q("swarm_replicas", None), Section::Scaling),
            (q("active", Some("sum(soy_active)")), Section::Load),
            (q("node_load1", None), Section::System),
        ];
        for (query, want) in cases {
            assert_eq!(section_of(&query), want, "{}", query.name);
        }
        let mut own = q("cpu", Some("container_cpu"));
        own.section = Some(Section::Application);
        assert_eq!(
            section_of(&own),
            Section::Application,
            "the manifest's section wins"
        );
    }

    #[test]
    fn last_seen_and_raw_counters_are_not_charted() {
        let plots = metrics(
            &[
                q("container_last_seen", None),
                q("container_cpu_usage_seconds_total", None),
                q("container_memory_usage_bytes", None),
            ],
            99.0,
        );
        assert_eq!(plots.len(), 1);
        assert_eq!(plots[0].id, "metric-02-container_memory_usage_bytes");
        assert_eq!(plots[0].unit, Unit::Bytes);
        assert_eq!(plots[0].lines[0].points, [(1.0, 1.0)]);
    }
}
