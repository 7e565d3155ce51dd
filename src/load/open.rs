//! The open model's arrival schedule: arrivals at the shape's rate from a precomputed
//! timeline (`next = previous + 1 / rate(previous)`), so lag never accumulates, shared out
//! among workers by arrival number (`segment::Share`). Latency counts from each arrival's scheduled time.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::shape::{Segment, target_at};
use super::user::{User, Worker, pick};

/// How this worker takes part in the schedule.
#[derive(Debug, Clone)]
pub struct OpenPlan {
    pub segments: Vec<Segment>,
    pub run_time: f64,
    /// The arrivals this worker sends: its thread's part of its process's share.
    pub share: super::segment::Share,
    /// Most iterations in flight on this worker.
    pub cap: u64,
}

/// The arrival times of the schedule, in seconds from the start: pure, for tests and workers.
/// Arrivals come where the integral of the rate crosses a whole number, stepping at most
/// 10 ms at a time so the rate follows the shape.
pub struct Arrivals<'a> {
    segments: &'a [Segment],
    run_time: f64,
    t: f64,
    acc: f64,
}

impl<'a> Arrivals<'a> {
    pub fn new(segments: &'a [Segment], run_time: f64) -> Self {
        Arrivals {
            segments,
            run_time,
            t: 0.0,
            acc: 1.0,
        }
    }
}

impl Iterator for Arrivals<'_> {
    type Item = f64;

    fn next(&mut self) -> Option<f64> {
        const MAX_STEP: f64 = 0.01;
        loop {
            // (A hair under run_time counts as the end: the sum of steps drifts.)
            if self.t >= self.run_time - 1e-9 {
                return None;
            }
            if self.acc >= 1.0 {
                self.acc -= 1.0;
                return Some(self.t);
            }
            let rate = target_at(self.segments, self.t).max(0.0);
            let need = if rate > 0.0 {
                (1.0 - self.acc) / rate
            } else {
                f64::INFINITY
            };
            if need <= MAX_STEP {
                self.t += need;
                self.acc = 1.0;
            } else {
                self.t += MAX_STEP;
                self.acc += rate * MAX_STEP;
            }
        }
    }
}

/// Runs this worker's share of the schedule until it ends (or the task is aborted).
pub async fn schedule(w: Rc<Worker>, plan: OpenPlan, start: Instant) {
    let idle: Rc<RefCell<Vec<User>>> = Rc::new(RefCell::new(Vec::new()));
    let mut next_user = plan.share.index;
    for (n, at) in Arrivals::new(&plan.segments, plan.run_time).enumerate() {
        if !plan.share.owns(n as u64) {
            continue;
        }
        let due = start + Duration::from_secs_f64(at);
        wait_until(due).await;
        if w.in_flight.get() >= plan.cap {
            w.block.borrow_mut().dropped += 1;
            continue;
        }
        let lag = Instant::now().saturating_duration_since(due);
        {
            let mut b = w.block.borrow_mut();
            b.started += 1;
            b.lag.record(lag.as_micros() as u64, 0, false);
        }
        w.in_flight.set(w.in_flight.get() + 1);
        let mut user = idle.borrow_mut().pop().unwrap_or_else(|| {
            let u = User::new(next_user);
            next_user += plan.share.count;
            u
        });
        let (w2, idle2) = (w.clone(), idle.clone());
        tokio::task::spawn_local(async move {
            if user.iteration == 0 {
                user.start(&w2).await;
            }
            let task = pick(&w2.sc);
            user.task(&w2, task, Some(due)).await;
            w2.in_flight.set(w2.in_flight.get() - 1);
            idle2.borrow_mut().push(user);
        });
    }
}

/// Sleeps with the timer until a millisecond before `due`, then yields until it is reached:
/// tokio's timer has millisecond resolution, the schedule needs better.
async fn wait_until(due: Instant) {
    let early = Duration::from_millis(1);
    let now = Instant::now();
    if due > now + early {
        tokio::time::sleep_until((due - early).into()).await;
    }
    while Instant::now() < due {
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_follow_the_rate() {
        let segs = vec![Segment {
            start: 0.0,
            end: 10.0,
            from: 100.0,
            to: 100.0,
            spawn_rate: None,
        }];
        let all: Vec<f64> = Arrivals::new(&segs, 10.0).collect();
        assert_eq!(all.len(), 1000);
        assert!((all[500] - 5.0).abs() < 1e-9);
        let ramp = vec![Segment {
            start: 0.0,
            end: 10.0,
            from: 0.0,
            to: 200.0,
            spawn_rate: None,
        }];
        let n = Arrivals::new(&ramp, 10.0).count() as f64;
        // The integral of a 0→200/s ramp over 10 s is 1000.
        assert!((n - 1000.0).abs() < 15.0, "{n}");
    }
}
