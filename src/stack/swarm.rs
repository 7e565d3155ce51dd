//! The `swarm` stack driver on the Docker Engine API (bollard): create or update a stack's
//! networks and services, wait until every service runs its desired replicas (reporting task
//! errors instead of waiting forever), count replicas, and remove everything in the stack's
//! namespace — nothing outside it is ever touched.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bollard::Docker;
use bollard::models::{ConfigSpec, NetworkCreateRequest, SecretSpec, ServiceSpec};
use bollard::query_parameters::{
    InspectContainerOptions, InspectServiceOptions, ListConfigsOptionsBuilder,
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListSecretsOptionsBuilder,
    ListServicesOptionsBuilder, ListTasksOptionsBuilder, LogsOptionsBuilder, StatsOptionsBuilder,
    UpdateServiceOptionsBuilder,
};
use futures_util::StreamExt;
use serde_json::Value;

use super::StackError;
use super::error::{engine, invalid};
use super::swarm_spec::{FileKind, NAMESPACE, StackSpec};
use crate::metrics::cadvisor;

/// A connection to a swarm manager.
#[derive(Clone)]
pub struct Swarm {
    pub(super) docker: Docker,
}

/// Running and desired replicas of one service.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Replicas {
    pub service: String,
    pub running: u64,
    /// Running and, for a service with a healthcheck, healthy.
    pub ready: u64,
    pub desired: u64,
}

impl Swarm {
    /// Connects to the local engine and checks it is a swarm manager.
    pub async fn connect() -> Result<Swarm, StackError> {
        let Swarm { docker } = Swarm::connect_engine().await?;
        let info = docker.info().await.map_err(StackError::NoAnswer)?;
        let state = info
            .swarm
            .as_ref()
            .and_then(|s| s.local_node_state.as_ref())
            .map(|s| s.to_string())
            .unwrap_or_default();
        if state != "active" {
            return Err(StackError::NotASwarm(state));
        }
        Ok(Swarm { docker })
    }

