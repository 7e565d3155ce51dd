//! System↔application correlation on a real run: the shipped `correlate-demo` (the demo
//! chain beside a batch job that busies both cores now and then) finds the batch job's CPU
//! moving with the users' p95; the report's section and charts; `soy correlate` on the
//! stored run; bad input.

use std::time::Duration;

use serde_json::Value;

use super::harness::Test;
use super::{alone, free_port, root, soy, text};

fn correlate(args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["correlate"];
    all.extend_from_slice(args);
    let (o, _) = soy(&all, Duration::from_secs(60));
    (o.status.code(), text(&o.stdout), text(&o.stderr))
}

/// The row of `findings` relating `system` to `application`.
fn relation<'a>(findings: &'a Value, system: &str, application: &str) -> Option<&'a Value> {
    findings
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["system"] == system && f["application"] == application)
}

#[test]
fn the_demo_finds_the_noisy_neighbours_cpu_moving_with_the_users_p95() {
    let _machine = alone();
    let t = Test::new("correlate");
    // The shipped demo, on free ports.
    let shipped =
        std::fs::read_to_string(root().join("experiments/correlate-demo.yaml")).expect("the demo");
    let manifest = shipped
        .replace(
            "gateway_port: 18195",
            &format!("gateway_port: {}", free_port()),
        )
        .replace(
            "upstream_port: 18196",
            &format!("upstream_port: {}", free_port()),
        );
    assert_ne!(manifest, shipped);
    let m = t.write("correlate-demo.yaml", &manifest);
    let out = t.path("runs");
    let (o, _) = soy(
        &[
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            out.to_str().expect("utf8"),
        ],
        Duration::from_secs(180),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let dir = std::fs::canonicalize(out.join("correlate-demo/latest")).expect("latest");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).expect("summary"))
            .expect("json");
    let c = &summary["correlation"];
    assert_eq!(c["step_s"], 1.0, "{c}");
    assert!(c["steps"].as_u64().expect("steps") >= 40, "{c}");
    // Every service's CPU is a system series; an error rate that stays 0 is no series.
    for s in ["batch-job CPU", "ms-exercise CPU", "gateway CPU"] {
        assert!(
            c["system_series"]
                .as_array()
                .expect("system")
                .iter()
                .any(|x| x == s),
            "{s}: {c}"
        );
    }
    assert!(
        !c["application_series"].to_string().contains("error rate"),
        "{c}"
    );
    // The batch job's bursts slow the users down: the same direction, strongly.
    let f = relation(&c["findings"], "batch-job CPU", "p95 latency")
        .unwrap_or_else(|| panic!("no batch-job CPU ~ p95 finding: {c}"));
    assert!(f["spearman"].as_f64().expect("rho") >= 0.5, "{f}");
    assert!(f["p_value"].as_f64().expect("p") < 0.05, "{f}");
    assert!(f["lag_s"].as_f64().expect("lag").abs() <= 1.0, "{f}");
    for f in c["findings"].as_array().expect("findings") {
        assert!(f["spearman"].as_f64().expect("rho").abs() >= 0.5, "{f}");
    }

    // The report: the table and the pair on one time axis.
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("### System and application") && md.contains("batch-job CPU"),
        "{md}"
    );
    assert!(md.contains("](charts/relation-0.svg)"), "{md}");
    let svg = std::fs::read_to_string(dir.join("charts/relation-0.svg")).expect("chart");
    assert!(svg.contains("<svg"), "{svg}");
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(
        html.contains("id=\"correlation-section\"") && html.contains("id=\"relation-chart-0\""),
        "the section and its first chart"
    );

    // `soy correlate` on the stored run: the same findings as the run's summary.
    let d = dir.to_str().expect("utf8");
    let (code, json, err) = correlate(&[d, "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let again: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(again["findings"], c["findings"]);
    let (code, table, _) = correlate(&["correlate-demo@1", "--out", out.to_str().expect("utf8")]);
    assert_eq!(code, Some(0));
    assert!(
        table.lines().any(|l| l.starts_with("batch-job CPU")
            && l.contains("p95 latency")
            && l.ends_with("yes")),
        "{table}"
    );
    // Every pair, findings or not, and stricter thresholds keep fewer.
    let (_, every, _) = correlate(&[d, "--all", "--format", "json"]);
    let every: Value = serde_json::from_str(&every).expect("json");
    let n = |v: &Value| v["findings"].as_array().expect("findings").len();
    let len = |v: &Value| v.as_array().expect("series").len();
    assert_eq!(
        n(&every),
        len(&c["system_series"]) * len(&c["application_series"]),
        "each pair once: {every}"
    );
    assert!(n(&every) >= n(c));
    let (_, strict, _) = correlate(&[d, "--min-rho", "0.95", "--format", "json"]);
    let strict: Value = serde_json::from_str(&strict).expect("json");
    assert!(n(&strict) < n(c), "{strict}");
    let (_, md, _) = correlate(&[d, "--format", "md"]);
    assert!(
        md.starts_with("## soy correlate ") && md.contains("| relation |"),
        "{md}"
    );

    // Bad input is said, with what it should be.
    let (code, _, err) = correlate(&[d, "--min-rho", "2"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--min-rho 2: a correlation's size is between 0 and 1"),
        "{err}"
    );
    let (code, _, err) = correlate(&["no/such/run"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("`no/such/run`: no such directory"), "{err}");
    let (code, _, err) = correlate(&[out.to_str().expect("utf8")]);
    assert_eq!(code, Some(2), "a folder that is not a run");
    assert!(!err.is_empty());
}
