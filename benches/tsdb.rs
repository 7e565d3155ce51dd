//! Compression and speed of soy's embedded time-series store on realistic scraped data:
//! 1,000 series for one hour at a 1 s scrape interval with a few milliseconds of jitter.
//!
//! Run with `cargo bench --bench tsdb`. The data are seeded, so figures repeat exactly.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use soy::tsdb::{Chunk, HeadChunk, Labels, Store};

const SERIES: usize = 1000;
const SAMPLES: usize = 3600;
const INTERVAL_MS: i64 = 1000;
const JITTER_MS: i64 = 4;
const START_MS: i64 = 1_767_225_600_000;

/// What a series looks like, after the metrics exporters typically expose.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Integer event counters (requests, errors): rates from 0.01/s to 1,000/s.
    Events,
    /// Integer byte counters: 10 kB/s to 10 MB/s.
    Bytes,
    /// CPU-seconds counters in 0.01 s ticks (`process_cpu_seconds_total`).
    CpuSeconds,
    /// Resident memory in 4 KiB pages, drifting.
    Memory,
    /// CPU usage with two decimals (`node_load1`-style).
    CpuRounded,
    /// CPU usage at full precision (a ratio computed by the exporter).
    CpuRatio,
    /// Small integer gauges (threads, connections, queue length).
    SmallInt,
}

impl Kind {
    fn is_counter(self) -> bool {
        matches!(self, Kind::Events | Kind::Bytes | Kind::CpuSeconds)
    }

    /// 600 counters and 400 gauges.
    fn of(i: usize) -> Kind {
        match i % 20 {
            0..=7 => Kind::Events,
            8..=10 => Kind::Bytes,
            11 => Kind::CpuSeconds,
            12..=15 => Kind::Memory,
            16 => Kind::CpuRounded,
            17 => Kind::CpuRatio,
            _ => Kind::SmallInt,
        }
    }

    const ALL: [Kind; 7] = [
        Kind::Events,
        Kind::Bytes,
        Kind::CpuSeconds,
        Kind::Memory,
        Kind::CpuRounded,
        Kind::CpuRatio,
        Kind::SmallInt,
    ];
}

