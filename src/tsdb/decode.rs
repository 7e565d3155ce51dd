//! Decoding chunk streams (the format is described in [`super::chunk`]).
//!
//! After the first sample, which fixes the value mode, decoding runs in a [`Core`] specialised
//! to that mode, so that the per-sample loop dispatches nothing and keeps its state in
//! registers.

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
    if !reader.bit() {
        return Ok(prev);
    }
    if reader.bit() {
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
trait Values {
    /// The value after `prev`.
    fn next(&mut self, reader: &mut BitReader<'_>, prev: u64) -> Result<u64, Corrupt>;
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

/// The decimal mode's state.
#[derive(Debug, Clone)]
struct DecValues {
    k: u8,
    /// `10^k`.
    scale: f64,
    prev_n: Option<i64>,
    pred: Predictor,
    window: Window,
}

impl Values for DecValues {
    #[inline(always)]
    fn next(&mut self, reader: &mut BitReader<'_>, prev: u64) -> Result<u64, Corrupt> {
        if !reader.bit() {
            if self.prev_n.is_some() {
                self.pred.observe(0);
            }
            return Ok(prev);
        }
        if reader.bit() {
            let bits = get_xor(reader, prev, &mut self.window)?;
            self.prev_n = decimal(bits, self.k);
            return Ok(bits);
        }
        let p = self.prev_n.ok_or(Corrupt::NoDecimal)?;
        let n = p.wrapping_add(self.pred.decode(reader));
        self.prev_n = Some(n);
        Ok((n as f64 / self.scale).to_bits())
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
    #[inline(always)]
    fn sample(&mut self, delta: i64) -> Result<(i64, f64), Corrupt> {
        self.t = self.t.wrapping_add(delta);
        self.bits = self.values.next(&mut self.reader, self.bits)?;
        if self.reader.overrun() {
            return Err(Corrupt::Truncated);
        }
        Ok((self.t, f64::from_bits(self.bits)))
    }

    /// The second sample: its delta is length-prefixed.
    #[inline(always)]
    fn second(&mut self) -> Result<(i64, f64), Corrupt> {
        let delta = get_length_prefixed(&mut self.reader) as i64;
        self.t_pred.observe(delta);
        self.sample(delta)
    }

    /// A sample after the second: its delta is predicted.
    #[inline(always)]
    fn later(&mut self) -> Result<(i64, f64), Corrupt> {
        let delta = self.t_pred.decode(&mut self.reader);
        self.sample(delta)
    }

    #[inline(always)]
    fn next(&mut self, read: u16) -> Result<(i64, f64), Corrupt> {
        if read == 1 {
            self.second()
        } else {
            self.later()
        }
    }

    /// Appends the `remaining` samples (the second one first) in `[start, end]` to `out`;
    /// `whole` when they all are.
    fn extend(
        mut self,
        remaining: u16,
        whole: bool,
        (start, end): (i64, i64),
        out: &mut Vec<(i64, f64)>,
    ) {
        if remaining == 0 {
            return;
        }
        let Ok(second) = self.second() else { return };
        if whole {
            out.push(second);
            for _ in 1..remaining {
                match self.later() {
                    Ok(sample) => out.push(sample),
                    Err(_) => return,
                }
            }
            return;
        }
        let mut sample = second;
        for left in (0..remaining).rev() {
            if sample.0 > end {
                return;
            }
            if sample.0 >= start {
                out.push(sample);
            }
            if left == 0 {
                return;
            }
            match self.later() {
                Ok(next) => sample = next,
                Err(_) => return,
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
    Dec(Core<'a, DecValues>),
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
    fn extend(mut self, whole: bool, window: (i64, i64), out: &mut Vec<(i64, f64)>) {
        let Ok(Some(first)) = self.next_sample() else {
            return;
        };
        if window.0 <= first.0 && first.0 <= window.1 {
            out.push(first);
        }
        match self.state {
            State::Xor(core) => core.extend(self.remaining, whole, window, out),
            State::Dec(core) => core.extend(self.remaining, whole, window, out),
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
                (n as f64 / scale).to_bits()
            } else {
                reader.read_long(64)
            };
            let values = DecValues {
                k,
                scale,
                prev_n: decimal(bits, k),
                pred: Predictor::default(),
                window: Window::default(),
            };
            (bits, State::Dec(core(reader, t, bits, values)))
        }
        Some(_) => return Err(Corrupt::UnknownMode(mode)),
    };
    let overrun = match &state {
        State::Xor(c) => c.reader.overrun(),
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
    out.reserve(usize::from(count));
    let whole = start <= min_t && max_t <= end;
    Decoder::new(bytes, count, min_t).extend(whole, (start, end), out);
}
