//! A parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text.
//!
//! Each line is read once, left to right, so parsing is linear in the input's length. A
//! malformed line is skipped and recorded in [`Parsed::errors`]; nothing is fatal.
//!
//! Accepted, per line (CRLF or LF endings; leading and trailing spaces and tabs ignored):
//!
//! - blank lines; comments: `# HELP name text`, `# TYPE name type` (recorded in
//!   [`Parsed::types`]), `# UNIT name unit`, any other `#` line; in OpenMetrics `# EOF` ends
//!   the input;
//! - samples: `name[{label="value",…}] value [timestamp] [# {labels} value [timestamp]]`.
//!   Names match `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*`; label values
//!   are any UTF-8 with `\\`, `\"` and `\n` escapes (another backslash sequence is kept as
//!   written, as Prometheus does); `{}` and a trailing comma are allowed; a label named twice
//!   is an error. Values are decimal floats with optional exponent, `NaN`, `Inf`, `+Inf`,
//!   `-Inf` (case-insensitive; hexadecimal is refused). Timestamps are integer milliseconds
//!   in the Prometheus format and float seconds in OpenMetrics (converted to milliseconds,
//!   truncated as Prometheus does, but exactly for decimal input). An OpenMetrics exemplar
//!   after the sample is checked and ignored.

use std::collections::BTreeMap;

use super::{Labels, NAME_LABEL};

/// What a text exposition held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// The samples, in input order.
    pub samples: Vec<Sample>,
    /// The lines skipped, with why.
    pub errors: Vec<LineError>,
    /// Metric family name → type, from `# TYPE` lines.
    pub types: BTreeMap<String, String>,
}

/// One sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Labels sorted by name, the metric name as `__name__` included.
    pub labels: Labels,
    /// The value.
    pub value: f64,
    /// The sample's own timestamp, in milliseconds, when the exposition gave one.
    pub timestamp_ms: Option<i64>,
}

/// A malformed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The line number, from 1.
    pub line: usize,
    /// What is wrong, with the column (from 1, in characters) where it was found.
    pub message: String,
}

/// Parses an exposition, as OpenMetrics when it has a `# EOF` line and as the Prometheus
/// text format otherwise.
pub fn parse(text: &str) -> Parsed {
    let openmetrics = text
        .split('\n')
        .any(|l| l.trim_end_matches([' ', '\t', '\r']) == "# EOF");
    parse_with(text, openmetrics)
}

/// Parses an exposition in the format the caller names.
pub fn parse_with(text: &str, openmetrics: bool) -> Parsed {
    let mut parsed = Parsed::default();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let line = line.trim_matches([' ', '\t']);
        if line.is_empty() {
            continue;
        }
        let mut cursor = Cursor {
            line,
            pos: 0,
            openmetrics,
        };
        let result = if line.starts_with('#') {
            if openmetrics && line == "# EOF" {
                break;
            }
            cursor.comment(&mut parsed.types)
        } else {
            cursor.sample().map(|s| parsed.samples.push(s))
        };
        if let Err(message) = result {
            let column = line.get(..cursor.pos).map_or(0, |s| s.chars().count()) + 1;
            parsed.errors.push(LineError {
                line: i + 1,
                message: format!("column {column}: {message}"),
            });
        }
    }
    parsed
}

const PROMETHEUS_TYPES: &[&str] = &["counter", "gauge", "histogram", "summary", "untyped"];
const OPENMETRICS_TYPES: &[&str] = &[
    "counter",
    "gauge",
    "histogram",
    "gaugehistogram",
    "stateset",
    "info",
    "summary",
    "unknown",
];

