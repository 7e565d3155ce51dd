//! `histogram_quantile` over classic histograms: `le`-labelled cumulative bucket counters.

use std::collections::HashMap;

use super::eval::Evaluator;
use super::value::{Annotation, Labels, Sample, format_labels};

/// One quantile per histogram (the series grouped by their labels without `le`).
pub(super) fn quantile(ev: &Evaluator, q: f64, v: Vec<Sample>) -> Vec<Sample> {
    let mut groups: HashMap<Labels, Vec<(f64, f64)>> = HashMap::new();
    let mut order: Vec<Labels> = Vec::new();
    for s in v {
        let Some(le) = s
            .labels
            .iter()
            .find(|(k, _)| k == "le")
            .and_then(|(_, v)| parse_le(v))
        else {
            ev.annotate(Annotation::Warning(format!(
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of {:?} for metric name {:?}",
                s.labels.iter().find(|(k, _)| k == "le").map_or("", |(_, v)| v.as_str()),
                s.labels.iter().find(|(k, _)| k == "__name__").map_or("", |(_, v)| v.as_str())
            )));
            continue;
        };
        let key: Labels = s
            .labels
            .iter()
            .filter(|(k, _)| k != "le")
            .cloned()
            .collect();
        groups
            .entry(key.clone())
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push((le, s.value));
    }
    order
        .into_iter()
        .filter_map(|k| {
            let buckets = groups.remove(&k)?;
            let (value, forced) = bucket_quantile(q, buckets);
            if forced {
                ev.annotate(Annotation::Info(format!(
                    "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {}",
                    format_labels(&k)
                )));
            }
            Some(Sample {
                labels: k.into(),
                value,
                ts: None,
                drop_name: true,
            })
        })
        .collect()
}

fn parse_le(s: &str) -> Option<f64> {
    match s.trim() {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

/// Prometheus' `BucketQuantile`: sort, merge equal bounds, force monotonic counts, then
/// interpolate linearly inside the bucket holding the rank.
fn bucket_quantile(q: f64, mut buckets: Vec<(f64, f64)>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return (f64::NAN, false);
    }
    // Equal upper bounds add up.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for b in buckets {
        match merged.last_mut() {
            Some(last) if last.0 == b.0 => last.1 += b.1,
            _ => merged.push(b),
        }
    }
    let mut buckets = merged;
    // Monotonic, ignoring tiny floating point differences.
    let mut prev = buckets[0].1;
    let mut forced = false;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.1;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, 1e-12) {
            b.1 = prev;
            continue;
        }
        if curr < prev {
            b.1 = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    if buckets.len() < 2 {
        return (f64::NAN, forced);
    }
    let n = buckets.len();
    let observations = buckets[n - 1].1;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let b = buckets[..n - 1].partition_point(|x| x.1 < rank);
    if b == n - 1 {
        return (buckets[n - 2].0, forced);
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return (buckets[0].0, forced);
    }
    let (mut start, end, mut count) = (0.0, buckets[b].0, buckets[b].1);
    if b > 0 {
        start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    (start + (end - start) * (rank / count), forced)
}

fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    if a == b {
        return true;
    }
    let sum = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || sum < f64::MIN_POSITIVE {
        return (a - b).abs() < eps * f64::MIN_POSITIVE;
    }
    (a - b).abs() / sum.min(f64::MAX) < eps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_inside_the_bucket() {
        let b = vec![
            (0.1, 10.0),
            (0.5, 50.0),
            (1.0, 90.0),
            (f64::INFINITY, 100.0),
        ];
        assert!((bucket_quantile(0.5, b.clone()).0 - 0.5).abs() < 1e-9);
        assert_eq!(bucket_quantile(0.99, b.clone()).0, 1.0);
        assert!(bucket_quantile(0.5, vec![(0.1, 1.0)]).0.is_nan());
        assert_eq!(bucket_quantile(-1.0, b).0, f64::NEG_INFINITY);
        let non_monotonic = vec![(0.1, 10.0), (0.5, 5.0), (f64::INFINITY, 20.0)];
        assert!(bucket_quantile(0.5, non_monotonic).1);
    }
}
