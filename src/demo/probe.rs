//! `soy demo-service probe URL`: a dependency-free HTTP GET for container healthchecks in
//! images that hold nothing but soy.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::DemoError;

/// GETs `url` (plain `http://host[:port]/path`); Ok on a 2xx status.
pub fn get(url: &str, timeout: Duration) -> Result<(), DemoError> {
    let io = |source| DemoError::Probe {
        url: url.to_string(),
        source,
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| DemoError::Flag(format!("`{url}`: only http:// URLs can be probed")))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let addr_text = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = addr_text
        .to_socket_addrs()
        .map_err(io)?
        .next()
        .ok_or_else(|| DemoError::Unhealthy(format!("`{authority}` resolves to no address")))?;
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
    s.set_read_timeout(Some(timeout)).map_err(io)?;
    s.set_write_timeout(Some(timeout)).map_err(io)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: soy-probe\r\n\r\n"
    )
    .map_err(io)?;
    let mut head = [0u8; 64];
    let n = s.read(&mut head).map_err(io)?;
    let line = String::from_utf8_lossy(&head[..n]);
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| DemoError::Unhealthy(format!("{url}: not an HTTP answer")))?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(DemoError::Unhealthy(format!("{url}: HTTP {status}")))
    }
}
