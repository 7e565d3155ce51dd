//! The capacity search's strategies, pure: the candidate loads and, from the verdicts so
//! far, the next load to probe and the capacity once it is known.

use crate::manifest::model::Strategy;

/// The loads a search may probe: `from`, `from + step`, … up to `to` (within a rounding
/// error of it).
pub fn candidates(from: f64, to: f64, step: f64) -> Vec<f64> {
    let n = ((to - from) / step + 1e-9).floor().max(0.0) as usize + 1;
    (0..n.min(100_000))
        .map(|i| round(from + step * i as f64))
        .collect()
}

/// At most this many probes find the capacity among `n` candidates.
pub fn most_probes(strategy: Strategy, n: usize) -> usize {
    match strategy {
        Strategy::Linear => n,
        Strategy::Binary => (usize::BITS - n.leading_zeros()) as usize,
    }
}

/// Where a search stands after the verdicts so far (`met[i]` for candidate `i`).
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Probe candidate `i`.
    Probe(usize),
    /// The search is over: the highest candidate met, if any met.
    Done(Option<usize>),
}

/// The next step of a search over `n` candidates given the verdicts known so far (in any
/// order; a resumed search passes what its earlier probes found).
pub fn next(strategy: Strategy, n: usize, known: &[(usize, bool)]) -> Next {
    let verdict = |i: usize| known.iter().find(|(k, _)| *k == i).map(|(_, m)| *m);
    match strategy {
        Strategy::Linear => {
            let mut best = None;
            for i in 0..n {
                match verdict(i) {
                    Some(true) => best = Some(i),
                    Some(false) => return Next::Done(best),
                    None => return Next::Probe(i),
                }
            }
            Next::Done(best)
        }
        Strategy::Binary => {
            // lo: highest index known to meet (-1: none yet), hi: lowest known to fail (n).
            let (mut lo, mut hi) = (-1i64, n as i64);
            loop {
                if hi - lo <= 1 {
                    return Next::Done(usize::try_from(lo).ok());
                }
                let mid = (lo + hi) / 2;
                match verdict(mid as usize) {
                    Some(true) => lo = mid,
                    Some(false) => hi = mid,
                    None => return Next::Probe(mid as usize),
                }
            }
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a search against a system that meets every load up to `knee`.
    fn search(strategy: Strategy, cands: &[f64], knee: f64) -> (Option<f64>, usize) {
        let mut known = Vec::new();
        loop {
            match next(strategy, cands.len(), &known) {
                Next::Probe(i) => known.push((i, cands[i] <= knee)),
                Next::Done(best) => return (best.map(|i| cands[i]), known.len()),
            }
        }
    }

    #[test]
    fn both_strategies_find_the_highest_load_met() {
        let c = candidates(5.0, 100.0, 5.0);
        assert_eq!(c.len(), 20);
        assert_eq!(c[19], 100.0);
        for knee in [4.0, 5.0, 37.0, 40.0, 100.0, 150.0] {
            let want = c.iter().copied().rev().find(|x| *x <= knee);
            let (b, nb) = search(Strategy::Binary, &c, knee);
            let (l, nl) = search(Strategy::Linear, &c, knee);
            assert_eq!(b, want, "binary, knee {knee}");
            assert_eq!(l, want, "linear, knee {knee}");
            assert!(nb <= most_probes(Strategy::Binary, c.len()), "{nb} probes");
            assert!(nl <= most_probes(Strategy::Linear, c.len()));
        }
        assert_eq!(most_probes(Strategy::Binary, 20), 5);
    }

    #[test]
    fn a_resumed_search_asks_only_for_what_it_lacks() {
        let c = candidates(1.0, 16.0, 1.0);
        // Probes 7 (met) and 11 (failed) are known: the next is between them.
        match next(Strategy::Binary, c.len(), &[(7, true), (11, false)]) {
            Next::Probe(i) => assert!(i > 7 && i < 11),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            next(Strategy::Linear, 3, &[(0, true), (1, false)]),
            Next::Done(Some(0))
        );
        assert_eq!(next(Strategy::Linear, 3, &[(0, false)]), Next::Done(None));
    }

    #[test]
    fn candidates_tolerate_rounding() {
        assert_eq!(candidates(0.1, 0.3, 0.1), vec![0.1, 0.2, 0.3]);
        assert_eq!(candidates(10.0, 10.0, 5.0), vec![10.0]);
    }
}
