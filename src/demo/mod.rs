//! `soy demo-service`: the seed's system in miniature, so the quickstart needs nothing but soy.
//! `upstream` plays ms-exercise / ms-other (configurable latency and CPU cost per path);
//! `gateway` forwards by path prefix to its upstream clusters and exposes Envoy-compatible
//! metrics for them, so the seed's Envoy queries have real data.

mod gateway;
mod latency;
mod metrics;
mod probe;
mod server;
mod upstream;

use std::net::SocketAddr;

pub use latency::Latency;

/// Which role to play.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DemoCommand {
    /// A backend service: answers every path with JSON after its latency and CPU cost.
    Upstream {
        /// Service name, reported in responses and metrics.
        #[arg(long, default_value = "upstream")]
        name: String,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8081")]
        listen: SocketAddr,
        /// Latency: `10ms`, or a uniform range `5ms..20ms`; `PREFIX=RANGE` for one path prefix.
        #[arg(long)]
        latency: Vec<String>,
        /// CPU time burned per request, e.g. `200us`.
        #[arg(long)]
        cpu: Option<String>,
        /// Share of requests answered 500 (0 to 1).
        #[arg(long, default_value_t = 0.0)]
        error_rate: f64,
        /// Serve at most this many requests at once; the rest wait their turn, so latency
        /// grows with load once more than this many are in flight (a capacity to find).
        #[arg(long)]
        concurrency: Option<u32>,
        /// Exit (status 1) after this long, to rehearse a crash.
        #[arg(long)]
        exit_after: Option<String>,
    },
    /// The gateway: forwards `PREFIX` to a cluster, serves `/login`, `/health`, `/metrics`.
    Gateway {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// `CLUSTER=PREFIX=URL`, e.g. `ms_exercise_cluster=/api/exercises=http://127.0.0.1:8081`.
        #[arg(long, required = true)]
        upstream: Vec<String>,
        /// Envoy HTTP connection manager prefix in the metrics.
        #[arg(long, default_value = "gateway_hcm")]
        conn_manager: String,
    },
    /// cAdvisor's container metrics for a machine with no cAdvisor: samples every running
    /// container through the Engine's stats API (mount the Docker socket) and serves
    /// `container_cpu_usage_seconds_total` and friends on `/metrics`.
    Cadvisor {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8085")]
        listen: SocketAddr,
        /// Only containers of this stack (`com.docker.stack.namespace`).
        #[arg(long)]
        stack: Option<String>,
        /// How often to sample.
        #[arg(long, default_value = "1s")]
        interval: String,
    },
    /// A healthcheck for images with no shell: GET an `http://` URL, exit 0 on a 2xx answer.
    Probe {
        /// e.g. `http://127.0.0.1:8081/health`.
        url: String,
        /// Give up after this long.
        #[arg(long, default_value = "2s")]
        timeout: String,
    },
}

/// What stops a demo service.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot start the async runtime")]
    Tokio(#[source] std::io::Error),
    /// A flag's value is unusable.
    #[error("{0}")]
    Flag(String),
    #[error(transparent)]
    Duration(#[from] crate::manifest::duration::DurationError),
    #[error("--upstream `{spec}`")]
    Upstream {
        spec: String,
        #[source]
        source: crate::http::UrlError,
    },
    #[error("cannot listen on {addr}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Stack(#[from] crate::stack::StackError),
    #[error("TLS setup")]
    Tls(#[source] crate::http::TlsError),
    /// The probe could not ask.
    #[error("{url}")]
    Probe {
        url: String,
        #[source]
        source: std::io::Error,
    },
    /// The probe asked and the answer is not healthy.
    #[error("{0}")]
    Unhealthy(String),
}

/// Runs the demo service until killed.
pub fn run(cmd: DemoCommand) -> Result<(), DemoError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(DemoError::Tokio)?;
    rt.block_on(async move {
        // As PID 1 in a container no signal has a default action: stop on SIGTERM or SIGINT
        // ourselves, so `docker service update` and teardown do not wait for the grace period.
        tokio::spawn(async {
            use tokio::signal::unix::{SignalKind, signal};
            if let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                std::process::exit(0);
            }
        });
        match cmd {
            DemoCommand::Upstream {
                name,
                listen,
                latency,
                cpu,
                error_rate,
                concurrency,
                exit_after,
            } => {
                if let Some(after) = exit_after {
                    let after = crate::manifest::duration::parse(&after)?.0;
                    tokio::spawn(async move {
                        tokio::time::sleep(after).await;
                        eprintln!("soy demo-service: exiting as asked (--exit-after)");
                        std::process::exit(1);
                    });
                }
                let mut cfg = upstream::Config::new(name, &latency, cpu.as_deref(), error_rate)?;
                cfg.concurrency = concurrency.filter(|n| *n > 0);
                server::serve(listen, std::sync::Arc::new(upstream::Upstream::new(cfg))).await
            }
            DemoCommand::Gateway {
                listen,
                upstream,
                conn_manager,
            } => {
                let gw = gateway::Gateway::new(&upstream, conn_manager)?;
                server::serve(listen, std::sync::Arc::new(gw)).await
            }
            DemoCommand::Cadvisor {
                listen,
                stack,
                interval,
            } => {
                let every = crate::manifest::duration::parse(&interval)?.0;
                let engine = crate::stack::swarm::Swarm::connect_engine().await?;
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .map_err(|source| DemoError::Listen {
                        addr: listen,
                        source,
                    })?;
                eprintln!("soy demo-service cadvisor listening on http://{listen}/metrics");
                let text = crate::load::Exposition::default();
                let sampled = text.clone();
                tokio::spawn(async move {
                    let mut iv =
                        tokio::time::interval(every.max(std::time::Duration::from_millis(100)));
                    loop {
                        iv.tick().await;
                        match engine.container_samples(stack.as_deref()).await {
                            Ok(s) => {
                                if let Ok(mut t) = sampled.lock() {
                                    *t = crate::metrics::cadvisor::exposition(&s);
                                }
                            }
                            Err(e) => eprintln!(
                                "soy demo-service cadvisor: {}",
                                crate::error::flatten(&e)
                            ),
                        }
                    }
                });
                crate::load::serve_exposition(listener, vec![text]).await;
                Ok(())
            }
            DemoCommand::Probe { url, timeout } => {
                probe::get(&url, crate::manifest::duration::parse(&timeout)?.0)
            }
        }
    })
}
