//! What the coordinator, its workers and `soy apply` say to each other: one JSON value per
//! line over TCP. A second's block travels with its HDR histograms in the V2 deflate
//! encoding (base64), so the coordinator's merge is the exact merge of the workers'
//! recordings: nothing is rounded on the way.

use std::collections::BTreeMap;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader, Lines};

use crate::load::segment::Share;
use crate::load::shape::TracePoints;
use crate::load::stats::{Block, Entry};
use crate::manifest::model::Load;

/// Longest line read (a block of many request names with their histograms fits easily).
const MAX_LINE: usize = 64 << 20;

/// Why a message could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("the connection failed")]
    Io(#[from] std::io::Error),
    #[error("a message is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("a message is longer than {MAX_LINE} bytes")]
    TooLong,
    #[error("a histogram cannot be encoded: {0}")]
    Encode(String),
    #[error("a histogram cannot be decoded: {0}")]
    Decode(String),
}

/// What a worker runs: the manifest's `load:` and what it needs besides.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub load: Load,
    /// The manifest's `vars`, for the request templates.
    #[serde(default)]
    pub vars: BTreeMap<String, serde_json::Value>,
    /// A trace shape's points (the worker cannot read the manifest's files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TracePoints>,
    /// Worker threads per worker (default: the CPUs it may use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// This worker's part of the plan (set by the coordinator).
    #[serde(default = "whole")]
    pub share: Share,
    /// When the load starts, in Unix milliseconds (set by the coordinator).
    #[serde(default)]
    pub start_unix_ms: u64,
}

fn whole() -> Share {
    Share::WHOLE
}

/// What to do when a worker stops sending before the end.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OnLoss {
    /// Go on with the others; the lost worker's seconds until its loss are kept.
    #[default]
    Continue,
    /// Stop every worker: the run ends incomplete.
    Abort,
}

/// What `soy apply` asks of the coordinator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    pub job: Job,
    /// The scenario's request names (every block has one entry per name).
    pub names: usize,
    /// Workers to wait for before starting (`None`: those connected after `wait_s`, at
    /// least one; a global service's count is not known in advance).
    pub workers: Option<u64>,
    pub on_loss: OnLoss,
    /// Longest wait for the workers, in seconds.
    pub wait_s: f64,
}

/// A worker's facts as the coordinator keeps them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct WorkerReport {
    pub index: u64,
    /// The worker's host name (its task's container).
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    /// Closed model: user-seconds alive; open model: iterations started.
    pub met: u64,
    /// What its share of the plan asked over the seconds run: user-seconds or arrivals.
    pub planned: u64,
    /// What its share of the whole plan asked (to the run's end).
    pub planned_total: u64,
    /// CPU seconds it used, and the CPUs it could use.
    pub cpu_s: f64,
    pub cpus: f64,
    /// Seconds of load it ran.
    pub wall_s: f64,
    /// The last second it delivered.
    pub last_second: Option<u64>,
    /// Why it was lost, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
    /// What went wrong on the worker itself (a configuration it could not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    /// Worker → coordinator, first: who it is.
    Worker { name: String, cpus: f64 },
    /// `soy apply` → coordinator, first: what to run.
    Order(Box<Order>),
    /// Coordinator → worker: run this.
    Run(Box<Job>),
    /// Worker → coordinator: its share's planned users (user-seconds) or arrivals, per second.
    Plan { per_second: Vec<u64> },
    /// Worker → coordinator: one of its seconds, and the CPU seconds it has used so far;
    /// coordinator → `soy apply`: one second merged over every worker.
    Block {
        block: WireBlock,
        #[serde(default)]
        cpu_s: f64,
    },
    /// Worker → coordinator: its load ended (`error`: it could not run).
    End {
        cpu_s: f64,
        wall_s: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// `soy apply` → coordinator → workers: stop now.
    Stop,
    /// Coordinator → `soy apply`: workers connected so far.
    Waiting {
        connected: u64,
        expected: Option<u64>,
    },
    /// Coordinator → `soy apply`: the load starts at this time with these workers.
    Started {
        start_unix_ms: u64,
        workers: Vec<String>,
    },
    /// Coordinator → `soy apply`: a worker stopped sending before the end.
    Lost { worker: WorkerReport },
    /// Coordinator → `soy apply`: every worker is done; their facts.
    Finished { workers: Vec<WorkerReport> },
    /// Coordinator → `soy apply`: the run could not start.
    Failed { why: String },
}

/// One request name's counters and histogram.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireEntry {
    pub count: u64,
    pub failures: u64,
    pub bytes: u64,
    pub sum_us: u64,
    pub min_us: u64,
    pub max_us: u64,
    /// The histogram, V2 deflate, base64 (absent with no requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hist: Option<String>,
}

/// A `Block` as sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireBlock {
    pub second: u64,
    pub active: u64,
    pub entries: Vec<WireEntry>,
    /// (stat id, error text, count).
    pub failures: Vec<(usize, String, u64)>,
    pub lag: WireEntry,
    pub service: WireEntry,
    pub dropped: u64,
    pub started: u64,
}

fn encode_entry(e: &Entry, ser: &mut V2DeflateSerializer) -> Result<WireEntry, WireError> {
    let hist = if e.count == 0 {
        None
    } else {
        let mut bytes = Vec::new();
        ser.serialize(&e.hist, &mut bytes)
            .map_err(|e| WireError::Encode(format!("{e:?}")))?;
        Some(base64::engine::general_purpose::STANDARD.encode(bytes))
    };
    Ok(WireEntry {
        count: e.count,
        failures: e.failures,
        bytes: e.bytes,
        sum_us: e.sum_us,
        min_us: e.min_us,
        max_us: e.max_us,
        hist,
    })
}

