//! The series a run's correlation looks at, on one grid (pure): every system series (the
//! system and scaling layers' queries: CPU, memory, network per service, replicas) and every
//! application series (the load's p95 latency, error rate and requests/s, and the
//! application layer's queries, e.g. the gateway's), in steps over the steady window (after
//! the warm-up, to the end of the load), with the load's own target on the same steps.
//!
//! A step is one second, or the metrics' sampling interval when that is longer (a 5 s
//! Prometheus step). Step k covers `[from + k·step, from + (k+1)·step)` seconds from the
//! load's start: the load's seconds in it are summed (requests/s, error rate) or averaged by
//! their requests (p95); a gauge is read at the step's end (linear interpolation between its
//! samples); a raw counter (`…_total`, as sampled) becomes its increase over the step per
//! second, so CPU seconds become cores and bytes become bytes/s. A step a series has no
//! value for takes its neighbour's; a series missing more than a tenth of its steps is left
//! out; a constant one, or one that repeats another's values, is not correlated.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::correlate::{self, Named, Options};
use super::series::{QueryResult, Series};
use crate::load::results::Results;
use crate::manifest::model::Section;

/// Series that say nothing over time, and the local driver's CPU smoothed for charts (its
/// counter, per step, is sharper).
const SKIPPED: [&str; 2] = ["container_last_seen", "container_cpu_cores"];

/// How a series is measured, for charts: the query's unit, or none and the metric's name
/// (whose suffix says it: a `_seconds_total` rate is in cores).
#[derive(Debug, Clone, PartialEq)]
pub struct UnitOf {
    pub unit: Option<String>,
    pub metric: String,
}

/// A run's series on one grid.
#[derive(Debug, Clone)]
pub struct Signals {
    pub step_s: f64,
    /// Seconds from the load's start at which step 0 begins.
    pub from_s: f64,
    pub system: Vec<Named>,
    pub application: Vec<Named>,
    /// The load's target (users or arrival rate) on each step.
    pub load: Vec<f64>,
    pub units: BTreeMap<String, UnitOf>,
}

/// A relation as a run's summary keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Relation {
    pub system: String,
    pub application: String,
    /// Seconds by which the system series leads (negative: it follows).
    pub lag_s: f64,
    pub spearman: f64,
    pub pearson: f64,
    /// Spearman's ρ of the prewhitened pair, which the test rests on.
    pub whitened: f64,
    /// After the effective sample size and the Bonferroni correction over every pair and lag.
    pub p_value: f64,
    /// Steps the correlation rests on.
    pub n: usize,
    /// The finding in words: `ms-exercise CPU leads p95 latency by 2 s, ρ = 0.91`.
    pub text: String,
}

/// The correlation of a run (or of a campaign's points) as its summary keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Correlation {
    /// Seconds per step (for a campaign: 0, one step per point).
    pub step_s: f64,
    /// Steps correlated.
    pub steps: usize,
    pub system_series: Vec<String>,
    pub application_series: Vec<String>,
    /// Lags tried, ± this many steps.
    pub max_lag: usize,
    /// Strongest first; only relations significant after the corrections and with
    /// |ρ| at least `min_rho`.
    pub findings: Vec<Relation>,
    pub min_rho: f64,
    pub alpha: f64,
    /// What the analysis could not look at, when something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The run's signals, or why there are none (a steady window of fewer than `min_steps`).
