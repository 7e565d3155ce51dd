//! Decoding chunk streams (the format is described in [`super::chunk`]).
//!
//! After the first sample, which fixes the value mode, decoding runs in a [`Core`] specialised
//! to that mode. [`Decoder::next_sample`] checks every sample (for `Chunk::from_parts` and the
//! iterator). [`extend_window`] decodes chunks, valid by construction, without checks and, in
//! decimal mode, mostly in [`Values::fast`]: a loop over a zero-padded copy of the stream that
//! keeps its whole state in registers and reads each sample's bits from one 64-bit buffer
//! refilled once a sample, leaving the rarer codes to the general path.

use std::fmt;

use super::bits::BitReader;
use super::encode::{MAX_SCALE, POW10, decimal};
use super::predict::{Predictor, get_length_prefixed, unzigzag};

/// Why a chunk stream does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Corrupt {
    Truncated,
    UnknownMode(u8),
    WideWindow { lead: u32, sig: u32 },
    NoWindow,
    NoDecimal,
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corrupt::Truncated => write!(f, "chunk bit stream ends early"),
            Corrupt::UnknownMode(m) => write!(f, "chunk has unknown value mode {m}"),
            Corrupt::WideWindow { lead, sig } => write!(
                f,
                "chunk value window of {lead} leading and {sig} significant bits exceeds 64"
            ),
            Corrupt::NoWindow => write!(f, "chunk reuses a value window before opening one"),
            Corrupt::NoDecimal => write!(
                f,
                "chunk has a decimal difference without a decimal before it"
            ),
        }
    }
}

/// An XOR window: the shift of its lowest bit and its width; width 0 before one is opened.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    shift: u32,
    sig: u32,
}

/// Reads an XOR-coded value against `prev`, updating the window.
#[inline(always)]
fn get_xor(reader: &mut BitReader<'_>, prev: u64, window: &mut Window) -> Result<u64, Corrupt> {
    let control = reader.peek();
    if control >> 63 == 0 {
        reader.skip(1);
        return Ok(prev);
    }
    reader.skip(2);
    if control >> 62 == 0b11 {
        let head = reader.read(11) as u32;
        let lead = head >> 6;
        let sig = match head & 63 {
            0 => 64,
            s => s,
        };
        if lead + sig > 64 {
            return Err(Corrupt::WideWindow { lead, sig });
        }
        *window = Window {
            shift: 64 - lead - sig,
            sig,
        };
    } else if window.sig == 0 {
        return Err(Corrupt::NoWindow);
    }
    Ok(prev ^ (reader.read_long(window.sig) << window.shift))
}

/// Reads the values of one mode.
trait Values: Sized {
    /// The value after `prev`.
    fn next(&mut self, reader: &mut BitReader<'_>, prev: u64) -> Result<u64, Corrupt>;

    /// Decodes samples into `slots` from `padded`, the stream's bytes followed by zeros, as
    /// long as they take the common paths; returns how many, leaving `core` before the first
    /// sample it did not decode. (None by default.)
    fn fast(_core: &mut Core<'_, Self>, _padded: &Padded, _slots: &mut [(i64, f64)]) -> usize {
        0
    }
}

/// Streams up to this many bytes are decoded from a zero-padded copy, without bounds checks.
const PAD: usize = 1024;

/// A stream's bytes followed by zeros.
type Padded = [u8; PAD + 8];

/// A bit buffer over a [`Padded`] stream for the fast paths, held in locals: the next bits
/// left-aligned in `buf` (`avail` of them), the next bytes to load at `next`. Refilled once a
/// sample: the load's address is known a sample ahead, so its latency hides, and the sample's
/// bits come from a register.
#[derive(Clone, Copy)]
struct Buffer {
    buf: u64,
    avail: u32,
    next: usize,
}

impl Buffer {
    /// At bit `pos`.
    #[inline(always)]
    fn at(padded: &Padded, pos: usize) -> Buffer {
        let mut b = Buffer {
            buf: 0,
            avail: 0,
            next: pos >> 3,
        };
        b.refill(padded);
        b.consume((pos & 7) as u32);
        b
    }

