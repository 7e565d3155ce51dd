//! Gorilla-style compressed chunks of `(milliseconds, f64)` samples, after Facebook's Gorilla
//! paper and Prometheus' XOR chunk, refined for scraped data: the timestamp delta is predicted
//! and the residual Rice-coded (cheap under millisecond jitter), and values that are short
//! decimals — as values parsed from exposition text usually are — are coded as differences
//! of scaled integers, in the manner of VictoriaMetrics; other values are XOR-coded.
//!
//! A chunk holds at most [`MAX_SAMPLES`] samples so a reader can skip whole chunks by their
//! time range. The first timestamp is not in the bit stream: it is the chunk's `min_t`.
//!
//! Bit stream, most significant bit first:
//!
//! - 4 bits of value mode: `0` for XOR, `1 + k` for decimal with `k` (0–9) decimal digits;
//! - sample 0's value: in XOR mode its 64 raw bits; in decimal mode `1` and `zigzag(n) + 1`
//!   length-prefixed, or `0` and the 64 raw bits when it is not decimal at `k`;
//! - sample 1: the delta `t1 - t0` length-prefixed, then the value;
//! - each later sample: the timestamp, then the value.
//!
//! *Length-prefixed* `z ≥ 1`: 6 bits of its bit length minus one, then its bits below the top.
//!
//! *Rice-coded* `z ≥ 0` with parameter `r`: `z >> r` as that many `1`s and a `0`, then the low
//! `r` bits of `z`; when `z >> r` is 16 or more, 16 `1`s and `z` length-prefixed instead. Each
//! coded quantity keeps its own `acc` (starting at 0): `r = floor(log2(acc >> 3))` (0 when
//! `acc < 16`), then `acc = acc - (acc >> 3) + min(z, 2^(r+3))`.
//!
//! *Predicted* `x` (a difference): `zigzag(x - (m >> 3))` Rice-coded, where `m` is eight times a
//! running mean of earlier `x`: the first `x` (coded or not) sets `m = 8x`, each later one
//! `m = m - (m >> 3) + clamp(x, (m >> 3) ± 2^(r+2))`, so an outlier (a missed scrape, a counter
//! reset) barely moves it. All arithmetic wraps.
//!
//! **Timestamps** from sample 2 on: the delta `tn - tn-1`, predicted. For regular scrapes the
//! prediction is exact (1 bit); under ±4 ms of jitter it costs about 4.3 bits, where Prometheus'
//! delta-of-delta buckets take 16.
//!
//! **XOR values.** `x = bits ^ previous bits`, then `0` when `x == 0`; `10` and the bits of `x`
//! inside the current window; or `11`, 5 bits of leading zeros (at most 31), 6 bits of
//! significant-bit count (64 written as 0) and the significant bits, which become the new
//! window. The encoder picks whichever of the last two is shorter.
//!
//! **Decimal values** (`v == n / 10^k` bit for bit, `|n| < 2^50`): `0` when the bits equal the
//! previous value's (a decimal value then counts as a difference of 0 for the prediction);
//! `10` and `n - previous n`, predicted, when this and the previous value are decimal at `k`;
//! otherwise `11` and the value XOR-coded against the previous one (that window persists).
//!
//! A chunk's mode comes from its predecessor: while encoding, the encoder also costs the
//! other mode and the next chunk takes the cheaper one (or a wider `k` when values needed
//! it). Float bit patterns round-trip exactly in both modes, NaN payloads included.
//!
//! The code is split into the private modules `bits` (bit I/O), `predict` (length-prefixed and
//! Rice codes, the predictor), `encode` (the value encoders) and `decode` (the decoder, with
//! fast paths for whole chunks).

use super::bits::BitWriter;
pub use super::decode::Samples;
use super::decode::{Decoder, extend_window};
use super::encode::{Codec, Dec, Xor, decimal, smallest_scale, widest_scale};
use super::predict::{Predictor, put_length_prefixed, zigzag};

