//! The integer codes of chunk streams (see [`super::chunk`] for the format): length-prefixed
//! integers, adaptive Rice codes, and the running-mean predictor of differences.

use super::bits::{BitReader, BitWriter, PEEK_BITS};

/// Longest unary quotient of the Rice code before its escape.
const RICE_UNARY_MAX: u32 = 16;

pub(super) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(super) fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Writes `z` (at least 1) as 6 bits of its bit length minus one, then its bits below the top.
pub(super) fn put_length_prefixed(w: &mut BitWriter, z: u64) {
    let len = (64 - z.leading_zeros()).max(1);
    w.write(u64::from(len - 1), 6);
    w.write(z, len - 1);
}

/// Reads a value written by [`put_length_prefixed`].
#[inline(always)]
pub(super) fn get_length_prefixed(reader: &mut BitReader<'_>) -> u64 {
    let len = reader.read(6) as u32;
    (1u64 << len) | reader.read_long(len)
}

/// The adaptive parameter of a Rice code: a decaying sum of recent values.
#[derive(Debug, Clone, Copy, Default)]
struct Rice {
    acc: u64,
}

impl Rice {
    #[inline(always)]
    fn parameter(self) -> u32 {
        // 0 while `acc >> 3` is 0, as `| 1` leaves it.
        63 - ((self.acc >> 3) | 1).leading_zeros()
    }

    /// Outliers move the parameter by at most a few steps.
    #[inline(always)]
    fn update(&mut self, z: u64, r: u32) {
        // `r` ≤ 60: it is the parameter, the log of `acc >> 3`.
        let cap = 1u64 << (r + 3);
        self.acc = (self.acc - (self.acc >> 3)).saturating_add(z.min(cap));
    }

    /// Writes `z` Rice-coded (or only costs it without a writer); returns its length in bits.
    fn put(&mut self, w: Option<&mut BitWriter>, z: u64) -> u32 {
        let r = self.parameter();
        let q = z >> r;
        let cost = if q < u64::from(RICE_UNARY_MAX) {
            if let Some(w) = w {
                w.write(((1u64 << q) - 1) << 1, q as u32 + 1);
                w.write(z, r);
            }
            q as u32 + 1 + r
        } else {
            let len = 64 - z.leading_zeros();
            if let Some(w) = w {
                w.write((1u64 << RICE_UNARY_MAX) - 1, RICE_UNARY_MAX);
                put_length_prefixed(w, z);
            }
            RICE_UNARY_MAX + 6 + len - 1
        };
        self.update(z, r);
        cost
    }

    /// Reads a value written by [`Rice::put`].
    #[inline(always)]
    fn get(&mut self, reader: &mut BitReader<'_>) -> u64 {
        let r = self.parameter();
        // Usually the quotient and the remainder fit in the bits of one peek.
        let bits = reader.peek();
        let q = (!bits).leading_zeros();
        let len = q + 1 + r;
        let z = if q < RICE_UNARY_MAX && len <= PEEK_BITS {
            reader.skip(len);
            // After the quotient's `1`s, the `0` ending them and the remainder's `r` bits.
            (u64::from(q) << r) | ((bits << q) >> (63 - r))
        } else {
            Rice::get_long(reader, r)
        };
        self.update(z, r);
        z
    }

    /// [`Rice::get`] past the fast case.
    #[cold]
    fn get_long(reader: &mut BitReader<'_>, r: u32) -> u64 {
        let q = reader.ones(RICE_UNARY_MAX);
        if q < RICE_UNARY_MAX {
            (u64::from(q) << r) | reader.read_long(r)
        } else {
            get_length_prefixed(reader)
        }
    }
}

/// Predicts a difference (a delta of timestamps, a counter's rate) from a running mean of
/// earlier ones and Rice-codes the residual: `m` is eight times the mean, the prediction
/// `m >> 3`; the first difference sets `m = 8 * x`, later ones `m = m - (m >> 3) + x'`, where
/// `x'` is `x` clamped to the prediction ± `2^(r+2)` (`r` the Rice parameter it was coded
/// with) so that an outlier (a missed scrape, a counter reset) barely moves the mean.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Predictor {
    rice: Rice,
    mean8: i64,
    started: bool,
}

impl Predictor {
    #[inline(always)]
    fn predict(self) -> i64 {
        self.mean8 >> 3
    }

    /// `m = m - p + clamp(x, p ± b)`, computed as `m + clamp(x - p, ±b)`: the bounds do not
    /// overflow (`|p| ≤ 2^60`, `b ≤ 2^61`), and a saturated `x - p` clamps as the exact one.
    #[inline(always)]
    fn learn(&mut self, x: i64, r: u32) {
        if !self.started {
            self.started = true;
            self.mean8 = x.wrapping_mul(8);
            return;
        }
        let p = self.predict();
        let step = match r + 2 {
            shift @ 0..=61 => {
                let bound = 1i64 << shift;
                x.saturating_sub(p).max(-bound).min(bound)
            }
            _ => x.wrapping_sub(p),
        };
        self.mean8 = self.mean8.wrapping_add(step);
    }

    /// Learns `x` without coding it.
    #[inline(always)]
    pub(super) fn observe(&mut self, x: i64) {
        self.learn(x, self.rice.parameter());
    }

    /// Writes `x` (or only costs it); returns its length in bits.
    pub(super) fn encode(&mut self, w: Option<&mut BitWriter>, x: i64) -> u32 {
        let r = self.rice.parameter();
        let z = zigzag(x.wrapping_sub(self.predict()));
        let cost = self.rice.put(w, z);
        self.learn(x, r);
        cost
    }

    /// Whether a difference was learnt yet.
    pub(super) fn is_started(self) -> bool {
        self.started
    }

