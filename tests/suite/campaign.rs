//! Campaigns end to end on the local demo chain: a sweep's runs, its record against its
//! schema and its report against the runs' summaries; Ctrl-C then `--resume`; a capacity
//! search on an upstream with a known capacity; a campaign too large to run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::harness::{Test, spawn, wait_until};
use super::{free_port, root, soy, text};

/// A local chain (an upstream and soy's gateway) as a campaign; `campaign` is the `sweep:`
/// or `search:` section, `upstream` extra upstream flags, `load` extra load lines.
fn manifest(
    t: &Test,
    name: &str,
    campaign: &str,
    upstream: &str,
    load: &str,
    slos: &str,
) -> PathBuf {
    let (p1, p2) = (free_port(), free_port());
    t.write(
        &format!("{name}.yaml"),
        &format!(
            r#"apiVersion: soy/v1
kind: Experiment
metadata: {{name: {name}}}
vars: {{latency: 1ms}}
{campaign}
stack:
  driver: local
  services:
    - name: api
      command: soy
      args: [demo-service, upstream, --listen, "127.0.0.1:{p1}", --latency, "{{{{ latency }}}}"{upstream}]
      ready: {{http: [{{url: "http://127.0.0.1:{p1}/health"}}]}}
    - name: gateway
      command: soy
      args: [demo-service, gateway, --listen, "127.0.0.1:{p2}", --upstream, "api_cluster=/api=http://127.0.0.1:{p1}"]
      ready: {{http: [{{url: "http://127.0.0.1:{p2}/health"}}]}}
load:
  host: http://127.0.0.1:{p2}
  users: 2
  spawn_rate: 1000
{load}
  tasks:
    - {{name: items, request: {{path: /api/items}}, check: {{status: 200}}}}
slos:
{slos}
report: {{formats: [html, markdown, json]}}
"#
        ),
    )
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The campaign directory `soy apply` printed a report in.
fn campaign_dir(stdout: &[u8]) -> PathBuf {
    let line = text(stdout);
    let p = PathBuf::from(line.trim());
    p.parent().map(Path::to_path_buf).unwrap_or(p)
}

fn valid_against_schema(rec: &serde_json::Value) {
    let schema = json(&root().join("schemas/campaign.schema.json"));
    let v = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = v
        .iter_errors(rec)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "campaign.json breaks its schema: {errors:?}"
    );
}

