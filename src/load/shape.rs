//! Load-shape arithmetic: a shape as a list of segments, and the target at any second.
//! Pure functions of the manifest's numbers, shared by `soy plan` and the generator.

use serde::Serialize;

use crate::manifest::model::{Shape, Workload};

/// A stretch of the run over which the target moves linearly from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// Seconds from the start of the load.
    pub start: f64,
    pub end: f64,
    pub from: f64,
    pub to: f64,
    /// Closed model: users per second while the user count moves towards the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spawn_rate: Option<f64>,
}

/// Inputs besides the shape itself.
#[derive(Debug, Clone, Copy)]
pub struct ShapeInput {
    pub model: Workload,
    /// `load.users` or `load.rate`.
    pub full: f64,
    pub spawn_rate: f64,
    /// Seconds of load.
    pub run_time: f64,
}

/// Points of a trace: `(seconds, target)`, sorted by time.
pub type TracePoints = Vec<(f64, f64)>;

/// Most segments a sine wave is cut into for the table.
const SINE_ROWS_PER_PERIOD: usize = 8;

/// Cuts a shape into segments covering `[0, run_time]`.
pub fn segments(shape: &Shape, input: ShapeInput, trace: Option<&TracePoints>) -> Vec<Segment> {
    let rt = input.run_time;
    let closed = input.model == Workload::Closed;
    let spawn = closed.then_some(input.spawn_rate);
    let seg = |start: f64, end: f64, from: f64, to: f64| Segment {
        start,
        end,
        from,
        to,
        spawn_rate: spawn,
    };
    let mut out = Vec::new();
    match shape {
        Shape::Constant(c) => {
            let t = c.target.unwrap_or(input.full);
            out.push(seg(0.0, rt, t, t));
        }
        Shape::Ramp(r) => {
            let d = r.duration.map_or(rt, |d| d.as_secs_f64()).min(rt);
            out.push(seg(0.0, d, r.from, r.to));
            if d < rt {
                out.push(seg(d, rt, r.to, r.to));
            }
        }
        Shape::Steps(s) => {
            let every = s.every.as_secs_f64();
            let mut t = 0.0;
            let mut target = s.start;
            while t < rt && every > 0.0 {
                let reached =
                    (s.step > 0.0 && target >= s.until) || (s.step < 0.0 && target <= s.until);
                let end = if reached || s.step == 0.0 {
                    rt
                } else {
                    (t + every).min(rt)
                };
                out.push(seg(t, end, target, target));
                t = end;
                target = if s.step > 0.0 {
                    (target + s.step).min(s.until)
                } else {
                    (target + s.step).max(s.until)
                };
            }
        }
        Shape::Spike(s) => {
            let at = s.at.as_secs_f64().min(rt);
            let end = (at + s.hold.as_secs_f64()).min(rt);
            if at > 0.0 {
                out.push(seg(0.0, at, s.base, s.base));
            }
            out.push(seg(at, end, s.peak, s.peak));
            if end < rt {
                out.push(seg(end, rt, s.base, s.base));
            }
        }
        Shape::Stages(st) => {
            let mut t = 0.0;
            let mut prev = 0.0;
            for stage in &st.stages {
                if t >= rt {
                    break;
                }
                let end = (t + stage.duration.as_secs_f64()).min(rt);
                if closed {
                    out.push(Segment {
                        spawn_rate: Some(stage.spawn_rate.unwrap_or(input.spawn_rate)),
                        ..seg(t, end, stage.target, stage.target)
                    });
                } else {
                    out.push(seg(t, end, prev, stage.target));
                }
                prev = stage.target;
                t = end;
            }
            if t < rt {
                out.push(seg(t, rt, prev, prev));
            }
        }
        Shape::Sine(s) => {
            let period = s.period.as_secs_f64();
            let dt = period / SINE_ROWS_PER_PERIOD as f64;
            let value = |t: f64| s.base + s.amplitude * (std::f64::consts::TAU * t / period).sin();
            let mut t = 0.0;
            while t < rt && dt > 0.0 {
                let end = (t + dt).min(rt);
                out.push(seg(t, end, value(t), value(end)));
                t = end;
            }
        }
        Shape::Trace(tr) => {
            let points = trace.cloned().unwrap_or_default();
            let scaled: Vec<(f64, f64)> = points.iter().map(|(t, v)| (*t, v * tr.scale)).collect();
            for w in scaled.windows(2) {
                if w[0].0 >= rt {
                    break;
                }
                out.push(seg(w[0].0, w[1].0.min(rt), w[0].1, w[1].1));
            }
            if let Some(last) = scaled.last().filter(|l| l.0 < rt) {
                out.push(seg(last.0, rt, last.1, last.1));
            }
        }
    }
    out
}

