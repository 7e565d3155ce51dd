//! The data the report page's script draws its interactive charts from: each plot's series
//! on one x array (seconds from the load's start, `null` where a series has no point), its
//! unit and levels, and the bands and markers every plot shares; written as compact JSON
//! that is safe inside a `<script>` element.

use serde::Serialize;

use super::charts::{Band, BandKind, Line, Mark};
use super::units::Unit;
use crate::manifest::model::Section;

/// One interactive chart.
#[derive(Debug, Clone, Serialize)]
pub struct Plot {
    pub id: String,
    pub title: String,
    pub section: Section,
    pub unit: Unit,
    /// Named horizontal levels (a target, a threshold).
    pub levels: Vec<(String, f64)>,
    /// Drawn as steps (a count that changes at instants: replicas).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stepped: bool,
    /// The static chart's axis label.
    #[serde(skip)]
    pub y_label: String,
    #[serde(skip)]
    pub lines: Vec<Line>,
}

/// What the page's script receives.
pub struct Data<'a> {
    /// Unix seconds of x = 0, for wall-clock times in tooltips.
    pub origin: Option<f64>,
    pub bands: &'a [Band],
    pub marks: &'a [Mark],
    pub plots: &'a [Plot],
}

/// Values kept to three significant digits, as tooltips and axes show them (`units`).
fn num(v: f64, out: &mut String) {
    if !v.is_finite() {
        out.push_str("null");
        return;
    }
    if v == 0.0 {
        out.push('0');
        return;
    }
    let r: f64 = format!("{v:.2e}").parse().unwrap_or(v);
    let plain = format!("{r}");
    let exp = format!("{r:e}");
    out.push_str(if exp.len() < plain.len() {
        &exp
    } else {
        &plain
    });
}

fn string(s: &str, out: &mut String) {
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}

/// x values shared by a plot's lines (milliseconds resolution), and each line on them.
pub fn align(lines: &[Line]) -> (Vec<f64>, Vec<Vec<Option<f64>>>) {
    let key = |x: f64| (x * 1000.0).round() as i64;
    let mut xs: Vec<i64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| key(p.0)))
        .collect();
    xs.sort_unstable();
    xs.dedup();
    let columns = lines
        .iter()
        .map(|l| {
            let mut col = vec![None; xs.len()];
            for (x, y) in &l.points {
                if let Ok(i) = xs.binary_search(&key(*x)) {
                    col[i] = y.is_finite().then_some(*y);
                }
            }
            col
        })
        .collect();
    (xs.into_iter().map(|x| x as f64 / 1000.0).collect(), columns)
}

/// The step of evenly spaced x values (to the millisecond), when they are.
fn regular(xs: &[f64]) -> Option<f64> {
    if xs.len() < 3 {
        return None;
    }
    let ms: Vec<i64> = xs.iter().map(|x| (x * 1000.0).round() as i64).collect();
    let step = ms[1] - ms[0];
    (step > 0 && ms.windows(2).all(|w| w[1] - w[0] == step)).then(|| step as f64 / 1000.0)
}

fn kind(k: BandKind) -> &'static str {
    match k {
        BandKind::Phase => "phase",
        BandKind::Pending => "pending",
        BandKind::Firing => "firing",
    }
}

