//! The load generator against a real HTTP server on 127.0.0.1: shapes, spawn rate,
//! templating and extraction, checks, failure grouping, Locust CSV headers, and faults.

use std::time::Duration;

use soy::load::engine;
use soy::load::results::Results;
use soy::load::setup::{Overrides, configure};

use super::server::Server;
use super::{root, text};

/// Runs a `load:` section (YAML, indented two spaces) against `host`.
fn run(host: &str, load_yaml: &str) -> Results {
    let t = super::harness::Test::new("load");
    let path = t.write(
        "load.yaml",
        &format!(
            "apiVersion: soy/v1\nkind: Experiment\nmetadata: {{name: t}}\nload:\n  host: {host}\n{load_yaml}"
        ),
    );
    let m = soy::manifest::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let vars = soy::manifest::template::vars_context(&m.experiment.vars);
    let o = Overrides {
        workers: Some(2),
        seed: Some(7),
        ..Overrides::default()
    };
    let cfg = configure(&m.experiment.load, vars, &o, &m.dir, None).expect("configure");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(engine::run(cfg, std::future::pending::<()>(), |_| {}))
        .expect("run")
}

fn failures_of_kind(r: &Results, kind: &str) -> u64 {
    r.failures
        .iter()
        .filter(|f| f.kind == kind)
        .map(|f| f.occurrences)
        .sum()
}

#[test]
fn closed_users_follow_the_shape_and_the_spawn_rate() {
    let s = Server::start();
    let r = run(
        &s.url(),
        "  spawn_rate: 4\n  think_time: {min: 100ms, max: 200ms}\n  shape:\n    kind: stages\n    stages:\n      - {duration: 4s, target: 8}\n      - {duration: 3s, target: 3, spawn_rate: 50}\n  tasks:\n    - {name: ok, request: {path: /ok}}\n",
    );
    let active: Vec<u64> = r.series.iter().map(|row| row.active).collect();
    // Spawning at 4 users/s towards 8: about 4 after 1 s, 8 after 2 s; then down to 3 at once.
    assert!((3..=5).contains(&active[0]), "{active:?}");
    assert!((7..=8).contains(&active[1]), "{active:?}");
    // Row 3 closes at 4 s, where the stage changes: it may count either side of the switch.
    assert!((7..=9).contains(&active[2]), "{active:?}");
    assert!(
        active[4..6].iter().all(|a| (2..=4).contains(a)),
        "{active:?}"
    );
    for row in &r.series[..6] {
        assert!(row.target == 8.0 || row.target == 3.0);
    }
    assert_eq!(r.total.failures, 0);
    assert!(r.total.requests > 50);
}

#[test]
fn login_extract_and_templates() {
    let s = Server::start();
    let r = run(
        &s.url(),
        "  users: 3\n  spawn_rate: 100\n  run_time: 2s\n  think_time: {min: 50ms, max: 50ms}\n  on_start:\n    - request: {method: POST, path: /login, json: {user: \"u{{ user.index }}\"}}\n      extract: {token: {json: /token}, who: {regex: '\"user\": ?\"(u[0-9]+)\"'}}\n  tasks:\n    - name: auth\n      weight: 2\n      request: {path: /auth, headers: {Authorization: \"Bearer {{ token }}\"}}\n      check: {status: 200, json: {pointer: /ok, equals: true}}\n    - name: echo\n      request: {path: \"/echo/{{ who }}/{{ random(1, 9) }}\", name: \"/echo/[who]\"}\n      check: {body_contains: \"GET /echo/u\"}\n",
    );
    assert_eq!(r.total.failures, 0, "{:?}", r.failures);
    assert_eq!(s.hits("/login"), 3);
    let names: Vec<&str> = r.requests.iter().map(|n| n.name.as_str()).collect();
    assert!(
        names.contains(&"/echo/[who]") && names.contains(&"/auth"),
        "{names:?}"
    );
}

