//! The load engine: one current-thread tokio runtime per worker thread, users pinned to it,
//! a controller that follows the shape (spawning and retiring users at the spawn rate), and a
//! collector that merges each worker's once-a-second block. Nothing crosses threads per request.

use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::{AbortHandle, LocalSet};

use super::open::{self, OpenPlan};
use super::results::Results;
use super::scenario::Scenario;
use super::segment::{Change, Share, Spawner};
use super::shape::{Segment, target_at};
use super::stats::{Block, SecondRow};
use super::user::{Worker, closed_loop};
use crate::manifest::model::Workload;

/// Everything the engine needs to run.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub scenario: Arc<Scenario>,
    pub model: Workload,
    pub segments: Vec<Segment>,
    pub run_time: Duration,
    /// Excluded from totals (still in the per-second series).
    pub warmup: Duration,
    pub spawn_rate: f64,
    /// Open model: most iterations in flight across all workers.
    pub max_in_flight: u64,
    pub workers: usize,
    pub seed: Option<u64>,
    /// Serve the generator's metrics on this port of 127.0.0.1.
    pub metrics_port: Option<u16>,
    /// More exposition text served on the metrics port (the stack's container usage).
    pub extra_metrics: Option<super::exporter::Exposition>,
    /// Where the generator's own exposition is kept (for soy's embedded scraper); the
    /// engine makes its own when `None`.
    pub exposition: Option<super::exporter::Exposition>,
    /// This generator's part of the plan (the whole, unless it is one of several).
    pub share: Share,
    /// When the load starts (generators that run one plan together start at one time);
    /// now when `None`.
    pub start_at: Option<std::time::SystemTime>,
    /// Gets each second's block, merged over the worker threads, as it closes (a distributed
    /// worker ships them to its coordinator).
    pub blocks: Option<mpsc::UnboundedSender<Block>>,
}

enum Command {
    Spawn(u64),
    Retire,
    Stop,
}

enum Msg {
    Block(Box<Block>),
    Done,
}

/// What the live view gets once a second.
#[derive(Debug, Clone)]
pub struct Progress {
    pub row: SecondRow,
    pub elapsed: Duration,
    pub run_time: Duration,
    pub total_requests: u64,
    pub total_failures: u64,
    /// The share of its CPUs the generator used in the second (this process's own; `None`
    /// where it is not known).
    pub cpu: Option<f64>,
}

