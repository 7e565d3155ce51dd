//! soy's own scraper. [`parse`] reads the Prometheus text exposition format 0.0.4 and
//! OpenMetrics 1.0 text into samples for the [`crate::tsdb`] store.
//!
//! Architecture invariant: parsing is pure and linear in the input's length; a malformed
//! line is recorded and skipped, never fatal.

pub mod fetch;
pub mod ingest;
pub mod parse;
pub mod scraper;

pub use parse::{LineError, Parsed, Sample, parse, parse_with};
