//! Gunther's Universal Scalability Law fitted to measured points, and the latency knee (pure).
//!
//! X(N) = λN / (1 + σ(N−1) + κN(N−1)): σ is contention (the serial share), κ coherency (the
//! cost of keeping copies in step), λ the throughput of one. For fixed σ and κ the best λ is
//! a linear least-squares answer, so the fit searches σ ∈ [0, 1] and κ ≥ 0 (a grid, then
//! Nelder–Mead) with λ solved exactly at each step.

use serde::{Deserialize, Serialize};

/// One measured point: concurrency and throughput.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Point {
    pub n: f64,
    pub x: f64,
}

/// A fit and how far to trust it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fit {
    pub lambda: f64,
    pub sigma: f64,
    pub kappa: f64,
    /// The concurrency of peak throughput, sqrt((1−σ)/κ); none when κ is 0 or σ is 1.
    pub peak_n: Option<f64>,
    /// The model's throughput at `peak_n`.
    pub peak_x: Option<f64>,
    /// Coefficient of determination over the points.
    pub r2: f64,
    /// Points and distinct concurrencies the fit used.
    pub points: usize,
    /// Why the fit may not hold (too few points, a poor fit, a peak outside the measured range).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The model's throughput at `n`.
pub fn model(lambda: f64, sigma: f64, kappa: f64, n: f64) -> f64 {
    lambda * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))
}

/// Fits the law to the points (at least 3 with distinct concurrencies and positive values);
/// `None` when there are fewer.
pub fn fit(points: &[Point]) -> Option<Fit> {
    let pts: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p.n > 0.0 && p.x.is_finite() && p.x >= 0.0 && p.n.is_finite())
        .collect();
    let mut ns: Vec<f64> = pts.iter().map(|p| p.n).collect();
    ns.sort_by(f64::total_cmp);
    ns.dedup();
    if ns.len() < 3 {
        return None;
    }
    // κ is searched on a scale fitting the concurrencies: κN² about 1 at the largest N.
    let n_max = ns[ns.len() - 1];
    let k_scale = 1.0 / (n_max * n_max);
    let cost = |s: f64, k: f64| sse(&pts, s.clamp(0.0, 1.0), (k * k_scale).max(0.0)).1;
    let mut best = (f64::INFINITY, 0.0, 0.0);
    for i in 0..=20 {
        let s = f64::from(i) / 20.0;
        for j in 0..=24 {
            let k = if j == 0 {
                0.0
            } else {
                10f64.powf(-4.0 + f64::from(j) * 0.25)
            };
            let c = cost(s, k);
            if c < best.0 {
                best = (c, s, k);
            }
        }
    }
    let (s, k) = nelder_mead(|v| cost(v[0], v[1].max(0.0)), [best.1, best.2]);
    let (sigma, kappa) = (s.clamp(0.0, 1.0), (k * k_scale).max(0.0));
    let (lambda, res) = sse(&pts, sigma, kappa);
    let mean = pts.iter().map(|p| p.x).sum::<f64>() / pts.len() as f64;
    let tot: f64 = pts.iter().map(|p| (p.x - mean).powi(2)).sum();
    let r2 = if tot > 0.0 { 1.0 - res / tot } else { 0.0 };
    // With σ = 1 throughput never grows past one: no peak to speak of.
    let peak_n = (kappa > 0.0 && sigma < 1.0)
        .then(|| ((1.0 - sigma) / kappa).sqrt())
        .filter(|n| n.is_finite() && *n >= 1.0);
    let peak_x = peak_n
        .map(|n| model(lambda, sigma, kappa, n))
        .filter(|x| x.is_finite());
    if ![lambda, sigma, kappa, r2].iter().all(|v| v.is_finite()) {
        return None;
    }
    let mut warnings = Vec::new();
    if ns.len() < 5 {
        warnings.push(format!(
            "{} concurrencies for 3 parameters: the fit is barely determined",
            ns.len()
        ));
    }
    if r2 < 0.9 {
        warnings.push(format!(
            "R² is {r2:.2}: the law does not describe these points well"
        ));
    }
    match peak_n {
        Some(p) if p > 2.0 * n_max => warnings.push(format!(
            "the peak (N = {p:.0}) is far beyond the largest measured concurrency ({n_max}): it is an extrapolation"
        )),
        None if sigma >= 1.0 - 1e-9 => warnings.push(
            "σ is 1: throughput does not grow with concurrency here (the points are past saturation)".into(),
        ),
        None => warnings.push("κ is 0: no retrograde region was seen, so no peak".into()),
        _ => {}
    }
    Some(Fit {
        lambda,
        sigma,
        kappa,
        peak_n,
        peak_x,
        r2,
        points: pts.len(),
        warnings,
    })
}

