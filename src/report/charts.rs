//! Charts as SVG, drawn with plotters' SVG backend: lines over time, with phase bands.

use super::ReportError;
use plotters::prelude::*;

/// A named line.
pub struct Line {
    pub name: String,
    /// `(seconds from the start of the load, value)`.
    pub points: Vec<(f64, f64)>,
}

/// A shaded time range (warm-up, cool-down).
pub struct Band {
    pub name: String,
    pub start: f64,
    pub end: f64,
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn draw_err(e: impl std::fmt::Display) -> ReportError {
    ReportError::Chart(e.to_string())
}

/// Draws a line chart; returns the SVG text.
pub fn lines(
    title: &str,
    y_label: &str,
    lines: &[Line],
    bands: &[Band],
) -> Result<String, ReportError> {
    lines_with_events(title, y_label, lines, bands, &[])
}

/// Draws a line chart with vertical event markers at `(seconds, label)`.
pub fn lines_with_events(
    title: &str,
    y_label: &str,
    lines: &[Line],
    bands: &[Band],
    events: &[(f64, String)],
) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let x_max = lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.0))
            .chain(bands.iter().map(|b| b.end))
            .fold(1.0f64, f64::max);
        let (mut y_min, mut y_max) = lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .filter(|v| v.is_finite())
            .fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        if y_max <= y_min {
            y_max = y_min + 1.0;
        }
        y_max *= 1.08;
        y_min = y_min.min(0.0);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, y_min..y_max)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("seconds")
            .y_desc(y_label)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(draw_err)?;
        for (i, b) in bands.iter().enumerate() {
            let color = if i % 2 == 0 {
                RGBColor(255, 243, 205)
            } else {
                RGBColor(220, 235, 250)
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(b.start, y_min), (b.end, y_max)],
                    color.filled(),
                )))
                .map_err(draw_err)?
                .label(b.name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        for (n, (t, label)) in events.iter().enumerate() {
            let style = RGBColor(90, 90, 90).stroke_width(1);
            let series = chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(*t, y_min), (*t, y_max)],
                    style,
                )))
                .map_err(draw_err)?;
            if n == 0 {
                series.label("events").legend(move |(x, y)| {
                    PathElement::new(vec![(x + 6, y - 6), (x + 6, y + 6)], style)
                });
            }
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (*t, y_max),
                    ("sans-serif", 11).into_font(),
                )))
                .map_err(draw_err)?;
        }
        for (i, l) in lines.iter().enumerate() {
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
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_and_escapes_labels() {
        let svg = lines(
            "latency",
            "ms",
            &[Line {
                name: "<script>alert(1)</script>".into(),
                points: vec![(0.0, 1.0), (1.0, 2.0)],
            }],
            &[Band {
                name: "warm-up".into(),
                start: 0.0,
                end: 0.5,
            }],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(!svg.contains("<script>"), "labels must be escaped");
        assert!(svg.contains("&lt;script&gt;"));
    }
}
