//! Where requests go: `http://host:port/base` or `https://…` parsed once into what a
//! connection and a request line need; joining paths and percent-encoding queries.

use std::fmt;

/// Why a URL is unusable; the message quotes the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("`{0}` is not an http:// or https:// URL")]
    Scheme(String),
    #[error("`{0}` has no usable host")]
    Host(String),
    #[error("`{0}`: unclosed `[` in the host")]
    Bracket(String),
    #[error("`{url}`: unexpected `{tail}` after the host")]
    AfterHost { url: String, tail: String },
    #[error("`{url}`: `{port}` is not a port")]
    Port { url: String, port: String },
    #[error("`{0}`: the path contains spaces or control characters")]
    Path(String),
}

/// A parsed base URL or full request URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub tls: bool,
    /// Host as written (without brackets for IPv6), for connecting.
    pub host: String,
    pub port: u16,
    /// The `Host` header value: `host` or `host:port`.
    pub authority: String,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Target {
    /// Parses `http://host[:port][/path]`.
    pub fn parse(url: &str) -> Result<Target, UrlError> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(UrlError::Scheme(url.to_string()));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(UrlError::Host(url.to_string()));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, tail) = v6
                .split_once(']')
                .ok_or_else(|| UrlError::Bracket(url.to_string()))?;
            let port = match tail.strip_prefix(':') {
                Some(p) => parse_port(p, url)?,
                None if tail.is_empty() => default_port,
                None => {
                    return Err(UrlError::AfterHost {
                        url: url.to_string(),
                        tail: tail.to_string(),
                    });
                }
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), parse_port(p, url)?),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::Host(url.to_string()));
        }
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::Path(url.to_string()));
        }
        Ok(Target {
            tls,
            host,
            port,
            authority: authority.to_string(),
            path,
        })
    }

    /// Whether two targets can share a connection.
    pub fn same_origin(&self, other: &Target) -> bool {
        self.tls == other.tls && self.host == other.host && self.port == other.port
    }

    /// `host:port` for connecting.
    pub fn socket_addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority, self.path)
    }
}

fn parse_port(p: &str, url: &str) -> Result<u16, UrlError> {
    p.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| UrlError::Port {
            url: url.to_string(),
            port: p.to_string(),
        })
}

/// Joins a base path and a request path: `/api` + `/items` = `/api/items`.
pub fn join_path(base: &str, path: &str) -> String {
    if base == "/" || base.is_empty() {
        return path.to_string();
    }
    format!("{}{}", base.trim_end_matches('/'), path)
}

/// Percent-encodes a query-string component (`form`: spaces as `+`).
pub fn encode_into(s: &str, out: &mut String, form: bool) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' if form => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

/// Percent-encodes a query-string component.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(s, &mut out, false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_ports_paths() {
        let t = Target::parse("http://127.0.0.1:8080/api?x=1").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("127.0.0.1", 8080, "/api?x=1")
        );
        assert_eq!(t.authority, "127.0.0.1:8080");
        let t = Target::parse("http://[::1]:9000").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.socket_addr()),
            ("::1", 9000, "[::1]:9000".into())
        );
        assert_eq!(Target::parse("https://example.test").unwrap().port, 443);
        for bad in [
            "ftp://x",
            "http://",
            "http://h:0",
            "http://h:99999",
            "http://a b/",
            "http://h/a b",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(join_path("/api/", "/items"), "/api/items");
        assert_eq!(join_path("/", "/items"), "/items");
    }
}
