//! The report's correlation charts: for each of the strongest findings, its system series
//! and its application series as measured, one above the other on the run's time axis.

use super::charts::{Line, Panel};
use super::page::Plot;
use super::units;
use crate::analysis::signals::{Correlation, Relation, Signals};
use crate::manifest::model::Section;

/// Findings charted, strongest first.
pub const CHARTED: usize = 3;

/// One finding's chart: its words and its two panels.
pub struct Pair {
    pub title: String,
    pub plots: Vec<Plot>,
}

/// The charts of the strongest finding of each of the first `CHARTED` system series
/// (latency and errors before throughput).
pub fn pairs(c: &Correlation, s: &Signals) -> Vec<Pair> {
    let times = s.times();
    // The strongest finding of each system series, so three charts show three suspects;
    // one with latency or errors before one with a throughput (a service's CPU following
    // the requests it serves is expected, its CPU moving with the latency is the question).
    let rate = |name: &str| {
        s.units.get(name).is_some_and(|u| {
            matches!(
                units::infer(u.unit.as_deref(), &u.metric),
                units::Unit::Rate(_)
            )
        })
    };
    let mut ordered: Vec<_> = c.findings.iter().collect();
    ordered.sort_by_key(|f| rate(&f.application));
    let mut seen: Vec<&str> = Vec::new();
    let strongest: Vec<_> = ordered
        .into_iter()
        .filter(|f| {
            let new = !seen.contains(&f.system.as_str());
            if new {
                seen.push(&f.system);
            }
            new
        })
        .take(CHARTED)
        .collect();
    strongest
        .into_iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let plot = |name: &str, n: usize, section: Section| -> Option<Plot> {
                let series = s.series(name)?;
                let unit = s
                    .units
                    .get(name)
                    .map(|u| units::infer(u.unit.as_deref(), &u.metric))
                    .unwrap_or(units::Unit::Count(String::new()));
                Some(Plot {
                    id: format!("relation-{i}-{n}"),
                    title: name.to_string(),
                    section,
                    y_label: name.to_string(),
                    unit,
                    levels: Vec::new(),
                    stepped: false,
                    lines: vec![Line {
                        name: name.to_string(),
                        points: times.iter().copied().zip(series.values.clone()).collect(),
                    }],
                })
            };
            Some(Pair {
                title: f.text.clone(),
                plots: vec![
                    plot(&f.system, 0, Section::System)?,
                    plot(&f.application, 1, Section::Application)?,
                ],
            })
        })
        .collect()
}

/// A pair's panels for the static chart.
pub fn panels(p: &Pair) -> Vec<Panel> {
    p.plots
        .iter()
        .map(|pl| Panel {
            y_label: pl.y_label.clone(),
            lines: pl.lines.clone(),
            levels: Vec::new(),
        })
        .collect()
}

/// Whether a relation is a finding under the correlation's own thresholds.
pub fn is_finding(c: &Correlation, r: &Relation) -> bool {
    r.p_value < c.alpha && r.spearman.abs() >= c.min_rho
}

fn p_text(p: f64) -> String {
    if p < 1e-4 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

fn heading(label: &str, c: &Correlation) -> String {
    let grid = if c.step_s == 0.0 {
        format!("{} points", c.steps)
    } else {
        format!("{} steps of {} s, lags ±{}", c.steps, c.step_s, c.max_lag)
    };
    format!(
        "{label}: {} system × {} application series, {grid}; detrended on the load and time; shown when p < {} and |ρ| ≥ {}",
        c.system_series.len(),
        c.application_series.len(),
        c.alpha,
        c.min_rho
    )
}

/// `soy correlate`'s table for the terminal.
pub fn table(label: &str, c: &Correlation) -> String {
    let mut out = heading(label, c) + "\n";
    if let Some(n) = &c.note {
        out.push_str(&format!("note: {n}\n"));
    }
    if c.findings.is_empty() {
        out.push_str("no finding: no system series moved with an application series beyond what the load explains\n");
        return out;
    }
    let rows: Vec<[String; 6]> = c
        .findings
        .iter()
        .map(|f| {
            [
                f.text.clone(),
                format!("{} s", f.lag_s),
                format!("{:.2}", f.spearman),
                format!("{:.2}", f.pearson),
                p_text(f.p_value),
                if is_finding(c, f) { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    let head = ["relation", "lag", "ρ", "r", "p", "finding"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([head[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..6).map(width).collect();
    let line = |cells: &[&str]| -> String {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i == 0 {
                l.push_str(cell);
                l.push_str(&" ".repeat(pad));
            } else {
                l.push_str("  ");
                l.push_str(&" ".repeat(pad));
                l.push_str(cell);
            }
        }
        l.trim_end().to_string() + "\n"
    };
    out.push_str(&line(&head));
    for r in &rows {
        out.push_str(&line(&r.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    out
}

/// `soy correlate --format md`.
pub fn markdown(label: &str, c: &Correlation) -> String {
    let md = |s: &str| s.replace('|', "\\|");
    let mut out = format!(
        "## soy correlate {}\n\n{}\n\n",
        md(label),
        md(&heading(label, c))
    );
    if let Some(n) = &c.note {
        out.push_str(&format!("> {}\n\n", md(n)));
    }
    if c.findings.is_empty() {
        out.push_str(
            "No system series moved with an application series beyond what the load explains.\n",
        );
        return out;
    }
    out.push_str(
        "| relation | lag | ρ | r | p | finding |\n| --- | ---: | ---: | ---: | ---: | --- |\n",
    );
    for f in &c.findings {
        out.push_str(&format!(
            "| {} | {} s | {:.2} | {:.2} | {} | {} |\n",
            md(&f.text),
            f.lag_s,
            f.spearman,
            f.pearson,
            p_text(f.p_value),
            if is_finding(c, f) { "yes" } else { "no" }
        ));
    }
    out
}