#[test]
fn a_sweep_makes_every_run_and_its_report_matches_their_summaries() {
    let t = Test::new("sweep");
    let m = manifest(
        &t,
        "sweep-2x2",
        "sweep:\n  matrix:\n    latency: [1ms, 4ms]\n    load.users: [2, 6]\n  repeat: 2\n  redeploy: per_stack_change",
        "",
        "  run_time: 2s",
        "  - {name: fast, load: p95, max: 2s}\n  - {name: clean, load: error_rate, max: 1%}",
    );
    let out_dir = t.path("runs");
    let (out, _) = soy(
        &[
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            out_dir.to_str().expect("utf8"),
        ],
        Duration::from_secs(300),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = campaign_dir(&out.stdout);
    let rec = json(&dir.join("campaign.json"));
    valid_against_schema(&rec);
    assert_eq!(rec["status"], "complete");
    let runs = rec["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 8, "2 x 2 points x 2 repetitions");
    // Sequential order, the stack shared while only the users change: deployed when the
    // latency changes, reused otherwise.
    let deployed: Vec<bool> = runs
        .iter()
        .map(|r| r["deployed"].as_bool().unwrap_or(true))
        .collect();
    assert_eq!(
        deployed,
        [true, false, false, false, true, false, false, false]
    );
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    for r in runs {
        let id = r["id"].as_str().expect("id");
        let s = json(&dir.join(id).join("summary.json"));
        assert_eq!(r["status"], s["status"], "{id}");
        assert_eq!(r["figures"]["rps"], s["load"]["rps"], "{id}");
        assert_eq!(r["figures"]["p95_ms"], s["load"]["p95_ms"], "{id}");
        let users = r["values"]["load.users"].as_u64().expect("users");
        let latency = r["values"]["latency"].as_str().expect("latency");
        assert!(
            id.contains(&format!("users-{users}")) && id.contains(&format!("latency-{latency}")),
            "{id}"
        );
        // The run's row in the Markdown table: its link, values, status and figures.
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| [{id}]")))
            .unwrap_or_else(|| panic!("no row for {id} in\n{md}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[2], latency, "{row}");
        assert_eq!(cells[3], users.to_string(), "{row}");
        assert_eq!(cells[6], s["status"].as_str().unwrap_or(""), "{row}");
        let rps = soy::report::units::human(s["load"]["rps"].as_f64().unwrap_or(0.0), "req/s");
        assert_eq!(cells[7], rps, "{row}");
        assert!(
            html.contains(&format!("href=\"{id}/report.html\"")),
            "{id} not linked"
        );
        assert!(dir.join(id).join("report.html").is_file());
    }
    // Charts against load, a series per latency, and the best configuration per SLO.
    assert!(dir.join("charts/throughput.svg").is_file());
    assert!(dir.join("charts/p95.svg").is_file());
    assert!(md.contains("## Best configuration per SLO"), "{md}");
    assert!(
        md.contains("| latency=1ms |") && md.contains("| latency=4ms |"),
        "{md}"
    );
    // Across the points: the section is there, and `soy correlate` on the campaign rests on
    // its 8 points (one step each, no lags), its series those every point has.
    assert!(
        md.contains("## System and application across the points"),
        "{md}"
    );
    let (o, _) = soy(
        &["correlate", dir.to_str().expect("utf8"), "--format", "json"],
        Duration::from_secs(60),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(
        (c["steps"].as_u64(), c["step_s"].as_f64()),
        (Some(8), Some(0.0)),
        "{c}"
    );
    assert_eq!(c["max_lag"], 0, "{c}");
    assert!(
        c["application_series"].to_string().contains("p95 latency"),
        "{c}"
    );
    // The reports root's index lists the campaign, linked to its page.
    let index = std::fs::read_to_string(out_dir.join("index.html")).expect("index.html");
    let id = dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("campaign id");
    assert!(
        index.contains(&format!("sweep-2x2/{id}/report.html")) && index.contains("(campaign)"),
        "{index}"
    );
    // `soy report CAMPAIGN_DIR` writes it again from the stored runs.
    std::fs::remove_file(dir.join("report.html")).expect("rm");
    let (out, _) = soy(
        &["report", dir.to_str().expect("utf8")],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.join("report.html"))
            .ok()
            .map(|h| h.len() > 1000),
        Some(true)
    );
}

#[test]
fn ctrl_c_mid_campaign_then_resume_runs_only_the_missing_points() {
    let t = Test::new("resume");
    let m = manifest(
        &t,
        "resume-1x3",
        "sweep:\n  matrix:\n    load.users: [1, 2, 3]\n  order: shuffled\n  seed: 11",
        "",
        "  run_time: 3s",
        "  - {load: error_rate, max: 1%}",
    );
    let out_dir = t.path("runs");
    let child = spawn(&[
        "apply",
        m.to_str().expect("utf8"),
        "--out",
        out_dir.to_str().expect("utf8"),
    ]);
    // Interrupt once the first run has finished and the second has begun.
    let exp_dir = out_dir.join("resume-1x3");
    let record = || -> Option<(PathBuf, serde_json::Value)> {
        let dir = std::fs::read_dir(&exp_dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| !p.ends_with("latest") && p.join("campaign.json").is_file())?;
        let rec = serde_json::from_slice(&std::fs::read(dir.join("campaign.json")).ok()?).ok()?;
        Some((dir, rec))
    };
    wait_until(
        "the first run finished and the second started",
        Duration::from_secs(120),
        || {
            record().is_some_and(|(dir, r)| {
                let n = r["runs"].as_array().map_or(0, Vec::len);
                n == 1
                    && std::fs::read_dir(&dir).map_or(0, |d| {
                        d.flatten()
                            .filter(|e| e.path().join("run.json").is_file())
                            .count()
                    }) == 2
            })
        },
    );
    child.signal("INT");
    let out = child.wait(Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let (dir, rec) = record().expect("campaign.json");
    assert_eq!(rec["status"], "interrupted");
    let before: Vec<serde_json::Value> = rec["runs"].as_array().cloned().unwrap_or_default();
    let finished: Vec<&serde_json::Value> = before
        .iter()
        .filter(|r| r["status"] != "interrupted")
        .collect();
    assert_eq!(finished.len(), 1, "{before:?}");
    assert!(
        dir.join("report.html").is_file(),
        "the report of what it has"
    );
    let (out, _) = soy(
        &[
            "apply",
            "--resume",
            dir.to_str().expect("utf8"),
            "--out",
            out_dir.to_str().expect("utf8"),
        ],
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let made = text(&out.stderr).matches("soy: campaign run ").count();
    assert_eq!(
        made,
        2,
        "only the two missing runs are made:\n{}",
        text(&out.stderr)
    );
    let rec = json(&dir.join("campaign.json"));
    valid_against_schema(&rec);
    assert_eq!(rec["status"], "complete");
    let runs = rec["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 3);
    // The run finished before the interrupt is kept as it was, and the order is the seed's.
    assert_eq!(runs[0], *finished[0]);
    let plan = soy(
        &["plan", m.to_str().expect("utf8")],
        Duration::from_secs(30),
    )
    .0;
    let order: Vec<String> = text(&plan.stdout)
        .lines()
        .skip_while(|l| !l.starts_with("runs, in order"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect();
    let made: Vec<String> = runs
        .iter()
        .map(|r| r["id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(made, order);
    // The run cut short is kept aside, not lost.
    let cut = before
        .iter()
        .find(|r| r["status"] == "interrupted")
        .expect("the interrupted run");
    assert!(
        dir.join(format!("{}.incomplete-1", cut["id"].as_str().unwrap_or("")))
            .join("summary.json")
            .is_file()
    );
}

#[test]
fn a_capacity_search_finds_the_known_knee_within_one_step() {
    let t = Test::new("capacity");
    // 8 requests served at once, 20 ms each: up to 8 users the p95 stays near 20 ms; with
    // more, requests queue for a slot and the p95 doubles.
    let m = manifest(
        &t,
        "capacity-knee",
        "search: {over: users, from: 2, to: 20, step: 2, strategy: binary, slos: [p95], run_time: 3s}",
        ", --concurrency, \"8\"",
        "  run_time: 3s",
        "  - {name: p95, load: p95, max: 32ms}",
    );
    let m_text = std::fs::read_to_string(&m)
        .expect("manifest")
        .replace("vars: {latency: 1ms}", "vars: {latency: 20ms}");
    std::fs::write(&m, m_text).expect("write");
    let out_dir = t.path("runs");
    let (out, _) = soy(
        &[
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            out_dir.to_str().expect("utf8"),
        ],
        Duration::from_secs(300),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = campaign_dir(&out.stdout);
    let rec = json(&dir.join("campaign.json"));
    valid_against_schema(&rec);
    let s = &rec["searches"][0];
    assert_eq!(s["done"], true);
    let cap = s["capacity"].as_f64().expect("a capacity");
    assert!(
        (cap - 8.0).abs() <= 2.0,
        "capacity {cap}, probes {}",
        s["probes"]
    );
    let probes = s["probes"].as_array().expect("probes");
    assert!(
        probes.len() <= 4,
        "binary search over 10 candidates: {probes:?}"
    );
    for p in probes {
        assert!(!p["why"].as_str().unwrap_or("").is_empty());
        let load = p["load"].as_f64().unwrap_or(0.0);
        assert_eq!(p["met"].as_bool(), Some(load <= cap), "{p}");
    }
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("## Capacity") && md.contains(&format!("**{cap}**")),
        "{md}"
    );
}

#[test]
fn campaigns_too_large_or_with_bad_points_are_refused_with_positions() {
    let t = Test::new("refused");
    let big = manifest(
        &t,
        "too-big",
        "sweep:\n  matrix:\n    a: [1, 2, 3, 4, 5, 6, 7]\n    b: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n    c: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]",
        "",
        "  run_time: 1s",
        "  - {load: p95, max: 1s}",
    );
    let (out, _) = soy(
        &["plan", big.to_str().expect("utf8")],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("this campaign makes 1001 runs; at most 1000 are allowed"),
        "{err}"
    );
    assert!(err.contains(":6:"), "positioned at the matrix: {err}");
    let bad = manifest(
        &t,
        "bad-point",
        "sweep:\n  matrix:\n    load.users: [2, 0]\n    load.usres: [1]",
        "",
        "  run_time: 1s",
        "  - {load: p95, max: 1s}",
    );
    let (out, _) = soy(
        &["plan", bad.to_str().expect("utf8")],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("`load.usres` is not a place a sweep can set")
            && err.contains("did you mean `load.users`?"),
        "{err}"
    );
    let fixed = std::fs::read_to_string(&bad)
        .expect("m")
        .replace("    load.usres: [1]\n", "");
    std::fs::write(&bad, fixed).expect("w");
    let (out, _) = soy(
        &["plan", bad.to_str().expect("utf8")],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    // The bad value is shown where the matrix lists it.
    assert!(
        err.contains("campaign point `p2-users-0` does not plan"),
        "{err}"
    );
    assert!(err.contains(":7:") && err.contains("load.users"), "{err}");
}
