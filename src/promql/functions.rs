//! PromQL functions, with Prometheus' numerics (Kahan sums, rate extrapolation, linear
//! regression).

use promql_parser::label::MatchOp;
use promql_parser::parser::{Call, Expr, VectorSelector};

use super::EvalError;
use super::eval::Evaluator;
use super::value::{Annotation, Labels, RangeSeries, Sample, Value, get, set};

/// The warning Prometheus gives for a quantile outside [0, 1].
pub(super) fn check_quantile(ev: &Evaluator, q: f64) {
    if !(0.0..=1.0).contains(&q) {
        ev.annotate(Annotation::Warning(format!(
            "PromQL warning: quantile value should be between 0 and 1, got {q}"
        )));
    }
}

/// Evaluates a function call at `t`.
pub(super) fn call(ev: &Evaluator, c: &Call, t: i64) -> Result<Value, EvalError> {
    let name = c.func.name;
    let args = &c.args.args;
    if c.func.experimental && name != "first_over_time" {
        return Err(EvalError::Unsupported(format!(
            "the experimental function {name}()"
        )));
    }
    match name {
        "time" => Ok(Value::Scalar(t as f64 / 1000.0)),
        "pi" => Ok(Value::Scalar(std::f64::consts::PI)),
        "vector" => {
            let v = scalar_arg(ev, args, 0, t)?;
            Ok(Value::Vector(vec![Sample::new(Vec::new(), v)]))
        }
        "scalar" => {
            let v = vector_arg(ev, args, 0, t)?;
            Ok(Value::Scalar(if v.len() == 1 {
                v[0].value
            } else {
                f64::NAN
            }))
        }
        "rate" | "increase" | "delta" | "irate" | "idelta" | "changes" | "resets" | "deriv"
        | "avg_over_time" | "sum_over_time" | "count_over_time" | "min_over_time"
        | "max_over_time" | "stddev_over_time" | "stdvar_over_time" | "last_over_time"
        | "present_over_time" | "first_over_time" => {
            let keep_name = name == "last_over_time" || name == "first_over_time";
            if let Expr::MatrixSelector(ms) = unwrap_parens(arg(args, 0)?) {
                // Straight from the selector's samples, without copying them per step.
                let at = ev.selector_time(t, &ms.vs.at, &ms.vs.offset);
                let range = ms.range.as_millis() as i64;
                let mut out = Vec::new();
                ev.for_each_range(&ms.vs, at, range, |labels, points| {
                    if let Some(v) = over_time(name, points, at, range) {
                        out.push(Sample {
                            labels: labels.clone(),
                            value: v,
                            ts: None,
                            drop_name: !keep_name,
                        });
                    }
                });
                return Ok(Value::Vector(out));
            }
            let (series, at, range) = matrix_arg(ev, args, 0, t)?;
            let mut out = Vec::new();
            for s in series {
                if let Some(v) = over_time(name, &s.points, at, range) {
                    out.push(Sample {
                        labels: s.labels,
                        value: v,
                        ts: None,
                        drop_name: s.drop_name || !keep_name,
                    });
                }
            }
            Ok(Value::Vector(out))
        }
        "quantile_over_time" => {
            let q = scalar_arg(ev, args, 0, t)?;
            check_quantile(ev, q);
            let (series, _, _) = matrix_arg(ev, args, 1, t)?;
            Ok(Value::Vector(
                series
                    .into_iter()
                    .map(|s| {
                        let mut vals: Vec<f64> = s.points.iter().map(|p| p.1).collect();
                        Sample {
                            labels: s.labels,
                            value: quantile(q, &mut vals),
                            ts: None,
                            drop_name: true,
                        }
                    })
                    .collect(),
            ))
        }
        "predict_linear" => {
            let (series, _, _) = matrix_arg(ev, args, 0, t)?;
            let d = scalar_arg(ev, args, 1, t)?;
            Ok(Value::Vector(
                series
                    .into_iter()
                    .filter(|s| s.points.len() >= 2)
                    .map(|s| {
                        let (slope, intercept) = linear_regression(&s.points, t);
                        Sample {
                            labels: s.labels,
                            value: slope * d + intercept,
                            ts: None,
                            drop_name: true,
                        }
                    })
                    .collect(),
            ))
        }
        "absent" => {
            let v = vector_arg(ev, args, 0, t)?;
            if !v.is_empty() {
                return Ok(Value::Vector(Vec::new()));
            }
            let labels = match args.first().map(|a| unwrap_parens(a)) {
                Some(Expr::VectorSelector(vs)) => absent_labels(vs),
                _ => Vec::new(),
            };
            Ok(Value::Vector(vec![Sample::new(labels, 1.0)]))
        }
        "absent_over_time" => {
            let (series, _, _) = matrix_arg(ev, args, 0, t)?;
            if !series.is_empty() {
                return Ok(Value::Vector(Vec::new()));
            }
            let labels = match args.first().map(|a| unwrap_parens(a)) {
                Some(Expr::MatrixSelector(ms)) => absent_labels(&ms.vs),
                _ => Vec::new(),
            };
            Ok(Value::Vector(vec![Sample::new(labels, 1.0)]))
        }
        "timestamp" => {
            let v = vector_arg(ev, args, 0, t)?;
            Ok(Value::Vector(
                v.into_iter()
                    .map(|s| Sample {
                        value: s.ts.unwrap_or(t) as f64 / 1000.0,
                        labels: s.labels,
                        ts: None,
                        drop_name: true,
                    })
                    .collect(),
            ))
        }
        "abs" | "ceil" | "floor" | "exp" | "sqrt" | "ln" | "log2" | "log10" | "sgn" | "acos"
        | "acosh" | "asin" | "asinh" | "atan" | "atanh" | "cos" | "cosh" | "sin" | "sinh"
        | "tan" | "tanh" | "deg" | "rad" => {
            let f = math_fn(name);
            let v = vector_arg(ev, args, 0, t)?;
            Ok(Value::Vector(map_values(v, f)))
        }
        "round" => {
            let v = vector_arg(ev, args, 0, t)?;
            let to = if args.len() > 1 {
                scalar_arg(ev, args, 1, t)?
            } else {
                1.0
            };
            let inv = 1.0 / to;
            Ok(Value::Vector(map_values(v, |x| {
                (x * inv + 0.5).floor() / inv
            })))
        }
        "clamp" => {
            let v = vector_arg(ev, args, 0, t)?;
            let (lo, hi) = (scalar_arg(ev, args, 1, t)?, scalar_arg(ev, args, 2, t)?);
            if hi < lo {
                return Ok(Value::Vector(Vec::new()));
            }
            Ok(Value::Vector(map_values(v, |x| x.max(lo).min(hi))))
        }
        "clamp_min" => {
            let v = vector_arg(ev, args, 0, t)?;
            let lo = scalar_arg(ev, args, 1, t)?;
            Ok(Value::Vector(map_values(v, |x| x.max(lo))))
        }
        "clamp_max" => {
            let v = vector_arg(ev, args, 0, t)?;
            let hi = scalar_arg(ev, args, 1, t)?;
            Ok(Value::Vector(map_values(v, |x| x.min(hi))))
        }
        "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month" | "hour" | "minute"
        | "month" | "year" => {
            let v = if args.is_empty() {
                vec![Sample::new(Vec::new(), t as f64 / 1000.0)]
            } else {
                vector_arg(ev, args, 0, t)?
            };
            Ok(Value::Vector(map_values(v, |x| date_part(name, x))))
        }
        "sort" | "sort_desc" => {
            let mut v = vector_arg(ev, args, 0, t)?;
            let desc = name == "sort_desc";
            v.sort_by(|a, b| {
                use std::cmp::Ordering;
                match (a.value.is_nan(), b.value.is_nan()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    _ if desc => b.value.total_cmp(&a.value),
                    _ => a.value.total_cmp(&b.value),
                }
            });
            Ok(Value::Vector(v))
        }
        "label_replace" => {
            let v = vector_arg(ev, args, 0, t)?;
            let dst = string_arg(ev, args, 1, t)?;
            let repl = string_arg(ev, args, 2, t)?;
            let src = string_arg(ev, args, 3, t)?;
            let re_text = string_arg(ev, args, 4, t)?;
            let re = regex::Regex::new(&format!("^(?s:{re_text})$")).map_err(|e| {
                EvalError::Eval(format!(
                    "invalid regular expression in label_replace(): {re_text}: {e}"
                ))
            })?;
            if !valid_label_name(&dst) {
                return Err(EvalError::Eval(format!(
                    "invalid destination label name in label_replace(): {dst}"
                )));
            }
            let mut out = Vec::with_capacity(v.len());
            for mut s in v {
                let value = get(&s.labels, &src).to_string();
                if let Some(caps) = re.captures(&value) {
                    let mut res = String::new();
                    caps.expand(&repl, &mut res);
                    set(std::sync::Arc::make_mut(&mut s.labels), &dst, &res);
                    if dst == "__name__" {
                        s.drop_name = false;
                    }
                }
                s.ts = None;
                out.push(s);
            }
            Ok(Value::Vector(out))
        }
        "label_join" => {
            let v = vector_arg(ev, args, 0, t)?;
            let dst = string_arg(ev, args, 1, t)?;
            let sep = string_arg(ev, args, 2, t)?;
            let mut srcs = Vec::new();
            for i in 3..args.len() {
                let s = string_arg(ev, args, i, t)?;
                if !valid_label_name(&s) {
                    return Err(EvalError::Eval(format!(
                        "invalid source label name in label_join(): {s}"
                    )));
                }
                srcs.push(s);
            }
            if !valid_label_name(&dst) {
                return Err(EvalError::Eval(format!(
                    "invalid destination label name in label_join(): {dst}"
                )));
            }
            Ok(Value::Vector(
                v.into_iter()
                    .map(|mut s| {
                        let joined: Vec<&str> = srcs.iter().map(|l| get(&s.labels, l)).collect();
                        let joined = joined.join(&sep);
                        set(std::sync::Arc::make_mut(&mut s.labels), &dst, &joined);
                        if dst == "__name__" {
                            s.drop_name = false;
                        }
                        s.ts = None;
                        s
                    })
                    .collect(),
            ))
        }
        "histogram_quantile" => {
            let q = scalar_arg(ev, args, 0, t)?;
            check_quantile(ev, q);
            let v = vector_arg(ev, args, 1, t)?;
            Ok(Value::Vector(super::histogram::quantile(ev, q, v)))
        }
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_fraction"
        | "histogram_stddev" | "histogram_stdvar" => Err(EvalError::Unsupported(format!(
            "{name}() (native histograms)"
        ))),
        other => Err(EvalError::Unsupported(format!("the function {other}()"))),
    }
}

