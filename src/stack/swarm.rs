//! The `swarm` stack driver on the Docker Engine API (bollard): create or update a stack's
//! networks and services, wait until every service runs its desired replicas (reporting task
//! errors instead of waiting forever), count replicas, and remove everything in the stack's
//! namespace — nothing outside it is ever touched.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{NetworkCreateRequest, ServiceSpec};
use bollard::query_parameters::{
    InspectServiceOptions, ListNetworksOptionsBuilder, ListServicesOptionsBuilder,
    ListTasksOptionsBuilder, UpdateServiceOptionsBuilder,
};
use serde_json::Value;

use super::swarm_spec::{NAMESPACE, StackSpec};

/// A connection to a swarm manager.
#[derive(Clone)]
pub struct Swarm {
    docker: Docker,
}

/// Running and desired replicas of one service.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Replicas {
    pub service: String,
    pub running: u64,
    pub desired: u64,
}

impl Swarm {
    /// Connects to the local engine and checks it is a swarm manager.
    pub async fn connect() -> Result<Swarm, String> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|e| format!("cannot reach the Docker engine: {e}"))?
            .negotiate_version()
            .await
            .map_err(|e| format!("cannot reach the Docker engine (is dockerd running?): {e}"))?;
        let info = docker
            .info()
            .await
            .map_err(|e| format!("the Docker engine does not answer: {e}"))?;
        let state = info
            .swarm
            .as_ref()
            .and_then(|s| s.local_node_state.as_ref())
            .map(|s| s.to_string())
            .unwrap_or_default();
        if state != "active" {
            return Err(format!(
                "this Docker engine is not part of a swarm (state `{state}`): run `docker swarm init --advertise-addr 127.0.0.1`"
            ));
        }
        Ok(Swarm { docker })
    }

    /// Ports published through the ingress routing mesh need IPVS in the kernel; say so with
    /// the fix rather than letting the service hang without its port.
    pub fn check_ingress(spec: &StackSpec) -> Result<(), String> {
        let ipvs = std::path::Path::new("/proc/net/ip_vs").exists();
        for svc in &spec.services {
            if !ipvs && svc.pointer("/EndpointSpec/Mode").and_then(Value::as_str) == Some("vip") {
                return Err(format!(
                    "{} would be reached through a virtual IP, which needs the kernel's IPVS (missing here: no /proc/net/ip_vs); add `deploy: {{endpoint_mode: dnsrr}}` to it in the stack file",
                    svc["Name"].as_str().unwrap_or("a service")
                ));
            }
            for p in svc
                .pointer("/EndpointSpec/Ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if p["PublishMode"] == "ingress" && !ipvs {
                    return Err(format!(
                        "{} publishes port {} through the ingress routing mesh, which needs the kernel's IPVS (missing here: no /proc/net/ip_vs); publish it with `mode: host` in the stack file",
                        svc["Name"].as_str().unwrap_or("a service"),
                        p["PublishedPort"]
                    ));
                }
            }
        }
        Ok(())
    }

    /// Creates missing networks and creates or updates every service, as `docker stack deploy`.
    pub async fn deploy(&self, spec: &StackSpec) -> Result<(), String> {
        for net in &spec.networks {
            let name = net["Name"].as_str().unwrap_or_default().to_string();
            let filters: HashMap<&str, Vec<&str>> = HashMap::from([("name", vec![name.as_str()])]);
            let existing = self
                .docker
                .list_networks(Some(
                    ListNetworksOptionsBuilder::default()
                        .filters(&filters)
                        .build(),
                ))
                .await
                .map_err(|e| format!("listing networks: {e}"))?;
            if existing
                .iter()
                .any(|n| n.name.as_deref() == Some(name.as_str()))
            {
                continue;
            }
            let req: NetworkCreateRequest =
                serde_json::from_value(net.clone()).map_err(|e| format!("network {name}: {e}"))?;
            self.docker
                .create_network(req)
                .await
                .map_err(|e| format!("creating network {name}: {e}"))?;
        }
        for svc in &spec.services {
            let name = svc["Name"].as_str().unwrap_or_default().to_string();
            let body: ServiceSpec =
                serde_json::from_value(svc.clone()).map_err(|e| format!("service {name}: {e}"))?;
            match self
                .docker
                .inspect_service(&name, None::<InspectServiceOptions>)
                .await
            {
                Ok(current) => {
                    let version = current.version.and_then(|v| v.index).unwrap_or(0);
                    let opts = UpdateServiceOptionsBuilder::default()
                        .version(version as i32)
                        .build();
                    self.docker
                        .update_service(&name, body, opts, None)
                        .await
                        .map_err(|e| format!("updating service {name}: {e}"))?;
                }
                Err(_) => {
                    self.docker
                        .create_service(body, None)
                        .await
                        .map_err(|e| format!("creating service {name}: {e}"))?;
                }
            }
        }
        Ok(())
    }

    /// Sets a service's replicas, as `docker service scale`.
    pub async fn scale(&self, name: &str, replicas: u32) -> Result<(), String> {
        self.modify(name, |spec| {
            spec["Mode"] = serde_json::json!({"Replicated": {"Replicas": replicas}});
        })
        .await
    }

    /// Restarts a service's tasks, as `docker service update --force`.
    pub async fn restart(&self, name: &str) -> Result<(), String> {
        self.modify(name, |spec| {
            let n = spec
                .pointer("/TaskTemplate/ForceUpdate")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            spec["TaskTemplate"]["ForceUpdate"] = serde_json::json!(n + 1);
        })
        .await
    }

    async fn modify(&self, name: &str, change: impl FnOnce(&mut Value)) -> Result<(), String> {
        let current = self
            .docker
            .inspect_service(name, None::<InspectServiceOptions>)
            .await
            .map_err(|e| format!("service {name}: {e}"))?;
        let version = current.version.and_then(|v| v.index).unwrap_or(0);
        let mut spec = serde_json::to_value(&current.spec).map_err(|e| e.to_string())?;
        change(&mut spec);
        let body: ServiceSpec =
            serde_json::from_value(spec).map_err(|e| format!("service {name}: {e}"))?;
        let opts = UpdateServiceOptionsBuilder::default()
            .version(version as i32)
            .build();
        self.docker
            .update_service(name, body, opts, None)
            .await
            .map(|_| ())
            .map_err(|e| format!("updating service {name}: {e}"))
    }

    /// The services labelled with the stack's namespace.
    async fn stack_services(&self, stack: &str) -> Result<Vec<bollard::models::Service>, String> {
        let label = format!("{NAMESPACE}={stack}");
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec![label.as_str()])]);
        self.docker
            .list_services(Some(
                ListServicesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| format!("listing services: {e}"))
    }

    /// Services of the stack with their running and desired replicas.
    pub async fn replicas(&self, stack: &str) -> Result<Vec<Replicas>, String> {
        let services = self.stack_services(stack).await?;
        let mut out = Vec::new();
        for s in services {
            let name = s
                .spec
                .as_ref()
                .and_then(|sp| sp.name.clone())
                .unwrap_or_default();
            let spec = serde_json::to_value(&s.spec).unwrap_or(Value::Null);
            let desired = spec
                .pointer("/Mode/Replicated/Replicas")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let tasks = self.tasks(&name).await?;
            let running = tasks
                .iter()
                .filter(|t| t.pointer("/Status/State").and_then(Value::as_str) == Some("running"))
                .count() as u64;
            out.push(Replicas {
                service: name,
                running,
                desired,
            });
        }
        out.sort_by(|a, b| a.service.cmp(&b.service));
        Ok(out)
    }

    async fn tasks(&self, service: &str) -> Result<Vec<Value>, String> {
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([("service", vec![service])]);
        let tasks = self
            .docker
            .list_tasks(Some(
                ListTasksOptionsBuilder::default().filters(&filters).build(),
            ))
            .await
            .map_err(|e| format!("listing tasks of {service}: {e}"))?;
        Ok(tasks
            .iter()
            .filter_map(|t| serde_json::to_value(t).ok())
            .collect())
    }

    /// Waits until every service runs its desired replicas; a service whose tasks keep failing
    /// is reported with its task errors instead of being waited on until the timeout.
    pub async fn converge(&self, stack: &str, timeout: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        loop {
            let reps = self.replicas(stack).await?;
            if !reps.is_empty() && reps.iter().all(|r| r.running >= r.desired) {
                return Ok(start.elapsed());
            }
            for r in reps.iter().filter(|r| r.running < r.desired) {
                let tasks = self.tasks(&r.service).await?;
                let failed: Vec<String> = tasks
                    .iter()
                    .filter(|t| {
                        matches!(
                            t.pointer("/Status/State").and_then(Value::as_str),
                            Some("failed" | "rejected")
                        )
                    })
                    .filter_map(|t| {
                        t.pointer("/Status/Err")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .collect();
                if failed.len() >= 3 || (start.elapsed() >= timeout && !failed.is_empty()) {
                    return Err(format!(
                        "service {} cannot converge ({} of {} running): {}",
                        r.service,
                        r.running,
                        r.desired,
                        failed.last().cloned().unwrap_or_default()
                    ));
                }
            }
            if start.elapsed() >= timeout {
                let lagging: Vec<String> = reps
                    .iter()
                    .filter(|r| r.running < r.desired)
                    .map(|r| format!("{} {}/{}", r.service, r.running, r.desired))
                    .collect();
                return Err(format!(
                    "the stack did not converge within {timeout:?}: {}",
                    lagging.join(", ")
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Removes the stack's services, waits for their containers to go, then removes its
    /// networks. Only objects labelled with the stack's namespace are touched.
    pub async fn remove(&self, stack: &str, timeout: Duration) -> Result<(), String> {
        let label = format!("{NAMESPACE}={stack}");
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec![label.as_str()])]);
        let services = self.stack_services(stack).await?;
        for s in &services {
            if let Some(id) = &s.id {
                let _ = self.docker.delete_service(id).await;
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            let nets = self
                .docker
                .list_networks(Some(
                    ListNetworksOptionsBuilder::default()
                        .filters(&filters)
                        .build(),
                ))
                .await
                .map_err(|e| format!("listing networks: {e}"))?;
            // Removal of a network still in use fails, and a swarm network can linger after
            // its removal was accepted: what counts is that none is listed any more.
            for n in &nets {
                let _ = self
                    .docker
                    .remove_network(n.id.as_deref().unwrap_or_default())
                    .await;
            }
            let left: Vec<String> = if nets.is_empty() {
                Vec::new()
            } else {
                self.docker
                    .list_networks(Some(
                        ListNetworksOptionsBuilder::default()
                            .filters(&filters)
                            .build(),
                    ))
                    .await
                    .map_err(|e| format!("listing networks: {e}"))?
                    .into_iter()
                    .filter_map(|n| n.name)
                    .collect()
            };
            let remaining = self.stack_services(stack).await?;
            if left.is_empty() && remaining.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "stack {stack} not fully removed: networks {left:?}, services {}",
                    remaining.len()
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
