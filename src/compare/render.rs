//! A comparison as people read it (pure): rows with their figures as text, the terminal
//! table, and the data of the Markdown and HTML templates (`templates/compare.{md,html}.j2`),
//! with the runs' p95 over time as a Mermaid chart for pull-request comments.

use serde::Serialize;

use super::judge::{ChangeKind, Comparison, Row, Verdict};
use crate::report::units;

pub const MD_TEMPLATE: &str = include_str!("../../templates/compare.md.j2");
pub const HTML_TEMPLATE: &str = include_str!("../../templates/compare.html.j2");

/// A row as text (the same as summary.json keeps for a baseline's comparison).
pub use crate::report::summary::ComparedRow as RowView;

/// One comparison's page data.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub base: String,
    pub new: String,
    pub confidence: String,
    pub threshold: String,
    pub regressions: usize,
    pub improvements: usize,
    pub headline: String,
    pub rows: Vec<RowView>,
    pub shifts: Vec<ShiftView>,
    pub notes: Vec<String>,
    pub mermaid: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShiftView {
    pub scope: String,
    pub prob_slower: String,
    pub rank_biserial: String,
    pub p_value: String,
}

fn value(r: &Row, v: f64) -> String {
    match r.unit.as_str() {
        "ratio" => format!("{:.2}%", v * 100.0),
        "" => format!("{}", (v * 1000.0).round() / 1000.0),
        u => units::human(v, u),
    }
}

fn change(kind: ChangeKind, c: f64) -> String {
    match kind {
        ChangeKind::Relative => format!("{:+.1}%", c * 100.0),
        ChangeKind::Difference => format!("{:+.2} pp", c * 100.0),
    }
}

pub fn row_view(r: &Row) -> RowView {
    RowView {
        scope: r.scope.clone(),
        stat: r.stat.clone(),
        base: value(r, r.base),
        new: value(r, r.new),
        change: r.change.map_or("–".into(), |c| change(r.change_kind, c)),
        interval: match (r.low, r.high) {
            (Some(l), Some(h)) => format!(
                "[{}, {}]",
                change(r.change_kind, l),
                change(r.change_kind, h)
            ),
            _ => "–".into(),
        },
        verdict: r.verdict.text().into(),
        class: String::from(match r.verdict {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::NoChange => "same",
            Verdict::Higher | Verdict::Lower => "changed",
            Verdict::Untested => "untested",
        }),
    }
}

pub fn headline(c: &Comparison) -> String {
    match (c.regressions, c.improvements) {
        (0, 0) => "no significant change".into(),
        (r, 0) => format!("{r} regression(s)"),
        (0, i) => format!("{i} improvement(s)"),
        (r, i) => format!("{r} regression(s), {i} improvement(s)"),
    }
}

pub fn view(c: &Comparison) -> View {
    View {
        base: c.base.clone(),
        new: c.new.clone(),
        confidence: format!("{:.0}%", c.confidence * 100.0),
        threshold: format!("{}%", (c.threshold * 1000.0).round() / 10.0),
        regressions: c.regressions,
        improvements: c.improvements,
        headline: headline(c),
        rows: c.rows.iter().map(row_view).collect(),
        shifts: c
            .shifts
            .iter()
            .map(|s| ShiftView {
                scope: s.scope.clone(),
                prob_slower: format!("{:.3}", s.prob_slower),
                rank_biserial: format!("{:+.3}", s.rank_biserial),
                p_value: format!("{:.3}", s.p_value),
            })
            .collect(),
        notes: c.notes.clone(),
        mermaid: chart(c),
    }
}

/// Both runs' p95 per second on one chart, as the run report draws its latency.
fn chart(c: &Comparison) -> Option<String> {
    use crate::report::charts::Line;
    let line = |name: &str, v: &[f64]| Line {
        name: name.into(),
        points: v.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect(),
    };
    let plot = crate::report::page::Plot {
        id: "p95".into(),
        title: "p95 latency per second, base and new".into(),
        section: crate::manifest::model::Section::Load,
        unit: units::Unit::Millis,
        levels: Vec::new(),
        stepped: false,
        y_label: String::new(),
        lines: vec![line("base", &c.p95_base), line("new", &c.p95_new)],
    };
    crate::report::mermaid::block(&plot).map(|b| b.code)
}

/// The terminal table of one comparison.
pub fn table(c: &Comparison) -> String {
    let v = view(c);
    let mut s = format!(
        "base {}  →  new {}: {} ({} intervals; a change counts when significant and beyond {})\n\n",
        v.base, v.new, v.headline, v.confidence, v.threshold
    );
    let head = [
        "scope", "stat", "base", "new", "change", "interval", "verdict",
    ];
    let cells: Vec<[String; 7]> = v
        .rows
        .iter()
        .map(|r| {
            [
                r.scope.clone(),
                r.stat.clone(),
                r.base.clone(),
                r.new.clone(),
                r.change.clone(),
                r.interval.clone(),
                r.verdict.clone(),
            ]
        })
        .collect();
    let mut width = head.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count()).min(48);
        }
    }
    let line = |cols: &[String]| {
        let mut l = String::new();
        for (i, (c, w)) in cols.iter().zip(width).enumerate() {
            let c: String = c.chars().take(w).collect();
            let pad = w - c.chars().count();
            // Names left, figures right.
            if i < 2 || i == 6 {
                l.push_str(&c);
                l.push_str(&" ".repeat(pad));
            } else {
                l.push_str(&" ".repeat(pad));
                l.push_str(&c);
            }
            l.push_str("  ");
        }
        l.trim_end().to_string() + "\n"
    };
    s.push_str(&line(&head.map(String::from)));
    for row in &cells {
        s.push_str(&line(row));
    }
    if !v.shifts.is_empty() {
        s.push_str("\nLatency distributions (Mann–Whitney; its p assumes independent requests):\n");
        for sh in &v.shifts {
            s.push_str(&format!(
                "  {}: P(new slower) {}, rank-biserial {}, p {}\n",
                sh.scope, sh.prob_slower, sh.rank_biserial, sh.p_value
            ));
        }
    }
    for n in &v.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s
}

/// Markdown of all comparisons, within a pull-request comment's size (charts go first).
pub fn markdown(cs: &[Comparison]) -> Result<String, crate::report::ReportError> {
    let mut views: Vec<View> = cs.iter().map(view).collect();
    loop {
        let text = crate::report::render::render(
            &serde_json::json!({ "comparisons": views }),
            "compare.md.j2",
            MD_TEMPLATE,
            None,
        )?;
        let limit = crate::report::render::COMMENT_LIMIT;
        if text.chars().count() <= limit {
            return Ok(text);
        }
        if let Some(v) = views.iter_mut().rev().find(|v| v.mermaid.is_some()) {
            v.mermaid = None;
            continue;
        }
        let note = "\n\n… cut here to stay within a pull-request comment's 65,536 characters; see `soy compare --format html`.\n";
        let keep = limit - note.chars().count();
        return Ok(text.chars().take(keep).collect::<String>() + note);
    }
}

pub fn html(cs: &[Comparison]) -> Result<String, crate::report::ReportError> {
    let views: Vec<View> = cs.iter().map(view).collect();
    crate::report::render::render(
        &serde_json::json!({ "comparisons": views }),
        "compare.html.j2",
        HTML_TEMPLATE,
        None,
    )
}
