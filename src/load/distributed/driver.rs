//! The distributed driver behind `LoadDriver`: deploys the coordinator and workers
//! (`swarm`), sends the order over the coordinator's published port on 127.0.0.1, follows the
//! merged seconds into soy's live line, rows and `soy_*` exposition exactly as the local
//! engine's collector does, and builds `Results` from them. A lost coordinator ends the load
//! with what was received kept; the services are removed in every case.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

use super::swarm::{Deployed, SwarmSetup};
use super::wire::{self, Frame, Job, OnLoss, Order, Reader, WireError, WorkerReport};
use crate::load::engine::{self, Collector, EngineConfig};
use crate::load::exporter::Exposition;
use crate::load::live::Live;
use crate::load::results::Results;
use crate::manifest::model::Workload;
use crate::stack::StackError;

/// Why a distributed run produced no results.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot start soy's coordinator and workers on the swarm")]
    Swarm(#[source] StackError),
    #[error("the coordinator did not answer on 127.0.0.1:{port} within {}s", .waited.as_secs())]
    Connect { port: u16, waited: Duration },
    #[error("the coordinator's task ended before the load started: {0}")]
    CoordinatorEnded(String),
    #[error("the distributed load did not start: {0}")]
    NotStarted(String),
    #[error("the coordinator's connection failed before the load started")]
    Wire(#[from] WireError),
    #[error(transparent)]
    Serve(#[from] crate::load::EngineError),
    /// `load.distributed` without the swarm settings the plan resolves (a bug, said as one).
    #[error("the plan holds no swarm settings for `load.distributed`")]
    NotPlanned,
}

/// A distributed run's own facts, in `results.json` and the report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DistributedInfo {
    pub workers: Vec<WorkerReport>,
    pub on_worker_loss: OnLoss,
    /// The share of the whole plan that lost workers did not send (0 to 1).
    pub unsent: f64,
    /// The coordinator went away before the end: the results stop there.
    #[serde(default)]
    pub coordinator_lost: bool,
}

impl DistributedInfo {
    fn new(workers: Vec<WorkerReport>, on_worker_loss: OnLoss, coordinator_lost: bool) -> Self {
        let total: u64 = workers.iter().map(|w| w.planned_total).sum();
        let unsent: u64 = workers
            .iter()
            .filter(|w| w.lost.is_some())
            .map(|w| w.planned_total.saturating_sub(w.planned))
            .sum();
        DistributedInfo {
            unsent: if total == 0 {
                0.0
            } else {
                unsent as f64 / total as f64
            },
            workers,
            on_worker_loss,
            coordinator_lost,
        }
    }
}

/// soy's workers on the swarm, for one load phase.
pub struct DistributedDriver {
    cfg: EngineConfig,
    job: Job,
    setup: SwarmSetup,
    on_loss: OnLoss,
    /// Where the coordinator's and workers' output is kept.
    dir: PathBuf,
    exposition: Exposition,
}

impl DistributedDriver {
    pub fn new(
        mut cfg: EngineConfig,
        job: Job,
        setup: SwarmSetup,
        on_loss: OnLoss,
        dir: PathBuf,
    ) -> DistributedDriver {
        let exposition = cfg.exposition.clone().unwrap_or_default();
        cfg.exposition = Some(exposition.clone());
        DistributedDriver {
            cfg,
            job,
            setup,
            on_loss,
            dir,
            exposition,
        }
    }

    /// Connects and sends the order; returns the reader and writer once the coordinator
    /// answered. A connection the port's proxy accepted before the coordinator listened is
    /// closed at once: that is retried.
    async fn order(
        &self,
        d: &Deployed,
    ) -> Result<
        (
            Reader<tokio::net::tcp::OwnedReadHalf>,
            tokio::net::tcp::OwnedWriteHalf,
            Frame,
        ),
        DriverError,
    > {
        let waited = Duration::from_secs(60) + self.setup.wait;
        let until = Instant::now() + waited;
        // A global service's count is the nodes it runs on: known once the orchestrator has
        // made its tasks (otherwise the coordinator takes those connected after `wait`).
        let workers = match self.setup.workers {
            Some(n) => Some(u64::from(n)),
            None => d.global_workers(Duration::from_secs(15)).await,
        };
        let order = Frame::Order(Box::new(Order {
            job: self.job.clone(),
            names: self.cfg.scenario.names.len(),
            workers,
            on_loss: self.on_loss,
            wait_s: self.setup.wait.as_secs_f64(),
        }));
        loop {
            if Instant::now() >= until {
                return Err(DriverError::Connect {
                    port: self.setup.port,
                    waited,
                });
            }
            if let Some(t) = d.coordinator().await.filter(|t| t.ended()) {
                let why = t.err.clone().unwrap_or_else(|| format!("task {}", t.state));
                return Err(DriverError::CoordinatorEnded(why));
            }
            if let Ok(s) = TcpStream::connect(("127.0.0.1", self.setup.port)).await {
                let _ = s.set_nodelay(true);
                let (r, mut w) = s.into_split();
                let mut reader = Reader::new(r);
                if wire::send(&mut w, &order).await.is_ok() {
                    if let Ok(Some(first)) = reader.next().await {
                        return Ok((reader, w, first));
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    async fn drive(
        &self,
        d: &Deployed,
        stop: impl Future<Output = ()>,
        live: &Live,
    ) -> Result<Results, DriverError> {
        tokio::pin!(stop);
        let (mut reader, mut writer, mut frame) = tokio::select! {
            r = self.order(d) => r?,
            _ = &mut stop => return Err(DriverError::NotStarted("stopped before the load started".into())),
        };
        let mut told = None;
        let (start_unix_ms, names) = loop {
            match frame {
                Frame::Started {
                    start_unix_ms,
                    workers,
                } => break (start_unix_ms, workers),
                Frame::Waiting {
                    connected,
                    expected,
                } if told != Some(connected) => {
                    told = Some(connected);
                    eprintln!(
                        "soy: {connected} of {} load worker(s) connected to the coordinator",
                        expected.map_or("the".into(), |n| n.to_string())
                    );
                }
                Frame::Failed { why } => return Err(DriverError::NotStarted(why)),
                _ => {}
            }
            frame = tokio::select! {
                f = reader.next() => match f? {
                    Some(f) => f,
                    None => return Err(DriverError::NotStarted("the coordinator went away".into())),
                },
                _ = &mut stop => {
                    let _ = wire::send(&mut writer, &Frame::Stop).await;
                    return Err(DriverError::NotStarted("stopped before the load started".into()));
                }
            };
        };
        eprintln!(
            "soy: {} load worker(s) on the swarm: {}",
            names.len(),
            names.join(", ")
        );
        let started_at = UNIX_EPOCH + Duration::from_millis(start_unix_ms);
        let start = Instant::now()
            + started_at
                .duration_since(SystemTime::now())
                .unwrap_or_default();
        let cfg = &self.cfg;
        let mut collector = Collector::new(
            cfg.scenario.names.clone(),
            self.exposition.clone(),
            1,
            cfg.segments.clone(),
            cfg.warmup.as_secs(),
            cfg.model == Workload::Open,
        );
        let mut stopped = false;
        let mut lost: Vec<WorkerReport> = Vec::new();
        let mut reports = None;
        let mut cut = None;
        let mut coordinator_lost = false;
        loop {
            tokio::select! {
                f = reader.next() => match f {
                    Ok(Some(Frame::Block { block, .. })) => {
                        match block.decode(0, cfg.scenario.names.len()) {
                            Ok(b) => {
                                for p in collector.add(b, start, cfg.run_time) {
                                    live.update(&p);
                                }
                            }
                            Err(e) => eprintln!("soy: a merged second was unreadable and is left out: {e}"),
                        }
                    }
                    Ok(Some(Frame::Lost { worker })) => {
                        eprintln!(
                            "soy: load worker {} ({}) lost after second {}: {}",
                            worker.index,
                            worker.name,
                            worker.last_second.map_or("none".into(), |s| s.to_string()),
                            worker.lost.as_deref().unwrap_or("")
                        );
                        if self.on_loss == OnLoss::Abort && cut.is_none() {
                            cut = Some(format!(
                                "load worker {} ({}) was lost (on_worker_loss: abort)",
                                worker.index, worker.name
                            ));
                        }
                        lost.push(worker);
                    }
                    Ok(Some(Frame::Finished { workers })) => {
                        reports = Some(workers);
                        break;
                    }
                    Ok(Some(Frame::Failed { why })) => {
                        cut = Some(why);
                        break;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => {
                        coordinator_lost = true;
                        cut = Some(
                            "the load's coordinator was lost: the results stop at its last merged second"
                                .into(),
                        );
                        break;
                    }
                },
                _ = &mut stop, if !stopped => {
                    stopped = true;
                    let _ = wire::send(&mut writer, &Frame::Stop).await;
                }
            }
        }
        let interrupted = stopped || cut.is_some();
        let elapsed = if interrupted {
            start.elapsed()
        } else {
            start.elapsed().min(cfg.run_time)
        };
        let mut results = collector.finish(cfg, started_at, elapsed, interrupted);
        results.distributed = Some(DistributedInfo::new(
            reports.unwrap_or(lost),
            self.on_loss,
            coordinator_lost,
        ));
        results.cut = cut;
        Ok(results)
    }
}

impl crate::load::driver::LoadDriver for DistributedDriver {
    type Error = DriverError;

    fn name(&self) -> &'static str {
        "soy-distributed"
    }

    fn exposition(&self) -> Exposition {
        self.exposition.clone()
    }

    fn serve_also(&mut self, text: Exposition) {
        self.cfg.extra_metrics = Some(text);
    }

    async fn run(self, stop: impl Future<Output = ()>) -> Result<Results, DriverError> {
        let live = Live::new(self.cfg.model == Workload::Open);
        let _exporter = engine::serve_metrics(&self.cfg, &self.exposition).await?;
        let deployed = Deployed::start(&self.setup)
            .await
            .map_err(DriverError::Swarm)?;
        let r = self.drive(&deployed, stop, &live).await;
        live.finish();
        deployed.finish(&self.dir).await;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unsent_share_counts_what_lost_workers_did_not_send() {
        let w = |lost: bool, planned: u64| WorkerReport {
            planned,
            planned_total: 100,
            lost: lost.then(|| "gone".into()),
            ..WorkerReport::default()
        };
        let info = DistributedInfo::new(
            vec![w(false, 100), w(true, 40), w(false, 100)],
            OnLoss::Continue,
            false,
        );
        assert!((info.unsent - 0.2).abs() < 1e-12, "{}", info.unsent);
    }
}
