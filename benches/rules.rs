//! The cost of live rules (issue 12's figure): 100 alerting rules over 10,000 series in the
//! embedded store, one evaluation round (each rule an instant query, then Prometheus' state
//! machine) as `run::rules_phase` runs it every evaluation interval. The share of one core at
//! a 1 s interval is the round's time over 1 s. Run: `cargo bench --bench rules`.

use std::time::Instant;

use soy::promql::{self, Options, Value};
use soy::rules::alert::{Labels, Rule};
use soy::tsdb::Store;

fn main() {
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let (series, minutes, rounds) = if full {
        (10_000usize, 10i64, 30)
    } else {
        (200, 2, 2)
    };
    let start = 1_700_000_000_000i64;
    let mut store = Store::new(100_000);
    let labels: Vec<Vec<(String, String)>> = (0..series)
        .map(|i| {
            vec![
                ("__name__".to_string(), "requests_total".to_string()),
                ("instance".to_string(), format!("i-{i}")),
                ("service".to_string(), format!("svc-{}", i % 100)),
            ]
        })
        .collect();
    let mut values = vec![0.0f64; series];
    let mut state = 7u64;
    for s in 0..minutes * 60 {
        for (i, l) in labels.iter().enumerate() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values[i] += (state % 50) as f64;
            store
                .append(l, start + s * 1000, values[i])
                .expect("append");
        }
    }
    let end = start + minutes * 60 * 1000;
    // 100 rules: one per service, as a manifest's alerts look (a rate over a window,
    // aggregated, compared); half of them fire.
    let rules: Vec<String> = (0..100)
        .map(|i| {
            let limit = if i % 2 == 0 { 1.0 } else { 1e9 };
            format!("sum by (service) (rate(requests_total{{service=\"svc-{i}\"}}[30s])) > {limit}")
        })
        .collect();
    let mut machines: Vec<Rule> = rules.iter().map(|_| Rule::new(10.0, 0.0)).collect();
    let opts = Options::default();
    let mut times = Vec::new();
    let mut firing = 0;
    for round in 0..rounds {
        let ts = end - (rounds - round) as i64 * 1000;
        let t = Instant::now();
        for (rule, machine) in rules.iter().zip(machines.iter_mut()) {
            let answer = promql::instant(rule, &store, ts, &opts).expect("query");
            let result: Vec<(Labels, f64)> = match answer.value {
                Value::Vector(v) => v
                    .into_iter()
                    .map(|s| (s.labels.iter().cloned().collect(), s.value))
                    .collect(),
                _ => Vec::new(),
            };
            machine.eval(ts as f64 / 1000.0, &result);
        }
        times.push(t.elapsed().as_secs_f64());
        firing = machines.iter().filter(|m| m.firing()).count();
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let worst = times[times.len() - 1];
    println!(
        "{} rules over {} series ({} samples): a round in {:.1} ms median, {:.1} ms worst of {rounds}; {:.1}% of one core at a 1 s interval; {firing} firing",
        rules.len(),
        store.series_count(),
        store.sample_count(),
        median * 1000.0,
        worst * 1000.0,
        median * 100.0
    );
}
