//! The collect phase: every manifest query over exactly the run's window, from the metrics
//! source; raw answers stored under `metrics/raw/`, failures and empty results marked.

use crate::analysis::series::QueryResult;
use crate::metrics::prometheus::{Client, gaps};
use crate::plan::MetricsPlan;

use super::dir::RunDir;

/// Collects every query; a query that fails is marked missing and the run goes on.
/// `unavailable` says why a configured source could not be used.
pub async fn queries(
    client: Option<&Client>,
    unavailable: Option<&str>,
    plan: &MetricsPlan,
    window: (f64, f64),
    dir: &RunDir,
) -> Vec<QueryResult> {
    let mut out = Vec::new();
    for (i, q) in plan.queries.iter().enumerate() {
        let mut r = QueryResult {
            name: q.name.clone(),
            promql: Some(q.promql.clone()),
            unit: q.unit.clone(),
            series: Vec::new(),
            missing: None,
            warnings: Vec::new(),
            gaps: Vec::new(),
        };
        match client {
            None => {
                r.missing = Some(match unavailable {
                    Some(e) => format!("not collected: {e}"),
                    None => "not collected: the embedded metrics source lands with issue 7; use `metrics.source.kind: prometheus`".into(),
                });
            }
            Some(c) => match c
                .query_range(&q.promql, window.0, window.1, plan.step.0)
                .await
            {
                Ok(answer) => {
                    let safe = crate::report::render::file_safe(&q.name);
                    let _ = dir.write(
                        &format!("metrics/raw/{i:02}-{safe}.json"),
                        &serde_json::to_vec_pretty(&answer.raw).unwrap_or_default(),
                    );
                    r.warnings = answer.warnings;
                    if answer.series.is_empty() {
                        r.missing = Some("no data".into());
                    }
                    let step = plan.step.as_secs_f64();
                    for s in &answer.series {
                        for g in gaps(&s.points, window.0, window.1, step) {
                            if !r.gaps.contains(&g) {
                                r.gaps.push(g);
                            }
                        }
                    }
                    r.series = answer.series;
                }
                Err(e) => r.missing = Some(e),
            },
        }
        out.push(r);
    }
    out
}
