//! The runs index: every stored run of every experiment under a reports root, newest first,
//! with its date, commit, verdict and key figures, and per experiment a sparkline of p95 and
//! requests/s across its runs. Pure: `run::index` reads the bundles and writes the page.

use std::collections::BTreeMap;

use serde::Serialize;

use super::summary::Summary;
use super::units;

pub const INDEX_TEMPLATE: &str = include_str!("../../templates/index.html.j2");

/// One run as the index lists it.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub experiment: String,
    pub run_id: String,
    /// The run directory, relative to the index.
    pub href: String,
    /// Unix seconds of its first phase (ordering), when known.
    pub started_at: Option<f64>,
    pub date: String,
    pub commit: Option<String>,
    pub dirty: bool,
    pub status: String,
    pub reason: Option<String>,
    pub requests: Option<String>,
    pub rps: Option<String>,
    pub p95: Option<String>,
    pub error_rate: Option<String>,
    pub slos: String,
    /// A campaign's row (its runs are in its own report).
    pub campaign: bool,
    #[serde(skip)]
    pub p95_ms: Option<f64>,
    #[serde(skip)]
    pub rps_value: Option<f64>,
}

/// One experiment's runs and trends.
#[derive(Debug, Clone, Serialize)]
pub struct ExperimentRuns {
    pub name: String,
    pub runs: Vec<RunRow>,
    /// Inline SVG sparklines across its runs, oldest to newest.
    pub p95_trend: String,
    pub rps_trend: String,
    /// Oldest and newest values, as `25.3 ms → 25.5 ms`.
    pub p95_span: String,
    pub rps_span: String,
}

fn span(values: &[f64], unit: &str) -> String {
    match (values.first(), values.last()) {
        (Some(a), Some(b)) if values.len() > 1 => {
            format!("{} → {}", units::human(*a, unit), units::human(*b, unit))
        }
        _ => String::new(),
    }
}

/// What the index template sees.
#[derive(Debug, Clone, Serialize)]
pub struct IndexData {
    pub experiments: Vec<ExperimentRuns>,
    /// Every run, newest first.
    pub runs: Vec<RunRow>,
    pub generated_at: String,
}

/// A relative link to `<experiment>/<run>/report.html`, each segment percent-encoded (so
/// the template may write it as it is).
pub fn href(experiment: &str, run: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!("{}/{}/report.html", enc(experiment), enc(run))
}

/// A run's row from its summary.
pub fn row(s: &Summary, href: String) -> RunRow {
    let started_at = s.phases.first().map(|p| p.started_at);
    let load = s.load.as_ref();
    RunRow {
        experiment: s.experiment.clone(),
        run_id: s.run_id.clone(),
        href,
        started_at,
        date: started_at.map_or_else(|| "–".into(), |t| crate::clock::iso(t as u64)),
        commit: s.git.as_ref().map(|g| g.commit.chars().take(12).collect()),
        dirty: s.git.as_ref().is_some_and(|g| g.dirty),
        status: s.status.clone(),
        reason: s.reason.clone(),
        requests: load.map(|l| units::human(l.requests as f64, "")),
        rps: load.map(|l| units::human(l.rps, "req/s")),
        p95: load.map(|l| units::human(l.p95_ms, "ms")),
        error_rate: load.map(|l| units::human(l.error_rate, "ratio")),
        slos: format!(
            "{} / {}",
            s.slos.iter().filter(|v| v.passed()).count(),
            s.slos.len()
        ),
        campaign: false,
        p95_ms: load.map(|l| l.p95_ms),
        rps_value: load.map(|l| l.rps),
    }
}

/// A row for a run whose summary cannot be read.
pub fn unreadable(experiment: &str, run_id: &str, href: String, why: String) -> RunRow {
    RunRow {
        experiment: experiment.into(),
        run_id: run_id.into(),
        href,
        started_at: None,
        date: "–".into(),
        commit: None,
        dirty: false,
        status: "unreadable".into(),
        reason: Some(why),
        requests: None,
        rps: None,
        p95: None,
        error_rate: None,
        slos: "–".into(),
        campaign: false,
        p95_ms: None,
        rps_value: None,
    }
}

