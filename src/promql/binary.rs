//! Binary operators: arithmetic, comparisons (filtering or `bool`), set operators, and
//! vector matching with `on`/`ignoring` and `group_left`/`group_right`.

use std::collections::{HashMap, HashSet};

use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::EvalError;
use super::eval::Evaluator;
use super::value::{Labels, Sample, Value, format_labels, get, set};

/// Evaluates a binary expression at `t`.
pub(super) fn eval(ev: &Evaluator, b: &BinaryExpr, t: i64) -> Result<Value, EvalError> {
    let op = b.op.to_string();
    let modifier = b.modifier.as_ref();
    if let Some(m) = modifier {
        if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
            return Err(EvalError::Unsupported(
                "the experimental fill() modifier".into(),
            ));
        }
    }
    let return_bool = modifier.is_some_and(|m| m.return_bool);
    let lhs = ev.eval(&b.lhs, t)?;
    let rhs = ev.eval(&b.rhs, t)?;
    let comparison = is_comparison(&op);
    match (lhs, rhs) {
        (Value::Scalar(l), Value::Scalar(r)) => {
            let (v, keep) = apply(&op, l, r)?;
            Ok(Value::Scalar(if comparison {
                if keep { 1.0 } else { 0.0 }
            } else {
                v
            }))
        }
        (Value::Vector(l), Value::Scalar(r)) => vector_scalar(&op, l, r, false, return_bool),
        (Value::Scalar(l), Value::Vector(r)) => vector_scalar(&op, r, l, true, return_bool),
        (Value::Vector(l), Value::Vector(r)) => {
            let matching = modifier.and_then(|m| m.matching.as_ref());
            match &op[..] {
                "and" | "or" | "unless" => Ok(Value::Vector(set_op(&op, l, r, matching))),
                _ => {
                    let card = modifier
                        .map(|m| m.card.clone())
                        .unwrap_or(VectorMatchCardinality::OneToOne);
                    vector_vector(&op, l, r, matching, &card, return_bool).map(Value::Vector)
                }
            }
        }
        (l, r) => Err(EvalError::Eval(format!(
            "binary operator {op} between {} and {}",
            l.kind(),
            r.kind()
        ))),
    }
}

fn is_comparison(op: &str) -> bool {
    matches!(op, "==" | "!=" | ">" | "<" | ">=" | "<=")
}

fn drops_name(op: &str) -> bool {
    matches!(op, "+" | "-" | "*" | "/" | "%" | "^" | "atan2")
}

/// `(value, keep)`: arithmetic keeps always; comparisons return the left value and whether
/// the comparison holds.
fn apply(op: &str, l: f64, r: f64) -> Result<(f64, bool), EvalError> {
    Ok(match op {
        "+" => (l + r, true),
        "-" => (l - r, true),
        "*" => (l * r, true),
        "/" => (l / r, true),
        "%" => (l % r, true),
        "^" => (l.powf(r), true),
        "atan2" => (l.atan2(r), true),
        "==" => (l, l == r),
        "!=" => (l, l != r),
        ">" => (l, l > r),
        "<" => (l, l < r),
        ">=" => (l, l >= r),
        "<=" => (l, l <= r),
        other => return Err(EvalError::Unsupported(format!("the operator {other}"))),
    })
}

fn vector_scalar(
    op: &str,
    v: Vec<Sample>,
    scalar: f64,
    scalar_left: bool,
    return_bool: bool,
) -> Result<Value, EvalError> {
    let comparison = is_comparison(op);
    let mut out = Vec::with_capacity(v.len());
    for mut s in v {
        let (l, r) = if scalar_left {
            (scalar, s.value)
        } else {
            (s.value, scalar)
        };
        let (mut value, mut keep) = apply(op, l, r)?;
        if comparison && scalar_left {
            value = r;
        }
        if return_bool {
            value = if keep { 1.0 } else { 0.0 };
            keep = true;
        }
        if keep {
            s.value = value;
            s.ts = None;
            s.drop_name |= drops_name(op) || return_bool;
            out.push(s);
        }
    }
    Ok(Value::Vector(out))
}

