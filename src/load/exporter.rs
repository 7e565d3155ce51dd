//! The generator's own metrics in Prometheus text format on `127.0.0.1:<load.metrics_port>`,
//! so a Prometheus in the stack (or soy's embedded scraper) can read them. The text is rebuilt
//! once a second by the collector; serving it never touches the workers.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::stats::{Block, SecondRow};

/// The current exposition text.
pub type Exposition = Arc<Mutex<String>>;

/// Binds the port; fails before any load is sent if it is taken.
pub async fn bind(port: u16) -> Result<TcpListener, String> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot serve load metrics on 127.0.0.1:{port}: {e}"))
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

/// Renders cumulative counters from `all` and gauges from the latest second.
pub fn render(names: &[(String, String)], all: &Block, last: &SecondRow) -> String {
    let mut o = String::new();
    let label = |m: &str, n: &str| format!("method=\"{}\",name=\"{}\"", escape(m), escape(n));
    let _ = writeln!(
        o,
        "# HELP soy_requests_total Requests completed by soy's load generator."
    );
    let _ = writeln!(o, "# TYPE soy_requests_total counter");
    for ((m, n), e) in names.iter().zip(&all.entries) {
        let _ = writeln!(o, "soy_requests_total{{{}}} {}", label(m, n), e.count);
    }
    let _ = writeln!(o, "# HELP soy_request_failures_total Failed requests.");
    let _ = writeln!(o, "# TYPE soy_request_failures_total counter");
    for ((m, n), e) in names.iter().zip(&all.entries) {
        let _ = writeln!(
            o,
            "soy_request_failures_total{{{}}} {}",
            label(m, n),
            e.failures
        );
    }
    let _ = writeln!(
        o,
        "# HELP soy_response_bytes_total Response body bytes received."
    );
    let _ = writeln!(o, "# TYPE soy_response_bytes_total counter");
    for ((m, n), e) in names.iter().zip(&all.entries) {
        let _ = writeln!(o, "soy_response_bytes_total{{{}}} {}", label(m, n), e.bytes);
    }
    let _ = writeln!(
        o,
        "# HELP soy_request_duration_seconds Latency over the last second."
    );
    let _ = writeln!(o, "# TYPE soy_request_duration_seconds summary");
    for (q, v) in [
        ("0.5", last.p50_ms),
        ("0.9", last.p90_ms),
        ("0.95", last.p95_ms),
        ("0.99", last.p99_ms),
    ] {
        let _ = writeln!(
            o,
            "soy_request_duration_seconds{{quantile=\"{q}\"}} {}",
            v / 1000.0
        );
    }
    let total = all.total();
    let _ = writeln!(
        o,
        "soy_request_duration_seconds_sum {}",
        total.sum_us as f64 / 1e6
    );
    let _ = writeln!(o, "soy_request_duration_seconds_count {}", total.count);
    let _ = writeln!(
        o,
        "# HELP soy_active Virtual users alive (closed model) or iterations in flight (open)."
    );
    let _ = writeln!(o, "# TYPE soy_active gauge");
    let _ = writeln!(o, "soy_active {}", last.active);
    let _ = writeln!(
        o,
        "# HELP soy_target Target users or arrival rate of the load shape."
    );
    let _ = writeln!(o, "# TYPE soy_target gauge");
    let _ = writeln!(o, "soy_target {}", last.target);
    o
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
