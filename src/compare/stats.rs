//! The statistics `soy compare` rests on (pure): latency distributions as sparse
//! histograms, a moving-block bootstrap over per-second data for the change of any
//! statistic, Mann–Whitney U on binned data with ties, Newcombe's interval and the pooled
//! z-test for two proportions, and the normal distribution they need.

use hdrhistogram::Histogram;

use crate::analysis::dist::{normal_cdf, normal_quantile, t_quantile};
use crate::splitmix::SplitMix;

/// A latency distribution as `(value, count)` pairs in ascending value order (values are
/// the histogram buckets' highest equivalent values, as its quantiles report them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sparse(pub Vec<(u64, u64)>);

impl Sparse {
    pub fn from_hist(h: &Histogram<u64>) -> Sparse {
        Sparse(
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        )
    }

    pub fn count(&self) -> u64 {
        self.0.iter().map(|(_, c)| c).sum()
    }

    /// Pools several distributions.
    pub fn merged<'a>(parts: impl IntoIterator<Item = &'a Sparse>) -> Sparse {
        let mut all: Vec<(u64, u64)> = parts
            .into_iter()
            .flat_map(|s| s.0.iter().copied())
            .collect();
        all.sort_unstable_by_key(|(v, _)| *v);
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(all.len());
        for (v, c) in all {
            match out.last_mut() {
                Some((lv, lc)) if *lv == v => *lc += c,
                _ => out.push((v, c)),
            }
        }
        Sparse(out)
    }
}

/// The statistics of a latency distribution the comparison reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub mean: f64,
}

/// Quantiles by HdrHistogram's rule: the smallest value whose cumulative count reaches
/// `max(1, ceil(q·n))`; the mean of the bucket values. `values[i]` has `counts[i]`.
pub fn latency(values: &[u64], counts: &[u64]) -> Option<Latency> {
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return None;
    }
    let target = |q: f64| ((q * n as f64).ceil() as u64).max(1);
    let targets = [target(0.5), target(0.95), target(0.99)];
    let mut found = [0u64; 3];
    let mut k = 0;
    let mut cum = 0u64;
    let mut sum = 0f64;
    for (v, c) in values.iter().zip(counts) {
        if *c == 0 {
            continue;
        }
        cum += c;
        sum += *v as f64 * *c as f64;
        while k < 3 && cum >= targets[k] {
            found[k] = *v;
            k += 1;
        }
    }
    Some(Latency {
        p50: found[0] as f64,
        p95: found[1] as f64,
        p99: found[2] as f64,
        mean: sum / n as f64,
    })
}

/// Per-second data on one index of values shared by both runs, ready to resample.
#[derive(Debug, Clone)]
pub struct Seconds {
    /// Each second's distribution as `(index into values, count)`.
    pub hists: Vec<Vec<(u32, u64)>>,
}

/// The union of values of every second of both runs, and each run's seconds re-indexed.
pub fn index(runs: [&[Sparse]; 2]) -> (Vec<u64>, [Seconds; 2]) {
    let mut values: Vec<u64> = runs
        .iter()
        .flat_map(|r| r.iter().flat_map(|s| s.0.iter().map(|(v, _)| *v)))
        .collect();
    values.sort_unstable();
    values.dedup();
    let at = |v: u64| values.binary_search(&v).unwrap_or(0) as u32;
    let conv = |r: &[Sparse]| Seconds {
        hists: r
            .iter()
            .map(|s| s.0.iter().map(|(v, c)| (at(*v), *c)).collect())
            .collect(),
    };
    let out = [conv(runs[0]), conv(runs[1])];
    (values, out)
}

/// The seconds of a run as consecutive blocks for resampling: blocks of about √n seconds
/// (one second each below 8), the remainder joined to the last block. Whole blocks keep
/// neighbouring, correlated seconds together.
pub fn blocks(n: usize) -> Vec<std::ops::Range<usize>> {
    if n == 0 {
        return Vec::new();
    }
    let len = if n < 8 {
        1
    } else {
        ((n as f64).sqrt().round() as usize).max(1)
    };
    let k = (n / len).max(1);
    (0..k)
        .map(|i| i * len..if i + 1 == k { n } else { (i + 1) * len })
        .collect()
}

/// One resample: as many blocks as the run has, drawn with replacement; `out` gets their
/// seconds.
pub fn resample(blocks: &[std::ops::Range<usize>], rng: &mut SplitMix, out: &mut Vec<usize>) {
    out.clear();
    for _ in 0..blocks.len() {
        out.extend(blocks[rng.below(blocks.len())].clone());
    }
}

