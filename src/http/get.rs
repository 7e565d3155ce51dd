//! One GET for the control plane (scrapes, the Prometheus API, readiness checks): a fresh
//! connection, the caller's headers, a time limit over connecting and reading, and a limit
//! on the body kept. The TLS configuration is the caller's, built once and shared.

use std::sync::Arc;
use std::time::Duration;

use super::Error;
use super::http1::{self, Want};
use super::target::Target;

/// What to send and how long to wait.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Extra headers (`Host`, `User-Agent` and `Connection: close` are always sent).
    pub headers: &'a [(&'a str, &'a str)],
    /// Covers connecting, the TLS handshake and the whole answer.
    pub timeout: Duration,
    /// The most body bytes accepted; a longer body is [`GetError::TooLarge`].
    pub max_body: usize,
    /// Whether the response headers are wanted (lower-cased names).
    pub want_headers: bool,
}

/// An answer of any status.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    /// Lower-cased names, in the order received; empty unless asked for.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a GET got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    /// Connecting or reading failed.
    #[error("{0}")]
    Transport(#[source] Error),
    /// No complete answer within the time limit.
    #[error("no complete answer within {}", crate::clock::Human(*.0))]
    Timeout(Duration),
    /// The body is longer than the limit.
    #[error("the answer is larger than {} MiB ({len} bytes)", .limit >> 20)]
    TooLarge { limit: usize, len: u64 },
}

/// GETs `target` on a new connection.
pub async fn get(
    target: &Target,
    tls: &Arc<rustls::ClientConfig>,
    req: &Request<'_>,
) -> Result<Response, GetError> {
    let mut head = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\n",
        target.path, target.authority
    );
    for (k, v) in req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(concat!(
        "User-Agent: soy/",
        env!("CARGO_PKG_VERSION"),
        "\r\nConnection: close\r\n\r\n"
    ));
    let once = async {
        let mut conn = http1::connect(target, tls).await?;
        conn.keep_body_up_to(req.max_body);
        let want = Want {
            body: true,
            headers: req.want_headers,
        };
        conn.exchange(head.as_bytes(), false, want).await
    };
    let resp = tokio::time::timeout(req.timeout, once)
        .await
        .map_err(|_| GetError::Timeout(req.timeout))?
        .map_err(GetError::Transport)?;
    if resp.body_len > req.max_body as u64 {
        return Err(GetError::TooLarge {
            limit: req.max_body,
            len: resp.body_len,
        });
    }
    Ok(Response {
        status: resp.status,
        headers: resp.headers,
        body: resp.body,
    })
}
