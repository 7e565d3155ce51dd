//! `stack:` — the system under test: a Docker Swarm stack, local processes, or already running.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::manifest::duration::Duration;

/// How soy brings the system under test up and down, chosen by `driver`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "driver", rename_all = "snake_case")]
pub enum Stack {
    /// A Docker Swarm stack deployed from a Compose file, as `docker stack deploy` does.
    Swarm(SwarmStack),
    /// Services run as local processes, started and stopped by soy.
    Local(LocalStack),
    /// The target already runs elsewhere; soy only waits until it is ready.
    External(ExternalStack),
}

impl Default for Stack {
    fn default() -> Self {
        Stack::External(ExternalStack::default())
    }
}

impl Stack {
    pub fn ready(&self) -> &Ready {
        match self {
            Stack::Swarm(s) => &s.ready,
            Stack::Local(s) => &s.ready,
            Stack::External(s) => &s.ready,
        }
    }

    pub fn driver_name(&self) -> &'static str {
        match self {
            Stack::Swarm(_) => "swarm",
            Stack::Local(_) => "local",
            Stack::External(_) => "external",
        }
    }
}

/// A Docker Swarm stack.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwarmStack {
    /// The Compose file `docker stack deploy -c` would read; relative to the manifest.
    pub file: String,
    /// Stack name (the namespace of its services, networks and configs). May use `{{ vars }}`.
    pub name: String,
    /// Replicas per service, overriding `deploy.replicas` in the Compose file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replicas: BTreeMap<String, u32>,
    /// Extra environment per service, merged over the Compose file's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, BTreeMap<String, String>>,
    /// Variables for `${VAR}` interpolation in the Compose file, over the process
    /// environment (what a shell's exported variables are to `docker stack deploy`).
    /// Values may use `{{ vars }}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
    /// When the stack counts as up.
    #[serde(default)]
    pub ready: Ready,
    /// When to remove the stack after the run.
    #[serde(default)]
    pub teardown: Teardown,
}

/// Services run as local processes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalStack {
    /// Name used as the `stack` template variable; defaults to the experiment's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The processes, started in order.
    #[schemars(length(min = 1))]
    pub services: Vec<LocalService>,
    /// When the whole stack counts as up (after every service's own check).
    #[serde(default)]
    pub ready: Ready,
    /// When to stop the processes after the run.
    #[serde(default)]
    pub teardown: Teardown,
}

/// One local process.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalService {
    /// Service name, used in metric labels and log file names.
    #[schemars(pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]*$"))]
    pub name: String,
    /// Program to run: a path (relative to the manifest) or a name on `PATH`; `soy` means this soy binary.
    pub command: String,
    /// Arguments. May use `{{ vars }}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment variables added to soy's own. Values may use `{{ vars }}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Working directory, relative to the manifest; defaults to the manifest's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// Ports the service listens on (documentation and conflict checks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u16>,
    /// When this service counts as up.
    #[serde(default)]
    pub ready: Ready,
}

/// A target that is already running.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalStack {
    /// Name used as the `stack` template variable; defaults to the experiment's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When the target counts as up.
    #[serde(default)]
    pub ready: Ready,
}

/// Readiness: every listed check must pass before the load starts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    /// Give up after this long.
    #[serde(default = "default_ready_timeout")]
    pub timeout: Duration,
    /// Time between attempts.
    #[serde(default = "default_ready_interval")]
    pub interval: Duration,
    /// HTTP endpoints that must answer with the given status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<HttpCheck>,
    /// TCP addresses that must accept connections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp: Vec<TcpCheck>,
    /// Lines a service must print.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<LogCheck>,
}

impl Default for Ready {
    fn default() -> Self {
        Ready {
            timeout: default_ready_timeout(),
            interval: default_ready_interval(),
            http: Vec::new(),
            tcp: Vec::new(),
            log: Vec::new(),
        }
    }
}

fn default_ready_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(120))
}

fn default_ready_interval() -> Duration {
    Duration(std::time::Duration::from_secs(1))
}

/// An HTTP readiness check.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// URL to request with GET. May use `{{ vars }}`.
    pub url: String,
    /// Expected status code.
    #[serde(default = "default_status")]
    #[schemars(range(min = 100, max = 599))]
    pub status: u16,
}

fn default_status() -> u16 {
    200
}

/// A TCP readiness check.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpCheck {
    /// `host:port` that must accept a connection.
    pub address: String,
}

/// A log-line readiness check.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogCheck {
    /// Service whose output is watched.
    pub service: String,
    /// Regular expression a line must match.
    pub pattern: String,
}

/// When the stack is removed after a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Teardown {
    /// Always, also after failures and interruptions.
    #[default]
    Always,
    /// Only when the run succeeded; failed stacks are kept for inspection.
    OnSuccess,
    /// Never: the stack keeps running.
    Never,
}
