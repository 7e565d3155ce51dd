//! Execution segments: one generator's part of the plan when several run it together (the
//! worker threads of one process, the worker tasks of a distributed run). Pure.
//!
//! Every generator follows the same plan from the same start: the closed model's spawner
//! numbers users 0, 1, 2, … as the plan adds them, the open model numbers arrivals. A
//! segment owns the numbers `n` with `n % count == index`, so the segments' users (arrivals)
//! add up to the plan's at every instant, and consecutive ones go to different segments: no
//! two generators spawn or fire together.

use serde::{Deserialize, Serialize};

use super::shape::{Segment, target_at};
use crate::manifest::model::Workload;

/// The numbers `n` with `n % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub index: u64,
    pub count: u64,
}

impl Share {
    /// The whole plan.
    pub const WHOLE: Share = Share { index: 0, count: 1 };

    /// Share `index` of `count` (`count` at least 1, `index` below it).
    pub fn new(index: u64, count: u64) -> Share {
        let count = count.max(1);
        Share {
            index: index.min(count - 1),
            count,
        }
    }

    pub fn owns(&self, n: u64) -> bool {
        n % self.count == self.index
    }

    /// How many of the numbers `0..n` are this share's.
    pub fn of(&self, n: u64) -> u64 {
        (n + self.count - 1 - self.index) / self.count
    }

    /// Part `k` of `m` of this share: its numbers taken in turn by `m` parts. The parts of
    /// all shares are again shares of the whole, `m` times as many.
    pub fn split(&self, k: u64, m: u64) -> Share {
        let m = m.max(1);
        Share::new(self.index + self.count * k.min(m - 1), self.count * m)
    }
}

/// A change to the closed model's users: user `n` starts, or stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Spawn(u64),
    Retire(u64),
}

/// The closed model's plan of users, tick by tick: towards the shape's target at its spawn
/// rate (users are numbered in order, the newest stop first). A function of the tick count
/// alone, so generators that share a start agree on it.
#[derive(Debug, Clone)]
pub struct Spawner {
    segments: Vec<Segment>,
    spawn_rate: f64,
    tick: f64,
    ticks: u64,
    users: u64,
    allowance: f64,
}

impl Spawner {
    pub fn new(segments: Vec<Segment>, spawn_rate: f64, tick: f64) -> Spawner {
        Spawner {
            segments,
            spawn_rate,
            tick,
            ticks: 0,
            users: 0,
            allowance: 0.0,
        }
    }

    /// Users alive in the plan.
    pub fn users(&self) -> u64 {
        self.users
    }

    /// Seconds from the start of the tick `step` runs next.
    pub fn at(&self) -> f64 {
        self.ticks as f64 * self.tick
    }

    /// The changes of the next tick.
    pub fn step(&mut self, out: &mut Vec<Change>) {
        let t = self.at();
        self.ticks += 1;
        let target = target_at(&self.segments, t).round().max(0.0) as u64;
        let rate = self
            .segments
            .iter()
            .find(|s| t < s.end)
            .and_then(|s| s.spawn_rate)
            .unwrap_or(self.spawn_rate);
        self.allowance = (self.allowance + rate * self.tick).min(rate.max(1.0));
        while self.users < target && self.allowance >= 1.0 {
            out.push(Change::Spawn(self.users));
            self.users += 1;
            self.allowance -= 1.0;
        }
        while self.users > target && self.allowance >= 1.0 {
            self.users -= 1;
            out.push(Change::Retire(self.users));
            self.allowance -= 1.0;
        }
        if self.users == target {
            self.allowance = self.allowance.min(1.0);
        }
    }
}

/// What `share` of the plan asks each second: closed model, its users alive at the second's
/// end (summed, user-seconds); open model, its arrivals in the second. The report's "share of
/// the plan met" compares what a generator did against this.
pub fn planned(
    model: Workload,
    segments: &[Segment],
    spawn_rate: f64,
    run_time: f64,
    share: Share,
) -> Vec<u64> {
    let seconds = run_time.ceil().max(0.0) as usize;
    let mut out = vec![0u64; seconds];
    match model {
        Workload::Closed => {
            let mut plan = Spawner::new(segments.to_vec(), spawn_rate, TICK);
            let mut changes = Vec::new();
            for (s, slot) in out.iter_mut().enumerate() {
                while plan.at() < (s + 1) as f64 - 1e-9 && plan.at() < run_time {
                    changes.clear();
                    plan.step(&mut changes);
                }
                *slot = share.of(plan.users());
            }
        }
        Workload::Open => {
            for (n, t) in super::open::Arrivals::new(segments, run_time).enumerate() {
                if share.owns(n as u64) {
                    if let Some(slot) = out.get_mut(t as usize) {
                        *slot += 1;
                    }
                }
            }
        }
    }
    out
}