fn unwrap_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unwrap_parens(&p.expr),
        other => other,
    }
}

fn arg(args: &[Box<Expr>], i: usize) -> Result<&Expr, EvalError> {
    args.get(i)
        .map(|b| b.as_ref())
        .ok_or_else(|| EvalError::Eval(format!("missing argument {}", i + 1)))
}

fn scalar_arg(ev: &Evaluator, args: &[Box<Expr>], i: usize, t: i64) -> Result<f64, EvalError> {
    match ev.eval(arg(args, i)?, t)? {
        Value::Scalar(v) => Ok(v),
        other => Err(EvalError::Eval(format!(
            "expected a scalar argument, got {}",
            other.kind()
        ))),
    }
}

fn string_arg(ev: &Evaluator, args: &[Box<Expr>], i: usize, t: i64) -> Result<String, EvalError> {
    match ev.eval(arg(args, i)?, t)? {
        Value::String(s) => Ok(s),
        other => Err(EvalError::Eval(format!(
            "expected a string argument, got {}",
            other.kind()
        ))),
    }
}

pub(super) fn vector_arg(
    ev: &Evaluator,
    args: &[Box<Expr>],
    i: usize,
    t: i64,
) -> Result<Vec<Sample>, EvalError> {
    match ev.eval(arg(args, i)?, t)? {
        Value::Vector(v) => Ok(v),
        other => Err(EvalError::Eval(format!(
            "expected an instant vector argument, got {}",
            other.kind()
        ))),
    }
}

