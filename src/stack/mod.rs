//! The system under test: the stack drivers (local processes, Docker Swarm) and what the
//! plan knows of a stack.

pub mod driver;
pub mod error;
pub mod local;
pub mod local_driver;
pub mod ready;
pub mod swarm;
pub mod swarm_driver;
pub mod swarm_spec;
pub mod swarm_tasks;
pub mod swarm_watch;

pub use error::StackError;

/// A stack as the plan sees it: its name and its services with their replicas.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StackInfo {
    pub driver: &'static str,
    /// The stack's name, templates rendered (the `stack` variable of queries).
    pub name: String,
    pub services: Vec<ServiceInfo>,
}

/// One service of a stack.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServiceInfo {
    pub name: String,
    /// Replicas (1 for a local process); `None` for a swarm service in `global` mode.
    pub replicas: Option<u32>,
    pub image: Option<String>,
}

impl StackInfo {
    pub fn service_names(&self) -> Vec<String> {
        self.services.iter().map(|s| s.name.clone()).collect()
    }
}
