//! The run's latency histograms in HdrHistogram's interval-log format (the text format of
//! Java's `HistogramLogWriter`, each histogram in the compressed V2 encoding, base64): one
//! histogram per request name and second (`latency.hlog`), and one per name over the
//! measured window (`latency-total.hlog`). Stored runs can then be merged and compared
//! exactly, and HdrHistogram's own tools read the files. Values are microseconds. Pure.

use std::time::Duration;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};

/// The per-second file's name in the run directory.
pub const PER_SECOND: &str = "latency.hlog";
/// The measured window's file.
pub const WINDOW: &str = "latency-total.hlog";

#[derive(Debug, thiserror::Error)]
pub enum HlogError {
    #[error("line {line}: not an interval-log line")]
    Parse { line: usize },
    #[error("the histogram of `{tag}` at {start_s} s cannot be decoded: {why}")]
    Decode {
        tag: String,
        start_s: f64,
        why: String,
    },
    #[error("cannot encode the histogram of `{tag}`: {why}")]
    Encode { tag: String, why: String },
}

/// A run's two logs, as file texts (written beside `results.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyLogs {
    pub per_second: String,
    pub window: String,
}

/// One histogram of a log: its request name (`METHOD name`), start (seconds from the
/// load's start) and length.
#[derive(Debug, Clone)]
pub struct Interval {
    pub name: String,
    pub start_s: f64,
    pub duration_s: f64,
    pub hist: Histogram<u64>,
}

/// A log being written: the interval lines so far (headers are added by `finish`).
#[derive(Default)]
pub struct LogWriter {
    body: Vec<u8>,
    serializer: V2DeflateSerializer,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("bytes", &self.body.len())
            .finish()
    }
}

impl LogWriter {
    /// Appends one histogram covering `[start_s, start_s + duration_s)`.
    pub fn add(
        &mut self,
        name: &str,
        start_s: f64,
        duration_s: f64,
        hist: &Histogram<u64>,
    ) -> Result<(), HlogError> {
        let tag = encode_tag(name);
        let fail = |why: String| HlogError::Encode {
            tag: name.to_string(),
            why,
        };
        let mut w = IntervalLogWriterBuilder::new()
            .begin_log_with(&mut self.body, &mut self.serializer)
            .map_err(|e| fail(e.to_string()))?;
        w.write_histogram(
            hist,
            Duration::from_secs_f64(start_s.max(0.0)),
            Duration::from_secs_f64(duration_s.max(0.0)),
            Tag::new(&tag),
        )
        .map_err(|e| fail(e.to_string()))
    }

    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// The whole file: a header naming what it holds, the load's start as StartTime and
    /// BaseTime (interval starts are seconds from it), then the intervals.
    pub fn finish(&self, what: &str, load_start_unix: f64) -> String {
        let mut head = format!(
            "#soy {}: {what}; values in microseconds; tags are request names (METHOD name, percent-encoded)\n",
            env!("CARGO_PKG_VERSION")
        );
        head.push_str(&format!(
            "#[StartTime: {load_start_unix:.3} (seconds since epoch)]\n#[BaseTime: {load_start_unix:.3} (seconds since epoch)]\n"
        ));
        head.push_str("\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n");
        head + &String::from_utf8_lossy(&self.body)
    }
}

/// Reads every interval of a log (the header lines are skipped).
pub fn read(text: &str) -> Result<Vec<Interval>, HlogError> {
    use base64::Engine as _;
    let mut out = Vec::new();
    // The crate's parser does not know the column legend line Java writes; drop it.
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("\"StartTimestamp\""))
        .map(|l| format!("{l}\n"))
        .collect();
    for entry in IntervalLogIterator::new(body.as_bytes()) {
        let entry = entry.map_err(|e| {
            let hdrhistogram::serialization::interval_log::LogIteratorError::ParseError { offset } =
                e;
            HlogError::Parse {
                line: body[..offset.min(body.len())].matches('\n').count() + 1,
            }
        })?;
        let LogEntry::Interval(h) = entry else {
            continue;
        };
        let name = decode_tag(h.tag().map_or("", |t| t.as_str()));
        let start_s = h.start_timestamp().as_secs_f64();
        let decode = |why: String| HlogError::Decode {
            tag: name.clone(),
            start_s,
            why,
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(h.encoded_histogram())
            .map_err(|e| decode(e.to_string()))?;
        let hist: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| decode(format!("{e:?}")))?;
        out.push(Interval {
            name,
            start_s,
            duration_s: h.duration().as_secs_f64(),
            hist,
        });
    }
    Ok(out)
}

/// A tag may not hold `,`, a space or a line break: those (and `%`) are percent-encoded.
fn encode_tag(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '%' | ',' | ' ' | '\r' | '\n' => s.push_str(&format!("%{:02X}", c as u32)),
            c => s.push(c),
        }
    }
    if s.is_empty() { "%".into() } else { s }
}

fn decode_tag(tag: &str) -> String {
    if tag == "%" {
        return String::new();
    }
    let mut out = Vec::with_capacity(tag.len());
    let b = tag.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::stats::histogram;

    #[test]
    fn histograms_round_trip_exactly_with_awkward_names() {
        let mut w = LogWriter::default();
        let names = ["GET /x", "POST /a,b c%20d", "", "GET /ünï\ncode"];
        let mut hists = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let mut h = histogram();
            for v in 1..=(500 * (i as u64 + 1)) {
                h.record(v * 37 % 100_000 + 1).unwrap();
            }
            h.record(3_600_000_000).unwrap();
            w.add(n, i as f64, 1.0, &h).unwrap();
            hists.push(h);
        }
        let text = w.finish("per second", 1_700_000_000.25);
        assert!(text.contains("#[StartTime: 1700000000.250"));
        let back = read(&text).unwrap();
        assert_eq!(back.len(), names.len());
        for ((b, n), h) in back.iter().zip(names).zip(&hists) {
            assert_eq!(b.name, n);
            assert_eq!(&b.hist, h, "{n}");
            assert_eq!(b.hist.len(), h.len());
        }
        assert_eq!(back[3].start_s, 3.0);
        assert_eq!(back[1].duration_s, 1.0);
    }

    #[test]
    fn a_damaged_line_is_an_error_with_its_line() {
        let mut w = LogWriter::default();
        let mut h = histogram();
        h.record(10).unwrap();
        w.add("GET /", 0.0, 1.0, &h).unwrap();
        let text = w.finish("x", 0.0) + "0.000,1.000,0.010,HISTxxx\n";
        assert!(read(&text).is_err());
        let cut = w.finish("x", 0.0).replace(",HIS", ",%%%");
        assert!(read(&cut).is_err());
    }
}
