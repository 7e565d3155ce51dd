//! Human units: which unit a series is in (from a query's `unit` or the metric's name), and
//! values written in it — ms/s, kB/MB/GB, %, req/s, cores. The report page's script formats
//! chart ticks and tooltips with the same rules (`web/report.js`, `fmt`).

use serde::Serialize;

/// What a value measures; serialized as the page's script knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "label", rename_all = "snake_case")]
pub enum Unit {
    /// A duration in seconds.
    Seconds,
    /// A duration in milliseconds.
    Millis,
    Bytes,
    BytesPerSecond,
    /// A fraction, shown as a percentage.
    Ratio,
    /// Already a percentage.
    Percent,
    Cores,
    /// Something per second (`req/s`, `/s`).
    Rate(String),
    /// A count of something (`users`, `replicas`), or a number with another unit.
    Count(String),
}

/// The unit of a series: the query's `unit` when it says one, else the metric's name
/// (`_seconds`, `_bytes`, `_ratio`; `_total` counters are charted as rates).
pub fn infer(unit: Option<&str>, name: &str) -> Unit {
    match unit.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => from_label(u),
        None => from_name(name),
    }
}

fn from_label(u: &str) -> Unit {
    match u.to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => Unit::Seconds,
        "ms" | "millis" | "milliseconds" => Unit::Millis,
        "b" | "byte" | "bytes" => Unit::Bytes,
        "b/s" | "bytes/s" | "bytes per second" | "bps" => Unit::BytesPerSecond,
        "ratio" | "fraction" => Unit::Ratio,
        "%" | "percent" => Unit::Percent,
        "core" | "cores" | "cpu" | "cpus" => Unit::Cores,
        "per second" | "/s" => Unit::Rate("/s".into()),
        l if l.ends_with("/s") => Unit::Rate(u.into()),
        _ => Unit::Count(u.into()),
    }
}

fn from_name(name: &str) -> Unit {
    let base = name.strip_suffix("_total").unwrap_or(name);
    let counter = base.len() != name.len();
    match () {
        _ if base.ends_with("_seconds") && counter => Unit::Cores,
        _ if base.ends_with("_seconds") => Unit::Seconds,
        _ if base.ends_with("_bytes") && counter => Unit::BytesPerSecond,
        _ if base.ends_with("_bytes") => Unit::Bytes,
        _ if base.ends_with("_ratio") => Unit::Ratio,
        _ if base.ends_with("_percent") => Unit::Percent,
        _ if counter => Unit::Rate("/s".into()),
        _ => Unit::Count(String::new()),
    }
}

/// A number to three significant digits (whole numbers without decimals).
fn sig3(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || a == 0.0 || (v == v.round() && a < 1e15) {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        // Below 1: three significant digits, at most six decimals.
        let decimals = ((-a.log10()).floor() as usize + 3).min(6);
        format!("{v:.decimals$}")
    }
}

/// A value scaled by powers of 1000 with SI prefixes (`k`, `M`, `G`, `T`).
fn si(v: f64, unit: &str) -> String {
    const PREFIXES: [&str; 5] = ["", "k", "M", "G", "T"];
    let mut x = v;
    let mut i = 0;
    while x.abs() >= 999.5 && i + 1 < PREFIXES.len() {
        x /= 1000.0;
        i += 1;
    }
    // `1.80 GB`, but `12.5k` for a bare number.
    let sep = if unit.is_empty() { "" } else { " " };
    format!("{}{sep}{}{unit}", sig3(x), PREFIXES[i])
}

fn duration(seconds: f64) -> String {
    let a = seconds.abs();
    if a == 0.0 {
        "0 s".into()
    } else if a < 1e-3 {
        format!("{} µs", sig3(seconds * 1e6))
    } else if a < 1.0 {
        format!("{} ms", sig3(seconds * 1e3))
    } else if a < 120.0 {
        format!("{} s", sig3(seconds))
    } else if a < 7200.0 {
        format!("{} min", sig3(seconds / 60.0))
    } else {
        format!("{} h", sig3(seconds / 3600.0))
    }
}

/// A value in its unit, for people: `12.3 ms`, `1.80 GB`, `0.10 %`, `176 req/s`.
pub fn format(v: f64, unit: &Unit) -> String {
    if v.is_nan() {
        return "–".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    match unit {
        Unit::Seconds => duration(v),
        Unit::Millis => duration(v / 1e3),
        Unit::Bytes => si(v, "B"),
        Unit::BytesPerSecond => si(v, "B/s"),
        Unit::Ratio => format!("{:.2} %", v * 100.0),
        Unit::Percent => format!("{v:.2} %"),
        Unit::Cores => format!("{} cores", sig3(v)),
        Unit::Rate(label) => {
            let s = si(v, "");
            let label = label.trim();
            if label.starts_with('/') {
                format!("{s}{label}")
            } else {
                format!("{s} {label}")
            }
        }
        Unit::Count(label) if label.is_empty() => si(v, ""),
        Unit::Count(label) => format!("{} {label}", si(v, "")),
    }
}

/// A value with a unit as a query or an SLO writes it (`ratio`, `ms`, `bytes`).
pub fn human(v: f64, unit: &str) -> String {
    format(v, &infer(Some(unit), ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_from_labels_and_names() {
        let cases = [
            (Some("ms"), "x", Unit::Millis),
            (Some("bytes/s"), "x", Unit::BytesPerSecond),
            (Some("req/s"), "x", Unit::Rate("req/s".into())),
            (Some("replicas"), "x", Unit::Count("replicas".into())),
            (Some("ratio"), "x", Unit::Ratio),
            (None, "http_request_duration_seconds", Unit::Seconds),
            (None, "container_cpu_usage_seconds_total", Unit::Cores),
            (None, "container_memory_usage_bytes", Unit::Bytes),
            (
                None,
                "container_network_receive_bytes_total",
                Unit::BytesPerSecond,
            ),
            (
                None,
                "envoy_cluster_upstream_rq_total",
                Unit::Rate("/s".into()),
            ),
            (None, "soy_active", Unit::Count(String::new())),
            (Some(""), "x_seconds", Unit::Seconds),
        ];
        for (unit, name, want) in cases {
            assert_eq!(infer(unit, name), want, "{unit:?} {name}");
        }
    }

    #[test]
    fn values_in_human_units() {
        let cases: Vec<(f64, &str)> = vec![
            (0.0, "ratio"),
            (0.001, "ratio"),
            (0.5, "%"),
            (1_800_000_000.0, "bytes"),
            (10_000_000.0, "bytes"),
            (999.0, "bytes"),
            (1536.0, "bytes/s"),
            (0.0123, "seconds"),
            (0.00042, "s"),
            (95.0, "s"),
            (3600.0, "s"),
            (25.3, "ms"),
            (1250.0, "ms"),
            (0.45, "cores"),
            (0.004, "cores"),
            (176.4, "req/s"),
            (12_500.0, "req/s"),
            (3.0, "replicas"),
            (42.0, "/s"),
            (f64::NAN, "ms"),
            (-2.5, "widgets"),
        ];
        let shown: Vec<String> = cases
            .iter()
            .map(|(v, u)| format!("{v} {u} → {}", human(*v, u)))
            .collect();
        insta::assert_snapshot!(shown.join("\n"));
    }
}
