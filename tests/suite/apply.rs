//! `soy apply` end to end with the local driver and soy's demo services, its failure paths,
//! and `soy report` on a stored run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{free_port, root, runs, soy, text};

/// A local experiment: an upstream and a gateway from `soy demo-service`, marked with `marker`
/// so leftover processes can be found.
fn manifest(name: &str, marker: &str, upstream_extra: &str, ready: &str, load: &str) -> PathBuf {
    let (p1, p2) = (free_port(), free_port());
    let text = format!(
        r#"apiVersion: soy/v1
kind: Experiment
metadata: {{name: {name}}}
stack:
  driver: local
  services:
    - name: api
      command: soy
      args: [demo-service, upstream, --name, {marker}, --listen, "127.0.0.1:{p1}", --latency, 1ms..3ms{upstream_extra}]
      ready: {{http: [{{url: "http://127.0.0.1:{p1}/health"}}]}}
    - name: gateway
      command: soy
      args: [demo-service, gateway, --listen, "127.0.0.1:{p2}", --conn-manager, {marker}_hcm, --upstream, "api_cluster=/api=http://127.0.0.1:{p1}"]
      ready: {{http: [{{url: "http://127.0.0.1:{p2}/health"}}]}}
  ready: {ready}
load:
  host: http://127.0.0.1:{p2}
  users: 4
  spawn_rate: 100
  think_time: {{min: 20ms, max: 40ms}}
{load}
  tasks:
    - {{name: items, request: {{path: /api/items}}, check: {{status: 200}}}}
slos:
  - {{load: p95, max: 500ms}}
  - {{load: error_rate, max: 1%}}
report: {{formats: [html, markdown, json], junit: true}}
"#
    );
    let dir = root().join("target").join("test-tmp").join("manifests");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).expect("write");
    path
}

fn leftovers(marker: &str) -> String {
    let out = std::process::Command::new("pgrep")
        .args(["-fa", marker])
        .output()
        .expect("pgrep");
    text(&out.stdout)
        .lines()
        .filter(|l| !l.contains("pgrep"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The gateway's port: the load's host in a manifest written by `manifest`.
fn gateway_port(manifest: &Path) -> u16 {
    let text = std::fs::read_to_string(manifest).expect("manifest");
    text.lines()
        .find_map(|l| l.trim().strip_prefix("host: http://127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .expect("a load host on 127.0.0.1")
}

/// Waits until the gateway on `port` has forwarded load requests (an event, not a sleep).
fn wait_for_load(port: u16) {
    super::harness::wait_for_gateway(port, "api_cluster", 10.0);
}

/// Processes whose process group is `pgid`.
fn group_members(pgid: i32) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some(i) = stat.rfind(')') else { continue };
        let f: Vec<&str> = stat[i + 2..].split_whitespace().collect();
        if f.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid) && f.first() != Some(&"Z") {
            out.push(stat[..=i].to_string());
        }
    }
    out
}

fn summary_of(run_dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run_dir.join("summary.json")).expect("summary.json"))
        .expect("json")
}

fn last_run(name: &str) -> PathBuf {
    std::fs::canonicalize(runs().join(name).join("latest")).expect("latest link")
}

