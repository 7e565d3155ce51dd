//! `alerts:` at the plan stage: each rule's PromQL rendered (a preset with `above`/`below`
//! becomes `(<preset>) > N`), parsed, its durations and annotation templates checked, all
//! positioned in the manifest; the resolved rules the run evaluates.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::manifest::diagnostic::did_you_mean;
use crate::manifest::model::{Alert, Experiment, MetricsSource, Query};
use crate::manifest::pointer::Pointer;
use crate::manifest::semantic::{Checker, first_duplicate};
use crate::metrics::presets;
use crate::metrics::query::{QueryContext, expand};

/// The evaluation interval with a Prometheus source and no `evaluation_interval`.
const PROMETHEUS_DEFAULT: Duration = Duration::from_secs(5);

/// One alerting rule as the run evaluates it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertPlan {
    pub name: String,
    /// The PromQL evaluated, rendered.
    pub expr: String,
    /// `for`, seconds.
    pub hold_s: f64,
    pub keep_firing_for_s: f64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    pub abort: bool,
    /// No evaluation before this many seconds of load (a live SLO's `delay`).
    #[serde(skip_serializing_if = "is_zero")]
    pub after_s: f64,
    /// A live SLO (`abort_on_fail`), named by its description, rather than an alert.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub slo: bool,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// How often the rules are evaluated.
pub fn interval(exp: &Experiment) -> Duration {
    match (&exp.metrics.evaluation_interval, &exp.metrics.source) {
        (Some(d), _) => d.0,
        (None, MetricsSource::Embedded(e)) => e.scrape_interval.0,
        (None, MetricsSource::Prometheus(_)) => PROMETHEUS_DEFAULT,
    }
}

/// The query an alert's expression is rendered as (its preset and parameters).
fn as_query(a: &Alert) -> Query {
    Query {
        name: a.name.clone(),
        promql: a.expr.clone(),
        preset: a.preset.clone(),
        service: a.service.clone(),
        cluster: a.cluster.clone(),
        quantile: a.quantile,
        conn_manager: a.conn_manager.clone(),
        for_each: None,
        unit: None,
        description: None,
        section: None,
    }
}

/// The rule's PromQL: its `expr`, or its preset compared with `above`/`below`.
pub fn render(a: &Alert, cx: &QueryContext) -> Result<String, String> {
    let q = as_query(a);
    let one = expand(&q, cx)
        .map_err(|e| crate::error::flatten(&e))?
        .pop()
        .ok_or("no PromQL")?;
    Ok(match (a.above, a.below) {
        (Some(v), _) => format!("({}) > {}", one.promql, v),
        (None, Some(v)) => format!("({}) < {}", one.promql, v),
        (None, None) => one.promql,
    })
}

/// Checks every rule; `cx` is known when the stack resolved.
pub(super) fn check(c: &mut Checker<'_>, exp: &Experiment, cx: Option<&QueryContext>) {
    let list = Pointer::root().key("alerts");
    for (_, i, name) in first_duplicate(exp.alerts.iter().map(|a| a.name.as_str())) {
        c.value(
            &list.index(i).key("name"),
            format!("alert `{name}` is defined twice"),
        );
    }
    if exp.metrics.evaluation_interval.is_some_and(|d| d.is_zero()) {
        c.value(
            &Pointer::root().key("metrics").key("evaluation_interval"),
            "an evaluation interval must be longer than 0s",
        );
    }
    for (i, a) in exp.alerts.iter().enumerate() {
        let p = list.index(i);
        match (&a.expr, &a.preset) {
            (Some(_), Some(_)) => {
                c.key(
                    &p.key("preset"),
                    "an alert has `expr` or `preset`, not both",
                );
                continue;
            }
            (None, None) => {
                c.key(&p, format!("alert `{}` needs `expr` or `preset`", a.name))
                    .help =
                    Some("e.g. `expr: sum(rate(soy_request_failures_total[30s])) > 1`".into());
                continue;
            }
            (Some(_), None) => {
                for (key, set) in [("above", a.above.is_some()), ("below", a.below.is_some())] {
                    if set {
                        c.key(
                            &p.key(key),
                            format!("`{key}` compares a preset; put the comparison in `expr`"),
                        );
                    }
                }
            }
            (None, Some(name)) => {
                if presets::find(name).is_none() {
                    let d = c.value(&p.key("preset"), format!("unknown preset `{name}`"));
                    d.help = Some(match did_you_mean(name, presets::names()) {
                        Some(n) => format!("did you mean `{n}`?"),
                        None => "`soy presets` lists the built-in queries".into(),
                    });
                    continue;
                }
                if a.above.is_some() == a.below.is_some() {
                    c.key(
                        &p,
                        format!(
                            "alert `{}` with a preset needs one of `above` and `below`",
                            a.name
                        ),
                    );
                    continue;
                }
            }
        }
        for (k, text) in &a.annotations {
            if let Err(e) = crate::rules::annotation::check(text) {
                c.value(&p.key("annotations").key(k), e.to_string());
            }
        }
        for (k, d) in [("keep_firing_for", a.keep_firing_for)] {
            if d.is_some_and(|d| d.is_zero()) {
                c.value(
                    &p.key(k),
                    format!("`{k}: 0s` is the same as leaving it out"),
                )
                .help = Some(format!("remove `{k}`, or give a duration"));
            }
        }
        for k in a.labels.keys() {
            if !valid_label_name(k) || k == "alertname" {
                c.value(
                    &p.key("labels").key(k),
                    format!("`{k}` is not a label name an alert can carry"),
                );
            }
        }
        let Some(cx) = cx else { continue };
        let at = if a.expr.is_some() {
            p.key("expr")
        } else {
            p.key("preset")
        };
        match render(a, cx) {
            Ok(promql) => {
                if let Err(e) = promql_parser::parser::parse(&promql) {
                    c.value(
                        &at,
                        format!("PromQL syntax error in alert `{}`: {}", a.name, e.trim()),
                    )
                    .help = Some(format!("the rendered expression is: {promql}"));
                }
            }
            Err(e) => {
                c.value(&at, format!("the expression does not render: {e}"));
            }
        }
    }
}

