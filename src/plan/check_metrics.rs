//! Checks of `metrics:` at the plan stage (they need the presets and the stack's services):
//! query names, presets and their parameters, templates, the label-matcher regexes and the
//! syntax of the rendered PromQL, all positioned in the manifest.

use crate::manifest::diagnostic::did_you_mean;
use crate::manifest::model::{Experiment, MetricsSource};
use crate::manifest::pointer::Pointer;
use crate::manifest::semantic::{Checker, StackFacts, first_duplicate, regex_problem};
use crate::manifest::template::QUERY_NAMES;
use crate::metrics::presets::{self, Needs};
use crate::metrics::query::{QueryContext, expand, label_regexes, template_of};

pub(super) fn check(c: &mut Checker<'_>, exp: &Experiment, info: Option<&StackFacts>) {
    let base = Pointer::root().key("metrics");
    let m = &exp.metrics;
    if let MetricsSource::Prometheus(p) = &m.source {
        let u = base.key("source").key("url");
        c.template(&u, &p.url, &Checker::var_names(exp));
        if !(p.url.starts_with("http://") || p.url.starts_with("https://")) {
            c.value(&u, format!("`{}` is not an http:// or https:// URL", p.url));
        }
    }
    if let MetricsSource::Embedded(e) = &m.source {
        let list = base.key("source").key("targets");
        for (i, t) in e.targets.iter().enumerate() {
            let at = list.index(i);
            c.template(&at, t, &Checker::var_names(exp));
            if !crate::manifest::template::is_template(t) {
                if let Err(e) = crate::http::target::Target::parse(t) {
                    c.value(&at, e.to_string());
                }
            }
        }
        if e.scrape_interval.is_zero() {
            c.value(
                &base.key("source").key("scrape_interval"),
                "a scrape interval must be longer than 0s",
            );
        }
    }
    if m.step.is_some_and(|s| s.is_zero()) {
        c.value(&base.key("step"), "a step must be longer than 0s");
    }
    if m.rate_window.is_zero() {
        c.value(
            &base.key("rate_window"),
            "a rate window must be longer than 0s",
        );
    }
    let list = base.key("queries");
    for (_, i, name) in first_duplicate(m.queries.iter().map(|q| q.name.as_str())) {
        c.value(
            &list.index(i).key("name"),
            format!("query `{name}` is defined twice"),
        );
    }
    let mut allowed: Vec<&str> = exp.vars.keys().map(String::as_str).collect();
    allowed.extend(QUERY_NAMES);
    for (i, q) in m.queries.iter().enumerate() {
        let p = list.index(i);
        match (&q.promql, &q.preset) {
            (Some(_), Some(_)) => {
                c.key(
                    &p.key("preset"),
                    "a query has either `promql` or `preset`, not both",
                );
                continue;
            }
            (None, None) => {
                c.key(&p, format!("query `{}` needs `promql` or `preset`", q.name))
                    .help = Some("`soy presets` lists the built-in queries".into());
                continue;
            }
            (None, Some(name)) => match presets::find(name) {
                None => {
                    let d = c.value(&p.key("preset"), format!("unknown preset `{name}`"));
                    d.help = Some(match did_you_mean(name, presets::names()) {
                        Some(n) => format!("did you mean `{n}`?"),
                        None => "`soy presets` lists the built-in queries".into(),
                    });
                    continue;
                }
                Some(preset) => {
                    let has_cluster = q.cluster.is_some()
                        || q.for_each.as_ref().is_some_and(|f| f.cluster.is_some());
                    if preset.needs == Needs::Cluster && !has_cluster {
                        c.key(&p, format!("preset `{name}` needs an Envoy cluster"))
                            .help = Some(
                            "add `cluster: gateway_cluster` or `for_each: {cluster: [...]}`".into(),
                        );
                        continue;
                    }
                }
            },
            (Some(promql), None) => {
                c.template(&p.key("promql"), promql, &allowed);
                for (var, given) in [
                    (
                        "service",
                        q.service.is_some()
                            || q.for_each.as_ref().is_some_and(|f| f.service.is_some()),
                    ),
                    (
                        "cluster",
                        q.cluster.is_some()
                            || q.for_each.as_ref().is_some_and(|f| f.cluster.is_some()),
                    ),
                ] {
                    if !given && uses(promql, var) {
                        c.value(
                            &p.key("promql"),
                            format!("the query uses `{var}` but sets no `{var}`"),
                        )
                        .help = Some(format!("add `{var}:` or `for_each: {{{var}: [...]}}`"));
                    }
                }
            }
        }
        if let Some(fe) = &q.for_each {
            let fp = p.key("for_each");
            match (&fe.service, &fe.cluster) {
                (Some(_), Some(_)) | (None, None) => {
                    c.key(
                        &fp,
                        "`for_each` takes exactly one of `service` and `cluster`",
                    );
                }
                (Some(list), None) => {
                    if q.service.is_some() {
                        c.key(
                            &p.key("service"),
                            "`service` and `for_each.service` both set",
                        );
                    }
                    if let Some(info) = info.filter(|i| !i.services.is_empty()) {
                        let known = &info.services;
                        for (j, s) in list.iter().enumerate() {
                            if !known.contains(s) {
                                let d = c.value(
                                    &fp.key("service").index(j),
                                    format!("no service `{s}` in the stack"),
                                );
                                d.help = did_you_mean(s, known.iter().map(String::as_str))
                                    .map(|n| format!("did you mean `{n}`?"));
                            }
                        }
                    }
                }
                (None, Some(_)) => {
                    if q.cluster.is_some() {
                        c.key(
                            &p.key("cluster"),
                            "`cluster` and `for_each.cluster` both set",
                        );
                    }
                }
            }
        }
        // Render and check the label regexes of what would be sent.
        let Some(info) = info else { continue };
        let cx = QueryContext {
            stack: info.name.clone(),
            services: info.services.clone(),
            rate_window: m.rate_window,
            step: m.step.unwrap_or(m.rate_window),
            vars: exp.vars.clone(),
        };
        let at = if q.promql.is_some() {
            p.key("promql")
        } else {
            p.key("preset")
        };
        if template_of(q).is_some() && c.out.iter().all(|d| !d.path.starts_with(&p.dotted())) {
            match expand(q, &cx) {
                Ok(resolved) => {
                    for r in resolved {
                        // Label regexes first: their message is more precise than the parser's.
                        let mut bad_regex = false;
                        for re in label_regexes(&r.promql) {
                            // Prometheus anchors label regexes: `^(?:re)$`.
                            if let Some(why) = regex_problem(&format!("^(?:{re})$")) {
                                bad_regex = true;
                                c.value(
                                    &at,
                                    format!("label matcher regex `{re}` does not compile: {why}"),
                                )
                                .help = Some(format!("in the rendered query of `{}`", r.name));
                            }
                        }
                        if bad_regex {
                            continue;
                        }
                        if let Err(e) = promql_parser::parser::parse(&r.promql) {
                            c.value(
                                &at,
                                format!("PromQL syntax error in `{}`: {}", r.name, e.trim()),
                            )
                            .help = Some(format!("the rendered query is: {}", r.promql));
                        }
                    }
                }
                Err(e) => {
                    c.value(&at, format!("the query does not render: {e}"));
                }
            }
        }
    }
}

/// Whether a template refers to `name` as a variable.
fn uses(template: &str, name: &str) -> bool {
    crate::manifest::template::variables(template)
        .iter()
        .any(|v| v == name)
}