/// One series' hour of samples.
fn generate(kind: Kind, rng: &mut SmallRng) -> Vec<(i64, f64)> {
    let phase = rng.random_range(0..INTERVAL_MS);
    let log_uniform = |rng: &mut SmallRng, lo: f64, hi: f64| {
        (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp()
    };
    let rate = match kind {
        Kind::Events => log_uniform(rng, 0.01, 1000.0),
        Kind::Bytes => log_uniform(rng, 1e4, 1e7),
        Kind::CpuSeconds => log_uniform(rng, 1.0, 200.0), // ticks per second
        _ => 0.0,
    };
    let mut count: u64 = rng.random_range(0..1_000_000);
    let mut level = match kind {
        Kind::Memory => rng.random_range(12_000..500_000) as f64, // pages
        Kind::SmallInt => rng.random_range(1..200) as f64,
        _ => rng.random::<f64>(),
    };
    (0..SAMPLES)
        .map(|k| {
            let t = START_MS
                + phase
                + k as i64 * INTERVAL_MS
                + rng.random_range(-JITTER_MS..=JITTER_MS);
            let v = match kind {
                Kind::Events | Kind::Bytes | Kind::CpuSeconds => {
                    if rng.random_range(0..20_000) == 0 {
                        count = 0; // the process restarted
                    }
                    // Poisson-like: the mean rate with ±50 % noise, rounded.
                    let mean = rate * rng.random_range(0.5..1.5);
                    let whole = mean.floor();
                    let extra = u64::from(rng.random::<f64>() < mean - whole);
                    count += whole as u64 + extra;
                    match kind {
                        Kind::CpuSeconds => count as f64 / 100.0,
                        _ => count as f64,
                    }
                }
                Kind::Memory => {
                    match rng.random_range(0..100) {
                        0..=59 => {}
                        60..=97 => level += rng.random_range(-64..=64) as f64,
                        _ => level = (level * rng.random_range(0.8..1.2)).round(),
                    }
                    level = level.max(1000.0);
                    level * 4096.0
                }
                Kind::CpuRounded | Kind::CpuRatio => {
                    level = (level + rng.random_range(-0.05..0.05)).clamp(0.0, 1.0);
                    if kind == Kind::CpuRounded {
                        (level * 100.0).round() / 100.0
                    } else {
                        level
                    }
                }
                Kind::SmallInt => {
                    if rng.random_range(0..10) == 0 {
                        level = (level + rng.random_range(-3..=3) as f64).max(0.0);
                    }
                    level
                }
            };
            (t, v)
        })
        .collect()
}

/// Each series' chunks, sealed in the order the store seals them (time-major, so that
/// memory is laid out as in the store).
fn chunks_of(series: &[Generated]) -> Vec<Vec<Chunk>> {
    let mut sealed: Vec<Vec<Chunk>> = series.iter().map(|_| Vec::new()).collect();
    let mut heads: Vec<Option<HeadChunk>> = series.iter().map(|_| None).collect();
    for k in 0..SAMPLES {
        for ((_, _, samples), (chunks, head)) in
            series.iter().zip(sealed.iter_mut().zip(&mut heads))
        {
            let (t, v) = samples[k];
            *head = Some(match head.take() {
                None => HeadChunk::new(t, v),
                Some(mut h) => match h.append(t, v) {
                    Ok(()) => h,
                    Err(_) => {
                        let next = h.successor(t, v);
                        chunks.push(h.seal());
                        next
                    }
                },
            });
        }
    }
    for (chunks, head) in sealed.iter_mut().zip(heads) {
        chunks.extend(head.map(HeadChunk::seal));
    }
    sealed
}

/// The median of 7 runs of `f`, in seconds.
fn median_of_7(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<Duration> = (0..7)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[3].as_secs_f64()
}

/// A series' labels, kind and samples.
type Generated = (Labels, Kind, Vec<(i64, f64)>);

fn labels(i: usize, kind: Kind) -> Labels {
    let name = match kind {
        Kind::Events => "http_requests_total",
        Kind::Bytes => "network_transmit_bytes_total",
        Kind::CpuSeconds => "process_cpu_seconds_total",
        Kind::Memory => "process_resident_memory_bytes",
        Kind::CpuRounded => "node_load1",
        Kind::CpuRatio => "process_cpu_usage",
        Kind::SmallInt => "go_goroutines",
    };
    vec![
        ("__name__".to_string(), name.to_string()),
        (
            "instance".to_string(),
            format!("10.0.{}.{}:9100", i / 250, i % 250),
        ),
        ("job".to_string(), format!("service-{}", i % 7)),
        ("series".to_string(), i.to_string()),
    ]
}

fn row(name: &str, series: usize, samples: u64, bytes: usize) {
    println!(
        "{name:<34} {series:>6} {samples:>10} {bytes:>11} {:>12.3}",
        bytes as f64 / samples as f64
    );
}

fn main() {
    let mut rng = SmallRng::seed_from_u64(2026);
    let series: Vec<Generated> = (0..SERIES)
        .map(|i| {
            let kind = Kind::of(i);
            (labels(i, kind), kind, generate(kind, &mut rng))
        })
        .collect();

    println!(
        "tsdb: {SERIES} series x {SAMPLES} samples (1 h at {INTERVAL_MS} ms, timestamps ±{JITTER_MS} ms)\n"
    );
    println!(
        "{:<34} {:>6} {:>10} {:>11} {:>12}",
        "class", "series", "samples", "chunk bytes", "bytes/sample"
    );
    let class_store = |keep: &dyn Fn(Kind) -> bool| {
        let mut store = Store::new(SERIES);
        for k in 0..SAMPLES {
            for (l, kind, samples) in &series {
                if keep(*kind) {
                    let (t, v) = samples[k];
                    store.append(l, t, v).expect("append");
                }
            }
        }
        store
    };
    for kind in Kind::ALL {
        let s = class_store(&|k| k == kind);
        row(
            &format!("  {kind:?}"),
            s.series_count(),
            s.sample_count(),
            s.chunk_bytes(),
        );
    }
    let counters = class_store(&Kind::is_counter);
    row(
        "counters",
        counters.series_count(),
        counters.sample_count(),
        counters.chunk_bytes(),
    );
    let gauges = class_store(&|k| !k.is_counter());
    row(
        "gauges",
        gauges.series_count(),
        gauges.sample_count(),
        gauges.chunk_bytes(),
    );

    let mut store = Store::new(SERIES);
    let started = Instant::now();
    for k in 0..SAMPLES {
        for (l, _, samples) in &series {
            let (t, v) = samples[k];
            store.append(l, t, v).expect("append");
        }
    }
    let append = started.elapsed();
    row(
        "overall",
        store.series_count(),
        store.sample_count(),
        store.chunk_bytes(),
    );
    println!(
        "\nmemory (Store::bytes: chunks, headers, labels, index): {} bytes, {:.3} bytes/sample",
        store.bytes(),
        store.bytes() as f64 / store.sample_count() as f64
    );
    println!(
        "append: {:.2} M samples/s ({} samples in {:.3} s)",
        store.sample_count() as f64 / append.as_secs_f64() / 1e6,
        store.sample_count(),
        append.as_secs_f64()
    );

    let mut times: Vec<Duration> = Vec::new();
    let mut selected = 0;
    for _ in 0..7 {
        let started = Instant::now();
        let result = store.select(
            &[],
            START_MS - INTERVAL_MS,
            START_MS + (SAMPLES as i64 + 1) * INTERVAL_MS,
        );
        times.push(started.elapsed());
        selected = result.iter().map(|(_, s)| s.len()).sum::<usize>();
        assert_eq!(result.len(), SERIES);
    }
    times.sort();
    println!(
        "select all series over the hour: {:.1} ms median of 7 ({selected} samples, {:.1} M samples/s)",
        times[3].as_secs_f64() * 1e3,
        selected as f64 / times[3].as_secs_f64() / 1e6
    );
    // What was appended is what is selected, bit for bit.
    let by_labels: HashMap<&Labels, &Vec<(i64, f64)>> =
        series.iter().map(|(l, _, s)| (l, s)).collect();
    for (l, got) in store.select(&[], i64::MIN, i64::MAX) {
        let want = by_labels[&l];
        let same = got.len() == want.len()
            && got
                .iter()
                .zip(want.iter())
                .all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits());
        assert!(same, "series {l:?} decodes differently");
    }

    // The decoder alone: `select` also allocates its results (57.6 MB here, whose first
    // touch costs page faults) and clones labels.
    let chunks = chunks_of(&series);
    let count: usize = chunks.iter().flatten().map(Chunk::len).sum();
    let mut sum = 0u64;
    let iter = median_of_7(|| {
        for c in chunks.iter().flatten() {
            for (t, v) in c.iter() {
                sum = sum.wrapping_add(t as u64 ^ v.to_bits());
            }
        }
    });
    std::hint::black_box(sum);
    println!(
        "decode all chunks with Chunk::iter: {:.1} ms median of 7 ({:.1} ns/sample)",
        iter * 1e3,
        iter * 1e9 / count as f64
    );
    let mut buffer = Vec::with_capacity(SAMPLES);
    let window = median_of_7(|| {
        for series in &chunks {
            buffer.clear();
            for c in series {
                c.extend_window(i64::MIN, i64::MAX, &mut buffer);
            }
            std::hint::black_box(&buffer);
        }
    });
    println!(
        "decode all chunks with Chunk::extend_window into a reused buffer: {:.1} ms median of 7 ({:.1} ns/sample)",
        window * 1e3,
        window * 1e9 / count as f64
    );
}
