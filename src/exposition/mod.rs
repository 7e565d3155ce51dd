//! Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text in one place: the
//! [`parse`]r that soy's scraper reads with, and the [`Writer`] every exposition soy serves
//! or exports is written with (label-value escaping, Go-style float text).
//!
//! Architecture invariant: a pure bottom layer — no I/O, and nothing imported from the rest
//! of soy, so `promql`, `scrape`, `metrics` and `load` may all use it. Parsing is linear in
//! the input's length; a malformed line is recorded and skipped, never fatal.

pub mod parse;
mod write;

pub use parse::{LineError, Parsed, Sample, parse, parse_with};
pub use write::{Writer, escape_label_value, format_float, series};

/// A label set: (name, value) pairs, sorted by name, the metric name as `__name__`.
pub type Labels = Vec<(String, String)>;

/// The label holding the metric name.
pub const NAME_LABEL: &str = "__name__";
