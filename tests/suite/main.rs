//! Integration tests, one binary with a module per feature (faster to link than one per file).

mod apply;
mod cli;
mod compose;
mod embedded;
mod examples;
mod invalid_manifests;
mod loadgen;
mod prometheus;
mod schema_drift;
mod server;
mod swarm;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The repository root (tests run with it as working directory, so paths print relative).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the soy binary from the repository root, killing it if it runs for more than `limit`.
pub fn soy(args: &[&str], limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_soy"))
        .args(args)
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("soy starts");
    loop {
        if child.try_wait().expect("wait works").is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("soy {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (child.wait_with_output().expect("output"), start.elapsed())
}

/// A port nothing listens on right now, on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// A value from the gateway's metrics on its published loopback port (0 when unreachable).
pub fn gateway_metric(port: u16, series: &str) -> f64 {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0.0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return 0.0;
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
