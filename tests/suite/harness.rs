//! The test harness, in the manner of just's: a fresh temporary directory per test, soy run
//! with its output drained while it runs (a child that prints more than a pipe holds never
//! blocks), waits on observed events instead of fixed sleeps, and one `requires!` gate per
//! real component that fails — never skips — with the command that installs it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The repository root (tests run with it as working directory, so paths print relative).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where every test's runs go (each experiment name is a test's own).
pub fn runs() -> PathBuf {
    root().join("target").join("test-tmp").join("runs")
}

/// A test's own directory under target/test-tmp, empty when the test starts.
pub struct Test {
    pub dir: PathBuf,
}

impl Test {
    pub fn new(name: &str) -> Test {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = root().join("target").join("test-tmp").join(format!(
            "{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("test directory");
        Test { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Writes `rel` in the test's directory; returns its path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent directory");
        }
        std::fs::write(&path, text).expect("write test file");
        path
    }
}

/// A running soy whose stdout and stderr are read by threads as it runs.
pub struct Child {
    child: std::process::Child,
    out: std::thread::JoinHandle<Vec<u8>>,
    err: std::thread::JoinHandle<Vec<u8>>,
}

/// Starts the soy binary from the repository root.
pub fn spawn(args: &[&str]) -> Child {
    spawn_with(Command::new(env!("CARGO_BIN_EXE_soy")).args(args))
}

/// Starts a prepared command (environment, arguments) with its output drained.
pub fn spawn_with(cmd: &mut Command) -> Child {
    let mut child = cmd
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    Child { child, out, err }
}

impl Child {
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`INT`, `KILL`, …) to the child.
    pub fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &self.id().to_string()])
            .status();
    }

    /// Waits for the child to end (killing it after `limit`, which fails the test).
    pub fn wait(mut self, limit: Duration) -> Output {
        let start = Instant::now();
        let status: ExitStatus = loop {
            if let Some(s) = self.child.try_wait().expect("wait works") {
                break s;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the command did not finish within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Output {
            status,
            stdout: self.out.join().unwrap_or_default(),
            stderr: self.err.join().unwrap_or_default(),
        }
    }
}

/// Runs the soy binary to its end, failing the test if it runs for more than `limit`.
pub fn soy(args: &[&str], limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let out = spawn(args).wait(limit);
    (out, start.elapsed())
}

/// Polls `event` until it holds, failing the test with `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut event: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !event() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
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

/// Whether `program` is on PATH.
pub fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()))
}

/// Fails the test, saying how to install it, when a real component it needs is missing.
/// Nothing is skipped: scripts/test-all installs every one of them.
#[macro_export]
macro_rules! requires {
    (prometheus) => {
        $crate::harness::require("prometheus", "apt-get install prometheus")
    };
    (promtool) => {
        $crate::harness::require("promtool", "apt-get install prometheus")
    };
    (docker) => {
        $crate::harness::require_docker()
    };
    (chromium) => {{
        $crate::harness::require("chromium", "apt-get install chromium");
        $crate::harness::require_venv("websocket")
    }};
    (locust) => {
        assert!(
            $crate::harness::root().join("target/venv/bin/locust").is_file(),
            "this test needs Locust in target/venv: target/venv/bin/python -m pip install locust==2.47.0 (scripts/test-all does it)"
        )
    };
}

/// `PATH` with the tests' virtual environment first (where Locust is).
pub fn venv_path() -> std::ffi::OsString {
    let mut dirs = vec![root().join("target/venv/bin")];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).expect("PATH")
}

/// Starts soy with `PATH` set to `path`.
pub fn spawn_path(args: &[&str], path: &std::ffi::OsStr) -> Child {
    spawn_with(
        Command::new(env!("CARGO_BIN_EXE_soy"))
            .args(args)
            .env("PATH", path),
    )
}

pub fn require(program: &str, install: &str) {
    assert!(
        installed(program),
        "this test needs `{program}`: {install} (scripts/test-all installs it)"
    );
}

/// The Python of the tests' virtual environment (target/venv; never the system's).
pub fn venv_python() -> PathBuf {
    root().join("target/venv/bin/python")
}

/// A Python module in the tests' virtual environment.
pub fn require_venv(module: &str) {
    let ok = Command::new(venv_python())
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "this test needs Python's `{module}` in target/venv: python3 -m venv target/venv && target/venv/bin/python -m pip install websocket-client (scripts/test-all does it)"
    );
}

/// Docker with an active single-node swarm and soy's demo image.
pub fn require_docker() {
    require("docker", "apt-get install docker.io");
    let state = Command::new("docker")
        .args(["info", "-f", "{{.Swarm.LocalNodeState}}"])
        .output()
        .map(|o| text(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert_eq!(
        state, "active",
        "this test needs a running dockerd with a swarm: dockerd & docker swarm init --advertise-addr 127.0.0.1 (scripts/test-all does both)"
    );
    let image = Command::new("docker")
        .args(["image", "inspect", "soy-demo:latest"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        image,
        "this test needs soy-demo:latest: bash scripts/build-images"
    );
}

/// Held by the tests that run a shipped swarm example: they publish the same fixed ports.
pub static SHIPPED_SWARM_PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Waits until the demo gateway on `port` has forwarded more than `n` requests to
/// `cluster` (the load is under way).
pub fn wait_for_gateway(port: u16, cluster: &str, n: f64) {
    let series = format!("envoy_cluster_upstream_rq_total{{envoy_cluster_name=\"{cluster}\"}}");
    wait_until("load at the gateway", Duration::from_secs(60), || {
        gateway_metric(port, &series) > n
    });
}

/// A value from a demo gateway's metrics on its loopback port (0 when unreachable).
pub fn gateway_metric(port: u16, series: &str) -> f64 {
    use std::io::Write;
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