    /// Decodes the difference that [`Predictor::decode`] would read from `bits`, the next
    /// bits left-aligned of which `valid` are the stream's, if its code lies within them: the
    /// difference and the code's length. Otherwise `None`, and the predictor is unchanged.
    /// For decoding loops that keep the reader's state in registers; the predictor must have
    /// started ([`Predictor::is_started`]).
    #[inline(always)]
    pub(super) fn decode_word(&mut self, bits: u64, valid: u32) -> Option<(i64, u32)> {
        debug_assert!(self.started);
        let r = self.rice.parameter();
        let q = (!bits).leading_zeros();
        let (z, len) = if q < RICE_UNARY_MAX {
            // After the quotient's `1`s, the `0` ending them and the remainder's `r` bits.
            ((u64::from(q) << r) | ((bits << q) >> (63 - r)), q + 1 + r)
        } else {
            // The escape: `z` length-prefixed after 16 `1`s.
            let top = ((bits << RICE_UNARY_MAX) >> 58) as u32;
            let low = ((bits << (RICE_UNARY_MAX + 6)) >> 1) >> (63 - top);
            ((1 << top) | low, RICE_UNARY_MAX + 6 + top)
        };
        if len > valid {
            return None;
        }
        self.rice.update(z, r);
        let u = unzigzag(z);
        let (x, overflow) = self.predict().overflowing_add(u);
        if !overflow && r + 2 <= 61 {
            // `learn`, where `x - p` is `u`.
            let bound = 1i64 << (r + 2);
            self.mean8 = self.mean8.wrapping_add(u.max(-bound).min(bound));
        } else {
            self.learn(x, r);
        }
        Some((x, len))
    }

    /// [`Predictor::observe`] of 0, for a predictor that has started.
    #[inline(always)]
    pub(super) fn observe_zero(&mut self) {
        debug_assert!(self.started);
        let r = self.rice.parameter();
        // `learn(0, r)`: `0 - p` does not overflow.
        let p = self.predict();
        let step = match r + 2 {
            shift @ 0..=61 => (-p).max(-(1 << shift)).min(1 << shift),
            _ => -p,
        };
        self.mean8 = self.mean8.wrapping_add(step);
    }

    /// Reads a difference written by [`Predictor::encode`].
    #[inline(always)]
    pub(super) fn decode(&mut self, reader: &mut BitReader<'_>) -> i64 {
        let r = self.rice.parameter();
        let x = unzigzag(self.rice.get(reader)).wrapping_add(self.predict());
        self.learn(x, r);
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    /// An integer of any magnitude, extremes included.
    fn any(rng: &mut SmallRng) -> i64 {
        match rng.random_range(0..6) {
            0 => [i64::MIN, i64::MAX, 0, -1, i64::MIN + 1, i64::MAX - 1][rng.random_range(0..6)],
            1 => rng.random(),
            2 => rng.random_range(-20..20),
            _ => rng.random::<i64>() >> rng.random_range(0..64),
        }
    }

    #[test]
    fn learning_matches_the_clamp_of_the_format() {
        let mut rng = SmallRng::seed_from_u64(17);
        for _ in 0..200_000 {
            let (mean8, x, r) = (any(&mut rng), any(&mut rng), rng.random_range(0..=60));
            let mut pred = Predictor {
                rice: Rice::default(),
                mean8,
                started: true,
            };
            pred.learn(x, r);
            // As the format states it.
            let p = mean8 >> 3;
            let clamped = match r + 2 {
                shift @ 0..=61 => {
                    let bound = 1i64 << shift;
                    x.max(p.saturating_sub(bound)).min(p.saturating_add(bound))
                }
                _ => x,
            };
            let expected = (mean8 - (mean8 >> 3)).wrapping_add(clamped);
            assert_eq!(pred.mean8, expected, "{mean8} {x} {r}");
            // Observing 0 the short way.
            let rice = Rice {
                acc: rng.random::<u64>() >> rng.random_range(0..64),
            };
            let mut a = Predictor {
                rice,
                mean8,
                started: true,
            };
            let mut b = a;
            a.observe(0);
            b.observe_zero();
            assert_eq!(a.mean8, b.mean8, "{mean8} {}", rice.acc);
        }
    }

    #[test]
    fn word_decoding_matches_the_reader() {
        let mut rng = SmallRng::seed_from_u64(19);
        for _ in 0..300 {
            let xs: Vec<i64> = (0..rng.random_range(1..200))
                .map(|_| match rng.random_range(0..4) {
                    0 => any(&mut rng),
                    _ => 1000 + rng.random_range(-8..=8),
                })
                .collect();
            let mut writer = BitWriter::with_capacity(0);
            let mut encoder = Predictor::default();
            for &x in &xs {
                encoder.encode(Some(&mut writer), x);
            }
            let mut reader = BitReader::new(writer.bytes());
            let mut by_reader = Predictor::default();
            let mut by_word = Predictor::default();
            for (i, &x) in xs.iter().enumerate() {
                let pos = reader.position();
                assert_eq!(by_reader.decode(&mut reader), x);
                let mut at = BitReader::new(writer.bytes());
                at.skip(pos as u32);
                let decoded = if i == 0 {
                    None
                } else {
                    by_word.decode_word(at.peek(), 57)
                };
                match decoded {
                    Some((y, len)) => {
                        assert_eq!((y, len as usize), (x, reader.position() - pos));
                    }
                    // Past the bits of one peek: as the reader does it.
                    None => assert_eq!(by_word.decode(&mut at), x),
                }
                assert_eq!(
                    (by_word.mean8, by_word.rice.acc),
                    (by_reader.mean8, by_reader.rice.acc)
                );
            }
        }
    }
}