/// The best λ for σ and κ, and the sum of squared residuals with it.
fn sse(pts: &[Point], sigma: f64, kappa: f64) -> (f64, f64) {
    let g = |n: f64| model(1.0, sigma, kappa, n);
    let (num, den) = pts.iter().fold((0.0, 0.0), |(a, b), p| {
        (a + p.x * g(p.n), b + g(p.n) * g(p.n))
    });
    let lambda = if den > 0.0 { num / den } else { 0.0 };
    let res = pts.iter().map(|p| (p.x - lambda * g(p.n)).powi(2)).sum();
    (lambda, res)
}

/// Minimizes `f` over two variables from `start` (Nelder–Mead, fixed iterations).
fn nelder_mead(f: impl Fn([f64; 2]) -> f64, start: [f64; 2]) -> (f64, f64) {
    let step = |x: f64| if x.abs() > 1e-3 { x * 0.2 } else { 0.05 };
    let mut s: Vec<([f64; 2], f64)> = [
        start,
        [start[0] + step(start[0]), start[1]],
        [start[0], start[1] + step(start[1])],
    ]
    .into_iter()
    .map(|p| (p, f(p)))
    .collect();
    for _ in 0..2000 {
        s.sort_by(|a, b| a.1.total_cmp(&b.1));
        let c = [(s[0].0[0] + s[1].0[0]) / 2.0, (s[0].0[1] + s[1].0[1]) / 2.0];
        let at = |t: f64| [c[0] + t * (s[2].0[0] - c[0]), c[1] + t * (s[2].0[1] - c[1])];
        let r = at(-1.0);
        let fr = f(r);
        if fr < s[0].1 {
            let e = at(-2.0);
            let fe = f(e);
            s[2] = if fe < fr { (e, fe) } else { (r, fr) };
        } else if fr < s[1].1 {
            s[2] = (r, fr);
        } else {
            let k = at(0.5);
            let fk = f(k);
            if fk < s[2].1 {
                s[2] = (k, fk);
            } else {
                for i in 1..3 {
                    let p = [(s[0].0[0] + s[i].0[0]) / 2.0, (s[0].0[1] + s[i].0[1]) / 2.0];
                    s[i] = (p, f(p));
                }
            }
        }
        if (s[2].1 - s[0].1).abs() <= 1e-15 * s[0].1.abs().max(1e-300) {
            break;
        }
    }
    s.sort_by(|a, b| a.1.total_cmp(&b.1));
    (s[0].0[0], s[0].0[1])
}

