//! The Prometheus metrics source against a real Prometheus (Debian's `prometheus` package,
//! installed by scripts/test-all), started here on a free loopback port with a generated
//! configuration and a temporary storage folder, and stopped afterwards.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, root, runs, soy, text};

/// A Prometheus process, killed on drop.
pub(super) struct Prometheus {
    child: Child,
    port: u16,
}

impl Prometheus {
    pub(super) fn start(targets: &[u16]) -> Prometheus {
        Prometheus::start_with(targets, None)
    }

    /// Starts on `blocks` (a TSDB folder, e.g. made by `promtool tsdb create-blocks-from`)
    /// when given.
    pub(super) fn start_with(targets: &[u16], blocks: Option<&std::path::Path>) -> Prometheus {
        requires!(prometheus);
        let port = free_port();
        let dir = root()
            .join("target")
            .join("test-tmp")
            .join(format!("prometheus-{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        if let Some(b) = blocks {
            std::fs::rename(b, dir.join("data")).expect("move blocks");
        }
        let list: Vec<String> = targets
            .iter()
            .map(|p| format!("\"127.0.0.1:{p}\""))
            .collect();
        let config = format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nscrape_configs:\n  - job_name: soy-test\n    static_configs: [{{targets: [{}]}}]\n",
            list.join(", ")
        );
        std::fs::write(dir.join("prometheus.yml"), config).expect("config");
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "prometheus from Debian's package must be installed (scripts/test-all installs it)",
            );
        // Ready when its readiness endpoint says so (an event, not a sleep).
        super::harness::wait_until("Prometheus ready", Duration::from_secs(30), || ready(port));
        Prometheus { child, port }
    }

    pub(super) fn port(&self) -> u16 {
        self.port
    }

    pub(super) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Whether Prometheus on `port` answers `/-/ready` with 200.
fn ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
    let mut head = String::new();
    c.write_all(b"GET /-/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_ok()
        && c.read_to_string(&mut head).is_ok()
        && head.starts_with("HTTP/1.1 200")
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Ports {
    api: u16,
    gateway: u16,
    load: u16,
}

fn ports() -> Ports {
    Ports {
        api: free_port(),
        gateway: free_port(),
        load: free_port(),
    }
}

fn manifest(name: &str, p: &Ports, prom_url: &str, run_time: &str, queries: &str) -> PathBuf {
    let text = format!(
        r#"apiVersion: soy/v1
kind: Experiment
metadata: {{name: {name}}}
stack:
  driver: local
  services:
    - name: api
      command: soy
      args: [demo-service, upstream, --name, api, --listen, "127.0.0.1:{api}", --latency, 2ms..6ms]
      ready: {{http: [{{url: "http://127.0.0.1:{api}/health"}}]}}
    - name: gateway
      command: soy
      args: [demo-service, gateway, --listen, "127.0.0.1:{gw}", --upstream, "api_cluster=/api=http://127.0.0.1:{api}"]
      ready: {{http: [{{url: "http://127.0.0.1:{gw}/health"}}]}}
load:
  host: http://127.0.0.1:{gw}
  users: 5
  spawn_rate: 100
  run_time: {run_time}
  cooldown: 3s
  metrics_port: {lp}
  think_time: {{min: 10ms, max: 30ms}}
  tasks:
    - {{name: items, request: {{path: /api/items}}}}
metrics:
  source: {{kind: prometheus, url: "{prom_url}", timeout: 5s}}
  step: 1s
  rate_window: 5s
  queries:
{queries}
slos:
  - {{load: error_rate, max: 1%}}
"#,
        api = p.api,
        gw = p.gateway,
        lp = p.load
    );
    let dir = root().join("target").join("test-tmp").join("manifests");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).expect("write");
    path
}

fn latest(name: &str) -> PathBuf {
    std::fs::canonicalize(runs().join(name).join("latest")).expect("latest")
}

fn series_of(name: &str) -> Vec<serde_json::Value> {
    let text =
        std::fs::read_to_string(latest(name).join("metrics/series.json")).expect("series.json");
    serde_json::from_str(&text).expect("json")
}

fn apply(m: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let out_dir = runs();
    let mut args = vec![
        "apply",
        m.to_str().expect("utf8"),
        "--out",
        out_dir.to_str().expect("utf8"),
    ];
    args.extend(extra);
    soy(&args, Duration::from_secs(120)).0
}