/// A position in one line; every method moves forward only.
struct Cursor<'a> {
    line: &'a str,
    pos: usize,
    openmetrics: bool,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.line.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<u8> {
        self.line.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.line.len()
    }

    /// Skips spaces and tabs; whether there were any.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// The bytes up to the next space or tab.
    fn token(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest.find([' ', '\t']).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// An identifier whose first byte satisfies `first` and the others `other`.
    fn ident(&mut self, first: fn(u8) -> bool, other: fn(u8) -> bool) -> Option<&'a str> {
        let rest = self.rest();
        let bytes = rest.as_bytes();
        if !bytes.first().is_some_and(|&b| first(b)) {
            return None;
        }
        let len = bytes.iter().skip(1).take_while(|&&b| other(b)).count() + 1;
        self.pos += len;
        Some(&rest[..len])
    }

    fn metric_name(&mut self) -> Option<&'a str> {
        self.ident(
            |b| b.is_ascii_alphabetic() || b == b'_' || b == b':',
            |b| b.is_ascii_alphanumeric() || b == b'_' || b == b':',
        )
    }

    fn label_name(&mut self) -> Option<&'a str> {
        self.ident(
            |b| b.is_ascii_alphabetic() || b == b'_',
            |b| b.is_ascii_alphanumeric() || b == b'_',
        )
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {what}, found {}", self.found()))
        }
    }

    /// A short description of what is at the cursor, for messages.
    fn found(&self) -> String {
        match self.rest().chars().next() {
            None => "the end of the line".to_string(),
            Some(_) => format!("{:?}", snippet(self.rest())),
        }
    }

    /// A `#` line: HELP, TYPE and UNIT are checked, TYPE recorded; others are ignored.
    fn comment(&mut self, types: &mut BTreeMap<String, String>) -> Result<(), String> {
        self.pos = 1;
        if !self.skip_ws() {
            return Ok(());
        }
        let keyword = self.token();
        if !matches!(keyword, "HELP" | "TYPE" | "UNIT") {
            return Ok(());
        }
        self.skip_ws();
        let name = self.metric_name().ok_or_else(|| {
            format!(
                "expected a metric name after {keyword}, found {}",
                self.found()
            )
        })?;
        if !self.at_end() && !self.skip_ws() {
            return Err(format!("invalid metric name, found {}", self.found()));
        }
        if keyword != "TYPE" {
            return Ok(());
        }
        let kind_at = self.pos;
        let kind = self.token();
        self.skip_ws();
        let known = if self.openmetrics {
            OPENMETRICS_TYPES
        } else {
            PROMETHEUS_TYPES
        };
        if !known.contains(&kind) || !self.at_end() {
            self.pos = kind_at;
            return Err(format!(
                "unknown metric type {:?} (expected one of {})",
                snippet(self.rest()),
                known.join(", ")
            ));
        }
        if let Some(previous) = types.get(name) {
            return Err(format!(
                "a second TYPE line for {name} (already {previous}); the first is kept"
            ));
        }
        types.insert(name.to_string(), kind.to_string());
        Ok(())
    }

    /// A sample line.
    fn sample(&mut self) -> Result<Sample, String> {
        let name = self
            .metric_name()
            .ok_or_else(|| format!("expected a metric name, found {}", self.found()))?;
        let spaced = self.skip_ws();
        let mut labels: Labels = vec![(NAME_LABEL.to_string(), name.to_string())];
        if self.peek() == Some(b'{') {
            self.label_set(&mut labels)?;
        } else if !spaced && !self.at_end() {
            return Err(format!("invalid metric name, found {}", self.found()));
        }
        self.skip_ws();
        let value = self.value()?;
        let timestamp_ms = self.timestamp_and_exemplar()?;
        labels.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = labels.windows(2).find(|w| w[0].0 == w[1].0) {
            self.pos = 0;
            return Err(format!("label {:?} appears twice", snippet(&w[0].0)));
        }
        Ok(Sample {
            labels,
            value,
            timestamp_ms,
        })
    }

    /// `{name="value",…}`, a trailing comma allowed.
    fn label_set(&mut self, labels: &mut Labels) -> Result<(), String> {
        self.expect(b'{', "'{'")?;
        loop {
            self.skip_ws();
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(());
            }
            let name = self
                .label_name()
                .ok_or_else(|| format!("expected a label name or '}}', found {}", self.found()))?;
            self.skip_ws();
            self.expect(b'=', "'=' after the label name")?;
            self.skip_ws();
            let value = self.label_value()?;
            labels.push((name.to_string(), value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return Err(format!("expected ',' or '}}', found {}", self.found())),
            }
        }
    }

    /// A quoted label value, unescaped.
    fn label_value(&mut self) -> Result<String, String> {
        self.expect(b'"', "'\"' opening the label value")?;
        let start = self.pos;
        let bytes = self.line.as_bytes();
        let mut out = String::new();
        let mut segment = self.pos;
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b'"' => {
                    out.push_str(&self.line[segment..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.line[segment..self.pos]);
                    match bytes.get(self.pos + 1) {
                        Some(b'\\') => out.push('\\'),
                        Some(b'"') => out.push('"'),
                        Some(b'n') => out.push('\n'),
                        // Kept as written: the backslash now, the character with the next segment.
                        _ => {
                            out.push('\\');
                            self.pos += 1;
                            segment = self.pos;
                            continue;
                        }
                    }
                    self.pos += 2;
                    segment = self.pos;
                }
                _ => self.pos += 1,
            }
        }
        self.pos = start.saturating_sub(1);
        Err("unterminated label value (no closing '\"')".to_string())
    }

    /// The sample's value.
    fn value(&mut self) -> Result<f64, String> {
        let at = self.pos;
        let token = self.token();
        if token.is_empty() {
            return Err(format!("expected a value, found {}", self.found()));
        }
        parse_float(token).ok_or_else(|| {
            self.pos = at;
            format!("invalid value {:?}", snippet(token))
        })
    }

    /// The optional timestamp, then an optional exemplar (checked, then ignored).
    fn timestamp_and_exemplar(&mut self) -> Result<Option<i64>, String> {
        let mut timestamp = None;
        if self.skip_ws() && !self.at_end() && self.peek() != Some(b'#') {
            timestamp = Some(self.timestamp()?);
            self.skip_ws();
        }
        if self.peek() == Some(b'#') {
            self.exemplar()?;
        }
        if !self.at_end() {
            return Err(format!("unexpected {} after the sample", self.found()));
        }
        Ok(timestamp)
    }

    fn timestamp(&mut self) -> Result<i64, String> {
        let at = self.pos;
        let token = self.token();
        let ms = if self.openmetrics {
            seconds_to_ms(token)
        } else {
            token.parse::<i64>().ok()
        };
        ms.ok_or_else(|| {
            self.pos = at;
            let unit = if self.openmetrics {
                "seconds"
            } else {
                "integer milliseconds"
            };
            format!("invalid timestamp {:?} (expected {unit})", snippet(token))
        })
    }

    /// ` # {labels} value [timestamp]`.
    fn exemplar(&mut self) -> Result<(), String> {
        self.pos += 1;
        self.skip_ws();
        let mut labels = Vec::new();
        if self.peek() != Some(b'{') {
            return Err(format!(
                "expected an exemplar's '{{', found {}",
                self.found()
            ));
        }
        self.label_set(&mut labels)?;
        self.skip_ws();
        self.value()?;
        if self.skip_ws() && !self.at_end() {
            self.timestamp()?;
            self.skip_ws();
        }
        Ok(())
    }
}

