//! `load:` — who sends requests, how many, for how long, and in what shape.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Shape, Step, Task};
use crate::manifest::duration::Duration;

/// The load of an experiment. Field names follow Locust's flags where they mean the same.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// Base URL that request paths are joined to (Locust `--host`). May use `{{ vars }}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `closed`: a number of virtual users, each looping over the scenario (Locust's model).
    /// `open`: a rate of scenario iterations per second, independent of response times.
    #[serde(default)]
    pub model: Workload,
    /// Closed model: number of virtual users at full load (Locust `--users`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub users: Option<u32>,
    /// Closed model: users started (or stopped) per second (Locust `--spawn-rate`).
    #[serde(default = "default_spawn_rate")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub spawn_rate: f64,
    /// Open model: scenario iterations started per second at full load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub rate: Option<f64>,
    /// Open model: most iterations in flight at once; later arrivals are dropped and counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_in_flight: Option<u32>,
    /// Length of the measured load (Locust `--run-time`). Optional when the shape has its own length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time: Option<Duration>,
    /// The first part of `run_time`, while caches and pools fill: charted, but excluded from
    /// statistics and SLOs.
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub warmup: Duration,
    /// Time after the load while metrics settle: no load is sent, metrics are still collected.
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub cooldown: Duration,
    /// How the target (users or rate) changes over the run. Defaults to `kind: constant`.
    #[serde(default)]
    pub shape: Shape,
    /// Pause between a user's tasks, drawn uniformly from `min` to `max`.
    #[serde(default)]
    pub think_time: ThinkTime,
    /// Steps each virtual user runs once when it starts (e.g. login).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_start: Vec<Step>,
    /// The scenario: tasks picked by weight. With no tasks, each iteration is `GET host`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
    /// Default timeout of one request.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Open model: number of connections to spread requests over (default: as needed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub connections: Option<u32>,
    /// Use HTTP/2 (prior knowledge for `http://`, ALPN for `https://`).
    #[serde(default)]
    pub http2: bool,
    /// TLS settings for `https://` targets.
    #[serde(default)]
    pub tls: TlsSettings,
    /// Write Locust-compatible CSV files `<csv>_stats.csv` etc. into the run directory (Locust `--csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<String>,
    /// Serve the generator's own metrics in Prometheus format on this port of 127.0.0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub metrics_port: Option<u16>,
    /// Seed for random choices (task picks, think times, `random()`), for repeatable runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Which program generates the load: `soy` (the default, soy's own generator driven by
    /// `tasks` and `shape`) or `locust` (an existing locustfile, see `locust`).
    #[serde(default)]
    pub driver: Driver,
    /// Settings of the Locust driver (`driver: locust`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locust: Option<LocustSettings>,
    /// soy's generator as worker tasks on the swarm (`stack.driver: swarm`): a coordinator
    /// and workers join the stack's network, each worker sends its share of the plan to
    /// `load.host` (a service of the stack), and their statistics merge exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distributed: Option<Distributed>,
}

/// `load.distributed`: where and how soy's workers run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Distributed {
    /// Worker tasks (`mode: replicated`, the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub workers: Option<u32>,
    /// `replicated`: `workers` tasks wherever the swarm places them; `global`: one worker on
    /// every node that `constraints` allow.
    #[serde(default)]
    pub mode: WorkerMode,
    /// What a worker that stops sending mid-run does to the run: `continue` with the others
    /// (its seconds until then are kept, the report names it and the unsent share), or
    /// `abort` it (the run is incomplete, exit 3).
    #[serde(default)]
    pub on_worker_loss: crate::load::distributed::OnLoss,
    /// The port on 127.0.0.1 where the coordinator is published (host mode) for soy to read.
    #[serde(default = "default_coordinator_port")]
    #[schemars(range(min = 1))]
    pub port: u16,
    /// The image of the coordinator and workers: a soy build (`scripts/build-images` builds
    /// `soy-demo:latest`).
    #[serde(default = "default_soy_image")]
    pub image: String,
    /// Swarm placement constraints of the workers (`node.role==worker`, `node.labels.load==true`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    /// Resource limits of each worker task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<WorkerLimits>,
    /// Threads per worker (default: the CPUs the task may use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 256))]
    pub threads: Option<u32>,
    /// How long soy waits for every worker to connect before the run fails.
    #[serde(default = "default_workers_wait")]
    pub wait: Duration,
}

