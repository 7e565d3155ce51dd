//! `soy coordinator --listen ADDR`: the task inside the stack that runs a distributed load.
//! Workers connect and wait; `soy apply` connects over its published port and sends the
//! order; the coordinator gives each worker its share and one start time, merges their
//! seconds (`merge`), streams the merged seconds to `soy apply`, and says which workers
//! were lost. It serves one run, then exits.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::merge::Merger;
use super::wire::{self, Frame, OnLoss, Order, Reader, WireBlock, WireError};

/// How long after the order the load starts: every worker has its job by then.
const START_DELAY: Duration = Duration::from_secs(2);
/// A worker this many seconds behind the others is lost.
const BEHIND: u64 = 5;
/// How long the coordinator waits for `soy apply` before it gives up.
const ORDER_WAIT: Duration = Duration::from_secs(300);

/// Why the coordinator stopped.
#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("no order came within {}s", ORDER_WAIT.as_secs())]
    NoOrder,
    #[error("`soy apply` went away")]
    ClientGone(#[source] WireError),
}

/// A connection, once it said who it is.
enum Joined {
    Worker {
        name: String,
        cpus: f64,
        reader: Reader<tokio::net::tcp::OwnedReadHalf>,
        writer: OwnedWriteHalf,
    },
    Client {
        order: Box<Order>,
        reader: Reader<tokio::net::tcp::OwnedReadHalf>,
        writer: OwnedWriteHalf,
    },
}

/// What the connections say once the run is going.
enum Event {
    Worker(usize, Result<Option<Frame>, WireError>),
    Client(Result<Option<Frame>, WireError>),
}

async fn hello(stream: TcpStream) -> Option<Joined> {
    let _ = stream.set_nodelay(true);
    let (r, writer) = stream.into_split();
    let mut reader = Reader::new(r);
    match tokio::time::timeout(Duration::from_secs(10), reader.next()).await {
        Ok(Ok(Some(Frame::Worker { name, cpus }))) => Some(Joined::Worker {
            name,
            cpus,
            reader,
            writer,
        }),
        Ok(Ok(Some(Frame::Order(order)))) => Some(Joined::Client {
            order,
            reader,
            writer,
        }),
        _ => None,
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Serves one distributed run.
pub async fn serve(addr: SocketAddr) -> Result<(), CoordinatorError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| CoordinatorError::Listen { addr, source })?;
    eprintln!("soy coordinator: listening on {addr}");
    let (joined_tx, mut joined_rx) = mpsc::unbounded_channel::<Joined>();
    let acceptor = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = joined_tx.clone();
            tokio::spawn(async move {
                if let Some(j) = hello(stream).await {
                    let _ = tx.send(j);
                }
            });
        }
    });
    let r = run(&mut joined_rx).await;
    acceptor.abort();
    r
}

type Workers = Vec<(
    String,
    f64,
    Reader<tokio::net::tcp::OwnedReadHalf>,
    OwnedWriteHalf,
)>;

