//! Judging a run: SLO verdicts from load statistics and metric series. Pure.

pub mod correlate;
pub mod dist;
pub mod series;
pub mod signals;
pub mod slo;
pub mod usl;
