//! The evaluation loop: parse, find each selector's time window, fetch it once, evaluate
//! the expression at every step.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{self, AtModifier, Expr, Offset, VectorSelector};

use super::value::{
    Annotation, Answer, Labels, RangeSeries, Sample, SharedLabels, Value, is_stale, without_name,
};
use super::{EvalError, Options, Storage};

/// Evaluates `expr` at `t` (milliseconds).
pub fn instant(
    expr: &str,
    storage: &dyn Storage,
    t: i64,
    opts: &Options,
) -> Result<Answer<Value>, EvalError> {
    let e = parser::parse(expr).map_err(EvalError::Parse)?;
    let ev = Evaluator::new(&e, storage, t, t, opts)?;
    let v = ev.eval(&e, t)?;
    Ok(Answer {
        value: finish(v)?,
        annotations: ev.annotations.take(),
    })
}

/// Evaluates `expr` at every `step` from `start` to `end` (milliseconds, inclusive); the
/// result's series are sorted by labels.
pub fn range(
    expr: &str,
    storage: &dyn Storage,
    start: i64,
    end: i64,
    step: i64,
    opts: &Options,
) -> Result<Answer<Vec<RangeSeries>>, EvalError> {
    let e = parser::parse(expr).map_err(EvalError::Parse)?;
    match e.value_type() {
        ValueType::Scalar | ValueType::Vector => {}
        other => {
            return Err(EvalError::Eval(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                match other {
                    ValueType::Matrix => "range vector",
                    _ => "string",
                }
            )));
        }
    }
    if step <= 0 {
        return Err(EvalError::Eval(
            "zero or negative query resolution step widths are not accepted".into(),
        ));
    }
    let ev = Evaluator::new(&e, storage, start, end, opts)?;
    let mut out: HashMap<Labels, Vec<(i64, f64)>> = HashMap::new();
    let mut t = start;
    let mut points = 0usize;
    while t <= end {
        match finish(ev.eval(&e, t)?)? {
            Value::Scalar(v) => out.entry(Vec::new()).or_default().push((t, v)),
            Value::Vector(v) => {
                for s in v {
                    out.entry(s.labels.to_vec()).or_default().push((t, s.value));
                }
            }
            other => {
                return Err(EvalError::Eval(format!(
                    "range query yields {}",
                    other.kind()
                )));
            }
        }
        points += out.len();
        if points > opts.max_samples {
            return Err(EvalError::Eval(
                "query processing would load too many samples into memory".into(),
            ));
        }
        t += step;
    }
    let mut series: Vec<RangeSeries> = out
        .into_iter()
        .map(|(l, p)| RangeSeries::new(l, p))
        .collect();
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Answer {
        value: series,
        annotations: ev.annotations.take(),
    })
}

/// Applies the delayed `__name__` removal and rejects duplicate label sets.
fn finish(v: Value) -> Result<Value, EvalError> {
    match v {
        Value::Vector(samples) => {
            let samples = drop_names(samples);
            check_unique(&samples)?;
            Ok(Value::Vector(samples))
        }
        Value::Matrix(series) => {
            let series: Vec<RangeSeries> = series
                .into_iter()
                .map(|mut s| {
                    if s.drop_name {
                        s.labels = without_name(&s.labels).into();
                        s.drop_name = false;
                    }
                    s
                })
                .collect();
            let mut seen = std::collections::HashSet::new();
            for s in &series {
                if !seen.insert(&s.labels) {
                    return Err(EvalError::Eval(
                        "vector cannot contain metrics with the same labelset".into(),
                    ));
                }
            }
            Ok(Value::Matrix(series))
        }
        other => Ok(other),
    }
}

pub(super) fn drop_names(samples: Vec<Sample>) -> Vec<Sample> {
    samples
        .into_iter()
        .map(|mut s| {
            if s.drop_name {
                s.labels = without_name(&s.labels).into();
                s.drop_name = false;
            }
            s
        })
        .collect()
}

