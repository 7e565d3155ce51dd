//! Bit-level I/O of chunk streams, most significant bit first: a writer, and a reader that
//! reads up to 57 bits at a time from one unaligned big-endian 64-bit load.

/// Appends bits, most significant first.
#[derive(Debug, Clone)]
pub(super) struct BitWriter {
    bytes: Vec<u8>,
    /// Unused low bits of the last byte.
    free: u32,
}

impl BitWriter {
    pub(super) fn with_capacity(capacity: usize) -> BitWriter {
        BitWriter {
            bytes: Vec::with_capacity(capacity),
            free: 0,
        }
    }

    /// The bytes written so far (the last one zero-padded).
    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bytes allocated.
    pub(super) fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    pub(super) fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
    }

    pub(super) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Writes the low `n` (≤ 64) bits of `value`.
    pub(super) fn write(&mut self, value: u64, mut n: u32) {
        while n > 0 {
            if self.free == 0 {
                self.bytes.push(0);
                self.free = 8;
            }
            let take = n.min(self.free);
            n -= take;
            let part = ((value >> n) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = self.bytes.last_mut() {
                *last |= part << (self.free - take);
            }
            self.free -= take;
        }
    }
}

/// Reads bits, most significant first. Past the end it reads zeros; [`BitReader::overrun`]
/// tells whether it has, so callers check once per sample rather than once per read.
///
/// Its only state is the bit position: each read loads the 8 bytes around it, a load the
/// processor serves from its cache, and a decoding loop keeps the position in a register.
#[derive(Debug, Clone)]
pub(super) struct BitReader<'a> {
    bytes: &'a [u8],
    /// Bits consumed so far, including any zeros read past the end.
    pos: usize,
}

/// The fewest bits a [`BitReader::peek`] makes available.
pub(super) const PEEK_BITS: u32 = 57;

/// The 8 bytes from `start`, zeros past the end.
#[inline(never)]
fn last_word(bytes: &[u8], start: usize) -> u64 {
    let mut word = [0; 8];
    for (w, b) in word.iter_mut().zip(bytes.get(start..).unwrap_or_default()) {
        *w = *b;
    }
    u64::from_be_bytes(word)
}

impl<'a> BitReader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> BitReader<'a> {
        BitReader { bytes, pos: 0 }
    }

    /// Bits consumed so far, including any zeros read past the end.
    pub(super) fn position(&self) -> usize {
        self.pos
    }

    /// Whether more bits were read than the stream holds.
    pub(super) fn overrun(&self) -> bool {
        self.pos > self.bytes.len() * 8
    }

    /// The next bits, left-aligned, without consuming them: at least [`PEEK_BITS`] of them
    /// (zeros past the end), then zeros.
    #[inline(always)]
    pub(super) fn peek(&self) -> u64 {
        let start = self.pos >> 3;
        let word = match self.bytes.get(start..).and_then(<[u8]>::first_chunk) {
            Some(word) => u64::from_be_bytes(*word),
            None => last_word(self.bytes, start),
        };
        word << (self.pos & 7)
    }

    /// Moves to bit `pos` (ahead, where a decoding loop that read bits itself got to).
    pub(super) fn seek(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// Consumes `n` bits.
    #[inline(always)]
    pub(super) fn skip(&mut self, n: u32) {
        self.pos += n as usize;
    }

    /// Reads `n` (≤ [`PEEK_BITS`]) bits.
    #[inline(always)]
    pub(super) fn read(&mut self, n: u32) -> u64 {
        debug_assert!(n <= PEEK_BITS);
        // Two shifts so that `n == 0` reads 0.
        let v = (self.peek() >> 1) >> (63 - n);
        self.skip(n);
        v
    }

    /// Reads `n` (≤ 64) bits.
    #[inline(always)]
    pub(super) fn read_long(&mut self, n: u32) -> u64 {
        if n <= PEEK_BITS {
            self.read(n)
        } else {
            let high = self.read(n - 32);
            (high << 32) | self.read(32)
        }
    }

    #[inline(always)]
    pub(super) fn bit(&mut self) -> bool {
        self.read(1) == 1
    }

    /// Counts leading `1`s, at most `max` (< [`PEEK_BITS`]), consuming them and the `0`
    /// ending them (none when there are `max`).
    #[inline(always)]
    pub(super) fn ones(&mut self, max: u32) -> u32 {
        debug_assert!(max < PEEK_BITS);
        let q = (!self.peek()).leading_zeros().min(max);
        self.skip(q + u32::from(q < max));
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn reads_return_what_was_written() {
        let mut rng = SmallRng::seed_from_u64(5);
        for _ in 0..200 {
            let fields: Vec<(u64, u32)> = (0..rng.random_range(0..300))
                .map(|_| {
                    let n = rng.random_range(0..=64u32);
                    let v = rng.random::<u64>().checked_shr(64 - n).unwrap_or(0);
                    (v, n)
                })
                .collect();
            let mut w = BitWriter::with_capacity(0);
            for &(v, n) in &fields {
                w.write(v, n);
            }
            let total: u32 = fields.iter().map(|f| f.1).sum();
            assert_eq!(w.bytes().len(), total.div_ceil(8) as usize);
            let mut r = BitReader::new(w.bytes());
            for &(v, n) in &fields {
                assert_eq!(r.read_long(n), v);
            }
            assert_eq!(r.position(), total as usize);
            assert!(!r.overrun());
            // Past the end: zeros, and the overrun is reported once past the padding.
            let padding = w.bytes().len() * 8 - total as usize;
            assert_eq!(r.read_long(padding as u32), 0);
            assert!(!r.overrun());
            assert_eq!(r.read(1), 0);
            assert!(r.overrun());
        }
    }

    #[test]
    fn unary_runs_are_counted_up_to_the_limit() {
        let mut w = BitWriter::with_capacity(0);
        for q in 0..40u32 {
            w.write(((1u64 << q) - 1) << 1, q + 1);
            w.write(0b101, 3);
        }
        let mut r = BitReader::new(w.bytes());
        for q in 0..40u32 {
            if q < 16 {
                assert_eq!(r.ones(16), q);
            } else {
                assert_eq!(r.ones(16), 16);
                assert_eq!(r.ones(50), q - 16);
            }
            assert_eq!(r.read(3), 0b101);
        }
        assert!(!r.overrun());
        assert_eq!(r.ones(16), 0);
    }
}
