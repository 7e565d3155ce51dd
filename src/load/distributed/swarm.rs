//! soy's coordinator and workers as swarm services in the stack's network
//! (`load.distributed`).
//!
//! `spec` is pure: the two services as Engine API objects labelled with the stack's
//! namespace, so the stack's own teardown removes whatever is left. The coordinator runs on
//! this node with its port published in host mode, which soy reads on 127.0.0.1; the workers
//! find it by its service name and send their load to `load.host` inside the network.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use crate::manifest::model::{Distributed, WorkerMode};
use crate::stack::StackError;
use crate::stack::swarm::Swarm;
use crate::stack::swarm_spec::{NAMESPACE, StackSpec};
use crate::stack::swarm_tasks::TaskState;

/// The coordinator's port inside the network.
pub const COORDINATOR_PORT: u16 = 7600;
/// How long a task has to stop once asked.
const GRACE: Duration = Duration::from_secs(5);

/// Where the coordinator and workers run, as the plan resolved it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SwarmSetup {
    /// The stack (its namespace label and the services' name prefix).
    pub stack: String,
    /// Worker tasks (`None`: one per node, `mode: global`).
    pub workers: Option<u32>,
    pub image: String,
    /// The stack network of the service `load.host` names.
    pub network: String,
    /// The service `load.host` names.
    pub target: String,
    /// The coordinator's port on 127.0.0.1.
    pub port: u16,
    pub constraints: Vec<String>,
    pub nano_cpus: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub threads: Option<u32>,
    pub wait: Duration,
}

impl SwarmSetup {
    /// From `load.distributed`, the stack, and the target service and its network.
    pub fn new(d: &Distributed, stack: &str, target: String, network: String) -> SwarmSetup {
        let limits = d.limits.as_ref();
        SwarmSetup {
            stack: stack.to_string(),
            workers: match d.mode {
                WorkerMode::Replicated => Some(d.workers.unwrap_or(1)),
                WorkerMode::Global => None,
            },
            image: d.image.clone(),
            network,
            target,
            port: d.port,
            constraints: d.constraints.clone(),
            nano_cpus: limits
                .and_then(|l| l.cpus)
                .map(|c| (c * 1e9).round() as u64),
            memory_bytes: limits
                .and_then(|l| l.memory.as_deref())
                .and_then(crate::stack::swarm_spec::bytes),
            threads: d.threads,
            wait: d.wait.0,
        }
    }

    pub fn coordinator(&self) -> String {
        format!("{}_soy-coordinator", self.stack)
    }

    pub fn worker(&self) -> String {
        format!("{}_soy-worker", self.stack)
    }
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos() as u64
}

/// The coordinator and worker services.
pub fn spec(s: &SwarmSetup, node: &str) -> StackSpec {
    let labels = json!({NAMESPACE: s.stack});
    let network = json!([{"Target": s.network}]);
    let coordinator = json!({
        "Name": s.coordinator(),
        "Labels": labels,
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": s.image,
                "Labels": labels,
                "Args": ["coordinator", "--listen", format!("0.0.0.0:{COORDINATOR_PORT}")],
                "StopGracePeriod": nanos(GRACE),
            },
            "RestartPolicy": {"Condition": "none"},
            // soy reads it on this node's loopback.
            "Placement": {"Constraints": [format!("node.id=={node}")]},
            "Networks": network,
        },
        "Mode": {"Replicated": {"Replicas": 1}},
        "EndpointSpec": {
            "Mode": "dnsrr",
            "Ports": [{
                "Protocol": "tcp",
                "TargetPort": COORDINATOR_PORT,
                "PublishedPort": s.port,
                "PublishMode": "host",
            }],
        },
    });
    let mut limits = serde_json::Map::new();
    if let Some(c) = s.nano_cpus {
        limits.insert("NanoCPUs".into(), json!(c));
    }
    if let Some(m) = s.memory_bytes {
        limits.insert("MemoryBytes".into(), json!(m));
    }
    let mode = match s.workers {
        Some(n) => json!({"Replicated": {"Replicas": n}}),
        None => json!({"Global": {}}),
    };
    let worker = json!({
        "Name": s.worker(),
        "Labels": labels,
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": s.image,
                "Labels": labels,
                "Args": [
                    "worker",
                    "--coordinator",
                    format!("{}:{COORDINATOR_PORT}", s.coordinator()),
                    "--wait",
                    format!("{}s", s.wait.as_secs().max(1) + 30),
                ],
                "StopGracePeriod": nanos(GRACE),
            },
            // A lost worker stays lost: the run goes on with the others, and says so.
            "RestartPolicy": {"Condition": "none"},
            "Placement": {"Constraints": s.constraints},
            "Resources": {"Limits": limits},
            "Networks": network,
        },
        "Mode": mode,
        "EndpointSpec": {"Mode": "dnsrr"},
    });
    StackSpec {
        stack: s.stack.clone(),
        networks: Vec::new(),
        files: Vec::new(),
        services: vec![coordinator, worker],
    }
}