/// The bit pattern of Prometheus' staleness marker, a NaN.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Whether `v` is Prometheus' staleness marker (compared by bit pattern: other NaNs are not).
pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// The most samples one chunk holds before a new chunk is started.
pub const MAX_SAMPLES: u16 = 120;

/// Why a sample was not appended to a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkAppendError {
    /// The chunk already holds [`MAX_SAMPLES`] samples.
    Full,
    /// The timestamp is not after the chunk's last one.
    OutOfOrder,
}

/// A sealed, immutable chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    min_t: i64,
    max_t: i64,
    count: u16,
    data: Box<[u8]>,
}

impl Chunk {
    /// Rebuilds a chunk from its parts (as stored in a file), decoding it fully to check that
    /// it holds `count` samples in strictly increasing time from `min_t` to `max_t` and no
    /// trailing bytes.
    pub fn from_parts(
        min_t: i64,
        max_t: i64,
        count: u16,
        data: Vec<u8>,
    ) -> Result<Chunk, super::Corrupt> {
        if count == 0 || count > MAX_SAMPLES {
            return Err(format!("chunk sample count {count} is not in 1..={MAX_SAMPLES}").into());
        }
        let mut decoder = Decoder::new(&data, count, min_t);
        let mut last = None;
        while let Some((t, _)) = decoder
            .next_sample()
            .map_err(|e| super::Corrupt(e.to_string()))?
        {
            if let Some(prev) = last
                && t <= prev
            {
                return Err(
                    format!("chunk timestamps are not increasing ({t} after {prev})").into(),
                );
            }
            last = Some(t);
        }
        if last != Some(max_t) {
            return Err(format!(
                "chunk's last timestamp {last:?} differs from its stated maximum {max_t}"
            )
            .into());
        }
        let used = decoder.position().div_ceil(8);
        if used != data.len() {
            return Err(
                format!("chunk has {} bytes but its samples use {used}", data.len()).into(),
            );
        }
        Ok(Chunk {
            min_t,
            max_t,
            count,
            data: data.into_boxed_slice(),
        })
    }

    /// The first sample's timestamp.
    pub fn min_t(&self) -> i64 {
        self.min_t
    }

    /// The last sample's timestamp.
    pub fn max_t(&self) -> i64 {
        self.max_t
    }

    /// How many samples the chunk holds.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Never true: a chunk holds at least one sample.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The encoded bit stream.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The samples in time order.
    pub fn iter(&self) -> Samples<'_> {
        Samples::new(&self.data, self.count, self.min_t)
    }

    /// Appends the samples with timestamps in `[start, end]` to `out`, in time order: a
    /// chunk outside the window is not decoded, and the samples of one inside it are decoded
    /// straight into `out`, in decimal mode mostly by a loop for the common codes.
    pub fn extend_window(&self, start: i64, end: i64, out: &mut Vec<(i64, f64)>) {
        let span = (self.min_t, self.max_t);
        extend_window(&self.data, self.count, span, (start, end), out);
    }
}

/// The chunk being appended to: the bit writer and the encoder's state.
#[derive(Debug, Clone)]
pub struct HeadChunk {
    min_t: i64,
    max_t: i64,
    count: u16,
    writer: BitWriter,
    /// Predicts the next delta.
    t_pred: Predictor,
    /// The value codec writing the chunk.
    active: Codec,
    /// The other mode, costed but not written, to choose the next chunk's mode.
    shadow: Codec,
    active_cost: u64,
    shadow_cost: u64,
}

impl HeadChunk {
    /// A chunk holding one sample, in decimal mode when `v` is a short decimal.
    pub fn new(t: i64, v: f64) -> HeadChunk {
        let bits = v.to_bits();
        match smallest_scale(bits) {
            Some(k) => HeadChunk::with_mode(t, bits, true, k),
            None => HeadChunk::with_mode(t, bits, false, 0),
        }
    }

