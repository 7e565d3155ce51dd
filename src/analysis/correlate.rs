//! Which system series (CPU, memory, network per service; replicas) move with which
//! application series (p95 latency, error rate, requests/s) over a run's steady window
//! (pure).
//!
//! Both series are on one time grid. The shared trend is removed first: each series is
//! regressed by least squares on the load's own target (users or arrival rate per step)
//! and on time, and only the residuals are correlated — two series that merely follow the
//! load shape (or both drift) then have nothing left in common. Then, for each lag in
//! ±`max_lag` steps (positive: the system series leads), Spearman's ρ and Pearson's r of the
//! residuals are what a finding reports.
//!
//! The test does not rest on those: two independent series with memory (a batch job's
//! bursts, a wave of garbage collection) line up at some lag by chance with a large ρ. So
//! both residuals are first prewhitened (Box–Jenkins): an autoregressive model of the system
//! series (order 1–3 by its length, least squares) filters both, which leaves the system
//! series close to white noise and keeps what the two share at the same moments. The lag
//! is the one with the largest |ρ| of the whitened pair; its p-value is Fisher's z with the
//! effective sample size of what memory is left (Bretherton et al. 1999:
//! n·(1 − a·b)/(1 + a·b), a and b the lag-1 autocorrelations), times the number of lags and
//! pairs tried (Bonferroni). A relation is a finding only when that p-value is below
//! `alpha` and its reported |ρ| ≥ `min_rho`.

use serde::Serialize;

/// One series on the common grid.
#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    pub values: Vec<f64>,
}

/// A relation found between a system and an application series.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub system: String,
    pub application: String,
    /// Steps by which the system series leads (negative: it lags).
    pub lag: i64,
    pub spearman: f64,
    pub pearson: f64,
    /// Spearman's ρ of the prewhitened pair at that lag, which the p-value rests on (the
    /// same as `spearman` without prewhitening).
    pub whitened: f64,
    /// After the effective sample size and the Bonferroni correction.
    pub p_value: f64,
    /// Pairs of points the correlation rests on.
    pub n: usize,
}

/// What to look for.
#[derive(Debug, Clone)]
pub struct Options {
    pub max_lag: usize,
    pub alpha: f64,
    pub min_rho: f64,
    /// Fewest steps (or points) a correlation may rest on.
    pub min_n: usize,
    /// Take each system series' autocorrelation out of both series before the test.
    pub prewhiten: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_lag: 5,
            alpha: 0.05,
            min_rho: 0.5,
            min_n: 10,
            prewhiten: true,
        }
    }
}

/// Every relation that is a finding, strongest first. `load` is the load's target on the
/// same grid (for removing the shared trend); series shorter than `min_n` steps are skipped.
pub fn correlate(
    system: &[Named],
    application: &[Named],
    load: &[f64],
    opts: &Options,
) -> Vec<Finding> {
    pairs(system, application, load, opts)
        .into_iter()
        .filter(|b| b.p_value < opts.alpha && b.spearman.abs() >= opts.min_rho)
        .collect()
}

