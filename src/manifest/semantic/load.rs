//! Checks of `load:`: the workload model's numbers, the shape against the run time,
//! the scenario's requests and templates.

use super::{Checker, first_duplicate};
use crate::manifest::duration::Duration;
use crate::manifest::model::{Driver, Experiment, Extractor, Load, Request, Shape, Step, Workload};
use crate::manifest::pointer::Pointer;
use crate::manifest::template::{REQUEST_FUNCTIONS, REQUEST_NAMES};

pub(super) fn check(c: &mut Checker<'_>, exp: &Experiment) {
    let base = Pointer::root().key("load");
    let l = &exp.load;
    model(c, &base, l);
    // A search gives each probe its own run time (a sweep may too, through `load.run_time`).
    let campaign_time = exp.search.as_ref().is_some_and(|q| q.run_time.is_some())
        || exp
            .sweep
            .as_ref()
            .is_some_and(|s| s.matrix.0.contains_key("load.run_time"));
    shape(c, &base, l, campaign_time);
    if l.think_time.min > l.think_time.max {
        c.value(
            &base.key("think_time").key("min"),
            format!(
                "think_time.min ({}) is longer than max ({})",
                l.think_time.min, l.think_time.max
            ),
        );
    }
    if let Some(host) = &l.host {
        c.template(&base.key("host"), host, &Checker::var_names(exp));
        if !(host.starts_with("http://") || host.starts_with("https://") || host.starts_with("{{"))
        {
            c.value(
                &base.key("host"),
                format!("`{host}` is not an http:// or https:// URL"),
            )
            .help = Some("write the scheme too, e.g. `http://127.0.0.1:8080`".into());
        }
    }
    if let Some(csv) = &l.csv {
        if csv.starts_with('/') || csv.split('/').any(|p| p == "..") {
            c.value(
                &base.key("csv"),
                "the CSV prefix must stay inside the run directory",
            )
            .help = Some("use a relative prefix such as `results/test_envoy`".into());
        }
    }
    if let Some(ca) = &l.tls.ca_file {
        c.file(&base.key("tls").key("ca_file"), ca, "CA file");
    }
    super::locust::check(c, &base, l, exp.stack.driver_name());
    distributed(c, &base, l, exp.stack.driver_name());
    scenario(c, &base, exp);
}

/// `load.distributed`: soy's workers on the swarm.
fn distributed(c: &mut Checker<'_>, base: &Pointer, l: &Load, stack_driver: &str) {
    use crate::manifest::model::{Driver, WorkerMode};
    let Some(d) = &l.distributed else { return };
    let p = base.key("distributed");
    if stack_driver != "swarm" {
        c.key(
            &p,
            format!("soy's workers run on the swarm; this stack's driver is `{stack_driver}`"),
        )
        .help = Some("use `stack.driver: swarm`, or remove `distributed`".into());
    }
    if l.driver == Driver::Locust {
        c.key(&p, "`distributed` spreads soy's own generator").help =
            Some("for Locust's workers on the swarm, use `locust.workers`".into());
    }
    match (d.mode, d.workers) {
        (WorkerMode::Replicated, None) => {
            c.key(&p, "say how many workers run: `workers: N`").help =
                Some("or `mode: global` for one worker on every node".into());
        }
        (WorkerMode::Global, Some(_)) => {
            c.key(
                &p.key("workers"),
                "`mode: global` runs one worker on every node; `workers` is not used",
            )
            .help = Some("remove `workers`, or use `mode: replicated`".into());
        }
        _ => {}
    }
    if let Some(m) = d.limits.as_ref().and_then(|l| l.memory.as_deref()) {
        if crate::stack::swarm_spec::bytes(m).is_none_or(|b| b < 16 << 20) {
            c.value(
                &p.key("limits").key("memory"),
                format!("`{m}` is not a memory size of at least 16M"),
            )
            .help = Some("e.g. `256M` or `1G`".into());
        }
    }
    if l.tls.ca_file.is_some() {
        c.key(
            &base.key("tls").key("ca_file"),
            "soy's workers on the swarm cannot read files beside the manifest",
        )
        .help = Some("use `tls.insecure: true` for a test CA inside the stack".into());
    }
}