/// A range-vector argument with the time it was read at and its range (milliseconds).
fn matrix_arg(
    ev: &Evaluator,
    args: &[Box<Expr>],
    i: usize,
    t: i64,
) -> Result<(Vec<RangeSeries>, i64, i64), EvalError> {
    let e = unwrap_parens(arg(args, i)?);
    let (at, range) = match e {
        Expr::MatrixSelector(ms) => (
            ev.selector_time(t, &ms.vs.at, &ms.vs.offset),
            ms.range.as_millis() as i64,
        ),
        Expr::Subquery(sq) => (
            ev.selector_time(t, &sq.at, &sq.offset),
            sq.range.as_millis() as i64,
        ),
        _ => (t, 0),
    };
    match ev.eval(e, t)? {
        Value::Matrix(m) => Ok((m, at, range)),
        other => Err(EvalError::Eval(format!(
            "expected a range vector argument, got {}",
            other.kind()
        ))),
    }
}

fn map_values(v: Vec<Sample>, f: impl Fn(f64) -> f64) -> Vec<Sample> {
    v.into_iter()
        .map(|s| Sample {
            value: f(s.value),
            labels: s.labels,
            ts: None,
            drop_name: true,
        })
        .collect()
}

fn math_fn(name: &str) -> fn(f64) -> f64 {
    match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => |x: f64| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        },
        "acos" => f64::acos,
        "acosh" => f64::acosh,
        "asin" => f64::asin,
        "asinh" => f64::asinh,
        "atan" => f64::atan,
        "atanh" => f64::atanh,
        "cos" => f64::cos,
        "cosh" => f64::cosh,
        "sin" => f64::sin,
        "sinh" => f64::sinh,
        "tan" => f64::tan,
        "tanh" => f64::tanh,
        "deg" => |x: f64| x * 180.0 / std::f64::consts::PI,
        _ => |x: f64| x * std::f64::consts::PI / 180.0,
    }
}