/// A check script of `scripts/` run with the tests' Python: what it printed (a problem it
/// reports fails the test).
fn check_script(script: &str, args: &[&Path]) -> String {
    let check = std::process::Command::new(super::harness::venv_python())
        .arg(root().join("scripts").join(script))
        .args(args)
        .output()
        .expect("the check runs");
    assert!(
        check.status.success(),
        "{script}: {}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
    text(&check.stdout)
}

/// scripts/check-report-browser.py on a page; the screenshot lands in
/// `target/browser-check/`.
fn browser_check(html: &Path, shot: &str) -> String {
    let shot = root().join("target/browser-check").join(shot);
    std::fs::create_dir_all(shot.parent().expect("dir")).expect("dir");
    check_script("check-report-browser.py", &[html, &shot])
}

/// scripts/check-mermaid.py on a Markdown report: every Mermaid block renders with npm's
/// Mermaid in Chromium, and the file fits a pull-request comment.
fn mermaid_check(md: &Path) -> String {
    check_script("check-mermaid.py", &[md])
}

#[test]
fn apply_runs_a_local_experiment_end_to_end() {
    let marker = format!("soy-e2e-{}", std::process::id());
    let m = manifest(
        "e2e",
        &marker,
        "",
        "{timeout: 20s}",
        "  run_time: 5s\n  warmup: 1s\n  cooldown: 1s\n  csv: results/e2e",
    );
    let (out, _) = soy(
        &[
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            runs().to_str().expect("utf8"),
        ],
        Duration::from_secs(90),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let html = PathBuf::from(
        text(&out.stdout)
            .lines()
            .last()
            .expect("a last line")
            .trim(),
    );
    assert!(html.ends_with("report.html") && html.is_file(), "{html:?}");
    let dir = html.parent().expect("run dir").to_path_buf();
    assert_eq!(std::fs::canonicalize(&dir).ok(), Some(last_run("e2e")));
    // The page as a person sees it: headless Chromium loads it without console errors and
    // every chart is visible (scripts/check-report-browser.py; a screenshot is kept).
    requires!(chromium);
    assert!(browser_check(&html, "report.png").contains("charts visible"));
    assert!(mermaid_check(&dir.join("report.md")).contains("blocks of"));
    // The runs index of the reports root lists this run.
    let index = std::fs::read_to_string(runs().join("index.html")).expect("index.html");
    let id = dir.file_name().expect("id").to_string_lossy().into_owned();
    assert!(
        index.contains(&format!("href=\"e2e/{id}/report.html\"")),
        "{index}"
    );
    for f in [
        "manifest.yaml",
        "resolved.json",
        "run.json",
        "results.json",
        "summary.json",
        "report.md",
        "junit.xml",
        "logs/api.log",
        "logs/gateway.log",
        "metrics/series.json",
        "metrics/series.csv",
        "results/e2e_stats.csv",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("manifest.yaml")).ok(),
        std::fs::read_to_string(&m).ok()
    );
    let charts = std::fs::read_dir(dir.join("charts"))
        .expect("charts")
        .count();
    assert!(charts >= 4, "{charts} charts");
    // summary.json validates against its committed schema, and its numbers are the load's.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/summary.schema.json")).expect("schema"),
    )
    .expect("json");
    let summary = summary_of(&dir);
    let errors: Vec<String> = jsonschema::validator_for(&schema)
        .expect("schema compiles")
        .iter_errors(&summary)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("results.json")).expect("results"))
            .expect("json");
    assert_eq!(summary["status"], "passed");
    assert_eq!(summary["load"]["requests"], results["total"]["requests"]);
    assert_eq!(summary["load"]["p95_ms"], results["total"]["p95_ms"]);
    assert!(summary["load"]["requests"].as_u64().unwrap_or(0) > 100);
    let phases: Vec<&str> = summary["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        phases,
        ["deploy", "ready", "load", "cooldown", "collect", "teardown"]
    );
    let series = std::fs::read_to_string(dir.join("metrics/series.json")).expect("series");
    assert!(
        series.contains("container_cpu_usage_seconds_total")
            && series.contains("container_memory_usage_bytes")
    );
    assert!(
        std::fs::read_to_string(dir.join("junit.xml"))
            .expect("junit")
            .contains("tests=\"2\" failures=\"0\"")
    );
    assert_eq!(leftovers(&marker), "", "processes left behind");
}

