//! SLO verdicts: each objective's observed value, its limit and whether it held.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::series::QueryResult;
use crate::load::results::{NameStats, Results};
use crate::manifest::model::{LoadStat, QueryStat, Slo, SloScope};
use crate::manifest::threshold::Threshold;

/// Whether an objective held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// Nothing to judge: counts as failed (a missing metric must not pass a gate).
    NoData,
}

/// The verdict on one SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<f64>,
    /// The limits as written, e.g. `<= 250ms`.
    pub threshold: String,
    /// Unit of `observed`: `ms`, `ratio`, `req/s`, or the query's unit.
    pub unit: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.status == Status::Pass
    }
}

/// Judges every SLO.
pub fn judge(slos: &[Slo], load: Option<&Results>, metrics: &[QueryResult]) -> Vec<Verdict> {
    slos.iter().map(|s| judge_one(s, load, metrics)).collect()
}

fn judge_one(s: &Slo, load: Option<&Results>, metrics: &[QueryResult]) -> Verdict {
    let name = s.describe();
    let mut limits = Vec::new();
    if let Some(min) = s.min {
        limits.push(format!(">= {min}"));
    }
    if let Some(max) = s.max {
        limits.push(format!("<= {max}"));
    }
    let threshold = limits.join(" and ");
    let no_data = |unit: &str, why: String| Verdict {
        name: name.clone(),
        observed: None,
        threshold: threshold.clone(),
        unit: unit.to_string(),
        status: Status::NoData,
        detail: Some(why),
    };
    if let Some(stat) = s.load {
        let unit = match stat {
            LoadStat::ErrorRate => "ratio",
            LoadStat::Rps => "req/s",
            _ => "ms",
        };
        let Some(r) = load else {
            return no_data(unit, "no load results".into());
        };
        let row = match &s.request {
            Some(req) => r.requests.iter().find(|n| &n.name == req),
            None => Some(&r.total),
        };
        let Some(row) = row.filter(|n| n.requests > 0) else {
            return no_data(unit, "no requests".into());
        };
        let observed = load_value(row, stat);
        let convert = |t: Threshold| match stat {
            LoadStat::ErrorRate => t.as_ratio(),
            LoadStat::Rps => t.as_number(),
            _ => t.as_millis(),
        };
        return verdict(
            name,
            observed,
            threshold,
            unit,
            s.min.and_then(convert),
            s.max.and_then(convert),
        );
    }
    let Some(query) = &s.query else {
        return no_data("", "nothing to judge".into());
    };
    let Some(q) = metrics
        .iter()
        .find(|q| &q.name == query || q.name.starts_with(&format!("{query}[")))
    else {
        return no_data("", format!("query `{query}` was not collected"));
    };
    let unit = q.unit.clone().unwrap_or_default();
    let results: Vec<&QueryResult> = metrics
        .iter()
        .filter(|m| m.name == *query || m.name.starts_with(&format!("{query}[")))
        .collect();
    let stat = s.stat.unwrap_or(QueryStat::Mean);
    let min = s.min.and_then(Threshold::as_number);
    let max = s.max.and_then(Threshold::as_number);
    let series: Vec<Vec<f64>> = results
        .iter()
        .flat_map(|r| {
            r.series.iter().map(|se| {
                se.points
                    .iter()
                    .map(|p| p.1)
                    .filter(|v| v.is_finite())
                    .collect::<Vec<f64>>()
            })
        })
        .filter(|v: &Vec<f64>| !v.is_empty())
        .collect();
    if series.is_empty() {
        return no_data(&unit, q.missing.clone().unwrap_or_else(|| "no data".into()));
    }
    match s.per {
        SloScope::Total => {
            let all: Vec<f64> = series.concat();
            verdict(name, reduce(&all, stat), threshold, &unit, min, max)
        }
        SloScope::Series => {
            // Every series must hold; the observed value is the worst one.
            let values: Vec<f64> = series.iter().map(|v| reduce(v, stat)).collect();
            let worst = if max.is_some() {
                values.iter().copied().fold(f64::MIN, f64::max)
            } else {
                values.iter().copied().fold(f64::MAX, f64::min)
            };
            let mut v = verdict(name, worst, threshold, &unit, min, max);
            v.detail = Some(format!("worst of {} series", values.len()));
            v
        }
    }
}