/// Runs the load until `run_time` passes or `interrupt` completes. Results are complete in
/// both cases (`Results::interrupted` tells which).
pub async fn run(
    cfg: EngineConfig,
    interrupt: impl Future<Output = ()>,
    mut on_second: impl FnMut(&Progress),
) -> Result<Results, super::EngineError> {
    let exposition: super::exporter::Exposition = cfg.exposition.clone().unwrap_or_default();
    let _exporter = serve_metrics(&cfg, &exposition).await?;
    let workers = cfg.workers.max(1);
    let started_at = cfg
        .start_at
        .unwrap_or_else(|| std::time::SystemTime::now() + Duration::from_millis(20));
    let start = Instant::now()
        + started_at
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
    let (msg_tx, mut msg_rx) = mpsc::unbounded_channel::<Msg>();
    let mut cmd_txs = Vec::new();
    let mut threads = Vec::new();
    for id in 0..workers {
        let (tx, rx) = mpsc::unbounded_channel::<Command>();
        cmd_txs.push(tx);
        let msg_tx = msg_tx.clone();
        let cfg = cfg.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("soy-worker-{id}"))
            .spawn(move || worker_thread(id, workers, cfg, start, rx, msg_tx));
        match spawned {
            Ok(h) => threads.push(h),
            Err(e) => eprintln!("soy: cannot start worker thread {id}: {e}"),
        }
    }
    drop(msg_tx);
    let open = cfg.model == Workload::Open;
    let mut collector = Collector::new(
        cfg.scenario.names.clone(),
        exposition.clone(),
        threads.len(),
        cfg.segments.clone(),
        cfg.warmup.as_secs(),
        open,
    );
    collector.blocks = cfg.blocks.clone();
    let mut per_worker = vec![0u64; workers];
    let tick = Duration::from_secs_f64(super::segment::TICK);
    let mut spawner = Spawner::new(cfg.segments.clone(), cfg.spawn_rate, tick.as_secs_f64());
    let mut changes = Vec::new();
    let mut cpu = super::cpu::CpuWatch::default();
    let mut ticker = tokio::time::interval_at(start.into(), tick);
    tokio::pin!(interrupt);
    let deadline = start + cfg.run_time;
    let mut interrupted = false;
    loop {
        tokio::select! {
            _ = &mut interrupt => { interrupted = true; break; }
            _ = ticker.tick() => {
                let now = Instant::now();
                if now >= deadline { break; }
                if !open {
                    changes.clear();
                    spawner.step(&mut changes);
                    for change in &changes {
                        match *change {
                            Change::Spawn(n) if cfg.share.owns(n) => {
                                let w = (0..workers).min_by_key(|w| per_worker[*w]).unwrap_or(0);
                                let _ = cmd_txs[w].send(Command::Spawn(n));
                                per_worker[w] += 1;
                            }
                            Change::Retire(n) if cfg.share.owns(n) => {
                                let w = (0..workers).max_by_key(|w| per_worker[*w]).unwrap_or(0);
                                let _ = cmd_txs[w].send(Command::Retire);
                                per_worker[w] = per_worker[w].saturating_sub(1);
                            }
                            _ => {}
                        }
                    }
                }
            }
            Some(msg) = msg_rx.recv() => {
                if let Msg::Block(b) = msg {
                    for mut p in collector.add(*b, start, cfg.run_time) {
                        p.cpu = Some(cpu.sample());
                        on_second(&p);
                    }
                }
            }
        }
    }
    for tx in &cmd_txs {
        let _ = tx.send(Command::Stop);
    }
    let mut done = 0;
    while done < threads.len() {
        match msg_rx.recv().await {
            Some(Msg::Block(b)) => {
                for p in collector.add(*b, start, cfg.run_time) {
                    on_second(&p);
                }
            }
            Some(Msg::Done) => done += 1,
            None => break,
        }
    }
    for t in threads {
        let _ = t.join();
    }
    let elapsed = start.elapsed().min(if interrupted {
        start.elapsed()
    } else {
        cfg.run_time
    });
    let mut results = collector.finish(&cfg, started_at, elapsed, interrupted);
    results.generator_cpu = cpu.summary(cfg.warmup.as_secs() as usize);
    Ok(results)
}

/// Serves the generator's exposition (and the stack's, `extra_metrics`) on `metrics_port`
/// for as long as the returned guard lives.
pub(crate) async fn serve_metrics(
    cfg: &EngineConfig,
    exposition: &super::exporter::Exposition,
) -> Result<Option<AbortOnDrop>, super::EngineError> {
    Ok(match cfg.metrics_port {
        Some(port) => {
            let listener = super::exporter::bind(port).await?;
            let parts = std::iter::once(exposition.clone())
                .chain(cfg.extra_metrics.clone())
                .collect();
            Some(AbortOnDrop(tokio::spawn(super::exporter::serve(
                listener, parts,
            ))))
        }
        None => None,
    })
}

/// Aborts a spawned task when dropped (the exporter lives as long as the run).
pub(crate) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn worker_thread(
    id: usize,
    workers: usize,
    cfg: EngineConfig,
    start: Instant,
    rx: mpsc::UnboundedReceiver<Command>,
    tx: mpsc::UnboundedSender<Msg>,
) {
    if let Some(seed) = cfg.seed {
        super::functions::seed_thread(seed.wrapping_add(id as u64 * 0x9E37_79B9_7F4A_7C15));
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("soy: worker {id} cannot start its runtime: {e}");
            let _ = tx.send(Msg::Done);
            return;
        }
    };
    let local = LocalSet::new();
    local.block_on(&rt, worker_main(id, workers, cfg, start, rx, tx));
}

