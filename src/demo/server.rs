//! A small HTTP/1.1 server on hyper for the demo roles.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A request as the demo roles see it.
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// A response: status, content type, body.
pub struct Resp {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Resp {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<String>) -> Resp {
        Resp {
            status,
            content_type,
            body: body.into(),
        }
    }
}

pub type BoxFuture = Pin<Box<dyn Future<Output = Resp> + Send>>;

/// A demo role.
pub trait Handler: Send + Sync + 'static {
    fn handle(self: Arc<Self>, req: Req) -> BoxFuture;
}

/// Serves `handler` on `addr` until the process ends.
pub async fn serve<H: Handler>(addr: SocketAddr, handler: Arc<H>) -> Result<(), super::DemoError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| super::DemoError::Listen { addr, source })?;
    eprintln!("soy demo-service listening on http://{addr}");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let handler = handler.clone();
                async move {
                    let method = req.method().to_string();
                    let path = req
                        .uri()
                        .path_and_query()
                        .map_or("/".to_string(), |p| p.to_string());
                    let headers = req
                        .headers()
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().to_string(),
                                String::from_utf8_lossy(v.as_bytes()).into_owned(),
                            )
                        })
                        .collect();
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let resp = handler
                        .handle(Req {
                            method,
                            path,
                            headers,
                            body,
                        })
                        .await;
                    let out = hyper::Response::builder()
                        .status(resp.status)
                        .header("content-type", resp.content_type)
                        .body(Full::new(Bytes::from(resp.body)));
                    Ok::<_, std::convert::Infallible>(
                        out.unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new()))),
                    )
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
