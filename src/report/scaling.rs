//! The scaling chart of one controller: its service's replicas, the load, the latency and the
//! controller's metric on one time axis, its replica changes marked.

use super::charts::{Line, Mark, Panel};
use crate::load::results::Results;
use crate::rules::record::ScalingRecord;

/// The panels, top to bottom: replicas, load, latency (with results), the metric.
pub fn panels(r: &ScalingRecord, results: Option<&Results>) -> Vec<Panel> {
    let desired = r
        .decisions
        .iter()
        .flat_map(|d| [(d.at, f64::from(d.from)), (d.at, f64::from(d.to))])
        .collect();
    let ready = r.decisions.iter().map(|d| (d.at, d.ready as f64)).collect();
    let mut limits = vec![("max".to_string(), f64::from(r.max))];
    if r.min != r.max {
        limits.push(("min".into(), f64::from(r.min)));
    }
    let mut panels = vec![Panel {
        y_label: format!("{} replicas", r.service),
        lines: vec![
            Line {
                name: "desired".into(),
                points: desired,
            },
            Line {
                name: "ready".into(),
                points: ready,
            },
        ],
        levels: limits,
    }];
    if let Some(res) = results {
        let second = |row: &crate::load::stats::SecondRow| row.second as f64 + 1.0;
        panels.push(Panel {
            y_label: "requests/s".into(),
            lines: vec![
                Line {
                    name: "requests/s".into(),
                    points: res
                        .series
                        .iter()
                        .map(|row| (second(row), row.requests as f64))
                        .collect(),
                },
                Line {
                    name: "failures/s".into(),
                    points: res
                        .series
                        .iter()
                        .map(|row| (second(row), row.failures as f64))
                        .collect(),
                },
            ],
            levels: Vec::new(),
        });
        panels.push(Panel {
            y_label: "ms".into(),
            lines: vec![Line {
                name: "p95 latency".into(),
                points: res
                    .series
                    .iter()
                    .map(|row| {
                        let v = if row.requests == 0 {
                            f64::NAN
                        } else {
                            row.p95_ms
                        };
                        (second(row), v)
                    })
                    .collect(),
            }],
            levels: Vec::new(),
        });
    }
    panels.push(Panel {
        y_label: "controller metric".into(),
        lines: vec![Line {
            name: "controller metric".into(),
            points: r.decisions.iter().map(|d| (d.at, d.value)).collect(),
        }],
        levels: r.levels.iter().map(|l| (l.name.clone(), l.value)).collect(),
    });
    panels
}

/// The controller's replica changes, as markers.
pub fn changes(r: &ScalingRecord) -> Vec<Mark> {
    r.decisions
        .iter()
        .filter(|d| d.to != d.from)
        .map(|d| Mark {
            at: d.at,
            label: format!("{} → {}", d.from, d.to),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::record::{Level, ScaleDecision};

    #[test]
    fn desired_replicas_step_at_each_decision_and_the_levels_are_the_policys() {
        let d = |at: f64, from: u32, to: u32| ScaleDecision {
            at,
            value: 0.5,
            ready: u64::from(from),
            from,
            to,
            reason: String::new(),
            error: None,
        };
        let r = ScalingRecord {
            service: "web".into(),
            decisions: vec![d(2.0, 1, 1), d(4.0, 1, 3), d(6.0, 3, 3)],
            without_value: 0,
            figures: Default::default(),
            min: 1,
            max: 4,
            levels: vec![Level {
                name: "target".into(),
                value: 0.45,
            }],
        };
        let p = panels(&r, None);
        assert_eq!(p.len(), 2, "replicas and the metric without load results");
        assert_eq!(
            p[0].lines[0].points,
            [
                (2.0, 1.0),
                (2.0, 1.0),
                (4.0, 1.0),
                (4.0, 3.0),
                (6.0, 3.0),
                (6.0, 3.0)
            ]
        );
        assert_eq!(p[0].levels, [("max".to_string(), 4.0), ("min".into(), 1.0)]);
        assert_eq!(p[1].levels, [("target".to_string(), 0.45)]);
        let m = changes(&r);
        assert_eq!((m.len(), m[0].at, m[0].label.as_str()), (1, 4.0, "1 → 3"));
    }
}
