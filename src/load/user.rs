//! A virtual user: its connection, its extracted values, and how it sends one request,
//! runs a task, and loops (closed model) or runs one iteration (open model).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use minijinja::Value as JValue;

use super::failure::Failure;
use super::functions;
use super::outcome;
use super::render;
use super::scenario::Scenario;
use super::stats::Block;
use crate::http::http1::{self, Conn, Response, Want};
use crate::http::http2::{self, H2Conn};
use crate::http::target::Target;

/// What the users of one worker thread share. Single-threaded: `Rc`, `RefCell`, no locks.
pub struct Worker {
    pub sc: Arc<Scenario>,
    pub block: RefCell<Block>,
    /// Open model: iterations in flight.
    pub in_flight: Cell<u64>,
}

/// One virtual user's state.
pub struct User {
    pub index: u64,
    pub iteration: u64,
    extracted: BTreeMap<String, JValue>,
    conn: Option<(Target, Link)>,
}

thread_local! {
    /// Request buffers of this thread's users, held only while a request is rendered and
    /// sent (an idle user holds none).
    static BUFFERS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn buffer() -> String {
    BUFFERS
        .with(|b| b.borrow_mut().pop())
        .unwrap_or_else(|| String::with_capacity(512))
}

fn give_back(buf: String) {
    if buf.capacity() > 0 && buf.capacity() <= 64 * 1024 {
        BUFFERS.with(|b| {
            let mut b = b.borrow_mut();
            if b.len() < 64 {
                b.push(buf);
            }
        });
    }
}

/// A user's connection: HTTP/1.1 (soy's own client) or HTTP/2 (hyper).
enum Link {
    H1(Conn),
    H2(H2Conn),
}

impl Link {
    fn reusable(&self) -> bool {
        match self {
            Link::H1(c) => c.reusable,
            Link::H2(c) => c.usable(),
        }
    }

    fn served(&self) -> u64 {
        match self {
            Link::H1(c) => c.served,
            Link::H2(c) => c.served,
        }
    }

    async fn open(target: &Target, sc: &Scenario) -> Result<Link, Failure> {
        let (stream, alpn_h2) =
            http1::open(target, if sc.http2 { &sc.tls_h2 } else { &sc.tls }).await?;
        if sc.http2 && (alpn_h2 || !target.tls) {
            Ok(Link::H2(http2::handshake(stream).await?))
        } else {
            Ok(Link::H1(Conn::new(stream)))
        }
    }

    async fn exchange(
        &mut self,
        target: &Target,
        bytes: &[u8],
        head: bool,
        want: Want,
    ) -> Result<Response, Failure> {
        match self {
            Link::H1(c) => Ok(c.exchange(bytes, head, want).await?),
            Link::H2(c) => Ok(Box::pin(c.exchange(bytes, target.tls, want)).await?),
        }
    }
}

impl User {
    pub fn new(index: u64) -> Self {
        User {
            index,
            iteration: 0,
            extracted: BTreeMap::new(),
            conn: None,
        }
    }

    fn context<'a>(&'a self, sc: &'a Scenario) -> super::fast::Ctx<'a> {
        super::fast::Ctx {
            vars: &sc.vars,
            index: self.index,
            iteration: self.iteration,
            extracted: &self.extracted,
        }
    }

    /// Sends request `idx`, records it, and returns whether it succeeded. With `scheduled`
    /// (open model), latency counts from the scheduled start and service time is kept too.
    pub async fn request(&mut self, w: &Worker, idx: usize, scheduled: Option<Instant>) -> bool {
        let sc = &w.sc;
        let req = &sc.requests[idx];
        let t0 = Instant::now();
        let mut buf = if req.fixed.is_some() {
            String::new()
        } else {
            buffer()
        };
        let rendered;
        let (target, bytes): (&Target, &[u8]) = match &req.fixed {
            Some((t, b)) => (t, b),
            None => match render::render_into(sc, idx, &self.context(sc), &mut buf) {
                Ok(t) => {
                    rendered = t;
                    (&*rendered, buf.as_bytes())
                }
                Err(f) => {
                    give_back(buf);
                    record(w, req.stat, t0, scheduled, 0, Some(f));
                    return false;
                }
            },
        };
        let head = matches!(req.method, crate::manifest::model::Method::Head);
        let sent = tokio::time::timeout(
            req.timeout,
            send(&mut self.conn, sc, target, bytes, head, req.want),
        )
        .await;
        give_back(buf);
        let result = match sent {
            Ok(r) => r,
            Err(_) => {
                self.conn = None;
                Err(Failure::Timeout(req.timeout))
            }
        };
        let outcome =
            result.and_then(|resp| outcome::evaluate(req, &resp).map(|ex| (resp.body_len, ex)));
        match outcome {
            Ok((len, extracted)) => {
                for (k, v) in extracted {
                    match self.extracted.get_mut(k) {
                        Some(slot) => *slot = v,
                        None => {
                            self.extracted.insert(k.to_string(), v);
                        }
                    }
                }
                record(w, req.stat, t0, scheduled, len, None);
                true
            }
            Err(f) => {
                record(w, req.stat, t0, scheduled, 0, Some(f));
                false
            }
        }
    }

    /// Runs one task: its steps in order, stopping at the first failure.
    pub async fn task(&mut self, w: &Worker, task: usize, scheduled: Option<Instant>) {
        let sc = w.sc.clone();
        let mut first = scheduled;
        for &step in &sc.tasks[task].steps {
            if !self.request(w, step, first.take()).await {
                break;
            }
        }
        self.iteration += 1;
    }

    /// Runs the on-start steps.
    pub async fn start(&mut self, w: &Worker) {
        let sc = w.sc.clone();
        for &step in &sc.on_start {
            if !self.request(w, step, None).await {
                break;
            }
        }
    }
}

/// Picks a task by weight.
pub fn pick(sc: &Scenario) -> usize {
    sc.pick(functions::below(sc.total_weight()))
}

/// The closed-model loop of one user: on-start, then tasks with think time, until aborted.
pub async fn closed_loop(w: std::rc::Rc<Worker>, index: u64) {
    let mut user = User::new(index);
    Box::pin(user.start(&w)).await;
    loop {
        let task = pick(&w.sc);
        // Boxed: the request's state lives on the heap only while it runs, so a user that
        // thinks holds little more than its own fields.
        Box::pin(user.task(&w, task, None)).await;
        let think = w.sc.tasks[task].think;
        let pause = functions::uniform(think.min.as_secs_f64(), think.max.as_secs_f64());
        if pause > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(pause)).await;
        } else {
            // Let the worker's other users and its flusher run.
            tokio::task::yield_now().await;
        }
    }
}

