//! A lean HTTP/1.1 client connection: write ready-made request bytes, parse the response
//! head with `httparse` from a reused buffer, and frame the body by Content-Length, chunked
//! encoding or connection close — without copying the body unless a check or extractor
//! asked for it. One connection per virtual user, kept alive between requests.

use std::io;

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::Error;
use super::target::Target;

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest body kept in memory for checks and extractors; longer bodies are cut.
pub const MAX_KEPT_BODY: usize = 4 * 1024 * 1024;
/// Read buffer of an idle connection: small, so thousands of idle users stay cheap.
const BUF: usize = 4 * 1024;
/// Read buffer while a large body streams in.
const BIG_BUF: usize = 64 * 1024;

/// What the caller needs from a response beyond status and size.
#[derive(Debug, Clone, Copy, Default)]
pub struct Want {
    pub body: bool,
    pub headers: bool,
}

/// A response as the load generator sees it.
#[derive(Debug, Default)]
pub struct Response {
    pub status: u16,
    /// Body bytes received (after de-chunking).
    pub body_len: u64,
    /// The body, when asked for.
    pub body: Vec<u8>,
    /// Response headers (lower-cased names), when asked for.
    pub headers: Vec<(String, String)>,
}

/// A plain or TLS byte stream.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
        }
    }

    async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(buf).await,
            Stream::Tls(s) => s.write_all(buf).await,
        }
    }
}

/// One kept-alive connection.
pub struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// False once the server said `Connection: close` or the body ran to EOF.
    pub reusable: bool,
    /// Requests completed on this connection.
    pub served: u64,
    /// The most body bytes kept when the body is wanted.
    keep: usize,
}

/// Opens a connection, resolving names first so DNS failures are told apart; `https`
/// targets are wrapped in TLS with `tls`. Returns the stream and whether ALPN chose `h2`.
pub async fn open(
    target: &Target,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<(Stream, bool), Error> {
    let addr = if target.host.parse::<std::net::IpAddr>().is_ok() {
        target.socket_addr()
    } else {
        let mut addrs = tokio::net::lookup_host(target.socket_addr())
            .await
            .map_err(|e| Error::Dns(format!("{}: {e}", target.host)))?;
        addrs
            .next()
            .ok_or_else(|| Error::Dns(format!("{}: no addresses", target.host)))?
            .to_string()
    };
    let stream = TcpStream::connect(&addr)
        .await
        .map_err(|e| Error::Connect(format!("{addr}: {}", io_reason(&e))))?;
    let _ = stream.set_nodelay(true);
    let stream = if target.tls {
        let name = super::tls::server_name(&target.host).map_err(|e| Error::Tls(e.to_string()))?;
        let tls = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, stream)
            .await
            .map_err(|e| Error::Tls(format!("{}: {e}", target.host)))?;
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        return Ok((Stream::Tls(Box::new(tls)), h2));
    } else {
        Stream::Plain(stream)
    };
    Ok((stream, false))
}

thread_local! {
    /// Read buffers of this thread's idle connections: a connection holds one only while a
    /// response is being read, so thousands of idle users cost no buffer each.
    static POOL: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Most buffers kept in a thread's pool (the responses read at once, at most).
const POOL_MAX: usize = 64;

fn pooled() -> Vec<u8> {
    POOL.with(|p| p.borrow_mut().pop())
        .unwrap_or_else(|| vec![0; BUF])
}

fn give_back(buf: Vec<u8>) {
    if buf.len() == BUF {
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < POOL_MAX {
                p.push(buf);
            }
        });
    }
}

/// Opens an HTTP/1.1 connection.
pub async fn connect(target: &Target, tls: &Arc<rustls::ClientConfig>) -> Result<Conn, Error> {
    Ok(Conn::new(open(target, tls).await?.0))
}

impl Conn {
    pub fn new(stream: Stream) -> Conn {
        Conn {
            stream,
            buf: Vec::new(),
            start: 0,
            end: 0,
            reusable: true,
            served: 0,
            keep: MAX_KEPT_BODY,
        }
    }

    /// Keeps up to `n` body bytes (instead of [`MAX_KEPT_BODY`]) when the body is wanted.
    pub fn keep_body_up_to(&mut self, n: usize) {
        self.keep = n;
    }

