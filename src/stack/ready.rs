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

/// What a check still waits for, for the timeout message.
async fn check_once(
    ready: &Ready,
    logs: &[(String, PathBuf)],
    tls: &Arc<rustls::ClientConfig>,
) -> Result<(), String> {
    for h in &ready.http {
        let url = &h.url;
        let target = Target::parse(url).map_err(|e| e.to_string())?;
        let req = http::Request {
            headers: &[],
            timeout: HTTP_TIMEOUT,
            max_body: http::http1::MAX_KEPT_BODY,
            want_headers: false,
        };
        let resp = http::get(&target, tls, &req).await.map_err(|e| match e {
            GetError::Timeout(t) => format!("GET {url}: no answer within {}", Human(t)),
            e => format!("GET {url}: {e}"),
        })?;
        if resp.status != h.status {
            return Err(format!(
                "GET {url}: status {}, waiting for {}",
                resp.status, h.status
            ));
        }
    }
    for t in &ready.tcp {
        tokio::net::TcpStream::connect(&t.address)
            .await
            .map_err(|e| format!("TCP {}: {e}", t.address))?;
    }
    for l in &ready.log {
        let re = regex::Regex::new(&l.pattern).map_err(|e| e.to_string())?;
        let path = logs
            .iter()
            .find(|(n, _)| *n == l.service)
            .map(|(_, p)| p.clone())
            .ok_or_else(|| format!("no log for service `{}`", l.service))?;
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if !text.lines().any(|line| re.is_match(line)) {
            return Err(format!(
                "service `{}` has not printed a line matching /{}/",
                l.service, l.pattern
            ));
        }
    }
    Ok(())
}

/// Waits until every check passes (URLs as the plan rendered them); `alive` is asked
/// between attempts whether the services still run (a crashed service fails at once instead
/// of waiting for the timeout).
pub async fn wait(
    ready: &Ready,
    logs: &[(String, PathBuf)],
    mut alive: impl FnMut() -> Result<(), String>,
) -> Result<Duration, String> {
    let start = Instant::now();
    // One TLS configuration for every attempt of this wait.
    let tls = http::tls::client_config(false, None).map_err(|e| e.to_string())?;
    loop {
        alive()?;
        let attempt = tokio::time::timeout(ready.timeout.0, check_once(ready, logs, &tls)).await;
        match attempt {
            Ok(Ok(())) => return Ok(start.elapsed()),
            Ok(Err(e)) if start.elapsed() >= ready.timeout.0 => {
                return Err(format!("not ready within {}: {e}", ready.timeout));
            }
            Err(_) => return Err(format!("not ready within {}", ready.timeout)),
            Ok(Err(_)) => tokio::time::sleep(ready.interval.0).await,
        }
    }
}
