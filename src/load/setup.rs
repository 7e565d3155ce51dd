//! From a manifest's `load:` section (and command-line overrides) to an engine configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use minijinja::Value as JValue;

use super::SetupError;
use super::engine::EngineConfig;
use super::scenario::Scenario;
use super::shape::{self, ShapeInput};
use crate::manifest::model::{Load, Shape, Workload};

/// Locust-style flags that replace manifest values.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub host: Option<String>,
    pub users: Option<u32>,
    pub spawn_rate: Option<f64>,
    pub run_time: Option<Duration>,
    pub rate: Option<f64>,
    pub connections: Option<u32>,
    pub workers: Option<usize>,
    pub seed: Option<u64>,
    pub metrics_port: Option<u16>,
    /// Accept any TLS certificate.
    pub insecure: bool,
    /// Speak HTTP/2.
    pub http2: bool,
}

/// Builds the engine configuration; `base_dir` resolves relative files. A trace shape uses
/// `trace` when the caller has read it already (the plan has), else reads its file.
pub fn configure(
    load: &Load,
    vars: BTreeMap<String, JValue>,
    o: &Overrides,
    base_dir: &std::path::Path,
    trace: Option<&shape::TracePoints>,
) -> Result<EngineConfig, SetupError> {
    let mut load = load.clone();
    if o.rate.is_some() {
        load.model = Workload::Open;
        load.rate = o.rate;
        load.users = None;
    }
    load.http2 |= o.http2;
    if let Some(u) = o.users {
        load.users = Some(u);
    }
    if let Some(r) = o.spawn_rate {
        load.spawn_rate = r;
    }
    if let Some(c) = o.connections {
        match load.model {
            Workload::Closed if o.users.is_none() => load.users = Some(c),
            Workload::Closed => {}
            Workload::Open => load.max_in_flight = Some(c),
        }
    }
    let trace = match &load.shape {
        Shape::Trace(_) if trace.is_some() => trace.cloned(),
        Shape::Trace(t) => {
            let path = base_dir.join(&t.file);
            let text = std::fs::read_to_string(&path).map_err(|source| SetupError::ReadTrace {
                path: path.clone(),
                source,
            })?;
            Some(shape::parse_trace(&text).map_err(|source| SetupError::Trace { path, source })?)
        }
        _ => None,
    };
    let run_time = o
        .run_time
        .map(|d| d.as_secs_f64())
        .or(load.run_time.map(|d| d.as_secs_f64()))
        .or_else(|| shape::natural_length(&load.shape, trace.as_ref()))
        .ok_or(SetupError::NoRunTime)?;
    let full = match load.model {
        Workload::Closed => load.users.map(f64::from),
        Workload::Open => load.rate,
    };
    let segments = shape::segments(
        &load.shape,
        ShapeInput {
            model: load.model,
            full: full.unwrap_or(0.0),
            spawn_rate: load.spawn_rate,
            run_time,
        },
        trace.as_ref(),
    );
    let ca = match &load.tls.ca_file {
        Some(f) => {
            let path = base_dir.join(f);
            Some(std::fs::read(&path).map_err(|source| SetupError::ReadCa { path, source })?)
        }
        None => None,
    };
    let tls = crate::http::tls::client_config(load.tls.insecure || o.insecure, ca.as_deref())
        .map_err(SetupError::Tls)?;
    let scenario = Scenario::compile(&load, vars, o.host.as_deref(), tls)?;
    let workers = o
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    Ok(EngineConfig {
        scenario,
        model: load.model,
        segments,
        run_time: Duration::from_secs_f64(run_time),
        warmup: load.warmup.0,
        spawn_rate: load.spawn_rate,
        max_in_flight: u64::from(load.max_in_flight.unwrap_or(10_000)),
        workers,
        seed: o.seed.or(load.seed),
        metrics_port: o.metrics_port.or(load.metrics_port),
        extra_metrics: None,
        exposition: None,
        share: super::segment::Share::WHOLE,
        start_at: None,
        blocks: None,
    })
}
