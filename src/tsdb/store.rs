//! The series store: label sets mapped to compressed chunks, bounded in series count, with
//! Prometheus-style label matchers for selection.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher, Hasher, RandomState};

use regex::Regex;

use super::chunk::{Chunk, HeadChunk};

/// A series' identity: `(name, value)` pairs sorted by name; the metric name is the
/// [`NAME_LABEL`] label.
pub type Labels = Vec<(String, String)>;

/// The label holding the metric name.
pub const NAME_LABEL: &str = "__name__";

/// Why a sample was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The timestamp is not after the series' last one.
    #[error("sample is not after the series' last sample")]
    OutOfOrder,
    /// The sample would start a series beyond the store's bound.
    #[error("the store already holds its maximum number of series")]
    TooManySeries,
    /// The label set names a label twice.
    #[error("label {0:?} appears twice in the label set")]
    DuplicateLabel(String),
}

/// Samples dropped so far, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Samples not after their series' last sample.
    pub out_of_order: u64,
    /// Samples of new series refused because the store was full.
    pub too_many_series: u64,
    /// Samples whose label set named a label twice.
    pub duplicate_labels: u64,
}

/// One series: its labels, sealed chunks in time order and the chunk being appended to.
#[derive(Debug)]
struct Series {
    labels: Labels,
    chunks: Vec<Chunk>,
    head: Option<HeadChunk>,
    last_t: i64,
}

impl Series {
    fn push(&mut self, t: i64, v: f64) {
        if let Some(head) = &mut self.head
            && head.append(t, v).is_ok()
        {
            self.last_t = t;
            return;
        }
        let next = match self.head.take() {
            Some(full) => {
                let next = full.successor(t, v);
                self.chunks.push(full.seal());
                next
            }
            None => HeadChunk::new(t, v),
        };
        self.head = Some(next);
        self.last_t = t;
    }

    /// The samples in `[start, end]`: chunks outside the window are skipped by their time
    /// range, and the rest decoded straight into one vector, sized for the chunks wholly
    /// inside the window.
    fn samples_in(&self, start: i64, end: i64) -> Vec<(i64, f64)> {
        let first = self.chunks.partition_point(|c| c.max_t() < start);
        let sealed = &self.chunks[first..];
        let sealed = &sealed[..sealed.partition_point(|c| c.min_t() <= end)];
        let head = self
            .head
            .as_ref()
            .filter(|h| h.max_t() >= start && h.min_t() <= end);
        let inside = |min_t: i64, max_t: i64| start <= min_t && max_t <= end;
        let len = sealed
            .iter()
            .filter(|c| inside(c.min_t(), c.max_t()))
            .map(Chunk::len)
            .sum::<usize>()
            + head
                .filter(|h| inside(h.min_t(), h.max_t()))
                .map_or(0, HeadChunk::len);
        let mut out = Vec::with_capacity(len);
        for chunk in sealed {
            chunk.extend_window(start, end, &mut out);
        }
        if let Some(head) = head {
            head.extend_window(start, end, &mut out);
        }
        out
    }

    fn label_bytes(&self) -> usize {
        self.labels.capacity() * size_of::<(String, String)>()
            + self
                .labels
                .iter()
                .map(|(n, v)| n.capacity() + v.capacity())
                .sum::<usize>()
    }

    fn chunk_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.data().len()).sum::<usize>()
            + self.head.as_ref().map_or(0, HeadChunk::capacity)
    }
}

/// Where a label-set hash leads: one series, or several on a hash collision.
#[derive(Debug)]
enum Slot {
    One(usize),
    Many(Vec<usize>),
}

/// A hasher for keys that already are hashes.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Registers of a HyperLogLog counting distinct refused series in fixed memory.
const HLL_BITS: u32 = 10;

/// An in-memory, compressed time-series store holding at most `max_series` series.
#[derive(Debug)]
pub struct Store {
    max_series: usize,
    series: Vec<Series>,
    index: HashMap<u64, Slot, BuildHasherDefault<IdentityHasher>>,
    hasher: RandomState,
    samples: u64,
    dropped: Dropped,
    refused: Box<[u8; 1 << HLL_BITS]>,
}