#[test]
fn checks_and_failure_grouping() {
    let s = Server::start();
    let r = run(
        &s.url(),
        "  users: 2\n  spawn_rate: 100\n  run_time: 1s\n  think_time: {min: 20ms, max: 20ms}\n  tasks:\n    - {name: a, request: {path: /status/500}}\n    - {name: b, request: {path: /status/404}}\n    - {name: c, request: {path: /ok}, check: {status: 201}}\n    - {name: d, request: {path: /ok}, check: {body_contains: nope}}\n    - {name: e, request: {path: /chunked}, check: {body_contains: hello world}}\n",
    );
    let errors: Vec<(String, String)> = r
        .failures
        .iter()
        .map(|f| (f.name.clone(), f.error.clone()))
        .collect();
    for (name, error) in [
        ("/status/500", "status: HTTP 500"),
        ("/status/404", "status: HTTP 404"),
        ("/ok", "check: expected status 201, got 200"),
        ("/ok", "check: body does not contain `nope`"),
    ] {
        assert!(
            errors.iter().any(|(n, e)| n == name && e == error),
            "{name}: {error} not in {errors:?}"
        );
    }
    let chunked = r
        .requests
        .iter()
        .find(|n| n.name == "/chunked")
        .expect("chunked row");
    assert_eq!(chunked.failures, 0);
    assert_eq!(chunked.avg_content_size, 11.0);
}

#[test]
fn faults_are_counted_with_their_kind() {
    let s = Server::start();
    let r = run(
        &s.url(),
        "  users: 2\n  spawn_rate: 100\n  run_time: 2s\n  timeout: 300ms\n  think_time: {min: 20ms, max: 20ms}\n  tasks:\n    - {name: refused, request: {url: \"http://127.0.0.1:1/\"}}\n    - {name: dns, request: {url: \"http://no-such-host.invalid/\"}}\n    - {name: close, request: {path: /close}}\n    - {name: reset, request: {path: /reset}}\n    - {name: slow, request: {path: /slow}}\n    - {name: bad, request: {url: \"{{ choice(['not a url']) }}\"}}\n    - {name: fine, request: {path: /ok}}\n",
    );
    for kind in ["connect", "dns", "closed", "reset", "timeout", "template"] {
        assert!(
            failures_of_kind(&r, kind) > 0,
            "no `{kind}` failure in {:#?}",
            r.failures
        );
    }
    let fine = r.requests.iter().find(|n| n.name == "/ok").expect("ok row");
    assert_eq!(fine.failures, 0);
}

#[test]
fn open_model_keeps_its_rate() {
    let s = Server::start();
    let r = run(
        &s.url(),
        "  model: open\n  rate: 200\n  run_time: 3s\n  tasks:\n    - {name: ok, request: {path: /ok}}\n",
    );
    let open = r.open.as_ref().expect("open stats");
    assert!((open.started as f64 - 600.0).abs() <= 3.0, "{open:?}");
    assert_eq!(open.dropped, 0);
}

