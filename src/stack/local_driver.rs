//! The `local` driver behind `StackDriver`: starts each service in order (each ready before
//! the next), samples their CPU and memory from `/proc` during the load under cAdvisor's
//! names, notices a service that dies, and stops them all at teardown.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;

use super::StackError;
use super::driver::{Background, Process, StackDriver, Watched, Watcher};
use super::local::LocalStack;
use super::ready;
use crate::analysis::series::Event;
use crate::load::Exposition;
use crate::manifest::model::{Action, LocalService};
use crate::metrics::cadvisor;
use crate::process::procfs;

pub struct Local {
    stack: String,
    services: Vec<LocalService>,
    manifest_dir: PathBuf,
    logs: PathBuf,
    /// The run's id, marking its processes.
    run: String,
    running: LocalStack,
    attempted: bool,
}

impl Local {
    pub fn new(
        stack: &str,
        services: Vec<LocalService>,
        manifest_dir: PathBuf,
        logs: PathBuf,
        run: &str,
    ) -> Local {
        Local {
            stack: stack.to_string(),
            services,
            manifest_dir,
            logs,
            run: run.to_string(),
            running: LocalStack::default(),
            attempted: false,
        }
    }
}

impl StackDriver for Local {
    type Error = StackError;

    fn name(&self) -> &'static str {
        "local"
    }

    async fn deploy(&mut self, started: &mut dyn FnMut(&[Process])) -> Result<(), StackError> {
        self.attempted = true;
        let services = self.services.clone();
        for svc in &services {
            self.running
                .start(svc, &self.manifest_dir, &self.logs, &self.run)?;
            started(&self.running.processes());
            let logs = self.logs();
            let running = &mut self.running;
            ready::wait(&svc.ready, &logs, || running.exited())
                .await
                .map_err(|source| StackError::NotReady {
                    service: svc.name.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    fn broken(&mut self) -> Option<String> {
        self.running.exited()
    }

    fn logs(&self) -> Vec<(String, PathBuf)> {
        self.running
            .services
            .iter()
            .map(|r| (r.name.clone(), r.log.clone()))
            .collect()
    }

    fn watch(&self, step: Duration) -> Option<Watcher> {
        let groups = self.running.groups();
        if groups.is_empty() {
            return None;
        }
        let exposition = Exposition::default();
        let (broke_tx, broken) = watch::channel(None);
        let (text, stack) = (exposition.clone(), self.stack.clone());
        let task = Background::spawn(move |mut done_rx| async move {
            let pids: Vec<i32> = groups.iter().map(|g| g.1).collect();
            let mut samples = Vec::new();
            let mut broke = None;
            let mut iv = tokio::time::interval(step);
            loop {
                tokio::select! {
                    _ = iv.tick() => {}
                    _ = done_rx.changed() => break,
                }
                let usage = procfs::sample_without_leaders(&pids);
                // A service whose supervisor is gone (or a zombie) has died.
                if let (None, Some(i)) = (&broke, pids.iter().position(|p| !procfs::alive(*p))) {
                    broke = Some(groups[i].0.clone());
                    let _ = broke_tx.send(broke.clone());
                }
                let now = process_samples(&groups, crate::clock::now(), &usage, &stack);
                if let Ok(mut t) = text.lock() {
                    *t = cadvisor::exposition(&now);
                }
                samples.extend(now);
            }
            Watched {
                metrics: cadvisor::results(&samples),
                events: Vec::new(),
                broke,
            }
        });
        Some(Watcher {
            exposition: Some(exposition),
            broken,
            task,
        })
    }

    fn act(&self, _: Vec<Action>) -> Option<Background<Vec<Event>>> {
        None
    }

    fn deployed(&self) -> bool {
        self.attempted
    }

    async fn teardown(&mut self, keep: bool) -> Result<(), StackError> {
        if keep {
            let pids: Vec<String> = self
                .running
                .groups()
                .iter()
                .map(|(n, pid)| format!("{n} (pid {pid})"))
                .collect();
            eprintln!(
                "soy: leaving the stack running: {}; `soy down` stops it",
                pids.join(", ")
            );
            std::mem::take(&mut self.running).detach();
        } else {
            self.running.stop();
        }
        Ok(())
    }
}

/// The local services' usage as cAdvisor-named samples.
fn process_samples(
    groups: &[(String, i32)],
    at: f64,
    usage: &[procfs::Usage],
    stack: &str,
) -> Vec<cadvisor::Sample> {
    groups
        .iter()
        .zip(usage)
        .map(|((name, _), u)| cadvisor::Sample {
            at,
            labels: cadvisor::process_labels(stack, name),
            usage: cadvisor::Usage {
                cpu_seconds: u.cpu_seconds,
                memory_bytes: u.rss_bytes as f64,
                working_set_bytes: u.rss_bytes as f64,
                rx_bytes: 0.0,
                tx_bytes: 0.0,
            },
        })
        .collect()
}