/// The latency knee: the first load (in increasing order) whose latency exceeds `factor`
/// times the level at the lowest load. `points` are (load, latency); repeated loads are
/// averaged.
pub fn knee(points: &[(f64, f64)], factor: f64) -> Option<f64> {
    let mut by: Vec<(f64, f64, usize)> = Vec::new();
    for &(l, y) in points
        .iter()
        .filter(|(l, y)| l.is_finite() && y.is_finite())
    {
        match by.iter_mut().find(|(k, _, _)| *k == l) {
            Some(e) => {
                e.1 += y;
                e.2 += 1;
            }
            None => by.push((l, y, 1)),
        }
    }
    by.sort_by(|a, b| a.0.total_cmp(&b.0));
    let means: Vec<(f64, f64)> = by.iter().map(|(l, s, c)| (*l, s / *c as f64)).collect();
    let base = means.first()?.1;
    means
        .iter()
        .skip(1)
        .find(|(_, y)| *y > factor * base)
        .map(|(l, _)| *l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic(lambda: f64, sigma: f64, kappa: f64, noise: f64) -> Vec<Point> {
        [1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0]
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let e = if i % 2 == 0 { 1.0 + noise } else { 1.0 - noise };
                Point {
                    n,
                    x: model(lambda, sigma, kappa, n) * e,
                }
            })
            .collect()
    }

    fn within(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs()
    }

    #[test]
    fn recovers_known_parameters_within_five_percent() {
        for (l, s, k) in [
            (100.0, 0.05, 0.001),
            (850.0, 0.2, 0.0002),
            (40.0, 0.02, 0.004),
        ] {
            for noise in [0.0, 0.002] {
                let f = fit(&synthetic(l, s, k, noise)).expect("a fit");
                assert!(
                    within(f.sigma, s, 0.05),
                    "σ {} for {s} (noise {noise})",
                    f.sigma
                );
                assert!(
                    within(f.kappa, k, 0.05),
                    "κ {} for {k} (noise {noise})",
                    f.kappa
                );
                assert!(within(f.lambda, l, 0.05), "λ {} for {l}", f.lambda);
                assert!(f.r2 > 0.99, "R² {}", f.r2);
                let peak = ((1.0 - s) / k).sqrt();
                assert!(within(f.peak_n.expect("a peak"), peak, 0.05));
            }
        }
    }

    #[test]
    fn linear_scaling_has_no_peak_and_says_so() {
        let pts: Vec<Point> = (1..=8)
            .map(|n| Point {
                n: f64::from(n),
                x: 10.0 * f64::from(n),
            })
            .collect();
        let f = fit(&pts).expect("a fit");
        assert!(f.sigma < 1e-3 && f.kappa < 1e-6, "{f:?}");
        assert!(within(f.lambda, 10.0, 0.01));
        assert!(
            f.warnings
                .iter()
                .any(|w| w.contains("no peak") || w.contains("extrapolation")),
            "{:?}",
            f.warnings
        );
    }

    #[test]
    fn saturated_points_give_sigma_one_and_no_peak() {
        let pts = [
            Point { n: 4.0, x: 183.2 },
            Point { n: 6.0, x: 184.8 },
            Point { n: 8.0, x: 188.0 },
        ];
        let f = fit(&pts).expect("a fit");
        assert!(f.peak_n.is_none() && f.peak_x.is_none(), "{f:?}");
        assert!(f.sigma > 0.8, "{f:?}");
    }

    #[test]
    fn too_few_points_give_no_fit_and_few_give_a_warning() {
        assert!(
            fit(&[
                Point { n: 1.0, x: 1.0 },
                Point { n: 2.0, x: 2.0 },
                Point { n: 2.0, x: 2.1 }
            ])
            .is_none()
        );
        let f = fit(&synthetic(100.0, 0.1, 0.01, 0.0)[..4]).expect("a fit");
        assert!(
            f.warnings.iter().any(|w| w.contains("barely determined")),
            "{:?}",
            f.warnings
        );
    }

    #[test]
    fn the_knee_is_where_latency_leaves_its_low_level() {
        let pts = [
            (10.0, 5.0),
            (10.0, 5.2),
            (20.0, 5.5),
            (40.0, 7.0),
            (80.0, 12.0),
            (160.0, 40.0),
        ];
        assert_eq!(knee(&pts, 2.0), Some(80.0));
        assert_eq!(knee(&pts, 1.3), Some(40.0));
        assert_eq!(knee(&pts, 100.0), None);
        assert_eq!(knee(&[], 2.0), None);
    }
}