pub fn build(
    results: &Results,
    metrics: &[QueryResult],
    min_steps: usize,
) -> Result<Signals, String> {
    let origin = results.started_at;
    let queries: Vec<(&QueryResult, bool)> = metrics
        .iter()
        .filter(|q| !q.series.is_empty() && !SKIPPED.contains(&q.name.as_str()))
        .filter_map(|q| match q.layer() {
            Section::System | Section::Scaling => Some((q, true)),
            Section::Application => Some((q, false)),
            Section::Load => None,
        })
        .collect();
    let step = step_of(queries.iter().flat_map(|(q, _)| &q.series));
    let from = results.warmup_s.ceil();
    let steps = ((results.duration_s - from) / step).floor().max(0.0) as usize;
    if steps < min_steps.max(1) {
        return Err(format!(
            "the steady window ({:.0} s after the warm-up) is too short to correlate",
            (results.duration_s - from).max(0.0)
        ));
    }
    let mut out = Signals {
        step_s: step,
        from_s: from,
        system: Vec::new(),
        application: Vec::new(),
        load: Vec::new(),
        units: BTreeMap::new(),
    };
    // The load's own series, from its seconds.
    let mut sums = vec![(0.0_f64, 0.0_f64, 0.0_f64, 0.0_f64, 0_usize); steps];
    for row in &results.series {
        let k = ((row.second as f64 - from) / step).floor();
        if k < 0.0 || k as usize >= steps {
            continue;
        }
        let s = &mut sums[k as usize];
        s.0 += row.requests as f64;
        s.1 += row.failures as f64;
        if row.requests > 0 {
            s.2 += row.p95_ms * row.requests as f64;
        }
        s.3 += row.target;
        s.4 += 1;
    }
    out.load = sums
        .iter()
        .map(|s| if s.4 > 0 { s.3 / s.4 as f64 } else { f64::NAN })
        .collect();
    fill(&mut out.load);
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    let own: [(&str, &str, Vec<f64>); 3] = [
        (
            "p95 latency",
            "ms",
            sums.iter().map(|s| ratio(s.2, s.0)).collect(),
        ),
        (
            "error rate",
            "ratio",
            sums.iter().map(|s| ratio(s.1, s.0)).collect(),
        ),
        (
            "requests/s",
            "/s",
            sums.iter().map(|s| s.0 / step).collect(),
        ),
    ];
    for (name, unit, values) in own {
        out.add(false, name, Some(unit), name, values);
    }
    for (q, system) in queries {
        let counter = q.promql.is_none() && q.name.ends_with("_total");
        let several = q.series.len() > 1;
        for s in &q.series {
            let values: Vec<f64> = (0..steps)
                .map(|k| {
                    let end = origin + from + (k + 1) as f64 * step;
                    if counter {
                        match (at(s, end, step), at(s, end - step, step)) {
                            (Some(b), Some(a)) if b >= a => (b - a) / step,
                            _ => f64::NAN,
                        }
                    } else {
                        at(s, end, step).unwrap_or(f64::NAN)
                    }
                })
                .collect();
            let name = name_of(q, s, several);
            let unit = (!counter).then(|| q.unit.clone()).flatten();
            out.add(system, &name, unit.as_deref(), &q.name, values);
        }
    }
    Ok(out)
}

impl Signals {
    fn add(
        &mut self,
        system: bool,
        name: &str,
        unit: Option<&str>,
        metric: &str,
        values: Vec<f64>,
    ) {
        let missing = values.iter().filter(|v| !v.is_finite()).count();
        if missing * 10 > values.len() || missing == values.len() {
            return;
        }
        let mut values = values;
        fill(&mut values);
        let taken = |n: &str| self.units.contains_key(n);
        let mut name = name.to_string();
        let mut i = 2;
        while taken(&name) {
            name = format!("{name} #{i}");
            i += 1;
        }
        self.units.insert(
            name.clone(),
            UnitOf {
                unit: unit.map(String::from),
                metric: metric.into(),
            },
        );
        let list = if system {
            &mut self.system
        } else {
            &mut self.application
        };
        list.push(Named { name, values });
    }

    /// A series by its name.
    pub fn series(&self, name: &str) -> Option<&Named> {
        self.system
            .iter()
            .chain(&self.application)
            .find(|n| n.name == name)
    }

    /// Seconds from the load's start at the end of each step.
    pub fn times(&self) -> Vec<f64> {
        (0..self.load.len())
            .map(|k| self.from_s + (k + 1) as f64 * self.step_s)
            .collect()
    }
}

/// The series worth correlating: not constant (a process's network counters stay 0), and
/// not the same values as an earlier one under another name (the local driver's memory and
/// working set), which would only repeat each finding.
fn worth(list: &[Named]) -> Vec<Named> {
    let mut out: Vec<Named> = Vec::new();
    for n in list {
        let first = n.values.first().copied().unwrap_or(0.0);
        let constant = n
            .values
            .iter()
            .all(|v| (v - first).abs() <= 1e-12 * first.abs().max(1.0));
        if !constant && !out.iter().any(|o| o.values == n.values) {
            out.push(n.clone());
        }
    }
    out
}

