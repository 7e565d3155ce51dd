//! The generator's own metrics in Prometheus text format on `127.0.0.1:<load.metrics_port>`,
//! so a Prometheus in the stack (or soy's embedded scraper) can read them. The text is rebuilt
//! once a second by the collector; serving it never touches the workers.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::stats::{Block, Entry, SecondRow};
use crate::exposition::Writer;

/// The current exposition text.
pub type Exposition = Arc<Mutex<String>>;

/// Binds the port; fails before any load is sent if it is taken.
pub async fn bind(port: u16) -> Result<TcpListener, super::EngineError> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| super::EngineError::Bind { port, source })
}

/// Serves the parts of `text`, concatenated, to every request until the task is dropped.
pub async fn serve(listener: TcpListener, text: Vec<Exposition>) {
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            continue;
        };
        let text = text.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf).await;
            let body: String = text
                .iter()
                .filter_map(|t| t.lock().ok().map(|t| t.clone()))
                .collect();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(body.as_bytes()).await;
        });
    }
}

/// The upper bounds (seconds) of `soy_request_latency_seconds`' buckets: Prometheus'
/// defaults with 1 ms and 2.5 ms below them.
pub const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A request name's cumulative counts, whatever generator counted them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub method: String,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    pub bytes: u64,
    /// Requests at or under each of `LATENCY_BUCKETS` (cumulative, as Prometheus' `le`).
    pub le: Vec<u64>,
    /// The latencies' sum, seconds.
    pub latency_sum_s: f64,
}

/// A counter family: name, help and the field it counts.
type Counter = (&'static str, &'static str, fn(&Counts) -> u64);

/// Renders cumulative counters from `all` and gauges from the latest second.
pub fn render(names: &[(String, String)], all: &Block, last: &SecondRow) -> String {
    let counts: Vec<Counts> = names
        .iter()
        .zip(&all.entries)
        .map(|((method, name), e): (&(String, String), &Entry)| Counts {
            method: method.clone(),
            name: name.clone(),
            requests: e.count,
            failures: e.failures,
            bytes: e.bytes,
            le: LATENCY_BUCKETS
                .iter()
                .map(|b| e.hist.count_between(0, (b * 1e6) as u64))
                .collect(),
            latency_sum_s: e.sum_us as f64 / 1e6,
        })
        .collect();
    let total = all.total();
    render_counts(&counts, total.sum_us as f64 / 1e6, total.count, last)
}

/// The `soy_*` families from per-name counts, the latency sum and count in total, and the
/// latest second's row (quantiles, users, target): the same text for every load driver.
pub fn render_counts(names: &[Counts], sum_s: f64, count: u64, last: &SecondRow) -> String {
    let mut w = Writer::new();
    let counters: [Counter; 3] = [
        (
            "soy_requests_total",
            "Requests completed by soy's load generator.",
            |c| c.requests,
        ),
        ("soy_request_failures_total", "Failed requests.", |c| {
            c.failures
        }),
        (
            "soy_response_bytes_total",
            "Response body bytes received.",
            |c| c.bytes,
        ),
    ];
    for (name, help, value) in counters {
        w.help(name, help);
        w.kind(name, "counter");
        for c in names {
            w.sample(
                name,
                [("method", c.method.as_str()), ("name", c.name.as_str())],
                value(c) as f64,
            );
        }
    }
    let hist = "soy_request_latency_seconds";
    w.help(
        hist,
        "Latency of every request since the load began, by request name.",
    );
    w.kind(hist, "histogram");
    for c in names {
        let labels = [("method", c.method.as_str()), ("name", c.name.as_str())];
        for (b, n) in LATENCY_BUCKETS.iter().zip(&c.le) {
            let le = b.to_string();
            w.sample(
                "soy_request_latency_seconds_bucket",
                [labels[0], labels[1], ("le", le.as_str())],
                *n as f64,
            );
        }
        w.sample(
            "soy_request_latency_seconds_bucket",
            [labels[0], labels[1], ("le", "+Inf")],
            c.requests as f64,
        );
        w.sample("soy_request_latency_seconds_sum", labels, c.latency_sum_s);
        w.sample(
            "soy_request_latency_seconds_count",
            labels,
            c.requests as f64,
        );
    }
    let latency = "soy_request_duration_seconds";
    w.help(latency, "Latency over the last second.");
    w.kind(latency, "summary");
    for (q, v) in [
        ("0.5", last.p50_ms),
        ("0.9", last.p90_ms),
        ("0.95", last.p95_ms),
        ("0.99", last.p99_ms),
    ] {
        w.sample(latency, [("quantile", q)], v / 1000.0);
    }
    w.sample("soy_request_duration_seconds_sum", [], sum_s);
    w.sample("soy_request_duration_seconds_count", [], count as f64);
    w.help(
        "soy_active",
        "Virtual users alive (closed model) or iterations in flight (open).",
    );
    w.kind("soy_active", "gauge");
    w.sample("soy_active", [], last.active as f64);
    w.help(
        "soy_target",
        "Target users or arrival rate of the load shape.",
    );
    w.kind("soy_target", "gauge");
    w.sample("soy_target", [], last.target);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format() {
        let mut b = Block::new(0, 2);
        b.entries[0].record(250_000, 10, false);
        b.entries[0].record(1_500, 3, true);
        b.entries[1].record(5_000, 7, false);
        let row = SecondRow::from_block(&b, 2.5, false);
        let names = vec![
            ("GET".to_string(), "/a".to_string()),
            ("POST".to_string(), "we\"ird\\".to_string()),
        ];
        let text = render(&names, &b, &row);
        for line in [
            "# HELP soy_requests_total Requests completed by soy's load generator.\n# TYPE soy_requests_total counter\n",
            "soy_requests_total{method=\"GET\",name=\"/a\"} 2\n",
            "soy_request_failures_total{method=\"POST\",name=\"we\\\"ird\\\\\"} 0\n",
            "soy_response_bytes_total{method=\"GET\",name=\"/a\"} 13\n",
            "# TYPE soy_request_duration_seconds summary\n",
            "soy_request_duration_seconds_sum 0.2565\nsoy_request_duration_seconds_count 3\n",
            "# TYPE soy_request_latency_seconds histogram\n",
            "soy_request_latency_seconds_bucket{method=\"GET\",name=\"/a\",le=\"0.001\"} 0\n",
            "soy_request_latency_seconds_bucket{method=\"GET\",name=\"/a\",le=\"0.0025\"} 1\n",
            "soy_request_latency_seconds_bucket{method=\"GET\",name=\"/a\",le=\"0.1\"} 1\n",
            "soy_request_latency_seconds_bucket{method=\"GET\",name=\"/a\",le=\"0.25\"} 2\n",
            "soy_request_latency_seconds_bucket{method=\"GET\",name=\"/a\",le=\"+Inf\"} 2\n",
            "soy_request_latency_seconds_count{method=\"GET\",name=\"/a\"} 2\n",
            "soy_active 0\n",
            "soy_target 2.5\n",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
