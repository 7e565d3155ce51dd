//! Two runs into rows (pure): per request name (and `Aggregated` when there are several)
//! the change of p50, p95, p99, mean, requests/s and error rate, and per metric series the
//! change of its mean, each with a 95% interval and a verdict; plus each name's
//! Mann–Whitney shift.
//!
//! A change counts only when it is significant *and* larger than the threshold (5% by
//! default), both read off its interval: the whole interval lies beyond ±threshold. The
//! interval measures the noise within each run; two runs of one configuration also differ
//! between them (the machine, the stack's warm-up, a service's CPU by a few percent), which
//! one pair cannot measure, so the threshold is the margin a change must clear for sure.
//! Latency and requests/s rest on a block bootstrap over the runs' seconds
//! (`stats::bootstrap_changes`); the error rate on Newcombe's interval for two proportions
//! (and the pooled z-test's p-value); Mann–Whitney's p assumes independent requests, which
//! neighbouring requests are not, so it is shown as a shift and an effect size, never as a
//! verdict.

use serde::Serialize;

use super::input::{MetricData, NameData, RunData};
use super::stats::{self, Sparse};
use crate::report::units::{self, Unit};

/// What a comparison is asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// The smallest relative change that counts (0.05: 5%).
    pub threshold: f64,
    /// 1 − the intervals' confidence (0.05: 95% intervals).
    pub alpha: f64,
    pub resamples: usize,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threshold: 0.05,
            alpha: 0.05,
            resamples: 2000,
            seed: 1,
        }
    }
}

/// A row's judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Improved,
    Regressed,
    /// Within the noise, or smaller than the threshold.
    NoChange,
    /// A significant change of a series with no better direction (a request rate, replicas).
    Higher,
    Lower,
    /// Not testable: no per-second data, or a zero base.
    Untested,
}

impl Verdict {
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::NoChange => "no significant change",
            Verdict::Higher => "higher",
            Verdict::Lower => "lower",
            Verdict::Untested => "not tested",
        }
    }
}

/// Which way is better for a statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
    Neither,
}

/// Whether a row's change is relative (`new/base − 1`) or a difference (error rates, in
/// fractions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Relative,
    Difference,
}

/// One compared statistic.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `GET /x`, `Aggregated`, or a metric series.
    pub scope: String,
    /// `p50`, `p95`, `p99`, `mean`, `req/s`, `error rate`.
    pub stat: String,
    /// `ms`, `req/s`, `%`, or the metric's unit.
    pub unit: String,
    pub base: f64,
    pub new: f64,
    pub change_kind: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<f64>,
    /// The interval of the change, in the same kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    pub better: Better,
    pub verdict: Verdict,
    /// How the interval was made.
    pub method: String,
}

/// A request name's latency distributions compared as wholes.
#[derive(Debug, Clone, Serialize)]
pub struct Shift {
    pub scope: String,
    /// Probability that a request of the new run is slower than one of the base (ties
    /// half): 0.5 is no shift.
    pub prob_slower: f64,
    pub rank_biserial: f64,
    /// Mann–Whitney's p-value, as if requests were independent (they are not: read it as
    /// a lower bound).
    pub p_value: f64,
}

/// One new run against the base.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub base: String,
    pub new: String,
    pub base_dir: String,
    pub new_dir: String,
    pub threshold: f64,
    pub confidence: f64,
    pub rows: Vec<Row>,
    pub shifts: Vec<Shift>,
    pub notes: Vec<String>,
    pub regressions: usize,
    pub improvements: usize,
    /// Per-second p95 (ms) of each run over its whole load, for the charts.
    pub p95_base: Vec<f64>,
    pub p95_new: Vec<f64>,
}

pub fn compare(base: &RunData, new: &RunData, opts: &Options) -> Comparison {
    let mut rows = Vec::new();
    let mut shifts = Vec::new();
    let mut notes: Vec<String> = base.notes.iter().chain(&new.notes).cloned().collect();
    let mut seed = opts.seed;
    let several = base.names.len() > 2 || new.names.len() > 2;
    for b in &base.names {
        if b.key == "Aggregated" && !several {
            continue;
        }
        let Some(n) = new.names.iter().find(|n| n.key == b.key) else {
            notes.push(format!("`{}` is only in the base run", b.key));
            continue;
        };
        seed = seed.wrapping_add(1);
        rows.extend(name_rows(b, n, opts, seed));
        if let (Some(bs), Some(ns)) = (&b.seconds, &n.seconds) {
            let (bw, nw) = (Sparse::merged(bs), Sparse::merged(ns));
            if let Some(m) = stats::mann_whitney(&bw, &nw) {
                shifts.push(Shift {
                    scope: b.key.clone(),
                    prob_slower: m.prob_greater,
                    rank_biserial: m.rank_biserial,
                    p_value: m.p,
                });
            }
        }
    }
    for n in &new.names {
        if !base.names.iter().any(|b| b.key == n.key) {
            notes.push(format!("`{}` is only in the new run", n.key));
        }
    }
    for bm in &base.metrics {
        let Some(nm) = new.metrics.iter().find(|m| m.key == bm.key) else {
            notes.push(format!("metric `{}` is only in the base run", bm.key));
            continue;
        };
        seed = seed.wrapping_add(1);
        if let Some(r) = metric_row(bm, nm, opts, seed) {
            rows.push(r);
        }
    }
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count();
    Comparison {
        base: base.label.clone(),
        new: new.label.clone(),
        base_dir: base.dir.display().to_string(),
        new_dir: new.dir.display().to_string(),
        threshold: opts.threshold,
        confidence: 1.0 - opts.alpha,
        regressions: count(Verdict::Regressed),
        improvements: count(Verdict::Improved),
        rows,
        shifts,
        notes,
        p95_base: base.p95.clone(),
        p95_new: new.p95.clone(),
    }
}