/// The page's data as JSON, with every `<` escaped so that no text closes the script.
pub fn json(d: &Data<'_>) -> String {
    let mut o = String::with_capacity(1 << 16);
    o.push_str("{\"origin\":");
    match d.origin {
        Some(t) => o.push_str(&format!("{t:.3}")),
        None => o.push_str("null"),
    }
    o.push_str(",\"bands\":[");
    for (i, b) in d.bands.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("{\"name\":");
        string(&b.name, &mut o);
        o.push_str(&format!(",\"kind\":\"{}\",\"start\":", kind(b.kind)));
        num(b.start, &mut o);
        o.push_str(",\"end\":");
        num(b.end, &mut o);
        o.push('}');
    }
    o.push_str("],\"marks\":[");
    for (i, m) in d.marks.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("{\"at\":");
        num(m.at, &mut o);
        o.push_str(",\"label\":");
        string(&m.label, &mut o);
        o.push('}');
    }
    o.push_str("],\"plots\":[");
    for (i, p) in d.plots.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let head = serde_json::to_string(p).unwrap_or_else(|_| "{}".into());
        // The plot's own fields, then its data.
        o.push_str(head.strip_suffix('}').unwrap_or(&head));
        let (xs, cols) = align(&p.lines);
        match regular(&xs) {
            // Evenly spaced (a scrape or a step apart): the start, the step and the count.
            Some(step) => o.push_str(&format!(
                ",\"xs\":{{\"start\":{},\"step\":{},\"n\":{}}}",
                xs[0],
                step,
                xs.len()
            )),
            None => {
                o.push_str(",\"x\":[");
                for (j, x) in xs.iter().enumerate() {
                    if j > 0 {
                        o.push(',');
                    }
                    o.push_str(&format!("{x}"));
                }
                o.push(']');
            }
        }
        o.push_str(",\"series\":[");
        for (j, (l, col)) in p.lines.iter().zip(&cols).enumerate() {
            if j > 0 {
                o.push(',');
            }
            o.push_str("{\"name\":");
            string(&l.name, &mut o);
            o.push_str(",\"values\":[");
            for (k, v) in col.iter().enumerate() {
                if k > 0 {
                    o.push(',');
                }
                num(v.unwrap_or(f64::NAN), &mut o);
            }
            o.push_str("]}");
        }
        o.push_str("]}");
    }
    o.push_str("]}");
    o.replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, points: &[(f64, f64)]) -> Line {
        Line {
            name: name.into(),
            points: points.to_vec(),
        }
    }

    #[test]
    fn lines_meet_on_one_x_array_with_gaps_as_null() {
        let (xs, cols) = align(&[
            line("a", &[(1.0, 10.0), (2.0, 20.0)]),
            line("b", &[(2.0, 5.0), (3.0, f64::NAN)]),
        ]);
        assert_eq!(xs, [1.0, 2.0, 3.0]);
        assert_eq!(cols[0], [Some(10.0), Some(20.0), None]);
        assert_eq!(cols[1], [None, Some(5.0), None]);
    }

    #[test]
    fn evenly_spaced_x_is_a_start_a_step_and_a_count() {
        assert_eq!(regular(&[10.0, 11.0, 12.0, 13.0]), Some(1.0));
        assert_eq!(regular(&[10.0, 11.0, 12.5]), None);
        assert_eq!(regular(&[10.0, 11.0]), None);
    }

    #[test]
    fn json_is_compact_parseable_and_cannot_close_the_script() {
        let plots = [Plot {
            id: "p1".into(),
            title: "</script><script>alert(1)</script>".into(),
            section: Section::System,
            unit: Unit::Bytes,
            levels: vec![("max".into(), 4.0)],
            stepped: false,
            y_label: String::new(),
            lines: vec![line("<b>", &[(0.5, 1_234_567_890.0), (1.0, 0.000_123_456)])],
        }];
        let bands = [Band {
            name: "alert X firing".into(),
            start: 1.0,
            end: 2.0,
            kind: BandKind::Firing,
        }];
        let text = json(&Data {
            origin: Some(1_700_000_000.0),
            bands: &bands,
            marks: &[],
            plots: &plots,
        });
        assert!(!text.contains('<'), "{text}");
        assert!(
            text.contains("1.23e9") && text.contains("1.23e-4"),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["plots"][0]["title"], "</script><script>alert(1)</script>");
        assert_eq!(v["plots"][0]["unit"]["kind"], "bytes");
        assert_eq!(v["plots"][0]["series"][0]["values"][1], 0.000123);
        assert_eq!(v["plots"][0]["x"].to_string(), "[0.5,1]");
        assert_eq!(v["bands"][0]["kind"], "firing");
    }
}
