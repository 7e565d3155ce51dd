//! The value encoders of chunk streams (see [`super::chunk`] for the format): Gorilla's XOR
//! coding and the decimal mode, each able to cost a value without writing it.

use super::bits::BitWriter;
use super::predict::Predictor;

/// The most decimal digits of the decimal mode.
pub(super) const MAX_SCALE: u8 = 9;
pub(super) const POW10: [f64; MAX_SCALE as usize + 1] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
/// Decimal integers stay below this magnitude, well inside `f64`'s exact integers.
const DECIMAL_LIMIT: f64 = (1u64 << 50) as f64;

/// `v` (as bits) as `n / 10^k`, when that is exact and `|n| < 2^50`.
pub(super) fn decimal(bits: u64, k: u8) -> Option<i64> {
    let scale = *POW10.get(usize::from(k))?;
    let n = (f64::from_bits(bits) * scale).round();
    // Also rejects NaN.
    if n.is_nan() || n.abs() >= DECIMAL_LIMIT {
        return None;
    }
    let n = n as i64;
    ((n as f64 / scale).to_bits() == bits).then_some(n)
}

/// The most decimal digits that keep `|v| * 10^k` below the limit.
pub(super) fn widest_scale(bits: u64) -> Option<u8> {
    let v = f64::from_bits(bits).abs();
    (0..=MAX_SCALE)
        .rev()
        .find(|&k| v * POW10[usize::from(k)] < DECIMAL_LIMIT)
}

/// The fewest decimal digits that represent `bits` exactly.
pub(super) fn smallest_scale(bits: u64) -> Option<u8> {
    // A value exact at k digits is exact at more (within the limit), so most values that are
    // not short decimals are rejected by one check at the widest scale.
    let widest = widest_scale(bits)?;
    decimal(bits, widest)?;
    (0..=widest).find(|&k| decimal(bits, k).is_some())
}

/// A value codec: writes a value (or only costs it) and keeps its state either way.
#[derive(Debug, Clone)]
pub(super) enum Codec {
    Xor(Xor),
    Dec(Dec),
}

impl Codec {
    pub(super) fn encode(&mut self, bits: u64, w: Option<&mut BitWriter>) -> u32 {
        match self {
            Codec::Xor(x) => x.encode(bits, w),
            Codec::Dec(d) => d.encode(bits, w),
        }
    }
}

/// Gorilla's XOR coding.
#[derive(Debug, Clone)]
pub(super) struct Xor {
    prev: u64,
    /// Leading zeros and significant bits of the current window.
    window: Option<(u32, u32)>,
}

impl Xor {
    pub(super) fn new(first: u64) -> Xor {
        Xor {
            prev: first,
            window: None,
        }
    }

    fn encode(&mut self, bits: u64, mut w: Option<&mut BitWriter>) -> u32 {
        let xor = bits ^ self.prev;
        self.prev = bits;
        if xor == 0 {
            put(w, 0, 1);
            return 1;
        }
        let lead = xor.leading_zeros().min(31);
        let trail = xor.trailing_zeros();
        let sig = 64 - lead - trail;
        if let Some((wl, ws)) = self.window {
            let wt = 64 - wl - ws;
            // Reuse the window when it fits and is no longer than opening a new one.
            if lead >= wl && trail >= wt && ws <= sig + 11 {
                put(w.as_deref_mut(), 0b10, 2);
                put(w, xor >> wt, ws);
                return 2 + ws;
            }
        }
        put(w.as_deref_mut(), 0b11, 2);
        put(w.as_deref_mut(), u64::from(lead), 5);
        put(w.as_deref_mut(), u64::from(sig & 63), 6);
        put(w, xor >> trail, sig);
        self.window = Some((lead, sig));
        13 + sig
    }
}

/// The decimal mode: differences of `n` in `v = n / 10^k`.
#[derive(Debug, Clone)]
pub(super) struct Dec {
    pub(super) k: u8,
    prev: u64,
    prev_n: Option<i64>,
    pred: Predictor,
    escape: Xor,
    /// The most digits a value of this chunk needed (at least `k`).
    pub(super) needed: u8,
}

impl Dec {
    pub(super) fn new(k: u8, first: u64) -> Dec {
        Dec {
            k,
            prev: first,
            prev_n: decimal(first, k),
            pred: Predictor::default(),
            escape: Xor::new(first),
            needed: k,
        }
    }

    fn encode(&mut self, bits: u64, mut w: Option<&mut BitWriter>) -> u32 {
        let n = decimal(bits, self.k);
        let cost = if bits == self.prev {
            if self.prev_n.is_some() {
                self.pred.observe(0);
            }
            put(w, 0, 1);
            1
        } else if let (Some(n), Some(p)) = (n, self.prev_n) {
            put(w.as_deref_mut(), 0b10, 2);
            2 + self.pred.encode(w, n - p)
        } else {
            put(w.as_deref_mut(), 0b11, 2);
            2 + self.escape.encode(bits, w)
        };
        self.escape.prev = bits;
        if n.is_none()
            && let Some(k) = smallest_scale(bits)
        {
            self.needed = self.needed.max(k);
        }
        self.prev = bits;
        self.prev_n = n;
        cost
    }
}

fn put(w: Option<&mut BitWriter>, value: u64, n: u32) {
    if let Some(w) = w {
        w.write(value, n);
    }
}
