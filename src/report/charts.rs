//! Charts as SVG, drawn with plotters' SVG backend: lines over time with shaded bands (phases,
//! pending and firing alerts) and event markers; one panel, or panels stacked on one time axis.

use super::ReportError;
use plotters::coord::Shift;
use plotters::prelude::*;

/// A named line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    /// `(seconds from the start of the load, value)`.
    pub points: Vec<(f64, f64)>,
}

/// What a band shades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandKind {
    /// A phase of the load (warm-up, cool-down).
    Phase,
    /// An alert was pending.
    Pending,
    /// An alert was firing.
    Firing,
}

/// A shaded time range.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub name: String,
    pub start: f64,
    pub end: f64,
    pub kind: BandKind,
}

/// A vertical marker at a time, with its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub at: f64,
    pub label: String,
}

/// One panel of a stacked chart: its axis label, lines and horizontal levels.
pub struct Panel {
    pub y_label: String,
    pub lines: Vec<Line>,
    /// Named horizontal lines (a controller's target, a threshold).
    pub levels: Vec<(String, f64)>,
}

/// What every panel of a chart shares: the bands and the markers.
pub struct Overlay<'a> {
    pub bands: &'a [Band],
    pub marks: &'a [Mark],
}

pub(super) const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

const WIDTH: u32 = 900;

pub(super) fn draw_err(e: impl std::fmt::Display) -> ReportError {
    ReportError::Chart(e.to_string())
}

/// Draws a line chart with its bands and markers; returns the SVG text.
pub fn lines(
    title: &str,
    y_label: &str,
    lines: Vec<Line>,
    overlay: &Overlay<'_>,
) -> Result<String, ReportError> {
    let panel = Panel {
        y_label: y_label.into(),
        lines,
        levels: Vec::new(),
    };
    stacked(title, std::slice::from_ref(&panel), overlay)
}

