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
    #[error(transparent)]
    Transport(Error),
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves `answer` to every connection after reading the request, which it sends back.
    async fn server(answer: &'static [u8]) -> (Target, tokio::sync::mpsc::Receiver<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = vec![0; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let _ = tx
                    .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                    .await;
                let _ = s.write_all(answer).await;
            }
        });
        let target = Target::parse(&format!("http://127.0.0.1:{port}/m?x=1")).unwrap();
        (target, rx)
    }

    fn req(max_body: usize) -> Request<'static> {
        Request {
            headers: &[("Accept", "text/plain")],
            timeout: Duration::from_secs(5),
            max_body,
            want_headers: true,
        }
    }

    #[tokio::test]
    async fn status_headers_body_and_limits() {
        let tls = crate::http::tls::client_config(false, None).unwrap();
        let (target, mut sent) =
            server(b"HTTP/1.1 404 Not Found\r\nX-A: b\r\nContent-Length: 5\r\n\r\nhello").await;
        let resp = get(&target, &tls, &req(100)).await.unwrap();
        assert_eq!(resp.status, 404);
        assert_eq!(resp.body, b"hello");
        assert!(resp.headers.contains(&("x-a".into(), "b".into())));
        let request = sent.recv().await.unwrap();
        assert!(request.starts_with("GET /m?x=1 HTTP/1.1\r\nHost: 127.0.0.1:"));
        assert!(request.contains("\r\nAccept: text/plain\r\n"));
        assert!(request.ends_with("Connection: close\r\n\r\n"));

        let e = get(&target, &tls, &req(4)).await.unwrap_err();
        assert!(matches!(e, GetError::TooLarge { limit: 4, len: 5 }), "{e}");

        let (silent, _sent) = server(b"").await;
        let mut r = req(100);
        r.timeout = Duration::from_millis(1);
        // The server answers nothing and closes, or the time limit passes first.
        let e = get(&silent, &tls, &r).await.unwrap_err();
        assert!(
            matches!(e, GetError::Timeout(_) | GetError::Transport(Error::Closed)),
            "{e}"
        );
    }

    #[tokio::test]
    async fn refused_connections_are_transport_errors() {
        let tls = crate::http::tls::client_config(false, None).unwrap();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let target = Target::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let e = get(&target, &tls, &req(10)).await.unwrap_err();
        assert!(e.to_string().starts_with("connect: "), "{e}");
    }
}