fn verdict(
    name: String,
    observed: f64,
    threshold: String,
    unit: &str,
    min: Option<f64>,
    max: Option<f64>,
) -> Verdict {
    let ok = min.is_none_or(|m| observed >= m) && max.is_none_or(|m| observed <= m);
    Verdict {
        name,
        observed: Some(observed),
        threshold,
        unit: unit.to_string(),
        status: if ok { Status::Pass } else { Status::Fail },
        detail: None,
    }
}

fn load_value(n: &NameStats, stat: LoadStat) -> f64 {
    match stat {
        LoadStat::P50 => n.p50_ms,
        LoadStat::P75 => n.percentiles_ms.get(2).copied().unwrap_or(n.p50_ms),
        LoadStat::P90 => n.p90_ms,
        LoadStat::P95 => n.p95_ms,
        LoadStat::P99 => n.p99_ms,
        LoadStat::Max => n.max_ms,
        LoadStat::Mean => n.mean_ms,
        LoadStat::ErrorRate => n.error_rate(),
        LoadStat::Rps => n.rps,
    }
}

/// Reduces values by a statistic (`values` is not empty).
pub fn reduce(values: &[f64], stat: QueryStat) -> f64 {
    match stat {
        QueryStat::Mean => values.iter().sum::<f64>() / values.len() as f64,
        QueryStat::Max => values.iter().copied().fold(f64::MIN, f64::max),
        QueryStat::Min => values.iter().copied().fold(f64::MAX, f64::min),
        QueryStat::Last => values.last().copied().unwrap_or(f64::NAN),
        QueryStat::Percentile(p) => {
            let mut v = values.to_vec();
            v.sort_by(f64::total_cmp);
            let rank = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
            v[rank.min(v.len() - 1)]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::series::Series;

    fn slo(v: serde_json::Value) -> Slo {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn query_slos_total_series_and_no_data() {
        let q = QueryResult {
            name: "cpu[gw]".into(),
            promql: None,
            unit: Some("cores".into()),
            section: None,
            series: vec![
                Series {
                    labels: Default::default(),
                    points: vec![(0.0, 1.0), (1.0, 3.0)],
                },
                Series {
                    labels: Default::default(),
                    points: vec![(0.0, 0.5), (1.0, 0.5)],
                },
            ],
            missing: None,
            warnings: Vec::new(),
            gaps: Vec::new(),
        };
        let total = judge(
            &[slo(
                serde_json::json!({"query": "cpu", "stat": "mean", "max": 1.5}),
            )],
            None,
            std::slice::from_ref(&q),
        );
        assert_eq!(total[0].observed, Some(1.25));
        assert!(total[0].passed());
        let per = judge(
            &[slo(
                serde_json::json!({"query": "cpu", "stat": "mean", "per": "series", "max": 1.5}),
            )],
            None,
            std::slice::from_ref(&q),
        );
        assert_eq!(per[0].observed, Some(2.0));
        assert_eq!(per[0].status, Status::Fail);
        let p = judge(
            &[slo(
                serde_json::json!({"query": "cpu", "stat": "p99", "max": 5}),
            )],
            None,
            &[q],
        );
        assert_eq!(p[0].observed, Some(3.0));
        let none = judge(
            &[slo(serde_json::json!({"query": "mem", "max": 1}))],
            None,
            &[],
        );
        assert_eq!(none[0].status, Status::NoData);
    }

    #[test]
    fn reductions() {
        let v = [1.0, 2.0, 3.0, 4.0, 100.0];
        assert_eq!(reduce(&v, QueryStat::Percentile(50.0)), 3.0);
        assert_eq!(reduce(&v, QueryStat::Last), 100.0);
        assert_eq!(reduce(&v, QueryStat::Min), 1.0);
    }
}