fn model(c: &mut Checker<'_>, base: &Pointer, l: &Load) {
    // A Locust `LoadTestShape` file says the users itself.
    let shape_has_targets =
        shape_file(l) || !matches!(&l.shape, Shape::Constant(k) if k.target.is_none());
    match l.model {
        Workload::Closed => {
            if l.users.is_none() && !shape_has_targets {
                c.key(
                    base,
                    "missing `users`: the closed model needs a number of users",
                )
                .help =
                    Some("set `users`, or a shape with its own targets (`kind: stages`)".into());
            }
            for key in ["rate", "max_in_flight"] {
                let set = if key == "rate" {
                    l.rate.is_some()
                } else {
                    l.max_in_flight.is_some()
                };
                if set {
                    c.key(&base.key(key), format!("`{key}` belongs to the open model"))
                        .help =
                        Some("add `model: open`, or use `users` for the closed model".into());
                }
            }
        }
        Workload::Open => {
            if l.rate.is_none() && !shape_has_targets {
                c.key(
                    base,
                    "missing `rate`: the open model needs iterations per second",
                )
                .help = Some("set `rate`, or a shape with its own targets".into());
            }
            if l.users.is_some() {
                c.key(&base.key("users"), "`users` belongs to the closed model")
                    .help = Some("the open model sends `rate` iterations per second; remove `users` or `model: open`".into());
            }
        }
    }
}

/// A Locust `LoadTestShape` file gives the load its users and its length.
fn shape_file(l: &Load) -> bool {
    l.driver == Driver::Locust && l.locust.as_ref().is_some_and(|s| s.shape_file.is_some())
}

