//! The coordinator's merge: workers' seconds into the run's seconds, released in order once
//! every worker still sending has delivered them; a lost worker's seconds until its loss stay
//! in. Pure: the coordinator feeds it what arrives and sends on what it releases.

use std::collections::BTreeMap;

use super::wire::WorkerReport;
use crate::load::stats::Block;

/// One worker as the merge sees it.
#[derive(Debug, Clone)]
struct Slot {
    report: WorkerReport,
    /// The next second expected from it.
    next: u64,
    /// Ended or lost: nothing more is waited for.
    gone: bool,
    plan: Vec<u64>,
}

/// The merge of every worker's seconds.
#[derive(Debug)]
pub struct Merger {
    names: usize,
    open: bool,
    slots: Vec<Slot>,
    pending: BTreeMap<u64, Block>,
}

impl Merger {
    /// `workers`: (name, CPUs) in index order; `names`: the scenario's request names.
    pub fn new(names: usize, open: bool, workers: &[(String, f64)]) -> Merger {
        Merger {
            names,
            open,
            slots: workers
                .iter()
                .enumerate()
                .map(|(i, (name, cpus))| Slot {
                    report: WorkerReport {
                        index: i as u64,
                        name: name.clone(),
                        cpus: *cpus,
                        ..WorkerReport::default()
                    },
                    next: 0,
                    gone: false,
                    plan: Vec::new(),
                })
                .collect(),
            pending: BTreeMap::new(),
        }
    }

    /// Worker `w`'s share of the plan, per second.
    pub fn plan(&mut self, w: usize, per_second: Vec<u64>) {
        if let Some(s) = self.slots.get_mut(w) {
            s.plan = per_second;
        }
    }

    /// A second of worker `w`, and the CPU seconds it has used; returns the seconds now
    /// complete. Blocks of a worker that is gone, or out of order, are refused (`false`).
    pub fn add(&mut self, w: usize, block: Block, cpu_s: f64) -> (bool, Vec<Block>) {
        let open = self.open;
        let Some(s) = self.slots.get_mut(w) else {
            return (false, Vec::new());
        };
        if s.gone || block.second < s.next || block.entries.len() != self.names {
            return (false, Vec::new());
        }
        let t = block.total();
        s.report.requests += t.count;
        s.report.failures += t.failures;
        s.report.met += if open { block.started } else { block.active };
        s.report.last_second = Some(block.second);
        s.report.cpu_s = s.report.cpu_s.max(cpu_s);
        s.next = block.second + 1;
        let second = block.second;
        self.pending
            .entry(second)
            .or_insert_with(|| {
                let mut b = Block::new(0, self.names);
                b.second = second;
                b
            })
            .merge(&block);
        (true, self.release())
    }

    /// Worker `w` ended its load.
    pub fn end(&mut self, w: usize, cpu_s: f64, wall_s: f64, error: Option<String>) -> Vec<Block> {
        if let Some(s) = self.slots.get_mut(w) {
            s.gone = true;
            s.report.cpu_s = s.report.cpu_s.max(cpu_s);
            s.report.wall_s = wall_s;
            s.report.error = error;
        }
        self.release()
    }

    /// Worker `w` stopped sending before its end; returns its facts (`None`: it was gone).
    pub fn lose(&mut self, w: usize, why: &str) -> (Option<WorkerReport>, Vec<Block>) {
        let Some(s) = self.slots.get_mut(w) else {
            return (None, Vec::new());
        };
        if s.gone {
            return (None, Vec::new());
        }
        s.gone = true;
        s.report.lost = Some(why.to_string());
        s.report.wall_s = s.report.last_second.map_or(0.0, |l| l as f64 + 1.0);
        let report = self.report(w);
        (report, self.release())
    }