impl Default for Distributed {
    fn default() -> Self {
        Distributed {
            workers: None,
            mode: WorkerMode::default(),
            on_worker_loss: Default::default(),
            port: default_coordinator_port(),
            image: default_soy_image(),
            constraints: Vec::new(),
            limits: None,
            threads: None,
            wait: default_workers_wait(),
        }
    }
}

/// Resource limits of a worker task.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerLimits {
    /// CPUs (`0.5`, `2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub cpus: Option<f64>,
    /// Memory in bytes, or with a unit (`256M`, `1G`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

/// How the workers are placed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkerMode {
    #[default]
    Replicated,
    Global,
}

fn default_coordinator_port() -> u16 {
    17600
}

fn default_soy_image() -> String {
    "soy-demo:latest".into()
}

fn default_workers_wait() -> Duration {
    Duration(std::time::Duration::from_secs(60))
}

fn default_spawn_rate() -> f64 {
    1.0
}

fn default_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(30))
}

/// How `https://` servers are verified.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// A PEM file of extra trusted CA certificates (relative to the manifest), besides
    /// Mozilla's root store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Accept any server certificate (self-signed test setups only).
    #[serde(default)]
    pub insecure: bool,
}

/// Workload model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// Virtual users, each waiting for its response before the next request.
    #[default]
    Closed,
    /// Arrivals at a rate, whatever the response times (no coordinated omission).
    Open,
}

/// A uniform random pause.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThinkTime {
    /// Shortest pause.
    #[serde(default)]
    pub min: Duration,
    /// Longest pause.
    #[serde(default)]
    pub max: Duration,
}

/// The program that generates load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Driver {
    /// soy's built-in generator, driven by `tasks` and `shape`.
    #[default]
    Soy,
    /// Locust running a locustfile, with `load:`'s host, users, spawn rate and run time.
    Locust,
}

/// How soy runs Locust (`driver: locust`). `host`, `users`, `spawn_rate`, `run_time`,
/// `warmup` and `cooldown` come from `load:`; soy's `shape:` kinds reach Locust through a
/// `LoadTestShape` soy writes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocustSettings {
    /// The locustfile (Locust `-f`), relative to the manifest; Locust's comma-separated list
    /// of files works too.
    pub file: String,
    /// A Python file with a `LoadTestShape` class (Locust's `--loadshape-file` of the seed's
    /// wrapper), relative to the manifest. Not together with `shape:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape_file: Option<String>,
    /// Which `User` classes to run (Locust's positional user classes); all by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_classes: Vec<String>,
    /// Locust processes on this machine (Locust `--processes`): one master and this many
    /// workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub processes: Option<u32>,
    /// Further Locust flags, passed as they are (checked against the flags Locust knows; the
    /// ones soy sets itself are refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// How to start Locust: a program on `PATH` or a path relative to the manifest. With
    /// `workers`, the program that checks the locustfile before deploy.
    #[serde(default = "default_locust_command")]
    pub command: String,
    /// Locust workers on the swarm (`stack.driver: swarm`): soy starts a Locust master and
    /// this many worker tasks in the stack's network once the stack is ready, and `load.host`
    /// names a service of the stack. Not together with `processes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub workers: Option<u32>,
    /// The image the master and workers run (`scripts/build-images` builds
    /// `soy-locust:latest`, Debian's Locust 2.12).
    #[serde(default = "default_locust_image")]
    pub image: String,
}

fn default_locust_image() -> String {
    "soy-locust:latest".into()
}

fn default_locust_command() -> String {
    "locust".into()
}