fn name_rows(b: &NameData, n: &NameData, opts: &Options, seed: u64) -> Vec<Row> {
    let (bs, ns) = (&b.stats, &n.stats);
    let lat = [
        ("p50", bs.p50_ms, ns.p50_ms),
        ("p95", bs.p95_ms, ns.p95_ms),
        ("p99", bs.p99_ms, ns.p99_ms),
        ("mean", bs.mean_ms, ns.mean_ms),
    ];
    let points: Vec<f64> = lat
        .iter()
        .map(|(_, x, y)| relative(*x, *y).unwrap_or(0.0))
        .collect();
    let (cis, method) = match (&b.seconds, &n.seconds) {
        (Some(x), Some(y)) if !x.is_empty() && !y.is_empty() => {
            let (values, idx) = stats::index([x, y]);
            let mut counts = vec![0u64; values.len()];
            let cis = stats::bootstrap_changes(
                [x.len(), y.len()],
                &points,
                opts.resamples,
                seed,
                opts.alpha,
                |run, secs| {
                    counts.fill(0);
                    for s in secs {
                        for (i, c) in &idx[run].hists[*s] {
                            counts[*i as usize] += c;
                        }
                    }
                    stats::latency(&values, &counts).map(|l| vec![l.p50, l.p95, l.p99, l.mean])
                },
            );
            (cis, "block bootstrap over the seconds' histograms")
        }
        _ => (vec![None; 4], "percentiles only (no latency histograms)"),
    };
    let mut rows: Vec<Row> = lat
        .iter()
        .zip(cis)
        .map(|((stat, x, y), ci)| {
            let f = Figure {
                scope: &b.key,
                stat,
                unit: "ms",
                base: *x,
                new: *y,
                better: Better::Lower,
                method,
            };
            relative_row(f, ci, opts)
        })
        .collect();
    let ci = if b.per_second.len() >= 2 && n.per_second.len() >= 2 {
        let mean = |v: &[f64], idx: &[usize]| {
            (!idx.is_empty()).then(|| idx.iter().map(|i| v[*i]).sum::<f64>() / idx.len() as f64)
        };
        stats::bootstrap_change(
            [b.per_second.len(), n.per_second.len()],
            relative(bs.rps, ns.rps).unwrap_or(0.0),
            opts.resamples,
            seed ^ 0x5eed,
            opts.alpha,
            |run, idx| {
                mean(
                    if run == 0 {
                        &b.per_second
                    } else {
                        &n.per_second
                    },
                    idx,
                )
            },
        )
    } else {
        None
    };
    let f = Figure {
        scope: &b.key,
        stat: "req/s",
        unit: "req/s",
        base: bs.rps,
        new: ns.rps,
        better: Better::Higher,
        method: "block bootstrap over requests per second",
    };
    rows.push(relative_row(f, ci, opts));
    rows.push(error_row(&b.key, bs, ns, opts));
    rows
}

fn relative(base: f64, new: f64) -> Option<f64> {
    (base != 0.0 && base.is_finite() && new.is_finite()).then(|| new / base - 1.0)
}

/// One figure of both runs, before it is judged.
struct Figure<'a> {
    scope: &'a str,
    stat: &'a str,
    unit: &'a str,
    base: f64,
    new: f64,
    better: Better,
    method: &'a str,
}

/// A figure judged by its relative change and that change's interval.
fn relative_row(f: Figure<'_>, ci: Option<(f64, f64)>, opts: &Options) -> Row {
    let Figure {
        scope,
        stat,
        unit,
        base,
        new,
        better,
        method,
    } = f;
    let change = relative(base, new);
    let verdict = match (change, ci) {
        _ if base == new => Verdict::NoChange,
        (Some(c), Some((lo, hi))) => judge(c, lo, hi, opts.threshold, better),
        _ => Verdict::Untested,
    };
    Row {
        scope: scope.to_string(),
        stat: stat.to_string(),
        unit: unit.to_string(),
        base,
        new,
        change_kind: ChangeKind::Relative,
        change,
        low: ci.map(|c| c.0),
        high: ci.map(|c| c.1),
        p_value: None,
        better,
        verdict,
        method: method.to_string(),
    }
}

