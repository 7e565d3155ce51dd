//! Readiness checks: HTTP status, TCP connect, a line in a service's log. Each is retried at
//! `ready.interval` until it passes or `ready.timeout` runs out.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::load::http1::{self, Want};
use crate::load::target::Target;
use crate::manifest::model::Ready;
use crate::manifest::template;

/// What a check still waits for, for the timeout message.
async fn check_once(
    ready: &Ready,
    vars: &std::collections::BTreeMap<String, minijinja::Value>,
    logs: &[(String, PathBuf)],
) -> Result<(), String> {
    let tls = crate::load::tls::client_config(false, None)?;
    for h in &ready.http {
        let url = template::render(&h.url, vars)?;
        let target = Target::parse(&url)?;
        let mut conn = http1::connect(&target, &tls)
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            target.path, target.authority
        );
        let resp = tokio::time::timeout(
            Duration::from_secs(5),
            conn.exchange(req.as_bytes(), false, Want::default()),
        )
        .await
        .map_err(|_| format!("GET {url}: no answer within 5s"))?
        .map_err(|e| format!("GET {url}: {e}"))?;
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

/// Waits until every check passes; `alive` is asked between attempts whether the services
/// still run (a crashed service fails at once instead of waiting for the timeout).
pub async fn wait(
    ready: &Ready,
    vars: &std::collections::BTreeMap<String, minijinja::Value>,
    logs: &[(String, PathBuf)],
    mut alive: impl FnMut() -> Result<(), String>,
) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        alive()?;
        let attempt = tokio::time::timeout(ready.timeout.0, check_once(ready, vars, logs)).await;
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