fn shape(c: &mut Checker<'_>, base: &Pointer, l: &Load, campaign_time: bool) {
    let sp = base.key("shape");
    let run_time = l.run_time;
    if let Some(rt) = run_time {
        if rt.is_zero() {
            c.value(&base.key("run_time"), "run_time must be longer than 0s");
        }
    } else if !matches!(l.shape, Shape::Stages(_) | Shape::Trace(_))
        && !shape_file(l)
        && !campaign_time
    {
        c.key(base, "missing `run_time`: how long the load runs")
            .help = Some(format!(
            "shape `{}` has no length of its own; add e.g. `run_time: 5m`",
            l.shape.kind()
        ));
    }
    if let Some(rt) = run_time {
        if !l.warmup.is_zero() && l.warmup >= rt {
            c.value(
                &base.key("warmup"),
                format!(
                    "warmup ({}) leaves nothing of run_time ({rt}) to measure",
                    l.warmup
                ),
            )
            .help = Some("warmup is the first part of run_time, excluded from statistics".into());
        }
    }
    let whole = l.model == Workload::Closed;
    let target = |c: &mut Checker<'_>, p: Pointer, v: f64| {
        if whole && v.fract() != 0.0 {
            c.value(
                &p,
                format!("{v} users: the closed model counts whole users"),
            );
        }
    };
    match &l.shape {
        Shape::Constant(k) => {
            if let Some(t) = k.target {
                target(c, sp.key("target"), t);
            }
        }
        Shape::Ramp(r) => {
            target(c, sp.key("from"), r.from);
            target(c, sp.key("to"), r.to);
            if let (Some(d), Some(rt)) = (r.duration, run_time) {
                if d > rt {
                    c.value(
                        &sp.key("duration"),
                        format!("the ramp ({d}) is longer than run_time ({rt})"),
                    );
                }
            }
        }
        Shape::Steps(s) => {
            target(c, sp.key("start"), s.start);
            target(c, sp.key("step"), s.step);
            target(c, sp.key("until"), s.until);
            if s.every.is_zero() {
                c.value(&sp.key("every"), "steps must last longer than 0s");
            }
            if s.step == 0.0 {
                c.value(&sp.key("step"), "a step of 0 never changes the load")
                    .help = Some("use `kind: constant` for a flat load".into());
            } else if (s.until - s.start) * s.step < 0.0 {
                c.value(
                    &sp.key("step"),
                    format!(
                        "stepping by {} from {} never reaches {}",
                        s.step, s.start, s.until
                    ),
                );
            }
        }
        Shape::Spike(s) => {
            target(c, sp.key("base"), s.base);
            target(c, sp.key("peak"), s.peak);
            if let Some(rt) = run_time {
                let end = Duration(s.at.0 + s.hold.0);
                if end > rt {
                    c.value(
                        &sp.key("hold"),
                        format!("the spike ends at {end}, after the run ends at {rt}"),
                    );
                }
            }
        }
        Shape::Stages(st) => {
            let mut end = Duration::ZERO;
            for (i, stage) in st.stages.iter().enumerate() {
                let p = sp.key("stages").index(i);
                target(c, p.key("target"), stage.target);
                if stage.duration.is_zero() {
                    c.value(&p.key("duration"), "a stage must last longer than 0s");
                }
                let start = end;
                end = Duration(end.0 + stage.duration.0);
                if let Some(rt) = run_time {
                    if end > rt && start < rt {
                        c.value(
                            &p.key("duration"),
                            format!("stage {i} ends at {end}, after the run ends at {rt} (load.run_time)"),
                        )
                        .help = Some(format!(
                            "the stages last {} in all; shorten them or raise run_time",
                            Duration(st.stages.iter().map(|s| s.duration.0).sum())
                        ));
                    } else if start >= rt {
                        c.value(
                            &p,
                            format!("stage {i} starts at {start}, after the run ends at {rt}"),
                        );
                    }
                }
            }
        }
        Shape::Sine(s) => {
            if s.period.is_zero() {
                c.value(&sp.key("period"), "a period must be longer than 0s");
            }
            if s.amplitude > s.base {
                c.value(
                    &sp.key("amplitude"),
                    format!(
                        "amplitude {} exceeds base {}: the target would go below 0",
                        s.amplitude, s.base
                    ),
                );
            }
        }
        // Its content is read and checked once, by the plan.
        Shape::Trace(t) => c.file(&sp.key("file"), &t.file, "trace file"),
    }
}

fn scenario(c: &mut Checker<'_>, base: &Pointer, exp: &Experiment) {
    let l = &exp.load;
    let mut known: Vec<String> = exp.vars.keys().cloned().collect();
    known.extend(
        REQUEST_NAMES
            .iter()
            .chain(REQUEST_FUNCTIONS)
            .map(|s| s.to_string()),
    );
    for (i, step) in l.on_start.iter().enumerate() {
        check_step_parts(
            c,
            &base.key("on_start").index(i),
            step,
            &known,
            l.host.is_some(),
        );
        known.extend(step.extract.keys().cloned());
    }
    let tasks = base.key("tasks");
    for (_, i, name) in first_duplicate(l.tasks.iter().map(|t| t.name.as_str())) {
        c.value(
            &tasks.index(i).key("name"),
            format!("task `{name}` is defined twice"),
        );
    }
    if !l.tasks.is_empty() && l.tasks.iter().all(|t| t.weight == 0) {
        c.key(&tasks, "every task has weight 0, so none would run");
    }
    for (i, t) in l.tasks.iter().enumerate() {
        let p = tasks.index(i);
        let mut names = known.clone();
        match (&t.request, t.steps.is_empty()) {
            (Some(r), true) => {
                let step = Step {
                    name: None,
                    request: r.clone(),
                    extract: t.extract.clone(),
                    check: t.check.clone(),
                };
                check_step_parts(c, &p, &step, &names, l.host.is_some());
            }
            (Some(_), false) => {
                c.key(
                    &p.key("steps"),
                    "a task has either `request` or `steps`, not both",
                );
            }
            (None, true) => {
                c.key(
                    &p,
                    format!("task `{}` has no `request` and no `steps`", t.name),
                );
            }
            (None, false) => {
                if !t.extract.is_empty() || t.check.is_some() {
                    c.key(
                        &p,
                        "`extract` and `check` of a multi-step task go inside its steps",
                    );
                }
                for (j, step) in t.steps.iter().enumerate() {
                    check_step_parts(c, &p.key("steps").index(j), step, &names, l.host.is_some());
                    names.extend(step.extract.keys().cloned());
                }
            }
        }
    }
}

