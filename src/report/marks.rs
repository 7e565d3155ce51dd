//! What every chart of a report marks on its time axis, from the summary: the load's phases
//! and its alerts' pending and firing times as bands, the other events as markers.

use super::charts::{Band, BandKind, Mark};
use super::summary::Summary;
use crate::analysis::series::EventKind;
use crate::rules::record::AlertRecord;

/// Warm-up and cool-down, then each alert's pending and firing spans; `end` is the end of
/// the cool-down (seconds from the start of the load), where open spans stop.
pub fn bands(summary: &Summary, load_s: f64, warmup_s: f64, cooldown_s: f64) -> Vec<Band> {
    let mut bands = Vec::new();
    if warmup_s > 0.0 {
        bands.push(Band {
            name: "warm-up".into(),
            start: 0.0,
            end: warmup_s,
            kind: BandKind::Phase,
        });
    }
    if cooldown_s > 0.0 {
        bands.push(Band {
            name: "cool-down".into(),
            start: load_s,
            end: load_s + cooldown_s,
            kind: BandKind::Phase,
        });
    }
    let end = load_s + cooldown_s;
    for a in &summary.alerts {
        bands.extend(alert_bands(a, end));
    }
    bands
}

/// One alert's pending and firing spans.
pub fn alert_bands(a: &AlertRecord, end: f64) -> Vec<Band> {
    let mut out = Vec::new();
    let mut open: Option<(BandKind, f64)> = None;
    let mut close = |open: &mut Option<(BandKind, f64)>, at: f64| {
        if let Some((kind, start)) = open.take() {
            let state = if kind == BandKind::Firing {
                "firing"
            } else {
                "pending"
            };
            out.push(Band {
                name: format!("alert {} {state}", a.name),
                start,
                end: at.max(start),
                kind,
            });
        }
    };
    for c in &a.changes {
        close(&mut open, c.at);
        open = match c.state.as_str() {
            "pending" => Some((BandKind::Pending, c.at)),
            "firing" => Some((BandKind::Firing, c.at)),
            _ => None,
        };
    }
    close(&mut open, end);
    out
}

/// The events as markers, but for the kinds skipped (alerts are bands).
pub fn marks(summary: &Summary, skip: &[EventKind]) -> Vec<Mark> {
    summary
        .events
        .iter()
        .filter(|e| !skip.contains(&e.kind))
        .map(|e| Mark {
            at: e.at,
            label: e.what.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::record::AlertChange;

    fn alert(changes: &[(f64, &str)]) -> AlertRecord {
        AlertRecord {
            name: "Errors".into(),
            labels: Default::default(),
            changes: changes
                .iter()
                .map(|&(at, state)| AlertChange {
                    at,
                    state: state.into(),
                    value: 1.0,
                })
                .collect(),
            annotations: Default::default(),
            fired: true,
            aborted: false,
        }
    }

    fn spans(a: &AlertRecord, end: f64) -> Vec<(String, f64, f64)> {
        alert_bands(a, end)
            .into_iter()
            .map(|b| (b.name, b.start, b.end))
            .collect()
    }

    #[test]
    fn pending_then_firing_then_resolved() {
        let a = alert(&[(10.0, "pending"), (15.0, "firing"), (30.0, "resolved")]);
        assert_eq!(
            spans(&a, 60.0),
            [
                ("alert Errors pending".to_string(), 10.0, 15.0),
                ("alert Errors firing".to_string(), 15.0, 30.0)
            ]
        );
    }

    #[test]
    fn a_span_still_open_ends_with_the_run_and_a_dropped_pending_is_short() {
        let a = alert(&[(5.0, "pending"), (6.0, "resolved"), (20.0, "firing")]);
        assert_eq!(
            spans(&a, 40.0),
            [
                ("alert Errors pending".to_string(), 5.0, 6.0),
                ("alert Errors firing".to_string(), 20.0, 40.0)
            ]
        );
    }
}
