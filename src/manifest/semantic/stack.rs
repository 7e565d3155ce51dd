//! Checks of `stack:`: files, service names, readiness checks. A swarm stack's services are
//! in its Compose file, which the plan reads: the checks that need them run then, through
//! `check_services`, with the same positioned diagnostics.

use super::{Checker, StackFacts, first_duplicate};
use crate::manifest::diagnostic::did_you_mean;
use crate::manifest::model::{Experiment, Ready, Stack};
use crate::manifest::pointer::Pointer;
use crate::manifest::template;

/// Checks the stack; returns its name and services when the manifest alone knows them
/// (`None` for a swarm stack, or when the name does not render).
pub(super) fn check(c: &mut Checker<'_>, exp: &Experiment) -> Option<StackFacts> {
    let base = Pointer::root().key("stack");
    let vars = Checker::var_names(exp);
    let mut services: Option<Vec<String>> = None;
    match &exp.stack {
        Stack::Swarm(s) => {
            c.template(&base.key("name"), &s.name, &vars);
            c.file(&base.key("file"), &s.file, "stack file");
            for (k, v) in &s.variables {
                c.template(&base.key("variables").key(k), v, &vars);
            }
        }
        Stack::Local(s) => {
            if let Some(n) = &s.name {
                c.template(&base.key("name"), n, &vars);
            }
            let list = base.key("services");
            for (_, i, name) in first_duplicate(s.services.iter().map(|s| s.name.as_str())) {
                c.value(
                    &list.index(i).key("name"),
                    format!("service `{name}` is defined twice"),
                );
            }
            for (i, svc) in s.services.iter().enumerate() {
                let p = list.index(i);
                if let Some(w) = &svc.workdir {
                    if !c.dir.join(w).is_dir() {
                        c.value(
                            &p.key("workdir"),
                            format!("working directory `{w}` does not exist"),
                        );
                    }
                }
                if svc.command.contains('/') && svc.command != "soy" {
                    c.file(&p.key("command"), &svc.command, "program");
                }
                for (j, a) in svc.args.iter().enumerate() {
                    c.template(&p.key("args").index(j), a, &vars);
                }
                for (k, v) in &svc.env {
                    c.template(&p.key("env").key(k), v, &vars);
                }
                ready(c, &p.key("ready"), &svc.ready, &vars, Some(&names(s)));
            }
            services = Some(names(s));
        }
        Stack::External(s) => {
            if let Some(n) = &s.name {
                c.template(&base.key("name"), n, &vars);
            }
            services = Some(Vec::new());
        }
    }
    ready(
        c,
        &base.key("ready"),
        exp.stack.ready(),
        &vars,
        services.as_deref(),
    );
    let services = services?;
    let facts = StackFacts {
        name: stack_name(exp)?,
        services,
    };
    actions(c, exp, &facts.services);
    Some(facts)
}

/// The stack's name with templates rendered (the experiment's name when not given).
pub(crate) fn stack_name(exp: &Experiment) -> Option<String> {
    let vars = template::vars_context(&exp.vars);
    let name = match &exp.stack {
        Stack::Swarm(s) => Some(&s.name),
        Stack::Local(s) => s.name.as_ref(),
        Stack::External(s) => s.name.as_ref(),
    };
    match name {
        Some(n) => template::render(n, &vars).ok(),
        None => Some(exp.metadata.name.clone()),
    }
}

/// The checks that need the swarm stack's services (read from its Compose file).
pub(super) fn check_services(c: &mut Checker<'_>, exp: &Experiment, facts: &StackFacts) {
    let base = Pointer::root().key("stack");
    let vars = Checker::var_names(exp);
    let Stack::Swarm(s) = &exp.stack else {
        return;
    };
    let known: Vec<&str> = facts.services.iter().map(String::as_str).collect();
    for (field, keys) in [
        ("replicas", s.replicas.keys().collect::<Vec<_>>()),
        ("env", s.env.keys().collect()),
    ] {
        for k in keys {
            if !known.contains(&k.as_str()) {
                let d = c.key(
                    &base.key(field).key(k),
                    format!("the stack file has no service `{k}`"),
                );
                d.help = Some(match did_you_mean(k, known.iter().copied()) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("services in {}: {}", s.file, known.join(", ")),
                });
            }
        }
    }
    ready(
        c,
        &base.key("ready"),
        exp.stack.ready(),
        &vars,
        Some(&facts.services),
    );
    actions(c, exp, &facts.services);
}

fn names(s: &crate::manifest::model::LocalStack) -> Vec<String> {
    s.services.iter().map(|s| s.name.clone()).collect()
}

/// Readiness checks; log checks' services are checked when `services` is known.
fn ready(
    c: &mut Checker<'_>,
    base: &Pointer,
    r: &Ready,
    vars: &[&str],
    services: Option<&[String]>,
) {
    if r.timeout.is_zero() {
        c.value(
            &base.key("timeout"),
            "a readiness timeout of 0s can never pass",
        );
    }
    for (i, h) in r.http.iter().enumerate() {
        let p = base.key("http").index(i).key("url");
        c.template(&p, &h.url, vars);
        if !(h.url.starts_with("http://") || h.url.starts_with("https://")) {
            c.value(&p, format!("`{}` is not an http:// or https:// URL", h.url));
        }
    }
    for (i, t) in r.tcp.iter().enumerate() {
        let p = base.key("tcp").index(i).key("address");
        let port_ok = t
            .address
            .rsplit_once(':')
            .is_some_and(|(h, port)| !h.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
        if !port_ok {
            c.value(&p, format!("`{}` is not a `host:port` address", t.address));
        }
    }
    for (i, l) in r.log.iter().enumerate() {
        let p = base.key("log").index(i);
        c.regex(&p.key("pattern"), &l.pattern);
        let Some(services) = services else { continue };
        if !services.iter().any(|s| s == &l.service) {
            let d = c.value(
                &p.key("service"),
                format!("no service `{}` in the stack", l.service),
            );
            d.help = did_you_mean(&l.service, services.iter().map(String::as_str))
                .map(|n| format!("did you mean `{n}`?"));
        }
    }
}

fn actions(c: &mut Checker<'_>, exp: &Experiment, services: &[String]) {
    let list = Pointer::root().key("actions");
    for (i, a) in exp.actions.iter().enumerate() {
        let p = list.index(i);
        if !matches!(exp.stack, Stack::Swarm(_)) {
            c.key(
                &p,
                "actions change a swarm stack; this stack's driver is not `swarm`",
            );
            continue;
        }
        if a.scale.is_some() == a.restart.is_some() {
            c.key(&p, "an action has exactly one of `scale` and `restart`");
            continue;
        }
        if let Some(rt) = exp.load.run_time {
            if a.at >= rt {
                c.value(
                    &p.key("at"),
                    format!("{} is not before the end of the load ({rt})", a.at),
                );
            }
        }
        if let Some(svc) = a.service() {
            if !services.iter().any(|s| s == svc) {
                let key = if a.scale.is_some() {
                    "scale"
                } else {
                    "restart"
                };
                let d = c.value(
                    &p.key(key).key("service"),
                    format!("the stack file has no service `{svc}`"),
                );
                d.help = did_you_mean(svc, services.iter().map(String::as_str))
                    .map(|n| format!("did you mean `{n}`?"));
            }
        }
    }
}