/// A percentile interval: the `alpha/2` and `1 − alpha/2` quantiles of `draws`.
pub fn percentile_interval(draws: &mut Vec<f64>, alpha: f64) -> Option<(f64, f64)> {
    draws.retain(|d| d.is_finite());
    if draws.len() < 20 {
        return None;
    }
    draws.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| {
        let pos = p * (draws.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        draws[lo] + (draws[hi] - draws[lo]) * (pos - lo as f64)
    };
    Some((at(alpha / 2.0), at(1.0 - alpha / 2.0)))
}

/// Block bootstrap of the relative change `f(new)/f(base) − 1` of a statistic of
/// per-second items. Each resample draws both runs' blocks independently; `f` gets the
/// drawn seconds of one run (`0` base, `1` new) and returns the statistic (`None` when the
/// resample has none). The percentile interval is then widened about the full-data change
/// `point` by `t(k−1)/z · √(k/(k−1))`, k the fewer blocks of the two runs: resampling k
/// blocks underestimates the variance by (k−1)/k and ignores that it is estimated from k
/// units, so without this a 95% interval from a 60 s run covers only about 85%
/// (the unit test measures the coverage).
pub fn bootstrap_change(
    n: [usize; 2],
    point: f64,
    resamples: usize,
    seed: u64,
    alpha: f64,
    mut f: impl FnMut(usize, &[usize]) -> Option<f64>,
) -> Option<(f64, f64)> {
    bootstrap_changes(n, &[point], resamples, seed, alpha, |run, idx| {
        f(run, idx).map(|v| vec![v])
    })
    .pop()
    .flatten()
}

/// `bootstrap_change` for several statistics of the same resamples at once: `f` returns
/// one value per entry of `points`.
pub fn bootstrap_changes(
    n: [usize; 2],
    points: &[f64],
    resamples: usize,
    seed: u64,
    alpha: f64,
    mut f: impl FnMut(usize, &[usize]) -> Option<Vec<f64>>,
) -> Vec<Option<(f64, f64)>> {
    let mut rng = SplitMix(seed);
    let b = [blocks(n[0]), blocks(n[1])];
    let k = b[0].len().min(b[1].len());
    if k < 2 {
        return vec![None; points.len()];
    }
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut draws: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); points.len()];
    for _ in 0..resamples {
        resample(&b[0], &mut rng, &mut x);
        resample(&b[1], &mut rng, &mut y);
        let (Some(base), Some(new)) = (f(0, &x), f(1, &y)) else {
            continue;
        };
        for ((d, b), n) in draws.iter_mut().zip(&base).zip(&new) {
            if *b != 0.0 {
                d.push(n / b - 1.0);
            }
        }
    }
    let z = normal_quantile(1.0 - alpha / 2.0);
    let kf = k as f64;
    let c = t_quantile(1.0 - alpha / 2.0, kf - 1.0) / z * (kf / (kf - 1.0)).sqrt();
    draws
        .iter_mut()
        .zip(points)
        .map(|(d, point)| {
            let (lo, hi) = percentile_interval(d, alpha)?;
            Some((
                point - (point - lo).max(0.0) * c,
                point + (hi - point).max(0.0) * c,
            ))
        })
        .collect()
}

/// Mann–Whitney U of two binned samples (equal values are ties, counted half).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of the second sample: pairs where it is larger, ties counted half.
    pub u: f64,
    /// Two-sided p-value, normal approximation with the tie correction (and continuity).
    pub p: f64,
    /// Probability that a value of the second sample exceeds one of the first (ties half):
    /// 0.5 is no shift.
    pub prob_greater: f64,
    /// Rank-biserial correlation, `2·prob_greater − 1` (−1 … 1).
    pub rank_biserial: f64,
}