/// At most 40 characters of `s`, for messages.
fn snippet(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A Prometheus float: decimal with optional exponent, or NaN/Inf words; never hexadecimal.
fn parse_float(token: &str) -> Option<f64> {
    let unsigned = token.strip_prefix(['+', '-']).unwrap_or(token);
    if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
        return Some(if token.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if token.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    if !is_decimal(unsigned) {
        return None;
    }
    token.parse().ok()
}

/// `digits[.digits][e[+-]digits]` with at least one mantissa digit.
fn is_decimal(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// OpenMetrics float seconds to milliseconds, truncated toward zero; plain decimals are
/// converted exactly, exponent forms through `f64`.
fn seconds_to_ms(token: &str) -> Option<i64> {
    let negative = token.starts_with('-');
    let unsigned = token.strip_prefix(['+', '-']).unwrap_or(token);
    if !is_decimal(unsigned) {
        return None;
    }
    if !unsigned.contains(['e', 'E']) {
        let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let int: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut ms = int.checked_mul(1000)?;
        let mut scale = 100;
        for b in frac.bytes().take(3) {
            ms = ms.checked_add(i64::from(b - b'0') * scale)?;
            scale /= 10;
        }
        return Some(if negative { -ms } else { ms });
    }
    let ms = token.parse::<f64>().ok()? * 1000.0;
    // The range of i64 is [-2^63, 2^63); `as` would saturate silently. (Also false for NaN.)
    let limit = 2f64.powi(63);
    (-limit..limit).contains(&ms).then_some(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// The only sample of a one-line exposition (Prometheus format).
    fn one(line: &str) -> Sample {
        let parsed = parse_with(line, false);
        assert!(parsed.errors.is_empty(), "{line:?}: {:?}", parsed.errors);
        assert_eq!(parsed.samples.len(), 1, "{line:?}");
        parsed.samples.into_iter().next().unwrap()
    }

    /// The error of a one-line exposition.
    fn error(line: &str) -> String {
        let parsed = parse_with(line, false);
        assert!(
            parsed.samples.is_empty(),
            "{line:?} parsed: {:?}",
            parsed.samples
        );
        assert_eq!(parsed.errors.len(), 1, "{line:?}");
        assert_eq!(parsed.errors[0].line, 1);
        parsed.errors[0].message.clone()
    }

    #[test]
    fn a_prometheus_exposition_parses() {
        let text = "# HELP http_requests_total The total number of HTTP requests.\n\
                    # TYPE http_requests_total counter\n\
                    http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n\
                    http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n\
                    \n\
                    # A normal comment.\n\
                    #\n\
                    metric_without_timestamp_and_labels 12.47\n\
                    # TYPE rpc_duration_seconds summary\n\
                    rpc_duration_seconds{quantile=\"0.99\"} 76656\n\
                    rpc_duration_seconds_sum 1.7560473e+07\n\
                    something_weird{problem=\"division by zero\"} +Inf -3982045\n";
        let parsed = parse(text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.samples.len(), 6);
        assert_eq!(
            parsed.samples[0],
            Sample {
                labels: labels(&[
                    ("__name__", "http_requests_total"),
                    ("code", "200"),
                    ("method", "post")
                ]),
                value: 1027.0,
                timestamp_ms: Some(1_395_066_363_000),
            }
        );
        assert_eq!(parsed.samples[1].value, 3.0);
        assert_eq!(parsed.samples[2].timestamp_ms, None);
        assert_eq!(parsed.samples[4].value, 17_560_473.0);
        assert_eq!(parsed.samples[5].value, f64::INFINITY);
        assert_eq!(parsed.samples[5].timestamp_ms, Some(-3_982_045));
        assert_eq!(
            parsed.types.get("http_requests_total").map(String::as_str),
            Some("counter")
        );
        assert_eq!(
            parsed.types.get("rpc_duration_seconds").map(String::as_str),
            Some("summary")
        );
    }

    #[test]
    fn values_follow_the_float_grammar() {
        for (text, expected) in [
            ("1", 1.0),
            ("-1.5", -1.5),
            ("+2", 2.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("1.5E-3", 0.0015),
            ("-2e+2", -200.0),
            ("+Inf", f64::INFINITY),
            ("Inf", f64::INFINITY),
            ("inf", f64::INFINITY),
            ("-Inf", f64::NEG_INFINITY),
            ("-infinity", f64::NEG_INFINITY),
            ("1e400", f64::INFINITY),
            ("00012", 12.0),
        ] {
            assert_eq!(one(&format!("m {text}")).value, expected, "{text}");
        }
        for text in ["NaN", "nan", "NAN"] {
            assert!(one(&format!("m {text}")).value.is_nan(), "{text}");
        }
        for text in [
            "0x10", "0x1p3", "1_000", "-NaN", "+nan", "e5", "1e", "1.2.3", "--1", ".", "+", "∞",
            "1,5", "one",
        ] {
            let message = error(&format!("m {text}"));
            assert!(message.contains("invalid value"), "{text}: {message}");
        }
    }

    #[test]
    fn label_sets_allow_empty_braces_trailing_commas_and_spaces() {
        assert_eq!(one("m{} 1").labels, labels(&[("__name__", "m")]));
        assert_eq!(
            one("m{a=\"1\",} 1").labels,
            labels(&[("__name__", "m"), ("a", "1")])
        );
        assert_eq!(
            one("m { b = \"2\" , a=\"1\" , } 1").labels,
            labels(&[("__name__", "m"), ("a", "1"), ("b", "2")])
        );
        assert_eq!(
            one("m{a=\"\"} 1").labels,
            labels(&[("__name__", "m"), ("a", "")])
        );
        assert_eq!(one("\t m:sub_total{_x=\"1\"}\t2 \t").value, 2.0);
        assert!(error("m{,} 1").contains("expected a label name"));
        assert!(error("m{a=\"1\",,} 1").contains("expected a label name"));
        assert!(error("m{a=\"1\" b=\"2\"} 1").contains("expected ',' or '}'"));
        assert!(error("m{a=1} 1").contains("'\"' opening the label value"));
        assert!(error("m{a} 1").contains("'=' after the label name"));
        assert!(error("m{1a=\"1\"} 1").contains("expected a label name"));
        assert!(error("m{a-b=\"1\"} 1").contains("'=' after the label name"));
        assert!(error("m{a=\"1\" 1").contains("expected ',' or '}'"));
        assert!(error("m{a=\"1} 1").contains("unterminated label value"));
    }

    #[test]
    fn label_values_unescape() {
        let s =
            one(r#"m{a="back\\slash",b="quote\"d",c="new\nline",d="tab\t and \x kept",e="\\n"} 1"#);
        assert_eq!(
            s.labels,
            labels(&[
                ("__name__", "m"),
                ("a", "back\\slash"),
                ("b", "quote\"d"),
                ("c", "new\nline"),
                ("d", "tab\\t and \\x kept"),
                ("e", "\\n"),
            ])
        );
        // Characters that end labels elsewhere are plain inside a value.
        let s = one(r#"m{a="} 1 # {b=\"x\"} ,="} 3"#);
        assert_eq!(s.labels[1].1, r#"} 1 # {b="x"} ,="#);
        assert_eq!(s.value, 3.0);
    }

    #[test]
    fn label_values_take_any_unicode() {
        let values = [
            "🚀",
            "👩\u{200d}💻",
            "🇫🇷",
            "e\u{301}",
            "مرحبا بالعالم",
            "שָׁלוֹם",
            "\u{202e}reversed\u{202c}",
            "漢字かなカナ한국어",
            "\t\u{1}\u{1f}\u{7f}\u{1b}[0m\r",
            "\u{85}\u{2028}\u{2029}",
            "\u{feff}\u{fffd}\u{ffff}\u{10ffff}",
            "Ω≈ç√∫ ",
        ];
        for v in values {
            let escaped = v.replace('\\', "\\\\").replace('"', "\\\"");
            let s = one(&format!("m{{v=\"{escaped}\"}} 1"));
            assert_eq!(s.labels[1], ("v".to_string(), v.to_string()), "{v:?}");
        }
    }

    #[test]
    fn names_follow_the_spec() {
        assert_eq!(one("a:b_c9 1").labels[0].1, "a:b_c9");
        assert_eq!(one("_a 1").labels[0].1, "_a");
        assert!(error("9m 1").contains("expected a metric name"));
        assert!(error("m-x 1").contains("invalid metric name"));
        assert!(error("mé 1").contains("invalid metric name"));
        assert!(error("{a=\"1\"} 1").contains("expected a metric name"));
        assert!(error("m{a:b=\"1\"} 1").contains("'=' after the label name"));
    }

    #[test]
    fn a_label_named_twice_is_an_error() {
        assert!(error("m{a=\"1\",a=\"2\"} 1").contains("label \"a\" appears twice"));
        assert!(error("m{a=\"1\",b=\"2\",a=\"1\"} 1").contains("appears twice"));
        assert!(error("m{__name__=\"x\"} 1").contains("label \"__name__\" appears twice"));
    }

    #[test]
    fn timestamps_are_integer_milliseconds_in_prometheus_text() {
        assert_eq!(one("m 1 0").timestamp_ms, Some(0));
        assert_eq!(one("m 1 -5").timestamp_ms, Some(-5));
        assert_eq!(one("m 1 9223372036854775807").timestamp_ms, Some(i64::MAX));
        for bad in ["1.5", "9223372036854775808", "1e3", "NaN", "x"] {
            let message = error(&format!("m 1 {bad}"));
            assert!(message.contains("invalid timestamp"), "{bad}: {message}");
            assert!(message.contains("integer milliseconds"), "{message}");
        }
        assert!(error("m 1 2 3").contains("unexpected \"3\" after the sample"));
        assert!(error("m").contains("expected a value, found the end of the line"));
        assert!(error("m{a=\"b\"}").contains("expected a value"));
    }

    #[test]
    fn openmetrics_is_detected_by_its_eof_and_stops_there() {
        let text = "# TYPE foo counter\n\
                    # UNIT foo seconds\n\
                    # HELP foo Help with \\\\ escapes.\n\
                    foo_total 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n\
                    foo_created 1520872607.123\n\
                    # TYPE hist gaugehistogram\n\
                    hist_bucket{le=\"0.01\"} 0 # {} 0.005 1520879607.5\n\
                    bar 1 1520879607\n\
                    # EOF\n\
                    ignored_after_eof 1\n\
                    this is not parsed\n";
        let parsed = parse(text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let ts: Vec<_> = parsed.samples.iter().map(|s| s.timestamp_ms).collect();
        assert_eq!(
            ts,
            vec![Some(1_520_879_607_789), None, None, Some(1_520_879_607_000)]
        );
        assert_eq!(parsed.samples.len(), 4);
        assert_eq!(
            parsed.types.get("hist").map(String::as_str),
            Some("gaugehistogram")
        );
        // Without `# EOF` the same sample line is Prometheus text, where a float timestamp
        // is an error.
        let prom = parse("foo_total 17.0 1520879607.789\n");
        assert_eq!(prom.errors.len(), 1);
        // Told it is Prometheus text, `# EOF` is a comment and parsing goes on.
        let told = parse_with("a 1\n# EOF\nb 2\n", false);
        assert_eq!(told.samples.len(), 2);
        // Told it is OpenMetrics, seconds are converted without `# EOF`.
        let told = parse_with("a 1 2.5\n", true);
        assert_eq!(told.samples[0].timestamp_ms, Some(2500));
    }

    #[test]
    fn openmetrics_timestamps_convert_to_milliseconds() {
        for (text, ms) in [
            ("1520879607.789", 1_520_879_607_789),
            ("1520879607.7899", 1_520_879_607_789),
            ("0.001", 1),
            ("-1.5", -1500),
            ("-0.0005", 0),
            (".25", 250),
            ("+3", 3000),
            ("1.5e3", 1_500_000),
            ("1e-3", 1),
            ("9223372036854775.807", i64::MAX),
        ] {
            let parsed = parse_with(&format!("m 1 {text}"), true);
            assert_eq!(parsed.samples[0].timestamp_ms, Some(ms), "{text}");
        }
        for bad in ["NaN", "Inf", "9223372036854776", "1e300", "0x10", "1.2.3"] {
            let parsed = parse_with(&format!("m 1 {bad}"), true);
            assert!(parsed.samples.is_empty(), "{bad}");
            assert!(
                parsed.errors[0].message.contains("(expected seconds)"),
                "{bad}"
            );
        }
    }

    #[test]
    fn exemplars_are_checked_and_ignored() {
        let om = |line: &str| parse_with(line, true);
        assert_eq!(om("a 1 # {x=\"y\"} 2").samples.len(), 1);
        assert_eq!(
            om("a 1 5 # {x=\"y\"} 2 3.5").samples[0].timestamp_ms,
            Some(5000)
        );
        assert_eq!(om("a 1 #{} 2").samples.len(), 1);
        for bad in [
            "a 1 # x",
            "a 1 # {x=\"y\"}",
            "a 1 # {x=\"y\"} nope",
            "a 1 # {x=} 1",
            "a 1 #",
        ] {
            let parsed = om(bad);
            assert!(parsed.samples.is_empty(), "{bad}");
            assert_eq!(parsed.errors.len(), 1, "{bad}");
        }
    }

    #[test]
    fn type_lines_are_checked() {
        let parsed = parse(
            "# TYPE a gauge\n# TYPE a counter\n# TYPE b info\n# TYPE c\n# TYPE 1x gauge\n# TYPE d gauge extra\n",
        );
        let lines: Vec<_> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6]);
        assert!(
            parsed.errors[0]
                .message
                .contains("a second TYPE line for a (already gauge)")
        );
        assert!(
            parsed.errors[1]
                .message
                .contains("unknown metric type \"info\"")
        );
        assert_eq!(parsed.types.len(), 1);
        // OpenMetrics has its own set of types.
        let om = parse("# TYPE b info\n# TYPE c untyped\n# EOF\n");
        assert_eq!(om.types.len(), 1);
        assert_eq!(om.errors.len(), 1);
        assert!(
            om.errors[0]
                .message
                .contains("unknown metric type \"untyped\"")
        );
        // Other comments, HELP without text and odd spacing are fine.
        let fine = parse("#TYPE x nonsense\n# HELP x\n#  TYPE   y   gauge\n# random words\n");
        assert!(fine.errors.is_empty(), "{:?}", fine.errors);
        assert_eq!(fine.types.get("y").map(String::as_str), Some("gauge"));
    }

    #[test]
    fn crlf_line_endings_and_bad_lines_do_not_stop_the_parse() {
        let text = "a 1\r\nbad line here\r\n# TYPE a gauge\r\nb{x=\"1\"} 2 3\r\n\r\nc 3";
        let parsed = parse(text);
        let values: Vec<_> = parsed.samples.iter().map(|s| s.value).collect();
        assert_eq!(values, vec![1.0, 2.0, 3.0]);
        assert_eq!(parsed.samples[1].timestamp_ms, Some(3));
        assert_eq!(parsed.samples[1].labels[1].1, "1");
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 2);
        assert_eq!(parsed.errors[0].message, "column 5: invalid value \"line\"");
        assert_eq!(parsed.types.get("a").map(String::as_str), Some("gauge"));
    }

    #[test]
    fn error_columns_count_characters() {
        let parsed = parse("m{é=\"1\"} 1");
        assert_eq!(
            parsed.errors[0].message,
            "column 3: expected a label name or '}', found \"é=\\\"1\\\"} 1\""
        );
        let parsed = parse("m{a=\"é\"} x");
        assert_eq!(parsed.errors[0].message, "column 10: invalid value \"x\"");
    }

    #[test]
    fn a_ten_megabyte_line_parses_in_one_pass() {
        let big = "x".repeat(10 << 20);
        let s = one(&format!("m{{v=\"{big}\"}} 1"));
        assert_eq!(s.labels[1].1.len(), 10 << 20);
        // Mostly escapes.
        let escapes = "\\\"".repeat(5 << 20);
        let s = one(&format!("m{{v=\"{escapes}\"}} 1"));
        assert_eq!(s.labels[1].1.len(), 5 << 20);
        // Garbage and an unterminated value: one short error each.
        for line in [format!("m {big}"), format!("m{{v=\"{big}")] {
            let message = error(&line);
            assert!(message.len() < 200, "{}", message.len());
        }
        // A 10 MB value of digits.
        let digits = "9".repeat(10 << 20);
        assert_eq!(one(&format!("m {digits}")).value, f64::INFINITY);
        assert!(error(&format!("m 1 {digits}")).contains("invalid timestamp"));
        let parsed = parse_with(&format!("m 1 {digits}.{digits}"), true);
        assert_eq!(parsed.errors.len(), 1);
    }

    #[test]
    fn a_line_of_100_000_labels_parses() {
        let n = 100_000;
        let mut line = String::from("m{");
        for i in (0..n).rev() {
            line.push_str(&format!("l{i}=\"{i}\","));
        }
        line.push_str("} 1");
        let s = one(&line);
        assert_eq!(s.labels.len(), n + 1);
        assert!(s.labels.windows(2).all(|w| w[0].0 < w[1].0));
        // The same with a duplicate at the far end.
        let dup = line.replace("} 1", "l0=\"again\"} 1");
        assert!(error(&dup).contains("label \"l0\" appears twice"));
    }
}
