//! Locust's statistics in soy's model (pure): the hook's per-second snapshots become soy's
//! per-second rows and the `soy_*` exposition; its final statistics become `Results`, with
//! percentiles computed as Locust computes them, from its response-time buckets (rounded to
//! two significant digits).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::load::exporter::Counts;
use crate::load::results::{FailureGroup, LOCUST_PERCENTILES, NameStats};
use crate::load::shape::{Segment, target_at};
use crate::load::stats::SecondRow;

/// One request name's cumulative statistics, as the hook writes them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct EntryStat {
    #[serde(default)]
    pub method: String,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    pub rt_sum: f64,
    /// Content bytes (a float when a custom client reports fractional lengths).
    pub bytes: f64,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: f64,
    /// Response time (ms, rounded as Locust rounds) → count.
    #[serde(default)]
    pub buckets: BTreeMap<String, u64>,
}

/// A worker as the master saw it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct WorkerStat {
    pub id: String,
    pub state: String,
    pub users: u64,
}

/// One line of `live.jsonl`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Snapshot {
    pub t: f64,
    pub state: String,
    pub users: u64,
    pub entries: Vec<EntryStat>,
    pub total: EntryStat,
    #[serde(default)]
    pub workers: Option<Vec<WorkerStat>>,
    /// Requests each worker has reported, by worker id (on a master).
    #[serde(default)]
    pub worker_requests: Option<BTreeMap<String, u64>>,
}

impl Snapshot {
    /// Whether the test has begun (users spawning or running, or requests made).
    pub fn started(&self) -> bool {
        self.state != "ready" || self.total.requests > 0
    }
}

/// An exception a user raised, as Locust groups them.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct LocustException {
    pub count: u64,
    pub msg: String,
    pub traceback: String,
    #[serde(default)]
    pub nodes: Vec<String>,
}

/// A failure as Locust groups it (`StatsError.to_dict()`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct LocustFailure {
    #[serde(default)]
    pub method: Option<String>,
    pub name: String,
    pub error: String,
    pub occurrences: u64,
    /// Unix seconds (Locust 2.47 keeps them; older ones do not).
    #[serde(default)]
    pub first_seen: Option<f64>,
    #[serde(default)]
    pub last_seen: Option<f64>,
}

/// `final.json`: the statistics once Locust has stopped its users.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Final {
    pub t: f64,
    pub locust_version: String,
    /// When Locust's statistics began (Unix seconds).
    #[serde(default)]
    pub start_time: Option<f64>,
    pub entries: Vec<EntryStat>,
    pub total: EntryStat,
    pub errors: Vec<LocustFailure>,
    pub exceptions: Vec<LocustException>,
    /// Requests each worker reported, by worker id (on a master).
    #[serde(default)]
    pub worker_requests: Option<BTreeMap<String, u64>>,
}

/// Locust's percentile of a bucketed distribution (`calculate_response_time_percentile`):
/// walking down from the slowest bucket until no more than `(1 - q)` of the requests remain.
pub fn percentile(buckets: &[(u64, u64)], requests: u64, q: f64) -> f64 {
    let wanted = (requests as f64 * q) as u64;
    let mut processed = 0u64;
    for (ms, n) in buckets.iter().rev() {
        processed += n;
        if requests.saturating_sub(processed) <= wanted {
            return *ms as f64;
        }
    }
    0.0
}

/// Buckets as sorted numbers (keys that are not numbers are dropped).
pub fn sorted(buckets: &BTreeMap<String, u64>) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = buckets
        .iter()
        .filter_map(|(k, n)| Some((k.parse::<f64>().ok()?.round() as u64, *n)))
        .filter(|(_, n)| *n > 0)
        .collect();
    v.sort_unstable();
    v
}