pub fn mann_whitney(a: &Sparse, b: &Sparse) -> Option<MannWhitney> {
    let (n1, n2) = (a.count() as f64, b.count() as f64);
    if n1 == 0.0 || n2 == 0.0 {
        return None;
    }
    // Walk both in value order: U_b = Σ c_b(v)·(A below v + ½ A at v).
    let (mut i, mut j) = (0, 0);
    let (mut below_a, mut u, mut ties) = (0f64, 0f64, 0f64);
    while i < a.0.len() || j < b.0.len() {
        let va = a.0.get(i).map_or(u64::MAX, |x| x.0);
        let vb = b.0.get(j).map_or(u64::MAX, |x| x.0);
        let v = va.min(vb);
        let ca = if va == v { a.0[i].1 as f64 } else { 0.0 };
        let cb = if vb == v { b.0[j].1 as f64 } else { 0.0 };
        u += cb * (below_a + ca / 2.0);
        let t = ca + cb;
        ties += t * t * t - t;
        below_a += ca;
        if va == v {
            i += 1;
        }
        if vb == v {
            j += 1;
        }
    }
    let n = n1 + n2;
    let mean = n1 * n2 / 2.0;
    let var = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)).max(1.0));
    let p = if var <= 0.0 {
        1.0
    } else {
        let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
        (2.0 * (1.0 - normal_cdf(z))).clamp(0.0, 1.0)
    };
    let prob_greater = u / (n1 * n2);
    Some(MannWhitney {
        u,
        p,
        prob_greater,
        rank_biserial: 2.0 * prob_greater - 1.0,
    })
}

/// Two proportions `x1/n1` (base) and `x2/n2` (new): the difference `p2 − p1`, Newcombe's
/// hybrid score interval for it (method 10, from Wilson intervals: sound at 0 failures),
/// and the two-sided p-value of the pooled z-test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoProportions {
    pub diff: f64,
    pub low: f64,
    pub high: f64,
    pub p: f64,
}

pub fn two_proportions(x1: u64, n1: u64, x2: u64, n2: u64, alpha: f64) -> Option<TwoProportions> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let z = normal_quantile(1.0 - alpha / 2.0);
    let (l1, u1) = wilson(x1, n1, z);
    let (l2, u2) = wilson(x2, n2, z);
    let d = p2 - p1;
    let low = d - ((p2 - l2).powi(2) + (u1 - p1).powi(2)).sqrt();
    let high = d + ((u2 - p2).powi(2) + (p1 - l1).powi(2)).sqrt();
    let pooled = (x1 + x2) as f64 / (n1 + n2) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    let p = if se == 0.0 {
        1.0
    } else {
        2.0 * (1.0 - normal_cdf((d / se).abs()))
    };
    Some(TwoProportions {
        diff: d,
        low,
        high,
        p: p.clamp(0.0, 1.0),
    })
}