async fn send(
    conn: &mut Option<(Target, Link)>,
    sc: &Scenario,
    target: &Target,
    bytes: &[u8],
    head: bool,
    want: Want,
) -> Result<Response, Failure> {
    let reusable = matches!(conn, Some((t, c)) if t.same_origin(target) && c.reusable());
    if !reusable {
        *conn = None;
        // Boxed: connecting (TLS, HTTP/2 handshakes) needs large futures that idle users
        // should not carry in their own state.
        *conn = Some((target.clone(), Box::pin(Link::open(target, sc)).await?));
    }
    let (_, c) = conn.as_mut().ok_or(Failure::Closed)?;
    let reused = c.served() > 0;
    let result = match c.exchange(target, bytes, head, want).await {
        // A kept-alive connection the server closed while idle: retry once on a fresh one.
        Err(Failure::Closed | Failure::Reset) if reused => {
            let mut fresh = Box::pin(Link::open(target, sc)).await?;
            let r = fresh.exchange(target, bytes, head, want).await;
            *conn = Some((target.clone(), fresh));
            r
        }
        r => r,
    };
    if result.is_err() || !conn.as_ref().is_some_and(|(_, c)| c.reusable()) {
        *conn = None;
    }
    result
}

fn record(
    w: &Worker,
    stat: usize,
    t0: Instant,
    scheduled: Option<Instant>,
    bytes: u64,
    failure: Option<Failure>,
) {
    let end = Instant::now();
    let from = scheduled.map_or(t0, |s| s.min(t0));
    let us = end.duration_since(from).as_micros() as u64;
    let mut block = w.block.borrow_mut();
    block.entries[stat].record(us, bytes, failure.is_some());
    if scheduled.is_some() {
        block.service.record(
            end.duration_since(t0).as_micros() as u64,
            bytes,
            failure.is_some(),
        );
    }
    if let Some(f) = failure {
        *block.failures.entry((stat, f.to_string())).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_weights_follow_their_ratios() {
        let load: crate::manifest::model::Load = serde_json::from_value(serde_json::json!({
            "host": "http://127.0.0.1:1",
            "tasks": [
                {"name": "a", "weight": 5, "request": {"path": "/a"}},
                {"name": "b", "weight": 3, "request": {"path": "/b"}},
                {"name": "c", "weight": 2, "request": {"path": "/c"}},
                {"name": "off", "weight": 0, "request": {"path": "/off"}}
            ]
        }))
        .unwrap();
        let sc = Scenario::compile(
            &load,
            BTreeMap::new(),
            None,
            crate::http::tls::client_config(false, None).unwrap(),
        )
        .unwrap();
        functions::seed_thread(42);
        let mut counts = [0f64; 4];
        let n = 10_000.0;
        for _ in 0..10_000 {
            counts[pick(&sc)] += 1.0;
        }
        assert_eq!(counts[3], 0.0, "a weight-0 task is never picked");
        let expected = [0.5 * n, 0.3 * n, 0.2 * n];
        let chi2: f64 = (0..3)
            .map(|i| (counts[i] - expected[i]).powi(2) / expected[i])
            .sum();
        // Two degrees of freedom: P(chi² > 13.8) = 0.001.
        assert!(chi2 < 13.8, "chi² = {chi2}, counts {counts:?}");
    }
}
