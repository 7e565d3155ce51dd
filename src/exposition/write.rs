//! Writing Prometheus text and OpenMetrics: `# HELP`/`# TYPE` lines, samples with escaped
//! label values, floats as Go (and so Prometheus) prints them, optional timestamps.

use std::fmt::Write as _;

/// A label value with `\`, `"` and newlines escaped, as both formats require.
pub fn escape_label_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A float as Go's `strconv.FormatFloat(f, 'f', -1, 64)` writes it (the shortest text that
/// reads back to the same float, never an exponent), with Prometheus' `NaN`, `+Inf`, `-Inf`.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // Rust's `Display` for f64 is the same shortest round-trip text, `-0` included.
        format!("{v}")
    }
}

/// An exposition being written, line by line.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    /// `# HELP name text`.
    pub fn help(&mut self, name: &str, text: &str) {
        let _ = writeln!(self.out, "# HELP {name} {text}");
    }

    /// `# TYPE name kind` (`counter`, `gauge`, `summary`, `unknown`, …).
    pub fn kind(&mut self, name: &str, kind: &str) {
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// `name{labels} value`; no braces when there are no labels.
    pub fn sample<'a>(
        &mut self,
        name: &str,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
        value: f64,
    ) {
        self.series_sample(&series(name, labels), value, None);
    }

    /// A sample of a series named once with [`series`]: `series value`, and with a
    /// timestamp, OpenMetrics' `seconds.millis` after it.
    pub fn series_sample(&mut self, series: &str, value: f64, timestamp_ms: Option<i64>) {
        let _ = write!(self.out, "{series} {}", format_float(value));
        if let Some(t) = timestamp_ms {
            let _ = write!(
                self.out,
                " {}.{:03}",
                t.div_euclid(1000),
                t.rem_euclid(1000)
            );
        }
        self.out.push('\n');
    }

    /// The OpenMetrics end marker.
    pub fn eof(&mut self) {
        self.out.push_str("# EOF\n");
    }

    /// The text written.
    pub fn finish(self) -> String {
        self.out
    }
}

/// A series as the formats write it: `name{a="1",b="2"}`, or `name` with no labels.
pub fn series<'a>(name: &str, labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = name.to_string();
    let mut first = true;
    for (k, v) in labels {
        out.push(if first { '{' } else { ',' });
        first = false;
        let _ = write!(out, "{k}=\"{}\"", escape_label_value(v));
    }
    if !first {
        out.push('}');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_writes_them() {
        for (v, text) in [
            (1.0, "1"),
            (0.5, "0.5"),
            (-0.0, "-0"),
            (1e21, "1000000000000000000000"),
            (1.5e-7, "0.00000015"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(format_float(v), text);
        }
    }

    #[test]
    fn writes_families_and_escapes() {
        let mut w = Writer::new();
        w.help("x", "An x.");
        w.kind("x", "gauge");
        w.sample("x", [("a", "q\"\\\n")], 2.0);
        w.sample("x", [], 0.25);
        w.series_sample(&series("y", [("b", "1"), ("c", "2")]), 1.0, Some(1500));
        w.eof();
        assert_eq!(
            w.finish(),
            "# HELP x An x.\n# TYPE x gauge\nx{a=\"q\\\"\\\\\\n\"} 2\nx 0.25\ny{b=\"1\",c=\"2\"} 1 1.500\n# EOF\n"
        );
    }
}
