//! The embedded PromQL engine's speed on the reference query:
//! `sum by (service) (rate(x[1m]))` over 1,000 counter series, 1 hour at 1 s resolution,
//! evaluated as a range query with a 15 s step. Run: `cargo bench --bench promql`.

use std::time::Instant;

use soy::promql::{self, Options};
use soy::tsdb::Store;

fn main() {
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` this runs as a quick
    // smoke test on a small store.
    let full = std::env::args().any(|a| a == "--bench");
    let series = if full { 1000usize } else { 40 };
    let hour_ms: i64 = if full { 3_600_000 } else { 600_000 };
    let start = 1_700_000_000_000i64;
    let mut store = Store::new(100_000);
    let built = Instant::now();
    let mut state = 42u64;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let labels: Vec<Vec<(String, String)>> = (0..series)
        .map(|i| {
            vec![
                ("__name__".to_string(), "x".to_string()),
                (
                    "instance".to_string(),
                    format!("10.0.{}.{}:8080", i / 250, i % 250),
                ),
                ("service".to_string(), format!("svc-{}", i % 20)),
            ]
        })
        .collect();
    let mut values = vec![0.0f64; series];
    for s in 0..hour_ms / 1000 {
        for (i, l) in labels.iter().enumerate() {
            values[i] += (rand() % 100) as f64;
            let jitter = (rand() % 5) as i64;
            store
                .append(l, start + s * 1000 + jitter, values[i])
                .expect("append");
        }
    }
    println!(
        "store: {} series, {} samples, {:.2} bytes/sample, built in {:.2?}",
        store.series_count(),
        store.sample_count(),
        store.bytes() as f64 / store.sample_count() as f64,
        built.elapsed()
    );
    let t = Instant::now();
    let all = store.select(&[], start, start + hour_ms);
    println!(
        "decoding every sample of the hour: {:.1?} ({} series)",
        t.elapsed(),
        all.len()
    );
    let expr = "sum by (service) (rate(x[1m]))";
    let opts = Options::default();
    let mut times = Vec::new();
    for _ in 0..if full { 5 } else { 1 } {
        let t = Instant::now();
        let r = promql::range(expr, &store, start + 60_000, start + hour_ms, 15_000, &opts)
            .expect("query");
        times.push(t.elapsed());
        assert_eq!(r.value.len(), 20);
    }
    times.sort();
    println!(
        "range query `{expr}` over {series} series, {} s at 1 s, step 15 s: median {:.1?} (min {:.1?}, max {:.1?}) over {} runs",
        hour_ms / 1000,
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len()
    );
}
