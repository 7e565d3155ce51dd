//! The demo gateway: `/login` itself, everything else forwarded by path prefix to an upstream
//! cluster over kept-alive connections, with Envoy-compatible metrics per cluster.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::metrics::EnvoyMetrics;
use super::server::{BoxFuture, Handler, Req, Resp};
use crate::http::http1::{self, Conn, Want};
use crate::http::target::Target;

struct Cluster {
    name: String,
    prefix: String,
    target: Target,
    /// Kept-alive connections per endpoint address.
    idle: Mutex<std::collections::HashMap<String, Vec<Conn>>>,
    endpoints: Mutex<Endpoints>,
}

/// A cluster's endpoints as DNS last answered (every address of a swarm service with
/// `endpoint_mode: dnsrr`, one per task), and the round-robin position: requests are spread
/// over the endpoints one by one, as Envoy's `STRICT_DNS` clusters with `ROUND_ROBIN` do.
#[derive(Default)]
struct Endpoints {
    addrs: Vec<String>,
    resolved: Option<Instant>,
    next: usize,
}

/// How long an answer of DNS is used before asking again (new replicas get load within it).
const RESOLVE_EVERY: Duration = Duration::from_secs(1);

pub struct Gateway {
    clusters: Vec<Cluster>,
    metrics: EnvoyMetrics,
    conn_manager: String,
    tls: Arc<rustls::ClientConfig>,
    logins: std::sync::atomic::AtomicU64,
}

impl Gateway {
    /// Parses `CLUSTER=PREFIX=URL` specs.
    pub fn new(specs: &[String], conn_manager: String) -> Result<Gateway, super::DemoError> {
        use super::DemoError;
        let mut clusters = Vec::new();
        for s in specs {
            let mut parts = s.splitn(3, '=');
            let (Some(name), Some(prefix), Some(url)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(DemoError::Flag(format!(
                    "--upstream `{s}`: expected CLUSTER=PREFIX=URL"
                )));
            };
            let target = Target::parse(url).map_err(|source| DemoError::Upstream {
                spec: s.clone(),
                source,
            })?;
            clusters.push(Cluster {
                name: name.to_string(),
                prefix: prefix.to_string(),
                target,
                idle: Mutex::new(std::collections::HashMap::new()),
                endpoints: Mutex::new(Endpoints::default()),
            });
        }
        clusters.sort_by_key(|c| std::cmp::Reverse(c.prefix.len()));
        let names: Vec<String> = clusters.iter().map(|c| c.name.clone()).collect();
        Ok(Gateway {
            clusters,
            metrics: EnvoyMetrics::new(&names),
            conn_manager,
            tls: crate::http::tls::client_config(false, None).map_err(DemoError::Tls)?,
            logins: Default::default(),
        })
    }

    /// The endpoints of a cluster, in turn: its host when that is an address or the target
    /// uses TLS (the name is needed for the certificate), else the addresses DNS gives.
    async fn pick(&self, c: &Cluster) -> Vec<Target> {
        if c.target.tls || c.target.host.parse::<std::net::IpAddr>().is_ok() {
            return vec![c.target.clone()];
        }
        let stale = c.endpoints.lock().map_or(true, |e| {
            e.resolved.is_none_or(|t| t.elapsed() > RESOLVE_EVERY)
        });
        if stale {
            let found = tokio::net::lookup_host((c.target.host.as_str(), c.target.port)).await;
            let mut addrs: Vec<String> = found
                .map(|a| a.map(|a| a.ip().to_string()).collect())
                .unwrap_or_default();
            addrs.sort();
            addrs.dedup();
            if let Ok(mut e) = c.endpoints.lock() {
                e.addrs = addrs;
                e.resolved = Some(Instant::now());
            }
        }
        let Ok(mut e) = c.endpoints.lock() else {
            return vec![c.target.clone()];
        };
        if e.addrs.is_empty() {
            // DNS had no answer: connecting by name reports why.
            return vec![c.target.clone()];
        }
        let n = e.addrs.len();
        let first = e.next % n;
        e.next = e.next.wrapping_add(1);
        (0..n)
            .map(|i| Target {
                host: e.addrs[(first + i) % n].clone(),
                ..c.target.clone()
            })
            .collect()
    }

    async fn forward(&self, c: &Cluster, req: &Req) -> Result<(u16, String), String> {
        // The endpoint in turn; when it refuses a connection (a task in DNS that is not
        // listening yet, or gone), the next one: the request was not sent, so this is safe.
        let mut conn = None;
        let mut last = String::new();
        let mut at = String::new();
        for t in self.pick(c).await.into_iter().take(3) {
            let pooled = c
                .idle
                .lock()
                .ok()
                .and_then(|mut m| m.get_mut(&t.host).and_then(Vec::pop));
            at = t.host.clone();
            match pooled {
                Some(p) => {
                    conn = Some(p);
                    break;
                }
                None => match http1::connect(&t, &self.tls).await {
                    Ok(p) => {
                        conn = Some(p);
                        break;
                    }
                    Err(e) => last = e.to_string(),
                },
            }
        }
        let Some(mut conn) = conn else {
            return Err(last);
        };
        let mut bytes = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            req.method,
            req.path,
            c.target.authority,
            req.body.len()
        )
        .into_bytes();
        for (k, v) in &req.headers {
            if k == "authorization" || k == "content-type" {
                bytes.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
            }
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&req.body);
        let want = Want {
            body: true,
            headers: false,
        };
        let resp = tokio::time::timeout(
            Duration::from_secs(30),
            conn.exchange(&bytes, req.method == "HEAD", want),
        )
        .await
        .map_err(|_| "upstream timeout".to_string())?
        .map_err(|e| e.to_string())?;
        if conn.reusable
            && let Ok(mut idle) = c.idle.lock()
        {
            idle.entry(at).or_default().push(conn);
        }
        Ok((
            resp.status,
            String::from_utf8_lossy(&resp.body).into_owned(),
        ))
    }
}

impl Handler for Gateway {
    fn handle(self: Arc<Self>, req: Req) -> BoxFuture {
        Box::pin(async move {
            match req.path.as_str() {
                "/health" => return Resp::new(200, "text/plain", "ok\n"),
                "/metrics" | "/stats/prometheus" => {
                    return Resp::new(
                        200,
                        "text/plain; version=0.0.4",
                        self.metrics.render(&self.conn_manager),
                    );
                }
                _ => {}
            }
            self.metrics.downstream();
            if req.path.starts_with("/login") && req.method == "POST" {
                let n = self
                    .logins
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Resp::new(
                    200,
                    "application/json",
                    format!("{{\"token\": \"gw-{n}\"}}"),
                );
            }
            let Some(c) = self
                .clusters
                .iter()
                .find(|c| req.path.starts_with(&c.prefix))
            else {
                return Resp::new(404, "application/json", "{\"error\": \"no route\"}");
            };
            let start = Instant::now();
            match self.forward(c, &req).await {
                Ok((status, body)) => {
                    self.metrics.upstream(
                        &c.name,
                        start.elapsed().as_secs_f64() * 1000.0,
                        Some(status),
                    );
                    Resp::new(status, "application/json", body)
                }
                Err(e) => {
                    self.metrics
                        .upstream(&c.name, start.elapsed().as_secs_f64() * 1000.0, None);
                    Resp::new(
                        503,
                        "application/json",
                        format!(
                            "{{\"error\": \"upstream {}: {}\"}}",
                            c.name,
                            e.replace('"', "'")
                        ),
                    )
                }
            }
        })
    }
}
