//! A manifest's SLOs and alerts as a Prometheus rule file (pure): recording rules for the
//! queries SLOs judge, an alerting rule per SLO bound and one per `alerts:` entry, in one
//! group named after the experiment. Load SLOs are written over soy's own series
//! (`soy_requests_total`, `soy_request_latency_seconds`, …), so they hold wherever a
//! Prometheus scrapes soy's generator; query SLOs over the queries themselves, so they can
//! guard production.

use std::collections::BTreeMap;

use crate::manifest::model::{LoadStat, QueryStat, Slo, SloScope};
use crate::metrics::query::ResolvedQuery;

/// One rule of the file.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleDef {
    Record {
        record: String,
        expr: String,
    },
    Alert {
        alert: String,
        expr: String,
        hold: Option<String>,
        keep_firing_for: Option<String>,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
    },
}

/// An alerting rule of `alerts:`, as the plan resolved it.
pub struct AlertInput<'a> {
    pub name: &'a str,
    pub expr: &'a str,
    pub hold_s: f64,
    pub keep_firing_for_s: f64,
    pub labels: &'a BTreeMap<String, String>,
    pub annotations: &'a BTreeMap<String, String>,
}

/// Why an SLO has no rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("SLO `{slo}`: {why}")]
pub struct Inexpressible {
    pub slo: String,
    pub why: String,
}

/// A name Prometheus accepts for a metric (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
fn metric_name(text: &str) -> String {
    let mut s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s.trim_end_matches('_').to_string()
}

/// An alert name: letters, digits and `_`, from an SLO's description.
fn alert_name(i: usize, slo: &Slo) -> String {
    let base = slo
        .name
        .as_deref()
        .map_or_else(|| format!("SLO{}", i + 1), |n| n.to_string());
    let mut s: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !s.starts_with("SLO") {
        s = format!("SLO_{s}");
    }
    s
}

fn seconds(s: f64) -> String {
    let s = s.max(1.0).round() as u64;
    format!("{s}s")
}