/// Correlates a run's signals.
pub fn analyse(s: &Signals, opts: &Options) -> Correlation {
    let (system, application) = (worth(&s.system), worth(&s.application));
    let findings = correlate::correlate(&system, &application, &s.load, opts)
        .into_iter()
        .map(|f| relation(f, s.step_s))
        .collect();
    let note = if system.is_empty() {
        Some("no system series (CPU, memory, network, replicas) to correlate: the run has no such metric queries".into())
    } else {
        None
    };
    Correlation {
        step_s: s.step_s,
        steps: s.load.len(),
        system_series: system.into_iter().map(|n| n.name).collect(),
        application_series: application.into_iter().map(|n| n.name).collect(),
        max_lag: opts.max_lag,
        findings,
        min_rho: opts.min_rho,
        alpha: opts.alpha,
        note,
    }
}

/// A campaign's points as one series each (one step per point, in the order they ran): each
/// series' mean over each point's steady window, for the series every point has; the load
/// is each point's mean target. `step_s` is 0: there are no lags between points.
pub fn across(points: &[Signals]) -> Signals {
    let mut out = Signals {
        step_s: 0.0,
        from_s: 0.0,
        system: Vec::new(),
        application: Vec::new(),
        load: points.iter().map(|p| mean(&p.load)).collect(),
        units: BTreeMap::new(),
    };
    let Some(first) = points.first() else {
        return out;
    };
    for (system, list) in [(true, &first.system), (false, &first.application)] {
        for n in list {
            let values: Option<Vec<f64>> = points
                .iter()
                .map(|p| p.series(&n.name).map(|s| mean(&s.values)))
                .collect();
            if let Some(values) = values {
                let u = &first.units[&n.name];
                out.add(
                    system,
                    &n.name,
                    u.unit.as_deref(),
                    &u.metric.clone(),
                    values,
                );
            }
        }
    }
    out
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// A finding with its lag in seconds and in words (`step_s` 0: a campaign's points, no lag).
pub fn relation(f: correlate::Finding, step_s: f64) -> Relation {
    let lag_s = f.lag as f64 * step_s;
    let how = match f.lag {
        _ if step_s == 0.0 => "moves with".to_string(),
        0 => "moves with".to_string(),
        l if l > 0 => format!("leads {} by {} s,", f.application, secs(lag_s)),
        _ => format!("follows {} by {} s,", f.application, secs(-lag_s)),
    };
    let text = if how == "moves with" {
        format!(
            "{} moves with {}, ρ = {:.2}",
            f.system, f.application, f.spearman
        )
    } else {
        format!("{} {how} ρ = {:.2}", f.system, f.spearman)
    };
    Relation {
        system: f.system,
        application: f.application,
        lag_s,
        spearman: f.spearman,
        pearson: f.pearson,
        whitened: f.whitened,
        p_value: f.p_value,
        n: f.n,
        text,
    }
}

fn secs(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// One second, or the series' typical sampling interval in whole seconds when longer.
fn step_of<'a>(series: impl Iterator<Item = &'a Series>) -> f64 {
    let mut gaps: Vec<f64> = series
        .flat_map(|s| s.points.windows(2).map(|w| w[1].0 - w[0].0))
        .filter(|g| *g > 0.0)
        .collect();
    if gaps.is_empty() {
        return 1.0;
    }
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2].round().max(1.0)
}

/// The series' value at `t` (Unix seconds), interpolated between the samples around it when
/// both are within `2 × step` of it.
fn at(s: &Series, t: f64, step: f64) -> Option<f64> {
    let p = &s.points;
    let i = p.partition_point(|x| x.0 < t);
    if let Some(x) = p.get(i)
        && (x.0 - t).abs() < 1e-6
    {
        return Some(x.1);
    }
    let (a, b) = (p.get(i.checked_sub(1)?)?, p.get(i)?);
    if t - a.0 > 2.0 * step || b.0 - t > 2.0 * step || !(a.1.is_finite() && b.1.is_finite()) {
        return None;
    }
    Some(a.1 + (b.1 - a.1) * (t - a.0) / (b.0 - a.0))
}