/// The labels `absent()` reports: the selector's equality matchers, except a label named twice.
fn absent_labels(vs: &VectorSelector) -> Labels {
    let mut out: Labels = Vec::new();
    let named = |n: &str| vs.matchers.matchers.iter().filter(|m| m.name == n).count();
    for m in &vs.matchers.matchers {
        if m.name == "__name__" || !matches!(m.op, MatchOp::Equal) || named(&m.name) > 1 {
            continue;
        }
        set(&mut out, &m.name, &m.value);
    }
    out
}

fn valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The value of a range function over one series' points, `None` for no result.
fn over_time(name: &str, points: &[(i64, f64)], at: i64, range: i64) -> Option<f64> {
    if points.is_empty() {
        return None;
    }
    let n = points.len();
    match name {
        "rate" => extrapolated_rate(points, at, range, true, true),
        "increase" => extrapolated_rate(points, at, range, true, false),
        "delta" => extrapolated_rate(points, at, range, false, false),
        "irate" | "idelta" => {
            if n < 2 {
                return None;
            }
            let (t1, v1) = points[n - 2];
            let (t2, v2) = points[n - 1];
            let mut d = if name == "irate" && v2 < v1 {
                v2
            } else {
                v2 - v1
            };
            let interval = t2 - t1;
            if interval == 0 {
                return None;
            }
            if name == "irate" {
                d /= interval as f64 / 1000.0;
            }
            Some(d)
        }
        "changes" => Some(
            points
                .windows(2)
                .filter(|w| !(w[0].1 == w[1].1 || (w[0].1.is_nan() && w[1].1.is_nan())))
                .count() as f64,
        ),
        "resets" => Some(points.windows(2).filter(|w| w[1].1 < w[0].1).count() as f64),
        "deriv" => {
            if n < 2 {
                return None;
            }
            Some(linear_regression(points, points[0].0).0)
        }
        "avg_over_time" => Some(mean(points.iter().map(|p| p.1))),
        "sum_over_time" => {
            let (s, c) = points
                .iter()
                .fold((0.0, 0.0), |(s, c), p| kahan_inc(p.1, s, c));
            Some(s + c)
        }
        "count_over_time" => Some(n as f64),
        "min_over_time" => {
            Some(points.iter().fold(
                points[0].1,
                |m, p| {
                    if p.1 < m || m.is_nan() { p.1 } else { m }
                },
            ))
        }
        "max_over_time" => {
            Some(points.iter().fold(
                points[0].1,
                |m, p| {
                    if p.1 > m || m.is_nan() { p.1 } else { m }
                },
            ))
        }
        "stddev_over_time" => Some(variance(points.iter().map(|p| p.1)).sqrt()),
        "stdvar_over_time" => Some(variance(points.iter().map(|p| p.1))),
        "last_over_time" => Some(points[n - 1].1),
        "first_over_time" => Some(points[0].1),
        "present_over_time" => Some(1.0),
        _ => None,
    }
}

