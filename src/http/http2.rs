//! HTTP/2 through hyper's client connection, for `load.http2: true`: prior knowledge on
//! `http://`, ALPN on `https://`. Requests are rendered once, as HTTP/1.1 bytes, and turned
//! into an `::http::Request` here, so templating has a single path.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};

use super::Error;
use super::http1::{MAX_KEPT_BODY, Response, Stream, Want};

/// One HTTP/2 connection of a virtual user.
pub struct H2Conn {
    sender: SendRequest<Full<Bytes>>,
    /// Requests completed on this connection.
    pub served: u64,
}

/// Runs the HTTP/2 handshake over an open stream.
pub async fn handshake(stream: Stream) -> Result<H2Conn, Error> {
    match stream {
        Stream::Plain(s) => over(s).await,
        Stream::Tls(s) => over(*s).await,
    }
}

async fn over<S: AsyncRead + AsyncWrite + Send + Unpin + 'static>(io: S) -> Result<H2Conn, Error> {
    let (sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .map_err(|e| failure(&e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(H2Conn { sender, served: 0 })
}

impl H2Conn {
    /// Whether the connection can take another request.
    pub fn usable(&self) -> bool {
        !self.sender.is_closed()
    }

    /// Sends one request (given as HTTP/1.1 bytes) and reads its response.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        https: bool,
        want: Want,
    ) -> Result<Response, Error> {
        let req = to_http(request, https)?;
        self.sender.ready().await.map_err(|e| failure(&e))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| failure(&e))?;
        let mut out = Response {
            status: resp.status().as_u16(),
            ..Response::default()
        };
        if want.headers {
            out.headers = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
        }
        let mut body = resp.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| failure(&e))?;
            if let Some(data) = frame.data_ref() {
                out.body_len += data.len() as u64;
                if want.body && out.body.len() < MAX_KEPT_BODY {
                    let keep = data.len().min(MAX_KEPT_BODY - out.body.len());
                    out.body.extend_from_slice(&data[..keep]);
                }
            }
        }
        self.served += 1;
        Ok(out)
    }
}

/// Turns rendered HTTP/1.1 request bytes into an HTTP/2 request.
fn to_http(bytes: &[u8], https: bool) -> Result<::http::Request<Full<Bytes>>, Error> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    let head_len = match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => {
            return Err(Error::InvalidRequest(
                "the rendered request is not valid HTTP".into(),
            ));
        }
    };
    let authority = parsed
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .map(|h| String::from_utf8_lossy(h.value).into_owned())
        .unwrap_or_default();
    let scheme = if https { "https" } else { "http" };
    let uri = format!("{scheme}://{authority}{}", parsed.path.unwrap_or("/"));
    let mut builder = ::http::Request::builder()
        .method(parsed.method.unwrap_or("GET"))
        .uri(uri)
        .version(::http::Version::HTTP_2);
    for h in parsed.headers.iter() {
        let skip = [
            "host",
            "connection",
            "content-length",
            "transfer-encoding",
            "keep-alive",
        ];
        if !skip.iter().any(|s| h.name.eq_ignore_ascii_case(s)) {
            builder = builder.header(h.name, h.value);
        }
    }
    builder
        .body(Full::new(Bytes::copy_from_slice(&bytes[head_len..])))
        .map_err(|e| {
            Error::InvalidRequest(format!("the rendered request is not valid HTTP/2: {e}"))
        })
}

fn failure(e: &hyper::Error) -> Error {
    use std::error::Error as _;
    if let Some(io) = e.source().and_then(|s| s.downcast_ref::<std::io::Error>()) {
        return super::http1::io_failure(io);
    }
    if e.is_closed() || e.is_canceled() {
        return Error::Closed;
    }
    Error::BadResponse(format!("HTTP/2: {e}"))
}