pub(super) fn check_unique(samples: &[Sample]) -> Result<(), EvalError> {
    let mut seen = std::collections::HashSet::new();
    for s in samples {
        let key: Vec<&(String, String)> = s
            .labels
            .iter()
            .filter(|(k, _)| !(s.drop_name && k == "__name__"))
            .collect();
        if !seen.insert(key) {
            return Err(EvalError::Eval(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
    }
    Ok(())
}

/// Evaluates one parsed expression over preloaded selector data.
pub(super) struct Evaluator {
    pub(super) opts: Options,
    /// The query's first and last evaluation times (`@ start()`, `@ end()`).
    pub(super) start: i64,
    pub(super) end: i64,
    /// Each selector's series, by the selector's address in the AST.
    data: HashMap<usize, Vec<RangeSeries>>,
    /// Warnings and infos, each once.
    annotations: std::cell::RefCell<Vec<Annotation>>,
    /// Per range selector: the last evaluation time and, per series, where its window
    /// started. Steps move forward, so the next window is found by walking on from there
    /// (sequential memory) rather than by a binary search per series and step.
    cursors: std::cell::RefCell<HashMap<usize, (i64, Vec<usize>)>>,
}

impl Evaluator {
    fn new(
        e: &Expr,
        storage: &dyn Storage,
        start: i64,
        end: i64,
        opts: &Options,
    ) -> Result<Evaluator, EvalError> {
        let mut ev = Evaluator {
            opts: *opts,
            start,
            end,
            data: HashMap::new(),
            annotations: Default::default(),
            cursors: Default::default(),
        };
        let mut windows: HashMap<usize, (i64, i64, &VectorSelector)> = HashMap::new();
        ev.windows(e, start, end, &mut windows)?;
        for (key, (lo, hi, vs)) in windows {
            let matchers = selector_matchers(vs);
            let series = storage
                .select(&matchers, lo, hi)
                .map_err(EvalError::Storage)?;
            ev.data.insert(key, series);
        }
        Ok(ev)
    }

    /// Records a warning or info (once).
    pub(super) fn annotate(&self, a: Annotation) {
        let mut v = self.annotations.borrow_mut();
        if !v.contains(&a) {
            v.push(a);
        }
    }

    /// The time each selector is read at, from evaluation time `t`.
    pub(super) fn selector_time(
        &self,
        t: i64,
        at: &Option<AtModifier>,
        offset: &Option<Offset>,
    ) -> i64 {
        let base = match at {
            None => t,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(st)) => system_ms(*st),
        };
        base - offset_ms(offset)
    }

    /// Records, for every selector under `e` evaluated at times in `[lo, hi]`, the sample
    /// window it reads.
    fn windows<'e>(
        &self,
        e: &'e Expr,
        lo: i64,
        hi: i64,
        out: &mut HashMap<usize, (i64, i64, &'e VectorSelector)>,
    ) -> Result<(), EvalError> {
        let mut put = |vs: &'e VectorSelector, a: i64, b: i64| {
            let key = vs as *const VectorSelector as usize;
            let w = out.entry(key).or_insert((a, b, vs));
            w.0 = w.0.min(a);
            w.1 = w.1.max(b);
        };
        match e {
            Expr::VectorSelector(vs) => {
                if !vs.matchers.or_matchers.is_empty() {
                    return Err(EvalError::Unsupported(
                        "the experimental `or` in label matchers".into(),
                    ));
                }
                let (a, b) = self.shifted(lo, hi, &vs.at, &vs.offset);
                put(vs, a - self.opts.lookback_ms, b);
            }
            Expr::MatrixSelector(ms) => {
                let (a, b) = self.shifted(lo, hi, &ms.vs.at, &ms.vs.offset);
                put(&ms.vs, a - ms.range.as_millis() as i64, b);
            }
            Expr::Subquery(sq) => {
                let (a, b) = self.shifted(lo, hi, &sq.at, &sq.offset);
                self.windows(&sq.expr, a - sq.range.as_millis() as i64, b, out)?;
            }
            Expr::Aggregate(a) => {
                self.windows(&a.expr, lo, hi, out)?;
                if let Some(p) = &a.param {
                    self.windows(p, lo, hi, out)?;
                }
            }
            Expr::Unary(u) => self.windows(&u.expr, lo, hi, out)?,
            Expr::Binary(b) => {
                self.windows(&b.lhs, lo, hi, out)?;
                self.windows(&b.rhs, lo, hi, out)?;
            }
            Expr::Paren(p) => self.windows(&p.expr, lo, hi, out)?,
            Expr::Call(c) => {
                for a in &c.args.args {
                    self.windows(a, lo, hi, out)?;
                }
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
            Expr::Extension(_) => {
                return Err(EvalError::Unsupported("an extension expression".into()));
            }
        }
        Ok(())
    }

    fn shifted(
        &self,
        lo: i64,
        hi: i64,
        at: &Option<AtModifier>,
        offset: &Option<Offset>,
    ) -> (i64, i64) {
        let a = self.selector_time(lo, at, offset);
        let b = self.selector_time(hi, at, offset);
        (a.min(b), a.max(b))
    }

    /// Evaluates `e` at `t`.
    pub(super) fn eval(&self, e: &Expr, t: i64) -> Result<Value, EvalError> {
        match e {
            Expr::NumberLiteral(n) => Ok(Value::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(Value::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, t),
            Expr::Unary(u) => match self.eval(&u.expr, t)? {
                Value::Scalar(v) => Ok(Value::Scalar(-v)),
                Value::Vector(v) => Ok(Value::Vector(
                    v.into_iter()
                        .map(|mut s| {
                            s.value = -s.value;
                            s.drop_name = true;
                            s.ts = None;
                            s
                        })
                        .collect(),
                )),
                other => Err(EvalError::Eval(format!("unary minus on {}", other.kind()))),
            },
            Expr::VectorSelector(vs) => Ok(Value::Vector(self.instant_selector(vs, t))),
            Expr::MatrixSelector(ms) => {
                let at = self.selector_time(t, &ms.vs.at, &ms.vs.offset);
                Ok(Value::Matrix(self.range_selector(
                    &ms.vs,
                    at,
                    ms.range.as_millis() as i64,
                )))
            }
            Expr::Subquery(sq) => {
                let at = self.selector_time(t, &sq.at, &sq.offset);
                let step = sq
                    .step
                    .map(|s| s.as_millis() as i64)
                    .filter(|s| *s > 0)
                    .unwrap_or(self.opts.default_subquery_step_ms);
                let from = at - sq.range.as_millis() as i64;
                let mut ts = from.div_euclid(step) * step;
                if ts <= from {
                    ts += step;
                }
                let mut by: HashMap<SharedLabels, (Vec<(i64, f64)>, bool)> = HashMap::new();
                let mut order: Vec<SharedLabels> = Vec::new();
                while ts <= at {
                    match self.eval(&sq.expr, ts)? {
                        Value::Scalar(v) => {
                            let e = by.entry(SharedLabels::default()).or_insert_with(|| {
                                order.push(SharedLabels::default());
                                (Vec::new(), false)
                            });
                            e.0.push((ts, v));
                        }
                        Value::Vector(samples) => {
                            for s in samples {
                                let key = s.labels.clone();
                                let e = by.entry(s.labels).or_insert_with(|| {
                                    order.push(key);
                                    (Vec::new(), false)
                                });
                                e.0.push((ts, s.value));
                                e.1 |= s.drop_name;
                            }
                        }
                        other => {
                            return Err(EvalError::Eval(format!("subquery over {}", other.kind())));
                        }
                    }
                    ts += step;
                }
                Ok(Value::Matrix(
                    order
                        .into_iter()
                        .filter_map(|l| {
                            by.remove(&l).map(|(points, drop_name)| RangeSeries {
                                labels: l,
                                points,
                                drop_name,
                            })
                        })
                        .collect(),
                ))
            }
            Expr::Call(c) => super::functions::call(self, c, t),
            Expr::Aggregate(a) => super::aggregate::eval(self, a, t),
            Expr::Binary(b) => super::binary::eval(self, b, t),
            Expr::Extension(_) => Err(EvalError::Unsupported("an extension expression".into())),
        }
    }

    /// The latest sample of each series within the lookback window before `t`.
    pub(super) fn instant_selector(&self, vs: &VectorSelector, t: i64) -> Vec<Sample> {
        let at = self.selector_time(t, &vs.at, &vs.offset);
        let key = vs as *const VectorSelector as usize;
        let mut out = Vec::new();
        for s in self.data.get(&key).into_iter().flatten() {
            let i = s.points.partition_point(|p| p.0 <= at);
            if i == 0 {
                continue;
            }
            let (pt, v) = s.points[i - 1];
            if pt <= at - self.opts.lookback_ms || is_stale(v) {
                continue;
            }
            out.push(Sample {
                labels: s.labels.clone(),
                value: v,
                ts: Some(pt),
                drop_name: false,
            });
        }
        out
    }

    /// Calls `f` with each series' samples in `(at - range, at]` (without staleness markers),
    /// borrowing them where it can: the hot path of `rate()` and friends.
    pub(super) fn for_each_range(
        &self,
        vs: &VectorSelector,
        at: i64,
        range: i64,
        mut f: impl FnMut(&SharedLabels, &[(i64, f64)]),
    ) {
        let key = vs as *const VectorSelector as usize;
        let mut buf: Vec<(i64, f64)> = Vec::new();
        let Some(data) = self.data.get(&key) else {
            return;
        };
        let mut cursors = self.cursors.borrow_mut();
        let (last_at, starts) = cursors.entry(key).or_insert((i64::MIN, Vec::new()));
        let forward = at >= *last_at && starts.len() == data.len();
        if !forward {
            starts.clear();
            starts.resize(data.len(), 0);
        }
        *last_at = at;
        for (i, s) in data.iter().enumerate() {
            let pts = &s.points;
            let from = at - range;
            let a = if forward {
                let mut a = starts[i];
                while a < pts.len() && pts[a].0 <= from {
                    a += 1;
                }
                a
            } else {
                pts.partition_point(|p| p.0 <= from)
            };
            starts[i] = a;
            let mut b = a;
            while b < pts.len() && pts[b].0 <= at {
                b += 1;
            }
            let slice = &s.points[a..b];
            if slice.iter().any(|p| is_stale(p.1)) {
                buf.clear();
                buf.extend(slice.iter().copied().filter(|p| !is_stale(p.1)));
                if !buf.is_empty() {
                    f(&s.labels, &buf);
                }
            } else if !slice.is_empty() {
                f(&s.labels, slice);
            }
        }
    }

    /// The samples of each series in `(at - range, at]`, without staleness markers.
    pub(super) fn range_selector(
        &self,
        vs: &VectorSelector,
        at: i64,
        range: i64,
    ) -> Vec<RangeSeries> {
        let key = vs as *const VectorSelector as usize;
        let mut out = Vec::new();
        for s in self.data.get(&key).into_iter().flatten() {
            let a = s.points.partition_point(|p| p.0 <= at - range);
            let b = s.points.partition_point(|p| p.0 <= at);
            let points: Vec<(i64, f64)> = s.points[a..b]
                .iter()
                .copied()
                .filter(|p| !is_stale(p.1))
                .collect();
            if !points.is_empty() {
                out.push(RangeSeries {
                    labels: s.labels.clone(),
                    points,
                    drop_name: false,
                });
            }
        }
        out
    }
}

/// The selector's matchers, with its metric name as a `__name__` matcher.
fn selector_matchers(vs: &VectorSelector) -> Vec<Matcher> {
    let mut m: Vec<Matcher> = vs.matchers.matchers.clone();
    if let Some(name) = &vs.name {
        if !m.iter().any(|x| x.name == "__name__") {
            m.push(Matcher::new(MatchOp::Equal, "__name__", name));
        }
    }
    m
}

fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
    }
}

fn system_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}
