//! What `soy apply` executes besides what `soy plan` prints: the experiment with every
//! plan-time template rendered (readiness URLs, local services' arguments and environment, the metrics source and its targets, the load's
//! host), the manifest's exact text and its folder. The run reads these and never the
//! manifest; request templates stay, for the load driver to compile.

use std::path::PathBuf;

use crate::manifest::Manifest;
use crate::manifest::model::{Experiment, MetricsSource, Ready, Stack};
use crate::manifest::template;

/// The run's inputs, resolved.
#[derive(Debug, Clone)]
pub struct Exec {
    /// The experiment with plan-time templates rendered.
    pub experiment: Experiment,
    /// The manifest's exact text (copied into the run directory, shown in the report).
    pub source: String,
    /// The folder the manifest's relative paths start from.
    pub dir: PathBuf,
}

/// A plan-time field that does not render, and why.
pub type Unrendered = (String, template::RenderError);

/// Renders the plan-time templates of `m`'s experiment; an error names the field.
pub fn resolve(m: &Manifest) -> Result<Exec, Unrendered> {
    let mut exp = m.experiment.clone();
    let vars = template::vars_context(&exp.vars);
    let render = |s: &mut String, at: &str| -> Result<(), Unrendered> {
        *s = template::render(s, &vars).map_err(|e| (at.to_string(), e))?;
        Ok(())
    };
    let ready = |r: &mut Ready, at: &str| -> Result<(), Unrendered> {
        for (i, h) in r.http.iter_mut().enumerate() {
            render(&mut h.url, &format!("{at}.http[{i}].url"))?;
        }
        Ok(())
    };
    match &mut exp.stack {
        Stack::Local(s) => {
            ready(&mut s.ready, "stack.ready")?;
            for (i, svc) in s.services.iter_mut().enumerate() {
                ready(&mut svc.ready, &format!("stack.services[{i}].ready"))?;
                for (j, a) in svc.args.iter_mut().enumerate() {
                    render(a, &format!("stack.services[{i}].args[{j}]"))?;
                }
                for (k, v) in svc.env.iter_mut() {
                    render(v, &format!("stack.services[{i}].env.{k}"))?;
                }
            }
        }
        Stack::Swarm(s) => ready(&mut s.ready, "stack.ready")?,
        Stack::External(s) => ready(&mut s.ready, "stack.ready")?,
    }
    match &mut exp.metrics.source {
        MetricsSource::Prometheus(p) => render(&mut p.url, "metrics.source.url")?,
        MetricsSource::Embedded(e) => {
            for (i, t) in e.targets.iter_mut().enumerate() {
                render(t, &format!("metrics.source.targets[{i}]"))?;
            }
        }
    }
    if let Some(h) = &mut exp.load.host {
        render(h, "load.host")?;
    }
    Ok(Exec {
        experiment: exp,
        source: m.source.clone(),
        dir: m.dir.clone(),
    })
}
