//! The Locust driver behind `LoadDriver`: writes soy's hook (and a `LoadTestShape` for soy's
//! shape) beside the run, starts Locust headless under `soy supervise`, follows its
//! per-second snapshots into soy's live line, rows and `soy_*` exposition, stops it
//! gracefully (SIGTERM to Locust, SIGKILL to its group after a grace period) and builds
//! `Results` from its final statistics.

use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::command::{HOOK, Layout, LocustRun, shape_python};
use super::stats::{Final, Rows, Snapshot, failures, measured};
use super::swarm::{Deployed, Ended};
use crate::load::engine::Progress;
use crate::load::exporter::Exposition;
use crate::load::live::Live;
use crate::load::results::{LocustInfo, Results, WorkerInfo};
use crate::manifest::model::Workload;
use crate::process::{Spawn, SpawnError, Supervised};

/// How long Locust has to write its final statistics once asked to stop.
pub const STOP_GRACE: Duration = Duration::from_secs(20);
/// How long Locust may take to start and to stop by itself after its run time.
const OVERRUN: Duration = Duration::from_secs(30);
/// How often the snapshots are read.
const POLL: Duration = Duration::from_millis(200);

/// Why a Locust run produced no results.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot write {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Locust did not start")]
    Start(#[source] SpawnError),
    #[error("cannot start Locust's master and workers on the swarm")]
    Swarm(#[source] crate::stack::StackError),
    #[error(transparent)]
    Serve(#[from] crate::load::EngineError),
    /// `driver: locust` without the Locust settings the plan resolves (a bug, said as one).
    #[error("the plan holds no Locust settings for `driver: locust`")]
    NotPlanned,
    #[error("Locust exited ({status}) before it sent any load; the end of {}:\n{tail}", .log.display())]
    Early {
        status: String,
        log: PathBuf,
        tail: String,
    },
}

/// Locust, run for one load phase.
pub struct LocustDriver {
    run: LocustRun,
    layout: Layout,
    /// The Locust version the plan found.
    version: String,
    exposition: Exposition,
    extra: Option<Exposition>,
}

impl LocustDriver {
    pub fn new(run: LocustRun, layout: Layout, version: String) -> LocustDriver {
        LocustDriver {
            run,
            layout,
            version,
            exposition: Exposition::default(),
            extra: None,
        }
    }

    fn write_files(&self) -> Result<(), DriverError> {
        let write = |path: PathBuf, text: &str| {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|source| DriverError::Write {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(&path, text).map_err(|source| DriverError::Write { path, source })
        };
        write(self.layout.hook(), HOOK)?;
        if !self.run.segments.is_empty() {
            let end = self.run.run_time.map_or_else(
                || self.run.segments.last().map_or(0.0, |s| s.end),
                |t| t.as_secs_f64(),
            );
            write(
                self.layout.shape(),
                &shape_python(&self.run.segments, self.run.spawn_rate, end),
            )?;
        }
        if let Some(dir) = self.layout.csv.parent() {
            std::fs::create_dir_all(dir).map_err(|source| DriverError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        for f in [self.layout.live(), self.layout.final_stats()] {
            let _ = std::fs::remove_file(f);
        }
        Ok(())
    }
}

impl crate::load::driver::LoadDriver for LocustDriver {
    type Error = DriverError;

    fn name(&self) -> &'static str {
        "locust"
    }

    fn exposition(&self) -> Exposition {
        self.exposition.clone()
    }

    fn serve_also(&mut self, text: Exposition) {
        self.extra = Some(text);
    }

    async fn run(self, stop: impl Future<Output = ()>) -> Result<Results, DriverError> {
        self.write_files()?;
        let _exporter = match self.run.metrics_port {
            Some(port) => {
                let listener = crate::load::exporter::bind(port).await?;
                let parts = std::iter::once(self.exposition.clone())
                    .chain(self.extra.clone())
                    .collect();
                Some(Abort(tokio::spawn(crate::load::serve_exposition(
                    listener, parts,
                ))))
            }
            None => None,
        };
        let spawn = Spawn {
            program: self.run.command.clone(),
            args: self
                .run
                .args(&self.layout)
                .into_iter()
                .map(Into::into)
                .collect(),
            env: self
                .run
                .env(&self.layout)
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            workdir: self.run.workdir.clone(),
            log: self.layout.log.clone(),
        };
        let mut locust = match &self.run.swarm {
            None => Launched::Local(Supervised::start(&spawn).map_err(DriverError::Start)?),
            Some(setup) => Launched::Swarm(
                Deployed::start(&self.run, &self.layout, setup)
                    .await
                    .map_err(DriverError::Swarm)?,
            ),
        };
        let live = Live::new(false);
        let mut reader = LiveReader::new(self.layout.live());
        let mut rows = Rows {
            warmup_s: self.run.warmup.as_secs_f64(),
            ..Rows::default()
        };
        let started = Instant::now();
        let run_time = self.run.run_time.unwrap_or(Duration::ZERO);
        // On the swarm the master also waits for its workers to connect.
        let startup = match &self.run.swarm {
            Some(_) => OVERRUN + super::swarm::WORKERS_WAIT,
            None => OVERRUN,
        };
        let limit = self.run.run_time.map(|t| t + startup);
        let mut stopping: Option<Instant> = None;
        // Whether Locust itself has been sent its SIGTERM (it may not have started yet).
        let mut told = false;
        let mut interrupted = false;
        let mut tick = tokio::time::interval(POLL);
        tokio::pin!(stop);
        let status = loop {
            tokio::select! {
                _ = &mut stop, if stopping.is_none() => {
                    interrupted = true;
                    stopping = Some(Instant::now());
                }
                _ = tick.tick() => {}
            }
            self.follow(&mut reader, &mut rows, &live, started, run_time);
            if let Some(status) = locust.ended().await {
                break Some(status);
            }
            match stopping {
                Some(t) if t.elapsed() >= STOP_GRACE => {
                    locust.kill().await;
                    break None;
                }
                Some(_) if !told => told = locust.terminate().await,
                None if limit.is_some_and(|l| started.elapsed() >= l) => {
                    stopping = Some(Instant::now());
                }
                _ => {}
            }
        };
        self.follow(&mut reader, &mut rows, &live, started, run_time);
        live.finish();
        locust.finish(&self.layout.log).await;
        let fin: Option<Final> = match std::fs::read_to_string(self.layout.final_stats()) {
            Ok(t) => serde_json::from_str(&t)
                .inspect_err(|e| {
                    eprintln!(
                        "soy: Locust's final statistics ({}) do not parse: {e}; its last per-second report is used",
                        self.layout.final_stats().display()
                    )
                })
                .ok(),
            Err(_) => None,
        };
        if let (Some(f), Some(last)) = (&fin, rows.last.as_ref())
            && f.total.requests > last.total.requests
        {
            // What came after the last per-second snapshot is the series' last row.
            let end = Snapshot {
                t: f.t,
                state: "stopped".into(),
                users: last.users,
                entries: f.entries.clone(),
                total: f.total.clone(),
                workers: None,
                worker_requests: None,
            };
            rows.push(end, &self.run.segments);
            if let (Some(text), Ok(mut out)) = (rows.exposition(), self.exposition.lock()) {
                *out = text;
            }
        }
        let code = status.as_ref().and_then(|s| s.code);
        if fin.is_none() && rows.last.as_ref().is_none_or(|s| !s.started()) {
            return Err(DriverError::Early {
                status: status.map_or_else(|| "killed".into(), |s| s.text),
                log: self.layout.log.clone(),
                tail: crate::process::tail(&self.layout.log, 15),
            });
        }
        Ok(self.results(&rows, fin, code, interrupted))
    }
}

impl LocustDriver {
    /// Reads new snapshots: rows, the live line, the exposition.
    fn follow(
        &self,
        reader: &mut LiveReader,
        rows: &mut Rows,
        live: &Live,
        started: Instant,
        run_time: Duration,
    ) {
        let mut changed = false;
        for s in reader.read_new() {
            changed = true;
            if let Some(row) = rows.push(s, &self.run.segments) {
                let last = rows.last.as_ref();
                live.update(&Progress {
                    elapsed: started.elapsed(),
                    run_time,
                    total_requests: last.map_or(0, |s| s.total.requests),
                    total_failures: last.map_or(0, |s| s.total.failures),
                    row,
                    cpu: None,
                });
            }
        }
        if changed && let (Some(text), Ok(mut out)) = (rows.exposition(), self.exposition.lock()) {
            *out = text;
        }
    }

    fn results(
        &self,
        rows: &Rows,
        fin: Option<Final>,
        code: Option<i32>,
        interrupted: bool,
    ) -> Results {
        let last: Option<&Snapshot> = rows.last.as_ref();
        let t0 = rows
            .started_at()
            .or(fin.as_ref().and_then(|f| f.start_time))
            .or(last.map(|s| s.t))
            .unwrap_or_default();
        let t_end = fin
            .as_ref()
            .map(|f| f.t)
            .or(last.map(|s| s.t))
            .unwrap_or(t0);
        let duration = (t_end - t0).max(0.0);
        let warm = rows.warm.as_ref();
        let measured_s = match warm {
            Some(w) => (t_end - w.t).max(0.0),
            None => duration,
        };
        let (entries, total) = match (&fin, last) {
            (Some(f), _) => (f.entries.clone(), f.total.clone()),
            (None, Some(s)) => (s.entries.clone(), s.total.clone()),
            (None, None) => Default::default(),
        };
        let (total, requests) = measured(&entries, &total, warm, measured_s);
        let reported = fin.as_ref().and_then(|f| f.worker_requests.as_ref());
        let workers = rows
            .workers
            .iter()
            .map(|(id, w)| WorkerInfo {
                id: id.clone(),
                most_users: w.most_users,
                last_state: w.last_state.clone(),
                requests: reported
                    .and_then(|r| r.get(id).copied())
                    .unwrap_or(w.requests),
                lost_at_s: w.lost_at.map(|t| (t - t0).max(0.0)),
            })
            .collect();
        Results {
            soy_version: env!("CARGO_PKG_VERSION").to_string(),
            model: Workload::Closed,
            started_at: t0,
            duration_s: duration,
            measured_s,
            warmup_s: warm.map_or(0.0, |_| self.run.warmup.as_secs_f64()),
            interrupted,
            total,
            requests,
            failures: fin
                .as_ref()
                .map(|f| failures(&f.errors, t0 as u64, t_end as u64))
                .unwrap_or_default(),
            open: None,
            series: rows.rows.clone(),
            driver: "locust".into(),
            locust: Some(LocustInfo {
                version: fin
                    .as_ref()
                    .map(|f| f.locust_version.clone())
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| self.version.clone()),
                exit_code: code,
                final_stats: fin.is_some(),
                exceptions: fin.map(|f| f.exceptions).unwrap_or_default(),
                workers,
                most_workers: rows.most_workers,
            }),
            latency: None,
            generator_cpu: None,
            distributed: None,
            cut: None,
        }
    }
}

/// Locust as started: a process group here, or a master and workers on the swarm.
enum Launched {
    Local(Supervised),
    Swarm(Deployed),
}

impl Launched {
    /// How Locust (its master) ended, once it has.
    async fn ended(&mut self) -> Option<Ended> {
        match self {
            Launched::Local(p) => p.exited().map(|s| Ended {
                code: s.code(),
                text: s.to_string(),
            }),
            Launched::Swarm(d) => d.ended().await,
        }
    }

    /// Asks Locust to stop (it writes its final statistics); whether it was told.
    async fn terminate(&mut self) -> bool {
        match self {
            Launched::Local(p) => p.signal_program(Signal::SIGTERM) > 0,
            Launched::Swarm(d) => d.signal("SIGTERM").await,
        }
    }

    async fn kill(&mut self) {
        match self {
            Launched::Local(p) => p.kill(),
            Launched::Swarm(d) => {
                d.signal("SIGKILL").await;
            }
        }
    }

    /// On the swarm: the containers' output kept, the services removed.
    async fn finish(self, log: &Path) {
        if let Launched::Swarm(d) = self {
            d.finish(log).await;
        }
    }
}

/// Reads the lines appended to a file since the last read.
struct LiveReader {
    path: PathBuf,
    offset: u64,
    partial: String,
    warned: bool,
}

impl LiveReader {
    fn new(path: PathBuf) -> LiveReader {
        LiveReader {
            path,
            offset: 0,
            partial: String::new(),
            warned: false,
        }
    }

    /// The complete lines written since the last call, as snapshots (a line that does not
    /// parse is skipped).
    fn read_new(&mut self) -> Vec<Snapshot> {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut text = String::new();
        let Ok(n) = f.read_to_string(&mut text) else {
            return Vec::new();
        };
        self.offset += n as u64;
        self.partial.push_str(&text);
        let mut out = Vec::new();
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            match serde_json::from_str(line.trim()) {
                Ok(s) => out.push(s),
                Err(e) if !self.warned => {
                    self.warned = true;
                    eprintln!(
                        "soy: a line of {} does not parse ({e}); such lines are skipped",
                        self.path.display()
                    );
                }
                Err(_) => {}
            }
        }
        out
    }
}

/// Aborts the task when dropped.
struct Abort(tokio::task::JoinHandle<()>);

impl Drop for Abort {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The manifest-relative path of a locustfile or program, absolute.
pub fn resolve(dir: &Path, rel: &str) -> PathBuf {
    let p = Path::new(rel);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}