/// Every pair's strongest lag, findings or not, strongest first (the same corrections).
pub fn pairs(
    system: &[Named],
    application: &[Named],
    load: &[f64],
    opts: &Options,
) -> Vec<Finding> {
    let tests = (system.len() * application.len() * (2 * opts.max_lag + 1)).max(1) as f64;
    let mut out = Vec::new();
    for s in system {
        let Some(x) = residuals(&s.values, load, opts.min_n) else {
            continue;
        };
        // The system series' own memory, to take out of both (Box–Jenkins prewhitening).
        let filter = if opts.prewhiten { ar_fit(&x) } else { None };
        let xw = filter.as_ref().map(|f| ar_filter(&x, f));
        for a in application {
            let Some(y) = residuals(&a.values, load, opts.min_n) else {
                continue;
            };
            let yw = filter.as_ref().map(|f| ar_filter(&y, f));
            // (lag, |whitened ρ|, finding)
            let mut best: Option<(f64, Finding)> = None;
            for lag in -(opts.max_lag as i64)..=(opts.max_lag as i64) {
                let (xs, ys) = shifted(&x, &y, lag);
                if xs.len() < opts.min_n {
                    continue;
                }
                let (Some(rho), Some(r)) = (spearman(&xs, &ys), pearson(&xs, &ys)) else {
                    continue;
                };
                // The test (and the choice of lag) rests on the whitened pair when there is
                // one: two independent series with long memory (bursts, waves) line up at
                // some lag by chance, and their raw ρ says nothing of it.
                let (test_rho, test_n) = match (&xw, &yw) {
                    (Some(xw), Some(yw)) => {
                        let (a, b) = shifted(xw, yw, lag);
                        match spearman(&a, &b) {
                            Some(w) => (w, effective_n(&a, &b)),
                            None => continue,
                        }
                    }
                    _ => (rho, effective_n(&xs, &ys)),
                };
                if best.as_ref().is_none_or(|(w, _)| test_rho.abs() > *w) {
                    let p = (fisher_p(test_rho, test_n) * tests).min(1.0);
                    best = Some((
                        test_rho.abs(),
                        Finding {
                            system: s.name.clone(),
                            application: a.name.clone(),
                            lag,
                            spearman: rho,
                            pearson: r,
                            whitened: test_rho,
                            p_value: p,
                            n: xs.len(),
                        },
                    ));
                }
            }
            out.extend(best.map(|(_, f)| f));
        }
    }
    out.sort_by(|a, b| b.spearman.abs().total_cmp(&a.spearman.abs()));
    out
}

/// Autoregressive coefficients of `x` (order 3 from 30 steps, 2 from 20, else 1), by least
/// squares; `None` when too short or degenerate.
fn ar_fit(x: &[f64]) -> Option<Vec<f64>> {
    let order = match x.len() {
        n if n >= 30 => 3,
        n if n >= 20 => 2,
        n if n >= 8 => 1,
        _ => return None,
    };
    let y = &x[order..];
    let cols: Vec<Vec<f64>> = (1..=order)
        .map(|k| x[order - k..x.len() - k].to_vec())
        .collect();
    let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let fit = least_squares(y, &refs)?;
    Some(fit[1..].to_vec())
}

/// `v[t] − Σ φ_k v[t−k]`, from the first step with every term.
fn ar_filter(v: &[f64], phi: &[f64]) -> Vec<f64> {
    (phi.len()..v.len())
        .map(|t| {
            v[t] - phi
                .iter()
                .enumerate()
                .map(|(k, f)| f * v[t - k - 1])
                .sum::<f64>()
        })
        .collect()
}

/// `x[t]` against `y[t + lag]`.
fn shifted(x: &[f64], y: &[f64], lag: i64) -> (Vec<f64>, Vec<f64>) {
    let n = x.len().min(y.len()) as i64;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for t in 0..n {
        let u = t + lag;
        if (0..n).contains(&u) {
            let (a, b) = (x[t as usize], y[u as usize]);
            if a.is_finite() && b.is_finite() {
                xs.push(a);
                ys.push(b);
            }
        }
    }
    (xs, ys)
}

/// The series less its least-squares fit on `[1, load, t]` (on `[1, t]` when the load is
/// constant). `None` when it is shorter than `min_n` or constant.
pub fn residuals(v: &[f64], load: &[f64], min_n: usize) -> Option<Vec<f64>> {
    let n = v.len();
    if n < min_n.max(4) || v.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let l: Vec<f64> = (0..n)
        .map(|i| load.get(i).copied().unwrap_or(0.0))
        .collect();
    let t: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let varying = l.iter().any(|x| (x - l[0]).abs() > 1e-12);
    let cols: Vec<&[f64]> = if varying { vec![&l, &t] } else { vec![&t] };
    let fit = least_squares(v, &cols)?;
    let r: Vec<f64> = (0..n)
        .map(|i| {
            v[i] - fit[0]
                - cols
                    .iter()
                    .enumerate()
                    .map(|(j, c)| fit[j + 1] * c[i])
                    .sum::<f64>()
        })
        .collect();
    let spread = r.iter().map(|x| x * x).sum::<f64>();
    (spread > 1e-18 * n as f64).then_some(r)
}

