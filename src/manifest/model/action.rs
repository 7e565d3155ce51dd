//! `actions:` — changes made to the stack at a time offset during the load (swarm driver).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::manifest::duration::Duration;

/// One timed change. Give exactly one of `scale` and `restart`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// When, from the start of the load.
    pub at: Duration,
    /// Set a service's replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    /// Restart a service's tasks, as `docker service update --force` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<Restart>,
}

/// A scale action.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    /// Service name as in the stack file.
    pub service: String,
    /// New number of replicas.
    pub replicas: u32,
}

/// A restart action.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Restart {
    /// Service name as in the stack file.
    pub service: String,
}

impl Action {
    /// The service the action changes.
    pub fn service(&self) -> Option<&str> {
        self.scale
            .as_ref()
            .map(|s| s.service.as_str())
            .or(self.restart.as_ref().map(|r| r.service.as_str()))
    }

    /// A short description: `scale ms-exercise to 3`.
    pub fn describe(&self) -> String {
        match (&self.scale, &self.restart) {
            (Some(s), _) => format!("scale {} to {}", s.service, s.replicas),
            (None, Some(r)) => format!("restart {}", r.service),
            (None, None) => "nothing".into(),
        }
    }
}