impl Store {
    /// An empty store that refuses series beyond `max_series`.
    pub fn new(max_series: usize) -> Store {
        Store {
            max_series,
            series: Vec::new(),
            index: HashMap::default(),
            hasher: RandomState::new(),
            samples: 0,
            dropped: Dropped::default(),
            refused: Box::new([0; 1 << HLL_BITS]),
        }
    }

    /// Appends a sample to the series named by `labels` (sorted by name here if they are not;
    /// labels with empty values are dropped, as in Prometheus). Dropped samples are counted.
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        let labels = match normalize(labels) {
            Ok(labels) => labels,
            Err(name) => {
                self.dropped.duplicate_labels += 1;
                return Err(AppendError::DuplicateLabel(name));
            }
        };
        let hash = self.hasher.hash_one(&*labels);
        if let Some(i) = self.find(hash, &labels) {
            let series = &mut self.series[i];
            if t <= series.last_t {
                self.dropped.out_of_order += 1;
                return Err(AppendError::OutOfOrder);
            }
            series.push(t, v);
        } else {
            if self.series.len() >= self.max_series {
                self.dropped.too_many_series += 1;
                self.note_refused(&labels);
                return Err(AppendError::TooManySeries);
            }
            let i = self.series.len();
            self.series.push(Series {
                labels: labels.into_owned(),
                chunks: Vec::new(),
                head: Some(HeadChunk::new(t, v)),
                last_t: t,
            });
            self.insert_index(hash, i);
        }
        self.samples += 1;
        Ok(())
    }

    fn find(&self, hash: u64, labels: &Labels) -> Option<usize> {
        match self.index.get(&hash)? {
            Slot::One(i) => Some(*i).filter(|&i| self.series[i].labels == *labels),
            Slot::Many(is) => is
                .iter()
                .copied()
                .find(|&i| self.series[i].labels == *labels),
        }
    }

    fn insert_index(&mut self, hash: u64, i: usize) {
        match self.index.get_mut(&hash) {
            None => {
                self.index.insert(hash, Slot::One(i));
            }
            Some(Slot::One(j)) => {
                let j = *j;
                self.index.insert(hash, Slot::Many(vec![j, i]));
            }
            Some(Slot::Many(is)) => is.push(i),
        }
    }

    /// Records a refused series in the HyperLogLog (fixed keys: the estimate is reproducible).
    fn note_refused(&mut self, labels: &Labels) {
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(labels);
        let register = (hash >> (64 - HLL_BITS)) as usize;
        let rank = ((hash << HLL_BITS) | (1 << (HLL_BITS - 1))).leading_zeros() + 1;
        if let Some(r) = self.refused.get_mut(register) {
            *r = (*r).max(rank as u8);
        }
    }

    /// About how many distinct series were refused (HyperLogLog, ~3% standard error).
    pub fn refused_series_estimate(&self) -> u64 {
        if self.dropped.too_many_series == 0 {
            return 0;
        }
        let m = f64::from(1u32 << HLL_BITS);
        let sum: f64 = self.refused.iter().map(|&r| (-f64::from(r)).exp2()).sum();
        let zeros = self.refused.iter().filter(|&&r| r == 0).count();
        let raw = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        (estimate.round() as u64).clamp(1, self.dropped.too_many_series)
    }

    /// The bound on the number of series.
    pub fn max_series(&self) -> usize {
        self.max_series
    }

    /// How many series the store holds.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// How many samples the store holds.
    pub fn sample_count(&self) -> u64 {
        self.samples
    }

    /// Samples dropped so far, by reason.
    pub fn dropped(&self) -> Dropped {
        self.dropped
    }

    /// A message for the user when series were refused because of the bound.
    pub fn warning(&self) -> Option<String> {
        let samples = self.dropped.too_many_series;
        (samples > 0).then(|| {
            format!(
                "the metrics store is limited to {} series: about {} further series were refused \
                 and their {samples} samples dropped",
                self.max_series,
                self.refused_series_estimate()
            )
        })
    }

    /// Encoded chunk bytes only (the figure Gorilla and Prometheus quote per sample).
    pub fn chunk_bytes(&self) -> usize {
        self.series.iter().map(Series::chunk_bytes).sum()
    }

    /// An estimate of the memory held for samples and labels: encoded chunk bytes (allocated
    /// capacity for the chunks being appended to), chunk and series headers, label strings
    /// and the index entries. Allocator overhead is not counted.
    pub fn bytes(&self) -> usize {
        let series: usize = self
            .series
            .iter()
            .map(|s| {
                s.label_bytes()
                    + s.chunk_bytes()
                    + s.chunks.capacity() * size_of::<Chunk>()
                    + s.head.as_ref().map_or(0, |_| size_of::<HeadChunk>())
            })
            .sum();
        series
            + self.series.capacity() * size_of::<Series>()
            + self.index.capacity() * (size_of::<u64>() + size_of::<Slot>())
            + self.refused.len()
    }

    /// Series matching all `matchers` with at least one sample in `[start, end]`, with only
    /// those samples, sorted by labels.
    pub fn select(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Vec<(Labels, Vec<(i64, f64)>)> {
        // Sorted before decoding: the output is built in order, and sorting moves references
        // rather than results.
        let mut matching: Vec<&Series> = self
            .series
            .iter()
            .filter(|s| matchers.iter().all(|m| m.matches_labels(&s.labels)))
            .collect();
        matching.sort_by(|a, b| a.labels.cmp(&b.labels));
        let mut out = Vec::with_capacity(matching.len());
        for s in matching {
            let samples = s.samples_in(start, end);
            if !samples.is_empty() {
                out.push((s.labels.clone(), samples));
            }
        }
        out
    }

    /// Every label name in use, sorted.
    pub fn label_names(&self) -> Vec<String> {
        let names: BTreeSet<&str> = self
            .series
            .iter()
            .flat_map(|s| s.labels.iter().map(|(n, _)| n.as_str()))
            .collect();
        names.into_iter().map(str::to_string).collect()
    }

    /// Every value of label `name`, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        let values: BTreeSet<&str> = self
            .series
            .iter()
            .filter_map(|s| label_value(&s.labels, name))
            .collect();
        values.into_iter().map(str::to_string).collect()
    }

    /// Each series' labels, sealed chunks and head chunk, in insertion order (for saving).
    pub(super) fn each_series(
        &self,
    ) -> impl Iterator<Item = (&Labels, &[Chunk], Option<&HeadChunk>)> {
        self.series
            .iter()
            .map(|s| (&s.labels, s.chunks.as_slice(), s.head.as_ref()))
    }

    /// Adds a series read from a file, checking what `append` would guarantee.
    pub(super) fn insert_loaded(
        &mut self,
        labels: Labels,
        chunks: Vec<Chunk>,
    ) -> Result<(), super::Corrupt> {
        match normalize(&labels) {
            Ok(Cow::Borrowed(_)) => {}
            _ => {
                return Err(
                    format!("labels {labels:?} are not sorted, unique and non-empty").into(),
                );
            }
        }
        if self.series.len() >= self.max_series {
            return Err(format!("more series than the bound of {}", self.max_series).into());
        }
        let hash = self.hasher.hash_one(&labels);
        if self.find(hash, &labels).is_some() {
            return Err(format!("series {labels:?} appears twice").into());
        }
        let Some(last) = chunks.last() else {
            return Err(format!("series {labels:?} has no chunks").into());
        };
        let last_t = last.max_t();
        if chunks.windows(2).any(|w| w[1].min_t() <= w[0].max_t()) {
            return Err(format!("chunks of series {labels:?} overlap or are out of order").into());
        }
        self.samples += chunks.iter().map(|c| c.len() as u64).sum::<u64>();
        let i = self.series.len();
        self.series.push(Series {
            labels,
            chunks,
            head: None,
            last_t,
        });
        self.insert_index(hash, i);
        Ok(())
    }
}

