//! Why a request failed. Failures are grouped by (request name, error text) as Locust does,
//! so the text is stable: a kind, then what happened.

use std::fmt;
use std::time::Duration;

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The name did not resolve.
    Dns(String),
    /// No connection could be made.
    Connect(String),
    /// No complete response within the timeout.
    Timeout(Duration),
    /// The TLS handshake failed (certificate, name, protocol).
    Tls(String),
    /// The peer reset the connection.
    Reset,
    /// The server closed the connection before any response.
    Closed,
    /// Another I/O error.
    Io(String),
    /// A response that is not valid HTTP/1.1.
    BadResponse(String),
    /// A status of 400 or more, with no `check.status` saying otherwise.
    Status(u16),
    /// A `check` that did not hold.
    Check(String),
    /// A template that failed to render, or rendered an unusable request.
    Template(String),
}

impl Failure {
    /// A short, stable kind for tables and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Dns(_) => "dns",
            Failure::Connect(_) => "connect",
            Failure::Timeout(_) => "timeout",
            Failure::Tls(_) => "tls",
            Failure::Reset => "reset",
            Failure::Closed => "closed",
            Failure::Io(_) => "io",
            Failure::BadResponse(_) => "protocol",
            Failure::Status(_) => "status",
            Failure::Check(_) => "check",
            Failure::Template(_) => "template",
        }
    }
}

/// A transport failure keeps its kind and text: `http::Error` and `Failure` print alike.
impl From<crate::http::Error> for Failure {
    fn from(e: crate::http::Error) -> Failure {
        use crate::http::Error as E;
        match e {
            E::Dns(d) => Failure::Dns(d),
            E::Connect(d) => Failure::Connect(d),
            E::Tls(d) => Failure::Tls(d),
            E::Reset => Failure::Reset,
            E::Closed => Failure::Closed,
            E::Io(d) => Failure::Io(d),
            E::BadResponse(d) => Failure::BadResponse(d),
            E::InvalidRequest(d) => Failure::Template(d),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Dns(d) => write!(f, "dns: cannot resolve {d}"),
            Failure::Connect(d) => write!(f, "connect: {d}"),
            Failure::Timeout(t) => {
                write!(f, "timeout: no response within {}", crate::clock::Human(*t))
            }
            Failure::Tls(d) => write!(f, "tls: {d}"),
            Failure::Reset => f.write_str("reset: connection reset by peer"),
            Failure::Closed => f.write_str("closed: server closed the connection"),
            Failure::Io(d) => write!(f, "io: {d}"),
            Failure::BadResponse(d) => write!(f, "protocol: {d}"),
            Failure::Status(s) => write!(f, "status: HTTP {s}"),
            Failure::Check(d) => write!(f, "check: {d}"),
            Failure::Template(d) => write!(f, "template: {d}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_errors_keep_their_text() {
        use crate::http::Error as E;
        for e in [
            E::Dns("h: x".into()),
            E::Connect("a".into()),
            E::Tls("b".into()),
            E::Reset,
            E::Closed,
            E::Io("c".into()),
            E::BadResponse("d".into()),
        ] {
            assert_eq!(Failure::from(e.clone()).to_string(), e.to_string());
        }
        let t = Failure::from(E::InvalidRequest("not HTTP".into()));
        assert_eq!(t.to_string(), "template: not HTTP");
    }
}