/// `rate`, `increase` and `delta`: the change over the samples, extrapolated towards the
/// window's edges as Prometheus does.
fn extrapolated_rate(
    points: &[(i64, f64)],
    at: i64,
    range: i64,
    counter: bool,
    rate: bool,
) -> Option<f64> {
    let n = points.len();
    if n < 2 {
        return None;
    }
    let (first_t, first_v) = points[0];
    let (last_t, last_v) = points[n - 1];
    let mut result = last_v - first_v;
    if counter {
        let mut prev = first_v;
        for p in &points[1..] {
            if p.1 < prev {
                result += prev;
            }
            prev = p.1;
        }
    }
    let range_start = at - range;
    let mut to_start = (first_t - range_start) as f64 / 1000.0;
    let mut to_end = (at - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let avg = sampled / (n - 1) as f64;
    let threshold = avg * 1.1;
    if to_start >= threshold {
        to_start = avg / 2.0;
    }
    if counter && result > 0.0 && first_v >= 0.0 {
        let to_zero = sampled * (first_v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if rate {
        factor /= range as f64 / 1000.0;
    }
    Some(result * factor)
}

/// Least squares over `(t, v)` with x in seconds from `intercept_t`: (slope, intercept).
pub(super) fn linear_regression(points: &[(i64, f64)], intercept_t: i64) -> (f64, f64) {
    let init = points[0].1;
    let constant = points.iter().all(|p| p.1 == init);
    if constant {
        if init.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init);
    }
    let (mut n, mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for &(t, v) in points {
        n += 1.0;
        let x = (t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

/// Kahan-Babuška (Neumaier) summation step: `(sum, compensation)`.
pub(super) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// The mean as Prometheus computes it: a Kahan sum, switching to an incremental mean when
/// the sum would overflow.
pub(super) fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut m, mut count, mut c) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let mut incremental = false;
    for f in values {
        count += 1.0;
        if !incremental {
            let (ns, nc) = kahan_inc(f, sum, c);
            if count == 1.0 || !ns.is_infinite() {
                sum = ns;
                c = nc;
                continue;
            }
            incremental = true;
            m = sum / (count - 1.0);
            c /= count - 1.0;
        }
        if m.is_infinite() {
            if f.is_infinite() && (m > 0.0) == (f > 0.0) {
                continue;
            }
            if !f.is_infinite() && !f.is_nan() {
                continue;
            }
        }
        let q = (count - 1.0) / count;
        (m, c) = kahan_inc(f / count, q * m, q * c);
    }
    if incremental {
        m + c
    } else {
        sum / count + c / count
    }
}

/// Population variance (Welford with Kahan sums), as `stdvar_over_time`.
pub(super) fn variance(values: impl Iterator<Item = f64>) -> f64 {
    let (mut count, mut m, mut cm, mut aux, mut caux) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
    for f in values {
        count += 1.0;
        let delta = f - (m + cm);
        (m, cm) = kahan_inc(delta / count, m, cm);
        (aux, caux) = kahan_inc(delta * (f - (m + cm)), aux, caux);
    }
    (aux + caux) / count
}

/// The φ-quantile of `values` with linear interpolation (Prometheus' `quantile`).
pub(super) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    // Prometheus sorts NaN before every number.
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_nan()).collect();
    v.extend(values.iter().copied().filter(|x| !x.is_nan()));
    let n = v.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    v[lower as usize] * (1.0 - weight) + v[upper as usize] * weight
}

/// Calendar parts of a Unix time (seconds), in UTC.
fn date_part(name: &str, secs: f64) -> f64 {
    if secs.is_nan() || secs.is_infinite() {
        return f64::NAN;
    }
    let s = secs.floor() as i64;
    let days = s.div_euclid(86_400);
    let sod = s.rem_euclid(86_400);
    let (y, m, d) = crate::clock::civil_from_days(days);
    let (m, d) = (i64::from(m), i64::from(d));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    match name {
        "day_of_month" => d as f64,
        "day_of_week" => (days + 4).rem_euclid(7) as f64,
        "day_of_year" => (month_days[..(m - 1) as usize].iter().sum::<i64>() + d) as f64,
        "days_in_month" => month_days[(m - 1) as usize] as f64,
        "hour" => (sod / 3600) as f64,
        "minute" => (sod % 3600 / 60) as f64,
        "month" => m as f64,
        _ => y as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_part("year", 0.0), 1970.0);
        assert_eq!(date_part("day_of_week", 0.0), 4.0);
        // 2024-02-29T13:45:00Z
        let t = 1_709_214_300.0;
        assert_eq!(date_part("month", t), 2.0);
        assert_eq!(date_part("day_of_month", t), 29.0);
        assert_eq!(date_part("days_in_month", t), 29.0);
        assert_eq!(date_part("day_of_year", t), 60.0);
        assert_eq!(date_part("hour", t), 13.0);
        assert_eq!(date_part("minute", t), 45.0);
    }

    #[test]
    fn rate_extrapolates_like_prometheus() {
        // A counter scraped every 10 s, 0..=60 over the last minute ending at 60 s.
        let pts: Vec<(i64, f64)> = (0..=6).map(|i| (i * 10_000, i as f64 * 10.0)).collect();
        let r = extrapolated_rate(&pts[1..], 60_000, 60_000, true, true).unwrap();
        assert!((r - 1.0).abs() < 1e-9, "{r}");
    }
}