/// `ms-exercise CPU`: the series' service (or labels) and what it measures.
fn name_of(q: &QueryResult, s: &Series, several: bool) -> String {
    let what = match q.name.as_str() {
        "container_cpu_usage_seconds_total" => "CPU",
        "container_memory_usage_bytes" => "memory",
        "container_memory_working_set_bytes" => "working set",
        "container_network_receive_bytes_total" => "network in",
        "container_network_transmit_bytes_total" => "network out",
        other => other,
    };
    let legend = s.legend();
    if legend == "value" || (!several && what == q.name && !s.labels.contains_key("service")) {
        what.to_string()
    } else {
        format!("{legend} {what}")
    }
}

/// Each non-finite value takes the one before it (the first finite one at the start).
fn fill(v: &mut [f64]) {
    let Some(first) = v.iter().copied().find(|x| x.is_finite()) else {
        return;
    };
    let mut last = first;
    for x in v.iter_mut() {
        if x.is_finite() {
            last = *x;
        } else {
            *x = last;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::stats::SecondRow;

    fn row(second: u64, requests: u64, failures: u64, p95: f64) -> SecondRow {
        SecondRow {
            second,
            target: 10.0,
            active: 10,
            requests,
            failures,
            p50_ms: p95 / 2.0,
            p90_ms: p95,
            p95_ms: p95,
            p99_ms: p95,
            max_ms: p95,
            started: None,
            dropped: None,
        }
    }

    fn results(rows: Vec<SecondRow>) -> Results {
        let mut r: Results = serde_json::from_str(include_str!(
            "../../tests/fixtures/run/quickstart/results.json"
        ))
        .expect("fixture");
        r.started_at = 1000.0;
        r.warmup_s = 2.0;
        r.duration_s = rows.len() as f64;
        r.series = rows;
        r
    }

    fn query(name: &str, section: Option<Section>, series: Vec<Series>) -> QueryResult {
        QueryResult {
            name: name.into(),
            promql: None,
            unit: None,
            series,
            section,
            missing: None,
            warnings: Vec::new(),
            gaps: Vec::new(),
        }
    }

    fn service(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            labels: [("service".to_string(), name.to_string())].into(),
            points,
        }
    }

    #[test]
    fn a_run_becomes_its_system_and_application_series_on_one_grid() {
        // 12 s of load, 2 s of warm-up: 10 one-second steps.
        let rows: Vec<SecondRow> = (0..12)
            .map(|s| row(s, 100 + s, s % 2, 10.0 + s as f64))
            .collect();
        // CPU seconds as sampled each second from 1000.5: 0.25 cores, then 0.75 from t = 8.
        let mut cpu = Vec::new();
        let mut total = 0.0;
        for i in 0..14 {
            let t = 1000.5 + i as f64;
            cpu.push((t, total));
            total += if t - 1000.0 >= 8.0 { 0.75 } else { 0.25 };
        }
        let metrics = vec![
            query(
                "container_cpu_usage_seconds_total",
                Some(Section::System),
                vec![service("up", cpu)],
            ),
            query(
                "container_cpu_cores",
                Some(Section::System),
                vec![service("up", vec![(1001.0, 1.0), (1002.0, 1.0)])],
            ),
            query(
                "gateway_rps",
                None,
                vec![Series {
                    labels: Default::default(),
                    points: (0..14).map(|i| (1000.0 + i as f64, i as f64)).collect(),
                }],
            ),
            query("soy_active", None, vec![service("x", vec![(1001.0, 1.0)])]),
        ];
        let s = build(&results(rows), &metrics, 3).expect("signals");
        assert_eq!((s.step_s, s.from_s, s.load.len()), (1.0, 2.0, 10));
        let names = |v: &[Named]| v.iter().map(|n| n.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&s.system), ["up CPU"]);
        assert_eq!(
            names(&s.application),
            ["p95 latency", "error rate", "requests/s", "gateway_rps"]
        );
        // Step 0 is second 2: its p95, its failures over its requests, its requests.
        let app = |n: &str| s.series(n).expect(n).values.clone();
        assert_eq!(app("p95 latency")[0], 12.0);
        assert_eq!(app("error rate")[1], 1.0 / 103.0);
        assert_eq!(app("requests/s")[9], 111.0);
        // The gauge read at each step's end (3 s after the start for step 0).
        assert_eq!(app("gateway_rps")[0], 3.0);
        // The counter's increase per step: 0.25 cores, then 0.75 once the change is in.
        let cpu = app("up CPU");
        assert!((cpu[0] - 0.25).abs() < 1e-9, "{cpu:?}");
        assert!((cpu[9] - 0.75).abs() < 1e-9, "{cpu:?}");
        assert_eq!(s.units["up CPU"].unit, None);
        assert_eq!(s.units["p95 latency"].unit.as_deref(), Some("ms"));
    }

    #[test]
    fn a_slow_scrape_sets_the_step_and_a_gappy_series_is_left_out() {
        let rows: Vec<SecondRow> = (0..42).map(|s| row(s, 50, 0, 10.0)).collect();
        let every5 = |from: f64, to: f64| -> Vec<(f64, f64)> {
            (0..10)
                .map(|i| 1000.0 + 5.0 * i as f64)
                .filter(|t| *t < 1000.0 + from || *t >= 1000.0 + to)
                .map(|t| (t, t))
                .collect()
        };
        let metrics = vec![query(
            "mem",
            Some(Section::System),
            vec![
                service("a", every5(0.0, 0.0)),
                service("b", every5(10.0, 30.0)),
            ],
        )];
        let s = build(&results(rows), &metrics, 3).expect("signals");
        assert_eq!((s.step_s, s.load.len()), (5.0, 8));
        assert_eq!(
            s.system.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
            ["a mem"],
            "b lacks 4 of its 8 steps"
        );
        assert_eq!(s.times()[0], 7.0);
    }

    #[test]
    fn findings_are_said_in_words_with_their_lag_in_seconds() {
        let f = |lag| correlate::Finding {
            system: "up CPU".into(),
            application: "p95 latency".into(),
            lag,
            spearman: 0.914,
            pearson: 0.9,
            whitened: 0.6,
            p_value: 0.001,
            n: 50,
        };
        assert_eq!(
            relation(f(2), 1.0).text,
            "up CPU leads p95 latency by 2 s, ρ = 0.91"
        );
        assert_eq!(
            relation(f(-1), 5.0).text,
            "up CPU follows p95 latency by 5 s, ρ = 0.91"
        );
        assert_eq!(
            relation(f(0), 1.0).text,
            "up CPU moves with p95 latency, ρ = 0.91"
        );
        assert_eq!(relation(f(0), 1.0).lag_s, 0.0);
    }

    #[test]
    fn a_campaigns_points_become_one_step_each() {
        let point = |users: f64, cpu: f64| Signals {
            step_s: 1.0,
            from_s: 2.0,
            system: vec![
                Named {
                    name: "up CPU".into(),
                    values: vec![cpu, cpu + 2.0],
                },
                Named {
                    name: "only here".into(),
                    values: vec![1.0, 1.0],
                },
            ],
            application: vec![Named {
                name: "p95 latency".into(),
                values: vec![10.0, 20.0],
            }],
            load: vec![users, users],
            units: ["up CPU", "only here", "p95 latency"]
                .iter()
                .map(|n| {
                    (
                        n.to_string(),
                        UnitOf {
                            unit: None,
                            metric: (*n).into(),
                        },
                    )
                })
                .collect(),
        };
        let mut b = point(20.0, 3.0);
        b.system.pop();
        let s = across(&[point(10.0, 1.0), b]);
        assert_eq!(s.load, [10.0, 20.0]);
        assert_eq!(s.system.len(), 1, "a series one point lacks is left out");
        assert_eq!(s.system[0].values, [2.0, 4.0]);
        assert_eq!(s.application[0].values, [15.0, 15.0]);
        assert_eq!(s.step_s, 0.0);
    }

    #[test]
    fn a_short_window_is_said() {
        let rows: Vec<SecondRow> = (0..4).map(|s| row(s, 50, 0, 10.0)).collect();
        let e = build(&results(rows), &[], 3).unwrap_err();
        assert!(e.contains("too short"), "{e}");
    }
}
