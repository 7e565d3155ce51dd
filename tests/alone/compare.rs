//! `soy compare` on real runs of the demo chain (a gateway and an upstream on loopback):
//! a run against itself, two runs of one configuration, and a run whose upstream is 30%
//! slower; the latency histograms a run keeps, read back exactly.

#![allow(clippy::unwrap_used)] // test code: a missing file or field is the failure

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::harness::Test;
use super::{alone, free_port, soy, text};

/// A manifest of the demo chain with the upstream's latency `latency`.
fn manifest(t: &Test, name: &str, latency: &str) -> PathBuf {
    manifest_with(t, name, latency, "{formats: [markdown]}")
}

fn manifest_with(t: &Test, name: &str, latency: &str, report: &str) -> PathBuf {
    let (gw, up) = (free_port(), free_port());
    t.write(
        &format!("{name}.yaml"),
        &format!(
            r#"apiVersion: soy/v1
kind: Experiment
metadata: {{name: compare-chain}}
stack:
  driver: local
  services:
    - name: up
      command: soy
      args: [demo-service, upstream, --name, up, --listen, "127.0.0.1:{up}", --latency, "{latency}"]
      ready: {{http: [{{url: "http://127.0.0.1:{up}/health"}}]}}
    - name: gateway
      command: soy
      args: [demo-service, gateway, --listen, "127.0.0.1:{gw}", --upstream, "c=/api=http://127.0.0.1:{up}"]
      ready: {{http: [{{url: "http://127.0.0.1:{gw}/health"}}]}}
load:
  host: http://127.0.0.1:{gw}
  users: 6
  spawn_rate: 100
  run_time: 7s
  warmup: 1s
  tasks:
    - {{name: list, request: {{path: /api/list}}, check: {{status: 200}}}}
    - {{name: item, request: {{path: "/api/item/{{{{ random(1, 9) }}}}"}}, check: {{status: 200}}}}
metrics:
  source: {{kind: embedded, scrape_interval: 1s, targets: ["http://127.0.0.1:{gw}/metrics"]}}
  queries:
    - {{name: gateway_rps, preset: envoy.upstream_rq_rate, cluster: c}}
report: {report}
"#
        ),
    )
}

fn apply(m: &Path, out: &Path) -> PathBuf {
    let (code, dir, err) = apply_code(m, out);
    assert_eq!(code, Some(0), "{err}");
    dir
}

fn apply_code(m: &Path, out: &Path) -> (Option<i32>, PathBuf, String) {
    let (o, _) = soy(
        &["apply", m.to_str().unwrap(), "--out", out.to_str().unwrap()],
        Duration::from_secs(120),
    );
    let dir = std::fs::canonicalize(out.join("compare-chain").join("latest")).expect("latest");
    (o.status.code(), dir, text(&o.stderr))
}

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn a_baseline_in_the_manifest_judges_each_run_against_the_one_before() {
    let _machine = alone();
    let t = Test::new("baseline");
    let out = t.path("runs");
    let report = "{formats: [markdown, json], baseline: latest, fail_on_regression: true}";
    let same = manifest_with(&t, "same", "10ms..12ms", report);
    // The first run has nothing to compare with: said, and not a failure.
    let (code, first, err) = apply_code(&same, &out);
    assert_eq!(code, Some(0), "{err}");
    let b = &summary(&first)["baseline"];
    assert!(
        b["headline"]
            .as_str()
            .unwrap()
            .starts_with("not compared: no earlier run"),
        "{b}"
    );
    // The second: judged against the first, nothing changed at the median. (Any row of a
    // same-configuration pair is a false alarm about 5% of the time, by design and as
    // measured by scripts/measure-compare, so the exit code is checked against the count.)
    let (code, second, err) = apply_code(&same, &out);
    let b = &summary(&second)["baseline"];
    assert_eq!(b["base_dir"], first.to_str().unwrap(), "{b}");
    let regressions = b["regressions"].as_u64().unwrap();
    assert_eq!(code, Some(i32::from(regressions > 0)), "{err}\n{b}");
    let rows = b["rows"].as_array().unwrap();
    assert!(rows.len() >= 18, "{b}");
    for row in rows.iter().filter(|r| r["stat"] == "p50") {
        assert_eq!(row["class"], "same", "{row}");
    }
    assert!(
        err.contains("soy: against baseline compare-chain/"),
        "{err}"
    );
    let md = std::fs::read_to_string(second.join("report.md")).unwrap();
    assert!(
        md.contains("### Against the baseline") && md.contains("no significant change"),
        "{md}"
    );
    // 30% slower: regressed against the second, so the run fails (exit 1) with the reason.
    let slow = manifest_with(&t, "slow", "13ms..15.6ms", report);
    let (code, third, err) = apply_code(&slow, &out);
    assert_eq!(code, Some(1), "{err}");
    let s = summary(&third);
    assert_eq!(s["status"], "failed");
    assert!(
        s["reason"]
            .as_str()
            .unwrap()
            .starts_with("regressed against baseline"),
        "{s}"
    );
    assert!(s["baseline"]["regressions"].as_u64().unwrap() >= 4, "{s}");
    let md = std::fs::read_to_string(third.join("report.md")).unwrap();
    assert!(md.contains("**regressed**"), "{md}");
    // A git ref: the latest stored run made at that commit (every run here was made at
    // HEAD), so the fast chain against the slow run is an improvement.
    let git = manifest_with(
        &t,
        "git",
        "10ms..12ms",
        "{formats: [json], baseline: HEAD, fail_on_regression: true}",
    );
    let (code, fourth, err) = apply_code(&git, &out);
    assert_eq!(code, Some(0), "{err}");
    let b = &summary(&fourth)["baseline"];
    assert_eq!(b["base_dir"], third.to_str().unwrap(), "{b}");
    assert!(b["improvements"].as_u64().unwrap() >= 4, "{b}");
    // A baseline that names nothing is said, and the run keeps its verdict.
    let none = manifest_with(
        &t,
        "none",
        "10ms..12ms",
        "{formats: [json], baseline: no-such-ref-or-dir}",
    );
    let (code, fifth, err) = apply_code(&none, &out);
    assert_eq!(code, Some(0), "{err}");
    let b = &summary(&fifth)["baseline"];
    assert!(
        b["headline"]
            .as_str()
            .unwrap()
            .contains("neither `latest`, a run directory"),
        "{b}"
    );
}

