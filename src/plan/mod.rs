//! The resolved experiment: what `soy apply` will do, in order, with every template rendered.
//! `soy plan` prints it; the run pipeline executes it. Secrets stay as `${env:NAME}`.

mod alerts;
mod autoscale;
mod check_locust;
mod check_metrics;
pub use alerts::AlertPlan;
pub use autoscale::{AutoscalePlan, PolicyPlan};
pub use check_locust::LocustPlan;
pub mod exec;
mod render;
pub mod stack;

use serde::Serialize;

use crate::load::shape::{self, Segment, ShapeInput};
use crate::manifest::Manifest;
use crate::manifest::diagnostic::Diagnostics;
use crate::manifest::duration::Duration;
use crate::manifest::model::{Experiment, Format, MetricsSource, Slo, Workload};
use crate::manifest::template;
use crate::metrics::query::{QueryContext, ResolvedQuery, expand};
use crate::stack::StackInfo;

pub use stack::SwarmPlan;

pub use render::render_text;

/// Points a default query step aims for over the run.
const TARGET_POINTS: f64 = 500.0;

/// The experiment as it will run.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub labels: std::collections::BTreeMap<String, String>,
    pub phases: Vec<Phase>,
    pub stack: StackPlan,
    pub load: LoadPlan,
    pub metrics: MetricsPlan,
    pub slos: Vec<String>,
    /// Alerting rules, rendered, evaluated every `evaluation_interval` during the load.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertPlan>,
    /// SLOs with `abort_on_fail`, judged live as rules that abort the run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub live_slos: Vec<AlertPlan>,
    /// Scaling controllers of swarm services.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub autoscale: Vec<AutoscalePlan>,
    pub evaluation_interval: Duration,
    pub reports: Vec<Format>,
    /// What the run executes (not printed: `resolved.json` is the rest).
    #[serde(skip)]
    pub exec: exec::Exec,
}