/// The interval wholly beyond ±threshold, by direction.
fn judge(change: f64, lo: f64, hi: f64, threshold: f64, better: Better) -> Verdict {
    if !(lo > threshold || hi < -threshold) {
        return Verdict::NoChange;
    }
    match (better, change > 0.0) {
        (Better::Lower, true) | (Better::Higher, false) => Verdict::Regressed,
        (Better::Lower, false) | (Better::Higher, true) => Verdict::Improved,
        (Better::Neither, true) => Verdict::Higher,
        (Better::Neither, false) => Verdict::Lower,
    }
}

fn error_row(
    scope: &str,
    b: &crate::load::results::NameStats,
    n: &crate::load::results::NameStats,
    opts: &Options,
) -> Row {
    let (rb, rn) = (b.error_rate(), n.error_rate());
    let t = stats::two_proportions(b.failures, b.requests, n.failures, n.requests, opts.alpha);
    let verdict = match t {
        None => Verdict::Untested,
        Some(t) => {
            // The margin is relative to the base rate: from no failures, any significant
            // rise counts.
            let margin = opts.threshold * rb;
            if t.low > margin {
                Verdict::Regressed
            } else if t.high < -margin {
                Verdict::Improved
            } else {
                Verdict::NoChange
            }
        }
    };
    Row {
        scope: scope.to_string(),
        stat: "error rate".into(),
        unit: "ratio".into(),
        base: rb,
        new: rn,
        change_kind: ChangeKind::Difference,
        change: t.map(|t| t.diff),
        low: t.map(|t| t.low),
        high: t.map(|t| t.high),
        p_value: t.map(|t| t.p),
        better: Better::Lower,
        verdict,
        method: "Newcombe's interval for two proportions, pooled z-test".into(),
    }
}

