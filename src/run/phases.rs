//! The record of a run's phases as they happen: each begins, then ends with a status.

use super::record::{PhaseRecord, PhaseStatus};
use super::stop::StopReason;
use crate::clock;

/// A phase in progress (its index in the log).
#[derive(Debug, Clone, Copy)]
pub struct Open(usize);

#[derive(Debug, Clone, Default)]
pub struct PhaseLog(pub Vec<PhaseRecord>);

impl PhaseLog {
    pub fn begin(&mut self, name: &str) -> Open {
        let t = clock::now();
        self.0.push(PhaseRecord {
            name: name.into(),
            started_at: t,
            ended_at: t,
            status: PhaseStatus::Ok,
            error: None,
        });
        Open(self.0.len() - 1)
    }

    pub fn end(&mut self, p: Open, status: PhaseStatus, error: Option<String>) {
        if let Some(r) = self.0.get_mut(p.0) {
            r.ended_at = clock::now();
            r.status = status;
            r.error = error;
        }
    }

    /// Ends a phase by how its work went: stopped from outside (interrupted), failed, or ok.
    pub fn end_with<T>(&mut self, p: Open, r: &Result<T, Ended>) {
        match r {
            Ok(_) => self.end(p, PhaseStatus::Ok, None),
            Err(Ended::Stopped(why)) => {
                self.end(p, PhaseStatus::Interrupted, Some(why.to_string()))
            }
            Err(Ended::Failed(e)) => self.end(p, PhaseStatus::Failed, Some(e.clone())),
        }
    }

    /// The named phase, if it ran.
    pub fn find(&self, name: &str) -> Option<&PhaseRecord> {
        self.0.iter().find(|p| p.name == name)
    }
}

/// Why a phase's work did not complete.
#[derive(Debug, Clone, PartialEq)]
pub enum Ended {
    /// The run's stop signal cut it short.
    Stopped(StopReason),
    /// It failed by itself.
    Failed(String),
}

impl Ended {
    /// The reason the run stops for it.
    pub fn reason(&self) -> StopReason {
        match self {
            Ended::Stopped(r) => r.clone(),
            Ended::Failed(e) => StopReason::Failed(e.clone()),
        }
    }
}