async fn worker_main(
    id: usize,
    workers: usize,
    cfg: EngineConfig,
    start: Instant,
    mut rx: mpsc::UnboundedReceiver<Command>,
    tx: mpsc::UnboundedSender<Msg>,
) {
    let w = Rc::new(Worker {
        sc: cfg.scenario.clone(),
        block: std::cell::RefCell::new(Block::new(id, cfg.scenario.names.len())),
        in_flight: std::cell::Cell::new(0),
    });
    let users: Rc<std::cell::RefCell<Vec<AbortHandle>>> = Rc::default();
    let active = {
        let (users, w) = (users.clone(), w.clone());
        move || users.borrow().len() as u64 + w.in_flight.get()
    };
    // The second the block being recorded belongs to: the flusher's next one.
    let unsent = Rc::new(std::cell::Cell::new(0u64));
    let flusher = {
        let (w, tx, active, unsent) = (w.clone(), tx.clone(), active.clone(), unsent.clone());
        tokio::task::spawn_local(async move {
            let mut iv = tokio::time::interval_at(
                (start + Duration::from_secs(1)).into(),
                Duration::from_secs(1),
            );
            loop {
                iv.tick().await;
                let second = unsent.get();
                let block = w.block.borrow_mut().take(second, active());
                let _ = tx.send(Msg::Block(Box::new(block)));
                unsent.set(second + 1);
            }
        })
    };
    let scheduler = (cfg.model == Workload::Open).then(|| {
        let share = cfg.share.split(id as u64, workers as u64);
        let plan = OpenPlan {
            segments: cfg.segments.clone(),
            run_time: cfg.run_time.as_secs_f64(),
            share,
            cap: cfg.max_in_flight.div_ceil(share.count).max(1),
        };
        tokio::task::spawn_local(open::schedule(w.clone(), plan, start))
    });
    while let Some(cmd) = rx.recv().await {
        match cmd {
            Command::Spawn(index) => {
                let h = tokio::task::spawn_local(closed_loop(w.clone(), index));
                users.borrow_mut().push(h.abort_handle());
            }
            Command::Retire => {
                if let Some(h) = users.borrow_mut().pop() {
                    h.abort();
                }
            }
            Command::Stop => break,
        }
    }
    for h in users.borrow_mut().drain(..) {
        h.abort();
    }
    if let Some(s) = scheduler {
        s.abort();
    }
    flusher.abort();
    // Labelled with the second it was recorded in, not the clock's second at the stop: a
    // stop that lands just before this worker's tick at a whole second must not shift the
    // rest of that second into the next one (the series would show half a second twice).
    let last = w.block.borrow_mut().take(unsent.get(), 0);
    let _ = tx.send(Msg::Block(Box::new(last)));
    let _ = tx.send(Msg::Done);
}

/// Merges blocks into per-second rows (in order) and totals.
pub(crate) struct Collector {
    names: Vec<(String, String)>,
    exposition: super::exporter::Exposition,
    workers: usize,
    segments: Vec<Segment>,
    warmup: u64,
    open: bool,
    pending: BTreeMap<u64, (usize, Block)>,
    next: u64,
    totals: Block,
    all: Block,
    series: Vec<SecondRow>,
    requests: u64,
    failures: u64,
    seen: super::results::Seen,
    /// Every second's histogram per request name, encoded as it closes (`None` once an
    /// encoding failed: the run goes on without its latency log).
    log: Option<super::hlog::LogWriter>,
    /// Where each closed second's block goes besides the rows (`EngineConfig::blocks`).
    blocks: Option<mpsc::UnboundedSender<Block>>,
}

impl Collector {
    pub(crate) fn new(
        names_list: Vec<(String, String)>,
        exposition: super::exporter::Exposition,
        workers: usize,
        segments: Vec<Segment>,
        warmup: u64,
        open: bool,
    ) -> Self {
        let names = names_list.len();
        Collector {
            names: names_list,
            exposition,
            workers: workers.max(1),
            segments,
            warmup,
            open,
            pending: BTreeMap::new(),
            next: 0,
            totals: Block::new(0, names),
            all: Block::new(0, names),
            series: Vec::new(),
            requests: 0,
            failures: 0,
            seen: Default::default(),
            log: Some(Default::default()),
            blocks: None,
        }
    }

    /// Adds a block; returns progress for every second that became complete.
    pub(crate) fn add(&mut self, b: Block, start: Instant, run_time: Duration) -> Vec<Progress> {
        let second = b.second;
        let slot = self
            .pending
            .entry(second)
            .or_insert_with(|| (0, Block::new(0, b.entries.len())));
        slot.0 += 1;
        slot.1.second = second;
        slot.1.merge(&b);
        let mut out = Vec::new();
        while let Some((count, _)) = self.pending.get(&self.next) {
            if *count < self.workers {
                break;
            }
            if let Some((_, block)) = self.pending.remove(&self.next) {
                let row = self.finalize(block);
                out.push(Progress {
                    row,
                    elapsed: start.elapsed(),
                    run_time,
                    total_requests: self.requests,
                    total_failures: self.failures,
                    cpu: None,
                });
            }
            self.next += 1;
        }
        out
    }

