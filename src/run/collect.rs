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
            section: q.section,
            missing: None,
            warnings: Vec::new(),
            gaps: Vec::new(),
        };
        match client {
            None => {
                r.missing = Some(format!(
                    "not collected: {}",
                    unavailable.unwrap_or("no metrics source")
                ));
            }
            Some(c) => match c
                .query_range(&q.promql, window.0, window.1, plan.step.0)
                .await
            {
                Ok(answer) => {
                    let safe = crate::report::render::file_safe(&q.name);
                    if let Err(e) =
                        dir.write_json(&format!("metrics/raw/{i:02}-{safe}.json"), &answer.raw)
                    {
                        r.warnings.push(format!("the raw answer was not kept: {e}"));
                    }
                    r.warnings.extend(answer.warnings);
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
                Err(e) => r.missing = Some(crate::error::flatten(&e)),
            },
        }
        out.push(r);
    }
    out
}

/// Every query evaluated by soy's own PromQL engine over the embedded store, which is saved
/// with the run (`metrics/samples.tsdb`, read by `soy query`). `problems` (failed scrapes,
/// malformed lines, refused series) become warnings of every query.
pub fn embedded(
    store: &crate::tsdb::Store,
    problems: &[String],
    plan: &MetricsPlan,
    window: (f64, f64),
    dir: &RunDir,
) -> Vec<QueryResult> {
    let path = dir.path.join("metrics").join("samples.tsdb");
    let saved = std::fs::create_dir_all(dir.path.join("metrics"))
        .and_then(|_| crate::tsdb::file::save(store, &path));
    if let Err(e) = saved {
        eprintln!(
            "soy: cannot save the metrics store to {}: {e}",
            path.display()
        );
    }
    plan.queries
        .iter()
        .map(|q| {
            let mut r = crate::metrics::embedded::query_range(
                store,
                &q.name,
                &q.promql,
                q.unit.clone(),
                window,
                plan.step.as_secs_f64(),
            );
            r.section = q.section;
            r.warnings.extend(problems.iter().cloned());
            r
        })
        .collect()
}
