//! `alerts:` evaluated live, on a series the test controls: soy's own `soy_active` under a
//! step shape (2 users, 8 users from 4 s to 10 s, then 2), scraped by the embedded store or
//! by a real Prometheus (Debian's), against a demo upstream on loopback.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::prometheus::Prometheus;
use super::{free_port, root, runs, soy, text};

/// When the users go above 5 and back (seconds from the load's start): the shape's steps.
const UP: f64 = 4.0;
const DOWN: f64 = 10.0;

fn manifest(name: &str, source: &str, alert: &str, metrics_port: Option<u16>) -> PathBuf {
    let api = free_port();
    let port = metrics_port.map_or(String::new(), |p| format!("  metrics_port: {p}\n"));
    let text = format!(
        r#"apiVersion: soy/v1
kind: Experiment
metadata: {{name: {name}}}
stack:
  driver: local
  services:
    - name: api
      command: soy
      args: [demo-service, upstream, --name, api, --listen, "127.0.0.1:{api}", --latency, 1ms..2ms]
      ready: {{http: [{{url: "http://127.0.0.1:{api}/health"}}]}}
load:
  host: http://127.0.0.1:{api}
  spawn_rate: 100
  think_time: {{min: 50ms, max: 50ms}}
  cooldown: 4s
{port}  shape:
    kind: stages
    stages:
      - {{duration: 4s, target: 2}}
      - {{duration: 6s, target: 8}}
      - {{duration: 4s, target: 2}}
  tasks:
    - {{name: x, request: {{path: /x}}}}
metrics:
  source: {source}
{alert}report: {{formats: [html, markdown]}}
"#
    );
    let dir = root().join("target").join("test-tmp").join("alerts");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).expect("write");
    path
}

fn apply(m: &std::path::Path) -> std::process::Output {
    let out = runs();
    let args = [
        "apply",
        m.to_str().expect("utf8"),
        "--out",
        out.to_str().expect("utf8"),
    ];
    soy(&args, Duration::from_secs(120)).0
}

fn summary(name: &str) -> Value {
    let dir = std::fs::canonicalize(runs().join(name).join("latest")).expect("latest");
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).expect("summary"))
        .expect("json")
}

/// The times of one alert's changes, by state.
fn changes(s: &Value) -> Vec<(String, f64)> {
    let alerts = s["alerts"].as_array().cloned().unwrap_or_default();
    assert_eq!(alerts.len(), 1, "one alert: {s}");
    alerts[0]["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["state"].as_str().unwrap_or("").to_string(),
                c["at"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect()
}

const ALERT: &str = "alerts:\n  - name: ManyUsers\n    expr: sum(soy_active) > 5\n    for: 3s\n    labels: {severity: warning}\n    annotations: {summary: \"{{ $value }} users\"}\n";

#[test]
fn an_alert_goes_pending_fires_and_resolves_when_its_series_says() {
    let m = manifest(
        "alert-timeline",
        "{kind: embedded, scrape_interval: 1s}",
        ALERT,
        None,
    );
    let out = apply(&m);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = summary("alert-timeline");
    let c = changes(&s);
    let states: Vec<&str> = c.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(states, ["pending", "firing", "resolved"], "{c:?}");
    let (pending, firing, resolved) = (c[0].1, c[1].1, c[2].1);
    // Seen within a scrape and an evaluation (1 s each) of the change, and a second for
    // the generator's own per-second statistics.
    assert!((UP..=UP + 3.0).contains(&pending), "pending at {pending}");
    // `for: 3s`: the first evaluation at least 3 s after it became active.
    let held = firing - pending;
    assert!((2.9..=4.2).contains(&held), "fired {held} s after pending");
    assert!(
        (DOWN..=DOWN + 3.0).contains(&resolved),
        "resolved at {resolved}"
    );
    let a = &s["alerts"][0];
    assert_eq!(a["labels"]["severity"], "warning");
    // Templated with the value of the alert's last change: 8 users, or fewer when the
    // last active sample caught the step down halfway.
    let last = a["changes"][2]["value"].as_f64().expect("value");
    assert!((6.0..=8.0).contains(&last), "last active value {last}");
    assert_eq!(a["annotations"]["summary"], format!("{last} users"));
    assert_eq!(a["fired"], true);
    // As events, and as the report's timeline.
    let events = s["events"].as_array().expect("events");
    assert!(
        events
            .iter()
            .any(|e| e["what"] == "alert ManyUsers{severity=\"warning\"} firing"),
        "{events:?}"
    );
    let dir = std::fs::canonicalize(runs().join("alert-timeline").join("latest")).expect("dir");
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("### Alerts") && md.contains("| ManyUsers | severity=warning | firing |"),
        "{md}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(html.contains("<table id=\"alerts\">"), "alerts table");
    // On the charts as bands (pending, then firing), not as event markers.
    let chart = std::fs::read_to_string(dir.join("charts").join("load.svg")).expect("load.svg");
    for band in ["alert ManyUsers pending", "alert ManyUsers firing"] {
        assert!(chart.contains(band), "{band} on the load chart");
    }
    assert!(
        !chart.contains("ManyUsers{"),
        "alert changes are not markers"
    );
    assert!(
        events.iter().any(|e| e["kind"] == "alert"),
        "alert events have their kind: {events:?}"
    );
}

