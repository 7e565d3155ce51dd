//! The report page's size and build time for a big run (issue 13's figure): 200 series over
//! an hour at 1 s (20 queries of 10 series, 720,000 points), rendered as `soy apply` renders
//! it. Writes `target/bench-report/report.html`; `scripts/bench-report` then times it in
//! Chromium. Run: `cargo bench --bench report`.

use std::collections::BTreeMap;
use std::time::Instant;

use soy::analysis::series::{QueryResult, Series};
use soy::report::render::{self, Inputs};
use soy::report::summary::Summary;

fn main() {
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let (queries, per_query, seconds) = if full { (20, 10, 3600) } else { (2, 2, 60) };
    let start = 1_700_000_000.0;
    let mut state = 7u64;
    let mut noise = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1000) as f64 / 1000.0
    };
    let metrics: Vec<QueryResult> = (0..queries)
        .map(|q| {
            let (name, unit, scale) = match q % 3 {
                0 => (format!("memory_{q}"), "bytes", 1.5e9),
                1 => (format!("cpu_{q}"), "cores", 0.8),
                _ => (format!("latency_{q}"), "ms", 40.0),
            };
            QueryResult {
                name,
                promql: Some(format!("sum by (service) (metric_{q})")),
                unit: Some(unit.into()),
                series: (0..per_query)
                    .map(|s| Series {
                        labels: [("service".to_string(), format!("service-{s:02}"))].into(),
                        points: (0..seconds)
                            .map(|t| (start + t as f64, scale * (0.5 + 0.5 * noise())))
                            .collect(),
                    })
                    .collect(),
                section: None,
                missing: None,
                warnings: Vec::new(),
                gaps: Vec::new(),
            }
        })
        .collect();
    let summary: Summary = serde_json::from_value(serde_json::json!({
        "experiment": "bench", "run_id": "bench", "status": "passed", "exit_code": 0,
        "soy_version": "0", "phases": [], "slos": [], "metrics": [], "events": [],
        "warnings": []
    }))
    .expect("summary");
    let t = Instant::now();
    let data = render::build(Inputs {
        title: "200 series over an hour".into(),
        summary,
        results: None,
        metrics: &metrics,
        labels: BTreeMap::new(),
        manifest: String::new(),
        command_line: String::new(),
        host: String::new(),
        load_start: Some(start),
        warmup_s: 0.0,
        cooldown_s: 0.0,
        charting: soy::report::web::charting(),
    });
    let html = render::render(&data, "report.html", render::HTML_TEMPLATE, None).expect("html");
    let took = t.elapsed();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-report");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("report.html"), &html).expect("write");
    let series = queries * per_query;
    println!(
        "report: {series} series x {seconds} s: report.html {:.2} MB ({}), built and rendered in {:.0} ms (charts drawn as SVG too, for charts/ and the Markdown)",
        html.len() as f64 / 1e6,
        if html.contains("id=\"soy-data\"") {
            "interactive"
        } else {
            "static"
        },
        took.as_secs_f64() * 1e3
    );
    if full {
        assert!(html.len() < 5_000_000, "over 5 MB");
    }
}
