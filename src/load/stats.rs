//! Request statistics: worker-local recording with no locks or allocation per request,
//! shipped once a second as a `Block`, merged into per-second rows and per-name totals.
//! Pure: no I/O, no clocks.

use std::collections::HashMap;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency tracked exactly, in microseconds (an hour); longer ones are clamped.
const MAX_US: u64 = 3_600_000_000;

/// A latency histogram in microseconds, 3 significant figures.
pub fn histogram() -> Histogram<u64> {
    // Bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, MAX_US, 3)
        .unwrap_or_else(|_| Histogram::new(3).expect("3 sigfig"))
}

/// Counters and a histogram for one request name.
#[derive(Debug, Clone)]
pub struct Entry {
    pub count: u64,
    pub failures: u64,
    pub bytes: u64,
    pub sum_us: u64,
    pub min_us: u64,
    pub max_us: u64,
    pub hist: Histogram<u64>,
}

impl Default for Entry {
    fn default() -> Self {
        Entry {
            count: 0,
            failures: 0,
            bytes: 0,
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            hist: histogram(),
        }
    }
}

impl Entry {
    /// Records one request (successful or not) that took `us` microseconds.
    #[inline]
    pub fn record(&mut self, us: u64, bytes: u64, failed: bool) {
        let us = us.clamp(1, MAX_US);
        self.count += 1;
        self.failures += u64::from(failed);
        self.bytes += bytes;
        self.sum_us += us;
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
        let _ = self.hist.record(us);
    }

    pub fn merge(&mut self, o: &Entry) {
        self.count += o.count;
        self.failures += o.failures;
        self.bytes += o.bytes;
        self.sum_us += o.sum_us;
        self.min_us = self.min_us.min(o.min_us);
        self.max_us = self.max_us.max(o.max_us);
        let _ = self.hist.add(&o.hist);
    }

    /// Takes the recorded data out, leaving this entry empty (a fresh histogram, same bounds).
    pub fn take(&mut self) -> Entry {
        let fresh = Entry {
            hist: Histogram::new_from(&self.hist),
            ..Entry::default()
        };
        std::mem::replace(self, fresh)
    }

    /// The latency at quantile `q` (0..=1) in milliseconds; 0 with no requests.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.hist.value_at_quantile(q) as f64 / 1000.0
        }
    }

    pub fn mean_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_us as f64 / self.count as f64 / 1000.0
        }
    }

    pub fn min_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.min_us as f64 / 1000.0
        }
    }

    pub fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1000.0
    }
}

/// What one worker recorded during one second (or the last, partial one).
#[derive(Debug, Clone)]
pub struct Block {
    pub worker: usize,
    /// Seconds since the start of the load: this block covers `[second, second + 1)`.
    pub second: u64,
    /// One entry per request name, indexed by the scenario's stat ids.
    pub entries: Vec<Entry>,
    /// Failures by (stat id, error text).
    pub failures: HashMap<(usize, String), u64>,
    /// Open model: time from the scheduled start to sending (lag behind schedule).
    pub lag: Entry,
    /// Open model: plain service time of first requests (from actual send to response).
    pub service: Entry,
    /// Open model: arrivals dropped at the in-flight cap.
    pub dropped: u64,
    /// Open model: iterations started.
    pub started: u64,
    /// Virtual users alive (closed) or iterations in flight (open) at the end of the second.
    pub active: u64,
}

impl Block {
    pub fn new(worker: usize, names: usize) -> Self {
        Block {
            worker,
            second: 0,
            entries: (0..names).map(|_| Entry::default()).collect(),
            failures: HashMap::new(),
            lag: Entry::default(),
            service: Entry::default(),
            dropped: 0,
            started: 0,
            active: 0,
        }
    }

    /// Takes the block's data out for shipping, leaving it empty.
    pub fn take(&mut self, second: u64, active: u64) -> Block {
        Block {
            worker: self.worker,
            second,
            entries: self.entries.iter_mut().map(Entry::take).collect(),
            failures: std::mem::take(&mut self.failures),
            lag: self.lag.take(),
            service: self.service.take(),
            dropped: std::mem::take(&mut self.dropped),
            started: std::mem::take(&mut self.started),
            active,
        }
    }

    pub fn merge(&mut self, o: &Block) {
        for (a, b) in self.entries.iter_mut().zip(&o.entries) {
            a.merge(b);
        }
        for (k, v) in &o.failures {
            *self.failures.entry(k.clone()).or_default() += v;
        }
        self.lag.merge(&o.lag);
        self.service.merge(&o.service);
        self.dropped += o.dropped;
        self.started += o.started;
        self.active += o.active;
    }

    /// All names pooled into one entry.
    pub fn total(&self) -> Entry {
        let mut t = Entry::default();
        for e in &self.entries {
            t.merge(e);
        }
        t
    }
}

/// One second of the run, as charted and written to `_stats_history.csv`.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct SecondRow {
    pub second: u64,
    /// Target users (closed) or arrival rate (open) at the start of the second.
    pub target: f64,
    /// Users alive (closed) or iterations in flight (open).
    pub active: u64,
    pub requests: u64,
    pub failures: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Open model: iterations started and dropped in this second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped: Option<u64>,
}

impl SecondRow {
    pub fn from_block(b: &Block, target: f64, open: bool) -> Self {
        let t = b.total();
        SecondRow {
            second: b.second,
            target,
            active: b.active,
            requests: t.count,
            failures: t.failures,
            p50_ms: t.quantile_ms(0.5),
            p90_ms: t.quantile_ms(0.9),
            p95_ms: t.quantile_ms(0.95),
            p99_ms: t.quantile_ms(0.99),
            max_ms: t.max_ms(),
            started: open.then_some(b.started),
            dropped: open.then_some(b.dropped),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_take_merge() {
        let mut b = Block::new(0, 2);
        for us in 1..=1000 {
            b.entries[0].record(us * 1000, 10, us % 100 == 0);
        }
        b.entries[1].record(5_000, 3, false);
        let shipped = b.take(7, 3);
        assert_eq!(b.entries[0].count, 0);
        assert_eq!(shipped.second, 7);
        let t = shipped.total();
        assert_eq!(t.count, 1001);
        assert_eq!(t.failures, 10);
        assert_eq!(t.bytes, 10_003);
        let p50 = shipped.entries[0].quantile_ms(0.5);
        assert!((p50 - 500.0).abs() < 1.0, "{p50}");
        let mut merged = Block::new(0, 2);
        merged.merge(&shipped);
        merged.merge(&shipped);
        assert_eq!(merged.entries[0].count, 2000);
        assert_eq!(merged.entries[1].max_ms(), 5.0);
    }
}