fn compare(args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["compare"];
    all.extend_from_slice(args);
    let (o, _) = soy(&all, Duration::from_secs(120));
    (o.status.code(), text(&o.stdout), text(&o.stderr))
}

fn rows(json: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(json).expect("json");
    v[0]["rows"].as_array().expect("rows").clone()
}

/// The row of `scope` and `stat`.
fn row<'a>(rows: &'a [Value], scope: &str, stat: &str) -> &'a Value {
    rows.iter()
        .find(|x| x["scope"] == scope && x["stat"] == stat)
        .unwrap_or_else(|| panic!("no {scope} {stat} row in {rows:?}"))
}

#[test]
fn compare_finds_a_slower_upstream_and_nothing_between_runs_of_one_configuration() {
    let _machine = alone();
    let t = Test::new("compare");
    let out = t.path("runs");
    let a = apply(&manifest(&t, "a", "10ms..12ms"), &out);
    let b = apply(&manifest(&t, "b", "10ms..12ms"), &out);
    // 30% slower.
    let slow = apply(&manifest(&t, "slow", "13ms..15.6ms"), &out);
    let (a_s, b_s, slow_s) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        slow.to_str().unwrap(),
    );

    histograms_read_back_exactly(&a);

    // A run against itself: no significant change on every row, exit 0 even for CI.
    let (code, json, err) = compare(&[a_s, a_s, "--format", "json", "--fail-on", "regression"]);
    assert_eq!(code, Some(0), "{err}");
    let r = rows(&json);
    assert!(
        r.len() >= 18,
        "3 scopes x 6 figures and the metrics: {json}"
    );
    for row in &r {
        assert_eq!(row["verdict"], "no_change", "{row}");
    }
    row(&r, "GET /api/list", "p99");

    // Two runs of one configuration: the medians within the noise. (Any one row is a false
    // alarm about 5% of the time, by design; the rate over 20 pairs is what
    // scripts/measure-compare measures, not something one pair can show.)
    let (code, json, err) = compare(&[a_s, b_s, "--format", "json"]);
    assert_eq!(code, Some(0), "{err}\n{json}");
    for row in rows(&json).iter().filter(|r| r["stat"] == "p50") {
        assert_eq!(row["verdict"], "no_change", "{row}");
    }

    // 30% slower upstream: regressed at the median and the mean everywhere, exit 1 with
    // --fail-on regression. The tails (p95, p99) of a 7 s run on a busy 2-core machine are
    // set by scheduling as much as by the upstream, so there they need only not improve.
    let (code, json, err) = compare(&[a_s, slow_s, "--format", "json", "--fail-on", "regression"]);
    assert_eq!(code, Some(1), "{err}");
    let r = rows(&json);
    for scope in [
        "GET /api/list",
        "GET /api/item/{{ random(1, 9) }}",
        "Aggregated",
    ] {
        for stat in ["p50", "p95", "p99", "mean"] {
            let row = row(&r, scope, stat);
            let (lo, hi) = (row["low"].as_f64().unwrap(), row["high"].as_f64().unwrap());
            assert!(lo <= hi, "{row}");
            if matches!(stat, "p50" | "mean") {
                assert_eq!(row["verdict"], "regressed", "{row}");
                assert!(lo > 0.05, "{row}");
            } else {
                assert_ne!(row["verdict"], "improved", "{row}");
            }
        }
    }
    // Without --fail-on the comparison still reports, and exits 0.
    let (code, table, _) = compare(&[a_s, slow_s]);
    assert_eq!(code, Some(0));
    assert!(
        table.contains("regressed") && table.contains("95% interval"),
        "{table}"
    );

    // Markdown for a pull request: the table, the chart, within a comment's size.
    let (code, md, err) = compare(&[a_s, b_s, slow_s, "--format", "md"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(md.chars().count() <= 65_536);
    assert_eq!(md.matches("## soy compare").count(), 2, "{md}");
    assert!(
        md.contains("```mermaid") && md.contains("**regressed**"),
        "{md}"
    );
    // HTML, to a file.
    let page = t.path("compare.html");
    let (code, _, err) = compare(&[
        a_s,
        slow_s,
        "--format",
        "html",
        "--output",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(
        html.contains("<td class=\"regressed\">regressed</td>"),
        "{html}"
    );

    // References: EXPERIMENT@N counts back from the latest run; `latest` is the newest.
    let root = out.to_str().unwrap();
    let (code, json, err) = compare(&[
        "compare-chain@3",
        "latest",
        "--out",
        root,
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["base_dir"], a_s);
    assert_eq!(v[0]["new_dir"], slow_s);
    let (code, _, err) = compare(&["compare-chain@9", "latest", "--out", root]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("`compare-chain@9`: `compare-chain` has 3 stored run(s)"),
        "{err}"
    );
    let (code, _, err) = compare(&[a_s, "no/such/run"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("`no/such/run`: no such directory"), "{err}");
    let (code, _, err) = compare(&[a_s, b_s, "--threshold", "five"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--threshold `five`"), "{err}");

    // A run without histograms (an older soy) compares on its percentiles, with a note.
    let old = t.path("old-run");
    copy_dir(&a, &old);
    std::fs::remove_file(old.join("latency.hlog")).unwrap();
    let (code, json, err) = compare(&[old.to_str().unwrap(), slow_s, "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert!(
        v[0]["notes"]
            .to_string()
            .contains("compares on percentiles only"),
        "{json}"
    );
    let p95 = row(v[0]["rows"].as_array().unwrap(), "GET /api/list", "p95");
    assert_eq!(p95["verdict"], "untested", "{p95}");
    assert!(p95["change"].as_f64().unwrap() > 0.2, "{p95}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The run's latency logs hold exactly what its results say: each name's window histogram
/// gives its count and percentiles, and the window's seconds add up to it.
fn histograms_read_back_exactly(run: &Path) {
    use soy::load::hlog;
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    let window = hlog::read(&std::fs::read_to_string(run.join(hlog::WINDOW)).unwrap()).unwrap();
    let seconds =
        hlog::read(&std::fs::read_to_string(run.join(hlog::PER_SECOND)).unwrap()).unwrap();
    let warmup = results["warmup_s"].as_f64().unwrap();
    let names = results["requests"].as_array().unwrap();
    assert_eq!(window.len(), names.len());
    for r in names {
        let key = format!(
            "{} {}",
            r["method"].as_str().unwrap(),
            r["name"].as_str().unwrap()
        );
        let w = window
            .iter()
            .find(|i| i.name == key)
            .unwrap_or_else(|| panic!("{key}"));
        assert_eq!(w.start_s, warmup);
        assert_eq!(w.hist.len(), r["requests"].as_u64().unwrap(), "{key}");
        for (q, field) in [(0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")] {
            let ms = w.hist.value_at_quantile(q) as f64 / 1000.0;
            assert_eq!(ms, r[field].as_f64().unwrap(), "{key} {field}");
        }
        let mut sum = soy::load::stats::histogram();
        for s in seconds
            .iter()
            .filter(|s| s.name == key && s.start_s >= warmup)
        {
            assert_eq!(s.duration_s, 1.0);
            sum.add(&s.hist).unwrap();
        }
        assert_eq!(sum, w.hist, "{key}: the seconds add up to the window");
    }
}