/// The coordinator and workers, deployed.
pub struct Deployed {
    sw: Swarm,
    setup: SwarmSetup,
}

impl Deployed {
    pub async fn start(setup: &SwarmSetup) -> Result<Deployed, StackError> {
        let sw = Swarm::connect().await?;
        if !sw.image_exists(&setup.image).await {
            return Err(StackError::NoSoyImage(setup.image.clone()));
        }
        let node = sw.node_id().await?;
        let d = Deployed {
            sw,
            setup: setup.clone(),
        };
        if let Err(e) = d.sw.deploy(&spec(setup, &node)).await {
            d.remove().await;
            return Err(e);
        }
        Ok(d)
    }

    /// The coordinator's task, once it has one.
    pub async fn coordinator(&self) -> Option<TaskState> {
        self.sw
            .task_states(&self.setup.coordinator())
            .await
            .ok()?
            .pop()
    }

    /// How many worker tasks the orchestrator made for a global service (one per node the
    /// constraints allow), once it has made any; `None` after `within`.
    pub async fn global_workers(&self, within: Duration) -> Option<u64> {
        let until = std::time::Instant::now() + within;
        loop {
            let tasks = self
                .sw
                .task_states(&self.setup.worker())
                .await
                .unwrap_or_default();
            let n = tasks.iter().filter(|t| t.desired == "running").count() as u64;
            if n > 0 || std::time::Instant::now() >= until {
                return (n > 0).then_some(n);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Keeps every container's output beside `dir` (`soy-coordinator.log`,
    /// `soy-worker-<slot>.log`), then removes both services.
    pub async fn finish(self, dir: &Path) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("soy: cannot create {}: {e}", dir.display());
        }
        let (coordinator, worker) = (self.setup.coordinator(), self.setup.worker());
        self.sw
            .keep_logs(
                (&coordinator, &dir.join("soy-coordinator.log")),
                (&worker, "soy-worker"),
                dir,
                "a load worker's output",
            )
            .await;
        self.remove().await;
    }

    async fn remove(&self) {
        for name in [self.setup.worker(), self.setup.coordinator()] {
            let _ = self.sw.remove_service(&name).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> SwarmSetup {
        SwarmSetup {
            stack: "demo".into(),
            workers: Some(3),
            image: "soy-demo:latest".into(),
            network: "demo_backend".into(),
            target: "gateway".into(),
            port: 17600,
            constraints: vec!["node.role==worker".into()],
            nano_cpus: Some(500_000_000),
            memory_bytes: Some(256 << 20),
            threads: None,
            wait: Duration::from_secs(60),
        }
    }

    #[test]
    fn a_coordinator_on_this_node_and_workers_that_find_it() {
        let s = spec(&setup(), "node1");
        let [c, w] = &s.services[..] else {
            panic!("two services")
        };
        assert_eq!(c["Name"], "demo_soy-coordinator");
        assert_eq!(c["Labels"][NAMESPACE], "demo");
        assert_eq!(
            c["TaskTemplate"]["Placement"]["Constraints"][0],
            "node.id==node1"
        );
        let port = &c["EndpointSpec"]["Ports"][0];
        assert_eq!(
            (port["PublishedPort"].as_u64(), port["PublishMode"].as_str()),
            (Some(17600), Some("host"))
        );
        assert_eq!(w["Mode"]["Replicated"]["Replicas"], 3);
        assert_eq!(
            w["TaskTemplate"]["ContainerSpec"]["Args"],
            json!([
                "worker",
                "--coordinator",
                "demo_soy-coordinator:7600",
                "--wait",
                "90s"
            ])
        );
        assert_eq!(w["TaskTemplate"]["RestartPolicy"]["Condition"], "none");
        assert_eq!(
            w["TaskTemplate"]["Resources"]["Limits"],
            json!({"NanoCPUs": 500_000_000u64, "MemoryBytes": 268_435_456u64})
        );
        assert_eq!(
            w["TaskTemplate"]["Placement"]["Constraints"][0],
            "node.role==worker"
        );
        assert_eq!(w["TaskTemplate"]["Networks"][0]["Target"], "demo_backend");
        let global = spec(
            &SwarmSetup {
                workers: None,
                ..setup()
            },
            "n",
        );
        assert_eq!(global.services[1]["Mode"], json!({"Global": {}}));
    }
}