/// Draws panels one above the other on one time axis; returns the SVG text.
pub fn stacked(
    title: &str,
    panels: &[Panel],
    overlay: &Overlay<'_>,
) -> Result<String, ReportError> {
    let each = if panels.len() > 1 { 190 } else { 320 };
    let height = each * panels.len().max(1) as u32 + if panels.len() > 1 { 30 } else { 0 };
    let x_max = panels
        .iter()
        .flat_map(|p| p.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)))
        .chain(overlay.bands.iter().map(|b| b.end))
        .fold(1.0f64, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (root, caption) = if panels.len() > 1 {
            let (top, rest) = root.split_vertically(30);
            top.titled(title, ("sans-serif", 18)).map_err(draw_err)?;
            (rest, None)
        } else {
            (root, Some(title))
        };
        let areas = root.split_evenly((panels.len().max(1), 1));
        for (n, (panel, area)) in panels.iter().zip(&areas).enumerate() {
            let last = n + 1 == panels.len();
            draw_panel(area, caption, panel, overlay, x_max, last, n == 0)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

fn y_range(panel: &Panel) -> (f64, f64) {
    let (mut lo, mut hi) = panel
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(panel.levels.iter().map(|l| l.1))
        .filter(|v| v.is_finite())
        .fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    if hi <= lo {
        hi = lo + 1.0;
    }
    hi *= 1.08;
    lo = lo.min(0.0);
    (lo, hi)
}

fn band_color(kind: BandKind, n: usize) -> RGBColor {
    match kind {
        BandKind::Phase if n.is_multiple_of(2) => RGBColor(255, 243, 205),
        BandKind::Phase => RGBColor(220, 235, 250),
        BandKind::Pending => RGBColor(255, 222, 173),
        BandKind::Firing => RGBColor(244, 190, 190),
    }
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    caption: Option<&str>,
    panel: &Panel,
    overlay: &Overlay<'_>,
    x_max: f64,
    x_labels: bool,
    top: bool,
) -> Result<(), ReportError> {
    // Bands and markers are the same in every panel: named and labelled in the top one.
    let mark_labels = top;
    let (y_min, y_max) = y_range(panel);
    let mut builder = ChartBuilder::on(area);
    if let Some(c) = caption {
        builder.caption(c, ("sans-serif", 18));
    }
    let mut chart = builder
        .margin(10)
        .x_label_area_size(if x_labels { 36 } else { 0 })
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, y_min..y_max)
        .map_err(draw_err)?;
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(panel.y_label.as_str())
        .light_line_style(RGBColor(235, 235, 235));
    if x_labels {
        mesh.x_desc("seconds");
    }
    mesh.draw().map_err(draw_err)?;
    let mut named = std::collections::BTreeSet::new();
    for (n, b) in overlay.bands.iter().enumerate() {
        let color = band_color(b.kind, n);
        let series = chart
            .draw_series(std::iter::once(Rectangle::new(
                [(b.start, y_min), (b.end, y_max)],
                color.mix(0.7).filled(),
            )))
            .map_err(draw_err)?;
        if mark_labels && named.insert(b.name.clone()) {
            series.label(b.name.clone()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
            });
        }
    }
    let grey = RGBColor(90, 90, 90);
    for (n, m) in overlay.marks.iter().enumerate() {
        let series = chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(m.at, y_min), (m.at, y_max)],
                grey.stroke_width(1),
            )))
            .map_err(draw_err)?;
        if n == 0 && mark_labels {
            series.label("events").legend(move |(x, y)| {
                PathElement::new(vec![(x + 6, y - 6), (x + 6, y + 6)], grey.stroke_width(1))
            });
        }
        if mark_labels {
            chart
                .draw_series(std::iter::once(Text::new(
                    m.label.clone(),
                    (m.at, y_max),
                    ("sans-serif", 11).into_font(),
                )))
                .map_err(draw_err)?;
        }
    }
    for (name, value) in &panel.levels {
        let style = RGBColor(120, 120, 120).stroke_width(1);
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, *value), (x_max, *value)],
                6,
                4,
                style,
            ))
            .map_err(draw_err)?
            .label(format!("{name} {}", short(*value)))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
    }
    for (i, l) in panel.lines.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(
                l.points.iter().copied().filter(|p| p.1.is_finite()),
                color.stroke_width(2),
            ))
            .map_err(draw_err)?
            .label(l.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

/// A level's value in a few digits.
fn short(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str) -> Line {
        Line {
            name: name.into(),
            points: vec![(0.0, 1.0), (1.0, 2.0)],
        }
    }

    #[test]
    fn draws_and_escapes_labels() {
        let bands = [Band {
            name: "warm-up".into(),
            start: 0.0,
            end: 0.5,
            kind: BandKind::Phase,
        }];
        let overlay = Overlay {
            bands: &bands,
            marks: &[],
        };
        let svg = lines(
            "latency",
            "ms",
            vec![line("<script>alert(1)</script>")],
            &overlay,
        )
        .unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(!svg.contains("<script>"), "labels must be escaped");
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn stacked_panels_share_the_marks_and_name_each_band_once() {
        let bands: Vec<Band> = [(1.0, 2.0), (3.0, 4.0)]
            .iter()
            .map(|&(start, end)| Band {
                name: "alert Slow firing".into(),
                start,
                end,
                kind: BandKind::Firing,
            })
            .collect();
        let marks = [Mark {
            at: 1.5,
            label: "web 1 → 2".into(),
        }];
        let overlay = Overlay {
            bands: &bands,
            marks: &marks,
        };
        let panels: Vec<Panel> = ["replicas", "requests/s", "ms"]
            .iter()
            .map(|y| Panel {
                y_label: (*y).into(),
                lines: vec![line(y)],
                levels: vec![("target".into(), 0.45)],
            })
            .collect();
        let svg = stacked("scaling of web", &panels, &overlay).unwrap();
        assert_eq!(
            svg.matches("alert Slow firing").count(),
            1,
            "in the top legend"
        );
        assert_eq!(
            svg.matches("web 1 → 2").count(),
            1,
            "labelled in the top panel"
        );
        assert_eq!(svg.matches("target 0.45").count(), 3);
        let axis = svg.lines().filter(|l| l.trim() == "seconds").count();
        assert_eq!(axis, 1, "one time axis, at the bottom");
    }
}