/// One step of the run. Offsets count from the start of the load.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub name: &'static str,
    /// Seconds from the start of the load; `None` for phases before or after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackPlan {
    #[serde(flatten)]
    pub info: StackInfo,
    pub ready_timeout: Duration,
    pub teardown: String,
    /// A swarm stack's Compose file, translated (printed with secrets redacted).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "stack::printed"
    )]
    pub swarm: Option<SwarmPlan>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadPlan {
    pub generator: String,
    pub model: Workload,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Users (closed) or iterations per second (open) at full load.
    pub target: f64,
    pub spawn_rate: f64,
    pub run_time: Duration,
    pub warmup: Duration,
    pub cooldown: Duration,
    pub shape: &'static str,
    pub segments: Vec<Segment>,
    pub on_start: Vec<String>,
    pub tasks: Vec<TaskPlan>,
    /// A trace shape's points, read once by the plan (not printed).
    #[serde(skip)]
    pub trace: Option<shape::TracePoints>,
    /// `driver: locust`: the program, its version and the files, resolved and checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locust: Option<LocustPlan>,
    /// `load.distributed`: soy's coordinator and workers on the swarm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distributed: Option<crate::load::distributed::swarm::SwarmSetup>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskPlan {
    pub name: String,
    pub weight: u32,
    /// Share of picks, in percent.
    pub share: f64,
    pub requests: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricsPlan {
    pub source: String,
    pub step: Duration,
    pub rate_window: Duration,
    pub queries: Vec<ResolvedQuery>,
}

/// Why a manifest could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The manifest could not be read, or its own checks failed (`plan::load`).
    #[error(transparent)]
    Load(#[from] crate::manifest::LoadError),
    /// Problems in the manifest (its own checks and the plan stage's, all at once) and in
    /// its stack file.
    #[error("{}", render_invalid(.manifest.as_deref(), .compose.as_deref()))]
    Invalid {
        manifest: Option<Box<Diagnostics>>,
        compose: Option<Box<crate::compose::ComposeError>>,
    },
    /// The stack file cannot be read or translated.
    #[error(transparent)]
    Compose(#[from] crate::compose::ComposeError),
    /// A plan-time template does not render.
    #[error("cannot plan {file}: {field} does not render")]
    Template {
        file: String,
        field: String,
        #[source]
        source: template::RenderError,
    },
    /// A query does not expand.
    #[error("cannot plan {file}: query `{query}`")]
    Query {
        file: String,
        query: String,
        #[source]
        source: crate::metrics::query::QueryError,
    },
    /// Something else the plan stage cannot resolve.
    #[error("cannot plan {file}: {message}")]
    Other { file: String, message: String },
}

fn render_invalid(m: Option<&Diagnostics>, c: Option<&crate::compose::ComposeError>) -> String {
    let mut parts = Vec::new();
    if let Some(d) = m {
        parts.push(d.render().trim_end().to_string());
    }
    if let Some(c) = c {
        parts.push(c.to_string());
    }
    parts.join("\n\n")
}

/// Reads, checks and plans the manifest at `path`, reporting every problem at once: the
/// manifest's own checks and the plan stage's (presets, the trace, the stack's services).
pub fn load(path: &std::path::Path) -> Result<(Manifest, Plan), PlanError> {
    let (m, problems) = crate::manifest::load_unchecked(path)?;
    let plan = build_with(&m, problems)?;
    Ok((m, plan))
}

impl Plan {
    /// What the plan warns about: unset Compose variables, keys `docker stack deploy` ignores.
    pub fn warnings(&self) -> &[String] {
        self.stack
            .swarm
            .as_ref()
            .map_or(&[], |s| s.warnings.as_slice())
    }
}

/// Resolves a checked manifest into a plan (running the plan stage's checks).
pub fn build(m: &Manifest) -> Result<Plan, PlanError> {
    build_with(m, Vec::new())
}

/// The plan stage's checks over a manifest with `problems` found so far; every problem of
/// the manifest is then reported together.
pub(crate) fn build_with(
    m: &Manifest,
    problems: Vec<crate::manifest::diagnostic::Diagnostic>,
) -> Result<Plan, PlanError> {
    let mut c = crate::manifest::semantic::Checker::new(&m.map, &m.dir);
    c.out = problems;
    let resolved = stack::resolve(m, &mut c);
    let facts = resolved
        .as_ref()
        .ok()
        .map(|(info, swarm)| crate::manifest::semantic::StackFacts {
            name: info.name.clone(),
            services: info
                .service_names()
                .into_iter()
                .chain(locust_services(&m.experiment, swarm.is_some()))
                .collect(),
        });
    check_metrics::check(&mut c, &m.experiment, facts.as_ref());
    let alert_cx = facts.as_ref().map(|f| QueryContext {
        stack: f.name.clone(),
        services: f.services.clone(),
        rate_window: m.experiment.metrics.rate_window,
        step: m
            .experiment
            .metrics
            .step
            .unwrap_or(m.experiment.metrics.rate_window),
        vars: m.experiment.vars.clone(),
    });
    alerts::check(&mut c, &m.experiment, alert_cx.as_ref());
    let live_queries: Option<Vec<ResolvedQuery>> = alert_cx.as_ref().map(|cx| {
        m.experiment
            .metrics
            .queries
            .iter()
            .filter_map(|q| expand(q, cx).ok())
            .flatten()
            .collect()
    });
    alerts::check_live_slos(&mut c, &m.experiment, live_queries.as_deref());
    autoscale::check(
        &mut c,
        &m.experiment,
        alert_cx.as_ref(),
        facts.as_ref().map(|f| f.services.as_slice()),
    );
    let trace = read_trace(m, &mut c);
    let swarm_plan = resolved.as_ref().ok().and_then(|(_, s)| s.as_ref());
    let locust = check_locust::check(&mut c, &m.experiment, swarm_plan);
    let distributed = check_locust::distributed(&mut c, &m.experiment, swarm_plan);
    let manifest = (!c.out.is_empty()).then(|| {
        Box::new(Diagnostics {
            file: m.path.display().to_string(),
            source: m.source.clone(),
            items: c.out,
        })
    });
    let (info, swarm) = match (manifest, resolved) {
        (None, Ok(r)) => r,
        (None, Err(e)) => return Err(e),
        (manifest, Err(PlanError::Compose(c))) => {
            return Err(PlanError::Invalid {
                manifest,
                compose: Some(Box::new(c)),
            });
        }
        (manifest, _) => {
            return Err(PlanError::Invalid {
                manifest,
                compose: None,
            });
        }
    };
    assemble(m, info, swarm, trace, locust, distributed)
}

/// The services soy adds to a swarm stack for `locust.workers` and `load.distributed`
/// (queries may name them).
fn locust_services(exp: &crate::manifest::model::Experiment, swarm: bool) -> Vec<String> {
    let workers = exp.load.locust.as_ref().and_then(|l| l.workers);
    let mut out: Vec<String> = match workers {
        Some(_) if swarm => vec!["locust-master".into(), "locust-worker".into()],
        _ => Vec::new(),
    };
    if swarm && exp.load.distributed.is_some() {
        out.extend(["soy-coordinator".into(), "soy-worker".into()]);
    }
    out
}

/// The trace of a `kind: trace` shape, read once (a problem is positioned at its `file`).
fn read_trace(
    m: &Manifest,
    c: &mut crate::manifest::semantic::Checker<'_>,
) -> Option<shape::TracePoints> {
    let crate::manifest::model::Shape::Trace(t) = &m.experiment.load.shape else {
        return None;
    };
    let at = crate::manifest::pointer::Pointer::root()
        .key("load")
        .key("shape")
        .key("file");
    let path = m.dir.join(&t.file);
    if !path.is_file() {
        // The manifest's own check says so.
        return None;
    }
    match std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read trace `{}`: {e}", t.file))
        .and_then(|text| shape::parse_trace(&text).map_err(|e| format!("trace `{}`: {e}", t.file)))
    {
        Ok(points) => Some(points),
        Err(e) => {
            c.value(&at, e);
            None
        }
    }
}

fn assemble(
    m: &Manifest,
    info: StackInfo,
    swarm: Option<SwarmPlan>,
    trace: Option<shape::TracePoints>,
    locust: Option<LocustPlan>,
    distributed: Option<crate::load::distributed::swarm::SwarmSetup>,
) -> Result<Plan, PlanError> {
    let file = m.path.display().to_string();
    let exp = &m.experiment;
    let l = &exp.load;
    let run_time = l
        .run_time
        .map(|d| d.as_secs_f64())
        .or_else(|| shape::natural_length(&l.shape, trace.as_ref()))
        .unwrap_or(0.0);
    let full = match l.model {
        Workload::Closed => l.users.map(f64::from),
        Workload::Open => l.rate,
    };
    let segments = shape::segments(
        &l.shape,
        ShapeInput {
            model: l.model,
            full: full.unwrap_or(0.0),
            spawn_rate: l.spawn_rate,
            run_time,
        },
        trace.as_ref(),
    );
    let target = full.unwrap_or_else(|| {
        segments
            .iter()
            .map(|s| s.from.max(s.to))
            .fold(0.0, f64::max)
    });
    let total = run_time + l.cooldown.as_secs_f64();
    let step = exp
        .metrics
        .step
        .unwrap_or_else(|| Duration::from_secs_f64((total / TARGET_POINTS).ceil().max(1.0)));
    let cx = QueryContext {
        stack: info.name.clone(),
        services: info.service_names(),
        rate_window: exp.metrics.rate_window,
        step,
        vars: exp.vars.clone(),
    };
    let mut queries = Vec::new();
    for q in &exp.metrics.queries {
        queries.extend(expand(q, &cx).map_err(|source| PlanError::Query {
            file: file.clone(),
            query: q.name.clone(),
            source,
        })?);
    }
    let live_slos = alerts::live_slos(exp, &queries).map_err(|message| PlanError::Other {
        file: file.clone(),
        message,
    })?;
    let vars = template::vars_context(&exp.vars);
    let host = l
        .host
        .as_deref()
        .map(|h| template::render(h, &vars))
        .transpose()
        .map_err(|source| PlanError::Template {
            file: file.clone(),
            field: "load.host".into(),
            source,
        })?;
    let ready = exp.stack.ready();
    Ok(Plan {
        name: exp.metadata.name.clone(),
        description: exp.metadata.description.clone(),
        labels: exp.metadata.labels.clone(),
        phases: phases(exp, &info, run_time, step),
        stack: StackPlan {
            info,
            ready_timeout: ready.timeout,
            teardown: teardown(exp),
            swarm,
        },
        load: LoadPlan {
            generator: match (&locust, &distributed) {
                (Some(p), _) => format!("locust {}", p.version),
                (None, Some(d)) => match d.workers {
                    Some(n) => format!("soy, {n} workers on the swarm"),
                    None => "soy, a worker on every swarm node".into(),
                },
                (None, None) => "soy".into(),
            },
            model: l.model,
            host,
            target,
            spawn_rate: l.spawn_rate,
            run_time: Duration::from_secs_f64(run_time),
            warmup: l.warmup,
            cooldown: l.cooldown,
            shape: l.shape.kind(),
            segments,
            on_start: l
                .on_start
                .iter()
                .map(|s| describe_request(&s.request))
                .collect(),
            tasks: tasks(exp),
            trace: trace.clone(),
            locust,
            distributed,
        },
        metrics: MetricsPlan {
            source: match &exp.metrics.source {
                MetricsSource::Prometheus(p) => format!("prometheus at {}", p.url),
                MetricsSource::Embedded(e) => {
                    format!("embedded (soy scrapes every {})", e.scrape_interval)
                }
            },
            step,
            rate_window: exp.metrics.rate_window,
            queries,
        },
        slos: exp.slos.iter().map(describe_slo).collect(),
        alerts: alerts::resolve(exp, &cx).map_err(|message| PlanError::Other {
            file: file.clone(),
            message,
        })?,
        live_slos,
        autoscale: autoscale::resolve(exp, &cx).map_err(|message| PlanError::Other {
            file: file.clone(),
            message,
        })?,
        evaluation_interval: Duration(alerts::interval(exp)),
        reports: exp.report.formats.clone(),
        exec: exec::resolve(m).map_err(|(field, source)| PlanError::Template {
            file,
            field,
            source,
        })?,
    })
}

fn teardown(exp: &Experiment) -> String {
    use crate::manifest::model::Stack;
    match &exp.stack {
        Stack::Swarm(s) => format!("{:?}", s.teardown).to_lowercase(),
        Stack::Local(s) => format!("{:?}", s.teardown).to_lowercase(),
        Stack::External(_) => "nothing to remove".into(),
    }
}

fn phases(exp: &Experiment, info: &StackInfo, run_time: f64, step: Duration) -> Vec<Phase> {
    let l = &exp.load;
    let warm = l.warmup.as_secs_f64();
    let cool = l.cooldown.as_secs_f64();
    let ready = exp.stack.ready();
    let n_checks = |r: &crate::manifest::model::Ready| r.http.len() + r.tcp.len() + r.log.len();
    let checks = n_checks(ready)
        + match &exp.stack {
            crate::manifest::model::Stack::Local(l) => {
                l.services.iter().map(|s| n_checks(&s.ready)).sum()
            }
            _ => 0,
        };
    let up = match info.driver {
        "external" => "target already running".to_string(),
        d => format!(
            "{d}: {} of stack `{}`",
            count(info.services.len(), "service", "services"),
            info.name
        ),
    };
    vec![
        Phase {
            name: "deploy",
            start: None,
            duration: None,
            detail: up,
        },
        Phase {
            name: "ready",
            start: None,
            duration: None,
            detail: format!(
                "{}, within {}",
                count(checks, "check", "checks"),
                ready.timeout
            ),
        },
        Phase {
            name: "warmup",
            start: Some(0.0),
            duration: Some(warm),
            detail: "load on, excluded from statistics".into(),
        },
        Phase {
            name: "steady",
            start: Some(warm),
            duration: Some(run_time - warm),
            detail: "measured window".into(),
        },
        Phase {
            name: "cooldown",
            start: Some(run_time),
            duration: Some(cool),
            detail: "load off, metrics still collected".into(),
        },
        Phase {
            name: "collect",
            start: Some(run_time + cool),
            duration: None,
            detail: format!(
                "{} over +0s..+{}, step {step}",
                count(exp.metrics.queries.len(), "query", "queries"),
                Duration::from_secs_f64(run_time + cool)
            ),
        },
        Phase {
            name: "teardown",
            start: None,
            duration: None,
            detail: teardown(exp),
        },
        Phase {
            name: "report",
            start: None,
            duration: None,
            detail: format!(
                "judge {}; write {}",
                count(exp.slos.len(), "SLO", "SLOs"),
                exp.report
                    .formats
                    .iter()
                    .map(|f| format!("{f:?}").to_lowercase())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    ]
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn tasks(exp: &Experiment) -> Vec<TaskPlan> {
    let total: u32 = exp.load.tasks.iter().map(|t| t.weight).sum();
    exp.load
        .tasks
        .iter()
        .map(|t| TaskPlan {
            name: t.name.clone(),
            weight: t.weight,
            share: if total == 0 {
                0.0
            } else {
                100.0 * f64::from(t.weight) / f64::from(total)
            },
            requests: t
                .request
                .iter()
                .chain(t.steps.iter().map(|s| &s.request))
                .map(describe_request)
                .collect(),
        })
        .collect()
}

fn describe_request(r: &crate::manifest::model::Request) -> String {
    let method = serde_json::to_value(r.method)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let target = r.path.as_deref().or(r.url.as_deref()).unwrap_or("");
    match &r.name {
        Some(n) if n != target => format!("{method} {target} (as {n})"),
        _ => format!("{method} {target}"),
    }
}

/// One line describing an SLO: `p95 of all requests <= 250ms`.
pub fn describe_slo(s: &Slo) -> String {
    s.describe()
}
