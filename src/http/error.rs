//! What can go wrong on an HTTP connection, below any notion of a request's purpose. The
//! texts are stable (the load generator groups failures by them): a kind, then what happened.

/// A transport or protocol failure of one exchange.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// The name did not resolve.
    #[error("dns: cannot resolve {0}")]
    Dns(String),
    /// No connection could be made.
    #[error("connect: {0}")]
    Connect(String),
    /// The TLS handshake failed (certificate, name, protocol).
    #[error("tls: {0}")]
    Tls(String),
    /// The peer reset the connection.
    #[error("reset: connection reset by peer")]
    Reset,
    /// The server closed the connection before any response.
    #[error("closed: server closed the connection")]
    Closed,
    /// Another I/O error.
    #[error("io: {0}")]
    Io(String),
    /// A response that is not valid HTTP.
    #[error("protocol: {0}")]
    BadResponse(String),
    /// Request bytes that are not a valid HTTP request (HTTP/2 translation).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}