async fn run(joined: &mut mpsc::UnboundedReceiver<Joined>) -> Result<(), CoordinatorError> {
    let mut workers: Workers = Vec::new();
    let deadline = Instant::now() + ORDER_WAIT;
    // Workers connect while `soy apply` deploys and connects: wait for the order.
    let (order, mut client_r, mut client_w) = loop {
        match tokio::time::timeout_at(deadline.into(), joined.recv()).await {
            Ok(Some(Joined::Worker {
                name,
                cpus,
                reader,
                writer,
            })) => workers.push((name, cpus, reader, writer)),
            Ok(Some(Joined::Client {
                order,
                reader,
                writer,
            })) => break (order, reader, writer),
            Ok(None) | Err(_) => return Err(CoordinatorError::NoOrder),
        }
    };
    eprintln!(
        "soy coordinator: order received; {} worker(s) connected, {} expected",
        workers.len(),
        order.workers.map_or("any".into(), |n| n.to_string())
    );
    let wait_until = Instant::now() + Duration::from_secs_f64(order.wait_s.max(1.0));
    let enough = |n: usize| order.workers.is_some_and(|w| n as u64 >= w);
    let mut told = usize::MAX;
    while !enough(workers.len()) {
        if told != workers.len() {
            told = workers.len();
            let waiting = Frame::Waiting {
                connected: told as u64,
                expected: order.workers,
            };
            wire::send(&mut client_w, &waiting)
                .await
                .map_err(CoordinatorError::ClientGone)?;
        }
        tokio::select! {
            j = tokio::time::timeout_at(wait_until.into(), joined.recv()) => match j {
                Ok(Some(Joined::Worker { name, cpus, reader, writer })) => {
                    workers.push((name, cpus, reader, writer));
                }
                Ok(Some(Joined::Client { mut writer, .. })) => {
                    let busy = Frame::Failed { why: "this coordinator is serving another run".into() };
                    let _ = wire::send(&mut writer, &busy).await;
                }
                Ok(None) | Err(_) => break,
            },
            f = client_r.next() => match f {
                Ok(Some(Frame::Stop)) | Ok(None) | Err(_) => {
                    for (_, _, _, w) in &mut workers {
                        let _ = wire::send(w, &Frame::Stop).await;
                    }
                    return Ok(());
                }
                Ok(Some(_)) => {}
            },
        }
    }
    if workers.is_empty() || order.workers.is_some_and(|n| (workers.len() as u64) < n) {
        let why = format!(
            "{} of {} worker(s) connected within {:.0}s",
            workers.len(),
            order.workers.map_or("some".into(), |n| n.to_string()),
            order.wait_s
        );
        eprintln!("soy coordinator: {why}");
        for (_, _, _, w) in &mut workers {
            let _ = wire::send(w, &Frame::Stop).await;
        }
        let _ = wire::send(&mut client_w, &Frame::Failed { why }).await;
        return Ok(());
    }
    // Late joiners beyond the count stay out of this run.
    if let Some(n) = order.workers {
        for (_, _, _, mut w) in workers.drain(n as usize..) {
            let _ = wire::send(&mut w, &Frame::Stop).await;
        }
    }
    let count = workers.len() as u64;
    let start = SystemTime::now() + START_DELAY;
    let names = order.names;
    let open = order.job.load.model == crate::manifest::model::Workload::Open;
    let list: Vec<(String, f64)> = workers.iter().map(|w| (w.0.clone(), w.1)).collect();
    let mut merger = Merger::new(names, open, &list);
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Event>();
    let mut writers: Vec<Option<OwnedWriteHalf>> = Vec::new();
    for (i, (_, _, mut reader, mut writer)) in workers.into_iter().enumerate() {
        let mut job = order.job.clone();
        job.share = crate::load::segment::Share::new(i as u64, count);
        job.start_unix_ms = unix_ms(start);
        let sent = wire::send(&mut writer, &Frame::Run(Box::new(job))).await;
        let tx = ev_tx.clone();
        if let Err(e) = sent {
            let _ = tx.send(Event::Worker(i, Err(e)));
            writers.push(None);
            continue;
        }
        writers.push(Some(writer));
        tokio::spawn(async move {
            loop {
                let f = reader.next().await;
                let last = !matches!(f, Ok(Some(_)));
                if tx.send(Event::Worker(i, f)).is_err() || last {
                    break;
                }
            }
        });
    }
    let started = Frame::Started {
        start_unix_ms: unix_ms(start),
        workers: list.iter().map(|w| w.0.clone()).collect(),
    };
    wire::send(&mut client_w, &started)
        .await
        .map_err(CoordinatorError::ClientGone)?;
    {
        let tx = ev_tx.clone();
        tokio::spawn(async move {
            loop {
                let f = client_r.next().await;
                let last = !matches!(f, Ok(Some(_)));
                if tx.send(Event::Client(f)).is_err() || last {
                    break;
                }
            }
        });
    }
    drop(ev_tx);
    let mut stopping = false;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let stop_all = |writers: &mut Vec<Option<OwnedWriteHalf>>| {
        let ws: Vec<OwnedWriteHalf> = writers.iter_mut().filter_map(Option::take).collect();
        async move {
            for mut w in ws {
                let _ = wire::send(&mut w, &Frame::Stop).await;
                // Keep the connection open until the worker's own end closes it.
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    drop(w);
                });
            }
        }
    };
    while !merger.done() {
        let mut out = Vec::new();
        let mut lost = Vec::new();
        tokio::select! {
            ev = ev_rx.recv() => match ev {
                None => break,
                Some(Event::Worker(i, Ok(Some(Frame::Plan { per_second })))) => merger.plan(i, per_second),
                Some(Event::Worker(i, Ok(Some(Frame::Block { block, cpu_s })))) => {
                    match block.decode(i, names) {
                        Ok(b) => out = merger.add(i, b, cpu_s).1,
                        Err(e) => lost.push((i, format!("sent a block soy cannot read: {e}"))),
                    }
                }
                Some(Event::Worker(i, Ok(Some(Frame::End { cpu_s, wall_s, error })))) => {
                    if let Some(e) = &error {
                        eprintln!("soy coordinator: worker {i} could not run: {e}");
                    }
                    out = merger.end(i, cpu_s, wall_s, error);
                }
                Some(Event::Worker(_, Ok(Some(_)))) => {}
                Some(Event::Worker(i, Ok(None))) => lost.push((i, "its connection closed before its end".into())),
                Some(Event::Worker(i, Err(e))) => lost.push((i, format!("its connection failed: {}", crate::error::flatten(&e)))),
                Some(Event::Client(Ok(Some(Frame::Stop)))) => {
                    stopping = true;
                    stop_all(&mut writers).await;
                }
                Some(Event::Client(Ok(Some(_)))) => {}
                Some(Event::Client(Ok(None) | Err(_))) => {
                    // Nobody collects: the load must not go on.
                    eprintln!("soy coordinator: `soy apply` went away; stopping the workers");
                    stop_all(&mut writers).await;
                    return Ok(());
                }
            },
            _ = tick.tick() => {
                if !stopping {
                    for i in merger.laggards(BEHIND) {
                        lost.push((i, format!("it sent nothing for {BEHIND}s while the others did")));
                    }
                }
            }
        }
        for (i, why) in lost {
            let (report, released) = merger.lose(i, &why);
            out.extend(released);
            if let Some(w) = report {
                eprintln!("soy coordinator: worker {i} ({}) lost: {why}", w.name);
                if let Some(slot) = writers.get_mut(i) {
                    *slot = None;
                }
                wire::send(&mut client_w, &Frame::Lost { worker: w })
                    .await
                    .map_err(CoordinatorError::ClientGone)?;
                if order.on_loss == OnLoss::Abort && !stopping {
                    stopping = true;
                    stop_all(&mut writers).await;
                }
            }
        }
        for b in out {
            send_block(&mut client_w, &b).await?;
        }
    }
    for b in merger.flush() {
        send_block(&mut client_w, &b).await?;
    }
    let finished = Frame::Finished {
        workers: merger.reports(),
    };
    wire::send(&mut client_w, &finished)
        .await
        .map_err(CoordinatorError::ClientGone)?;
    eprintln!("soy coordinator: the run is done");
    Ok(())
}

async fn send_block(
    w: &mut OwnedWriteHalf,
    b: &crate::load::stats::Block,
) -> Result<(), CoordinatorError> {
    let block = WireBlock::encode(b).map_err(CoordinatorError::ClientGone)?;
    wire::send(w, &Frame::Block { block, cpu_s: 0.0 })
        .await
        .map_err(CoordinatorError::ClientGone)
}
