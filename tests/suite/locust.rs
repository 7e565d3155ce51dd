//! The Locust driver with a real Locust (target/venv) against soy's demo services on
//! 127.0.0.1: counts agree with Locust's own CSV and with the gateway, soy's shape reaches
//! Locust, a shape file and `--processes`, Ctrl-C, and the checks before anything runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::harness::{Test, free_port, port_open, root, spawn_path, text, venv_path, wait_until};

fn locustfile() -> PathBuf {
    root().join("experiments/locust/locustfile.py")
}

/// `Aggregated` of a Locust `_stats.csv`: (requests, failures).
fn stats_csv(path: &Path) -> (u64, u64) {
    let t = std::fs::read_to_string(path).expect("_stats.csv");
    let row = t
        .lines()
        .find(|l| l.starts_with(",Aggregated,"))
        .expect("Aggregated row");
    let f: Vec<&str> = row.split(',').collect();
    (
        f[2].parse().expect("count"),
        f[3].parse().expect("failures"),
    )
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("json file")).expect("json")
}

/// The demo chain as local services on free ports; returns (stack yaml, gateway port).
fn chain() -> (String, u16) {
    let (gw, ex, other) = (free_port(), free_port(), free_port());
    let stack = format!(
        r#"stack:
  driver: local
  name: lchain
  services:
    - name: ms-exercise
      command: soy
      args: [demo-service, upstream, --name, ms-exercise, --listen, "127.0.0.1:{ex}", --latency, 1ms..3ms]
      ready: {{http: [{{url: "http://127.0.0.1:{ex}/health"}}]}}
    - name: ms-other
      command: soy
      args: [demo-service, upstream, --name, ms-other, --listen, "127.0.0.1:{other}"]
      ready: {{http: [{{url: "http://127.0.0.1:{other}/health"}}]}}
    - name: gateway
      command: soy
      args: [demo-service, gateway, --listen, "127.0.0.1:{gw}", --upstream, "ms_exercise_cluster=/api/exercises=http://127.0.0.1:{ex}", --upstream, "ms_other_cluster=/api/other=http://127.0.0.1:{other}"]
      ready: {{http: [{{url: "http://127.0.0.1:{gw}/health"}}]}}
  teardown: always
"#
    );
    (stack, gw)
}

/// `soy apply MANIFEST --out OUT` with the tests' Locust on PATH.
fn apply(manifest: &Path, out: &Path) -> super::harness::Child {
    spawn_path(
        &[
            "apply",
            manifest.to_str().expect("utf8"),
            "--out",
            out.to_str().expect("utf8"),
        ],
        &venv_path(),
    )
}

/// A server the test started, killed when the test ends.
struct Server(super::harness::Child);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.signal("KILL");
    }
}

