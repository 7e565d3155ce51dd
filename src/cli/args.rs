//! The command line, declared with clap's derive API.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// soy runs performance experiments from declarative manifests: deploy a stack, drive load,
/// collect PromQL metrics, judge SLOs and write reports.
#[derive(Debug, Parser)]
#[command(name = "soy", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests: YAML, schema and cross-references, every problem at once.
    Validate {
        /// Manifest files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also ask each manifest's Prometheus to evaluate every query once.
        #[arg(long)]
        check_queries: bool,
    },
    /// Write a Grafana dashboard with one panel per query of a manifest.
    Grafana {
        file: PathBuf,
        /// Write here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Write the manifest's SLOs and alerts as a Prometheus rule file (`promtool check rules`
    /// accepts it), to guard production with the thresholds the experiment validated.
    Rules {
        file: PathBuf,
        /// Write here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Print the manifest's JSON Schema (`--summary`: the schema of summary.json).
    Schema {
        #[arg(long, conflicts_with = "campaign")]
        summary: bool,
        /// The schema of a campaign's campaign.json.
        #[arg(long)]
        campaign: bool,
    },
    /// Show what `apply` would do: phases, stack, load shape, rendered queries, SLOs.
    Plan {
        file: PathBuf,
        #[arg(long, short, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Run an experiment: deploy, load, collect, tear down, judge, report.
    Apply {
        /// The manifest; one with `sweep:` or `search:` runs a campaign.
        #[arg(required_unless_present = "resume", conflicts_with = "resume")]
        file: Option<PathBuf>,
        /// Resume the campaign in this folder (`reports/<experiment>/<campaign>`): run only
        /// the points it has not finished, with its own copy of the manifest.
        #[arg(long, value_name = "CAMPAIGN_DIR")]
        resume: Option<PathBuf>,
        /// Root folder for run directories.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// Run even when the Prometheus source does not answer (queries are marked missing).
        #[arg(long)]
        allow_missing_metrics: bool,
    },
    /// Run only the load against a target that is already up (Locust's flags, wrk's speed).
    Load(LoadArgs),
    /// Run one of soy's demo services (the quickstart's gateway and upstreams).
    #[command(name = "demo-service", subcommand)]
    DemoService(crate::demo::DemoCommand),
    /// Compare runs against a base run: per request name and metric, the change of p50, p95,
    /// p99, mean, requests/s and error rate with a 95% interval and a verdict (improved,
    /// regressed, no significant change).
    Compare {
        /// The base run: a run directory, `latest`, or EXPERIMENT@N (the N-th last run of
        /// EXPERIMENT under --out; @1 is the latest).
        base: String,
        /// The runs to judge against it (same forms).
        #[arg(required = true)]
        new: Vec<String>,
        /// Root folder of stored runs, for `latest` and EXPERIMENT@N.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// The smallest change that counts, relative (`5%` or `0.05`).
        #[arg(long, default_value = "5%")]
        threshold: String,
        /// Exit 1 when a regression is found (for CI).
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
        /// `table` (terminal), `md` (a pull-request comment), `html` or `json`.
        #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
        format: CompareFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// The bootstrap's seed (the same seed, the same intervals).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Which system series (CPU, memory, network per service; replicas) moved with which
    /// application series (p95 latency, error rate, requests/s, the gateway's queries) over a
    /// stored run's steady window, with the lag; or across a campaign's finished points.
    Correlate {
        /// A run directory, `latest`, EXPERIMENT@N, or a campaign directory.
        run: String,
        /// Root folder of stored runs, for `latest` and EXPERIMENT@N.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// Lags tried, ± this many steps (a step is a second, or the scrape interval).
        #[arg(long, default_value_t = 5)]
        max_lag: usize,
        /// The smallest |ρ| that is a finding (0 to 1).
        #[arg(long, default_value_t = 0.5)]
        min_rho: f64,
        /// The significance level, after the corrections (0 to 1).
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// List every pair at its strongest lag, findings or not.
        #[arg(long)]
        all: bool,
        /// A null check: this run's system series against another run's application
        /// series (same forms as RUN). Two independent runs relate by chance only, so
        /// findings here are false positives.
        #[arg(long, value_name = "OTHER_RUN")]
        application_of: Option<String>,
        /// `table` (terminal), `md` or `json`.
        #[arg(long, value_enum, default_value_t = CorrelateFormat::Table)]
        format: CorrelateFormat,
    },
    /// Re-render a stored run's report without running it again.
    Report {
        /// A run directory (`reports/<experiment>/<run>` or `.../latest`), or a campaign's
        /// (its report is written again from its stored runs); with `--index`, a reports root.
        run_dir: PathBuf,
        /// Write the runs index of the reports root RUN_DIR (`RUN_DIR/index.html`): every
        /// stored run, newest first, with trends per experiment.
        #[arg(long, conflicts_with_all = ["format", "template", "manifest", "output"])]
        index: bool,
        /// `html` (written to RUN_DIR/report.html), `md` or `json` (printed).
        #[arg(long, value_enum, default_value_t = crate::run::rerender::ReportFormat::Html)]
        format: crate::run::rerender::ReportFormat,
        /// A template to use instead of the built-in one (`.hbs` for Handlebars).
        #[arg(long)]
        template: Option<PathBuf>,
        /// Evaluate this manifest's queries on the run's embedded samples (new questions for
        /// an old run); without it the run's own queries are evaluated again.
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Write here instead.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Answer a PromQL query from a stored run's embedded metrics (`metrics/samples.tsdb`).
    /// Without `--at` or `--start`, a range query over the run's load window.
    Query {
        /// A run directory (`reports/<experiment>/<run>` or `.../latest`).
        run_dir: PathBuf,
        /// The PromQL expression.
        expr: String,
        /// An instant query at this time: Unix seconds, or `+30s` from the load's start.
        #[arg(long, conflicts_with_all = ["start", "end"])]
        at: Option<String>,
        /// Range start (Unix seconds or `+DURATION`); defaults to the load's start.
        #[arg(long)]
        start: Option<String>,
        /// Range end (Unix seconds or `+DURATION`); defaults to the end of the run's collection.
        #[arg(long)]
        end: Option<String>,
        /// Range step, e.g. `15s`; defaults to about 250 points over the range.
        #[arg(long)]
        step: Option<String>,
        /// `table`, `json` (Prometheus' API shape) or `csv`.
        #[arg(long, short, value_enum, default_value_t = crate::cli::query::QueryOutput::Table)]
        output: crate::cli::query::QueryOutput,
    },
    /// Print a stored run's embedded metrics as OpenMetrics text, e.g. to load them into a
    /// Prometheus: `promtool tsdb create-blocks-from openmetrics FILE DIR`.
    Export {
        /// A run directory (`reports/<experiment>/<run>` or `.../latest`).
        run_dir: PathBuf,
    },
    /// Remove what a crashed or killed run left of its stack: a swarm stack's objects (only
    /// in its namespace), or a local stack's processes (recorded in each run's state.json).
    Down {
        /// The experiment's manifest.
        #[arg(required_unless_present = "stack")]
        file: Option<PathBuf>,
        /// A swarm stack's name, instead of a manifest.
        #[arg(long)]
        stack: Option<String>,
        /// Where the runs are (as `soy apply --out`).
        #[arg(long, default_value = "reports")]
        out: PathBuf,
    },
    /// Runs a local service for soy: stops it when soy goes away (internal).
    #[command(hide = true)]
    Supervise {
        /// The program and its arguments.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// One load worker of a distributed run: connects to the coordinator and runs the share
    /// of the plan it is given (internal: `load.distributed` starts it on the swarm).
    #[command(hide = true)]
    Worker {
        /// The coordinator, `HOST:PORT`.
        #[arg(long)]
        coordinator: String,
        /// How long to keep trying to reach it.
        #[arg(long, default_value = "90s", value_parser = parse_run_time)]
        wait: std::time::Duration,
    },
    /// The coordinator of a distributed run: gives workers their shares and one start, merges
    /// their seconds for `soy apply` (internal: `load.distributed` starts it on the swarm).
    #[command(hide = true)]
    Coordinator {
        /// Where to listen, `ADDR:PORT`.
        #[arg(long, default_value = "0.0.0.0:7600")]
        listen: std::net::SocketAddr,
    },
    /// List the built-in PromQL presets.
    Presets,
    /// Print soy's version and the manifest version it reads.
    Version,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// `soy load`: a manifest's load section, or a one-line test of one URL.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// A manifest whose `load:` section to run; without it, `GET --host` is sent.
    #[arg(conflicts_with = "locustfile")]
    pub file: Option<PathBuf>,
    /// Run this locustfile with Locust instead (Locust's `-f`; a comma-separated list works).
    #[arg(long, short = 'f')]
    pub locustfile: Option<String>,
    /// With -f: a file with a `LoadTestShape` class (the seed wrapper's `--loadshape-file`).
    #[arg(long, requires = "locustfile")]
    pub loadshape_file: Option<PathBuf>,
    /// With -f: Locust processes (Locust's `--processes`).
    #[arg(long, requires = "locustfile")]
    pub processes: Option<u32>,
    /// With -f: how to start Locust (default `locust` on PATH).
    #[arg(long, requires = "locustfile", default_value = "locust")]
    pub locust_command: PathBuf,
    /// Base URL (Locust `--host`); required without FILE.
    #[arg(long, short = 'H')]
    pub host: Option<String>,
    /// Virtual users (closed model; default 10 without FILE).
    #[arg(long, short = 'u')]
    pub users: Option<u32>,
    /// Users started per second (default: all at once without FILE).
    #[arg(long, short = 'r')]
    pub spawn_rate: Option<f64>,
    /// How long to run: `30s`, `5m`, `1h30m` or seconds (default 10s without FILE).
    #[arg(long, short = 't', value_parser = parse_run_time)]
    pub run_time: Option<std::time::Duration>,
    /// Open model: iterations per second instead of users.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Connections: users in the closed model when --users is not given (like wrk -c);
    /// the in-flight cap in the open model.
    #[arg(long, short = 'c')]
    pub connections: Option<u32>,
    /// Write Locust-compatible CSV files with this prefix (Locust `--csv`).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Worker threads (default: the CPUs soy may run on); with --stack, load workers on the
    /// swarm (default 1).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Send the load from soy's workers on the swarm, inside the running stack NAME (its
    /// `docker stack` name): --host names one of its services (`http://gateway:8080`); a
    /// coordinator is published on 127.0.0.1 (the manifest's `load.distributed.port`, or 17600).
    #[arg(long, value_name = "NAME", conflicts_with = "locustfile")]
    pub stack: Option<String>,
    /// Seed for random choices.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Serve the generator's metrics in Prometheus format on this port of 127.0.0.1.
    #[arg(long)]
    pub metrics_port: Option<u16>,
    /// Speak HTTP/2 (prior knowledge on http://, ALPN on https://).
    #[arg(long)]
    pub http2: bool,
    /// Accept any TLS certificate (self-signed test servers).
    #[arg(long, short = 'k')]
    pub insecure: bool,
    /// Exit code when any request failed (Locust's `--exit-code-on-error`); 0 disables it.
    /// When no request at all succeeded the exit code is 3 whatever this says.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub exit_code_on_error: u8,
}

fn parse_run_time(s: &str) -> Result<std::time::Duration, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if secs > 0.0 && secs.is_finite() {
            return Ok(std::time::Duration::from_secs_f64(secs));
        }
    }
    crate::manifest::duration::parse(s)
        .map(|d| d.0)
        .map_err(|e| e.to_string())
}

/// When `soy compare` fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Regression,
}

/// `soy correlate`'s output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CorrelateFormat {
    Table,
    Md,
    Json,
}

/// `soy compare`'s output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareFormat {
    Table,
    Md,
    Html,
    Json,
}
