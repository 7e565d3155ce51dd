//! The generator watching its own CPU: a generator that uses nearly all the CPU it may use
//! sets the pace itself, and its latencies include its own queueing (Locust warns above 90%
//! too). Sampled once a second from /proc; the figures go to the live line and the report.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::process::procfs::own_cpu_seconds;

/// CPU share above which a generator is called a likely bottleneck.
pub const BUSY: f64 = 0.9;

/// The CPUs this process may use: the CPUs it may run on, or its cgroup's quota when that is
/// less (a task limited to `cpus: 0.5` has half a CPU, which `available_parallelism` rounds
/// up to one).
pub fn cpus() -> f64 {
    let cores = std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64);
    let quota = std::fs::read_to_string("/sys/fs/cgroup/cpu.max")
        .ok()
        .and_then(|s| quota(&s));
    quota.map_or(cores, |q| q.min(cores))
}

/// A cgroup v2 `cpu.max` (`50000 100000`, or `max 100000`) as CPUs.
fn quota(text: &str) -> Option<f64> {
    let mut it = text.split_whitespace();
    let q: f64 = it.next()?.parse().ok()?;
    let period: f64 = it.next()?.parse().ok()?;
    (q > 0.0 && period > 0.0).then(|| q / period)
}

/// How much of its CPU the generator used, over the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GeneratorCpu {
    /// The CPUs it could use.
    pub cpus: f64,
    /// CPU used over the measured window, as a share of `cpus` (0 to 1).
    pub mean: f64,
    /// The busiest second's share.
    pub max: f64,
    /// Seconds above 90%.
    pub busy_seconds: u64,
}

/// Samples the process's CPU once a second.
#[derive(Debug)]
pub struct CpuWatch {
    cpus: f64,
    last: (Instant, f64),
    /// Each second's share, in order.
    seconds: Vec<f64>,
}

impl Default for CpuWatch {
    fn default() -> Self {
        CpuWatch {
            cpus: cpus(),
            last: (Instant::now(), own_cpu_seconds()),
            seconds: Vec::new(),
        }
    }
}

impl CpuWatch {
    /// The share of its CPUs the process used since the last sample.
    pub fn sample(&mut self) -> f64 {
        let now = (Instant::now(), own_cpu_seconds());
        let wall = now.0.duration_since(self.last.0).as_secs_f64();
        let share = if wall > 0.0 {
            ((now.1 - self.last.1) / (wall * self.cpus)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.last = now;
        self.seconds.push(share);
        share
    }

    /// The figures over the seconds from `from` on (the measured window).
    pub fn summary(&self, from: usize) -> Option<GeneratorCpu> {
        let window = self.seconds.get(from..).filter(|w| !w.is_empty())?;
        Some(GeneratorCpu {
            cpus: self.cpus,
            mean: window.iter().sum::<f64>() / window.len() as f64,
            max: window.iter().copied().fold(0.0, f64::max),
            busy_seconds: window.iter().filter(|s| **s > BUSY).count() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgroup_quota_reads_as_cpus() {
        assert_eq!(quota("50000 100000\n"), Some(0.5));
        assert_eq!(quota("max 100000\n"), None);
        assert_eq!(quota(""), None);
    }

    #[test]
    fn the_summary_covers_the_measured_seconds() {
        let w = CpuWatch {
            cpus: 2.0,
            last: (Instant::now(), 0.0),
            seconds: vec![1.0, 1.0, 0.5, 0.95, 0.2],
        };
        let s = w.summary(2).unwrap();
        assert_eq!(s.busy_seconds, 1);
        assert!((s.mean - 0.55).abs() < 1e-12);
        assert_eq!(s.max, 0.95);
        assert!(w.summary(5).is_none());
    }
}