#[test]
fn envoy_presets_from_a_real_prometheus_agree_with_the_generator() {
    let p = ports();
    let prom = Prometheus::start(&[p.gateway, p.load]);
    let queries = "    - {name: upstream_rps, preset: envoy.upstream_rq_rate, cluster: api_cluster}\n    - {name: completed_rps, preset: envoy.completed_rate, cluster: api_cluster}\n    - {name: p95, preset: envoy.latency_quantile, cluster: api_cluster}\n    - {name: avg_latency, preset: envoy.avg_latency, cluster: api_cluster}\n    - {name: by_class, preset: envoy.rq_by_class, cluster: api_cluster}\n    - {name: downstream, preset: envoy.downstream_rq_rate}\n    - {name: completed_total, promql: 'max(envoy_cluster_upstream_rq_completed{envoy_cluster_name=\"api_cluster\"})'}\n    - {name: generator_total, promql: 'max(soy_requests_total)'}\n    - {name: nothing, promql: 'nonexistent_metric_for_soy_tests'}";
    let m = manifest("prom-agree", &p, &prom.url(), "8s", queries);
    let out = apply(&m, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let series = series_of("prom-agree");
    let get = |n: &str| {
        series
            .iter()
            .find(|q| q["name"] == n)
            .unwrap_or_else(|| panic!("no {n}"))
            .clone()
    };
    for n in [
        "upstream_rps",
        "completed_rps",
        "p95",
        "avg_latency",
        "by_class",
        "downstream",
        "completed_total",
    ] {
        let q = get(n);
        assert!(
            !q["series"].as_array().expect("series").is_empty(),
            "{n} has no series: {q}"
        );
    }
    assert_eq!(get("nothing")["missing"], "no data");
    let last = |n: &str| -> f64 {
        get(n)["series"][0]["points"]
            .as_array()
            .and_then(|p| p.last())
            .and_then(|p| p[1].as_f64())
            .unwrap_or(0.0)
    };
    let results: serde_json::Value = serde_json::from_slice(
        &std::fs::read(latest("prom-agree").join("results.json")).expect("results"),
    )
    .expect("json");
    let generated = results["total"]["requests"].as_f64().expect("count");
    let completed = last("completed_total");
    assert!(
        (completed - generated).abs() <= 0.05 * generated,
        "Prometheus saw {completed} completed, the generator sent {generated}"
    );
    // The generator's own endpoint was scraped too (it stops with the load, so its last
    // seconds may be missed; the gateway's count above is the comparison).
    assert!(last("generator_total") > 0.0);
    assert!(
        latest("prom-agree")
            .join("metrics/raw")
            .read_dir()
            .expect("raw")
            .count()
            >= 8
    );
    let html = std::fs::read_to_string(latest("prom-agree").join("report.html")).expect("html");
    assert!(html.contains("no data"));
}

#[test]
fn prometheus_down_at_the_start_stops_before_any_load() {
    let p = ports();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let m = manifest("prom-down", &p, &dead, "3s", "    - {name: up, promql: up}");
    let out = apply(&m, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(
        &std::fs::read(latest("prom-down").join("summary.json")).expect("summary"),
    )
    .expect("json");
    assert!(
        s["reason"]
            .as_str()
            .unwrap_or("")
            .contains("cannot reach Prometheus"),
        "{}",
        s["reason"]
    );
    assert!(s["load"].is_null(), "no load may be sent");
    // And with --allow-missing-metrics the run goes on without it.
    let out = apply(&m, &["--allow-missing-metrics"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let series = series_of("prom-down");
    let up = series.iter().find(|q| q["name"] == "up").expect("up");
    assert!(
        up["missing"]
            .as_str()
            .unwrap_or("")
            .contains("cannot reach Prometheus"),
        "{up}"
    );
}

#[test]
fn prometheus_stopped_mid_run_is_marked_missing_and_the_run_completes() {
    let p = ports();
    let prom = Prometheus::start(&[p.gateway, p.load]);
    let m = manifest(
        "prom-stop",
        &p,
        &prom.url(),
        "6s",
        "    - {name: up, promql: up}",
    );
    let out_dir = runs();
    let child = super::harness::spawn(&[
        "apply",
        m.to_str().expect("utf8"),
        "--out",
        out_dir.to_str().expect("utf8"),
    ]);
    // Stop Prometheus once the load is under way (seen at the gateway), mid-run.
    super::harness::wait_for_gateway(p.gateway, "api_cluster", 20.0);
    drop(prom);
    let out = child.wait(Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let up = series_of("prom-stop")
        .into_iter()
        .find(|q| q["name"] == "up")
        .expect("up");
    assert!(
        up["missing"]
            .as_str()
            .unwrap_or("")
            .contains("cannot reach Prometheus"),
        "{up}"
    );
}

#[test]
fn check_queries_quotes_prometheus_own_message() {
    let p = ports();
    let prom = Prometheus::start(&[p.gateway]);
    let good = manifest(
        "prom-check-ok",
        &p,
        &prom.url(),
        "3s",
        "    - {name: up, promql: up}",
    );
    let (ok, _) = soy(
        &["validate", "--check-queries", good.to_str().expect("utf8")],
        Duration::from_secs(30),
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(text(&ok.stderr).contains("1 queries accepted"));
    // Parses offline, fails in Prometheus: an invalid regex in label_replace.
    let bad = manifest(
        "prom-check-bad",
        &p,
        &prom.url(),
        "3s",
        "    - {name: relabel, promql: 'label_replace(up, \"a\", \"$1\", \"job\", \"(\")'}",
    );
    let (out, _) = soy(
        &["validate", "--check-queries", bad.to_str().expect("utf8")],
        Duration::from_secs(30),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("label_replace(up, \"a\", \"$1\", \"job\", \"(\")"),
        "the PromQL is quoted: {err}"
    );
    assert!(
        err.contains("Prometheus rejected it") && err.contains("invalid regular expression"),
        "Prometheus' message is quoted: {err}"
    );
}
