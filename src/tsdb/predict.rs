//! The integer codes of chunk streams (see [`super::chunk`] for the format): length-prefixed
//! integers, adaptive Rice codes, and the running-mean predictor of differences.

use super::bits::{BitReader, BitWriter};

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
        let cap = 1u64.checked_shl(r + 3).unwrap_or(u64::MAX);
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
        let q = reader.ones(RICE_UNARY_MAX);
        let z = if q < RICE_UNARY_MAX {
            (u64::from(q) << r) | reader.read_long(r)
        } else {
            get_length_prefixed(reader)
        };
        self.update(z, r);
        z
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

    #[inline(always)]
    fn learn(&mut self, x: i64, r: u32) {
        if !self.started {
            self.started = true;
            self.mean8 = x.wrapping_mul(8);
            return;
        }
        let p = self.predict();
        let x = match r + 2 {
            shift @ 0..=61 => {
                let bound = 1i64 << shift;
                x.max(p.saturating_sub(bound)).min(p.saturating_add(bound))
            }
            _ => x,
        };
        self.mean8 = (self.mean8 - (self.mean8 >> 3)).wrapping_add(x);
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

    /// Reads a difference written by [`Predictor::encode`].
    #[inline(always)]
    pub(super) fn decode(&mut self, reader: &mut BitReader<'_>) -> i64 {
        let r = self.rice.parameter();
        let x = unzigzag(self.rice.get(reader)).wrapping_add(self.predict());
        self.learn(x, r);
        x
    }
}