#[test]
fn csv_headers_equal_locusts() {
    let s = Server::start();
    let dir = root().join("target").join("test-tmp").join("csv");
    let prefix = dir.join("run");
    let (out, _) = super::soy(
        &[
            "load",
            "--host",
            &s.url(),
            "-u",
            "2",
            "-t",
            "2s",
            "--csv",
            prefix.to_str().expect("utf8"),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for name in ["stats", "stats_history", "failures", "exceptions"] {
        let ours = std::fs::read_to_string(dir.join(format!("run_{name}.csv"))).expect("ours");
        let locust = std::fs::read_to_string(
            root().join(format!("tests/fixtures/locust/locust-2.47.0_{name}.csv")),
        )
        .expect("locust");
        assert_eq!(ours.lines().next(), locust.lines().next(), "{name} header");
        let cols = locust.lines().next().map_or(0, |l| l.split(',').count());
        for line in ours.lines().skip(1) {
            assert_eq!(line.split(',').count(), cols, "{name}: {line}");
        }
    }
}

#[test]
fn interrupt_writes_results_and_exits_130() {
    let s = Server::start();
    let json = root()
        .join("target")
        .join("test-tmp")
        .join("interrupted.json");
    let _ = std::fs::remove_file(&json);
    let url = s.url();
    let child = super::harness::spawn(&[
        "load",
        "--host",
        &url,
        "-u",
        "2",
        "-t",
        "60s",
        "--json",
        json.to_str().expect("utf8"),
    ]);
    // Interrupt once requests are being answered (an event, not a sleep).
    super::harness::wait_until("requests at the server", Duration::from_secs(20), || {
        s.hits("/") > 10
    });
    child.signal("INT");
    let out = child.wait(Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("results written")).expect("json");
    assert_eq!(r["interrupted"], true);
    assert!(r["total"]["requests"].as_u64().unwrap_or(0) > 0);
    assert!(text(&out.stdout).contains("Aggregated"));
}

#[test]
fn unreachable_host_still_writes_results() {
    let json = root()
        .join("target")
        .join("test-tmp")
        .join("unreachable.json");
    let (out, _) = super::soy(
        &[
            "load",
            "--host",
            "http://127.0.0.1:1",
            "-u",
            "1",
            "-t",
            "1s",
            "--json",
            json.to_str().expect("utf8"),
        ],
        Duration::from_secs(30),
    );
    // No request succeeded: exit 3 with the first failure's reason (Locust's convention).
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no request succeeded") && text(&out.stderr).contains("connect"),
        "{}",
        text(&out.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("written")).expect("json");
    assert!(r["total"]["failures"].as_u64().unwrap_or(0) > 0);
    assert_eq!(r["failures"][0]["kind"], "connect");
}

#[test]
fn failed_requests_set_the_exit_code_as_locust_does() {
    let s = Server::start();
    let t = super::harness::Test::new("exit-codes");
    let manifest = t.write(
        "half-failing.yaml",
        &format!(
            "apiVersion: soy/v1\nkind: Experiment\nmetadata: {{name: t}}\nload:\n  host: {}\n  users: 2\n  spawn_rate: 100\n  run_time: 1s\n  think_time: {{min: 20ms, max: 20ms}}\n  tasks:\n    - {{name: ok, request: {{path: /ok}}}}\n    - {{name: bad, request: {{path: /status/500}}}}\n",
            s.url()
        ),
    );
    let m = manifest.to_str().expect("utf8");
    let (out, _) = super::soy(&["load", m], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("requests failed"),
        "{}",
        text(&out.stderr)
    );
    let (out, _) = super::soy(
        &["load", m, "--exit-code-on-error", "7"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let (out, _) = super::soy(
        &["load", m, "--exit-code-on-error", "0"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(s.hits("/status/500") > 0 && s.hits("/ok") > 0);
}

#[test]
fn metrics_port_serves_prometheus_text() {
    let s = Server::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let (url, p) = (s.url(), port.to_string());
    let child = super::harness::spawn(&[
        "load",
        "--host",
        &url,
        "-u",
        "2",
        "-t",
        "4s",
        "--metrics-port",
        &p,
    ]);
    let fetch = || {
        use std::io::{Read, Write};
        let mut body = String::new();
        if let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
            let _ = c.read_to_string(&mut body);
        }
        body
    };
    // Read once both users run and requests have been counted.
    let mut body = String::new();
    super::harness::wait_until(
        "two users counted on the metrics port",
        Duration::from_secs(20),
        || {
            body = fetch();
            body.contains("soy_active 2") && body.contains("soy_requests_total{")
        },
    );
    let out = child.wait(Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(body.contains("# TYPE soy_requests_total counter"), "{body}");
    let count: u64 = body
        .lines()
        .find(|l| l.starts_with("soy_requests_total{method=\"GET\",name=\"/\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(count > 0, "{body}");
    assert!(body.contains("soy_active 2"), "{body}");
}

#[test]
fn a_taken_metrics_port_is_a_clear_error_before_any_load() {
    let s = Server::start();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let (out, _) = super::soy(
        &[
            "load",
            "--host",
            &s.url(),
            "-t",
            "2s",
            "--metrics-port",
            &port,
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains(&format!("cannot serve load metrics on 127.0.0.1:{port}")),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(s.hits("/"), 0);
}

#[test]
fn https_verifies_certificates_and_trusts_a_ca_file() {
    let (s, pem) = Server::start_tls();
    let host = format!("https://localhost:{}", s.addr.port());
    // Self-signed and not trusted: every request fails in the handshake.
    let r = run(
        &host,
        "  users: 1\n  spawn_rate: 100\n  run_time: 1s\n  think_time: {min: 50ms, max: 50ms}\n  tasks: [{name: ok, request: {path: /ok}}]\n",
    );
    assert!(failures_of_kind(&r, "tls") > 0, "{:?}", r.failures);
    assert_eq!(r.total.failures, r.total.requests);
    // Trusted through tls.ca_file.
    let ca = root()
        .join("target")
        .join("test-tmp")
        .join(format!("ca-{}.pem", s.addr.port()));
    std::fs::write(&ca, &pem).expect("write CA");
    let r = run(
        &host,
        &format!(
            "  users: 1\n  spawn_rate: 100\n  run_time: 1s\n  think_time: {{min: 50ms, max: 50ms}}\n  tls: {{ca_file: {}}}\n  tasks: [{{name: ok, request: {{path: /ok}}}}]\n",
            ca.display()
        ),
    );
    assert_eq!(r.total.failures, 0, "{:?}", r.failures);
    assert!(r.total.requests >= 5);
    // Or not verified at all.
    let r = run(
        &host,
        "  users: 1\n  spawn_rate: 100\n  run_time: 1s\n  tls: {insecure: true}\n  tasks: [{name: ok, request: {path: /chunked}, check: {body_contains: hello world}}]\n",
    );
    assert_eq!(r.total.failures, 0, "{:?}", r.failures);
}

#[test]
fn http2_with_prior_knowledge() {
    let s = Server::start_h2();
    let r = run(
        &s.url(),
        "  users: 2\n  spawn_rate: 100\n  run_time: 1s\n  http2: true\n  tasks:\n    - {name: get, request: {path: /h2}, check: {body_contains: \"GET /h2 HTTP/2.0\"}}\n    - {name: post, request: {method: POST, path: /form, form: {a: \"1\"}}, check: {body_contains: \"POST /form\"}}\n",
    );
    assert_eq!(r.total.failures, 0, "{:?}", r.failures);
    assert!(s.hits("/h2") > 10 && s.hits("/form") > 10);
}

#[test]
fn a_generator_that_uses_all_its_cpu_says_so() {
    // soy pinned to one CPU, sending as fast as it can: its one CPU is busy (the server,
    // in this test process, runs on the others).
    let s = Server::start();
    let json = root().join("target/test-tmp/busy-generator.json");
    let _ = std::fs::remove_file(&json);
    let out = std::process::Command::new("taskset")
        .args(["-c", "0"])
        .arg(env!("CARGO_BIN_EXE_soy"))
        .args(["load", "--host", &s.url(), "-c", "32", "-t", "4s", "--json"])
        .arg(&json)
        .output()
        .expect("taskset (util-linux)");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("results")).expect("json");
    let cpu = &r["generator_cpu"];
    assert_eq!(cpu["cpus"], 1.0, "{cpu}");
    let (mean, max) = (cpu["mean"].as_f64().unwrap(), cpu["max"].as_f64().unwrap());
    // Sending flat out, it used a good part of its CPU (all of it on an idle machine; the
    // tests running beside it take some).
    assert!(mean > 0.3 && mean <= max && max <= 1.0, "{cpu}");
    // The live line warns exactly when a second was busy.
    let busy = cpu["busy_seconds"].as_u64().unwrap_or(0) > 0;
    assert_eq!(
        text(&out.stderr).contains("soy may be the bottleneck"),
        busy,
        "{cpu}: {}",
        text(&out.stderr)
    );
}