/// The value of label `name`, if present.
fn label_value<'a>(labels: &'a Labels, name: &str) -> Option<&'a str> {
    labels
        .binary_search_by(|(n, _)| n.as_str().cmp(name))
        .ok()
        .and_then(|i| labels.get(i))
        .map(|(_, v)| v.as_str())
}

/// Labels sorted by name without empty values, borrowed when they already are; the name of a
/// duplicated label otherwise.
fn normalize(labels: &Labels) -> Result<Cow<'_, Labels>, String> {
    let canonical =
        labels.windows(2).all(|w| w[0].0 < w[1].0) && labels.iter().all(|(_, v)| !v.is_empty());
    if canonical {
        return Ok(Cow::Borrowed(labels));
    }
    let mut sorted = labels.clone();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(w[0].0.clone());
    }
    sorted.retain(|(_, v)| !v.is_empty());
    Ok(Cow::Owned(sorted))
}

/// How a [`Matcher`] compares a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`, a fully anchored regular expression
    Re,
    /// `!~`
    NotRe,
}

/// A label matcher, as in `{name="value"}`. A missing label matches like an empty value.
/// Build it with [`Matcher::new`], which compiles the regular expression; changing the public
/// fields afterwards does not recompile it.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// The comparison.
    pub op: MatchOp,
    /// The value or regular expression.
    pub value: String,
    re: Option<Regex>,
}