    /// Workers still sending that are `behind` seconds or more behind the furthest one.
    pub fn laggards(&self, behind: u64) -> Vec<usize> {
        let front = self.slots.iter().map(|s| s.next).max().unwrap_or(0);
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.gone && front >= s.next + behind)
            .map(|(i, _)| i)
            .collect()
    }

    /// Every worker has ended or is lost.
    pub fn done(&self) -> bool {
        self.slots.iter().all(|s| s.gone)
    }

    /// Whatever is still waiting, in order (at the end, or when the run is cut short).
    pub fn flush(&mut self) -> Vec<Block> {
        std::mem::take(&mut self.pending).into_values().collect()
    }

    fn release(&mut self) -> Vec<Block> {
        let mut out = Vec::new();
        while let Some((&second, _)) = self.pending.first_key_value() {
            if !self.slots.iter().all(|s| s.gone || s.next > second) {
                break;
            }
            if let Some(b) = self.pending.remove(&second) {
                out.push(b);
            }
        }
        out
    }

    fn report(&self, w: usize) -> Option<WorkerReport> {
        let s = self.slots.get(w)?;
        let mut r = s.report.clone();
        let through = r.last_second.map_or(0, |l| l as usize + 1);
        r.planned = s.plan.iter().take(through).sum();
        r.planned_total = s.plan.iter().sum();
        Some(r)
    }

    /// Every worker's facts, in index order.
    pub fn reports(&self) -> Vec<WorkerReport> {
        (0..self.slots.len())
            .filter_map(|w| self.report(w))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(second: u64, requests: u64, active: u64) -> Block {
        let mut b = Block::new(0, 1);
        for i in 0..requests {
            b.entries[0].record(1000 + i, 10, false);
        }
        b.second = second;
        b.active = active;
        b
    }

    fn workers(n: usize) -> Vec<(String, f64)> {
        (0..n).map(|i| (format!("w{i}"), 1.0)).collect()
    }

    #[test]
    fn a_second_is_released_once_every_worker_sent_it() {
        let mut m = Merger::new(1, false, &workers(3));
        assert!(m.add(0, block(0, 10, 2), 0.1).1.is_empty());
        assert!(m.add(1, block(0, 20, 2), 0.1).1.is_empty());
        // Worker 0 runs ahead: its second 1 waits too.
        assert!(m.add(0, block(1, 5, 2), 0.2).1.is_empty());
        let out = m.add(2, block(0, 30, 1), 0.1).1;
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].total().count, 60);
        assert_eq!(out[0].active, 5);
        // Out of order or repeated: refused.
        assert!(!m.add(0, block(1, 5, 2), 0.2).0);
        assert_eq!(m.laggards(1), vec![1, 2]);
    }

    #[test]
    fn a_lost_worker_keeps_its_seconds_and_stops_holding_the_others() {
        let mut m = Merger::new(1, false, &workers(2));
        m.plan(0, vec![2, 2, 2, 2]);
        m.plan(1, vec![2, 2, 2, 2]);
        m.add(0, block(0, 10, 2), 0.0);
        m.add(1, block(0, 10, 2), 0.0);
        m.add(0, block(1, 10, 2), 0.0);
        m.add(0, block(2, 10, 2), 0.0);
        let (report, out) = m.lose(1, "connection closed");
        let r = report.unwrap();
        assert_eq!(
            (r.requests, r.last_second, r.planned, r.planned_total),
            (10, Some(0), 2, 8)
        );
        assert_eq!(out.iter().map(|b| b.second).collect::<Vec<_>>(), vec![1, 2]);
        // Later blocks of the lost worker are refused; the others go on.
        assert!(!m.add(1, block(1, 10, 2), 0.0).0);
        assert_eq!(m.add(0, block(3, 10, 2), 0.0).1.len(), 1);
        assert!(!m.done());
        m.end(0, 1.5, 4.0, None);
        assert!(m.done());
        let reports = m.reports();
        assert_eq!(reports[0].met, 8);
        assert_eq!(reports[0].planned, 8);
        assert_eq!(reports[0].cpu_s, 1.5);
        assert!(reports[1].lost.is_some());
    }
}