    fn finalize(&mut self, block: Block) -> SecondRow {
        let target = target_at(&self.segments, block.second as f64);
        let row = SecondRow::from_block(&block, target, self.open);
        for key in block.failures.keys() {
            let e = self
                .seen
                .entry(key.clone())
                .or_insert((block.second, block.second));
            e.1 = e.1.max(block.second);
        }
        self.requests += row.requests;
        self.failures += row.failures;
        if block.second >= self.warmup {
            self.totals.merge(&block);
        }
        self.all.merge(&block);
        self.log_second(&block);
        if let Some(tx) = &self.blocks {
            let _ = tx.send(block.clone());
        }
        if let Ok(mut text) = self.exposition.lock() {
            *text = super::exporter::render(&self.names, &self.all, &row);
        }
        self.series.push(row.clone());
        row
    }

    fn log_second(&mut self, block: &Block) {
        let Some(log) = &mut self.log else { return };
        for ((method, name), e) in self.names.iter().zip(&block.entries) {
            if e.count == 0 {
                continue;
            }
            let key = format!("{method} {name}");
            if let Err(e) = log.add(&key, block.second as f64, 1.0, &e.hist) {
                eprintln!("soy: the latency log is not kept: {e}");
                self.log = None;
                return;
            }
        }
    }

    /// The per-second log and the measured window's, as file texts.
    fn latency_logs(
        &self,
        totals: &Block,
        from_s: f64,
        measured: Duration,
        started_at: std::time::SystemTime,
    ) -> Option<super::hlog::LatencyLogs> {
        let per_second = self.log.as_ref()?;
        let start = started_at
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut window = super::hlog::LogWriter::default();
        for ((method, name), e) in self.names.iter().zip(&totals.entries) {
            if e.count == 0 {
                continue;
            }
            let key = format!("{method} {name}");
            if let Err(e) = window.add(&key, from_s, measured.as_secs_f64(), &e.hist) {
                eprintln!("soy: the latency log is not kept: {e}");
                return None;
            }
        }
        Some(super::hlog::LatencyLogs {
            per_second: per_second.finish("one histogram per request name and second", start),
            window: window.finish(
                "one histogram per request name over the measured window",
                start,
            ),
        })
    }

    pub(crate) fn finish(
        mut self,
        cfg: &EngineConfig,
        started_at: std::time::SystemTime,
        elapsed: Duration,
        interrupted: bool,
    ) -> Results {
        let rest: Vec<Block> = std::mem::take(&mut self.pending)
            .into_values()
            .map(|(_, b)| b)
            .collect();
        for b in rest {
            self.finalize(b);
        }
        // A run shorter than its warm-up still reports what it did.
        let totals = if self.totals.total().count == 0 {
            &self.all
        } else {
            &self.totals
        };
        let measured = elapsed.saturating_sub(if std::ptr::eq(totals, &self.all) {
            Duration::ZERO
        } else {
            cfg.warmup
        });
        let from_s = if std::ptr::eq(totals, &self.all) {
            0.0
        } else {
            cfg.warmup.as_secs_f64()
        };
        let latency = self.latency_logs(totals, from_s, measured, started_at);
        let mut results = Results::build(
            cfg,
            totals,
            &self.seen,
            self.series,
            started_at,
            elapsed,
            measured,
            interrupted,
        );
        results.latency = latency;
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_state_stays_bounded_over_twenty_minutes() {
        let names = vec![("GET".to_string(), "/".to_string())];
        let segs = vec![Segment {
            start: 0.0,
            end: 3600.0,
            from: 10.0,
            to: 10.0,
            spawn_rate: None,
        }];
        let mut c = Collector::new(names, Default::default(), 2, segs, 60, false);
        let start = Instant::now();
        for second in 0..1200u64 {
            for worker in 0..2 {
                let mut b = Block::new(worker, 1);
                for i in 0..100 {
                    b.entries[0].record(1000 + i, 10, i == 0);
                }
                let shipped = b.take(second, 5);
                let done = c.add(shipped, start, Duration::from_secs(1200));
                // Nothing waits once both workers have delivered a second.
                assert!(c.pending.len() <= 1);
                assert_eq!(done.len(), worker);
            }
        }
        assert!(c.pending.is_empty());
        assert_eq!(c.series.len(), 1200);
        assert_eq!(c.all.total().count, 240_000);
        // Totals skip the 60 s warm-up.
        assert_eq!(c.totals.total().count, 228_000);
        assert!(
            c.exposition
                .lock()
                .unwrap()
                .contains("soy_requests_total{method=\"GET\",name=\"/\"} 240000")
        );
    }
}