    /// The bit position.
    #[inline(always)]
    fn position(self) -> usize {
        self.next * 8 - self.avail as usize
    }

    /// Makes at least 56 bits available (`avail` < 64 before).
    #[inline(always)]
    fn refill(&mut self, padded: &Padded) {
        // The mask changes nothing within the stream and proves the bounds.
        let start = self.next & (PAD - 1);
        let word = padded[start..start + 8].try_into().unwrap_or([0; 8]);
        // The low three bits of `avail` survive; the loaded bits past the top 56 are the
        // next byte's, loaded again (OR-ed in as the same bits) by the next refill.
        self.buf |= u64::from_be_bytes(word) >> self.avail;
        self.next += ((63 - self.avail) >> 3) as usize;
        self.avail |= 56;
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.avail -= n;
    }
}

/// The XOR mode's state.
#[derive(Debug, Clone, Default)]
struct XorValues {
    window: Window,
}

impl Values for XorValues {
    #[inline(always)]
    fn next(&mut self, reader: &mut BitReader<'_>, prev: u64) -> Result<u64, Corrupt> {
        get_xor(reader, prev, &mut self.window)
    }
}

/// The decimal mode's state; `INTEGER` when `k` is 0 (no division then).
#[derive(Debug, Clone)]
struct DecValues<const INTEGER: bool> {
    k: u8,
    /// `10^k`.
    scale: f64,
    prev_n: Option<i64>,
    pred: Predictor,
    window: Window,
}

impl<const INTEGER: bool> DecValues<INTEGER> {
    fn new(k: u8, prev_n: Option<i64>) -> Self {
        DecValues {
            k,
            scale: POW10[usize::from(k)],
            prev_n,
            pred: Predictor::default(),
            window: Window::default(),
        }
    }
}

impl<const INTEGER: bool> Values for DecValues<INTEGER> {
    /// Samples whose delta and value difference have Rice codes within one refill, and
    /// repeated values, once both predictors have started and the last value was decimal.
    #[inline(never)]
    fn fast(core: &mut Core<'_, Self>, padded: &Padded, slots: &mut [(i64, f64)]) -> usize {
        let (mut t_pred, mut pred) = (core.t_pred, core.values.pred);
        let Some(mut n) = core.values.prev_n else {
            return 0;
        };
        if !t_pred.is_started() || !pred.is_started() {
            return 0;
        }
        // The state in locals, each sample committed once decoded. The value stays decimal
        // (escapes leave the loop), so its bits follow from `n`.
        let mut b = Buffer::at(padded, core.reader.position());
        let (mut t, mut v, scale) = (core.t, f64::from_bits(core.bits), core.values.scale);
        let mut written = 0;
        // Where the sample being decoded starts.
        let mut start = b.position();
        for slot in slots.iter_mut() {
            start = b.position();
            b.refill(padded);
            let mut next_t_pred = t_pred;
            // Leaving the two bits of the value's control.
            let Some((delta, len)) = next_t_pred.decode_word(b.buf, b.avail - 2) else {
                break;
            };
            b.consume(len);
            let mut next_pred = pred;
            if b.buf >> 63 == 0 {
                b.consume(1);
                next_pred.observe_zero();
            } else if b.buf >> 62 == 0b10 {
                b.consume(2);
                b.refill(padded);
                let Some((d, len)) = next_pred.decode_word(b.buf, b.avail) else {
                    break;
                };
                b.consume(len);
                n = n.wrapping_add(d);
                v = if INTEGER {
                    to_f64(n)
                } else {
                    to_f64(n) / scale
                };
            } else {
                break;
            }
            (t_pred, pred) = (next_t_pred, next_pred);
            t = t.wrapping_add(delta);
            *slot = (t, v);
            written += 1;
        }
        if written == slots.len() {
            start = b.position();
        }
        core.reader.seek(start);
        (core.t, core.bits, core.t_pred) = (t, v.to_bits(), t_pred);
        (core.values.pred, core.values.prev_n) = (pred, Some(n));
        written
    }

