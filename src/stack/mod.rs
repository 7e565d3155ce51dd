//! The system under test: reading stack definitions (and, in later issues, driving them).

pub mod compose;
pub mod local;
pub mod procfs;
pub mod ready;
pub mod swarm;
pub mod swarm_spec;

use std::path::Path;

use crate::manifest::model::{Experiment, Stack};
use crate::manifest::template;

/// A stack as the plan sees it: its name and its services with their replicas.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StackInfo {
    pub driver: &'static str,
    /// The stack's name, templates rendered (the `stack` variable of queries).
    pub name: String,
    pub services: Vec<compose::ComposeService>,
}

impl StackInfo {
    pub fn service_names(&self) -> Vec<String> {
        self.services.iter().map(|s| s.name.clone()).collect()
    }
}

/// Resolves the stack's name and services; reads the Compose file of a swarm stack.
pub fn describe(exp: &Experiment, dir: &Path) -> Result<StackInfo, String> {
    let vars = template::vars_context(&exp.vars);
    let render = |s: &str| template::render(s, &vars);
    let name_or_default = |name: &Option<String>| -> Result<String, String> {
        name.as_deref()
            .map(render)
            .transpose()
            .map(|n| n.unwrap_or_else(|| exp.metadata.name.clone()))
    };
    Ok(match &exp.stack {
        Stack::Swarm(s) => {
            let path = dir.join(&s.file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read stack file {}: {e}", path.display()))?;
            let mut services = compose::services(&text)
                .map_err(|e| format!("stack file {} is not a Compose file: {e}", path.display()))?;
            for svc in &mut services {
                if let (Some(n), Some(_)) = (s.replicas.get(&svc.name), svc.replicas) {
                    svc.replicas = Some(*n);
                }
            }
            StackInfo {
                driver: "swarm",
                name: render(&s.name)?,
                services,
            }
        }
        Stack::Local(s) => StackInfo {
            driver: "local",
            name: name_or_default(&s.name)?,
            services: s
                .services
                .iter()
                .map(|l| compose::ComposeService {
                    name: l.name.clone(),
                    replicas: Some(1),
                    image: None,
                })
                .collect(),
        },
        Stack::External(s) => StackInfo {
            driver: "external",
            name: name_or_default(&s.name)?,
            services: Vec::new(),
        },
    })
}