#[test]
fn a_service_that_does_not_start_leaves_a_partial_report() {
    let marker = format!("soy-nostart-{}", std::process::id());
    let m = manifest("nostart", &marker, "", "{timeout: 5s}", "  run_time: 3s");
    let text_m = std::fs::read_to_string(&m).expect("read").replace(
        "command: soy\n      args: [demo-service, gateway",
        "command: soy-no-such-program\n      args: [demo-service, gateway",
    );
    std::fs::write(&m, text_m).expect("write");
    let (out, _) = soy(
        &[
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            runs().to_str().expect("utf8"),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let s = summary_of(&last_run("nostart"));
    assert_eq!(s["status"], "incomplete");
    assert!(
        s["reason"].as_str().unwrap_or("").contains("did not start"),
        "{}",
        s["reason"]
    );
    assert!(last_run("nostart").join("report.html").is_file());
    assert_eq!(leftovers(&marker), "", "processes left behind");
}

#[test]
fn a_readiness_timeout_leaves_a_partial_report() {
    let marker = format!("soy-notready-{}", std::process::id());
    let dead = free_port();
    let m = manifest(
        "notready",
        &marker,
        "",
        &format!("{{timeout: 2s, tcp: [{{address: \"127.0.0.1:{dead}\"}}]}}"),
        "  run_time: 3s",
    );
    let (out, _) = soy(
        &[
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            runs().to_str().expect("utf8"),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let s = summary_of(&last_run("notready"));
    assert!(
        s["reason"]
            .as_str()
            .unwrap_or("")
            .contains("not ready within 2s"),
        "{}",
        s["reason"]
    );
    assert_eq!(leftovers(&marker), "", "processes left behind");
}

#[test]
fn a_service_crashing_mid_run_stops_the_run_and_keeps_its_data() {
    let marker = format!("soy-crash-{}", std::process::id());
    let m = manifest(
        "crash",
        &marker,
        ", --exit-after, 3s",
        "{timeout: 20s}",
        "  run_time: 20s",
    );
    let (out, took) = soy(
        &[
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            runs().to_str().expect("utf8"),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        took < Duration::from_secs(18),
        "the run should stop at the crash, took {took:?}"
    );
    let dir = last_run("crash");
    let s = summary_of(&dir);
    assert!(
        s["reason"]
            .as_str()
            .unwrap_or("")
            .contains("exited during the run"),
        "{}",
        s["reason"]
    );
    assert!(
        s["load"]["requests"].as_u64().unwrap_or(0) > 0,
        "what was collected is kept"
    );
    assert!(
        std::fs::read_to_string(dir.join("report.html"))
            .expect("html")
            .contains("INCOMPLETE")
    );
    assert_eq!(leftovers(&marker), "", "processes left behind");
}

#[test]
fn sigint_mid_run_tears_down_and_reports() {
    let marker = format!("soy-sigint-{}", std::process::id());
    let m = manifest("sigint", &marker, "", "{timeout: 20s}", "  run_time: 60s");
    let out_dir = runs();
    let child = super::harness::spawn(&[
        "apply",
        m.to_str().expect("utf8"),
        "--out",
        out_dir.to_str().expect("utf8"),
    ]);
    // Interrupt once the load is seen at the gateway, so this is mid-run, not mid-deploy.
    wait_for_load(gateway_port(&m));
    child.signal("INT");
    let out = child.wait(Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let s = summary_of(&last_run("sigint"));
    assert_eq!(s["status"], "incomplete");
    assert!(
        s["reason"].as_str().unwrap_or("").contains("interrupted"),
        "{}",
        s["reason"]
    );
    assert_eq!(leftovers(&marker), "", "processes left behind");
}

#[test]
fn report_rerenders_a_stored_run() {
    let run = "tests/fixtures/run/quickstart";
    let (md, _) = soy(&["report", run, "--format", "md"], Duration::from_secs(20));
    assert_eq!(md.status.code(), Some(0), "{}", text(&md.stderr));
    insta::assert_snapshot!("report__quickstart_md", text(&md.stdout));
    let html_path = root()
        .join("target")
        .join("test-tmp")
        .join("rerendered.html");
    let (html, _) = soy(
        &[
            "report",
            run,
            "--format",
            "html",
            "--output",
            html_path.to_str().expect("utf8"),
        ],
        Duration::from_secs(20),
    );
    assert_eq!(html.status.code(), Some(0), "{}", text(&html.stderr));
    let page = std::fs::read_to_string(&html_path).expect("html");
    assert!(
        !page.contains("<script>alert"),
        "names and labels must be escaped"
    );
    assert!(
        page.contains("&lt;script&gt;alert(1)"),
        "a request name is shown as text"
    );
    // A metric label: as escaped text in a static chart, or as an escaped JSON string in
    // the interactive page's data (whose script writes it as text; the browser check
    // looks at the legends).
    if page.contains("id=\"soy-data\"") {
        assert!(
            page.contains("\\u003cscript>alert(2)\\u003c/script>"),
            "a metric label is escaped in the page's data"
        );
        assert!(page.matches("class=\"soy-plot\"").count() >= 4);
    } else {
        assert!(
            page.contains("&lt;script&gt;alert(2)"),
            "a metric label is shown as text"
        );
        assert!(page.matches("<svg").count() >= 4);
    }
    // In a browser no label runs as a script, and legends show them as written.
    requires!(chromium);
    browser_check(&html_path, "escaping.png");
    // The Markdown's Mermaid blocks render, and no label breaks out of them.
    let md_path = html_path.with_extension("md");
    std::fs::write(&md_path, text(&md.stdout)).expect("md");
    mermaid_check(&md_path);
    let (json, _) = soy(
        &["report", run, "--format", "json"],
        Duration::from_secs(20),
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["experiment"], "quickstart");
    let hbs = root().join("target").join("test-tmp").join("custom.md.hbs");
    std::fs::write(
        &hbs,
        "{{summary.experiment}} is {{summary.status}} with {{summary.load.requests}} requests\n",
    )
    .expect("write");
    let (custom, _) = soy(
        &[
            "report",
            run,
            "--format",
            "md",
            "--template",
            hbs.to_str().expect("utf8"),
        ],
        Duration::from_secs(20),
    );
    assert_eq!(
        text(&custom.stdout),
        "quickstart is passed with 3251 requests\n",
        "{}",
        text(&custom.stderr)
    );
    let (bad, _) = soy(&["report", "tests/fixtures"], Duration::from_secs(20));
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("is not a run directory"));
}

/// Starts `soy apply` on a local experiment under `out`, waits until its load reaches the
/// gateway, and returns the child, the run directory, the services' process groups (from
/// state.json) and the manifest.
fn apply_until_load(
    name: &str,
    marker: &str,
    out: &Path,
) -> (super::harness::Child, PathBuf, Vec<i32>, PathBuf) {
    let m = manifest(name, marker, "", "{timeout: 20s}", "  run_time: 60s");
    let child = super::harness::spawn(&[
        "apply",
        m.to_str().expect("utf8"),
        "--out",
        out.to_str().expect("utf8"),
    ]);
    wait_for_load(gateway_port(&m));
    // `latest` is linked at the end of a run: a run still going has none, take the newest.
    let mut runs: Vec<_> = std::fs::read_dir(out.join(name))
        .expect("runs")
        .flatten()
        .map(|e| e.path())
        .filter(|p| !p.ends_with("latest"))
        .collect();
    runs.sort();
    let run_dir = runs.pop().expect("the run directory");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("state.json")).expect("state.json"))
            .expect("json");
    let groups: Vec<i32> = state["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter_map(|s| s["pgid"].as_i64().map(|p| p as i32))
        .collect();
    assert_eq!(groups.len(), 2, "{state}");
    assert!(groups.iter().all(|g| !group_members(*g).is_empty()));
    (child, run_dir, groups, m)
}

/// `soy down MANIFEST --out DIR`, which must succeed; returns what it printed.
fn down(m: &Path, out: &Path) -> String {
    let (down, _) = soy(
        &[
            "down",
            m.to_str().expect("utf8"),
            "--out",
            out.to_str().expect("utf8"),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(down.status.code(), Some(0), "{}", text(&down.stderr));
    text(&down.stdout)
}

#[test]
fn sigkill_mid_run_leaves_no_service_and_soy_down_finds_nothing() {
    let marker = format!("soy-sigkill-{}", std::process::id());
    let t = super::harness::Test::new("sigkill");
    let (child, run_dir, groups, m) = apply_until_load("sigkill", &marker, &t.dir);
    child.signal("KILL");
    let _ = child.wait(Duration::from_secs(10));
    let killed = std::time::Instant::now();
    loop {
        let left: Vec<String> = groups.iter().flat_map(|g| group_members(*g)).collect();
        if left.is_empty() {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(2),
            "still running 2 s after SIGKILL: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(leftovers(&marker), "", "processes left behind");
    let said = down(&m, &t.dir);
    assert!(
        said.starts_with("nothing left of local stack sigkill"),
        "{said}"
    );
    let (report, _) = soy(
        &["report", run_dir.to_str().expect("utf8"), "--format", "md"],
        Duration::from_secs(20),
    );
    assert_eq!(report.status.code(), Some(0), "{}", text(&report.stderr));
    assert!(
        text(&report.stdout)
            .contains("incomplete: killed: soy ended without finishing, during or after `load`"),
        "{}",
        text(&report.stdout)
    );
}

#[test]
fn soy_down_stops_what_a_killed_supervisor_left() {
    // Services whose supervisors were killed before soy was: nothing watches them any more,
    // and `soy down` finds their groups in state.json and stops them.
    let marker = format!("soy-down-{}", std::process::id());
    let t = super::harness::Test::new("down");
    let (child, _, groups, m) = apply_until_load("down", &marker, &t.dir);
    // Kill each supervisor (the leader of its group), then soy: the services run on.
    for g in &groups {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &g.to_string()])
            .status();
    }
    child.signal("KILL");
    let _ = child.wait(Duration::from_secs(10));
    assert!(groups.iter().all(|g| !group_members(*g).is_empty()));
    let said = down(&m, &t.dir);
    assert!(said.contains("stopped api, gateway of"), "{said}");
    super::harness::wait_until(
        "soy down stopping every group",
        Duration::from_secs(5),
        || groups.iter().all(|g| group_members(*g).is_empty()),
    );
    assert_eq!(leftovers(&marker), "");
}

#[test]
fn a_damaged_run_directory_still_renders_with_warnings() {
    let src = root().join("tests/fixtures/run/quickstart");
    let t = super::harness::Test::new("damaged-run");
    let dir = t.dir.clone();
    std::fs::create_dir_all(dir.join("metrics")).expect("dir");
    for f in [
        "manifest.yaml",
        "resolved.json",
        "run.json",
        "summary.json",
        "metrics/series.json",
    ] {
        std::fs::copy(src.join(f), dir.join(f)).expect("copy");
    }
    // Truncated embedded samples and a cut-off results.json.
    std::fs::write(dir.join("metrics/samples.tsdb"), b"SOYTSDB\x01\x00\x00").expect("tsdb");
    let results = std::fs::read(src.join("results.json")).expect("results");
    std::fs::write(dir.join("results.json"), &results[..results.len() / 2]).expect("cut");
    let d = dir.to_str().expect("utf8");
    let (md, _) = soy(&["report", d, "--format", "md"], Duration::from_secs(20));
    assert_eq!(md.status.code(), Some(0), "{}", text(&md.stderr));
    let page = text(&md.stdout);
    assert!(
        page.contains("metrics/samples.tsdb cannot be read"),
        "{page}"
    );
    assert!(
        page.contains("metrics/series.json) are shown instead"),
        "{page}"
    );
    assert!(page.contains("results.json is damaged"), "{page}");
    // Everything else is still there: the verdict and the load's headline numbers.
    assert!(page.contains("3251"), "{page}");
    let (html, _) = soy(&["report", d], Duration::from_secs(20));
    assert_eq!(html.status.code(), Some(0), "{}", text(&html.stderr));
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(html.contains("id=\"warnings\""));
    // New questions need the samples: that is an error, not a warning.
    let (q, _) = soy(
        &[
            "report",
            d,
            "--format",
            "md",
            "--manifest",
            "experiments/quickstart.yaml",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(q.status.code(), Some(2), "{}", text(&q.stderr));
    // The whole chain, one cause a line: what failed, which file, what is wrong in it.
    let err = text(&q.stderr);
    assert!(
        err.contains("error: metrics/samples.tsdb cannot be read\n  caused by: ")
            && err.contains("samples.tsdb is damaged\n  caused by: not a soy metrics file"),
        "{err}"
    );
}

#[test]
fn teardown_never_leaves_every_service_running_until_soy_down() {
    let marker = format!("soy-never-{}", std::process::id());
    let m = manifest(
        "never",
        &marker,
        "",
        "{timeout: 20s}\n  teardown: never",
        "  run_time: 1s",
    );
    let out_dir = root().join("target/test-tmp/runs-never");
    let (out, _) = soy(
        &[
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            out_dir.to_str().expect("utf8"),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // soy has ended; both services (not just one) still answer.
    let port = gateway_port(&m);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "the gateway stopped with soy"
    );
    assert_eq!(
        leftovers(&marker)
            .lines()
            .filter(|l| l.contains("demo-service"))
            .count(),
        4
    );
    let said = down(&m, &out_dir);
    assert!(said.contains("stopped api, gateway of"), "{said}");
    assert_eq!(leftovers(&marker), "", "soy down left processes");
}

#[test]
fn the_runs_index_lists_stored_runs_newest_first_and_marks_a_damaged_one() {
    let root = root().join("target/test-tmp/index-root");
    let _ = std::fs::remove_dir_all(&root);
    let fixture = root_fixture();
    let copy = |to: &Path| {
        std::fs::create_dir_all(to).expect("dir");
        for f in ["summary.json", "run.json", "manifest.yaml"] {
            std::fs::copy(fixture.join(f), to.join(f)).expect("copy");
        }
    };
    copy(&root.join("quickstart/20261127T180418Z-b38cc7"));
    let broken = root.join("quickstart/20261128T000000Z-aaaaaa");
    copy(&broken);
    std::fs::write(broken.join("summary.json"), "{\"experiment\": ").expect("cut");
    let r = root.to_str().expect("utf8");
    let (out, _) = soy(&["report", "--index", r], Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        root.join("index.html").to_str().expect("utf8")
    );
    let page = std::fs::read_to_string(root.join("index.html")).expect("index");
    assert!(page.contains("2 runs of 1 experiments"), "{page}");
    assert!(page.contains("href=\"quickstart/20261127T180418Z-b38cc7/report.html\""));
    assert!(page.contains("class=\"unreadable\">unreadable"), "{page}");
    assert!(page.contains("20.6 ms"), "the p95 in its unit: {page}");
}

fn root_fixture() -> PathBuf {
    root().join("tests/fixtures/run/quickstart")
}
