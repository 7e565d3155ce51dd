//! Charts GitHub draws inside a pull-request comment: Mermaid `xychart-beta` blocks, each
//! line resampled to at most `POINTS` points, values in the plot's unit scaled to a readable
//! magnitude, every text stripped of what could break out of Mermaid's quotes.

use serde::Serialize;

use super::page::{Plot, align};
use super::units::{self, Unit};

/// Points per line: enough for a shape, few enough for a comment.
pub const POINTS: usize = 60;
/// Lines per chart (a Mermaid xychart has no legend; the names are listed under it).
pub const LINES: usize = 6;

/// One chart as the Markdown shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Block {
    pub title: String,
    /// The fenced block, `mermaid` included.
    pub code: String,
    /// The lines' names, in drawing order.
    pub names: Vec<String>,
    /// Lines left out of the chart.
    pub omitted: usize,
    /// A chart of the load (shown first, outside the metrics' fold).
    pub load: bool,
}

/// Text safe inside Mermaid's double quotes and in Markdown.
fn text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' | '`' => '\'',
            '<' | '>' | '[' | ']' | '{' | '}' | '\n' | '\r' | '#' | ';' => ' ',
            c => c,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// How a unit's values are written on the y axis: a divisor and its label.
fn scale(unit: &Unit, max: f64) -> (f64, String) {
    let shown = units::format(max, unit);
    let label = shown
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '-')
        .trim()
        .to_string();
    let ratio = match unit {
        Unit::Ratio => 0.01,
        _ => {
            let number: f64 = shown
                .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(max);
            if number != 0.0 && max != 0.0 {
                max / number
            } else {
                1.0
            }
        }
    };
    (ratio, label)
}

/// Each bucket's mean of a line's values (`None` where a bucket has none: carried from the
/// bucket before, as a line cannot have holes).
fn resample(values: &[Option<f64>], buckets: usize) -> Vec<f64> {
    let n = values.len();
    let buckets = buckets.min(n);
    let mut out = Vec::with_capacity(buckets);
    let mut last = 0.0;
    for b in 0..buckets {
        let bucket = &values[b * n / buckets..(b + 1) * n / buckets];
        let got: Vec<f64> = bucket.iter().flatten().copied().collect();
        if !got.is_empty() {
            last = got.iter().sum::<f64>() / got.len() as f64;
        }
        out.push(last);
    }
    out
}

fn short(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// A plot as a Mermaid xychart; `None` when it has no values.
pub fn block(p: &Plot) -> Option<Block> {
    let (xs, cols) = align(&p.lines);
    let (x0, x1) = (*xs.first()?, *xs.last()?);
    let max = cols
        .iter()
        .flatten()
        .flatten()
        .fold(f64::NAN, |m, v| if v.is_finite() { m.max(*v) } else { m });
    if !max.is_finite() {
        return None;
    }
    let (div, label) = scale(&p.unit, max.abs().max(f64::MIN_POSITIVE));
    let title = text(p.title.split(" — ").next().unwrap_or(&p.title));
    let mut code = format!(
        "```mermaid\nxychart-beta\n    title \"{title}\"\n    x-axis \"seconds\" {} --> {}\n    y-axis \"{}\"\n",
        short(x0),
        short(x1),
        text(&label)
    );
    let mut names = Vec::new();
    for (l, col) in p.lines.iter().zip(&cols).take(LINES) {
        let values: Vec<String> = resample(col, POINTS)
            .into_iter()
            .map(|v| short(v / div))
            .collect();
        code.push_str(&format!("    line [{}]\n", values.join(", ")));
        names.push(text(&l.name));
    }
    code.push_str("```");
    Some(Block {
        title,
        code,
        names,
        omitted: p.lines.len().saturating_sub(LINES),
        load: p.section == crate::manifest::model::Section::Load,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::model::Section;
    use crate::report::charts::Line;

    fn plot(title: &str, unit: Unit, lines: Vec<Line>) -> Plot {
        Plot {
            id: "p".into(),
            title: title.into(),
            section: Section::Load,
            unit,
            levels: Vec::new(),
            stepped: false,
            y_label: String::new(),
            lines,
        }
    }

    #[test]
    fn a_latency_chart_in_ms_with_its_lines_named() {
        let pts = |f: f64| (1..=120).map(|s| (s as f64, f * s as f64)).collect();
        let p = plot(
            "latency percentiles per second",
            Unit::Millis,
            vec![
                Line {
                    name: "p50".into(),
                    points: pts(0.1),
                },
                Line {
                    name: "p95 \"<script>\"".into(),
                    points: pts(0.2),
                },
            ],
        );
        let b = block(&p).expect("a block");
        insta::assert_snapshot!(b.code);
        assert_eq!(b.names, ["p50", "p95 ' script '"]);
    }

    #[test]
    fn bytes_are_scaled_and_a_title_cannot_break_out() {
        let p = plot(
            "mem\"]\n```\n<img src=x onerror=alert(1)>",
            Unit::Bytes,
            vec![Line {
                name: "api".into(),
                points: vec![(0.0, 1.5e9), (1.0, 1.8e9)],
            }],
        );
        let b = block(&p).expect("a block");
        assert!(b.code.contains("y-axis \"GB\""), "{}", b.code);
        assert!(b.code.contains("line [1.5, 1.8]"), "{}", b.code);
        assert_eq!(b.code.matches("```").count(), 2, "{}", b.code);
        assert!(
            !b.code.contains('<') && !b.code.contains("\"]"),
            "{}",
            b.code
        );
    }
}
