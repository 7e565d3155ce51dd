//! Checks of `sweep:` and `search:`: what each parameter sets, and that the search fits the
//! load it varies. Each point's values are checked again in the point's own manifest.

use super::Checker;
use crate::manifest::diagnostic::did_you_mean;
use crate::manifest::model::{Experiment, SearchOver, Shape, Stack, Workload};
use crate::manifest::pointer::Pointer;

/// Manifest paths a sweep parameter may set (besides `stack.replicas.<service>`).
pub const PATHS: &[&str] = &[
    "load.users",
    "load.rate",
    "load.spawn_rate",
    "load.run_time",
];

/// Whether the manifest already has a value at the dotted path (a number indexes a list),
/// outside what a point may not change.
fn in_document(doc: &serde_json::Value, path: &str) -> bool {
    if matches!(
        path.split('.').next(),
        Some("sweep" | "search" | "apiVersion" | "kind" | "metadata")
    ) {
        return false;
    }
    let mut cur = doc;
    for part in path.split('.') {
        let next = match cur {
            serde_json::Value::Object(m) => m.get(part),
            serde_json::Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return false,
        }
    }
    true
}

/// Names of the template variables a sweep sets (its parameters without a dot).
pub fn sweep_vars(exp: &Experiment) -> Vec<&str> {
    exp.sweep
        .iter()
        .flat_map(|s| s.matrix.0.keys())
        .filter(|k| !k.contains('.'))
        .map(String::as_str)
        .collect()
}

pub(super) fn check(c: &mut Checker<'_>, exp: &Experiment, doc: &serde_json::Value) {
    let root = Pointer::root();
    if let Some(s) = &exp.sweep {
        let m = root.key("sweep").key("matrix");
        for (name, values) in s.matrix.params() {
            let p = m.key(&name);
            if name.contains('.') {
                let replicas = name.strip_prefix("stack.replicas.");
                match replicas {
                    Some(svc) if !svc.is_empty() && !matches!(exp.stack, Stack::Swarm(_)) => {
                        c.key(
                            &p,
                            format!(
                                "`{name}` sets a swarm service's replicas, but the stack's driver is `{}`",
                                exp.stack.driver_name()
                            ),
                        )
                        .help = Some(
                            "vary a local stack through a template variable in its services' `args` or `env`"
                                .into(),
                        );
                    }
                    Some(svc) if !svc.is_empty() => {}
                    _ if !PATHS.contains(&name.as_str()) && !in_document(doc, &name) => {
                        let d = c.key(&p, format!("`{name}` is not a place a sweep can set"));
                        d.help = Some(match did_you_mean(&name, PATHS.iter().copied()) {
                            Some(n) => format!("did you mean `{n}`?"),
                            None => format!(
                                "a sweep sets {}, `stack.replicas.<service>`, a place the manifest already has (e.g. `autoscale.0.policy.target`), or a template variable (a name without a dot)",
                                PATHS.join(", ")
                            ),
                        });
                    }
                    _ => {}
                }
            } else if !crate::manifest::env::is_identifier(&name) {
                c.key(&p, format!("`{name}` cannot be a template variable"))
                    .help = Some(
                    "variable names are letters, digits and `_`, not starting with a digit".into(),
                );
            }
            for (i, v) in values.iter().enumerate() {
                if values[..i].contains(v) {
                    c.value(&p.index(i), format!("`{name}` lists {v} twice"));
                }
            }
        }
        if exp.search.is_some() && s.repeat > 1 {
            c.value(
                &root.key("sweep").key("repeat"),
                "with `search:`, repetitions are the search's",
            )
            .help = Some("set `search.repeat` instead: runs per probe".into());
        }
    }
    if let Some(q) = &exp.search {
        let p = root.key("search");
        if q.from > q.to {
            c.value(
                &p.key("to"),
                format!("`to` ({}) is below `from` ({})", q.to, q.from),
            );
        }
        let (model, needs) = match q.over {
            SearchOver::Users => (Workload::Closed, "closed"),
            SearchOver::Rate => (Workload::Open, "open"),
        };
        if exp.load.model != model {
            c.value(
                &p.key("over"),
                format!(
                    "searching over `{}` needs `load.model: {needs}`",
                    q.over.name()
                ),
            );
        }
        if !matches!(exp.load.shape, Shape::Constant(_)) {
            c.value(
                &p.key("over"),
                format!(
                    "a search sets `{}`, which only a constant shape holds",
                    q.over.path()
                ),
            )
            .help = Some("remove `load.shape` (a constant shape is the default)".into());
        }
        if q.over == SearchOver::Users && (q.step.fract() != 0.0 || q.from.fract() != 0.0) {
            c.value(
                &p.key("step"),
                "users are whole numbers: `from` and `step` must be too",
            );
        }
        if exp
            .sweep
            .as_ref()
            .is_some_and(|s| s.matrix.0.contains_key(q.over.path()))
        {
            c.key(
                &root.key("sweep").key("matrix").key(q.over.path()),
                format!(
                    "`{}` is what the search varies; it cannot be in the matrix too",
                    q.over.path()
                ),
            );
        }
        let named: Vec<&str> = exp.slos.iter().filter_map(|s| s.name.as_deref()).collect();
        for (i, n) in q.slos.iter().enumerate() {
            if !named.contains(&n.as_str()) {
                let d = c.value(&p.key("slos").index(i), format!("no SLO is named `{n}`"));
                d.help = Some(match did_you_mean(n, named.iter().copied()) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None if named.is_empty() => "give the SLO a `name:` to pick it here".into(),
                    None => format!("named SLOs: {}", named.join(", ")),
                });
            }
        }
        if exp.slos.is_empty() {
            c.key(&p, "a capacity search needs SLOs to judge its probes by");
        }
    }
}
