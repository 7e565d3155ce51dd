//! Saving a [`Store`] to a compact binary file and loading it back.
//!
//! The format, in order (integers little-endian; `uvarint` is unsigned LEB128, 7 bits a byte,
//! at most 10 bytes; `varint` is a zigzag-encoded signed LEB128):
//!
//! | bytes | field |
//! | --- | --- |
//! | 8 | magic `SOYTSDB1` (ASCII) |
//! | 1 | format version, `1` |
//! | uvarint | the store's `max_series` bound |
//! | uvarint | series count |
//! | | per series: |
//! | uvarint | label count |
//! | | per label, sorted by name, names unique, values non-empty: |
//! | uvarint, n | name length, then the name's UTF-8 bytes |
//! | uvarint, n | value length, then the value's UTF-8 bytes |
//! | uvarint | chunk count (at least 1) |
//! | | per chunk, in time order, not overlapping: |
//! | varint | min t (milliseconds; the first sample's timestamp) |
//! | uvarint | max t − min t |
//! | uvarint | sample count (1 to 120) |
//! | uvarint, n | byte length, then the chunk's bit stream (see [`super::chunk`]) |
//! | 4 | CRC-32 (IEEE, as in zlib) of every byte before it, little-endian |
//!
//! Loading checks every field and decodes every chunk, so a truncated or corrupt file is an
//! error naming the problem and its byte offset, never a panic.

use std::path::Path;

use super::chunk::Chunk;
use super::error::{Corrupt, TsdbError};
use super::store::{Labels, Store};

const MAGIC: &[u8; 8] = b"SOYTSDB1";
const VERSION: u8 = 1;

/// Writes the whole store to `path` (through a temporary file renamed into place).
pub fn save(store: &Store, path: &Path) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, to_bytes(store))?;
    std::fs::rename(&tmp, path)
}

