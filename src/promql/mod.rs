//! A PromQL evaluator with Prometheus' semantics, over any [`Storage`]: instant and range
//! queries on float samples (5-minute lookback, staleness markers, counter resets, rate
//! extrapolation, classic `histogram_quantile`, vector matching, subqueries, `offset` and `@`).
//! Parsing is the `promql-parser` crate's. Pure: no I/O, no async; a feature it does not
//! support is an [`EvalError::Unsupported`] naming it.
//!
//! Flow: [`instant`] and [`range`] find the time window each selector needs, fetch it once
//! from the storage, then evaluate the expression at every step (`eval.rs`), with functions
//! (`functions.rs`), aggregations (`aggregate.rs`) and binary operators (`binary.rs`).

mod aggregate;
mod binary;
mod eval;
mod functions;
mod histogram;
mod value;

pub use eval::{instant, range};
pub use value::{
    Annotation, Answer, Labels, Point, RangeSeries, STALE_NAN_BITS, Sample, SharedLabels, Value,
    format_labels, is_stale,
};

/// Where the evaluator reads samples from.
pub trait Storage {
    /// Series matching every matcher, with their samples in `[start, end]` (milliseconds),
    /// in time order. Staleness markers are returned as stored.
    fn select(
        &self,
        matchers: &[promql_parser::label::Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<RangeSeries>, StorageError>;
}

/// Why a storage could not answer a selection.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct StorageError(pub String);

/// Engine settings.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How far back an instant selector looks for a sample (Prometheus: 5 minutes).
    pub lookback_ms: i64,
    /// A subquery without a step uses this one (Prometheus: 1 minute).
    pub default_subquery_step_ms: i64,
    /// The most points a query may hold at once.
    pub max_samples: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            lookback_ms: 5 * 60 * 1000,
            default_subquery_step_ms: 60 * 1000,
            max_samples: 50_000_000,
        }
    }
}

/// Why a query could not be answered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("{0}")]
    Parse(String),
    #[error("{0}")]
    Eval(String),
    #[error(
        "{0} is not supported by soy's embedded PromQL engine; use a Prometheus source (`metrics.source.kind: prometheus`)"
    )]
    Unsupported(String),
    #[error("reading samples")]
    Storage(#[from] StorageError),
}
