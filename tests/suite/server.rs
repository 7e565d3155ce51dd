//! A small HTTP/1.1 server on 127.0.0.1:0 for load-generator tests, with routes that
//! misbehave on purpose: slow answers, closed and reset connections, chunked bodies.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running test server; it stops when the test process ends.
pub struct Server {
    pub addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, u64>>>,
}

impl Server {
    pub fn start() -> Server {
        let hits: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let h = hits.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    tokio::spawn(serve(stream, h.clone(), reset_tcp));
                }
            });
        });
        Server {
            addr: rx.recv().expect("server address"),
            hits,
        }
    }

    /// An HTTPS server with a fresh self-signed certificate for `localhost`; returns the
    /// certificate as PEM too.
    pub fn start_tls() -> (Server, String) {
        let ck =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
        let pem = ck.cert.pem();
        let cert = ck.cert.der().clone();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let hits: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let h = hits.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("rt");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("addr")).expect("send");
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let (acceptor, h) = (acceptor.clone(), h.clone());
                    tokio::spawn(async move {
                        if let Ok(tls) = acceptor.accept(stream).await {
                            serve(tls, h, |_| {}).await;
                        }
                    });
                }
            });
        });
        (
            Server {
                addr: rx.recv().expect("addr"),
                hits,
            },
            pem,
        )
    }

    /// An HTTP/2-only server (prior knowledge, no TLS) answering `ok` and echoing the method.
    pub fn start_h2() -> Server {
        use http_body_util::Full;
        use hyper::body::Bytes;
        let hits: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let h = hits.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("rt");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("addr")).expect("send");
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let h = h.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(
                            move |req: hyper::Request<hyper::body::Incoming>| {
                                *h.lock()
                                    .expect("lock")
                                    .entry(req.uri().path().to_string())
                                    .or_default() += 1;
                                let body = format!(
                                    "{} {} {:?}",
                                    req.method(),
                                    req.uri().path(),
                                    req.version()
                                );
                                async move {
                                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                        Full::new(Bytes::from(body)),
                                    ))
                                }
                            },
                        );
                        let _ = hyper::server::conn::http2::Builder::new(
                            hyper_util::rt::TokioExecutor::new(),
                        )
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                    });
                }
            });
        });
        Server {
            addr: rx.recv().expect("addr"),
            hits,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests seen for a path (without query).
    pub fn hits(&self, path: &str) -> u64 {
        self.hits
            .lock()
            .expect("lock")
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

/// Makes closing a TCP stream send RST.
fn reset_tcp(s: &TcpStream) {
    // A zero linger makes close send RST; with zero it does not block.
    #[allow(deprecated)]
    let _ = s.set_linger(Some(Duration::ZERO));
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    hits: Arc<Mutex<HashMap<String, u64>>>,
    reset: fn(&S),
) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        // Read one request head.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or("");
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("/").to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let body_len: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + body_len {
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + body_len]).into_owned();
        buf.drain(..head_end + body_len);
        let path = target.split('?').next().unwrap_or("/").to_string();
        *hits.lock().expect("lock").entry(path.clone()).or_default() += 1;
        let (status, content): (u16, String) = match path.as_str() {
            "/close" => return,
            "/reset" => {
                reset(&s);
                return;
            }
            "/slow" => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                (200, "slow".into())
            }
            // Exposition oddities for soy's scraper.
            "/metrics-odd" => (
                200,
                "# TYPE odd gauge\nodd{v=\"nan\"} NaN\nodd{v=\"inf\"} +Inf\nodd{v=\"-inf\"} -Inf\nodd{v=\"émoji 🚀 עברית e\u{301}\"} 1\nthis is not a sample\nodd{v=\"unterminated} 3\nodd 1 2 3 4\n".into(),
            ),
            "/metrics-huge" => (200, "big_series 1\n".repeat(700_000)),
            "/metrics-slow" => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                (200, "late 1\n".into())
            }
            "/login" if method == "POST" => (
                200,
                format!(
                    "{{\"token\": \"tok-{}\", \"echo\": {}}}",
                    body.len(),
                    if body.is_empty() {
                        "null".into()
                    } else {
                        body.clone()
                    }
                ),
            ),
            "/auth" => match header("authorization") {
                Some(v) if v.starts_with("Bearer tok-") => (200, "{\"ok\": true}".into()),
                _ => (401, "no".into()),
            },
            "/chunked" => {
                let resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
                if s.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
                continue;
            }
            p if p.starts_with("/status/") => (p[8..].parse().unwrap_or(500), "status".into()),
            p if p.starts_with("/echo") => (200, format!("{method} {target} {body}")),
            _ => (200, "ok".into()),
        };
        let resp = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nX-Request-Path: {path}\r\n\r\n{content}",
            content.len()
        );
        if s.write_all(resp.as_bytes()).await.is_err() {
            return;
        }
    }
}