    #[inline(always)]
    fn next(&mut self, reader: &mut BitReader<'_>, prev: u64) -> Result<u64, Corrupt> {
        let control = reader.peek();
        if control >> 63 == 0 {
            reader.skip(1);
            if self.prev_n.is_some() {
                self.pred.observe(0);
            }
            return Ok(prev);
        }
        reader.skip(2);
        if control >> 62 == 0b11 {
            let bits = get_xor(reader, prev, &mut self.window)?;
            self.prev_n = decimal(bits, self.k);
            return Ok(bits);
        }
        let p = self.prev_n.ok_or(Corrupt::NoDecimal)?;
        let n = p.wrapping_add(self.pred.decode(reader));
        self.prev_n = Some(n);
        if INTEGER {
            Ok(to_f64(n).to_bits())
        } else {
            Ok((to_f64(n) / self.scale).to_bits())
        }
    }
}

/// `n as f64`, but without `cvtsi2sd`, whose false dependency on its destination register
/// would chain each sample's conversion and division to the previous sample's.
#[inline(always)]
fn to_f64(n: i64) -> f64 {
    /// `1.5 * 2^52`: adding `|n| < 2^51` to its bits adds `n` to it.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    if n.unsigned_abs() < 1 << 51 {
        f64::from_bits(MAGIC.to_bits().wrapping_add(n as u64)) - MAGIC
    } else {
        n as f64
    }
}

/// The decoder after the first sample, for values of one mode.
#[derive(Debug, Clone)]
struct Core<'a, V> {
    reader: BitReader<'a>,
    t: i64,
    t_pred: Predictor,
    bits: u64,
    values: V,
}

impl<V: Values> Core<'_, V> {
    /// The sample after a `delta`; with `CHECKED`, an error if the stream ended before it.
    /// (Chunks were checked when built, so decoding them again needs no check: past the end
    /// the reader reads zeros, and the count stops decoding.)
    #[inline(always)]
    fn sample<const CHECKED: bool>(&mut self, delta: i64) -> Result<(i64, f64), Corrupt> {
        self.t = self.t.wrapping_add(delta);
        self.bits = self.values.next(&mut self.reader, self.bits)?;
        if CHECKED && self.reader.overrun() {
            return Err(Corrupt::Truncated);
        }
        Ok((self.t, f64::from_bits(self.bits)))
    }

    /// The second sample: its delta is length-prefixed.
    #[inline(always)]
    fn second<const CHECKED: bool>(&mut self) -> Result<(i64, f64), Corrupt> {
        let delta = get_length_prefixed(&mut self.reader) as i64;
        self.t_pred.observe(delta);
        self.sample::<CHECKED>(delta)
    }

    /// A sample after the second: its delta is predicted.
    #[inline(always)]
    fn later<const CHECKED: bool>(&mut self) -> Result<(i64, f64), Corrupt> {
        let delta = self.t_pred.decode(&mut self.reader);
        self.sample::<CHECKED>(delta)
    }

    #[inline(always)]
    fn next(&mut self, read: u16) -> Result<(i64, f64), Corrupt> {
        if read == 1 {
            self.second::<true>()
        } else {
            self.later::<true>()
        }
    }

    /// Appends the `remaining` samples (the second one first) in `[start, end]` to `out`;
    /// `whole` when they all are, and then they are decoded straight into `out`, resized
    /// first.
    fn extend(
        mut self,
        remaining: u16,
        whole: bool,
        window: (i64, i64),
        out: &mut Vec<(i64, f64)>,
        padded: Option<&Padded>,
    ) {
        if !whole {
            self.extend_window(remaining, window, out);
            return;
        }
        let base = out.len();
        out.resize(base + usize::from(remaining), (0, 0.0));
        let slots = out.get_mut(base..).unwrap_or_default();
        let written = self.fill(slots, padded);
        out.truncate(base + written);
    }

    /// Decodes samples into `slots` while there are slots; returns how many. With `padded`
    /// (the stream's bytes, zero-padded) the mode's fast path decodes most of them.
    fn fill(&mut self, slots: &mut [(i64, f64)], padded: Option<&Padded>) -> usize {
        let Some(slot) = slots.first_mut() else {
            return 0;
        };
        let Ok(second) = self.second::<false>() else {
            return 0;
        };
        *slot = second;
        let mut written = 1;
        while written < slots.len() {
            if let Some(padded) = padded {
                written += V::fast(self, padded, slots.get_mut(written..).unwrap_or_default());
            }
            // A sample off the fast path.
            let Some(slot) = slots.get_mut(written) else {
                break;
            };
            match self.later::<false>() {
                Ok(sample) => *slot = sample,
                Err(_) => break,
            }
            written += 1;
        }
        written
    }

    /// Appends the `remaining` samples (the second one first) that lie in `[start, end]`.
    fn extend_window(
        &mut self,
        remaining: u16,
        (start, end): (i64, i64),
        out: &mut Vec<(i64, f64)>,
    ) {
        for i in 0..remaining {
            let next = if i == 0 {
                self.second::<false>()
            } else {
                self.later::<false>()
            };
            let Ok(sample) = next else { break };
            if sample.0 > end {
                break;
            }
            if sample.0 >= start {
                out.push(sample);
            }
        }
    }
}