/// The labels two samples are matched on.
fn signature(labels: &Labels, matching: Option<&LabelModifier>) -> Labels {
    match matching {
        Some(LabelModifier::Include(on)) => labels
            .iter()
            .filter(|(k, _)| on.labels.iter().any(|l| l == k))
            .cloned()
            .collect(),
        Some(LabelModifier::Exclude(ignoring)) => labels
            .iter()
            .filter(|(k, _)| k != "__name__" && !ignoring.labels.iter().any(|l| l == k))
            .cloned()
            .collect(),
        None => labels
            .iter()
            .filter(|(k, _)| k != "__name__")
            .cloned()
            .collect(),
    }
}

fn set_op(
    op: &str,
    l: Vec<Sample>,
    r: Vec<Sample>,
    matching: Option<&LabelModifier>,
) -> Vec<Sample> {
    let rsigs: HashSet<Labels> = r.iter().map(|s| signature(&s.labels, matching)).collect();
    match op {
        "and" => l
            .into_iter()
            .filter(|s| rsigs.contains(&signature(&s.labels, matching)))
            .collect(),
        "unless" => l
            .into_iter()
            .filter(|s| !rsigs.contains(&signature(&s.labels, matching)))
            .collect(),
        _ => {
            let lsigs: HashSet<Labels> = l.iter().map(|s| signature(&s.labels, matching)).collect();
            let mut out = l;
            out.extend(
                r.into_iter()
                    .filter(|s| !lsigs.contains(&signature(&s.labels, matching))),
            );
            out
        }
    }
}

fn vector_vector(
    op: &str,
    l: Vec<Sample>,
    r: Vec<Sample>,
    matching: Option<&LabelModifier>,
    card: &VectorMatchCardinality,
    return_bool: bool,
) -> Result<Vec<Sample>, EvalError> {
    let (include, swapped) = match card {
        VectorMatchCardinality::ManyToOne(ls) => (ls.labels.clone(), false),
        VectorMatchCardinality::OneToMany(ls) => (ls.labels.clone(), true),
        _ => (Vec::new(), false),
    };
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    // `many` is matched against `one` (the sides swap for group_right).
    let (many, one) = if swapped { (r, l) } else { (l, r) };
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for (i, s) in one.iter().enumerate() {
        let sig = signature(&s.labels, matching);
        if let Some(&j) = index.get(&sig) {
            let side = if swapped { "left" } else { "right" };
            return Err(EvalError::Eval(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                format_labels(&sig),
                format_labels(&one[j].labels),
                format_labels(&s.labels)
            )));
        }
        index.insert(sig, i);
    }
    if one_to_one {
        // A match group with two series on the many side is an error even when the
        // comparison would filter them away.
        let mut seen: HashSet<Labels> = HashSet::new();
        for s in &many {
            let sig = signature(&s.labels, matching);
            if index.contains_key(&sig) && !seen.insert(sig) {
                return Err(EvalError::Eval(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                ));
            }
        }
    }
    let mut matched: HashMap<Labels, HashSet<Labels>> = HashMap::new();
    let mut out = Vec::new();
    for s in many {
        let sig = signature(&s.labels, matching);
        let Some(&j) = index.get(&sig) else { continue };
        let o = &one[j];
        let (vl, vr) = if swapped {
            (o.value, s.value)
        } else {
            (s.value, o.value)
        };
        let (mut value, keep) = apply(op, vl, vr)?;
        if return_bool {
            value = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        let mut labels: Labels = s.labels.to_vec();
        if one_to_one {
            match matching {
                Some(LabelModifier::Include(on)) => {
                    labels.retain(|(k, _)| on.labels.iter().any(|x| x == k));
                }
                Some(LabelModifier::Exclude(ign)) => {
                    labels.retain(|(k, _)| !ign.labels.iter().any(|x| x == k));
                }
                None => {}
            }
        }
        for name in &include {
            let v = get(&o.labels, name).to_string();
            set(&mut labels, name, &v);
        }
        let entry = matched.entry(sig).or_default();
        if one_to_one {
            if !entry.is_empty() {
                return Err(EvalError::Eval(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                ));
            }
            entry.insert(Vec::new());
        } else if !entry.insert(labels.clone()) {
            return Err(EvalError::Eval(
                "multiple matches for labels: grouping labels must ensure unique matches".into(),
            ));
        }
        let drop_name = s.drop_name || drops_name(op) || return_bool;
        out.push(Sample {
            labels: labels.into(),
            value,
            ts: None,
            drop_name,
        });
    }
    Ok(out)
}