/// A campaign's row: its status and how many of its runs passed.
pub fn campaign_row(c: &crate::campaign::record::CampaignRecord, href: String) -> RunRow {
    let passed = c.runs.iter().filter(|r| r.status == "passed").count();
    RunRow {
        experiment: c.experiment.clone(),
        run_id: c.campaign_id.clone(),
        href,
        started_at: Some(c.started_at),
        date: crate::clock::iso(c.started_at as u64),
        commit: None,
        dirty: false,
        status: c.status.clone(),
        reason: Some(format!(
            "{} of {} runs, {passed} passed",
            c.kind,
            c.runs.len()
        )),
        requests: None,
        rps: None,
        p95: None,
        error_rate: None,
        slos: format!("{passed} / {} runs", c.runs.len()),
        campaign: true,
        p95_ms: None,
        rps_value: None,
    }
}

/// A sparkline of values (oldest first) as a small inline SVG; empty with fewer than two.
pub fn sparkline(values: &[f64], title: &str) -> String {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 2 {
        return String::new();
    }
    let (w, h, pad) = (120.0, 28.0, 2.0);
    let (lo, hi) = v
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let points: Vec<String> = v
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let px = pad + (w - 2.0 * pad) * i as f64 / (v.len() - 1) as f64;
            let py = h - pad - (h - 2.0 * pad) * (x - lo) / span;
            format!("{px:.1},{py:.1}")
        })
        .collect();
    let esc = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!(
        "<svg class=\"spark\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\"><title>{esc}</title><polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"1.5\" points=\"{}\"/></svg>",
        points.join(" ")
    )
}

/// Groups the rows by experiment, newest first, with their trends.
pub fn build(mut rows: Vec<RunRow>) -> IndexData {
    let newest_first = |a: &RunRow, b: &RunRow| {
        b.started_at
            .unwrap_or(0.0)
            .total_cmp(&a.started_at.unwrap_or(0.0))
            .then_with(|| b.run_id.cmp(&a.run_id))
    };
    rows.sort_by(newest_first);
    let mut by: BTreeMap<String, Vec<RunRow>> = BTreeMap::new();
    for r in &rows {
        by.entry(r.experiment.clone()).or_default().push(r.clone());
    }
    let experiments = by
        .into_iter()
        .map(|(name, runs)| {
            let oldest_first = |f: fn(&RunRow) -> Option<f64>| -> Vec<f64> {
                runs.iter().rev().filter_map(f).collect()
            };
            let p95 = oldest_first(|r| r.p95_ms);
            let rps = oldest_first(|r| r.rps_value);
            ExperimentRuns {
                p95_span: span(&p95, "ms"),
                rps_span: span(&rps, "req/s"),
                p95_trend: sparkline(&p95, &format!("p95 of {name} across {} runs", p95.len())),
                rps_trend: sparkline(&rps, &format!("req/s of {name} across {} runs", rps.len())),
                name,
                runs,
            }
        })
        .collect();
    IndexData {
        experiments,
        runs: rows,
        generated_at: crate::clock::iso(crate::clock::now() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(exp: &str, id: &str, at: f64, p95: f64) -> RunRow {
        let mut row = unreadable(exp, id, format!("{exp}/{id}/report.html"), String::new());
        row.started_at = Some(at);
        row.p95_ms = Some(p95);
        row.rps_value = Some(100.0 + p95);
        row
    }

    #[test]
    fn newest_first_grouped_with_trends_oldest_first() {
        let data = build(vec![
            r("a", "1", 10.0, 5.0),
            r("b", "1", 20.0, 7.0),
            r("a", "2", 30.0, 9.0),
        ]);
        let ids: Vec<String> = data
            .runs
            .iter()
            .map(|r| format!("{}/{}", r.experiment, r.run_id))
            .collect();
        assert_eq!(ids, ["a/2", "b/1", "a/1"]);
        assert_eq!(data.experiments[0].name, "a");
        assert!(data.experiments[0].p95_trend.contains("<polyline"));
        // Oldest (5) at the left and low, newest (9) at the right and high.
        assert!(
            data.experiments[0]
                .p95_trend
                .contains("points=\"2.0,26.0 118.0,2.0\"")
        );
        assert_eq!(data.experiments[1].p95_trend, "", "one run has no trend");
    }

    #[test]
    fn links_are_percent_encoded() {
        assert_eq!(href("a b", "r\"<1>"), "a%20b/r%22%3C1%3E/report.html");
    }

    #[test]
    fn a_title_cannot_open_markup() {
        assert!(!sparkline(&[1.0, 2.0], "<script>").contains("<script>"));
    }
}
