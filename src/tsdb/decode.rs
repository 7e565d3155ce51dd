//! Decoding chunk streams (the format is described in [`super::chunk`]).

use super::bits::BitReader;
use super::encode::{MAX_SCALE, POW10, decimal};
use super::predict::{Predictor, get_length_prefixed, unzigzag};

fn truncated() -> String {
    "chunk bit stream ends early".to_string()
}

/// An XOR window: the shift of its lowest bit and its width. Width 0 before one is opened.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    shift: u32,
    sig: u32,
}

/// Reads an XOR-coded value against `prev`, updating the window.
#[inline]
fn get_xor(reader: &mut BitReader<'_>, prev: u64, window: &mut Window) -> Result<u64, String> {
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
            return Err(format!(
                "chunk value window of {lead} leading and {sig} significant bits exceeds 64"
            ));
        }
        *window = Window {
            shift: 64 - lead - sig,
            sig,
        };
    } else if window.sig == 0 {
        return Err("chunk reuses a value window before opening one".to_string());
    }
    Ok(prev ^ (reader.read_long(window.sig) << window.shift))
}

/// The decoder's side of the value mode.
#[derive(Debug, Clone)]
enum Values {
    Xor {
        window: Window,
    },
    Dec {
        k: u8,
        /// `10^k`.
        scale: f64,
        prev_n: Option<i64>,
        pred: Predictor,
        window: Window,
    },
}

/// Decodes a bit stream, reporting corruption.
#[derive(Debug, Clone)]
pub(super) struct Decoder<'a> {
    reader: BitReader<'a>,
    remaining: u16,
    read: u16,
    t: i64,
    t_pred: Predictor,
    bits: u64,
    values: Values,
}

impl<'a> Decoder<'a> {
    pub(super) fn new(bytes: &'a [u8], count: u16, min_t: i64) -> Decoder<'a> {
        Decoder {
            reader: BitReader::new(bytes),
            remaining: count,
            read: 0,
            t: min_t,
            t_pred: Predictor::default(),
            bits: 0,
            values: Values::Xor {
                window: Window::default(),
            },
        }
    }

    /// Bits consumed so far.
    pub(super) fn position(&self) -> usize {
        self.reader.position()
    }

    /// The next sample; an error on a corrupt stream (and after it).
    #[inline]
    pub(super) fn next_sample(&mut self) -> Result<Option<(i64, f64)>, String> {
        if self.remaining == 0 {
            return Ok(None);
        }
        if self.read == 0 {
            self.first_sample()?;
        } else {
            let delta = if self.read == 1 {
                let delta = get_length_prefixed(&mut self.reader) as i64;
                self.t_pred.observe(delta);
                delta
            } else {
                self.t_pred.decode(&mut self.reader)
            };
            self.t = self.t.wrapping_add(delta);
            self.bits = self.read_value()?;
        }
        if self.reader.overrun() {
            self.remaining = 0;
            return Err(truncated());
        }
        self.remaining -= 1;
        self.read += 1;
        Ok(Some((self.t, f64::from_bits(self.bits))))
    }

    /// The mode and the first value: raw, or in decimal mode a flag and maybe `zigzag(n) + 1`.
    #[cold]
    fn first_sample(&mut self) -> Result<(), String> {
        let mode = self.reader.read(4) as u8;
        let window = Window::default();
        self.values = match mode.checked_sub(1) {
            None => {
                self.bits = self.reader.read_long(64);
                Values::Xor { window }
            }
            Some(k) if k <= MAX_SCALE => {
                let scale = POW10[usize::from(k)];
                self.bits = if self.reader.bit() {
                    let n = unzigzag(get_length_prefixed(&mut self.reader).wrapping_sub(1));
                    (n as f64 / scale).to_bits()
                } else {
                    self.reader.read_long(64)
                };
                Values::Dec {
                    k,
                    scale,
                    prev_n: decimal(self.bits, k),
                    pred: Predictor::default(),
                    window,
                }
            }
            Some(_) => {
                self.remaining = 0;
                return Err(format!("chunk has unknown value mode {mode}"));
            }
        };
        Ok(())
    }

    #[inline]
    fn read_value(&mut self) -> Result<u64, String> {
        let prev = self.bits;
        let r = &mut self.reader;
        let value = match &mut self.values {
            Values::Xor { window } => get_xor(r, prev, window),
            Values::Dec {
                k,
                scale,
                prev_n,
                pred,
                window,
            } => {
                if !r.bit() {
                    if prev_n.is_some() {
                        pred.observe(0);
                    }
                    return Ok(prev);
                }
                if r.bit() {
                    let bits = get_xor(r, prev, window);
                    if let Ok(bits) = bits {
                        *prev_n = decimal(bits, *k);
                    }
                    bits
                } else if let Some(p) = *prev_n {
                    let n = p.wrapping_add(pred.decode(r));
                    *prev_n = Some(n);
                    Ok((n as f64 / *scale).to_bits())
                } else {
                    Err("chunk has a decimal difference without a decimal before it".to_string())
                }
            }
        };
        if value.is_err() {
            self.remaining = 0;
        }
        value
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
    let mut decoder = Decoder::new(bytes, count, min_t);
    out.reserve(usize::from(count));
    if start <= min_t && max_t <= end {
        while let Ok(Some(sample)) = decoder.next_sample() {
            out.push(sample);
        }
    } else {
        while let Ok(Some(sample)) = decoder.next_sample() {
            if sample.0 > end {
                break;
            }
            if sample.0 >= start {
                out.push(sample);
            }
        }
    }
}