/// The closed model's controller tick, in seconds.
pub const TICK: f64 = 0.05;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::open::Arrivals;

    fn seg(start: f64, end: f64, from: f64, to: f64, rate: Option<f64>) -> Segment {
        Segment {
            start,
            end,
            from,
            to,
            spawn_rate: rate,
        }
    }

    /// Stages up and down at different spawn rates, a ramp, and a drop to zero.
    fn shapes() -> Vec<Vec<Segment>> {
        vec![
            vec![seg(0.0, 30.0, 10.0, 10.0, Some(3.0))],
            vec![
                seg(0.0, 10.0, 17.0, 17.0, Some(5.0)),
                seg(10.0, 20.0, 53.0, 53.0, Some(20.0)),
                seg(20.0, 30.0, 4.0, 4.0, Some(7.5)),
                seg(30.0, 40.0, 0.0, 0.0, Some(100.0)),
            ],
            vec![seg(0.0, 40.0, 0.0, 97.0, Some(1000.0))],
        ]
    }

    #[test]
    fn shares_of_users_add_up_to_the_plan_at_every_tick() {
        for segments in shapes() {
            for count in 1..=7u64 {
                let mut plan = Spawner::new(segments.clone(), 1.0, 0.05);
                let mut alive = vec![0u64; count as usize];
                let mut out = Vec::new();
                while plan.at() < 40.0 {
                    out.clear();
                    plan.step(&mut out);
                    for c in &out {
                        let (n, d) = match *c {
                            Change::Spawn(n) => (n, 1i64),
                            Change::Retire(n) => (n, -1),
                        };
                        let owner = (0..count)
                            .filter(|i| Share::new(*i, count).owns(n))
                            .collect::<Vec<_>>();
                        assert_eq!(owner.len(), 1, "user {n} has one owner");
                        let a = &mut alive[owner[0] as usize];
                        *a = a.checked_add_signed(d).expect("retires only its own users");
                    }
                    assert_eq!(alive.iter().sum::<u64>(), plan.users(), "{count} shares");
                    // Each share holds exactly its numbers below the plan's count: the
                    // newest users stop first, so shares never drift apart by more than one.
                    for (i, a) in alive.iter().enumerate() {
                        assert_eq!(*a, Share::new(i as u64, count).of(plan.users()));
                    }
                }
            }
        }
    }

    #[test]
    fn shares_of_arrivals_interleave_and_add_up() {
        let segments = vec![seg(0.0, 10.0, 0.0, 300.0, None)];
        let all: Vec<f64> = Arrivals::new(&segments, 10.0).collect();
        for count in 1..=5u64 {
            for threads in 1..=3u64 {
                let mut got = Vec::new();
                for i in 0..count {
                    for k in 0..threads {
                        let s = Share::new(i, count).split(k, threads);
                        got.extend(
                            Arrivals::new(&segments, 10.0)
                                .enumerate()
                                .filter(|(n, _)| s.owns(*n as u64)),
                        );
                    }
                }
                got.sort_by_key(|(n, _)| *n);
                assert_eq!(got.len(), all.len());
                assert!(
                    got.iter()
                        .enumerate()
                        .all(|(i, (n, t))| *n == i && *t == all[i])
                );
                // Every second, the shares' arrivals sum to the plan's.
                for second in 0..10 {
                    let planned = all.iter().filter(|t| t.floor() as u64 == second).count();
                    let summed: usize = (0..count)
                        .map(|i| {
                            let s = Share::new(i, count);
                            all.iter()
                                .enumerate()
                                .filter(|(n, t)| s.owns(*n as u64) && t.floor() as u64 == second)
                                .count()
                        })
                        .sum();
                    assert_eq!(summed, planned);
                }
            }
        }
        // Consecutive arrivals go to different shares.
        let s0 = Share::new(0, 3);
        assert!(s0.owns(0) && !s0.owns(1) && !s0.owns(2) && s0.owns(3));
    }

    #[test]
    fn planned_shares_add_up_to_the_whole_plan() {
        for (model, segments) in [
            (Workload::Closed, shapes()[1].clone()),
            (Workload::Open, vec![seg(0.0, 40.0, 5.0, 400.0, None)]),
        ] {
            let whole = planned(model, &segments, 1.0, 40.0, Share::WHOLE);
            assert_eq!(whole.len(), 40);
            for count in [2u64, 3, 7] {
                let parts: Vec<Vec<u64>> = (0..count)
                    .map(|i| planned(model, &segments, 1.0, 40.0, Share::new(i, count)))
                    .collect();
                for s in 0..40 {
                    assert_eq!(parts.iter().map(|p| p[s]).sum::<u64>(), whole[s]);
                }
            }
        }
        // The closed model's users follow the stages at their spawn rates.
        let users = planned(Workload::Closed, &shapes()[1], 1.0, 40.0, Share::WHOLE);
        assert_eq!(
            (users[0], users[5], users[15], users[29], users[39]),
            (5, 17, 53, 4, 0)
        );
    }

    #[test]
    fn counting_and_splitting() {
        let s = Share::new(2, 3);
        assert_eq!((0..10).filter(|n| s.owns(*n)).count() as u64, s.of(10));
        assert_eq!(s.of(2), 0);
        assert_eq!(s.of(3), 1);
        let parts: Vec<Share> = (0..4).map(|k| s.split(k, 4)).collect();
        for n in 0..1000u64 {
            let owners = parts.iter().filter(|p| p.owns(n)).count();
            assert_eq!(owners, usize::from(s.owns(n)));
        }
        assert_eq!(Share::new(5, 0), Share::WHOLE);
    }
}
