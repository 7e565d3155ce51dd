//! Readiness checks: HTTP status, TCP connect, a line in a service's log. Each is retried at
//! `ready.interval` until it passes or `ready.timeout` runs out.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::Human;
use crate::http::{self, GetError, Target};
use crate::manifest::model::Ready;

/// The time an HTTP check may take to answer.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the stack is not ready.
#[derive(Debug, thiserror::Error)]
pub enum ReadyError {
    /// The checks did not pass in time; the last attempt's reason, when it answered.
    #[error("not ready within {within}")]
    Timeout {
        within: String,
        #[source]
        last: Option<Waiting>,
    },
    /// A service died while waiting (its exit status and last output).
    #[error("{0}")]
    Exited(String),
    /// A check that can never pass.
    #[error(transparent)]
    Unusable(Waiting),
    #[error("readiness checks")]
    Tls(#[source] http::TlsError),
}

/// What a check still waits for.
#[derive(Debug, thiserror::Error)]
pub enum Waiting {
    #[error("GET {url}: no answer within {}", Human(*.within))]
    NoAnswer { url: String, within: Duration },
    #[error("GET {url}")]
    Get {
        url: String,
        #[source]
        source: GetError,
    },
    #[error("GET {url}: status {status}, waiting for {want}")]
    Status { url: String, status: u16, want: u16 },
    #[error("TCP {address}")]
    Tcp {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("service `{service}` has not printed a line matching /{pattern}/")]
    NoLine { service: String, pattern: String },
    #[error("no log for service `{0}` yet")]
    NoLog(String),
    // Checks that cannot pass, whatever the stack does.
    #[error("ready.http")]
    Url(#[source] http::UrlError),
    #[error("ready.log pattern")]
    Pattern(#[source] regex::Error),
}

impl Waiting {
    fn can_pass(&self) -> bool {
        !matches!(self, Waiting::Url(_) | Waiting::Pattern(_))
    }
}

/// What a check still waits for, for the timeout message.
async fn check_once(
    ready: &Ready,
    logs: &[(String, PathBuf)],
    tls: &Arc<rustls::ClientConfig>,
) -> Result<(), Waiting> {
    for h in &ready.http {
        let url = &h.url;
        let target = Target::parse(url).map_err(Waiting::Url)?;
        let req = http::Request {
            headers: &[],
            timeout: HTTP_TIMEOUT,
            max_body: http::http1::MAX_KEPT_BODY,
            want_headers: false,
        };
        let resp = http::get(&target, tls, &req).await.map_err(|e| match e {
            GetError::Timeout(within) => Waiting::NoAnswer {
                url: url.clone(),
                within,
            },
            source => Waiting::Get {
                url: url.clone(),
                source,
            },
        })?;
        if resp.status != h.status {
            return Err(Waiting::Status {
                url: url.clone(),
                status: resp.status,
                want: h.status,
            });
        }
    }
    for t in &ready.tcp {
        tokio::net::TcpStream::connect(&t.address)
            .await
            .map_err(|source| Waiting::Tcp {
                address: t.address.clone(),
                source,
            })?;
    }
    for l in &ready.log {
        let re = regex::Regex::new(&l.pattern).map_err(Waiting::Pattern)?;
        let path = logs
            .iter()
            .find(|(n, _)| *n == l.service)
            .map(|(_, p)| p.clone())
            .ok_or_else(|| Waiting::NoLog(l.service.clone()))?;
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if !text.lines().any(|line| re.is_match(line)) {
            return Err(Waiting::NoLine {
                service: l.service.clone(),
                pattern: l.pattern.clone(),
            });
        }
    }
    Ok(())
}

/// Waits until every check passes (URLs as the plan rendered them); `exited` is asked
/// between attempts whether a service has died (a crashed service fails at once instead
/// of waiting for the timeout).
pub async fn wait(
    ready: &Ready,
    logs: &[(String, PathBuf)],
    mut exited: impl FnMut() -> Option<String>,
) -> Result<Duration, ReadyError> {
    let start = Instant::now();
    // One TLS configuration for every attempt of this wait.
    let tls = http::tls::client_config(false, None).map_err(ReadyError::Tls)?;
    let timeout = |last| ReadyError::Timeout {
        within: ready.timeout.to_string(),
        last,
    };
    loop {
        if let Some(why) = exited() {
            return Err(ReadyError::Exited(why));
        }
        let attempt = tokio::time::timeout(ready.timeout.0, check_once(ready, logs, &tls)).await;
        match attempt {
            Ok(Ok(())) => return Ok(start.elapsed()),
            Ok(Err(e)) if !e.can_pass() => return Err(ReadyError::Unusable(e)),
            Ok(Err(e)) if start.elapsed() >= ready.timeout.0 => return Err(timeout(Some(e))),
            Err(_) => return Err(timeout(None)),
            Ok(Err(_)) => tokio::time::sleep(ready.interval.0).await,
        }
    }
}