    /// Connects to the local engine (`DOCKER_HOST` or its socket), swarm or not.
    pub async fn connect_engine() -> Result<Swarm, StackError> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(StackError::Unreachable)?
            .negotiate_version()
            .await
            .map_err(StackError::Unreachable)?;
        Ok(Swarm { docker })
    }

    /// Ports published through the ingress routing mesh need IPVS in the kernel; say so with
    /// the fix rather than letting the service hang without its port.
    pub fn check_ingress(spec: &StackSpec) -> Result<(), StackError> {
        let ipvs = std::path::Path::new("/proc/net/ip_vs").exists();
        for svc in &spec.services {
            if !ipvs && svc.pointer("/EndpointSpec/Mode").and_then(Value::as_str) == Some("vip") {
                return Err(StackError::NeedsIpvs(format!(
                    "{} would be reached through a virtual IP, which needs the kernel's IPVS (missing here: no /proc/net/ip_vs); add `deploy: {{endpoint_mode: dnsrr}}` to it in the stack file",
                    svc["Name"].as_str().unwrap_or("a service")
                )));
            }
            for p in svc
                .pointer("/EndpointSpec/Ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if p["PublishMode"] == "ingress" && !ipvs {
                    return Err(StackError::NeedsIpvs(format!(
                        "{} publishes port {} through the ingress routing mesh, which needs the kernel's IPVS (missing here: no /proc/net/ip_vs); publish it with `mode: host` in the stack file",
                        svc["Name"].as_str().unwrap_or("a service"),
                        p["PublishedPort"]
                    )));
                }
            }
        }
        Ok(())
    }

    /// Creates missing networks and creates or updates every service, as `docker stack deploy`.
    pub async fn deploy(&self, spec: &StackSpec) -> Result<(), StackError> {
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
                .map_err(engine("listing networks"))?;
            if existing
                .iter()
                .any(|n| n.name.as_deref() == Some(name.as_str()))
            {
                continue;
            }
            let req: NetworkCreateRequest =
                serde_json::from_value(net.clone()).map_err(invalid(format!("network {name}")))?;
            self.docker
                .create_network(req)
                .await
                .map_err(engine(format!("creating network {name}")))?;
        }
        let ids = self.create_files(spec).await?;
        for svc in &spec.services {
            let name = svc["Name"].as_str().unwrap_or_default().to_string();
            let mut svc = svc.clone();
            for (list, id_key, name_key) in [
                ("Configs", "ConfigID", "ConfigName"),
                ("Secrets", "SecretID", "SecretName"),
            ] {
                let refs = svc
                    .pointer_mut(&format!("/TaskTemplate/ContainerSpec/{list}"))
                    .and_then(Value::as_array_mut);
                for r in refs.into_iter().flatten() {
                    let key = r[id_key].as_str().unwrap_or_default().to_string();
                    if let Some((id, full)) = ids.get(&key) {
                        r[id_key] = Value::from(id.clone());
                        r[name_key] = Value::from(full.clone());
                    }
                }
            }
            let body: ServiceSpec =
                serde_json::from_value(svc).map_err(invalid(format!("service {name}")))?;
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
                        .map_err(engine(format!("updating service {name}")))?;
                }
                Err(_) => {
                    self.docker
                        .create_service(body, None)
                        .await
                        .map_err(engine(format!("creating service {name}")))?;
                }
            }
        }
        Ok(())
    }

    /// Creates each config and secret from its file, named `<stack>_<key>-<digest>`: swarm
    /// objects are immutable, so changed content gets a new object and an update points the
    /// service at it. Returns `<stack>_<key>` → (ID, full name).
    async fn create_files(
        &self,
        spec: &StackSpec,
    ) -> Result<HashMap<String, (String, String)>, StackError> {
        let mut ids = HashMap::new();
        for f in &spec.files {
            let data = std::fs::read(&f.path).map_err(|source| StackError::ReadFile {
                kind: kind_word(f.kind),
                key: f.key.clone(),
                path: f.path.clone(),
                source,
            })?;
            let full = format!("{}-{:016x}", f.name, fnv1a(&data));
            let labels = HashMap::from([(NAMESPACE.to_string(), spec.stack.clone())]);
            let filters: HashMap<&str, Vec<&str>> = HashMap::from([("name", vec![full.as_str()])]);
            let body = serde_json::json!({
                "Name": full,
                "Labels": labels,
                "Data": base64::engine::general_purpose::STANDARD.encode(&data),
            });
            let id = match f.kind {
                FileKind::Config => {
                    let found = self
                        .docker
                        .list_configs(Some(
                            ListConfigsOptionsBuilder::default()
                                .filters(&filters)
                                .build(),
                        ))
                        .await
                        .map_err(engine("listing configs"))?
                        .into_iter()
                        .find(|c| {
                            c.spec.as_ref().and_then(|s| s.name.as_deref()) == Some(full.as_str())
                        })
                        .and_then(|c| c.id);
                    match found {
                        Some(id) => id,
                        None => {
                            let spec: ConfigSpec = serde_json::from_value(body)
                                .map_err(invalid(format!("{} {full}", kind_word(f.kind))))?;
                            self.docker
                                .create_config(spec)
                                .await
                                .map_err(engine(format!("creating config {full}")))?
                                .id
                        }
                    }
                }
                FileKind::Secret => {
                    let found = self
                        .docker
                        .list_secrets(Some(
                            ListSecretsOptionsBuilder::default()
                                .filters(&filters)
                                .build(),
                        ))
                        .await
                        .map_err(engine("listing secrets"))?
                        .into_iter()
                        .find(|c| {
                            c.spec.as_ref().and_then(|s| s.name.as_deref()) == Some(full.as_str())
                        })
                        .and_then(|c| c.id);
                    match found {
                        Some(id) => id,
                        None => {
                            let spec: SecretSpec = serde_json::from_value(body)
                                .map_err(invalid(format!("{} {full}", kind_word(f.kind))))?;
                            self.docker
                                .create_secret(spec)
                                .await
                                .map_err(engine(format!("creating secret {full}")))?
                                .id
                        }
                    }
                }
            };
            ids.insert(f.name.clone(), (id, full));
        }
        Ok(ids)
    }

    /// Sets a service's replicas, as `docker service scale`.
    pub async fn scale(&self, name: &str, replicas: u32) -> Result<(), StackError> {
        self.modify(name, |spec| {
            spec["Mode"] = serde_json::json!({"Replicated": {"Replicas": replicas}});
        })
        .await
    }

    /// Restarts a service's tasks, as `docker service update --force`.
    pub async fn restart(&self, name: &str) -> Result<(), StackError> {
        self.modify(name, |spec| {
            let n = spec
                .pointer("/TaskTemplate/ForceUpdate")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            spec["TaskTemplate"]["ForceUpdate"] = serde_json::json!(n + 1);
        })
        .await
    }

    async fn modify(&self, name: &str, change: impl FnOnce(&mut Value)) -> Result<(), StackError> {
        let current = self
            .docker
            .inspect_service(name, None::<InspectServiceOptions>)
            .await
            .map_err(engine(format!("service {name}")))?;
        let version = current.version.and_then(|v| v.index).unwrap_or(0);
        let mut spec =
            serde_json::to_value(&current.spec).map_err(invalid(format!("service {name}")))?;
        change(&mut spec);
        let body: ServiceSpec =
            serde_json::from_value(spec).map_err(invalid(format!("service {name}")))?;
        let opts = UpdateServiceOptionsBuilder::default()
            .version(version as i32)
            .build();
        self.docker
            .update_service(name, body, opts, None)
            .await
            .map(|_| ())
            .map_err(engine(format!("updating service {name}")))
    }

    /// The services labelled with the stack's namespace.
    async fn stack_services(
        &self,
        stack: &str,
    ) -> Result<Vec<bollard::models::Service>, StackError> {
        let label = format!("{NAMESPACE}={stack}");
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec![label.as_str()])]);
        self.docker
            .list_services(Some(
                ListServicesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(engine("listing services"))
    }

    /// The stack's services by their short names (without the `<stack>_` prefix), each with
    /// the first network it is attached to (for load workers that must reach it).
    pub async fn service_networks(&self, stack: &str) -> Result<Vec<(String, String)>, StackError> {
        let prefix = format!("{stack}_");
        Ok(self
            .stack_services(stack)
            .await?
            .into_iter()
            .filter_map(|s| {
                let spec = serde_json::to_value(&s.spec).ok()?;
                let name = spec["Name"].as_str()?;
                let net = spec.pointer("/TaskTemplate/Networks/0/Target")?.as_str()?;
                Some((
                    name.strip_prefix(&prefix).unwrap_or(name).to_string(),
                    net.to_string(),
                ))
            })
            .collect())
    }

    /// Services of the stack with their running and desired replicas.
    pub async fn replicas(&self, stack: &str) -> Result<Vec<Replicas>, StackError> {
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
            let running: Vec<&Value> = tasks
                .iter()
                .filter(|t| t.pointer("/Status/State").and_then(Value::as_str) == Some("running"))
                .collect();
            let checked = spec
                .pointer("/TaskTemplate/ContainerSpec/HealthCheck/Test/0")
                .and_then(Value::as_str)
                .is_some_and(|t| t != "NONE");
            let mut ready = running.len() as u64;
            if checked {
                ready = 0;
                for t in &running {
                    if self.healthy(t).await {
                        ready += 1;
                    }
                }
            }
            out.push(Replicas {
                service: name,
                running: running.len() as u64,
                ready,
                desired,
            });
        }
        out.sort_by(|a, b| a.service.cmp(&b.service));
        Ok(out)
    }

    /// Whether a task's container reports itself healthy.
    async fn healthy(&self, task: &Value) -> bool {
        let Some(id) = task
            .pointer("/Status/ContainerStatus/ContainerID")
            .and_then(Value::as_str)
        else {
            return false;
        };
        self.docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .ok()
            .and_then(|c| c.state?.health?.status)
            .is_some_and(|s| s.to_string() == "healthy")
    }

    pub(super) async fn tasks(&self, service: &str) -> Result<Vec<Value>, StackError> {
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([("service", vec![service])]);
        let tasks = self
            .docker
            .list_tasks(Some(
                ListTasksOptionsBuilder::default().filters(&filters).build(),
            ))
            .await
            .map_err(engine(format!("listing tasks of {service}")))?;
        Ok(tasks
            .iter()
            .filter_map(|t| serde_json::to_value(t).ok())
            .collect())
    }

    /// Waits until every service runs its desired replicas; a service whose tasks keep failing
    /// is reported with its task errors instead of being waited on until the timeout.
    pub async fn converge(&self, stack: &str, timeout: Duration) -> Result<Duration, StackError> {
        let start = Instant::now();
        // Converged means every service at its replicas for SETTLE: a task that crashes right
        // after starting is seen running for a moment.
        const SETTLE: Duration = Duration::from_secs(2);
        let mut since: Option<Instant> = None;
        loop {
            let reps = self.replicas(stack).await?;
            if !reps.is_empty() && reps.iter().all(|r| r.ready >= r.desired) {
                let t = *since.get_or_insert_with(Instant::now);
                if t.elapsed() >= SETTLE {
                    return Ok(start.elapsed());
                }
            } else {
                since = None;
            }
            for r in reps.iter().filter(|r| r.ready < r.desired) {
                let tasks = self.tasks(&r.service).await?;
                let mut failed: Vec<&Value> = tasks
                    .iter()
                    .filter(|t| {
                        matches!(
                            t.pointer("/Status/State").and_then(Value::as_str),
                            Some("failed" | "rejected")
                        )
                    })
                    .collect();
                failed.sort_by_key(|t| t["UpdatedAt"].as_str().unwrap_or_default().to_string());
                if failed.len() >= 3 || (start.elapsed() >= timeout && !failed.is_empty()) {
                    let last = failed.last().copied().unwrap_or(&Value::Null);
                    let err = last
                        .pointer("/Status/Err")
                        .and_then(Value::as_str)
                        .unwrap_or("failed");
                    let hint = if err.contains("address already in use") {
                        "; a port it publishes is taken by another process on this host: free it or change `published:` in the stack file"
                    } else {
                        ""
                    };
                    let logs = match self.last_log_lines(last, 5).await {
                        Some(l) => format!("; its last log lines:\n{l}"),
                        None => String::new(),
                    };
                    return Err(StackError::CannotConverge {
                        service: r.service.clone(),
                        running: r.running,
                        desired: r.desired,
                        failed: failed.len(),
                        reason: format!("{err}{hint}{logs}"),
                    });
                }
            }
            if start.elapsed() >= timeout {
                let lagging: Vec<String> = reps
                    .iter()
                    .filter(|r| r.ready < r.desired)
                    .map(|r| {
                        if r.running > r.ready {
                            format!(
                                "{} {}/{} ({} running but not healthy yet)",
                                r.service,
                                r.ready,
                                r.desired,
                                r.running - r.ready
                            )
                        } else {
                            format!("{} {}/{}", r.service, r.running, r.desired)
                        }
                    })
                    .collect();
                return Err(StackError::NotConverged {
                    within: timeout,
                    lagging: lagging.join(", "),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// One usage sample of every running container of the stack (of the engine without a
    /// stack), labelled as cAdvisor labels it. A container that stops between listing and sampling is skipped.
    pub async fn container_samples(
        &self,
        stack: Option<&str>,
    ) -> Result<Vec<cadvisor::Sample>, StackError> {
        let label = stack.map(|s| format!("{NAMESPACE}={s}"));
        let filters: HashMap<&str, Vec<&str>> =
            label.iter().map(|l| ("label", vec![l.as_str()])).collect();
        let containers = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(engine("listing containers"))?;
        // Sampled concurrently: the Engine may take up to a second per answer.
        let mut set = tokio::task::JoinSet::new();
        for c in containers {
            let Some(id) = c.id.clone() else { continue };
            let docker = self.docker.clone();
            set.spawn(async move {
                let mut stream = docker.stats(
                    &id,
                    Some(
                        StatsOptionsBuilder::default()
                            .stream(false)
                            .one_shot(true)
                            .build(),
                    ),
                );
                let Some(Ok(stats)) = stream.next().await else {
                    return None;
                };
                let at = crate::clock::now();
                let usage = cadvisor::usage(&serde_json::to_value(&stats).ok()?)?;
                let container = cadvisor::Container {
                    id,
                    name: c
                        .names
                        .as_ref()
                        .and_then(|n| n.first().cloned())
                        .unwrap_or_default(),
                    image: c.image.clone().unwrap_or_default(),
                    labels: c.labels.clone().unwrap_or_default().into_iter().collect(),
                };
                Some(cadvisor::Sample {
                    at,
                    labels: cadvisor::labels(&container),
                    usage,
                })
            });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Ok(Some(s)) = r {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The tasks of the stack that failed or were rejected: `(task id, service, error)`.
    pub async fn failed_tasks(
        &self,
        stack: &str,
    ) -> Result<Vec<(String, String, String)>, StackError> {
        let mut out = Vec::new();
        for s in self.stack_services(stack).await? {
            let name = s.spec.and_then(|sp| sp.name).unwrap_or_default();
            for t in self.tasks(&name).await? {
                if matches!(
                    t.pointer("/Status/State").and_then(Value::as_str),
                    Some("failed" | "rejected")
                ) {
                    out.push((
                        t["ID"].as_str().unwrap_or_default().to_string(),
                        name.clone(),
                        t.pointer("/Status/Err")
                            .and_then(Value::as_str)
                            .unwrap_or("failed")
                            .to_string(),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The last lines a task's container wrote (stdout and stderr), for crash reports.
    async fn last_log_lines(&self, task: &Value, lines: usize) -> Option<String> {
        let id = task
            .pointer("/Status/ContainerStatus/ContainerID")
            .and_then(Value::as_str)?;
        let mut stream = self.docker.logs(
            id,
            Some(
                LogsOptionsBuilder::default()
                    .stdout(true)
                    .stderr(true)
                    .tail(&lines.to_string())
                    .build(),
            ),
        );
        let mut text = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&chunk.to_string());
        }
        let text = text.trim().to_string();
        (!text.is_empty()).then_some(text)
    }

    /// Removes the stack's services, waits for their containers to go, then removes its
    /// networks. Only objects labelled with the stack's namespace are touched.
    pub async fn remove(&self, stack: &str, timeout: Duration) -> Result<(), StackError> {
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
                .map_err(engine("listing networks"))?;
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
                    .map_err(engine("listing networks"))?
                    .into_iter()
                    .filter_map(|n| n.name)
                    .collect()
            };
            let remaining = self.stack_services(stack).await?;
            let files = if remaining.is_empty() {
                self.remove_files(&filters).await?
            } else {
                usize::MAX
            };
            if left.is_empty() && remaining.is_empty() && files == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StackError::NotRemoved {
                    stack: stack.to_string(),
                    left: format!(
                        "networks {left:?}, services {}, configs and secrets {}",
                        remaining.len(),
                        if files == usize::MAX {
                            "not tried".into()
                        } else {
                            files.to_string()
                        }
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Removes the configs and secrets matching `filters`; returns how many are left.
    async fn remove_files(&self, filters: &HashMap<&str, Vec<&str>>) -> Result<usize, StackError> {
        let configs = self
            .docker
            .list_configs(Some(
                ListConfigsOptionsBuilder::default()
                    .filters(filters)
                    .build(),
            ))
            .await
            .map_err(engine("listing configs"))?;
        let secrets = self
            .docker
            .list_secrets(Some(
                ListSecretsOptionsBuilder::default()
                    .filters(filters)
                    .build(),
            ))
            .await
            .map_err(engine("listing secrets"))?;
        let mut left = 0;
        for id in configs.iter().filter_map(|c| c.id.as_deref()) {
            left += usize::from(self.docker.delete_config(id).await.is_err());
        }
        for id in secrets.iter().filter_map(|c| c.id.as_deref()) {
            left += usize::from(self.docker.delete_secret(id).await.is_err());
        }
        Ok(left)
    }
}

fn kind_word(k: FileKind) -> &'static str {
    match k {
        FileKind::Config => "config",
        FileKind::Secret => "secret",
    }
}

/// FNV-1a: a short, stable digest of a config's content for its name.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
