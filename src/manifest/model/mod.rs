//! The experiment manifest v1 as Rust types: the single source of the JSON Schema.
//!
//! Doc comments here are the user's field reference: schemars turns them into schema
//! descriptions that editors show on hover. Every struct rejects unknown keys.

mod action;
mod alert;
mod autoscale;
mod campaign;
mod experiment;
mod load;
mod metrics;
mod report;
mod scenario;
mod shape;
mod slo;
mod stack;

pub use action::{Action, Restart, Scale};
pub use alert::Alert;
pub use autoscale::{Autoscale, ScaleMetric, TargetPolicy, ThresholdPolicy};
pub use campaign::{Matrix, Order, Redeploy, Search, SearchOver, Strategy, Sweep};
pub use experiment::{API_VERSION, Experiment, Kind, Metadata, VarValue};
pub use load::{
    Distributed, Driver, Load, LocustSettings, ThinkTime, TlsSettings, WorkerLimits, WorkerMode,
    Workload,
};
pub use metrics::{
    BasicAuth, EmbeddedSource, ForEach, MetricsConfig, MetricsSource, PrometheusSource, Query,
    Section,
};
pub use report::{Format, Report, Templates};
pub use scenario::{Check, Extractor, JsonCheck, Method, Request, Step, Task};
pub use shape::{Constant, Ramp, Shape, Sine, Spike, Stage, Stages, Steps, Trace};
pub use slo::{LoadStat, QUERY_STAT_PATTERN, QueryStat, Slo, SloScope};
pub use stack::{
    ExternalStack, HttpCheck, LocalService, LocalStack, LogCheck, Ready, Stack, SwarmStack,
    TcpCheck, Teardown,
};