/// Wilson's score interval for `x/n`.
fn wilson(x: u64, n: u64, z: f64) -> (f64, f64) {
    let (n, p) = (n as f64, x as f64 / n as f64);
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sparse(values: &[u64]) -> Sparse {
        let mut v: Vec<(u64, u64)> = Vec::new();
        let mut s = values.to_vec();
        s.sort_unstable();
        for x in s {
            match v.last_mut() {
                Some((lv, c)) if *lv == x => *c += 1,
                _ => v.push((x, 1)),
            }
        }
        Sparse(v)
    }

    #[test]
    fn mann_whitney_matches_reference_values() {
        // Reference: U and the tie-corrected, continuity-corrected normal p-value computed
        // by brute force over all pairs (as scipy.stats.mannwhitneyu with
        // method="asymptotic" does): x = 19 22 16 29 24, y = 20 11 17 12 → U_y = 3.
        let x = sparse(&[19, 22, 16, 29, 24]);
        let y = sparse(&[20, 11, 17, 12]);
        let m = mann_whitney(&x, &y).unwrap();
        assert_eq!(m.u, 3.0);
        // z = (|3 − 10| − 0.5)/sqrt(5·4·10/12) = 6.5/4.0825 → p = 0.11134
        assert!((m.p - 0.111_34).abs() < 1e-4, "{}", m.p);
        assert!((m.prob_greater - 0.15).abs() < 1e-12);
        // With ties: a = 1 2 2 3, b = 2 3 3 4: U_b = 2 + 2·3.5 + 4 = 13 of 16; two tie
        // groups of 3 (Σ t³ − t = 48); p = 0.17203.
        let m = mann_whitney(&sparse(&[1, 2, 2, 3]), &sparse(&[2, 3, 3, 4])).unwrap();
        assert_eq!(m.u, 13.0);
        assert!((m.p - 0.172_034).abs() < 1e-5, "{}", m.p);
        // Identical samples: no shift.
        let s = sparse(&[5, 6, 7, 7, 8]);
        let m = mann_whitney(&s, &s).unwrap();
        assert_eq!(m.prob_greater, 0.5);
        assert!(m.p > 0.99);
    }

    #[test]
    fn two_proportions_match_newcombes_example() {
        // Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80,
        // method 10 interval 0.0524 to 0.3339 for p1 − p2 = 0.2000.
        let t = two_proportions(48, 80, 56, 70, 0.05).unwrap();
        assert!((t.diff - 0.2).abs() < 1e-12);
        assert!((t.low - 0.0524).abs() < 5e-4, "{}", t.low);
        assert!((t.high - 0.3339).abs() < 5e-4, "{}", t.high);
        // Pooled z: p = 104/150; z = 0.2/sqrt(p(1−p)(1/70+1/80)) = 2.6502 → 0.008045.
        assert!((t.p - 0.008_045).abs() < 1e-5, "{}", t.p);
        // No failures in either: no difference, a proper interval around 0.
        let t = two_proportions(0, 1000, 0, 1000, 0.05).unwrap();
        assert_eq!(t.p, 1.0);
        assert!(t.low < 0.0 && t.high > 0.0);
    }

    #[test]
    fn quantiles_follow_hdrhistograms_rule() {
        let mut h = crate::load::stats::histogram();
        for v in 1..=1000u64 {
            h.record(v * 10).unwrap();
        }
        let s = Sparse::from_hist(&h);
        let (values, counts): (Vec<u64>, Vec<u64>) = s.0.iter().copied().unzip();
        let l = latency(&values, &counts).unwrap();
        assert_eq!(l.p50 as u64, h.value_at_quantile(0.5));
        assert_eq!(l.p95 as u64, h.value_at_quantile(0.95));
        assert_eq!(l.p99 as u64, h.value_at_quantile(0.99));
        assert!((l.mean - h.mean()).abs() / h.mean() < 1e-3);
        let merged = Sparse::merged([&s, &s]);
        assert_eq!(merged.count(), 2000);
    }

    /// Per-second means of an AR(1) process (coefficient `phi`) around `mu`.
    fn ar1(n: usize, mu: f64, phi: f64, rng: &mut SplitMix) -> Vec<f64> {
        let mut x = 0.0;
        (0..n)
            .map(|_| {
                x = phi * x + normal_quantile(rng.unit().max(1e-12));
                mu + x
            })
            .collect()
    }

    fn coverage(n: usize, phi: f64, trials: u64) -> f64 {
        let mut rng = SplitMix(42 + n as u64);
        let mut covered = 0u32;
        let mean = |s: &[f64], idx: &[usize]| {
            Some(idx.iter().map(|i| s[*i]).sum::<f64>() / idx.len() as f64)
        };
        for t in 0..trials {
            let a = ar1(n, 100.0, phi, &mut rng);
            let b = ar1(n, 110.0, phi, &mut rng);
            let all: Vec<usize> = (0..n).collect();
            let point = mean(&b, &all).unwrap() / mean(&a, &all).unwrap() - 1.0;
            let ci = bootstrap_change([n, n], point, 400, t, 0.05, |run, idx| {
                mean(if run == 0 { &a } else { &b }, idx)
            })
            .unwrap();
            covered += u32::from(ci.0 <= 0.1 && 0.1 <= ci.1);
        }
        f64::from(covered) / trials as f64
    }

    #[test]
    fn block_bootstrap_intervals_cover_the_true_change_at_about_the_nominal_rate() {
        // Pairs of runs whose new level is 10% above the base, with independent seconds and
        // with autocorrelated ones (AR(1), φ = 0.5: neighbouring seconds alike, as a
        // run's throughput is): a 95% interval should cover the true +10% about 95% of the
        // time, for runs of 12 s to 200 s.
        for (n, phi) in [(60, 0.0), (60, 0.5), (20, 0.5), (12, 0.5), (200, 0.5)] {
            let rate = coverage(n, phi, 400);
            eprintln!("n {n}, φ {phi}: coverage {rate}");
            assert!(
                (0.92..=0.99).contains(&rate),
                "n {n}, φ {phi}: coverage {rate}"
            );
        }
    }

    #[test]
    fn blocks_cover_every_second_once() {
        for n in [1, 5, 8, 60, 61, 600] {
            let b = blocks(n);
            let all: Vec<usize> = b.iter().flat_map(|r| r.clone()).collect();
            assert_eq!(all, (0..n).collect::<Vec<_>>(), "{n}");
        }
        assert_eq!(blocks(60).len(), 7);
        let mut rng = SplitMix(1);
        let mut out = Vec::new();
        resample(&blocks(60), &mut rng, &mut out);
        assert!((56..=84).contains(&out.len()), "{}", out.len());
    }
}