impl Matcher {
    /// A matcher; regular expressions are anchored at both ends as Prometheus does
    /// (`^(?s:re)$`: `.` also matches a newline).
    pub fn new(
        name: impl Into<String>,
        op: MatchOp,
        value: impl Into<String>,
    ) -> Result<Matcher, super::TsdbError> {
        let name = name.into();
        let value = value.into();
        let re = match op {
            MatchOp::Equal | MatchOp::NotEqual => None,
            MatchOp::Re | MatchOp::NotRe => {
                Some(Regex::new(&format!("^(?s:{value})$")).map_err(|source| {
                    super::TsdbError::Regex {
                        name: name.clone(),
                        value: value.clone(),
                        source,
                    }
                })?)
            }
        };
        Ok(Matcher {
            name,
            op,
            value,
            re,
        })
    }

    /// Whether a label value (empty when the label is missing) matches.
    pub fn matches(&self, value: &str) -> bool {
        match (self.op, &self.re) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Re, Some(re)) => re.is_match(value),
            (MatchOp::NotRe, Some(re)) => !re.is_match(value),
            // Not built by `new`: nothing matches rather than guessing.
            (MatchOp::Re | MatchOp::NotRe, None) => false,
        }
    }

    /// Whether a label set matches.
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(label_value(labels, &self.name).unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn m(name: &str, op: MatchOp, value: &str) -> Matcher {
        Matcher::new(name, op, value).unwrap()
    }

    /// The `job` values of the series the matchers select over all time, sorted.
    fn jobs(store: &Store, matchers: &[Matcher]) -> Vec<String> {
        let mut jobs: Vec<String> = store
            .select(matchers, i64::MIN, i64::MAX)
            .into_iter()
            .map(|(l, _)| label_value(&l, "job").unwrap_or("").to_string())
            .collect();
        jobs.sort();
        jobs
    }

    #[test]
    fn out_of_order_samples_are_dropped_and_counted() {
        let mut store = Store::new(10);
        let l = labels(&[("__name__", "up")]);
        store.append(&l, 1000, 1.0).unwrap();
        assert_eq!(store.append(&l, 1000, 2.0), Err(AppendError::OutOfOrder));
        assert_eq!(store.append(&l, 999, 2.0), Err(AppendError::OutOfOrder));
        store.append(&l, 1001, 3.0).unwrap();
        assert_eq!(store.dropped().out_of_order, 2);
        assert_eq!(store.sample_count(), 2);
        let got = store.select(&[], 0, 2000);
        assert_eq!(got, vec![(l, vec![(1000, 1.0), (1001, 3.0)])]);
        // Another series keeps its own order.
        store.append(&labels(&[("__name__", "x")]), 5, 1.0).unwrap();
        assert!(store.warning().is_none());
    }

    #[test]
    fn labels_are_normalised_and_duplicates_refused() {
        let mut store = Store::new(10);
        store
            .append(&labels(&[("b", "2"), ("a", "1"), ("c", "")]), 1, 1.0)
            .unwrap();
        store
            .append(&labels(&[("a", "1"), ("b", "2")]), 2, 2.0)
            .unwrap();
        assert_eq!(store.series_count(), 1);
        assert_eq!(
            store.append(&labels(&[("a", "1"), ("a", "2")]), 3, 1.0),
            Err(AppendError::DuplicateLabel("a".into()))
        );
        assert_eq!(store.dropped().duplicate_labels, 1);
        assert_eq!(store.label_names(), vec!["a", "b"]);
    }

    fn matcher_store() -> Store {
        let mut store = Store::new(100);
        for (job, extra) in [
            ("api", Some(("env", "prod"))),
            ("web", Some(("env", ""))),
            ("db", Some(("env", "staging"))),
            ("cache", None),
            ("multi\nline", Some(("env", "prod\n"))),
        ] {
            let mut l = labels(&[("__name__", "up"), ("job", job)]);
            if let Some((n, v)) = extra {
                l.push((n.into(), v.into()));
            }
            store.append(&l, 10, 1.0).unwrap();
        }
        store
    }

    #[test]
    fn equality_matchers_treat_a_missing_label_as_empty() {
        let s = matcher_store();
        assert_eq!(jobs(&s, &[m("env", MatchOp::Equal, "prod")]), vec!["api"]);
        // `web` had env="" which is no label at all, like `cache`.
        assert_eq!(
            jobs(&s, &[m("env", MatchOp::Equal, "")]),
            vec!["cache", "web"]
        );
        assert_eq!(
            jobs(&s, &[m("env", MatchOp::NotEqual, "")]),
            vec!["api", "db", "multi\nline"]
        );
        assert_eq!(
            jobs(&s, &[m("env", MatchOp::NotEqual, "prod")]),
            vec!["cache", "db", "multi\nline", "web"]
        );
        assert_eq!(jobs(&s, &[m("nope", MatchOp::Equal, "")]).len(), 5);
        assert!(jobs(&s, &[m("nope", MatchOp::NotEqual, "")]).is_empty());
        assert!(jobs(&s, &[m("__name__", MatchOp::Equal, "down")]).is_empty());
    }

    #[test]
    fn regex_matchers_are_fully_anchored() {
        let s = matcher_store();
        assert_eq!(
            jobs(&s, &[m("job", MatchOp::Re, "a")]),
            Vec::<String>::new()
        );
        assert_eq!(jobs(&s, &[m("job", MatchOp::Re, "a.*")]), vec!["api"]);
        assert_eq!(
            jobs(&s, &[m("job", MatchOp::Re, "api|db")]),
            vec!["api", "db"]
        );
        // `.` matches a newline, as in Prometheus.
        assert_eq!(
            jobs(&s, &[m("job", MatchOp::Re, "multi.line")]),
            vec!["multi\nline"]
        );
        assert_eq!(
            jobs(&s, &[m("env", MatchOp::Re, "prod.")]),
            vec!["multi\nline"]
        );
        assert_eq!(jobs(&s, &[m("env", MatchOp::Re, "")]), vec!["cache", "web"]);
        assert_eq!(
            jobs(&s, &[m("env", MatchOp::Re, "|prod")]),
            vec!["api", "cache", "web"]
        );
        assert_eq!(
            jobs(&s, &[m("job", MatchOp::NotRe, "a.*|c.*")]),
            vec!["db", "multi\nline", "web"]
        );
        assert_eq!(
            jobs(&s, &[m("env", MatchOp::NotRe, ".+")]),
            vec!["cache", "web"]
        );
        // All matchers must hold.
        assert_eq!(
            jobs(
                &s,
                &[
                    m("env", MatchOp::Re, ".+"),
                    m("job", MatchOp::NotEqual, "api")
                ]
            ),
            vec!["db", "multi\nline"]
        );
    }

    #[test]
    fn a_bad_regex_is_an_error() {
        let err = Matcher::new("job", MatchOp::Re, "a(b")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid regular expression \"a(b\" for label \"job\""),
            "{err}"
        );
        assert!(Matcher::new("job", MatchOp::NotRe, "[").is_err());
        // Not a regex: any text is a literal.
        assert!(Matcher::new("job", MatchOp::Equal, "a(b").is_ok());
    }

    #[test]
    fn unicode_label_values_of_every_class_match_exactly() {
        let values = [
            "🚀",                           // emoji (astral plane)
            "👩\u{200d}💻",                 // ZWJ sequence
            "🇫🇷",                           // regional indicators
            "e\u{301}",                     // combining acute accent (decomposed é)
            "é",                            // precomposed é: a different value
            "مرحبا بالعالم",                // Arabic, right to left
            "שָׁלוֹם",                         // Hebrew with points
            "\u{202e}reversed",             // right-to-left override
            "漢字かなカナ한국어",           // CJK
            "\t\u{1}\u{1f}\u{7f}\u{1b}[0m", // control characters (no NUL)
            "\u{85}\u{2028}\u{2029}",       // Unicode line separators
            "\u{feff}bom",                  // byte-order mark
            "\u{fffd}\u{ffff}\u{10ffff}",   // replacement, non-characters
            "Ω≈ç√∫",                        // symbols
            " spaced ",                     // surrounding spaces
            "\"quoted\\",                   // quote and backslash
        ];
        let mut store = Store::new(100);
        for (i, v) in values.iter().enumerate() {
            let l = labels(&[("__name__", "u"), ("v", v)]);
            store.append(&l, i as i64, i as f64).unwrap();
        }
        assert_eq!(store.series_count(), values.len());
        for v in values {
            let got = store.select(&[m("v", MatchOp::Equal, v)], 0, 100);
            assert_eq!(got.len(), 1, "{v:?}");
            assert_eq!(label_value(&got[0].0, "v"), Some(v));
            let escaped = regex::escape(v);
            assert_eq!(
                store.select(&[m("v", MatchOp::Re, &escaped)], 0, 100).len(),
                1,
                "{v:?}"
            );
            assert_eq!(
                store.select(&[m("v", MatchOp::NotEqual, v)], 0, 100).len(),
                values.len() - 1
            );
        }
        // One character, whatever its width in bytes.
        let one_char = store.select(&[m("v", MatchOp::Re, ".")], 0, 100);
        let got: Vec<_> = one_char
            .iter()
            .filter_map(|(l, _)| label_value(l, "v"))
            .collect();
        assert_eq!(got, vec!["é", "🚀"]);
        let mut sorted: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        sorted.sort();
        assert_eq!(store.label_values("v"), sorted);
        assert_eq!(store.label_values("__name__"), vec!["u"]);
        assert!(store.label_values("absent").is_empty());
    }

    #[test]
    fn select_returns_only_samples_in_the_inclusive_window() {
        let mut store = Store::new(10);
        let a = labels(&[("__name__", "a")]);
        let b = labels(&[("__name__", "b")]);
        // 1000 samples: 9 chunks, so windows cross and skip chunks.
        for i in 0..1000i64 {
            store.append(&a, i * 10, i as f64).unwrap();
        }
        store.append(&b, 5000, 1.0).unwrap();
        let window = |start, end| {
            store
                .select(&[m("__name__", MatchOp::Equal, "a")], start, end)
                .into_iter()
                .flat_map(|(_, s)| s.into_iter().map(|(t, _)| t))
                .collect::<Vec<_>>()
        };
        assert_eq!(window(1190, 1210), vec![1190, 1200, 1210]);
        assert_eq!(window(1191, 1209), vec![1200]);
        assert_eq!(window(1191, 1199), Vec::<i64>::new());
        assert_eq!(window(-100, 0), vec![0]);
        assert_eq!(window(9990, 20000), vec![9990]);
        assert_eq!(window(0, 9990).len(), 1000);
        assert_eq!(window(i64::MIN, i64::MAX).len(), 1000);
        assert_eq!(window(500, 100), Vec::<i64>::new());
        let expected: Vec<i64> = (2345..=4567).filter(|t| t % 10 == 0).collect();
        assert_eq!(window(2345, 4567), expected);
        // Series without samples in the window are left out; the rest are sorted by labels.
        let all = store.select(&[], 4990, 5000);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].0, a);
        assert_eq!(all[0].1, vec![(4990, 499.0), (5000, 500.0)]);
        assert_eq!(all[1], (b.clone(), vec![(5000, 1.0)]));
        assert_eq!(store.select(&[], 5001, 5009).len(), 0);
    }

    #[test]
    fn series_beyond_the_bound_are_refused_and_memory_stays_bounded() {
        let max = 1000;
        let mut store = Store::new(max);
        for i in 0..max {
            let l = labels(&[("__name__", "req"), ("id", &i.to_string())]);
            store.append(&l, 0, 1.0).unwrap();
        }
        let full = store.bytes();
        assert!(store.warning().is_none());
        for i in 0..100_000 {
            let l = labels(&[("__name__", "req"), ("id", &format!("new-{i}"))]);
            assert_eq!(store.append(&l, 1, 1.0), Err(AppendError::TooManySeries));
        }
        // Refusing a series a second time counts its sample, not a new series.
        let again = labels(&[("__name__", "req"), ("id", "new-0")]);
        assert_eq!(
            store.append(&again, 2, 1.0),
            Err(AppendError::TooManySeries)
        );
        assert_eq!(store.bytes(), full);
        assert_eq!(store.series_count(), max);
        assert_eq!(store.dropped().too_many_series, 100_001);
        let estimate = store.refused_series_estimate();
        assert!((85_000..=115_000).contains(&estimate), "{estimate}");
        let warning = store.warning().unwrap();
        assert!(warning.contains("limited to 1000 series"), "{warning}");
        assert!(
            warning.contains(&format!("about {estimate} further series")),
            "{warning}"
        );
        assert!(warning.contains("100001 samples dropped"), "{warning}");
        // Known series still take samples.
        let known = labels(&[("__name__", "req"), ("id", "7")]);
        store.append(&known, 5, 2.0).unwrap();
        assert_eq!(store.sample_count(), 1001);
    }

    #[test]
    fn a_zero_bound_refuses_everything() {
        let mut store = Store::new(0);
        let l = labels(&[("__name__", "x")]);
        assert_eq!(store.append(&l, 0, 1.0), Err(AppendError::TooManySeries));
        assert_eq!(store.refused_series_estimate(), 1);
        assert!(store.select(&[], i64::MIN, i64::MAX).is_empty());
    }

    #[test]
    fn bytes_grow_with_samples_and_count_labels() {
        let mut store = Store::new(10);
        let empty = store.bytes();
        let l = labels(&[("__name__", "x".repeat(1000).as_str())]);
        store.append(&l, 0, 1.0).unwrap();
        assert!(store.bytes() >= empty + 1008);
        let before = store.chunk_bytes();
        for t in 1..1000 {
            store.append(&l, t * 1000, t as f64 * 0.1).unwrap();
        }
        assert!(store.chunk_bytes() > before + 1000);
        assert!(store.bytes() > store.chunk_bytes());
        assert_eq!(store.sample_count(), 1000);
    }
}