/// `now` minus `before`, bucket by bucket.
pub fn minus(now: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    now.iter()
        .map(|(k, n)| {
            (
                k.clone(),
                n.saturating_sub(before.get(k).copied().unwrap_or(0)),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

impl EntryStat {
    /// What happened between `before` and this (cumulative counts subtracted); min and max
    /// are then those of the remaining buckets.
    pub fn since(&self, before: &EntryStat) -> EntryStat {
        let buckets = minus(&self.buckets, &before.buckets);
        let b = sorted(&buckets);
        EntryStat {
            method: self.method.clone(),
            name: self.name.clone(),
            requests: self.requests.saturating_sub(before.requests),
            failures: self.failures.saturating_sub(before.failures),
            rt_sum: (self.rt_sum - before.rt_sum).max(0.0),
            bytes: (self.bytes - before.bytes).max(0.0),
            min: b.first().map(|(ms, _)| *ms as f64),
            max: b.last().map_or(0.0, |(ms, _)| *ms as f64),
            buckets,
        }
    }

    /// soy's statistics of this entry over `secs` seconds.
    pub fn name_stats(&self, secs: f64) -> NameStats {
        let b = sorted(&self.buckets);
        let n = self.requests;
        let q = |q: f64| percentile(&b, n, q);
        let per_s = |x: u64| if secs > 0.0 { x as f64 / secs } else { 0.0 };
        NameStats {
            method: self.method.clone(),
            name: self.name.clone(),
            requests: n,
            failures: self.failures,
            bytes: self.bytes as u64,
            mean_ms: if n == 0 { 0.0 } else { self.rt_sum / n as f64 },
            min_ms: self.min.unwrap_or(0.0),
            max_ms: self.max,
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            percentiles_ms: LOCUST_PERCENTILES.iter().map(|p| q(*p)).collect(),
            rps: per_s(n),
            failures_per_s: per_s(self.failures),
            avg_content_size: if n == 0 { 0.0 } else { self.bytes / n as f64 },
        }
    }

    fn key(&self) -> (String, String) {
        (self.method.clone(), self.name.clone())
    }
}

/// Turns snapshots, as they arrive, into soy's per-second rows.
/// One Locust worker as the master's snapshots showed it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WorkerSeen {
    /// The most users it ran at once.
    pub most_users: u64,
    /// Its state in the last snapshot that listed it (`gone` once the master dropped it).
    pub last_state: String,
    /// The requests it reported.
    pub requests: u64,
    /// When the master first found it missing (its heartbeats stopped), Unix seconds.
    pub lost_at: Option<f64>,
}

#[derive(Debug, Default)]
pub struct Rows {
    /// The snapshot the load started at (the last one before the test began).
    pub origin: Option<Snapshot>,
    pub last: Option<Snapshot>,
    pub rows: Vec<SecondRow>,
    /// Workers seen, by id.
    pub workers: BTreeMap<String, WorkerSeen>,
    /// The largest number of workers connected at once.
    pub most_workers: usize,
    /// Seconds of warm-up, excluded from the statistics.
    pub warmup_s: f64,
    /// The first snapshot at or after the end of the warm-up.
    pub warm: Option<Snapshot>,
}

impl Rows {
    /// Takes one snapshot; returns the row it completes, if any.
    pub fn push(&mut self, s: Snapshot, segments: &[Segment]) -> Option<SecondRow> {
        if let Some(ws) = &s.workers {
            self.most_workers = self.most_workers.max(ws.len());
            for w in ws {
                let e = self.workers.entry(w.id.clone()).or_default();
                e.most_users = e.most_users.max(w.users);
                e.last_state = w.state.clone();
                if w.state == "missing" {
                    e.lost_at.get_or_insert(s.t);
                }
            }
            // A worker the master no longer lists while the test runs has gone (at the end
            // the master drops every worker as it quits).
            let running = matches!(s.state.as_str(), "running" | "spawning");
            for (id, e) in self.workers.iter_mut() {
                if running && !ws.iter().any(|w| &w.id == id) && e.last_state != "gone" {
                    e.last_state = "gone".into();
                }
            }
        }
        for (id, n) in s.worker_requests.iter().flatten() {
            self.workers.entry(id.clone()).or_default().requests = *n;
        }
        let Some(prev) = self.last.replace(s.clone()) else {
            if !s.started() {
                self.origin = Some(s);
            }
            return None;
        };
        if !s.started() {
            self.origin = Some(s);
            return None;
        }
        if self.origin.is_none() {
            self.origin = Some(prev.clone());
        }
        if self.warmup_s > 0.0
            && self.warm.is_none()
            && self
                .started_at()
                .is_some_and(|t0| s.t - t0 >= self.warmup_s)
        {
            self.warm = Some(s.clone());
        }
        // The second this snapshot closes, counted from the origin on the clock (a late
        // snapshot leaves a gap rather than shifting every later row).
        let t0 = self.started_at().unwrap_or(prev.t);
        let next = self.rows.last().map_or(0, |r| r.second + 1);
        let second = (((s.t - t0).round() as i64 - 1).max(0) as u64).max(next);
        let d = s.total.since(&prev.total);
        let b = sorted(&d.buckets);
        let q = |q: f64| percentile(&b, d.requests, q);
        let row = SecondRow {
            second,
            target: if segments.is_empty() {
                s.users as f64
            } else {
                target_at(segments, second as f64).round()
            },
            active: s.users,
            requests: d.requests,
            failures: d.failures,
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            max_ms: d.max,
            started: None,
            dropped: None,
        };
        self.rows.push(row.clone());
        Some(row)
    }

    /// When the load started (Unix seconds).
    pub fn started_at(&self) -> Option<f64> {
        self.origin.as_ref().map(|s| s.t)
    }

    /// The `soy_*` exposition of the latest snapshot.
    pub fn exposition(&self) -> Option<String> {
        let s = self.last.as_ref()?;
        let row = self.rows.last().cloned().unwrap_or_default();
        let counts: Vec<Counts> = s
            .entries
            .iter()
            .map(|e| {
                let buckets = sorted(&e.buckets);
                Counts {
                    method: e.method.clone(),
                    name: e.name.clone(),
                    requests: e.requests,
                    failures: e.failures,
                    bytes: e.bytes as u64,
                    le: crate::load::exporter::LATENCY_BUCKETS
                        .iter()
                        .map(|b| {
                            buckets
                                .iter()
                                .filter(|(ms, _)| (*ms as f64) <= b * 1000.0)
                                .map(|(_, n)| n)
                                .sum()
                        })
                        .collect(),
                    latency_sum_s: e.rt_sum / 1000.0,
                }
            })
            .collect();
        Some(crate::load::exporter::render_counts(
            &counts,
            s.total.rt_sum / 1000.0,
            s.total.requests,
            &row,
        ))
    }
}

/// The statistics soy reports: Locust's final ones (or, without them, its last per-second
/// report), less what happened before `warmup` ended when there is a warm-up.
pub fn measured(
    entries: &[EntryStat],
    total: &EntryStat,
    warm: Option<&Snapshot>,
    secs: f64,
) -> (NameStats, Vec<NameStats>) {
    let Some(w) = warm else {
        let mut requests: Vec<NameStats> = entries.iter().map(|e| e.name_stats(secs)).collect();
        requests.sort_by(|a, b| a.name.cmp(&b.name).then(a.method.cmp(&b.method)));
        return (total.name_stats(secs), requests);
    };
    let mut requests: Vec<NameStats> = entries
        .iter()
        .map(|e| {
            let before = w
                .entries
                .iter()
                .find(|b| b.key() == e.key())
                .cloned()
                .unwrap_or_default();
            e.since(&before).name_stats(secs)
        })
        .filter(|n| n.requests > 0)
        .collect();
    requests.sort_by(|a, b| a.name.cmp(&b.name).then(a.method.cmp(&b.method)));
    let mut t = total.since(&w.total).name_stats(secs);
    t.method = String::new();
    t.name = "Aggregated".into();
    (t, requests)
}

/// Locust's failures as soy's groups; without Locust's first/last times, the run's bounds.
pub fn failures(errors: &[LocustFailure], first: u64, last: u64) -> Vec<FailureGroup> {
    let mut out: Vec<FailureGroup> = errors
        .iter()
        .map(|e| FailureGroup {
            method: e.method.clone().unwrap_or_default(),
            name: e.name.clone(),
            kind: "locust".into(),
            error: e.error.clone(),
            occurrences: e.occurrences,
            first_seen: e.first_seen.map_or(first, |t| t as u64),
            last_seen: e.last_seen.map_or(last, |t| t as u64),
        })
        .collect();
    out.sort_by(|a, b| b.occurrences.cmp(&a.occurrences).then(a.name.cmp(&b.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(pairs: &[(u64, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn percentiles_are_locusts() {
        // As Locust's own `calculate_response_time_percentile` answers for these buckets
        // (checked with Locust 2.47: [2, 10, 100, 100, 100, 1]).
        let buckets = sorted(&b(&[(1, 50), (2, 30), (10, 15), (100, 5)]));
        let got: Vec<f64> = [0.5, 0.8, 0.95, 0.99, 1.0, 0.4]
            .iter()
            .map(|q| percentile(&buckets, 100, *q))
            .collect();
        assert_eq!(got, [2.0, 10.0, 100.0, 100.0, 100.0, 1.0]);
        assert_eq!(percentile(&[], 0, 0.5), 0.0);
    }

    fn snap(t: f64, state: &str, users: u64, n: u64, buckets: &[(u64, u64)]) -> Snapshot {
        let total = EntryStat {
            name: "Aggregated".into(),
            requests: n,
            failures: n / 10,
            rt_sum: n as f64 * 2.0,
            bytes: n as f64 * 40.0,
            min: Some(1.0),
            max: 9.0,
            buckets: b(buckets),
            ..Default::default()
        };
        Snapshot {
            t,
            state: state.into(),
            users,
            entries: vec![EntryStat {
                method: "GET".into(),
                name: "/a".into(),
                ..total.clone()
            }],
            total,
            workers: None,
            worker_requests: None,
        }
    }

    #[test]
    fn rows_are_differences_of_cumulative_snapshots() {
        let mut r = Rows::default();
        assert!(r.push(snap(0.0, "ready", 0, 0, &[]), &[]).is_none());
        let row = r
            .push(snap(1.0, "running", 5, 100, &[(2, 90), (8, 10)]), &[])
            .expect("row");
        assert_eq!(
            (row.second, row.requests, row.failures, row.active),
            (0, 100, 10, 5)
        );
        assert_eq!((row.p50_ms, row.p95_ms, row.max_ms), (2.0, 8.0, 8.0));
        let row = r
            .push(
                snap(2.0, "running", 5, 150, &[(2, 90), (8, 10), (30, 50)]),
                &[],
            )
            .expect("row");
        assert_eq!(
            (row.second, row.requests, row.p50_ms, row.max_ms),
            (1, 50, 30.0, 30.0)
        );
        assert_eq!(r.started_at(), Some(0.0));
        let text = r.exposition().expect("text");
        assert!(
            text.contains("soy_requests_total{method=\"GET\",name=\"/a\"} 150"),
            "{text}"
        );
        assert!(text.contains("soy_active 5"), "{text}");
    }

    #[test]
    fn a_warm_up_is_taken_out_of_the_statistics() {
        let warm = snap(10.0, "running", 5, 100, &[(2, 100)]);
        let end = snap(20.0, "running", 5, 300, &[(2, 100), (50, 200)]);
        let (t, names) = measured(&end.entries, &end.total, Some(&warm), 10.0);
        assert_eq!(
            (t.requests, t.min_ms, t.p50_ms, t.rps),
            (200, 50.0, 50.0, 20.0)
        );
        assert_eq!(names[0].requests, 200);
        let (t, _) = measured(&end.entries, &end.total, None, 20.0);
        assert_eq!((t.requests, t.min_ms, t.p50_ms), (300, 1.0, 50.0));
    }
}
