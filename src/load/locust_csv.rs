//! Locust-compatible CSV files (`<prefix>_stats.csv`, `_stats_history.csv`, `_failures.csv`,
//! `_exceptions.csv`) with Locust 2.x's exact headers, so scripts written for Locust's `--csv`
//! keep working. Pure: returns the file contents.

use super::results::{NameStats, Results};

pub const STATS_HEADER: &str = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
pub const HISTORY_HEADER: &str = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size";
pub const FAILURES_HEADER: &str = "Method,Name,Error,Occurrences,First Seen,Last Seen";
pub const EXCEPTIONS_HEADER: &str = "Count,Message,Traceback,Nodes";

/// The four files, as `(suffix, contents)`.
pub fn files(r: &Results) -> Vec<(&'static str, String)> {
    vec![
        ("_stats.csv", stats(r)),
        ("_stats_history.csv", history(r)),
        ("_failures.csv", failures(r)),
        ("_exceptions.csv", format!("{EXCEPTIONS_HEADER}\n")),
    ]
}

fn stats(r: &Results) -> String {
    let mut s = format!("{STATS_HEADER}\n");
    for n in r.requests.iter().chain(std::iter::once(&r.total)) {
        s.push_str(&stats_row(n));
    }
    s
}

fn stats_row(n: &NameStats) -> String {
    let pct: Vec<String> = n
        .percentiles_ms
        .iter()
        .map(|p| round_ms(*p, n.requests))
        .collect();
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{}\n",
        field(&n.method),
        field(&n.name),
        n.requests,
        n.failures,
        round_ms(n.p50_ms, n.requests),
        n.mean_ms,
        n.min_ms,
        n.max_ms,
        float(n.avg_content_size),
        n.rps,
        n.failures_per_s,
        pct.join(",")
    )
}

fn history(r: &Results) -> String {
    let mut s = format!("{HISTORY_HEADER}\n");
    let mut total_requests = 0u64;
    let mut total_failures = 0u64;
    for row in &r.series {
        total_requests += row.requests;
        total_failures += row.failures;
        let pct = if row.requests == 0 {
            vec!["N/A".to_string(); 11]
        } else {
            // Per-second percentiles; Locust's 66/75/80/98/99.9/99.99 columns are filled from
            // the nearest ones soy keeps per second.
            [
                row.p50_ms, row.p50_ms, row.p90_ms, row.p90_ms, row.p90_ms, row.p95_ms, row.p99_ms,
                row.p99_ms, row.max_ms, row.max_ms, row.max_ms,
            ]
            .iter()
            .map(|v| round_ms(*v, 1))
            .collect()
        };
        s.push_str(&format!(
            "{},{},,Aggregated,{:.6},{:.6},{},{},{},{},{},{},{},{}\n",
            (r.started_at as u64) + row.second,
            row.active,
            row.requests as f64,
            row.failures as f64,
            pct.join(","),
            total_requests,
            total_failures,
            round_ms(r.total.p50_ms, total_requests),
            r.total.mean_ms,
            r.total.min_ms,
            r.total.max_ms,
            float(r.total.avg_content_size),
        ));
    }
    s
}

fn failures(r: &Results) -> String {
    let mut s = format!("{FAILURES_HEADER}\n");
    for f in &r.failures {
        s.push_str(&format!(
            "{},{},{},{},{},{}\n",
            field(&f.method),
            field(&f.name),
            field(&f.error),
            f.occurrences,
            crate::clock::iso(f.first_seen),
            crate::clock::iso(f.last_seen)
        ));
    }
    s
}

/// Locust rounds response-time percentiles to whole milliseconds (and writes 0 for none).
fn round_ms(v: f64, count: u64) -> String {
    if count == 0 {
        "0".into()
    } else {
        format!("{}", v.round() as u64)
    }
}

fn float(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}

/// A CSV field, quoted when it must be.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_fields() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(float(458.0), "458.0");
    }
}