    /// The chunk to follow this one, in whichever value mode was cheaper here.
    pub fn successor(&self, t: i64, v: f64) -> HeadChunk {
        let (dec, dec_cost, xor_cost) = match (&self.active, &self.shadow) {
            (Codec::Dec(d), _) => (d, self.active_cost, self.shadow_cost),
            (_, Codec::Dec(d)) => (d, self.shadow_cost, self.active_cost),
            _ => return HeadChunk::new(t, v),
        };
        // A scale too small made the decimal cost meaningless: retry with the right one.
        let decimal = dec.needed > dec.k || dec_cost < xor_cost;
        HeadChunk::with_mode(t, v.to_bits(), decimal, dec.needed)
    }

    fn with_mode(t: i64, bits: u64, decimal_mode: bool, k: u8) -> HeadChunk {
        // At least the first value's digits, at most what its magnitude allows.
        let k = k
            .max(smallest_scale(bits).unwrap_or(0))
            .min(widest_scale(bits).unwrap_or(0));
        let dec = Codec::Dec(Dec::new(k, bits));
        let xor = Codec::Xor(Xor::new(bits));
        let (active, shadow, mode) = if decimal_mode {
            (dec, xor, u64::from(k) + 1)
        } else {
            (xor, dec, 0)
        };
        let mut writer = BitWriter::with_capacity(16);
        writer.write(mode, 4);
        match decimal(bits, k).filter(|_| decimal_mode) {
            Some(n) => {
                writer.write(1, 1);
                put_length_prefixed(&mut writer, zigzag(n) + 1);
            }
            None => {
                if decimal_mode {
                    writer.write(0, 1);
                }
                writer.write(bits, 64);
            }
        }
        HeadChunk {
            min_t: t,
            max_t: t,
            count: 1,
            writer,
            t_pred: Predictor::default(),
            active,
            shadow,
            active_cost: 0,
            shadow_cost: 0,
        }
    }

    /// Appends a sample after the last one.
    pub fn append(&mut self, t: i64, v: f64) -> Result<(), ChunkAppendError> {
        if self.count >= MAX_SAMPLES {
            return Err(ChunkAppendError::Full);
        }
        if t <= self.max_t {
            return Err(ChunkAppendError::OutOfOrder);
        }
        let delta = t.wrapping_sub(self.max_t);
        if self.count == 1 {
            // Positive: `t > max_t`, and the wrapping difference as u64 is exact.
            put_length_prefixed(&mut self.writer, delta as u64);
            self.t_pred.observe(delta);
        } else {
            self.t_pred.encode(Some(&mut self.writer), delta);
        }
        let bits = v.to_bits();
        self.active_cost += u64::from(self.active.encode(bits, Some(&mut self.writer)));
        self.shadow_cost += u64::from(self.shadow.encode(bits, None));
        self.max_t = t;
        self.count += 1;
        if self.count == MAX_SAMPLES {
            self.writer.shrink_to_fit();
        }
        Ok(())
    }

    /// The first sample's timestamp.
    pub fn min_t(&self) -> i64 {
        self.min_t
    }

    /// The last sample's timestamp.
    pub fn max_t(&self) -> i64 {
        self.max_t
    }

    /// How many samples the chunk holds.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Never true: a chunk holds at least one sample.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the chunk holds [`MAX_SAMPLES`] samples.
    pub fn is_full(&self) -> bool {
        self.count >= MAX_SAMPLES
    }

    /// The encoded bit stream so far.
    pub fn data(&self) -> &[u8] {
        self.writer.bytes()
    }

    /// Bytes allocated for the bit stream.
    pub fn capacity(&self) -> usize {
        self.writer.capacity()
    }