/// Where the decoder is.
#[derive(Debug, Clone)]
enum State<'a> {
    /// Before the first sample.
    Start(BitReader<'a>),
    Xor(Core<'a, XorValues>),
    Int(Core<'a, DecValues<true>>),
    Dec(Core<'a, DecValues<false>>),
    /// After an error: the position where it happened.
    Failed(usize),
}

/// Decodes a bit stream, reporting corruption.
#[derive(Debug, Clone)]
pub(super) struct Decoder<'a> {
    state: State<'a>,
    min_t: i64,
    remaining: u16,
    read: u16,
}

impl<'a> Decoder<'a> {
    pub(super) fn new(bytes: &'a [u8], count: u16, min_t: i64) -> Decoder<'a> {
        Decoder {
            state: State::Start(BitReader::new(bytes)),
            min_t,
            remaining: count,
            read: 0,
        }
    }

    /// Bits consumed so far.
    pub(super) fn position(&self) -> usize {
        match &self.state {
            State::Start(r) => r.position(),
            State::Xor(c) => c.reader.position(),
            State::Int(c) => c.reader.position(),
            State::Dec(c) => c.reader.position(),
            State::Failed(pos) => *pos,
        }
    }

    /// The next sample; an error on a corrupt stream, then `None`.
    #[inline]
    pub(super) fn next_sample(&mut self) -> Result<Option<(i64, f64)>, Corrupt> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let sample = match &mut self.state {
            State::Start(reader) => first_sample(reader.clone(), self.min_t),
            State::Xor(core) => core.next(self.read).map(|s| (s, None)),
            State::Int(core) => core.next(self.read).map(|s| (s, None)),
            State::Dec(core) => core.next(self.read).map(|s| (s, None)),
            State::Failed(_) => return Ok(None),
        };
        match sample {
            Ok((sample, state)) => {
                if let Some(state) = state {
                    self.state = state;
                }
                self.remaining -= 1;
                self.read += 1;
                Ok(Some(sample))
            }
            Err(e) => {
                self.state = State::Failed(self.position());
                self.remaining = 0;
                Err(e)
            }
        }
    }

    /// Appends the samples in `[start, end]` to `out`, stopping early on a corrupt stream;
    /// `whole` when they all are.
    fn extend(
        mut self,
        whole: bool,
        window: (i64, i64),
        out: &mut Vec<(i64, f64)>,
        padded: Option<&Padded>,
    ) {
        let Ok(Some(first)) = self.next_sample() else {
            return;
        };
        if window.0 <= first.0 && first.0 <= window.1 {
            out.push(first);
        }
        match self.state {
            State::Xor(core) => core.extend(self.remaining, whole, window, out, padded),
            State::Int(core) => core.extend(self.remaining, whole, window, out, padded),
            State::Dec(core) => core.extend(self.remaining, whole, window, out, padded),
            State::Start(_) | State::Failed(_) => {}
        }
    }
}

/// The first sample (`min_t` and its value) and the state after it: the mode, then the value
/// raw or, in decimal mode, a flag and maybe `zigzag(n) + 1`.
#[cold]
fn first_sample(
    mut reader: BitReader<'_>,
    t: i64,
) -> Result<((i64, f64), Option<State<'_>>), Corrupt> {
    let mode = reader.read(4) as u8;
    let (bits, state) = match mode.checked_sub(1) {
        None => {
            let bits = reader.read_long(64);
            let values = XorValues::default();
            (bits, State::Xor(core(reader, t, bits, values)))
        }
        Some(k) if k <= MAX_SCALE => {
            let scale = POW10[usize::from(k)];
            let bits = if reader.bit() {
                let n = unzigzag(get_length_prefixed(&mut reader).wrapping_sub(1));
                (to_f64(n) / scale).to_bits()
            } else {
                reader.read_long(64)
            };
            let prev_n = decimal(bits, k);
            let state = if k == 0 {
                State::Int(core(reader, t, bits, DecValues::new(k, prev_n)))
            } else {
                State::Dec(core(reader, t, bits, DecValues::new(k, prev_n)))
            };
            (bits, state)
        }
        Some(_) => return Err(Corrupt::UnknownMode(mode)),
    };
    let overrun = match &state {
        State::Xor(c) => c.reader.overrun(),
        State::Int(c) => c.reader.overrun(),
        State::Dec(c) => c.reader.overrun(),
        State::Start(_) | State::Failed(_) => false,
    };
    if overrun {
        return Err(Corrupt::Truncated);
    }
    Ok(((t, f64::from_bits(bits)), Some(state)))
}

fn core<V>(reader: BitReader<'_>, t: i64, bits: u64, values: V) -> Core<'_, V> {
    Core {
        reader,
        t,
        t_pred: Predictor::default(),
        bits,
        values,
    }
}

/// The samples of a chunk, in time order; stops early on a corrupt stream.
#[derive(Debug, Clone)]
pub struct Samples<'a>(Decoder<'a>);

impl<'a> Samples<'a> {
    pub(super) fn new(bytes: &'a [u8], count: u16, min_t: i64) -> Samples<'a> {
        Samples(Decoder::new(bytes, count, min_t))
    }
}

impl Iterator for Samples<'_> {
    type Item = (i64, f64);

    #[inline]
    fn next(&mut self) -> Option<(i64, f64)> {
        self.0.next_sample().ok().flatten()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.0.remaining)))
    }
}

