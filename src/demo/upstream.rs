//! The demo backend: JSON answers after a latency drawn per request, with CPU burned on purpose.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;

use super::latency::Latency;
use super::server::{BoxFuture, Handler, Req, Resp};

/// The upstream's behaviour.
#[derive(Debug, Clone)]
pub struct Config {
    pub name: String,
    /// Latency per path prefix (longest match wins); the entry with an empty prefix is the default.
    pub latency: Vec<(String, Latency)>,
    pub cpu: Duration,
    pub error_rate: f64,
    /// Most requests served at once (latency and CPU); the rest queue.
    pub concurrency: Option<u32>,
}

impl Config {
    pub fn new(
        name: String,
        latency: &[String],
        cpu: Option<&str>,
        error_rate: f64,
    ) -> Result<Config, super::DemoError> {
        let mut rules = Vec::new();
        for l in latency {
            match l.split_once('=') {
                Some((prefix, range)) => rules.push((prefix.to_string(), Latency::parse(range)?)),
                None => rules.push((String::new(), Latency::parse(l)?)),
            }
        }
        rules.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        let cpu = cpu
            .map(crate::manifest::duration::parse)
            .transpose()?
            .map_or(Duration::ZERO, |d| d.0);
        if !(0.0..=1.0).contains(&error_rate) {
            return Err(super::DemoError::Flag(format!(
                "--error-rate {error_rate} is not between 0 and 1"
            )));
        }
        Ok(Config {
            name,
            latency: rules,
            cpu,
            error_rate,
            concurrency: None,
        })
    }

    fn latency_for(&self, path: &str) -> Option<Latency> {
        self.latency
            .iter()
            .find(|(p, _)| path.starts_with(p.as_str()))
            .map(|(_, l)| *l)
    }
}

pub struct Upstream {
    cfg: Config,
    requests: AtomicU64,
    /// The serving slots of `concurrency`.
    slots: Option<tokio::sync::Semaphore>,
}

impl Upstream {
    pub fn new(cfg: Config) -> Self {
        Upstream {
            slots: cfg
                .concurrency
                .map(|n| tokio::sync::Semaphore::new(n as usize)),
            cfg,
            requests: AtomicU64::new(0),
        }
    }
}

impl Handler for Upstream {
    fn handle(self: Arc<Self>, req: Req) -> BoxFuture {
        Box::pin(async move {
            match req.path.as_str() {
                "/health" => return Resp::new(200, "text/plain", "ok\n"),
                "/metrics" => {
                    let n = self.requests.load(Ordering::Relaxed);
                    return Resp::new(
                        200,
                        "text/plain; version=0.0.4",
                        format!(
                            "# TYPE soy_demo_requests_total counter\nsoy_demo_requests_total{{service=\"{}\"}} {n}\n",
                            self.cfg.name
                        ),
                    );
                }
                _ => {}
            }
            let n = self.requests.fetch_add(1, Ordering::Relaxed);
            let (u, fail) = {
                let mut rng = rand::rng();
                (
                    rng.random::<f64>(),
                    rng.random::<f64>() < self.cfg.error_rate,
                )
            };
            // A closed semaphore cannot happen (it is never closed): serve without a slot.
            let _slot = match &self.slots {
                Some(s) => s.acquire().await.ok(),
                None => None,
            };
            if let Some(l) = self.cfg.latency_for(&req.path) {
                tokio::time::sleep(l.sample(u)).await;
            }
            if !self.cfg.cpu.is_zero() {
                let until = Instant::now() + self.cfg.cpu;
                let mut x = n;
                while Instant::now() < until {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                }
                std::hint::black_box(x);
            }
            if fail {
                return Resp::new(
                    500,
                    "application/json",
                    format!(
                        "{{\"service\": \"{}\", \"error\": \"injected\"}}",
                        self.cfg.name
                    ),
                );
            }
            if req.method == "POST" && req.path.starts_with("/login") {
                return Resp::new(
                    200,
                    "application/json",
                    format!("{{\"token\": \"tok-{n}\"}}"),
                );
            }
            let path = req.path.replace('"', "");
            Resp::new(
                200,
                "application/json",
                format!(
                    "{{\"service\": \"{}\", \"path\": \"{path}\", \"n\": {n}}}",
                    self.cfg.name
                ),
            )
        })
    }
}