#[allow(clippy::needless_range_loop)] // a matrix by its indices reads as the algebra does
/// Least squares of `y` on an intercept and `cols` (normal equations, Gaussian elimination
/// with partial pivoting): `[intercept, coefficients...]`.
fn least_squares(y: &[f64], cols: &[&[f64]]) -> Option<Vec<f64>> {
    let k = cols.len() + 1;
    let x = |i: usize, j: usize| if j == 0 { 1.0 } else { cols[j - 1][i] };
    let mut a = vec![vec![0.0; k + 1]; k];
    for i in 0..y.len() {
        for r in 0..k {
            for c in 0..k {
                a[r][c] += x(i, r) * x(i, c);
            }
            a[r][k] += x(i, r) * y[i];
        }
    }
    for c in 0..k {
        let p = (c..k).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        for r in 0..k {
            if r != c {
                let f = a[r][c] / a[c][c];
                for cc in c..=k {
                    a[r][cc] -= f * a[c][cc];
                }
            }
        }
    }
    Some((0..k).map(|r| a[r][k] / a[r][r]).collect())
}

pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    if x.len() < 3 || x.len() != y.len() {
        return None;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Spearman's ρ: Pearson's r of the ranks (ties get their mean rank).
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    pearson(&ranks(x), &ranks(y))
}

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|a, b| v[*a].total_cmp(&v[*b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            r[idx[k]] = mean;
        }
        i = j + 1;
    }
    r
}

fn lag1(v: &[f64]) -> f64 {
    let (a, b) = (&v[..v.len() - 1], &v[1..]);
    pearson(a, b).unwrap_or(0.0)
}

/// Bretherton's effective number of independent pairs of two autocorrelated series.
fn effective_n(x: &[f64], y: &[f64]) -> f64 {
    let ab = (lag1(x) * lag1(y)).clamp(-0.95, 0.95);
    (x.len() as f64 * (1.0 - ab) / (1.0 + ab)).min(x.len() as f64)
}

