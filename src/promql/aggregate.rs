//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, … with `by`/`without`).

use std::collections::HashMap;

use promql_parser::parser::{AggregateExpr, LabelModifier};

use super::EvalError;
use super::eval::Evaluator;
use super::functions::{kahan_inc, mean, quantile, variance};
use super::value::{Labels, Sample, Value};

/// Evaluates an aggregation at `t`.
pub(super) fn eval(ev: &Evaluator, a: &AggregateExpr, t: i64) -> Result<Value, EvalError> {
    let op = a.op.to_string();
    let param = match &a.param {
        Some(p) => Some(ev.eval(p, t)?),
        None => None,
    };
    let input = match ev.eval(&a.expr, t)? {
        Value::Vector(v) => v,
        other => {
            return Err(EvalError::Eval(format!(
                "{op} expects an instant vector, got {}",
                other.kind()
            )));
        }
    };
    let count_values_label = match (&op[..], &param) {
        ("count_values", Some(Value::String(l))) => {
            if !valid_label_name(l) {
                return Err(EvalError::Eval(format!("invalid label name {l:?}")));
            }
            Some(l.clone())
        }
        ("count_values", _) => {
            return Err(EvalError::Eval("count_values needs a label name".into()));
        }
        _ => None,
    };
    // Groups in first-seen order; a key is built once per group, found by a hash of the
    // borrowed label pairs (no allocation per sample beyond the small list of references).
    let mut keys: Vec<Labels> = Vec::new();
    let mut members: Vec<Vec<Sample>> = Vec::new();
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    for s in input {
        let g = {
            let cv = count_values_label
                .as_ref()
                .map(|l| (l.as_str(), crate::exposition::format_float(s.value)));
            let refs = key_refs(
                &s.labels,
                a.modifier.as_ref(),
                cv.as_ref().map(|(l, v)| (*l, v.as_str())),
            );
            let h = {
                use std::hash::{Hash, Hasher};
                let mut hasher = Fnv(0xcbf2_9ce4_8422_2325);
                refs.hash(&mut hasher);
                hasher.finish()
            };
            let slot = index.entry(h).or_default();
            match slot.iter().copied().find(|&g| {
                keys[g].len() == refs.len()
                    && keys[g]
                        .iter()
                        .zip(&refs)
                        .all(|((k, v), (rk, rv))| k == rk && v == rv)
            }) {
                Some(g) => g,
                None => {
                    keys.push(
                        refs.iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                    );
                    members.push(Vec::new());
                    slot.push(keys.len() - 1);
                    keys.len() - 1
                }
            }
        };
        members[g].push(s);
    }
    let scalar_param = |what: &str| -> Result<f64, EvalError> {
        match &param {
            Some(Value::Scalar(v)) => Ok(*v),
            _ => Err(EvalError::Eval(format!("{op} needs a scalar {what}"))),
        }
    };
    let mut out = Vec::new();
    match &op[..] {
        "topk" | "bottomk" => {
            let k = scalar_param("k")?;
            if k.is_nan() {
                return Err(EvalError::Eval("Parameter value is NaN".into()));
            }
            let k = if k >= 1.0 { k.min(1e9) as usize } else { 0 };
            for mut members in members {
                let top = op == "topk";
                members.sort_by(|x, y| {
                    use std::cmp::Ordering;
                    match (x.value.is_nan(), y.value.is_nan()) {
                        (true, true) => Ordering::Equal,
                        (true, false) => Ordering::Greater,
                        (false, true) => Ordering::Less,
                        _ if top => y.value.total_cmp(&x.value),
                        _ => x.value.total_cmp(&y.value),
                    }
                });
                out.extend(members.into_iter().take(k).map(|mut s| {
                    s.ts = None;
                    s
                }));
            }
            return Ok(Value::Vector(out));
        }
        "limitk" | "limit_ratio" => {
            return Err(EvalError::Unsupported(format!("the experimental {op}")));
        }
        _ => {}
    }
    let q = if op == "quantile" {
        let q = scalar_param("quantile")?;
        super::functions::check_quantile(ev, q);
        Some(q)
    } else {
        None
    };
    for (key, members) in keys.into_iter().zip(members) {
        let values = members.iter().map(|s| s.value);
        let v = match &op[..] {
            "sum" => {
                let (s, c) = values.fold((0.0, 0.0), |(s, c), v| kahan_inc(v, s, c));
                s + c
            }
            "avg" => mean(values),
            "count" | "count_values" => members.len() as f64,
            "group" => 1.0,
            "min" => members.iter().skip(1).fold(members[0].value, |m, s| {
                if s.value < m || m.is_nan() {
                    s.value
                } else {
                    m
                }
            }),
            "max" => members.iter().skip(1).fold(members[0].value, |m, s| {
                if s.value > m || m.is_nan() {
                    s.value
                } else {
                    m
                }
            }),
            "stddev" => variance(values).sqrt(),
            "stdvar" => variance(values),
            "quantile" => {
                let mut vals: Vec<f64> = values.collect();
                quantile(q.unwrap_or(f64::NAN), &mut vals)
            }
            other => return Err(EvalError::Unsupported(format!("the aggregation {other}"))),
        };
        let drop_name =
            key.iter().any(|(k, _)| k == "__name__") && members.iter().any(|s| s.drop_name);
        out.push(Sample {
            labels: key.into(),
            value: v,
            ts: None,
            drop_name,
        });
    }
    Ok(Value::Vector(out))
}

/// The label pairs a series is grouped under, borrowed, sorted by name. With
/// `by (__name__)` the name counts even when it is to be dropped later, as in Prometheus
/// (delayed name removal). `extra` is count_values' label.
fn key_refs<'a>(
    labels: &'a Labels,
    m: Option<&LabelModifier>,
    extra: Option<(&'a str, &'a str)>,
) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = match m {
        None => Vec::new(),
        Some(LabelModifier::Include(keep)) => labels
            .iter()
            .filter(|(k, _)| keep.labels.iter().any(|l| l == k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        Some(LabelModifier::Exclude(drop)) => labels
            .iter()
            .filter(|(k, _)| k != "__name__" && !drop.labels.iter().any(|l| l == k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
    };
    if let Some((l, v)) = extra {
        out.retain(|(k, _)| *k != l);
        if !v.is_empty() {
            out.push((l, v));
            out.sort_unstable();
        }
    }
    out
}

fn valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// FNV-1a: grouping keys are short label values, where SipHash's setup dominates.
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}