fn metric_row(b: &MetricData, n: &MetricData, opts: &Options, seed: u64) -> Option<Row> {
    let zero = |v: &[f64]| v.iter().all(|x| *x == 0.0);
    if b.values.is_empty() || n.values.is_empty() || (zero(&b.values) && zero(&n.values)) {
        return None;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (x, y) = (mean(&b.values), mean(&n.values));
    let unit = units::infer(b.unit.as_deref(), &b.query);
    // Only *higher* or *lower*, never a regression: a service's CPU differs between two runs
    // of one configuration by far more than its interval inside either run (measured by
    // scripts/measure-compare on the demo chain: ±15% typical, beyond ±5% with its whole
    // interval in 10 of 20 pairs), so one pair cannot judge a metric series.
    let better = Better::Neither;
    let ci = (b.values.len() >= 4 && n.values.len() >= 4)
        .then(|| {
            stats::bootstrap_change(
                [b.values.len(), n.values.len()],
                relative(x, y).unwrap_or(0.0),
                opts.resamples,
                seed,
                opts.alpha,
                |run, idx| {
                    let v = if run == 0 { &b.values } else { &n.values };
                    (!idx.is_empty())
                        .then(|| idx.iter().map(|i| v[*i]).sum::<f64>() / idx.len() as f64)
                },
            )
        })
        .flatten();
    let label = match &unit {
        Unit::Seconds => "s".to_string(),
        Unit::Millis => "ms".into(),
        Unit::Bytes => "bytes".into(),
        Unit::BytesPerSecond => "bytes/s".into(),
        Unit::Ratio => "ratio".into(),
        Unit::Percent => "%".into(),
        Unit::Cores => "cores".into(),
        Unit::Rate(l) | Unit::Count(l) => l.clone(),
    };
    let f = Figure {
        scope: &b.key,
        stat: "mean",
        unit: &label,
        base: x,
        new: y,
        better,
        method: "block bootstrap over the series' steps",
    };
    Some(relative_row(f, ci, opts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::results::NameStats;
    use crate::splitmix::SplitMix;

    /// A run of one name: `n` seconds of 500 requests with latencies uniform in
    /// `[lo, 1.2·lo]` µs, `failures` failed requests.
    fn run(lo: f64, n: usize, failures: u64, seed: u64) -> RunData {
        let mut rng = SplitMix(seed);
        let mut seconds = Vec::new();
        let mut all = crate::load::stats::histogram();
        for _ in 0..n {
            let mut h = crate::load::stats::histogram();
            for _ in 0..500 {
                let v = (lo * (1.0 + 0.2 * rng.unit())) as u64;
                h.record(v).unwrap();
            }
            all.add(&h).unwrap();
            seconds.push(Sparse::from_hist(&h));
        }
        let q = |q: f64| all.value_at_quantile(q) as f64 / 1000.0;
        let requests = all.len();
        let stats = NameStats {
            method: "GET".into(),
            name: "/".into(),
            requests,
            failures,
            bytes: 0,
            mean_ms: all.mean() / 1000.0,
            min_ms: 0.0,
            max_ms: 0.0,
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            percentiles_ms: Vec::new(),
            rps: requests as f64 / n as f64,
            failures_per_s: 0.0,
            avg_content_size: 0.0,
        };
        RunData {
            label: format!("x/{seed}"),
            dir: "/x".into(),
            experiment: "x".into(),
            started_at: 0.0,
            names: vec![NameData {
                key: "GET /".into(),
                stats: stats.clone(),
                seconds: Some(seconds),
                per_second: vec![500.0 + (seed % 3) as f64; n],
            }],
            metrics: vec![MetricData {
                key: "cpu".into(),
                query: "cpu".into(),
                unit: Some("cores".into()),
                values: (0..n).map(|i| 0.5 + 0.01 * (i % 3) as f64).collect(),
            }],
            p95: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn verdict(c: &Comparison, stat: &str) -> Verdict {
        c.rows
            .iter()
            .find(|r| r.stat == stat)
            .map(|r| r.verdict)
            .unwrap()
    }

    #[test]
    fn a_run_against_itself_and_against_its_twin_changes_nothing() {
        let a = run(10_000.0, 20, 0, 1);
        let c = compare(&a, &a, &Options::default());
        assert!(
            c.rows.iter().all(|r| r.verdict == Verdict::NoChange),
            "{:?}",
            c.rows
        );
        // Another run of the same distribution: within the noise.
        let b = run(10_000.0, 20, 0, 2);
        let c = compare(&a, &b, &Options::default());
        assert_eq!(c.regressions + c.improvements, 0, "{:?}", c.rows);
        assert_eq!(
            c.rows.len(),
            7,
            "6 figures of one name (no Aggregated) and the metric"
        );
        assert!((c.shifts[0].prob_slower - 0.5).abs() < 0.02);
    }

    #[test]
    fn a_thirty_percent_slower_run_regressed_on_latency_and_the_reverse_improved() {
        let a = run(10_000.0, 20, 0, 1);
        let slow = run(13_000.0, 20, 0, 2);
        let c = compare(&a, &slow, &Options::default());
        for stat in ["p50", "p95", "p99", "mean"] {
            assert_eq!(verdict(&c, stat), Verdict::Regressed, "{stat}");
            let r = c.rows.iter().find(|r| r.stat == stat).unwrap();
            let (lo, hi) = (r.low.unwrap(), r.high.unwrap());
            // About +30% (within the histograms' 3 significant digits).
            assert!(lo < 0.31 && hi > 0.29 && lo > 0.2, "{stat}: [{lo}, {hi}]");
        }
        assert!(c.shifts[0].prob_slower > 0.99);
        let c = compare(&slow, &a, &Options::default());
        assert_eq!(verdict(&c, "p95"), Verdict::Improved);
        // A threshold above the change: nothing counts.
        let wide = Options {
            threshold: 0.5,
            ..Options::default()
        };
        assert_eq!(compare(&a, &slow, &wide).regressions, 0);
    }

    #[test]
    fn error_rates_count_from_zero_and_relative_to_the_base_rate() {
        let clean = run(10_000.0, 20, 0, 1);
        let failing = run(10_000.0, 20, 100, 2); // 1% of 10,000
        let c = compare(&clean, &failing, &Options::default());
        assert_eq!(verdict(&c, "error rate"), Verdict::Regressed);
        let row = c.rows.iter().find(|r| r.stat == "error rate").unwrap();
        assert_eq!(row.change_kind, ChangeKind::Difference);
        assert!((row.change.unwrap() - 0.01).abs() < 1e-9);
        // 1.00% against 1.02%: significant at no sample size here, and within 5% of 1%.
        let similar = run(10_000.0, 20, 102, 3);
        let c = compare(&failing, &similar, &Options::default());
        assert_eq!(verdict(&c, "error rate"), Verdict::NoChange);
    }

    #[test]
    fn without_histograms_latency_is_compared_on_percentiles_untested() {
        let a = run(10_000.0, 20, 0, 1);
        let mut old = run(13_000.0, 20, 0, 2);
        old.names[0].seconds = None;
        let c = compare(&a, &old, &Options::default());
        let r = c.rows.iter().find(|r| r.stat == "p95").unwrap();
        assert_eq!(r.verdict, Verdict::Untested);
        assert!(r.change.unwrap() > 0.25);
        assert!(c.shifts.is_empty());
    }
}