/// The target at `t` seconds: linear within a segment, the last value after the end.
pub fn target_at(segments: &[Segment], t: f64) -> f64 {
    for s in segments {
        if t < s.end || s.end <= s.start && t <= s.start {
            if t <= s.start {
                return s.from;
            }
            let f = (t - s.start) / (s.end - s.start);
            return s.from + (s.to - s.from) * f;
        }
    }
    segments.last().map_or(0.0, |s| s.to)
}

/// The natural length of a shape, when it has one (stages: their sum; trace: its last point).
pub fn natural_length(shape: &Shape, trace: Option<&TracePoints>) -> Option<f64> {
    match shape {
        Shape::Stages(s) => Some(s.stages.iter().map(|s| s.duration.as_secs_f64()).sum()),
        Shape::Trace(_) => trace.and_then(|p| p.last()).map(|p| p.0),
        _ => None,
    }
}

/// Parses a trace CSV of `seconds,target` rows; a non-numeric first row is a header.
pub fn parse_trace(text: &str) -> Result<TracePoints, super::TraceError> {
    use super::TraceError;
    let mut points: TracePoints = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cols = line.split(',').map(str::trim);
        let (a, b) = (cols.next().unwrap_or(""), cols.next().unwrap_or(""));
        match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(t), Ok(v)) if t.is_finite() && v.is_finite() && v >= 0.0 => {
                if points.last().is_some_and(|p| p.0 >= t) {
                    return Err(TraceError::NotIncreasing {
                        line: i + 1,
                        time: t,
                    });
                }
                points.push((t, v));
            }
            _ if points.is_empty() && i == 0 => {}
            _ => {
                return Err(TraceError::BadRow {
                    line: i + 1,
                    text: line.to_string(),
                });
            }
        }
    }
    if points.is_empty() {
        return Err(TraceError::Empty);
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(v: serde_json::Value) -> Shape {
        serde_json::from_value(v).unwrap()
    }

    fn input(rt: f64) -> ShapeInput {
        ShapeInput {
            model: Workload::Closed,
            full: 50.0,
            spawn_rate: 5.0,
            run_time: rt,
        }
    }

    #[test]
    fn steps_stop_at_until_and_hold() {
        let s = shape(
            serde_json::json!({"kind": "steps", "start": 10, "step": 10, "every": "1m", "until": 30}),
        );
        let segs = segments(&s, input(300.0), None);
        let targets: Vec<f64> = segs.iter().map(|s| s.from).collect();
        assert_eq!(targets, vec![10.0, 20.0, 30.0]);
        assert_eq!(segs[2].end, 300.0);
        assert_eq!(target_at(&segs, 90.0), 20.0);
    }

    #[test]
    fn spike_and_ramp() {
        let s = shape(
            serde_json::json!({"kind": "spike", "base": 10, "peak": 100, "at": "1m", "hold": "30s"}),
        );
        let segs = segments(&s, input(180.0), None);
        assert_eq!(segs.len(), 3);
        assert_eq!(target_at(&segs, 75.0), 100.0);
        assert_eq!(target_at(&segs, 100.0), 10.0);
        let r =
            shape(serde_json::json!({"kind": "ramp", "from": 0, "to": 100, "duration": "100s"}));
        let segs = segments(&r, input(200.0), None);
        assert_eq!(target_at(&segs, 25.0), 25.0);
        assert_eq!(target_at(&segs, 150.0), 100.0);
    }

    #[test]
    fn stages_hold_last_target() {
        let s = shape(serde_json::json!({"kind": "stages", "stages": [
            {"duration": "10s", "target": 5}, {"duration": "20s", "target": 20, "spawn_rate": 2}]}));
        let segs = segments(&s, input(60.0), None);
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[1].spawn_rate, Some(2.0));
        assert_eq!(segs[2].from, 20.0);
        assert_eq!(natural_length(&s, None), Some(30.0));
    }

    #[test]
    fn traces_parse_and_interpolate() {
        let pts = parse_trace("seconds,target\n0,0\n10,100\n").unwrap();
        let s = shape(serde_json::json!({"kind": "trace", "file": "x.csv", "scale": 2}));
        let segs = segments(&s, input(20.0), Some(&pts));
        assert_eq!(target_at(&segs, 5.0), 100.0);
        assert!(parse_trace("0,1\n0,2\n").is_err());
        assert!(parse_trace("x\n").is_err());
    }
}