#[test]
fn an_alert_with_abort_stops_the_load_and_the_run_is_judged_aborted() {
    let alert = ALERT.replace("    for: 3s\n", "    for: 1s\n    abort: true\n");
    let m = manifest(
        "alert-abort",
        "{kind: embedded, scrape_interval: 1s}",
        &alert,
        None,
    );
    let out = apply(&m);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("soy: run aborted: alert `ManyUsers` fired"),
        "{err}"
    );
    let s = summary("alert-abort");
    assert_eq!(s["status"], "aborted", "{s}");
    // Stopped soon after firing, well before the shape's 14 s; teardown and report ran.
    let duration = s["load"]["duration_s"].as_f64().expect("duration");
    let firing = changes(&s)
        .iter()
        .find(|(st, _)| st == "firing")
        .map(|(_, t)| *t)
        .expect("fired");
    assert!(
        duration < firing + 2.0 && duration < 12.0,
        "{duration} s of load, fired at {firing}"
    );
    assert_eq!(s["alerts"][0]["aborted"], true);
    let phases: Vec<(&str, &str)> = s["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or(""),
                p["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(phases.contains(&("teardown", "ok")), "{phases:?}");
    let dir = std::fs::canonicalize(runs().join("alert-abort").join("latest")).expect("dir");
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(md.contains("🛑 aborted: alert `ManyUsers` fired"), "{md}");
    assert!(md.contains("ManyUsers (stopped the load)"), "{md}");
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(html.contains("ABORTED — aborted: alert"), "banner");
}

#[test]
fn alerts_against_prometheus_fire_when_they_do_against_the_embedded_store() {
    let every = 2.0;
    // Without `for`: pending and firing at one evaluation, so both sources have the same
    // changes to compare.
    let alert = ALERT.replace("    for: 3s\n", "");
    let interval = format!("  evaluation_interval: {every}s\n");
    // Embedded: soy scrapes its own exposition every second.
    let m = manifest(
        "alert-embedded",
        &format!("{{kind: embedded, scrape_interval: 1s}}\n{interval}"),
        &alert,
        None,
    );
    let out = apply(&m);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let embedded = changes(&summary("alert-embedded"));
    // Prometheus scrapes soy's exposition on its metrics port every second; soy asks it.
    let port = free_port();
    let prom = Prometheus::start(&[port]);
    let m = manifest(
        "alert-prometheus",
        &format!(
            "{{kind: prometheus, url: \"{}\", timeout: 5s}}\n{interval}",
            prom.url()
        ),
        &alert,
        Some(port),
    );
    let out = apply(&m);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let from_prometheus = changes(&summary("alert-prometheus"));
    let states = |c: &[(String, f64)]| c.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>();
    assert_eq!(states(&embedded), states(&from_prometheus));
    // Within one evaluation interval: both see a change within a scrape (1 s, Prometheus at
    // a phase of its own) and a second of the generator's statistics, and evaluate on 2 s
    // grids half a second apart.
    for ((state, a), (_, b)) in embedded.iter().zip(&from_prometheus) {
        assert!(
            (a - b).abs() <= every,
            "{state}: embedded at {a}, Prometheus at {b}"
        );
    }
}

#[test]
fn rule_files_of_the_shipped_experiments_pass_promtool() {
    requires!(promtool);
    let dir = root().join("target").join("test-tmp").join("rules");
    std::fs::create_dir_all(&dir).expect("dir");
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("experiments")).expect("experiments") {
        let m = entry.expect("entry").path();
        if m.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let out = dir.join(format!(
            "{}.rules.yml",
            m.file_stem().expect("stem").to_string_lossy()
        ));
        let (run, _) = soy(
            &[
                "rules",
                m.to_str().expect("utf8"),
                "-o",
                out.to_str().expect("utf8"),
            ],
            Duration::from_secs(60),
        );
        assert_eq!(
            run.status.code(),
            Some(0),
            "{}: {}",
            m.display(),
            text(&run.stderr)
        );
        let check = std::process::Command::new("promtool")
            .args(["check", "rules", out.to_str().expect("utf8")])
            .output()
            .expect("promtool");
        assert!(
            check.status.success(),
            "{}: {}{}",
            out.display(),
            text(&check.stdout),
            text(&check.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 7, "{checked} experiments");
    // The alerts and SLOs of a manifest, each as a rule: the SLO's bound and the alert's
    // `for`, labels and annotations as written.
    let m = manifest(
        "alert-rules",
        "{kind: embedded, scrape_interval: 1s}",
        &format!("{ALERT}slos:\n  - {{load: error_rate, max: 1%}}\n  - {{load: max, max: 1s}}\n"),
        None,
    );
    let (run, _) = soy(
        &["rules", m.to_str().expect("utf8")],
        Duration::from_secs(30),
    );
    // The slowest response is no series Prometheus holds: exit 2, naming the SLO.
    assert_eq!(run.status.code(), Some(2), "{}", text(&run.stdout));
    let err = text(&run.stderr);
    assert!(
        err.contains("Prometheus cannot express this rule")
            && err.contains("SLO `max of all requests <= 1s`"),
        "{err}"
    );
    let good = std::fs::read_to_string(&m)
        .expect("manifest")
        .replace("  - {load: max, max: 1s}\n", "");
    std::fs::write(&m, good).expect("write");
    let (run, _) = soy(
        &["rules", m.to_str().expect("utf8")],
        Duration::from_secs(30),
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let rules = text(&run.stdout);
    for line in [
        "      - alert: ManyUsers\n        expr: \"sum(soy_active) > 5\"\n        for: 3s\n",
        "          severity: \"warning\"\n",
        "          summary: \"{{ $value }} users\"\n",
        "expr: \"sum(increase(soy_request_failures_total[14s])) / sum(increase(soy_requests_total[14s])) > 0.01\"",
    ] {
        assert!(rules.contains(line), "{line:?} in\n{rules}");
    }
}

#[test]
fn an_slo_with_abort_on_fail_stops_a_run_it_has_already_lost() {
    let slos = "slos:\n  - {load: p95, max: 0.5ms, abort_on_fail: true, delay: 2s}\n  - {load: error_rate, max: 1%, abort_on_fail: true}\n";
    let m = manifest(
        "slo-abort",
        "{kind: embedded, scrape_interval: 1s}",
        slos,
        None,
    );
    let out = apply(&m);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("soy: run aborted: SLO `p95 of all requests <= 0.5ms` already broken"),
        "{err}"
    );
    let s = summary("slo-abort");
    assert_eq!(s["status"], "aborted", "{s}");
    // Not judged before its delay; stopped at the first evaluation after it.
    let at = changes(&s)
        .iter()
        .find(|(st, _)| st == "firing")
        .map(|(_, t)| *t)
        .expect("broken");
    assert!((2.0..=4.0).contains(&at), "broken at {at}");
    let duration = s["load"]["duration_s"].as_f64().expect("duration");
    assert!(duration < at + 2.0, "{duration} s of load");
    // The final verdicts are the whole window's: the impossible one fails, the other passes.
    let verdicts: Vec<&str> = s["slos"]
        .as_array()
        .expect("slos")
        .iter()
        .map(|v| v["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(verdicts, ["fail", "pass"], "{s}");
    // What cannot be judged live is said at validation.
    let bad = manifest(
        "slo-abort-bad",
        "{kind: embedded, scrape_interval: 1s}",
        "slos:\n  - {load: max, max: 1s, abort_on_fail: true}\n  - {load: p95, max: 1s, delay: 5s}\n",
        None,
    );
    let (run, _) = soy(
        &["validate", bad.to_str().expect("utf8")],
        Duration::from_secs(30),
    );
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(
        err.contains("this SLO cannot abort the run: the slowest response cannot be judged live"),
        "{err}"
    );
    assert!(
        err.contains("`delay` is read only with `abort_on_fail: true`"),
        "{err}"
    );
}