/// soy's demo upstream on a free port of 127.0.0.1, listening; stopped when dropped.
fn upstream() -> (Server, u16) {
    let port = free_port();
    let child = super::harness::spawn(&[
        "demo-service",
        "upstream",
        "--name",
        "up",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    wait_until("the upstream listening", Duration::from_secs(10), || {
        port_open(port)
    });
    (Server(child), port)
}

fn max_of(series: &Value, name: &str) -> f64 {
    series
        .as_array()
        .expect("series")
        .iter()
        .find(|q| q["name"] == name)
        .and_then(|q| q["series"][0]["points"].as_array())
        .expect("points")
        .iter()
        .filter_map(|p| p[1].as_f64())
        .fold(0.0, f64::max)
}

#[test]
fn the_shipped_locustfile_through_soys_stages_agrees_with_locust_and_the_gateway() {
    requires!(locust);
    let t = Test::new("locust-chain");
    let (stack, gw) = chain();
    let m = t.write(
        "chain.yaml",
        &format!(
            r#"apiVersion: soy/v1
kind: Experiment
metadata: {{name: locust-chain-{pid}}}
{stack}
load:
  driver: locust
  locust: {{file: {file}}}
  host: "http://127.0.0.1:{gw}"
  spawn_rate: 10
  cooldown: 2s
  shape:
    kind: stages
    stages:
      - {{duration: 4s, target: 2}}
      - {{duration: 4s, target: 6}}
      - {{duration: 4s, target: 3}}
metrics:
  source: {{kind: embedded, scrape_interval: 1s, targets: ["http://127.0.0.1:{gw}/metrics"]}}
  queries:
    - {{name: upstream_completed, promql: "sum(envoy_cluster_upstream_rq_completed)"}}
    - {{name: soy_total, promql: "sum(soy_requests_total)"}}
slos:
  - {{load: p95, max: 10s}}
  - {{load: p95, max: 0.001ms}}
report: {{formats: [markdown, json]}}
"#,
            pid = std::process::id(),
            file = locustfile().display(),
        ),
    );
    let out = t.path("runs");
    let run = apply(&m, &out).wait(Duration::from_secs(120));
    let err = text(&run.stderr);
    // The impossible SLO fails the run; the other passes.
    assert_eq!(run.status.code(), Some(1), "{err}");
    let dir = out
        .join(format!("locust-chain-{}", std::process::id()))
        .join("latest");
    let summary = json(&dir.join("summary.json"));
    let verdicts: Vec<&str> = summary["slos"]
        .as_array()
        .expect("slos")
        .iter()
        .map(|s| s["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(verdicts, ["pass", "fail"], "{summary}");
    // soy's counts are Locust's own: its `_stats.csv`, kept in the run directory.
    let results = json(&dir.join("results.json"));
    assert_eq!(results["driver"], "locust");
    let total = results["total"]["requests"].as_u64().expect("requests");
    let (csv_total, csv_failures) = stats_csv(&dir.join("locust/locust_stats.csv"));
    assert_eq!(total, csv_total);
    assert_eq!(results["total"]["failures"].as_u64(), Some(csv_failures));
    assert!(total > 50, "{total}");
    // Per-second series, adding up to the total.
    let rows = results["series"].as_array().expect("series");
    assert!(rows.len() >= 10, "{}", rows.len());
    let summed: u64 = rows
        .iter()
        .map(|r| r["requests"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(summed, total);
    // The gateway counted every request but the logins it answers itself, within 1%.
    let logins = results["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .find(|r| r["name"] == "/login")
        .and_then(|r| r["requests"].as_u64())
        .unwrap_or(0);
    let metrics = json(&dir.join("metrics/series.json"));
    let upstream = max_of(&metrics, "upstream_completed");
    let expected = (total - logins) as f64;
    assert!(
        (upstream - expected).abs() <= 0.01 * expected,
        "gateway {upstream} vs Locust {expected}"
    );
    // soy's own exposition, scraped from the driver, says the same as Locust.
    assert_eq!(max_of(&metrics, "soy_total"), total as f64);
    // Locust's users followed soy's stages, within one spawn step (a second of lag).
    let history =
        std::fs::read_to_string(dir.join("locust/locust_stats_history.csv")).expect("history");
    let rows: Vec<(f64, u64)> = history
        .lines()
        .filter(|l| l.contains(",Aggregated,"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f[0].parse().ok()?, f[1].parse().ok()?))
        })
        .collect();
    let t0 = rows.iter().find(|r| r.1 > 0).expect("users").0;
    let target = |s: f64| match s {
        s if s < 4.0 => 2,
        s if s < 8.0 => 6,
        _ => 3,
    };
    let mut checked = 0;
    for (ts, users) in rows.iter().filter(|r| r.0 >= t0 && r.0 - t0 < 12.0) {
        let s = ts - t0;
        let (a, b) = (target((s - 1.5).max(0.0)), target(s));
        assert!(
            (a.min(b)..=a.max(b)).contains(users),
            "at +{s}s Locust ran {users} users; the stages say {b}"
        );
        checked += 1;
    }
    assert!(checked >= 8, "{checked} history rows");
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("rounds each response time to two significant digits"),
        "{md}"
    );
}

#[test]
fn soy_load_runs_the_seed_wrappers_command_line_with_a_shape_file_and_two_processes() {
    requires!(locust);
    let t = Test::new("locust-load");
    let (_upstream, port) = upstream();
    let shape = t.write(
        "shape.py",
        "from locust import LoadTestShape\n\nclass Short(LoadTestShape):\n    def tick(self):\n        return None if self.get_run_time() >= 5 else (4, 4)\n",
    );
    let csv = t.path("results/test_envoy");
    let out = t.path("results.json");
    let run = spawn_path(
        &[
            "load",
            "-f",
            locustfile().to_str().expect("utf8"),
            "--loadshape-file",
            shape.to_str().expect("utf8"),
            "--processes",
            "2",
            "-H",
            &format!("http://127.0.0.1:{port}"),
            "--csv",
            csv.to_str().expect("utf8"),
            "--json",
            out.to_str().expect("utf8"),
        ],
        &venv_path(),
    )
    .wait(Duration::from_secs(90));
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let r = json(&out);
    let total = r["total"]["requests"].as_u64().expect("requests");
    assert!(total > 20, "{total}");
    assert_eq!(
        (total, 0),
        stats_csv(&t.path("results/test_envoy_stats.csv"))
    );
    assert_eq!(r["locust"]["most_workers"], 2, "{}", r["locust"]);
    let workers = r["locust"]["workers"].as_array().expect("workers");
    assert_eq!(workers.len(), 2, "{workers:?}");
    assert!(workers.iter().all(|w| w["most_users"] == 2), "{workers:?}");
    assert!(text(&run.stdout).contains("Aggregated"));
}

#[test]
fn ctrl_c_stops_locust_keeps_its_results_and_leaves_nothing() {
    requires!(locust);
    let t = Test::new("locust-int");
    let (_upstream, port) = upstream();
    // Constant load (Locust's own SIGTERM handler) and soy's shape (a LoadTestShape, during
    // which headless Locust has none of its own: soy's hook stops it).
    for (case, load) in [
        ("constant", "  users: 3\n  spawn_rate: 3\n  run_time: 60s\n"),
        (
            "shaped",
            "  spawn_rate: 3\n  shape: {kind: stages, stages: [{duration: 60s, target: 3}]}\n",
        ),
    ] {
        interrupt(&t, port, case, load);
    }
}

/// Runs a 60 s Locust load, interrupts it once requests flow, and checks what is left.
fn interrupt(t: &Test, port: u16, case: &str, load: &str) {
    // A copy of the locustfile under a name only this run uses, to find its processes.
    let marker = format!("lf_int_{case}_{}.py", std::process::id());
    let lf = t.write(
        &marker,
        &std::fs::read_to_string(locustfile()).expect("locustfile"),
    );
    let m = t.write(
        &format!("{case}.yaml"),
        &format!(
            "apiVersion: soy/v1\nkind: Experiment\nmetadata: {{name: locust-int-{case}-{}}}\nstack: {{driver: external}}\nload:\n  driver: locust\n  locust: {{file: {}}}\n  host: \"http://127.0.0.1:{port}\"\n{load}report: {{formats: [json]}}\n",
            std::process::id(),
            lf.display()
        ),
    );
    let out = t.path("runs");
    let child = apply(&m, &out);
    let exp = out.join(format!("locust-int-{case}-{}", std::process::id()));
    let sending = |dir: &Path| {
        std::fs::read_to_string(dir.join("locust/live.jsonl")).is_ok_and(|l| {
            l.lines().any(|l| {
                serde_json::from_str::<Value>(l)
                    .is_ok_and(|s| s["total"]["requests"].as_u64().unwrap_or(0) > 0)
            })
        })
    };
    let mut dir = PathBuf::new();
    wait_until("Locust sending load", Duration::from_secs(40), || {
        let found = std::fs::read_dir(&exp)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|d| sending(d));
        found.map(|d| dir = d).is_some()
    });
    child.signal("INT");
    let run = child.wait(Duration::from_secs(40));
    assert_eq!(
        run.status.code(),
        Some(130),
        "{case}: {}",
        text(&run.stderr)
    );
    let results = json(&dir.join("results.json"));
    assert!(results["interrupted"].as_bool().unwrap_or(false), "{case}");
    assert!(
        results["total"]["requests"].as_u64().unwrap_or(0) > 0,
        "{case}"
    );
    // Locust stopped gracefully: its final statistics, equal to its completed CSV.
    assert_eq!(
        results["locust"]["final_stats"], true,
        "{case}: {}",
        results["locust"]
    );
    let (csv_total, _) = stats_csv(&dir.join("locust/locust_stats.csv"));
    assert_eq!(
        results["total"]["requests"].as_u64(),
        Some(csv_total),
        "{case}"
    );
    wait_until("no Locust process left", Duration::from_secs(2), || {
        !processes_with(&marker)
    });
}

/// Whether any process has `needle` in its command line.
fn processes_with(needle: &str) -> bool {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
}

#[test]
fn a_locustfile_that_does_not_load_or_lacks_the_class_is_refused_before_deploy() {
    requires!(locust);
    let t = Test::new("locust-bad");
    let manifest = |name: &str, file: &Path, extra: &str| {
        t.write(
            &format!("{name}.yaml"),
            &format!(
                "apiVersion: soy/v1\nkind: Experiment\nmetadata: {{name: {name}}}\nstack: {{driver: external}}\nload:\n  driver: locust\n  locust: {{file: {}{extra}}}\n  host: http://127.0.0.1:9\n  users: 1\n  run_time: 5s\n",
                file.display()
            ),
        )
    };
    let bad = t.write(
        "bad.py",
        "from locust import HttpUser, task\nclass A(HttpUser:\n    pass\n",
    );
    let missing = t.write("imports.py", "import no_such_module_for_soy\n");
    let cases = [
        (
            manifest("syntax", &bad, ""),
            vec!["SyntaxError", "bad.py:2"],
        ),
        (
            manifest("import", &missing, ""),
            vec!["ModuleNotFoundError", "imports.py:1"],
        ),
        (
            manifest("class", &locustfile(), ", user_classes: [DemoUsr]"),
            vec![
                "defines no User class `DemoUsr`",
                "did you mean `DemoUser`?",
            ],
        ),
        (
            manifest("flag", &locustfile(), ", options: [--stop-timeuot, \"5\"]"),
            vec![
                "has no flag `--stop-timeuot`",
                "did you mean `--stop-timeout`?",
            ],
        ),
    ];
    for (m, said) in &cases {
        let out = t.path("runs");
        let run = apply(m, &out).wait(Duration::from_secs(60));
        let err = text(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{err}");
        for s in said {
            assert!(err.contains(s), "{s:?} not in:\n{err}");
        }
        // Nothing ran: no run directory.
        assert!(!out.exists(), "{err}");
    }
    // Without Locust on PATH (a PATH of one empty folder): exit 2 with the install command.
    let empty = t.path("empty-bin");
    std::fs::create_dir_all(&empty).expect("empty bin");
    let run = spawn_path(
        &["validate", cases[2].0.to_str().expect("utf8")],
        empty.as_os_str(),
    )
    .wait(Duration::from_secs(30));
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(
        err.contains("Locust is not installed") && err.contains("pip install locust"),
        "{err}"
    );
}

#[test]
fn debians_python3_locust_runs_under_soy_too() {
    assert!(
        Path::new("/usr/bin/locust").is_file(),
        "this test needs Debian's Locust: apt-get install python3-locust (scripts/test-all does it)"
    );
    let t = Test::new("locust-debian");
    let (_upstream, port) = upstream();
    // With a shape file: Locust 2.12 takes the shape from the last file it loads only.
    let shape = t.write(
        "shape.py",
        "from locust import LoadTestShape\n\nclass Short(LoadTestShape):\n    def tick(self):\n        t = self.get_run_time()\n        return None if t >= 4 else ((2, 10) if t < 2 else (4, 10))\n",
    );
    let csv = t.path("debian");
    let out = t.path("results.json");
    let run = spawn_path(
        &[
            "load",
            "-f",
            locustfile().to_str().expect("utf8"),
            "--locust-command",
            "/usr/bin/locust",
            "--loadshape-file",
            shape.to_str().expect("utf8"),
            "-H",
            &format!("http://127.0.0.1:{port}"),
            "--csv",
            csv.to_str().expect("utf8"),
            "--json",
            out.to_str().expect("utf8"),
        ],
        std::ffi::OsStr::new("/usr/sbin:/usr/bin:/sbin:/bin"),
    )
    .wait(Duration::from_secs(60));
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let r = json(&out);
    let total = r["total"]["requests"].as_u64().expect("requests");
    assert!(total > 10, "{total}");
    assert_eq!((total, 0), stats_csv(&t.path("debian_stats.csv")));
    assert_eq!(r["locust"]["final_stats"], true);
    // The shape drove the users: 2, then 4.
    let active: Vec<u64> = r["series"]
        .as_array()
        .expect("series")
        .iter()
        .filter_map(|s| s["active"].as_u64())
        .collect();
    assert!(active.contains(&2) && active.contains(&4), "{active:?}");
}

#[test]
fn locust_workers_are_checked_against_the_stack() {
    requires!(locust);
    let t = Test::new("locust-workers-bad");
    let demo = root().join("stacks/demo-swarm.yml");
    let manifest = |name: &str, stack: &str, locust: &str, host: &str| {
        t.write(
            &format!("{name}.yaml"),
            &format!(
                "apiVersion: soy/v1\nkind: Experiment\nmetadata: {{name: {name}}}\nstack: {stack}\nload:\n  driver: locust\n  locust: {{file: {}{locust}}}\n  host: {host}\n  users: 2\n  run_time: 5s\n",
                locustfile().display()
            ),
        )
    };
    let swarm = format!("{{driver: swarm, file: {}, name: lw}}", demo.display());
    let cases = [
        (
            manifest(
                "external",
                "{driver: external}",
                ", workers: 2",
                "http://127.0.0.1:9",
            ),
            vec![
                "Locust workers run on the swarm; this stack's driver is `external`",
                "`locust.processes` for workers on this machine",
            ],
        ),
        (
            manifest(
                "both",
                &swarm,
                ", workers: 2, processes: 2",
                "http://gateway:8080",
            ),
            vec!["`processes` and `workers` both say where Locust's workers run"],
        ),
        (
            manifest("host", &swarm, ", workers: 2", "http://gatway:8080"),
            vec![
                "`load.host` must name one of its services",
                "not `gatway`",
                "did you mean `gateway`?",
            ],
        ),
    ];
    for (m, said) in &cases {
        let run = spawn_path(&["validate", m.to_str().expect("utf8")], &venv_path())
            .wait(Duration::from_secs(60));
        let err = text(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{err}");
        for s in said {
            assert!(err.contains(s), "{s:?} not in:\n{err}");
        }
    }
    // The same manifest naming the gateway service is valid, and its plan places Locust in
    // the gateway's network.
    let good = manifest("good", &swarm, ", workers: 3", "http://gateway:8080");
    let run = spawn_path(
        &["plan", good.to_str().expect("utf8"), "--output", "json"],
        &venv_path(),
    )
    .wait(Duration::from_secs(60));
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let plan: Value = serde_json::from_slice(&run.stdout).expect("plan json");
    let s = &plan["load"]["locust"]["swarm"];
    assert_eq!(s["network"], "lw_backend", "{s}");
    assert_eq!(s["target"], "gateway", "{s}");
    assert_eq!(s["workers"], 3, "{s}");
}
