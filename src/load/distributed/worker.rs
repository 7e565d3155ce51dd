//! `soy worker --coordinator HOST:PORT`: one load worker of a distributed run. It connects to
//! the coordinator (retrying while the coordinator's task starts), says who it is, runs the
//! job it is given from the start time it is given, and ships each second's block with the
//! CPU it has used. A `Stop`, or the coordinator going away, ends its load.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::wire::{self, Frame, Job, Reader, WireBlock, WireError};
use crate::load::engine;
use crate::load::setup::{Overrides, configure};
use crate::load::stats::Block;
use crate::process::procfs::own_cpu_seconds;

/// Why a worker could not take part.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot reach the coordinator at {addr} within {}s", .waited.as_secs())]
    Connect {
        addr: String,
        waited: Duration,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("the coordinator sent {0} where a job was expected")]
    Unexpected(String),
}

pub use crate::load::cpu::cpus;

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| format!("pid-{}", std::process::id()))
}

/// Connects, retrying every 200 ms until `wait` has passed.
pub async fn connect(addr: &str, wait: Duration) -> Result<TcpStream, WorkerError> {
    let until = Instant::now() + wait;
    loop {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(source) if Instant::now() >= until => {
                return Err(WorkerError::Connect {
                    addr: addr.to_string(),
                    waited: wait,
                    source,
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Runs one worker to the end of its job.
pub async fn run(addr: &str, wait: Duration) -> Result<(), WorkerError> {
    let stream = connect(addr, wait).await?;
    let (r, mut w) = stream.into_split();
    let mut reader = Reader::new(r);
    wire::send(
        &mut w,
        &Frame::Worker {
            name: host_name(),
            cpus: cpus(),
        },
    )
    .await?;
    let job = match reader.next().await? {
        Some(Frame::Run(job)) => *job,
        // Not needed after all (the run was stopped before it started).
        Some(Frame::Stop) | None => return Ok(()),
        Some(other) => return Err(WorkerError::Unexpected(kind(&other))),
    };
    let cpu0 = own_cpu_seconds();
    let began = Instant::now();
    let (cfg, plan) = match configured(&job) {
        Ok(c) => c,
        Err(why) => {
            wire::send(
                &mut w,
                &Frame::End {
                    cpu_s: 0.0,
                    wall_s: 0.0,
                    error: Some(why),
                },
            )
            .await?;
            return Ok(());
        }
    };
    wire::send(&mut w, &Frame::Plan { per_second: plan }).await?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Block>();
    let cfg = engine::EngineConfig {
        blocks: Some(tx),
        ..cfg
    };
    let stop = async move {
        // A `Stop`, or the coordinator gone: either ends the load.
        while let Ok(Some(f)) = reader.next().await {
            if matches!(f, Frame::Stop) {
                break;
            }
        }
    };
    let forward = async {
        let mut failed = None;
        while let Some(b) = rx.recv().await {
            if failed.is_some() {
                continue;
            }
            let frame = WireBlock::encode(&b).map(|block| Frame::Block {
                block,
                cpu_s: own_cpu_seconds() - cpu0,
            });
            let sent = match frame {
                Ok(f) => wire::send(&mut w, &f).await,
                Err(e) => Err(e),
            };
            if let Err(e) = sent {
                failed = Some(e);
            }
        }
        (w, failed)
    };
    let (ran, (mut w, failed)) = tokio::join!(engine::run(cfg, stop, |_| {}), forward);
    if let Some(e) = failed {
        return Err(e.into());
    }
    let error = ran.err().map(|e| crate::error::flatten(&e));
    wire::send(
        &mut w,
        &Frame::End {
            cpu_s: own_cpu_seconds() - cpu0,
            wall_s: began.elapsed().as_secs_f64(),
            error,
        },
    )
    .await?;
    Ok(())
}

/// The engine configuration of a job, and its share's plan per second.
fn configured(job: &Job) -> Result<(engine::EngineConfig, Vec<u64>), String> {
    let mut load = job.load.clone();
    // The worker serves no metrics port of its own: the coordinator's merge is the run's.
    load.metrics_port = None;
    let vars = job
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), minijinja::Value::from_serialize(v)))
        .collect();
    let overrides = Overrides {
        workers: job.threads,
        ..Overrides::default()
    };
    let mut cfg = configure(
        &load,
        vars,
        &overrides,
        std::path::Path::new("/"),
        job.trace.as_ref(),
    )
    .map_err(|e| crate::error::flatten(&e))?;
    cfg.share = job.share;
    cfg.start_at = Some(UNIX_EPOCH + Duration::from_millis(job.start_unix_ms));
    // Workers draw different random numbers from one seed.
    cfg.seed = cfg
        .seed
        .map(|s| s.wrapping_add(job.share.index.wrapping_mul(0xD1B5_4A32_D192_ED03)));
    if cfg.start_at.is_some_and(|t| t < SystemTime::now()) {
        eprintln!("soy worker: the start time has passed; starting now");
    }
    let plan = crate::load::segment::planned(
        cfg.model,
        &cfg.segments,
        cfg.spawn_rate,
        cfg.run_time.as_secs_f64(),
        cfg.share,
    );
    Ok((cfg, plan))
}

pub(super) fn kind(f: &Frame) -> String {
    serde_json::to_value(f)
        .ok()
        .and_then(|v| v["type"].as_str().map(|s| format!("`{s}`")))
        .unwrap_or_else(|| "a message".into())
}