    /// The samples in time order.
    pub fn iter(&self) -> Samples<'_> {
        Samples::new(self.writer.bytes(), self.count, self.min_t)
    }

    /// Appends the samples with timestamps in `[start, end]` to `out`, in time order (see
    /// [`Chunk::extend_window`]).
    pub fn extend_window(&self, start: i64, end: i64, out: &mut Vec<(i64, f64)>) {
        let span = (self.min_t, self.max_t);
        extend_window(self.writer.bytes(), self.count, span, (start, end), out);
    }

    /// Seals the chunk, dropping the encoder's state.
    pub fn seal(self) -> Chunk {
        Chunk {
            min_t: self.min_t,
            max_t: self.max_t,
            count: self.count,
            data: self.writer.into_bytes().into_boxed_slice(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    /// Appends samples across as many chunks as needed, then decodes them all.
    fn round_trip(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
        let mut sealed = Vec::new();
        let mut head: Option<HeadChunk> = None;
        for &(t, v) in samples {
            match &mut head {
                Some(h) => match h.append(t, v) {
                    Ok(()) => {}
                    Err(ChunkAppendError::Full) => {
                        let full = head.take().unwrap();
                        head = Some(full.successor(t, v));
                        sealed.push(full.seal());
                    }
                    Err(e) => panic!("{e:?} at {t}"),
                },
                None => head = Some(HeadChunk::new(t, v)),
            }
        }
        let head = head.unwrap();
        // The head decodes the same before and after sealing, and from its parts.
        let from_head: Vec<_> = head.iter().collect();
        let rebuilt = Chunk::from_parts(
            head.min_t(),
            head.max_t(),
            head.len() as u16,
            head.data().to_vec(),
        )
        .unwrap();
        let head = head.seal();
        assert_eq!(rebuilt, head);
        sealed.push(head);
        let last: Vec<_> = sealed.last().unwrap().iter().collect();
        assert_eq!(
            from_head
                .iter()
                .map(|s| (s.0, s.1.to_bits()))
                .collect::<Vec<_>>(),
            last.iter()
                .map(|s| (s.0, s.1.to_bits()))
                .collect::<Vec<_>>()
        );
        for c in &sealed {
            assert!(c.len() <= usize::from(MAX_SAMPLES));
            assert_eq!(c.iter().count(), c.len());
            assert_eq!(c.iter().next().map(|s| s.0), Some(c.min_t()));
            assert_eq!(c.iter().last().map(|s| s.0), Some(c.max_t()));
            // Decoding into a vector (the fast paths) agrees with the iterator, for the whole
            // chunk and for windows cutting it.
            let all: Vec<(i64, u64)> = c.iter().map(|(t, v)| (t, v.to_bits())).collect();
            let cuts = [c.min_t(), c.max_t(), all[all.len() / 2].0];
            let windows = [
                (i64::MIN, i64::MAX),
                (cuts[0], cuts[1]),
                (cuts[2], i64::MAX),
                (cuts[0].saturating_add(1), cuts[2]),
                (cuts[2], cuts[2]),
            ];
            for (start, end) in windows {
                let mut got = vec![(7, 7.0)];
                c.extend_window(start, end, &mut got);
                let want: Vec<_> = std::iter::once((7, 7f64.to_bits()))
                    .chain(all.iter().copied().filter(|s| (start..=end).contains(&s.0)))
                    .collect();
                let got: Vec<_> = got.iter().map(|&(t, v)| (t, v.to_bits())).collect();
                assert_eq!(got, want, "window {start}..={end}");
            }
        }
        sealed
            .iter()
            .flat_map(Chunk::iter)
            .map(|(t, v)| (t, v.to_bits()))
            .collect()
    }

    fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
        samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
    }

    #[test]
    fn special_values_round_trip_bit_for_bit() {
        let specials = [
            0.0,
            -0.0,
            1.0,
            -1.5,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(STALE_NAN_BITS),
            f64::from_bits(0x7ff8_dead_beef_0001),
            f64::from_bits(0xfff0_0000_0000_0001),
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::from_bits(1),
            f64::EPSILON,
            -1e300,
            123_456_789.0,
        ];
        let samples: Vec<_> = (0..400)
            .map(|i| (i as i64 * 1000, specials[(i * 7) % specials.len()]))
            .collect();
        assert_eq!(round_trip(&samples), bits(&samples));
    }

    #[test]
    fn random_values_and_irregular_intervals_round_trip() {
        let mut rng = SmallRng::seed_from_u64(7);
        for _ in 0..20 {
            let mut t: i64 = rng.random_range(-1_000_000_000_000..1_000_000_000_000);
            let mut v = 0.0f64;
            let mut samples = Vec::new();
            for _ in 0..1000 {
                t += match rng.random_range(0..10) {
                    0 => 1,
                    1 => rng.random_range(1..1_000_000_000_000),
                    2 => rng.random_range(1..100),
                    _ => 1000 + rng.random_range(-5..=5),
                };
                v = match rng.random_range(0..6) {
                    0 => v,
                    1 => f64::from_bits(rng.random()),
                    2 => v + f64::from(rng.random_range(0..100u32)),
                    3 => -rng.random::<f64>() * 1e6,
                    4 => (v * 1.0001).floor(),
                    _ => rng.random::<f64>(),
                };
                samples.push((t, v));
            }
            assert_eq!(round_trip(&samples), bits(&samples));
        }
    }

    #[test]
    fn decimal_values_round_trip_across_mode_changes() {
        let mut rng = SmallRng::seed_from_u64(11);
        let mut samples = Vec::new();
        let mut ticks: i64 = 0;
        for i in 0..6000i64 {
            ticks += rng.random_range(0..300);
            // Phases of 600 samples: decimals at growing scales, then noise, then back.
            let v = match (i / 600) % 10 {
                0 => ticks as f64,
                1 => ticks as f64 / 100.0,
                2 => (ticks as f64 / 1000.0).round() / 10.0,
                3 => ticks as f64 / 1e9,
                4 => rng.random::<f64>(),
                5 => ticks as f64 * 4096.0,
                6 => (1u64 << 52) as f64 + ticks as f64, // beyond the decimal limit
                7 => [f64::NAN, f64::from_bits(STALE_NAN_BITS), -0.0, 0.5][i as usize % 4],
                8 => -(ticks as f64) / 1e3,
                _ => (ticks % 7) as f64 * 0.25,
            };
            samples.push((i * 1000 + rng.random_range(-4..=4), v));
        }
        assert_eq!(round_trip(&samples), bits(&samples));
        // Scaled decimals around the widest scale and the limit.
        let edge: Vec<(i64, f64)> = [
            1.125_899_906_842_623e6,
            1.125_899_906_842_624e6,
            0.000_000_001,
            123_456.789_012_345,
            -999_999.999_999_999,
            1e-10,
            9.999_999_999e5,
        ]
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as i64, v))
        .collect();
        assert_eq!(round_trip(&edge), bits(&edge));
    }

    #[test]
    fn decimal_mode_compresses_two_decimal_counters() {
        let mut head = HeadChunk::new(0, 1234.56);
        let mut ticks = 123_456i64;
        for i in 1..120 {
            ticks += 7 + i % 5;
            head.append(i * 1000, ticks as f64 / 100.0).unwrap();
        }
        // XOR coding needs about 6 bytes a sample for such values.
        assert!(head.data().len() < 160, "{}", head.data().len());
        assert_eq!(head.iter().last().map(|s| s.1), Some(ticks as f64 / 100.0));
    }

    #[test]
    fn extreme_timestamps_round_trip() {
        let samples = [
            (i64::MIN, 1.0),
            (i64::MIN + 1, 2.0),
            (-1, 3.0),
            (0, 4.0),
            (i64::MAX - 1, 5.0),
            (i64::MAX, 6.0),
        ];
        assert_eq!(round_trip(&samples), bits(&samples));
        // Every delta-of-delta bucket boundary.
        let mut t = 0i64;
        let mut delta = 1i64 << 42;
        let mut samples = vec![(t, 0.0)];
        for n in [5u32, 9, 14, 24, 40] {
            let half = 1i64 << (n - 1);
            for dod in [0, -half, -half - 1, half - 1, half, 1 - half, -half] {
                delta += dod;
                t += delta;
                samples.push((t, t as f64));
            }
        }
        assert_eq!(round_trip(&samples), bits(&samples));
    }

    #[test]
    fn missed_scrapes_and_interval_changes_stay_cheap() {
        let mut samples = Vec::new();
        let mut t = 0;
        for i in 0..1200i64 {
            t += match i {
                _ if i % 97 == 0 => 30_000, // a missed scrape
                _ if i < 600 => 15_000,
                _ => 5_000, // the interval changed
            };
            samples.push((t, 1.0));
        }
        assert_eq!(round_trip(&samples), bits(&samples));
        let mut head = HeadChunk::new(0, 1.0);
        let mut t = 0;
        for i in 1..120 {
            t += if i % 40 == 0 { 30_000 } else { 15_000 };
            head.append(t, 1.0).unwrap();
        }
        // About 2 bits a sample, and a few dozen for each of the two gaps.
        assert!(head.data().len() < 60, "{}", head.data().len());
    }

    #[test]
    fn chunks_hold_at_most_120_samples() {
        let mut head = HeadChunk::new(0, 0.0);
        for t in 1..i64::from(MAX_SAMPLES) {
            head.append(t, 1.0).unwrap();
        }
        assert!(head.is_full());
        assert_eq!(head.append(1000, 1.0), Err(ChunkAppendError::Full));
        assert_eq!(head.len(), 120);
    }

    #[test]
    fn out_of_order_and_duplicate_timestamps_are_refused() {
        let mut head = HeadChunk::new(100, 1.0);
        assert_eq!(head.append(100, 2.0), Err(ChunkAppendError::OutOfOrder));
        assert_eq!(head.append(99, 2.0), Err(ChunkAppendError::OutOfOrder));
        head.append(101, 2.0).unwrap();
        assert_eq!(head.iter().map(|s| s.0).collect::<Vec<_>>(), vec![100, 101]);
    }

    #[test]
    fn regular_scrapes_cost_about_two_bits_a_sample_for_constant_values() {
        let mut head = HeadChunk::new(0, 42.0);
        for i in 1..120 {
            head.append(i * 15_000, 42.0).unwrap();
        }
        // Mode 4 bits, 42 as a decimal 1 + 6 + 6, the first delta 6 + 13 and its value 1,
        // then 1 + 1 bits a sample.
        assert_eq!(
            head.data().len(),
            (4 + 13 + 19 + 1 + 118 * 2usize).div_ceil(8)
        );
    }

    #[test]
    fn staleness_marker_is_recognised_by_bits() {
        assert!(is_stale(f64::from_bits(STALE_NAN_BITS)));
        assert!(!is_stale(f64::NAN));
        assert!(!is_stale(1.0));
    }

    #[test]
    fn corrupt_parts_are_errors() {
        let mut head = HeadChunk::new(10, 1.0);
        for t in 11..50 {
            head.append(t * 3, t as f64 * 1.37).unwrap();
        }
        let c = head.seal();
        let (min, max, n, data) = (c.min_t(), c.max_t(), c.len() as u16, c.data().to_vec());
        assert!(Chunk::from_parts(min, max, 0, data.clone()).is_err());
        assert!(Chunk::from_parts(min, max, 121, data.clone()).is_err());
        assert!(Chunk::from_parts(min, max + 1, n, data.clone()).is_err());
        assert!(Chunk::from_parts(min, max, n + 1, data.clone()).is_err());
        assert!(Chunk::from_parts(min, max, n - 1, data.clone()).is_err());
        let mut longer = data.clone();
        longer.push(0);
        assert!(Chunk::from_parts(min, max, n, longer).is_err());
        for cut in 0..data.len() {
            assert!(Chunk::from_parts(min, max, n, data[..cut].to_vec()).is_err());
        }
        // Any bit pattern decodes or fails without panicking.
        let mut rng = SmallRng::seed_from_u64(3);
        for _ in 0..2000 {
            let len = rng.random_range(0..200);
            let junk: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let count = rng.random_range(1..=MAX_SAMPLES);
            let _ = Chunk::from_parts(rng.random(), rng.random(), count, junk);
        }
    }
}
