//! Checks of `slos:`: what each objective refers to, and that its limits have fitting units.

use super::Checker;
use crate::manifest::diagnostic::did_you_mean;
use crate::manifest::model::{Experiment, LoadStat, SloScope};
use crate::manifest::pointer::Pointer;
use crate::manifest::threshold::Threshold;

pub(super) fn check(c: &mut Checker<'_>, exp: &Experiment) {
    let list = Pointer::root().key("slos");
    let queries: Vec<&str> = exp
        .metrics
        .queries
        .iter()
        .map(|q| q.name.as_str())
        .collect();
    let requests = request_names(exp);
    for (i, slo) in exp.slos.iter().enumerate() {
        let p = list.index(i);
        if slo.max.is_none() && slo.min.is_none() {
            c.key(&p, "an SLO needs `max` or `min`");
        }
        match (&slo.load, &slo.query) {
            (Some(_), Some(_)) => {
                c.key(
                    &p.key("query"),
                    "an SLO judges either `load` or `query`, not both",
                );
            }
            (None, None) => {
                c.key(
                    &p,
                    "an SLO needs `load` (e.g. `load: p95`) or `query` (a metrics query name)",
                );
            }
            (Some(stat), None) => {
                if slo.stat.is_some() {
                    c.key(
                        &p.key("stat"),
                        "`stat` applies to query SLOs; a load SLO names its statistic in `load`",
                    );
                }
                if slo.per == SloScope::Series {
                    c.key(&p.key("per"), "`per: series` applies to query SLOs");
                }
                // A locustfile names its requests itself: soy cannot know them beforehand.
                let locust = exp.load.driver == crate::manifest::model::Driver::Locust;
                if let Some(r) = slo.request.as_ref().filter(|_| !locust) {
                    if !requests.iter().any(|n| n == r) {
                        let d = c.value(&p.key("request"), format!("no request is named `{r}`"));
                        d.help = Some(match did_you_mean(r, requests.iter().map(String::as_str)) {
                            Some(n) => format!("did you mean `{n}`?"),
                            None => format!("request names: {}", requests.join(", ")),
                        });
                    }
                }
                for (key, t) in [("max", slo.max), ("min", slo.min)] {
                    if let Some(t) = t {
                        units(c, &p.key(key), *stat, t);
                    }
                }
            }
            (None, Some(q)) => {
                if slo.request.is_some() {
                    c.key(&p.key("request"), "`request` applies to load SLOs");
                }
                if !queries.contains(&q.as_str()) {
                    let d = c.value(
                        &p.key("query"),
                        format!("no query is named `{q}` under metrics.queries"),
                    );
                    d.help = Some(match did_you_mean(q, queries.iter().copied()) {
                        Some(n) => format!("did you mean `{n}`?"),
                        None if queries.is_empty() => "metrics.queries is empty".into(),
                        None => format!("queries: {}", queries.join(", ")),
                    });
                }
            }
        }
    }
}

fn units(c: &mut Checker<'_>, p: &Pointer, stat: LoadStat, t: Threshold) {
    let problem = match (stat, t) {
        (LoadStat::ErrorRate, Threshold::Duration(_)) => {
            Some("an error rate is a ratio such as `1%` or `0.01`")
        }
        (LoadStat::ErrorRate, Threshold::Percent(p)) if !(0.0..=100.0).contains(&p) => {
            Some("an error rate lies between 0% and 100%")
        }
        (LoadStat::Rps, Threshold::Duration(_) | Threshold::Percent(_)) => {
            Some("requests per second is a plain number")
        }
        (s, Threshold::Percent(_)) if s.is_latency() => {
            Some("a latency limit is a time such as `250ms`")
        }
        _ => None,
    };
    if let Some(msg) = problem {
        c.value(
            p,
            format!(
                "`{t}` does not fit `{}`: {msg}",
                serde_json::to_value(stat)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
        );
    }
}

/// Names requests are grouped under: `request.name`, else the path or URL as written.
pub(crate) fn request_names(exp: &Experiment) -> Vec<String> {
    let l = &exp.load;
    let steps = l
        .on_start
        .iter()
        .map(|s| &s.request)
        .chain(l.tasks.iter().filter_map(|t| t.request.as_ref()))
        .chain(
            l.tasks
                .iter()
                .flat_map(|t| t.steps.iter().map(|s| &s.request)),
        );
    let mut names: Vec<String> = steps
        .filter_map(|r| {
            r.name
                .clone()
                .or_else(|| r.path.clone())
                .or_else(|| r.url.clone())
        })
        .collect();
    names.dedup();
    names
}
