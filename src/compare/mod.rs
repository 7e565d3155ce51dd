//! `soy compare`: runs against a base run, every difference judged against the noise.
pub mod stats;