/// Checks a request with its extractors and checks; `p` is where `request`, `extract` and
/// `check` live (a step, or a one-request task).
fn check_step_parts(
    c: &mut Checker<'_>,
    p: &Pointer,
    step: &Step,
    names: &[String],
    has_host: bool,
) {
    let allowed: Vec<&str> = names.iter().map(String::as_str).collect();
    request(c, &p.key("request"), &step.request, &allowed, has_host);
    for (name, ex) in &step.extract {
        extractor(c, &p.key("extract").key(name), ex);
    }
}

fn request(c: &mut Checker<'_>, p: &Pointer, r: &Request, allowed: &[&str], has_host: bool) {
    match (&r.path, &r.url) {
        (Some(_), Some(_)) => {
            c.key(
                &p.key("url"),
                "a request has either `path` or `url`, not both",
            );
        }
        (None, None) => {
            c.key(p, "a request needs `path` (joined to load.host) or `url`");
        }
        (Some(path), None) => {
            c.template(&p.key("path"), path, allowed);
            if !has_host {
                c.key(&p.key("path"), "a `path` needs `load.host` to be joined to")
                    .help = Some("set `load.host`, or give a full `url`".into());
            } else if !path.starts_with('/') && !path.starts_with("{{") {
                c.value(&p.key("path"), format!("`{path}` does not start with `/`"));
            }
        }
        (None, Some(url)) => {
            c.template(&p.key("url"), url, allowed);
            if !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with("{{"))
            {
                c.value(
                    &p.key("url"),
                    format!("`{url}` is not an http:// or https:// URL"),
                );
            }
        }
    }
    let bodies = [r.json.is_some(), !r.form.is_empty(), r.body.is_some()];
    if bodies.iter().filter(|b| **b).count() > 1 {
        c.key(p, "a request has at most one of `json`, `form` and `body`");
    }
    for (field, map) in [
        ("headers", &r.headers),
        ("query", &r.query),
        ("form", &r.form),
    ] {
        for (k, v) in map {
            c.template(&p.key(field).key(k), v, allowed);
        }
    }
    if let Some(b) = &r.body {
        c.template(&p.key("body"), b, allowed);
    }
    if let Some(j) = &r.json {
        json_templates(c, &p.key("json"), j, allowed);
    }
}

fn json_templates(c: &mut Checker<'_>, p: &Pointer, v: &serde_json::Value, allowed: &[&str]) {
    match v {
        serde_json::Value::String(s) => c.template(p, s, allowed),
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                json_templates(c, &p.index(i), x, allowed);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                json_templates(c, &p.key(k), x, allowed);
            }
        }
        _ => {}
    }
}

fn extractor(c: &mut Checker<'_>, p: &Pointer, ex: &Extractor) {
    let given = [ex.json.is_some(), ex.regex.is_some(), ex.header.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        c.key(
            p,
            "an extractor takes exactly one of `json`, `regex` and `header`",
        );
        return;
    }
    if let Some(ptr) = &ex.json {
        if !ptr.is_empty() && !ptr.starts_with('/') {
            c.value(&p.key("json"), format!("`{ptr}` is not a JSON pointer"))
                .help = Some(format!("JSON pointers start with `/`, e.g. `/{ptr}`"));
        }
    }
    if let Some(re) = &ex.regex {
        c.regex(&p.key("regex"), re);
    }
}
