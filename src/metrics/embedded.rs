//! The embedded metrics source: soy's store answering PromQL through soy's evaluator.

use promql_parser::label::{MatchOp, Matcher};

use crate::analysis::series::{QueryResult, Series};
use crate::promql::{self, Annotation, RangeSeries, Storage, StorageError};
use crate::tsdb::{self, Store};

impl Storage for Store {
    fn select(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<RangeSeries>, StorageError> {
        // Equality narrows in the store; every matcher (regexes as promql-parser compiled
        // them, Go syntax included) is then applied as PromQL defines it.
        let mut exact = Vec::new();
        for m in matchers {
            let op = match m.op {
                MatchOp::Equal => tsdb::MatchOp::Equal,
                MatchOp::NotEqual => tsdb::MatchOp::NotEqual,
                _ => continue,
            };
            let matcher = tsdb::Matcher::new(m.name.clone(), op, m.value.clone())
                .map_err(|e| StorageError(crate::error::flatten(&e)))?;
            exact.push(matcher);
        }
        Ok(Store::select(self, &exact, start, end)
            .into_iter()
            .filter(|(labels, _)| {
                matchers.iter().all(|m| {
                    let v = labels
                        .iter()
                        .find(|(k, _)| *k == m.name)
                        .map_or("", |(_, v)| v.as_str());
                    m.is_match(v)
                })
            })
            .map(|(labels, points)| RangeSeries::new(labels, points))
            .collect())
    }
}

/// Evaluates `promql` over `[start, end]` (Unix seconds) at `step` seconds into a stored
/// result named `name`.
pub fn query_range(
    store: &Store,
    name: &str,
    promql_text: &str,
    unit: Option<String>,
    window: (f64, f64),
    step: f64,
) -> QueryResult {
    let mut r = QueryResult {
        name: name.to_string(),
        promql: Some(promql_text.to_string()),
        unit,
        series: Vec::new(),
        section: None,
        missing: None,
        warnings: Vec::new(),
        gaps: Vec::new(),
    };
    let start = (window.0 * 1000.0).round() as i64;
    let end = (window.1 * 1000.0).round() as i64;
    let step_ms = ((step * 1000.0).round() as i64).max(1);
    match promql::range(
        promql_text,
        store,
        start,
        end,
        step_ms,
        &promql::Options::default(),
    ) {
        Ok(answer) => {
            r.warnings = answer
                .annotations
                .into_iter()
                .map(|a| match a {
                    Annotation::Warning(m) | Annotation::Info(m) => m,
                })
                .collect();
            r.series = answer
                .value
                .into_iter()
                .map(|s| Series {
                    labels: s.labels.iter().cloned().collect(),
                    points: s
                        .points
                        .into_iter()
                        .map(|(t, v)| (t as f64 / 1000.0, v))
                        .collect(),
                })
                .collect();
            if r.series.is_empty() {
                r.missing = Some("no data".into());
            }
            for s in &r.series {
                for g in crate::metrics::prometheus::gaps(&s.points, window.0, window.1, step) {
                    if !r.gaps.contains(&g) {
                        r.gaps.push(g);
                    }
                }
            }
        }
        Err(e) => r.missing = Some(crate::error::flatten(&e)),
    }
    r
}
