//! The embedded metrics source end to end: soy scrapes the demo gateway and itself, answers
//! the manifest's PromQL with no Prometheus, stores the samples with the run for
//! `soy query`; and a real Prometheus (Debian's package) scraping the same targets during
//! the same run agrees with it within 1% on the seed's queries.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use super::prometheus::Prometheus;
use super::{free_port, root, runs, soy, text};

struct Ports {
    api: u16,
    gateway: u16,
    load: u16,
}

fn manifest(name: &str, p: &Ports, extra_queries: &str) -> PathBuf {
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
  model: open
  shape: {{kind: constant, target: 80}}
  run_time: 30s
  cooldown: 2s
  metrics_port: {lp}
  tasks:
    - {{name: items, request: {{path: /api/items}}}}
metrics:
  source: {{kind: embedded, scrape_interval: 1s, targets: ["http://127.0.0.1:{gw}/metrics"]}}
  step: 1s
  rate_window: 10s
  queries:
    - {{name: upstream_rps, preset: envoy.upstream_rq_rate, cluster: api_cluster}}
    - {{name: p95, preset: envoy.latency_quantile, cluster: api_cluster}}
    - {{name: cpu, promql: 'sum by (service) (rate(container_cpu_usage_seconds_total[10s]))'}}
    - {{name: up, promql: 'up'}}
{extra_queries}slos:
  - {{load: error_rate, max: 1%}}
  - {{query: upstream_rps, stat: mean, min: 50}}
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

/// `soy query RUN --at T EXPR -o json`: label set → value.
fn soy_instant(run: &std::path::Path, expr: &str, t: f64) -> Vec<(serde_json::Value, f64)> {
    let (out, _) = soy(
        &[
            "query",
            run.to_str().expect("utf8"),
            expr,
            "--at",
            &format!("{t}"),
            "-o",
            "json",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{expr}: {}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    values(&v)
}

fn values(data: &serde_json::Value) -> Vec<(serde_json::Value, f64)> {
    data["result"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|s| {
                    let v = s["value"][1]
                        .as_str()
                        .and_then(|x| x.parse::<f64>().ok())
                        .unwrap_or(f64::NAN);
                    (s["metric"].clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Prometheus' `/api/v1/query` at `t`, over loopback.
fn prometheus_instant(port: u16, expr: &str, t: f64) -> Vec<(serde_json::Value, f64)> {
    let q: String = expr
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "GET /api/v1/query?query={q}&time={t} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut body = String::new();
    s.read_to_string(&mut body).expect("read");
    let json = body.split("\r\n\r\n").nth(1).unwrap_or("");
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(v["status"], "success", "{v}");
    values(&v["data"])
}

#[test]
fn embedded_metrics_answer_promql_without_a_prometheus_and_agree_with_one() {
    let p = Ports {
        api: free_port(),
        gateway: free_port(),
        load: free_port(),
    };
    // A real Prometheus scrapes the gateway and soy's metrics port meanwhile.
    let prom = Prometheus::start(&[p.gateway, p.load]);
    let m = manifest("embedded", &p, "");
    let (out, _) = soy(
        &[
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            runs().to_str().expect("utf8"),
        ],
        Duration::from_secs(180),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run = latest("embedded");
    assert!(run.join("metrics/samples.tsdb").exists());
    let series: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(run.join("metrics/series.json")).expect("series"))
            .expect("json");
    for name in ["upstream_rps", "p95", "cpu", "up"] {
        let q = series
            .iter()
            .find(|q| q["name"] == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert!(q["missing"].is_null(), "{name} answered by soy alone: {q}");
    }
    // The seed's queries, at the same instants, from both.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("summary.json")).expect("summary"))
            .expect("json");
    let load_start = summary["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .find(|p| p["name"] == "load")
        .and_then(|p| p["started_at"].as_f64())
        .expect("load phase");
    let c = r#"envoy_cluster_name="api_cluster""#;
    let queries = [
        format!("sum(rate(envoy_cluster_upstream_rq_total{{{c}}}[20s]))"),
        format!("sum(rate(envoy_cluster_upstream_rq_completed{{{c}}}[20s]))"),
        format!(
            "sum(rate(envoy_cluster_upstream_rq_xx{{{c}}}[20s])) by (envoy_response_code_class)"
        ),
        format!(
            "histogram_quantile(0.95, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{{{c}}}[20s])))"
        ),
        format!(
            "sum(rate(envoy_cluster_upstream_rq_time_sum{{{c}}}[20s])) / sum(rate(envoy_cluster_upstream_rq_time_count{{{c}}}[20s]))"
        ),
        format!("sum(increase(envoy_cluster_upstream_rq_total{{{c}}}[20s]))"),
    ];
    // Not compared: soy's own `soy_*` counters, which its exporter updates once a second, so
    // two scrapers in different phases see different staircases (up to one second's worth).
    // 1. The evaluators, on identical samples: soy's stored samples loaded into a second
    //    Prometheus (promtool's backfill), every seed query at several instants.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_soy"))
        .args(["export", run.to_str().expect("utf8")])
        .output()
        .expect("soy export");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let scratch = root().join("target").join("test-tmp").join("backfill");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("dir");
    std::fs::write(scratch.join("run.om"), &out.stdout).expect("write");
    let made = std::process::Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(scratch.join("run.om"))
        .arg(scratch.join("blocks"))
        .output()
        .expect("promtool");
    assert!(made.status.success(), "{}", text(&made.stderr));
    let replay = Prometheus::start_with(&[], Some(&scratch.join("blocks")));
    // Debian's Prometheus is 2.42, whose range windows include their left edge (Prometheus 3,
    // which soy follows, excludes it) and which extrapolates `rate()` towards a series' start
    // in another order: instants are chosen with no sample on a window's edge, and late
    // enough that every series started before the window.
    let stamps: std::collections::HashSet<i64> = text(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next())
        .filter_map(|ts| ts.parse::<f64>().ok())
        .map(|ts| (ts * 1000.0).round() as i64)
        .collect();
    let instant = |nominal: f64| -> f64 {
        let mut ms = (nominal * 1000.0) as i64;
        while [0, 5_000, 20_000]
            .iter()
            .any(|w| stamps.contains(&(ms - w)))
        {
            ms += 1;
        }
        ms as f64 / 1000.0
    };
    let mut compared = 0;
    for offset in [22.0, 25.0, 28.0] {
        let t = instant(load_start + offset);
        for q in &queries {
            let ours = soy_instant(&run, q, t);
            let theirs = prometheus_instant(replay.port(), q, t);
            assert!(!ours.is_empty(), "soy has no answer for {q} at {t}");
            compared += agree(q, t, &ours, &theirs, 1e-6);
        }
    }
    assert!(compared >= 18, "{compared}");
    // 2. The scrapers, live: while the counters move the two scrape at different instants
    //    (rates may differ by up to a second's worth at the window's edges); once the load
    //    has stopped both must have seen the same totals.
    let end = summary["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .find(|p| p["name"] == "collect")
        .and_then(|p| p["started_at"].as_f64())
        .expect("collect phase");
    let end = instant(end - 0.5);
    for q in [
        format!("sum(last_over_time(envoy_cluster_upstream_rq_total{{{c}}}[5s]))"),
        format!("sum(last_over_time(envoy_cluster_upstream_rq_completed{{{c}}}[5s]))"),
        format!("sum by (le) (last_over_time(envoy_cluster_upstream_rq_time_bucket{{{c}}}[5s]))"),
    ] {
        let ours = soy_instant(&run, &q, end);
        let theirs = prometheus_instant(prom.port(), &q, end);
        assert!(!ours.is_empty(), "{q}");
        agree(&q, end, &ours, &theirs, 0.01);
    }
    for q in &queries[..2] {
        let t = instant(load_start + 22.0);
        agree(
            q,
            t,
            &soy_instant(&run, q, t),
            &prometheus_instant(prom.port(), q, t),
            0.1,
        );
    }
}

/// Asserts two answers hold the same series with values within `tolerance` (relative);
/// returns how many values were compared.
fn agree(
    q: &str,
    t: f64,
    ours: &[(serde_json::Value, f64)],
    theirs: &[(serde_json::Value, f64)],
    tolerance: f64,
) -> usize {
    let strip = |l: &serde_json::Value| {
        let mut l = l.clone();
        if let Some(m) = l.as_object_mut() {
            m.remove("job");
            m.remove("instance");
        }
        l
    };
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{q} at {t}: {ours:?} vs {theirs:?}"
    );
    for (labels, v) in ours {
        let (_, w) = theirs
            .iter()
            .find(|(l, _)| strip(l) == strip(labels))
            .unwrap_or_else(|| panic!("{q}: {labels} not in {theirs:?}"));
        let diff = if v == w || (v.is_nan() && w.is_nan()) {
            0.0
        } else {
            (v - w).abs() / w.abs().max(1e-12)
        };
        assert!(
            diff <= tolerance,
            "{q} at {t}: soy {v}, Prometheus {w} ({:.3}% apart)",
            diff * 100.0
        );
    }
    ours.len()
}

#[test]
fn soy_query_answers_from_a_stored_run_and_rejects_bad_input() {
    // A run stored by the test above or by this one; run a short one to be independent.
    let p = Ports {
        api: free_port(),
        gateway: free_port(),
        load: free_port(),
    };
    let m = manifest("embedded-query", &p, "");
    let short = std::fs::read_to_string(&m)
        .expect("manifest")
        .replace("run_time: 30s", "run_time: 6s");
    std::fs::write(&m, short).expect("write");
    let (out, _) = soy(
        &[
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            runs().to_str().expect("utf8"),
        ],
        Duration::from_secs(120),
    );
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        text(&out.stderr)
    );
    let run = latest("embedded-query");
    let q = |args: &[&str]| {
        let mut all = vec!["query", run.to_str().expect("utf8")];
        all.extend(args);
        soy(&all, Duration::from_secs(30)).0
    };
    let out = q(&["up", "--at", "+3s"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(r#"job="targets""#),
        "{}",
        text(&out.stdout)
    );
    let out = q(&[
        "sum(rate(envoy_cluster_upstream_rq_total[3s]))",
        "--start",
        "+3s",
        "--end",
        "+6s",
        "--step",
        "1s",
        "-o",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert_eq!(csv.lines().count(), 5, "a header and four steps: {csv}");
    assert!(
        csv.lines().skip(1).all(|l| l
            .split(',')
            .nth(2)
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|v| v > 40.0)),
        "{csv}"
    );
    // New questions for the stored run: `soy report --manifest` evaluates another query list
    // on its samples.
    let asked = m.with_file_name("embedded-query-more.yaml");
    let more = std::fs::read_to_string(&m).expect("manifest").replace(
        "    - {name: up, promql: 'up'}\n",
        "    - {name: up, promql: 'up'}\n    - {name: new_question, promql: 'sum by (job) (up)'}\n",
    );
    std::fs::write(&asked, more).expect("write");
    let (out, _) = soy(
        &[
            "report",
            run.to_str().expect("utf8"),
            "--format",
            "md",
            "--manifest",
            asked.to_str().expect("utf8"),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("new_question"),
        "{}",
        text(&out.stdout)
    );
    let out = q(&["sum(", "--at", "+1s"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("query:"),
        "{}",
        text(&out.stderr)
    );
    let out = q(&["up", "--at", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("yesterday"),
        "{}",
        text(&out.stderr)
    );
    let out = q(&["holt_winters(up[1m], 0.5, 0.5)", "--at", "+1s"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn odd_slow_and_huge_targets_are_counted_never_fatal() {
    let s = super::server::Server::start();
    let p = Ports {
        api: free_port(),
        gateway: free_port(),
        load: free_port(),
    };
    let m = manifest(
        "embedded-odd",
        &p,
        "    - {name: odd, promql: 'odd'}\n    - {name: late, promql: 'late'}\n    - {name: big, promql: 'big_series'}\n    - {name: targets_up, promql: 'up{job=\"targets\"}'}\n",
    );
    let odd = std::fs::read_to_string(&m)
        .expect("manifest")
        .replace("run_time: 30s", "run_time: 5s")
        .replace(
            "targets: [\"http://127.0.0.1",
            &format!(
                "targets: [\"{u}/metrics-odd\", \"{u}/metrics-slow\", \"{u}/metrics-huge\", \"http://127.0.0.1",
                u = s.url()
            ),
        );
    std::fs::write(&m, odd).expect("write");
    let (out, _) = soy(
        &[
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            runs().to_str().expect("utf8"),
        ],
        Duration::from_secs(120),
    );
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        text(&out.stderr)
    );
    let err = text(&out.stderr);
    assert!(err.contains("malformed lines skipped"), "{err}");
    assert!(
        err.contains("no complete answer within"),
        "the slow target: {err}"
    );
    assert!(err.contains("larger than 4 MiB"), "the huge target: {err}");
    let run = latest("embedded-odd");
    let series: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(run.join("metrics/series.json")).expect("series"))
            .expect("json");
    let get = |n: &str| {
        series
            .iter()
            .find(|q| q["name"] == n)
            .expect("query")
            .clone()
    };
    let odd = get("odd");
    let values: Vec<String> = odd["series"]
        .as_array()
        .expect("series")
        .iter()
        .map(|s| s["labels"]["v"].as_str().unwrap_or("").to_string())
        .collect();
    for v in ["nan", "inf", "-inf", "émoji 🚀 עברית e\u{301}"] {
        assert!(values.iter().any(|x| x == v), "{v} in {values:?}");
    }
    assert!(odd["warnings"].to_string().contains("malformed"), "{odd}");
    assert!(
        get("late")["missing"].is_string(),
        "the slow target yields nothing"
    );
    assert!(
        get("big")["missing"].is_string(),
        "the huge target yields nothing"
    );
    // up is 0 for the failing targets and 1 for the others.
    let up: Vec<f64> = get("targets_up")["series"]
        .as_array()
        .expect("series")
        .iter()
        .filter_map(|s| s["points"].as_array()?.last()?[1].as_f64())
        .collect();
    assert_eq!(up.iter().filter(|v| **v == 0.0).count(), 2, "{up:?}");
    assert_eq!(up.iter().filter(|v| **v == 1.0).count(), 2, "{up:?}");
}