fn decode_entry(w: &WireEntry) -> Result<Entry, WireError> {
    let mut e = Entry {
        count: w.count,
        failures: w.failures,
        bytes: w.bytes,
        sum_us: w.sum_us,
        min_us: w.min_us,
        max_us: w.max_us,
        ..Entry::default()
    };
    if let Some(text) = &w.hist {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| WireError::Decode(e.to_string()))?;
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| WireError::Decode(format!("{e:?}")))?;
        e.hist
            .add(&h)
            .map_err(|e| WireError::Decode(format!("{e:?}")))?;
    }
    Ok(e)
}

impl WireBlock {
    pub fn encode(b: &Block) -> Result<WireBlock, WireError> {
        let mut ser = V2DeflateSerializer::new();
        let mut failures: Vec<(usize, String, u64)> = b
            .failures
            .iter()
            .map(|((id, text), n)| (*id, text.clone(), *n))
            .collect();
        failures.sort();
        Ok(WireBlock {
            second: b.second,
            active: b.active,
            entries: b
                .entries
                .iter()
                .map(|e| encode_entry(e, &mut ser))
                .collect::<Result<_, _>>()?,
            failures,
            lag: encode_entry(&b.lag, &mut ser)?,
            service: encode_entry(&b.service, &mut ser)?,
            dropped: b.dropped,
            started: b.started,
        })
    }

    /// The block, for `names` request names (a block of another scenario is refused).
    pub fn decode(&self, worker: usize, names: usize) -> Result<Block, WireError> {
        if self.entries.len() != names {
            return Err(WireError::Decode(format!(
                "a block of {} request names where the scenario has {names}",
                self.entries.len()
            )));
        }
        let mut b = Block::new(worker, names);
        b.second = self.second;
        b.active = self.active;
        b.entries = self
            .entries
            .iter()
            .map(decode_entry)
            .collect::<Result<_, _>>()?;
        for (id, text, n) in &self.failures {
            if *id < names {
                *b.failures.entry((*id, text.clone())).or_default() += n;
            }
        }
        b.lag = decode_entry(&self.lag)?;
        b.service = decode_entry(&self.service)?;
        b.dropped = self.dropped;
        b.started = self.started;
        Ok(b)
    }
}

/// Writes one message.
pub async fn send(w: &mut (impl AsyncWrite + Unpin), f: &Frame) -> Result<(), WireError> {
    let mut line = serde_json::to_vec(f)?;
    line.push(b'\n');
    w.write_all(&line).await?;
    w.flush().await?;
    Ok(())
}

/// Reads messages line by line.
pub struct Reader<R> {
    lines: Lines<BufReader<R>>,
}

impl<R: tokio::io::AsyncRead + Unpin> Reader<R> {
    pub fn new(r: R) -> Self {
        Reader {
            lines: BufReader::new(r).lines(),
        }
    }

    /// The next message; `None` once the other side closed the connection.
    pub async fn next(&mut self) -> Result<Option<Frame>, WireError> {
        loop {
            let Some(line) = self.lines.next_line().await? else {
                return Ok(None);
            };
            if line.len() > MAX_LINE {
                return Err(WireError::TooLong);
            }
            if line.trim().is_empty() {
                continue;
            }
            return Ok(Some(serde_json::from_str(&line)?));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_histograms_equal_the_histogram_of_the_union() {
        // Three workers' blocks of one second, recorded apart, shipped and merged, against
        // one block that recorded every value itself.
        let mut rng = crate::splitmix::SplitMix(7);
        let values: Vec<u64> = (0..30_000).map(|_| rng.next_u64()).collect();
        let mut union = Block::new(0, 2);
        let mut parts: Vec<Block> = (0..3).map(|w| Block::new(w, 2)).collect();
        for (i, v) in values.iter().enumerate() {
            let us = 50 + v % 2_000_000;
            let name = i % 2;
            let failed = v % 97 == 0;
            union.entries[name].record(us, 100, failed);
            parts[i % 3].entries[name].record(us, 100, failed);
            if failed {
                *union
                    .failures
                    .entry((name, "status: 500".into()))
                    .or_default() += 1;
                *parts[i % 3]
                    .failures
                    .entry((name, "status: 500".into()))
                    .or_default() += 1;
            }
        }
        let mut merged = Block::new(0, 2);
        for p in &parts {
            let wire = WireBlock::encode(p).unwrap();
            let text = serde_json::to_string(&Frame::Block {
                block: wire,
                cpu_s: 0.0,
            })
            .unwrap();
            let Frame::Block { block, .. } = serde_json::from_str(&text).unwrap() else {
                panic!("a block")
            };
            merged.merge(&block.decode(0, 2).unwrap());
        }
        for (m, u) in merged.entries.iter().zip(&union.entries) {
            assert_eq!(m.count, u.count);
            assert_eq!(m.failures, u.failures);
            assert_eq!(m.sum_us, u.sum_us);
            assert_eq!((m.min_us, m.max_us), (u.min_us, u.max_us));
            assert_eq!(m.hist, u.hist, "the merged histogram is the union's");
            for q in [0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
                assert_eq!(m.hist.value_at_quantile(q), u.hist.value_at_quantile(q));
            }
        }
        assert_eq!(merged.failures, union.failures);
    }

    #[test]
    fn a_block_of_another_scenario_is_refused() {
        let b = Block::new(0, 3);
        let wire = WireBlock::encode(&b).unwrap();
        let e = wire.decode(0, 2).unwrap_err();
        assert!(e.to_string().contains("3 request names"), "{e}");
        let mut bad = wire.clone();
        bad.entries.truncate(2);
        bad.entries[0].count = 1;
        bad.entries[0].hist = Some("not base64!".into());
        assert!(bad.decode(0, 2).is_err());
    }
}
