//! `autoscale:` at the plan stage: swarm stacks only, the service in the stack, limits and
//! one policy, the metric rendered and parsed; the resolved controllers.

use serde::Serialize;

use crate::manifest::model::{Autoscale, Experiment, Query, Stack};
use crate::manifest::pointer::Pointer;
use crate::manifest::semantic::Checker;
use crate::metrics::query::{QueryContext, expand};

/// One controller as the run drives it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AutoscalePlan {
    /// The service as the stack file names it.
    pub service: String,
    /// The swarm service (`<stack>_<service>`).
    pub swarm_service: String,
    pub min: u32,
    pub max: u32,
    pub interval_s: f64,
    /// The metric, rendered.
    pub promql: String,
    pub per_replica: bool,
    pub policy: PolicyPlan,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PolicyPlan {
    Target {
        value: f64,
        tolerance: f64,
        up_window_s: f64,
        down_window_s: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        max_step: Option<u32>,
    },
    Threshold {
        upper: f64,
        lower: f64,
        step: u32,
        up_cooldown_s: f64,
        down_cooldown_s: f64,
    },
}

impl PolicyPlan {
    /// The policy's levels of the metric, for charts.
    pub fn levels(&self) -> Vec<crate::rules::record::Level> {
        let level = |name: &str, value: f64| crate::rules::record::Level {
            name: name.into(),
            value,
        };
        match self {
            PolicyPlan::Target { value, .. } => vec![level("target", *value)],
            PolicyPlan::Threshold { upper, lower, .. } => {
                vec![level("upper", *upper), level("lower", *lower)]
            }
        }
    }
}

fn metric_query(a: &Autoscale) -> Query {
    let m = &a.metric;
    Query {
        name: format!("autoscale_{}", a.service.replace('-', "_")),
        promql: m.promql.clone(),
        preset: m.preset.clone(),
        service: Some(m.service.clone().unwrap_or_else(|| a.service.clone())),
        cluster: m.cluster.clone(),
        quantile: m.quantile,
        conn_manager: None,
        for_each: None,
        unit: None,
        description: None,
        section: None,
    }
}

fn render(a: &Autoscale, cx: &QueryContext) -> Result<String, String> {
    expand(&metric_query(a), cx)
        .map_err(|e| crate::error::flatten(&e))?
        .pop()
        .map(|r| r.promql)
        .ok_or_else(|| "no PromQL".into())
}

pub(super) fn check(
    c: &mut Checker<'_>,
    exp: &Experiment,
    cx: Option<&QueryContext>,
    services: Option<&[String]>,
) {
    let list = Pointer::root().key("autoscale");
    let swarm = matches!(exp.stack, Stack::Swarm(_));
    for (i, a) in exp.autoscale.iter().enumerate() {
        let p = list.index(i);
        if !swarm {
            c.key(
                &p,
                format!(
                    "`autoscale` scales swarm services; this stack's driver is `{}`",
                    exp.stack.driver_name()
                ),
            )
            .help = Some("use `stack.driver: swarm`".into());
            continue;
        }
        if exp.autoscale[..i].iter().any(|b| b.service == a.service) {
            c.value(
                &p.key("service"),
                format!("`{}` has two controllers", a.service),
            );
        }
        if let Some(known) = services.filter(|s| !s.is_empty())
            && !known.contains(&a.service)
        {
            let d = c.value(
                &p.key("service"),
                format!("no service `{}` in the stack", a.service),
            );
            d.help = crate::manifest::diagnostic::did_you_mean(
                &a.service,
                known.iter().map(String::as_str),
            )
            .map(|n| format!("did you mean `{n}`?"));
        }
        if a.min > a.max {
            c.value(
                &p.key("min"),
                format!("`min: {}` is above `max: {}`", a.min, a.max),
            );
        }
        if a.interval.is_zero() {
            c.value(&p.key("interval"), "an interval must be longer than 0s");
        }
        match (&a.target, &a.threshold) {
            (Some(_), Some(_)) => {
                c.key(
                    &p.key("threshold"),
                    "a controller has one policy: `target` or `threshold`",
                );
            }
            (None, None) => {
                c.key(
                    &p,
                    format!(
                        "the controller of `{}` needs `target` or `threshold`",
                        a.service
                    ),
                )
                .help = Some("e.g. `target: {value: 0.5}` (CPU cores per replica)".into());
            }
            (Some(t), None) => {
                if t.value <= 0.0 || !t.value.is_finite() {
                    c.value(&p.key("target").key("value"), "a target must be above 0");
                }
                if !(0.0..1.0).contains(&t.tolerance) {
                    c.value(
                        &p.key("target").key("tolerance"),
                        "a tolerance is a fraction from 0 to below 1",
                    );
                }
            }
            (None, Some(t)) => {
                if t.lower >= t.upper {
                    c.value(
                        &p.key("threshold").key("lower"),
                        format!("`lower: {}` is not below `upper: {}`", t.lower, t.upper),
                    );
                }
            }
        }
        let mp = p.key("metric");
        match (&a.metric.promql, &a.metric.preset) {
            (Some(_), Some(_)) => {
                c.key(
                    &mp.key("preset"),
                    "a metric has `promql` or `preset`, not both",
                );
                continue;
            }
            (None, None) => {
                c.key(&mp, "the metric needs `promql` or `preset`");
                continue;
            }
            (None, Some(name)) if crate::metrics::presets::find(name).is_none() => {
                c.value(&mp.key("preset"), format!("unknown preset `{name}`"))
                    .help = Some("`soy presets` lists the built-in queries".into());
                continue;
            }
            _ => {}
        }
        let Some(cx) = cx else { continue };
        let at = if a.metric.promql.is_some() {
            mp.key("promql")
        } else {
            mp.key("preset")
        };
        match render(a, cx) {
            Ok(promql) => {
                if let Err(e) = promql_parser::parser::parse(&promql) {
                    c.value(&at, format!("PromQL syntax error: {}", e.trim()))
                        .help = Some(format!("the rendered metric is: {promql}"));
                }
            }
            Err(e) => {
                c.value(&at, format!("the metric does not render: {e}"));
            }
        }
    }
}

/// The controllers (the checks have passed).
pub(super) fn resolve(exp: &Experiment, cx: &QueryContext) -> Result<Vec<AutoscalePlan>, String> {
    exp.autoscale
        .iter()
        .map(|a| {
            let secs = |d: Option<crate::manifest::duration::Duration>, default: f64| {
                d.map_or(default, |d| d.as_secs_f64())
            };
            let policy = match (&a.target, &a.threshold) {
                (Some(t), _) => PolicyPlan::Target {
                    value: t.value,
                    tolerance: t.tolerance,
                    up_window_s: secs(t.up_window, 0.0),
                    down_window_s: secs(t.down_window, 300.0),
                    max_step: t.max_step,
                },
                (None, Some(t)) => PolicyPlan::Threshold {
                    upper: t.upper,
                    lower: t.lower,
                    step: t.step,
                    up_cooldown_s: secs(t.up_cooldown, 0.0),
                    down_cooldown_s: secs(t.down_cooldown, 60.0),
                },
                (None, None) => return Err(format!("`{}` has no policy", a.service)),
            };
            Ok(AutoscalePlan {
                service: a.service.clone(),
                swarm_service: format!("{}_{}", cx.stack, a.service),
                min: a.min,
                max: a.max,
                interval_s: a.interval.as_secs_f64(),
                promql: render(a, cx).map_err(|e| format!("autoscale `{}`: {e}", a.service))?,
                per_replica: a.metric.per_replica,
                policy,
            })
        })
        .collect()
}