/// Reads a store written by [`save`].
pub fn load(path: &Path) -> Result<Store, TsdbError> {
    let bytes = std::fs::read(path).map_err(|source| TsdbError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    from_bytes(&bytes).map_err(|source| TsdbError::Damaged {
        path: path.to_path_buf(),
        source,
    })
}

/// The file's bytes for `store`.
pub fn to_bytes(store: &Store) -> Vec<u8> {
    let mut out = Vec::with_capacity(store.chunk_bytes() + 1024);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    put_uvarint(&mut out, store.max_series() as u64);
    put_uvarint(&mut out, store.series_count() as u64);
    for (labels, chunks, head) in store.each_series() {
        put_uvarint(&mut out, labels.len() as u64);
        for (name, value) in labels {
            put_bytes(&mut out, name.as_bytes());
            put_bytes(&mut out, value.as_bytes());
        }
        let parts = chunks
            .iter()
            .map(|c| (c.min_t(), c.max_t(), c.len(), c.data()))
            .chain(head.map(|h| (h.min_t(), h.max_t(), h.len(), h.data())));
        put_uvarint(
            &mut out,
            (chunks.len() + usize::from(head.is_some())) as u64,
        );
        for (min_t, max_t, count, data) in parts {
            put_uvarint(&mut out, zigzag(min_t));
            put_uvarint(&mut out, max_t.wrapping_sub(min_t) as u64);
            put_uvarint(&mut out, count as u64);
            put_bytes(&mut out, data);
        }
    }
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Parses a file's bytes.
pub fn from_bytes(bytes: &[u8]) -> Result<Store, Corrupt> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(MAGIC.len(), "the magic")? != MAGIC {
        return Err("not a soy metrics file (the magic is not SOYTSDB1)"
            .to_string()
            .into());
    }
    let version = r.take(1, "the version")?[0];
    if version != VERSION {
        return Err(format!("unsupported format version {version} (expected {VERSION})").into());
    }
    let max_series = r.uvarint("the series bound")?;
    let max_series = usize::try_from(max_series)
        .map_err(|_| format!("series bound {max_series} does not fit this machine"))?;
    let mut store = Store::new(max_series);
    let series_count = r.uvarint("the series count")?;
    for s in 0..series_count {
        let what = |field: &str| format!("{field} of series {s}");
        let label_count = r.uvarint(&what("the label count"))?;
        let mut labels: Labels = Vec::new();
        for _ in 0..label_count {
            let name = r.string(&what("a label name"))?;
            let value = r.string(&what("a label value"))?;
            labels.push((name, value));
        }
        let chunk_count = r.uvarint(&what("the chunk count"))?;
        let mut chunks = Vec::new();
        for c in 0..chunk_count {
            let what = |field: &str| format!("{field} of chunk {c} of series {s}");
            let min_t = unzigzag(r.uvarint(&what("min t"))?);
            let max_t = min_t.wrapping_add(r.uvarint(&what("max t"))? as i64);
            let count = r.uvarint(&what("the sample count"))?;
            let count = u16::try_from(count)
                .map_err(|_| format!("{} is {count}, too many", what("the sample count")))?;
            let len = r.uvarint(&what("the byte length"))?;
            let data = r.take_u64(len, &what("the bytes"))?;
            let chunk = Chunk::from_parts(min_t, max_t, count, data.to_vec())
                .map_err(|e| format!("{}: {e}", what("the data")))?;
            chunks.push(chunk);
        }
        store
            .insert_loaded(labels, chunks)
            .map_err(|e| format!("series {s} at byte {}: {e}", r.pos))?;
    }
    let body_end = r.pos;
    let stored = r.take(4, "the checksum")?;
    let stored = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
    if r.pos != bytes.len() {
        return Err(format!(
            "{} unexpected bytes after the checksum",
            bytes.len() - r.pos
        )
        .into());
    }
    let computed = crc32(&bytes[..body_end]);
    if stored != computed {
        return Err(format!(
            "checksum mismatch (stored {stored:08x}, computed {computed:08x}): the file is corrupt"
        )
        .into());
    }
    Ok(store)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Corrupt> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "the file ends at byte {} while reading {what} ({n} bytes needed, {} left)",
                self.bytes.len(),
                self.bytes.len() - self.pos
            )
            .into());
        };
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn take_u64(&mut self, n: u64, what: &str) -> Result<&'a [u8], Corrupt> {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        self.take(n, what)
    }

    fn uvarint(&mut self, what: &str) -> Result<u64, Corrupt> {
        let start = self.pos;
        let mut out = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = self.take(1, what)?[0];
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                break;
            }
            out |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(format!("{what} at byte {start} is a varint longer than 64 bits").into())
    }

    fn string(&mut self, what: &str) -> Result<String, Corrupt> {
        let len = self.uvarint(what)?;
        let start = self.pos;
        let bytes = self.take_u64(len, what)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|e| Corrupt(format!("{what} at byte {start} is not UTF-8: {e}")))
    }
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_uvarint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE 802.3, the polynomial zlib and PNG use).
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsdb::{MatchOp, Matcher, STALE_NAN_BITS};

    fn sample_store() -> Store {
        let mut store = Store::new(50);
        let values = [
            f64::NAN,
            f64::from_bits(STALE_NAN_BITS),
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            -12.5,
            1e300,
        ];
        for s in 0..7 {
            let labels = vec![
                ("__name__".to_string(), format!("metric_{}", s % 3)),
                ("emoji".to_string(), "🚀\u{301}مرحبا\t".to_string()),
                ("series".to_string(), s.to_string()),
            ];
            let mut t = -5_000i64 + s;
            for i in 0..(40 * s + 1) {
                t += 1 + (i * 7919 % 3000) + if i % 50 == 0 { 1 << 40 } else { 0 };
                let v = if i % 11 == 0 {
                    values[(i % 7) as usize]
                } else {
                    (i * s) as f64 / 100.0
                };
                store.append(&labels, t, v).unwrap();
            }
        }
        store
    }

    fn everything(store: &Store) -> Vec<(Labels, Vec<(i64, u64)>)> {
        store
            .select(&[], i64::MIN, i64::MAX)
            .into_iter()
            .map(|(l, s)| (l, s.into_iter().map(|(t, v)| (t, v.to_bits())).collect()))
            .collect()
    }

    fn temp_path(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("soy-tsdb-{}-{name}", std::process::id()))
    }

    #[test]
    fn a_store_round_trips_through_a_file() {
        let store = sample_store();
        let path = temp_path("round-trip");
        save(&store, &path).unwrap();
        let loaded = load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(everything(&loaded), everything(&store));
        assert_eq!(loaded.series_count(), store.series_count());
        assert_eq!(loaded.sample_count(), store.sample_count());
        assert_eq!(loaded.max_series(), 50);
        assert_eq!(loaded.label_names(), store.label_names());
        // Saving the loaded store gives the same bytes (series order and chunks are kept).
        assert_eq!(to_bytes(&loaded), to_bytes(&store));
        let m = Matcher::new("series", MatchOp::Re, "[0-3]").unwrap();
        let count = |s: &Store| s.select(std::slice::from_ref(&m), 0, i64::MAX).len();
        assert_eq!(count(&loaded), 4);
        assert_eq!(count(&store), 4);
    }

    #[test]
    fn a_loaded_store_keeps_order_and_takes_new_samples() {
        let mut store = Store::new(5);
        let l = vec![("__name__".to_string(), "x".to_string())];
        for t in 0..300 {
            store.append(&l, t * 1000, t as f64).unwrap();
        }
        let mut loaded = from_bytes(&to_bytes(&store)).unwrap();
        assert_eq!(
            loaded.append(&l, 299_000, 1.0),
            Err(crate::tsdb::AppendError::OutOfOrder)
        );
        loaded.append(&l, 300_000, 300.0).unwrap();
        let got = loaded.select(&[], 298_000, i64::MAX);
        assert_eq!(
            got[0].1,
            vec![(298_000, 298.0), (299_000, 299.0), (300_000, 300.0)]
        );
        assert_eq!(
            everything(&from_bytes(&to_bytes(&loaded)).unwrap()),
            everything(&loaded)
        );
    }

    #[test]
    fn an_empty_store_round_trips() {
        let bytes = to_bytes(&Store::new(0));
        assert_eq!(&bytes[..8], b"SOYTSDB1");
        let loaded = from_bytes(&bytes).unwrap();
        assert_eq!(loaded.series_count(), 0);
        assert_eq!(loaded.max_series(), 0);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = to_bytes(&sample_store());
        for len in 0..bytes.len() {
            let err = from_bytes(&bytes[..len]).err();
            assert!(err.is_some(), "truncated to {len} bytes was accepted");
        }
        let err = from_bytes(&bytes[..bytes.len() / 2]).unwrap_err().0;
        assert!(err.contains("the file ends at byte"), "{err}");
    }

    #[test]
    fn every_corrupted_byte_is_an_error() {
        let bytes = to_bytes(&sample_store());
        for i in 0..bytes.len() {
            for flip in [0x01, 0x80] {
                let mut bad = bytes.clone();
                bad[i] ^= flip;
                assert!(
                    from_bytes(&bad).is_err(),
                    "byte {i} ^ {flip:#x} was accepted"
                );
            }
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let good = to_bytes(&sample_store());
        let mut magic = good.clone();
        magic[0] = b'X';
        assert!(
            from_bytes(&magic)
                .unwrap_err()
                .0
                .contains("not a soy metrics file")
        );
        let mut version = good.clone();
        version[8] = 9;
        assert!(
            from_bytes(&version)
                .unwrap_err()
                .0
                .contains("unsupported format version 9")
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(
            from_bytes(&trailing)
                .unwrap_err()
                .0
                .contains("1 unexpected bytes after")
        );
        let mut flipped = good.clone();
        let last_data = good.len() - 5;
        flipped[last_data] ^= 0x01;
        let err = from_bytes(&flipped).unwrap_err().0;
        assert!(
            err.contains("checksum mismatch") || err.contains("chunk"),
            "{err}"
        );
        // A varint that never ends.
        let mut endless = b"SOYTSDB1\x01".to_vec();
        endless.extend([0xff; 20]);
        assert!(
            from_bytes(&endless)
                .unwrap_err()
                .0
                .contains("longer than 64 bits")
        );
        // A huge series count with no data behind it.
        let mut huge = b"SOYTSDB1\x01\x05".to_vec();
        huge.extend([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert!(from_bytes(&huge).unwrap_err().0.contains("ends at byte"));
        let missing = load(&temp_path("missing")).unwrap_err().to_string();
        assert!(missing.starts_with("cannot read"), "{missing}");
    }

    #[test]
    fn invalid_content_with_a_valid_checksum_is_an_error() {
        // Hand-built files: structure checks, not only the checksum, must catch these.
        let build = |body: &[u8]| {
            let mut out = b"SOYTSDB1\x01".to_vec();
            out.extend_from_slice(body);
            let crc = crc32(&out);
            out.extend_from_slice(&crc.to_le_bytes());
            out
        };
        // max 5, 1 series, 1 label with invalid UTF-8.
        let err = from_bytes(&build(&[5, 1, 1, 1, b'a', 1, 0xff]))
            .unwrap_err()
            .0;
        assert!(err.contains("not UTF-8"), "{err}");
        // Labels out of order.
        let err = from_bytes(&build(&[5, 1, 2, 1, b'b', 1, b'1', 1, b'a', 1, b'1', 0]))
            .unwrap_err()
            .0;
        assert!(err.contains("not sorted"), "{err}");
        // A series without chunks.
        let err = from_bytes(&build(&[5, 1, 0, 0])).unwrap_err().0;
        assert!(err.contains("has no chunks"), "{err}");
        // More series than the bound.
        let err = from_bytes(&build(&[0, 1, 0, 0])).unwrap_err().0;
        assert!(err.contains("more series than the bound"), "{err}");
        // A chunk claiming 200 samples.
        let err = from_bytes(&build(&[5, 1, 0, 1, 0, 0, 200, 1, 1, 0]))
            .unwrap_err()
            .0;
        assert!(err.contains("sample count 200"), "{err}");
    }
}