    /// Sends one request and reads its response.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        head: bool,
        want: Want,
    ) -> Result<Response, Error> {
        self.stream
            .write_all(request)
            .await
            .map_err(|e| io_failure(&e))?;
        if self.buf.is_empty() {
            self.buf = pooled();
        }
        let r = self.read_response(head, want).await;
        // Nothing left over (no pipelined bytes): the buffer goes back to the pool.
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            give_back(std::mem::take(&mut self.buf));
        }
        r
    }

    async fn read_response(&mut self, head: bool, want: Want) -> Result<Response, Error> {
        let mut resp = Response::default();
        let (head_len, framing) = self.read_head(&mut resp, want).await?;
        self.start += head_len;
        let no_body = head || resp.status < 200 || resp.status == 204 || resp.status == 304;
        match framing {
            _ if no_body => {}
            Framing::Length(n) => self.read_exact_body(n, &mut resp, want).await?,
            Framing::Chunked => self.read_chunked(&mut resp, want).await?,
            Framing::Close => {
                self.read_to_close(&mut resp, want).await?;
                self.reusable = false;
            }
        }
        self.served += 1;
        Ok(resp)
    }

    /// Reads more bytes after `end`, compacting the buffer first. Returns 0 at EOF.
    async fn fill(&mut self) -> Result<usize, Error> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buf.len() < MAX_HEAD {
                self.buf.resize(self.buf.len() * 2, 0);
            } else {
                return Err(Error::BadResponse(
                    "response head larger than 64 KiB".into(),
                ));
            }
        }
        let n = self
            .stream
            .read(&mut self.buf[self.end..])
            .await
            .map_err(|e| io_failure(&e))?;
        self.end += n;
        Ok(n)
    }

    async fn read_head(
        &mut self,
        resp: &mut Response,
        want: Want,
    ) -> Result<(usize, Framing), Error> {
        loop {
            if self.end > self.start {
                let mut headers = [httparse::EMPTY_HEADER; 64];
                let mut parsed = httparse::Response::new(&mut headers);
                match parsed.parse(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete(len)) => {
                        resp.status = parsed.code.unwrap_or(0);
                        let mut framing = Framing::Close;
                        let mut close = parsed.version == Some(0);
                        for h in parsed.headers.iter() {
                            if h.name.eq_ignore_ascii_case("content-length") {
                                let n = std::str::from_utf8(h.value)
                                    .ok()
                                    .and_then(|v| v.trim().parse::<u64>().ok())
                                    .ok_or_else(|| {
                                        Error::BadResponse("invalid Content-Length".into())
                                    })?;
                                if !matches!(framing, Framing::Chunked) {
                                    framing = Framing::Length(n);
                                }
                            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                                if contains_token(h.value, b"chunked") {
                                    framing = Framing::Chunked;
                                }
                            } else if h.name.eq_ignore_ascii_case("connection") {
                                if contains_token(h.value, b"close") {
                                    close = true;
                                } else if contains_token(h.value, b"keep-alive") {
                                    close = false;
                                }
                            }
                            if want.headers {
                                resp.headers.push((
                                    h.name.to_ascii_lowercase(),
                                    String::from_utf8_lossy(h.value).into_owned(),
                                ));
                            }
                        }
                        if close {
                            self.reusable = false;
                        }
                        return Ok((len, framing));
                    }
                    Ok(httparse::Status::Partial) => {}
                    Err(e) => {
                        return Err(Error::BadResponse(format!("invalid response head: {e}")));
                    }
                }
            }
            if self.fill().await? == 0 {
                self.reusable = false;
                return Err(if self.end > self.start {
                    Error::BadResponse("connection closed inside the response head".into())
                } else {
                    Error::Closed
                });
            }
        }
    }

    /// Takes up to `n` buffered bytes as body.
    fn take(&mut self, n: u64, resp: &mut Response, want: Want) -> u64 {
        let avail = (self.end - self.start) as u64;
        let take = avail.min(n) as usize;
        if want.body && resp.body.len() < self.keep {
            let keep = take.min(self.keep - resp.body.len());
            resp.body
                .extend_from_slice(&self.buf[self.start..self.start + keep]);
        }
        self.start += take;
        take as u64
    }

    async fn read_exact_body(
        &mut self,
        n: u64,
        resp: &mut Response,
        want: Want,
    ) -> Result<(), Error> {
        let mut left = n;
        if left > self.buf.len() as u64 && self.buf.len() < BIG_BUF && self.start == self.end {
            self.buf.resize(BIG_BUF, 0);
        }
        loop {
            let got = self.take(left, resp, want);
            left -= got;
            resp.body_len += got;
            if left == 0 {
                return Ok(());
            }
            if self.fill().await? == 0 {
                self.reusable = false;
                return Err(Error::BadResponse(format!(
                    "connection closed after {} of {n} body bytes",
                    n - left
                )));
            }
        }
    }

    async fn read_to_close(&mut self, resp: &mut Response, want: Want) -> Result<(), Error> {
        loop {
            resp.body_len += self.take(u64::MAX, resp, want);
            if self.fill().await? == 0 {
                return Ok(());
            }
        }
    }

    async fn read_chunked(&mut self, resp: &mut Response, want: Want) -> Result<(), Error> {
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.start += used;
                        break size;
                    }
                    Ok(httparse::Status::Partial) => self.more("chunk size").await?,
                    Err(_) => return Err(Error::BadResponse("invalid chunk size".into())),
                }
            };
            if size == 0 {
                // Trailers end with an empty line.
                loop {
                    let data = &self.buf[self.start..self.end];
                    if data.starts_with(b"\r\n") {
                        self.start += 2;
                        return Ok(());
                    }
                    if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        self.start += i + 4;
                        return Ok(());
                    }
                    self.more("chunk trailer").await?;
                }
            }
            let mut left = size;
            while left > 0 {
                if self.start == self.end {
                    self.more("chunk").await?;
                }
                let got = self.take(left, resp, want);
                left -= got;
                resp.body_len += got;
            }
            while self.end - self.start < 2 {
                self.more("chunk end").await?;
            }
            if &self.buf[self.start..self.start + 2] != b"\r\n" {
                return Err(Error::BadResponse("chunk not followed by CRLF".into()));
            }
            self.start += 2;
        }
    }

    async fn more(&mut self, what: &str) -> Result<(), Error> {
        if self.fill().await? == 0 {
            self.reusable = false;
            return Err(Error::BadResponse(format!(
                "connection closed inside a {what}"
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Framing {
    Length(u64),
    Chunked,
    Close,
}

fn contains_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".into(),
        io::ErrorKind::TimedOut => "connect timed out".into(),
        _ => e.to_string(),
    }
}

pub(crate) fn io_failure(e: &io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => Error::Reset,
        io::ErrorKind::BrokenPipe => Error::Closed,
        // A TLS peer that closes without close_notify.
        io::ErrorKind::UnexpectedEof => Error::Closed,
        _ => Error::Io(e.to_string()),
    }
}
