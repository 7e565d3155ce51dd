//! The stack part of the plan: its name and services and, for a swarm stack, the Compose
//! file read once and translated into the Engine API objects soy will create.

use std::collections::BTreeMap;

use serde::Serialize;

use super::PlanError;
use crate::compose;
use crate::manifest::Manifest;
use crate::manifest::model::{Stack, SwarmStack};
use crate::manifest::semantic::{self, Checker, StackFacts};
use crate::manifest::template;
use crate::stack::swarm_spec::{self, StackSpec};
use crate::stack::{ServiceInfo, StackInfo};

/// A swarm stack as it will be deployed.
#[derive(Debug, Clone, Serialize)]
pub struct SwarmPlan {
    /// The Compose file, as given in the manifest.
    pub file: String,
    /// What `docker stack deploy` would warn about (unset variables, ignored keys).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Networks, configs and secrets (by file), and each service's `ServiceSpec` exactly as
    /// soy sends it; environment values whose names look secret are shown redacted.
    #[serde(serialize_with = "redacted")]
    pub spec: StackSpec,
    /// Values of secret-looking variables interpolated into the stack file: wherever they
    /// landed (a command line, a URL), the printed spec shows `<redacted>`.
    #[serde(skip)]
    pub secret_values: Vec<String>,
}

/// Resolves the stack: its name, its services and, for swarm, the translated Compose file.
/// The manifest checks that need a swarm stack's services report into `c`.
pub(super) fn resolve(
    m: &Manifest,
    c: &mut Checker<'_>,
) -> Result<(StackInfo, Option<SwarmPlan>), PlanError> {
    let exp = &m.experiment;
    let name = semantic::stack_name(exp).ok_or_else(|| PlanError::Other {
        file: m.path.display().to_string(),
        message: "the stack name does not render".into(),
    })?;
    let (driver, services) = match &exp.stack {
        Stack::Swarm(s) => {
            let (plan, services) = swarm(m, s, &name, c)?;
            let info = StackInfo {
                driver: "swarm",
                name,
                services,
            };
            return Ok((info, Some(plan)));
        }
        Stack::Local(s) => (
            "local",
            s.services
                .iter()
                .map(|l| ServiceInfo {
                    name: l.name.clone(),
                    replicas: Some(1),
                    image: None,
                })
                .collect(),
        ),
        Stack::External(_) => ("external", Vec::new()),
    };
    Ok((
        StackInfo {
            driver,
            name,
            services,
        },
        None,
    ))
}

fn swarm(
    m: &Manifest,
    s: &SwarmStack,
    name: &str,
    checker: &mut Checker<'_>,
) -> Result<(SwarmPlan, Vec<ServiceInfo>), PlanError> {
    let vars = template::vars_context(&m.experiment.vars);
    let mut variables = BTreeMap::new();
    for (k, v) in &s.variables {
        let v = template::render(v, &vars).map_err(|source| PlanError::Template {
            file: m.path.display().to_string(),
            field: format!("stack.variables.{k}"),
            source,
        })?;
        variables.insert(k.clone(), v);
    }
    let path = m.dir.join(&s.file);
    if !path.is_file() && !checker.out.is_empty() {
        // The manifest's own check has said so; reading it would only say it again.
        return Err(PlanError::Other {
            file: m.path.display().to_string(),
            message: format!("stack file {} does not exist", path.display()),
        });
    }
    let c = compose::load(&path, &compose::variables(&variables))?;
    let facts = StackFacts {
        name: name.to_string(),
        services: c.file.services.keys().cloned().collect(),
    };
    semantic::check_services(checker, &m.experiment, &facts);
    let overrides = swarm_spec::Overrides {
        replicas: s.replicas.clone(),
        env: s.env.clone(),
        dir: c.dir.clone(),
    };
    let spec = swarm_spec::translate(&c.file, name, &overrides).map_err(|problems| {
        let items = problems
            .into_iter()
            .map(|p| c.diagnostic(&p.pointer, p.message))
            .collect();
        PlanError::Compose(c.invalid(items))
    })?;
    let services = c
        .file
        .services
        .iter()
        .map(|(n, svc)| {
            let deploy = svc.deploy.as_ref();
            let global = deploy.and_then(|d| d.mode.as_deref()) == Some("global");
            let replicas = s.replicas.get(n).copied().unwrap_or_else(|| {
                deploy
                    .and_then(|d| d.replicas)
                    .map_or(1, |r| u32::try_from(r).unwrap_or(u32::MAX))
            });
            ServiceInfo {
                name: n.clone(),
                replicas: (!global).then_some(replicas),
                image: svc.image.clone(),
            }
        })
        .collect();
    Ok((
        SwarmPlan {
            file: s.file.clone(),
            secret_values: c
                .used
                .iter()
                .filter(|(k, v)| looks_secret(k) && v.len() >= 4)
                .map(|(_, v)| v.clone())
                .collect(),
            warnings: c.warnings,
            spec,
        },
        services,
    ))
}

/// Environment variable names whose values are not printed.
fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "ACCESS_KEY",
    ]
    .iter()
    .any(|w| n.contains(w))
}

fn redacted<S: serde::Serializer>(spec: &StackSpec, s: S) -> Result<S::Ok, S::Error> {
    let mut spec = spec.clone();
    for e in spec.env_entries_mut() {
        let Some((k, v)) = e.as_str().and_then(|t| t.split_once('=')) else {
            continue;
        };
        if looks_secret(k) && !v.is_empty() && !v.starts_with("${env:") {
            *e = serde_json::Value::String(format!("{k}=<redacted>"));
        }
    }
    spec.serialize(s)
}

impl Serialize for SwarmPlanRedacted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A swarm plan as printed: secret variables' values replaced wherever they appear.
struct SwarmPlanRedacted<'a>(&'a SwarmPlan);

/// Replaces each of `secrets` in every string of `v` with `<redacted>`.
fn scrub(v: &mut serde_json::Value, secrets: &[String]) {
    match v {
        serde_json::Value::String(s) => {
            for secret in secrets {
                if s.contains(secret.as_str()) {
                    *s = s.replace(secret.as_str(), "<redacted>");
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| scrub(x, secrets)),
        serde_json::Value::Object(o) => o.values_mut().for_each(|x| scrub(x, secrets)),
        _ => {}
    }
}

/// The plan's swarm section as `soy plan` and `resolved.json` show it.
pub(super) fn printed<S: serde::Serializer>(
    swarm: &Option<SwarmPlan>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let Some(p) = swarm else {
        return s.serialize_none();
    };
    let mut v = serde_json::to_value(SwarmPlanRedacted(p)).map_err(serde::ser::Error::custom)?;
    scrub(&mut v, &p.secret_values);
    v.serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_names() {
        assert!(looks_secret("POSTGRES_PASSWORD"));
        assert!(looks_secret("GF_SECURITY_ADMIN_PASSWORD"));
        assert!(looks_secret("github_token"));
        assert!(!looks_secret("GF_SECURITY_ADMIN_USER"));
        assert!(!looks_secret("LOG_LEVEL"));
    }
}