/// Appends the samples of a chunk (`count` samples from `min_t` to `max_t`) that lie in
/// `[start, end]` to `out`, stopping early on a corrupt stream.
pub(super) fn extend_window(
    bytes: &[u8],
    count: u16,
    (min_t, max_t): (i64, i64),
    (start, end): (i64, i64),
    out: &mut Vec<(i64, f64)>,
) {
    if max_t < start || min_t > end {
        return;
    }
    let whole = start <= min_t && max_t <= end;
    let decoder = Decoder::new(bytes, count, min_t);
    if !whole {
        decoder.extend(false, (start, end), out, None);
        return;
    }
    out.reserve(usize::from(count));
    // The fast path is decimal mode's (the first 4 bits are the mode, 0 for XOR).
    let decimal_mode = bytes.first().is_some_and(|b| b >> 4 != 0);
    if decimal_mode && bytes.len() <= PAD {
        let mut buffer = [0; PAD + 8];
        if let Some(copy) = buffer.get_mut(..bytes.len()) {
            copy.copy_from_slice(bytes);
        }
        decoder.extend(true, (start, end), out, Some(&buffer));
    } else {
        decoder.extend(true, (start, end), out, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_convert_as_casts_do() {
        let edges = [
            0,
            1,
            -1,
            1 << 50,
            -(1 << 50),
            (1 << 51) - 1,
            1 - (1 << 51),
            1 << 51,
        ];
        let extremes = [-(1 << 51), (1 << 53) + 1, i64::MAX, i64::MIN, i64::MIN + 1];
        for n in edges.into_iter().chain(extremes) {
            assert_eq!(to_f64(n).to_bits(), (n as f64).to_bits(), "{n}");
        }
    }
}