fn valid_label_name(k: &str) -> bool {
    let mut chars = k.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !k.starts_with("__")
}

/// The resolved rules (the checks have passed).
pub(super) fn resolve(exp: &Experiment, cx: &QueryContext) -> Result<Vec<AlertPlan>, String> {
    exp.alerts
        .iter()
        .map(|a| {
            Ok(AlertPlan {
                name: a.name.clone(),
                expr: render(a, cx).map_err(|e| format!("alert `{}`: {e}", a.name))?,
                hold_s: a.hold.map_or(0.0, |d| d.as_secs_f64()),
                keep_firing_for_s: a.keep_firing_for.map_or(0.0, |d| d.as_secs_f64()),
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                abort: a.abort,
                after_s: 0.0,
                slo: false,
            })
        })
        .collect()
}

/// The SLOs with `abort_on_fail`, as rules that abort the run (the checks have passed).
pub(super) fn live_slos(
    exp: &Experiment,
    queries: &[crate::metrics::query::ResolvedQuery],
) -> Result<Vec<AlertPlan>, String> {
    let mut out = Vec::new();
    for slo in exp.slos.iter().filter(|s| s.abort_on_fail) {
        let name = slo.describe();
        let exprs = crate::rules::file::live(
            slo,
            queries,
            &exp.metrics.rate_window.to_string(),
            interval(exp).as_secs_f64(),
        )
        .map_err(|e| format!("SLO `{name}`: {e}"))?;
        for expr in exprs {
            out.push(AlertPlan {
                name: name.clone(),
                expr,
                hold_s: 0.0,
                keep_firing_for_s: 0.0,
                labels: BTreeMap::new(),
                annotations: BTreeMap::new(),
                abort: true,
                after_s: slo
                    .delay
                    .map_or(exp.load.warmup.as_secs_f64(), |d| d.as_secs_f64()),
                slo: true,
            });
        }
    }
    Ok(out)
}

/// Checks the SLOs with `abort_on_fail`: each can be judged live, from a source that has
/// what it needs.
pub(super) fn check_live_slos(
    c: &mut Checker<'_>,
    exp: &Experiment,
    queries: Option<&[crate::metrics::query::ResolvedQuery]>,
) {
    let list = Pointer::root().key("slos");
    for (i, slo) in exp.slos.iter().enumerate() {
        let p = list.index(i);
        if !slo.abort_on_fail {
            if slo.delay.is_some() {
                c.key(
                    &p.key("delay"),
                    "`delay` is read only with `abort_on_fail: true`",
                );
            }
            continue;
        }
        if slo.load.is_some()
            && matches!(exp.metrics.source, MetricsSource::Prometheus(_))
            && exp.load.metrics_port.is_none()
        {
            c.key(
                &p.key("abort_on_fail"),
                "a load SLO is judged live from soy's own series: with a Prometheus source, that Prometheus must scrape soy's `load.metrics_port`",
            )
            .help = Some("set `load.metrics_port` and add it to the Prometheus' scrape targets".into());
        }
        if let Some(qs) = queries {
            let tmp: Vec<_> = qs.to_vec();
            if let Err(e) = crate::rules::file::live(
                slo,
                &tmp,
                &exp.metrics.rate_window.to_string(),
                interval(exp).as_secs_f64(),
            ) {
                c.value(
                    &p.key("abort_on_fail"),
                    format!("this SLO cannot abort the run: {e}"),
                );
            }
        }
    }
}