/// The rules of a manifest: `group` names the group, `window` is the experiment's
/// measured window (seconds) over which SLO statistics are taken.
pub fn rules(
    slos: &[Slo],
    queries: &[ResolvedQuery],
    alerts: &[AlertInput<'_>],
    window_s: f64,
) -> Result<Vec<RuleDef>, Vec<Inexpressible>> {
    let w = seconds(window_s);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut recorded: Vec<String> = Vec::new();
    for (i, slo) in slos.iter().enumerate() {
        let describe = slo.describe();
        let bounds: Vec<(&str, f64)> = match bounds(slo) {
            Ok(b) => b,
            Err(why) => {
                problems.push(Inexpressible { slo: describe, why });
                continue;
            }
        };
        let exprs: Result<Vec<(String, String)>, String> = match (&slo.load, &slo.query) {
            (Some(stat), _) => {
                load_expr(*stat, slo.request.as_deref(), &w).map(|e| vec![(String::new(), e)])
            }
            (None, Some(q)) => {
                let matching: Vec<&ResolvedQuery> =
                    queries.iter().filter(|r| &r.query == q).collect();
                if matching.is_empty() {
                    Err(format!("no query `{q}`"))
                } else {
                    Ok(matching
                        .iter()
                        .map(|r| {
                            let record = format!("soy:{}", metric_name(&r.name.replace('[', ":")));
                            if !recorded.contains(&record) {
                                recorded.push(record.clone());
                                out.push(RuleDef::Record {
                                    record: record.clone(),
                                    expr: r.promql.clone(),
                                });
                            }
                            let suffix = r.item.as_deref().map(metric_name).unwrap_or_default();
                            (suffix, record)
                        })
                        .collect())
                }
            }
            (None, None) => Err("it judges neither `load` nor `query`".into()),
        };
        let exprs = match exprs {
            Ok(e) => e,
            Err(why) => {
                problems.push(Inexpressible { slo: describe, why });
                continue;
            }
        };
        for (suffix, base) in exprs {
            for (op, limit) in &bounds {
                let expr = match (&slo.load, &slo.query) {
                    (Some(_), _) => format!("{base} {op} {limit}"),
                    _ => {
                        let stat = slo.stat.unwrap_or(QueryStat::Mean);
                        let over = match stat {
                            QueryStat::Last => base.clone(),
                            QueryStat::Mean => format!("avg_over_time({base}[{w}])"),
                            QueryStat::Max => format!("max_over_time({base}[{w}])"),
                            QueryStat::Min => format!("min_over_time({base}[{w}])"),
                            QueryStat::Percentile(p) => {
                                format!("quantile_over_time({}, {base}[{w}])", p / 100.0)
                            }
                        };
                        // All series pooled: the worst one (for a mean, their mean).
                        let pooled = match (slo.per, stat, *op) {
                            (SloScope::Series, _, _) => over,
                            (SloScope::Total, QueryStat::Mean, _) => format!("avg({over})"),
                            (SloScope::Total, _, ">") => format!("max({over})"),
                            (SloScope::Total, _, _) => format!("min({over})"),
                        };
                        format!("{pooled} {op} {limit}")
                    }
                };
                let mut name = alert_name(i, slo);
                if !suffix.is_empty() {
                    name = format!("{name}_{suffix}");
                }
                if bounds.len() > 1 {
                    name.push_str(if *op == ">" { "_max" } else { "_min" });
                }
                out.push(RuleDef::Alert {
                    alert: name,
                    expr,
                    hold: None,
                    keep_firing_for: None,
                    labels: BTreeMap::from([("severity".into(), "critical".into())]),
                    annotations: BTreeMap::from([(
                        "summary".into(),
                        format!("SLO broken: {describe} (value {{{{ $value }}}})"),
                    )]),
                });
            }
        }
    }
    for a in alerts {
        out.push(RuleDef::Alert {
            alert: a.name.to_string(),
            expr: a.expr.to_string(),
            hold: (a.hold_s > 0.0).then(|| seconds(a.hold_s)),
            keep_firing_for: (a.keep_firing_for_s > 0.0).then(|| seconds(a.keep_firing_for_s)),
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// `(operator, limit)` for each bound the SLO sets, in the unit of its expression
/// (milliseconds for latencies, a ratio for the error rate).
fn bounds(slo: &Slo) -> Result<Vec<(&'static str, f64)>, String> {
    let convert = |t: crate::manifest::threshold::Threshold| -> Result<f64, String> {
        match slo.load {
            Some(s) if s.is_latency() => t.as_millis(),
            Some(LoadStat::ErrorRate) => t.as_ratio(),
            _ => t.as_number(),
        }
        .ok_or_else(|| format!("`{t}` is not a limit of this kind"))
    };
    let mut out = Vec::new();
    if let Some(max) = slo.max {
        out.push((">", convert(max)?));
    }
    if let Some(min) = slo.min {
        out.push(("<", convert(min)?));
    }
    Ok(out)
}

/// A load statistic over soy's own series, over `w`.
fn load_expr(stat: LoadStat, request: Option<&str>, w: &str) -> Result<String, String> {
    let m = match request {
        Some(r) => format!("{{name={}}}", serde_json::Value::from(r)),
        None => String::new(),
    };
    let quantile = |q: f64| {
        format!(
            "histogram_quantile({q}, sum by (le) (increase(soy_request_latency_seconds_bucket{m}[{w}]))) * 1000"
        )
    };
    Ok(match stat {
        LoadStat::ErrorRate => format!(
            "sum(increase(soy_request_failures_total{m}[{w}])) / sum(increase(soy_requests_total{m}[{w}]))"
        ),
        LoadStat::Rps => format!("sum(rate(soy_requests_total{m}[{w}]))"),
        LoadStat::Mean => format!(
            "sum(increase(soy_request_latency_seconds_sum{m}[{w}])) / sum(increase(soy_request_latency_seconds_count{m}[{w}])) * 1000"
        ),
        LoadStat::P50 => quantile(0.5),
        LoadStat::P75 => quantile(0.75),
        LoadStat::P90 => quantile(0.9),
        LoadStat::P95 => quantile(0.95),
        LoadStat::P99 => quantile(0.99),
        LoadStat::Max => {
            return Err(
                "the slowest response is not a series Prometheus holds (soy's latency histogram has bounds, not the maximum); judge a percentile instead".into(),
            );
        }
    })
}

/// Replaced, at each live evaluation, by the seconds of load so far.
pub const ELAPSED: &str = "__soy_elapsed__";

/// An SLO judged live (`abort_on_fail`): PromQL whose result is non-empty once the
/// objective is already broken, one expression per bound (and per `for_each` expansion).
/// Load statistics count from the load's start (soy's cumulative series); a query's `mean`
/// or `pNN` is taken over the load so far (a subquery over `ELAPSED` seconds at `step_s`),
/// its `max`, `min` and `last` from its current value.
pub fn live(
    slo: &Slo,
    queries: &[ResolvedQuery],
    rate_window: &str,
    step_s: f64,
) -> Result<Vec<String>, String> {
    let bounds = bounds(slo)?;
    let mut out = Vec::new();
    match (&slo.load, &slo.query) {
        (Some(stat), _) => {
            let m = match &slo.request {
                Some(r) => format!("{{name={}}}", serde_json::Value::from(r.as_str())),
                None => String::new(),
            };
            let base = match stat {
                LoadStat::ErrorRate => {
                    format!("sum(soy_request_failures_total{m}) / sum(soy_requests_total{m})")
                }
                LoadStat::Rps => format!("sum(rate(soy_requests_total{m}[{rate_window}]))"),
                LoadStat::Mean => format!(
                    "sum(soy_request_latency_seconds_sum{m}) / sum(soy_request_latency_seconds_count{m}) * 1000"
                ),
                LoadStat::Max => {
                    return Err("the slowest response cannot be judged live (soy's latency histogram has bounds, not the maximum); judge a percentile".into());
                }
                p => {
                    let q = match p {
                        LoadStat::P50 => 0.5,
                        LoadStat::P75 => 0.75,
                        LoadStat::P90 => 0.9,
                        LoadStat::P95 => 0.95,
                        _ => 0.99,
                    };
                    format!(
                        "histogram_quantile({q}, sum by (le) (soy_request_latency_seconds_bucket{m})) * 1000"
                    )
                }
            };
            for (op, limit) in &bounds {
                out.push(format!("{base} {op} {limit}"));
            }
        }
        (None, Some(q)) => {
            let matching: Vec<&ResolvedQuery> = queries.iter().filter(|r| &r.query == q).collect();
            if matching.is_empty() {
                return Err(format!("no query `{q}`"));
            }
            let step = seconds(step_s);
            let stat = slo.stat.unwrap_or(QueryStat::Mean);
            for r in matching {
                let q = &r.promql;
                let over = match stat {
                    QueryStat::Last | QueryStat::Max | QueryStat::Min => format!("({q})"),
                    QueryStat::Mean => format!("avg_over_time(({q})[{ELAPSED}:{step}])"),
                    QueryStat::Percentile(p) => {
                        format!("quantile_over_time({}, ({q})[{ELAPSED}:{step}])", p / 100.0)
                    }
                };
                for (op, limit) in &bounds {
                    // A current value above a `max` (below a `min`) already breaks it.
                    let pooled = match (slo.per, stat, *op) {
                        (SloScope::Series, _, _) => over.clone(),
                        (SloScope::Total, QueryStat::Mean, _) => format!("avg({over})"),
                        (SloScope::Total, _, ">") => format!("max({over})"),
                        (SloScope::Total, _, _) => format!("min({over})"),
                    };
                    let judged = match (stat, *op) {
                        // The run's max is at least the current value; its min at most.
                        (QueryStat::Max, ">") | (QueryStat::Min, "<") | (QueryStat::Last, _) => {
                            true
                        }
                        (QueryStat::Mean | QueryStat::Percentile(_), _) => true,
                        _ => false,
                    };
                    if !judged {
                        return Err(format!(
                            "a `{}` bound on `{stat}` cannot be broken before the run ends; judge it at the end only",
                            if *op == ">" { "max" } else { "min" }
                        ));
                    }
                    out.push(format!("{pooled} {op} {limit}"));
                }
            }
        }
        (None, None) => return Err("it judges neither `load` nor `query`".into()),
    }
    Ok(out)
}

/// The rule file's text: one group.
pub fn write(group: &str, interval_s: f64, rules: &[RuleDef]) -> String {
    let q = |s: &str| serde_json::Value::from(s).to_string();
    let mut y = String::from(
        "# Written by soy from the manifest's SLOs and alerts (`soy rules`).\ngroups:\n",
    );
    y.push_str(&format!(
        "  - name: {}\n    interval: {}\n    rules:\n",
        q(group),
        seconds(interval_s)
    ));
    for r in rules {
        match r {
            RuleDef::Record { record, expr } => {
                y.push_str(&format!(
                    "      - record: {record}\n        expr: {}\n",
                    q(expr)
                ));
            }
            RuleDef::Alert {
                alert,
                expr,
                hold,
                keep_firing_for,
                labels,
                annotations,
            } => {
                y.push_str(&format!(
                    "      - alert: {alert}\n        expr: {}\n",
                    q(expr)
                ));
                if let Some(h) = hold {
                    y.push_str(&format!("        for: {h}\n"));
                }
                if let Some(k) = keep_firing_for {
                    y.push_str(&format!("        keep_firing_for: {k}\n"));
                }
                for (key, map) in [("labels", labels), ("annotations", annotations)] {
                    if map.is_empty() {
                        continue;
                    }
                    y.push_str(&format!("        {key}:\n"));
                    for (k, v) in map {
                        y.push_str(&format!("          {k}: {}\n", q(v)));
                    }
                }
            }
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo(y: &str) -> Slo {
        let v: serde_json::Value = serde_json::from_str(y).unwrap();
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn load_and_query_slos_become_rules() {
        let queries = vec![ResolvedQuery {
            name: "cpu[gateway]".into(),
            query: "cpu".into(),
            item: Some("gateway".into()),
            preset: None,
            promql: "sum(rate(container_cpu_usage_seconds_total[1m]))".into(),
            unit: None,
            section: None,
        }];
        let slos = vec![
            slo(r#"{"load": "p95", "max": "250ms"}"#),
            slo(r#"{"load": "error_rate", "request": "/a", "max": "1%"}"#),
            slo(
                r#"{"name": "cpu ok", "query": "cpu", "stat": "p95", "per": "series", "max": 1.5}"#,
            ),
            slo(r#"{"load": "rps", "min": 50, "max": 500}"#),
        ];
        let r = rules(&slos, &queries, &[], 60.0).unwrap();
        let text = write("exp", 1.0, &r);
        assert!(text.contains("histogram_quantile(0.95, sum by (le) (increase(soy_request_latency_seconds_bucket[60s]))) * 1000 > 250"), "{text}");
        assert!(text.contains(r#"sum(increase(soy_request_failures_total{name=\"/a\"}[60s])) / sum(increase(soy_requests_total{name=\"/a\"}[60s])) > 0.01"#), "{text}");
        assert!(text.contains("      - record: soy:cpu:gateway\n"), "{text}");
        assert!(text.contains("      - alert: SLO_cpu_ok_gateway\n        expr: \"quantile_over_time(0.95, soy:cpu:gateway[60s]) > 1.5\""), "{text}");
        assert!(
            text.contains("      - alert: SLO4_max\n")
                && text.contains("      - alert: SLO4_min\n"),
            "{text}"
        );
    }

    #[test]
    fn live_slos_judge_the_load_so_far() {
        let q = vec![ResolvedQuery {
            name: "lat".into(),
            query: "lat".into(),
            item: None,
            preset: None,
            promql: "x".into(),
            unit: None,
            section: None,
        }];
        let e = live(
            &slo(r#"{"load": "error_rate", "max": "2%"}"#),
            &[],
            "10s",
            1.0,
        )
        .unwrap();
        assert_eq!(
            e,
            ["sum(soy_request_failures_total) / sum(soy_requests_total) > 0.02"]
        );
        let e = live(
            &slo(r#"{"load": "p99", "request": "/a", "max": "300ms"}"#),
            &[],
            "10s",
            1.0,
        )
        .unwrap();
        assert_eq!(
            e,
            [
                r#"histogram_quantile(0.99, sum by (le) (soy_request_latency_seconds_bucket{name="/a"})) * 1000 > 300"#
            ]
        );
        let e = live(
            &slo(r#"{"query": "lat", "stat": "p95", "max": 100}"#),
            &q,
            "10s",
            2.0,
        )
        .unwrap();
        assert_eq!(
            e,
            [format!(
                "max(quantile_over_time(0.95, (x)[{ELAPSED}:2s])) > 100"
            )]
        );
        let e = live(
            &slo(r#"{"query": "lat", "stat": "max", "per": "series", "max": 5}"#),
            &q,
            "10s",
            1.0,
        )
        .unwrap();
        assert_eq!(e, ["(x) > 5"]);
        // A max bound on a minimum can still be met later: not judged live.
        assert!(
            live(
                &slo(r#"{"query": "lat", "stat": "min", "max": 5}"#),
                &q,
                "10s",
                1.0
            )
            .is_err()
        );
    }

    #[test]
    fn what_prometheus_cannot_hold_is_named() {
        let e = rules(&[slo(r#"{"load": "max", "max": "1s"}"#)], &[], &[], 60.0).unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(
            e[0].to_string()
                .starts_with("SLO `max of all requests <= 1s`: the slowest response"),
            "{}",
            e[0]
        );
    }
}