/// Two-sided p-value of a correlation by Fisher's z with `n` pairs.
fn fisher_p(r: f64, n: f64) -> f64 {
    if n <= 3.0 {
        return 1.0;
    }
    let z = r.clamp(-0.999_999, 0.999_999).atanh() * (n - 3.0).sqrt();
    2.0 * (1.0 - crate::analysis::dist::normal_cdf(z.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::splitmix::SplitMix;

    fn noise(n: usize, rng: &mut SplitMix) -> Vec<f64> {
        (0..n)
            .map(|_| crate::analysis::dist::normal_quantile(rng.unit().max(1e-12)))
            .collect()
    }

    fn named(name: &str, values: Vec<f64>) -> Named {
        Named {
            name: name.into(),
            values,
        }
    }

    #[test]
    fn ranks_and_correlations_match_reference_values() {
        assert_eq!(ranks(&[10.0, 20.0, 20.0, 5.0]), vec![2.0, 3.5, 3.5, 1.0]);
        // Monotone but not linear: ρ = 1, r < 1.
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| v.powi(3)).collect();
        assert_eq!(spearman(&x, &y), Some(1.0));
        let r = pearson(&x, &y).unwrap();
        assert!(r > 0.9 && r < 1.0, "{r}");
        // Reference: scipy.stats.pearsonr([1,2,3,4,5], [2,1,4,3,5]) = 0.8.
        assert!(
            (pearson(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 4.0, 3.0, 5.0]).unwrap() - 0.8).abs()
                < 1e-12
        );
    }

    #[test]
    fn a_planted_lag_is_found_with_its_direction() {
        // CPU leads p95 by 2 steps: p95[t] = cpu[t − 2] + a little noise, 120 steps.
        let mut rng = SplitMix(5);
        let cpu = noise(120, &mut rng);
        let small = noise(120, &mut rng);
        let p95: Vec<f64> = (0..120)
            .map(|t| if t >= 2 { cpu[t - 2] } else { 0.0 } + 0.3 * small[t])
            .collect();
        let load = vec![10.0; 120];
        let f = correlate(
            &[named("cpu", cpu), named("memory", noise(120, &mut rng))],
            &[named("p95", p95)],
            &load,
            &Options::default(),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].system.as_str(), f[0].lag), ("cpu", 2));
        assert!(f[0].spearman > 0.9 && f[0].p_value < 1e-6, "{f:?}");
    }

    /// `k` times the load plus noise of its own.
    fn follows(load: &[f64], k: f64, rng: &mut SplitMix) -> Vec<f64> {
        load.iter()
            .zip(noise(load.len(), rng))
            .map(|(l, e)| k * l + e)
            .collect()
    }

    /// A batch job's CPU: on for 2–4 steps, off for 2–5, at random, plus a little noise.
    fn bursts(n: usize, rng: &mut SplitMix) -> Vec<f64> {
        let mut out = Vec::new();
        let mut on = rng.below(2) == 0;
        while out.len() < n {
            let len = if on {
                2 + rng.below(3)
            } else {
                2 + rng.below(4)
            };
            out.extend(std::iter::repeat_n(if on { 1.0 } else { 0.0 }, len));
            on = !on;
        }
        out.truncate(n);
        out.iter()
            .zip(noise(n, rng))
            .map(|(v, e)| v + 0.1 * e)
            .collect()
    }

    #[test]
    fn independent_bursty_series_are_not_findings_once_prewhitened() {
        // Two independent runs of a bursty job over 42 steps: their raw ρ lines up at some
        // lag by chance far more often than 5%; the prewhitened test keeps the rate nominal.
        let mut rng = SplitMix(21);
        let load = vec![8.0; 42];
        let (mut white, mut raw) = (0, 0);
        let plain = Options {
            prewhiten: false,
            ..Options::default()
        };
        for _ in 0..200 {
            let x = [named("cpu", bursts(42, &mut rng))];
            let y = [named("p95", bursts(42, &mut rng))];
            white += correlate(&x, &y, &load, &Options::default()).len();
            raw += correlate(&x, &y, &load, &plain).len();
        }
        assert!(
            white <= 10,
            "{white} of 200 prewhitened pairs found related"
        );
        assert!(raw > white, "raw {raw}, prewhitened {white}");
        // The same job driving the latency is still found, at its lag.
        let cpu = bursts(42, &mut rng);
        let p95: Vec<f64> = (0..42)
            .map(|t| {
                if t >= 1 {
                    10.0 + 5.0 * cpu[t - 1]
                } else {
                    10.0
                }
            })
            .zip(noise(42, &mut rng))
            .map(|(v, e)| v + 0.3 * e)
            .collect();
        let f = correlate(
            &[named("cpu", cpu)],
            &[named("p95", p95)],
            &load,
            &Options::default(),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].lag, 1);
        assert!(f[0].spearman > 0.8, "{f:?}");
    }

    #[test]
    fn independent_noise_and_a_shared_load_shape_are_not_findings() {
        // 200 trials of independent series: findings at most at the nominal 5% (Bonferroni
        // over the lags makes it rarer).
        let mut rng = SplitMix(9);
        let mut found = 0;
        let load: Vec<f64> = (0..60).map(|t| (t / 10 * 10) as f64).collect();
        for _ in 0..200 {
            // Both follow the load's steps, plus their own noise.
            let a = follows(&load, 0.2, &mut rng);
            let b = follows(&load, 2.0, &mut rng);
            found += correlate(
                &[named("a", a)],
                &[named("b", b)],
                &load,
                &Options::default(),
            )
            .len();
        }
        assert!(
            found <= 10,
            "{found} of 200 independent pairs found related"
        );
        // Without removing the load, the two would correlate strongly.
        let (a, b) = (follows(&load, 0.2, &mut rng), follows(&load, 2.0, &mut rng));
        assert!(spearman(&a, &b).unwrap() > 0.8);
    }
}
