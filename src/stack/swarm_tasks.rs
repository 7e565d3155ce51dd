//! Services run beside a stack for one phase (Locust's master and workers): the node soy
//! runs on, the states of a service's tasks, a signal to a task's container, its logs, and
//! the service's removal.

use std::path::Path;

use bollard::query_parameters::{KillContainerOptionsBuilder, LogsOptionsBuilder};
use futures_util::StreamExt;
use serde_json::Value;

use super::StackError;
use super::error::engine;
use super::swarm::Swarm;

/// One task of a service, as the Engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskState {
    /// `new` … `running`, then `complete`, `failed`, `shutdown`, `rejected`, `orphaned`.
    pub state: String,
    /// The state the orchestrator wants (`running`, or `shutdown` once removed).
    pub desired: String,
    pub slot: Option<u64>,
    pub container: Option<String>,
    pub exit_code: Option<i64>,
    /// The Engine's error for a failed or rejected task.
    pub err: Option<String>,
}

impl TaskState {
    /// Whether the task has ended (it will not run again: restart policy `none`).
    pub fn ended(&self) -> bool {
        matches!(
            self.state.as_str(),
            "complete" | "failed" | "shutdown" | "rejected" | "orphaned" | "remove"
        )
    }
}

impl Swarm {
    /// The swarm node the engine soy talks to is.
    pub async fn node_id(&self) -> Result<String, StackError> {
        let info = self.docker.info().await.map_err(StackError::NoAnswer)?;
        Ok(info
            .swarm
            .and_then(|s| s.node_id)
            .filter(|id| !id.is_empty())
            .unwrap_or_default())
    }

    /// Whether the engine has the image.
    pub async fn image_exists(&self, image: &str) -> bool {
        self.docker.inspect_image(image).await.is_ok()
    }

    /// A label of a local image, if the image has it.
    pub async fn image_label(&self, image: &str, key: &str) -> Option<String> {
        let i = self.docker.inspect_image(image).await.ok()?;
        i.config?.labels?.remove(key)
    }

    /// The tasks of a service, oldest first.
    pub async fn task_states(&self, service: &str) -> Result<Vec<TaskState>, StackError> {
        let mut tasks = self.tasks(service).await?;
        tasks.sort_by_key(|t| t["CreatedAt"].as_str().unwrap_or_default().to_string());
        let text = |t: &Value, p: &str| t.pointer(p).and_then(Value::as_str).map(str::to_string);
        Ok(tasks
            .iter()
            .map(|t| TaskState {
                state: text(t, "/Status/State").unwrap_or_default(),
                desired: text(t, "/DesiredState").unwrap_or_default(),
                slot: t["Slot"].as_u64(),
                container: text(t, "/Status/ContainerStatus/ContainerID"),
                exit_code: t
                    .pointer("/Status/ContainerStatus/ExitCode")
                    .and_then(Value::as_i64),
                err: text(t, "/Status/Err"),
            })
            .collect())
    }

    /// Sends `signal` (`SIGTERM`, `SIGKILL`) to a container on this node.
    pub async fn signal_container(&self, id: &str, signal: &str) -> Result<(), StackError> {
        self.docker
            .kill_container(
                id,
                Some(
                    KillContainerOptionsBuilder::default()
                        .signal(signal)
                        .build(),
                ),
            )
            .await
            .map_err(engine(format!("sending {signal} to container {id}")))
    }

    /// Writes a container's stdout and stderr, as `docker logs` shows them, to `path`.
    pub async fn write_logs(&self, id: &str, path: &Path) -> Result<(), StackError> {
        let mut stream = self.docker.logs(
            id,
            Some(
                LogsOptionsBuilder::default()
                    .stdout(true)
                    .stderr(true)
                    .build(),
            ),
        );
        let mut text = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(engine(format!("reading the logs of container {id}")))?;
            text.extend_from_slice(&chunk.into_bytes());
        }
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(path, text).map_err(|source| StackError::WriteLog {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Keeps the output of services run beside a stack for one phase: the first task of
    /// `main` in `main_log`, each task of `workers` in `dir/<prefix>-<slot>.log`. A log that
    /// cannot be kept is said (`what` names them) and the others are still written.
    pub async fn keep_logs(
        &self,
        main: (&str, &Path),
        workers: (&str, &str),
        dir: &Path,
        what: &str,
    ) {
        let mut keep: Vec<(String, std::path::PathBuf)> = Vec::new();
        let first = self
            .task_states(main.0)
            .await
            .ok()
            .and_then(|mut t| t.pop());
        if let Some(id) = first.and_then(|t| t.container) {
            keep.push((id, main.1.to_path_buf()));
        }
        let tasks = self.task_states(workers.0).await.unwrap_or_default();
        for (i, t) in tasks.into_iter().enumerate() {
            if let Some(id) = t.container {
                let n = t.slot.unwrap_or(i as u64 + 1);
                keep.push((id, dir.join(format!("{}-{n}.log", workers.1))));
            }
        }
        for (id, path) in keep {
            if let Err(e) = self.write_logs(&id, &path).await {
                eprintln!("soy: cannot keep {what}: {}", crate::error::flatten(&e));
            }
        }
    }

    /// Removes one service (its tasks are stopped by the Engine).
    pub async fn remove_service(&self, name: &str) -> Result<(), StackError> {
        self.docker
            .delete_service(name)
            .await
            .map_err(engine(format!("removing service {name}")))
    }
}
