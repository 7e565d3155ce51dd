//! The `swarm` driver behind `StackDriver`: deploys the plan's Engine API spec, waits for
//! convergence, watches replicas, container usage and task failures during the load, runs
//! timed actions (scale, restart), and removes the stack's namespace at teardown.

use std::path::PathBuf;
use std::time::Duration;

use super::StackError;
use super::driver::{Background, Process, StackDriver, Watcher};
use super::swarm::Swarm;
use super::swarm_spec::StackSpec;
use crate::analysis::series::Event;
use crate::manifest::model::Action;

pub struct SwarmDriver {
    spec: StackSpec,
    converge_within: Duration,
    sw: Option<Swarm>,
}

impl SwarmDriver {
    /// `spec` as the plan resolved it; `${env:NAME}` in environment values are resolved
    /// here, at the point of use.
    pub fn new(spec: &StackSpec, converge_within: Duration) -> Result<SwarmDriver, StackError> {
        let mut spec = spec.clone();
        for e in spec.env_entries_mut() {
            if let Some(text) = e.as_str().filter(|t| t.contains("${env:")) {
                let resolved =
                    crate::manifest::env::resolve_from_process(text).map_err(StackError::Env)?;
                *e = serde_json::Value::String(resolved);
            }
        }
        Ok(SwarmDriver {
            spec,
            converge_within,
            sw: None,
        })
    }
}

impl StackDriver for SwarmDriver {
    type Error = StackError;

    fn name(&self) -> &'static str {
        "swarm"
    }

    async fn deploy(&mut self, _: &mut dyn FnMut(&[Process])) -> Result<(), StackError> {
        let stack = self.spec.stack.clone();
        Swarm::check_ingress(&self.spec)?;
        let sw = Swarm::connect().await?;
        // Known before anything is created: a deploy cut short by Ctrl-C still has a
        // teardown (removal by namespace, safe whatever was created).
        self.sw = Some(sw.clone());
        let deployed = match sw.deploy(&self.spec).await {
            Ok(()) => sw.converge(&stack, self.converge_within).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = deployed {
            // A failed deploy cleans up after itself, and there is nothing left to tear down.
            let _ = sw.remove(&stack, Duration::from_secs(60)).await;
            self.sw = None;
            return Err(e);
        }
        Ok(())
    }

    fn broken(&mut self) -> Option<String> {
        None
    }

    fn logs(&self) -> Vec<(String, PathBuf)> {
        Vec::new()
    }

    fn watch(&self, step: Duration) -> Option<Watcher> {
        let sw = self.sw.clone()?;
        Some(super::swarm_watch::spawn(sw, self.spec.stack.clone(), step))
    }

    fn act(&self, actions: Vec<Action>) -> Option<Background<Vec<Event>>> {
        let sw = self.sw.clone()?;
        if actions.is_empty() {
            return None;
        }
        let stack = self.spec.stack.clone();
        let start = tokio::time::Instant::now();
        Some(Background::spawn(move |mut done| async move {
            let mut actions = actions;
            actions.sort_by_key(|a| a.at);
            let mut events = Vec::new();
            for a in actions {
                tokio::select! {
                    _ = tokio::time::sleep_until(start + a.at.0) => {}
                    _ = done.changed() => break,
                }
                let svc = format!("{stack}_{}", a.service().unwrap_or_default());
                let r = match (&a.scale, &a.restart) {
                    (Some(s), _) => sw.scale(&svc, s.replicas).await,
                    _ => sw.restart(&svc).await,
                };
                let error = r.err().map(|e| crate::error::flatten(&e));
                eprintln!(
                    "soy: action at {}: {}{}",
                    a.at,
                    a.describe(),
                    error
                        .as_ref()
                        .map_or(String::new(), |e| format!(" failed: {e}"))
                );
                events.push(Event {
                    at: a.at.as_secs_f64(),
                    what: a.describe(),
                    error,
                    kind: crate::analysis::series::EventKind::Action,
                });
            }
            events
        }))
    }

    fn deployed(&self) -> bool {
        self.sw.is_some()
    }

    fn scaler(&self) -> Option<super::driver::Scaler> {
        Some(super::driver::Scaler {
            sw: self.sw.clone()?,
            stack: self.spec.stack.clone(),
        })
    }

    async fn teardown(&mut self, keep: bool) -> Result<(), StackError> {
        let Some(sw) = self.sw.take() else {
            return Ok(());
        };
        let stack = &self.spec.stack;
        if keep {
            eprintln!("soy: leaving stack {stack} running; `soy down --stack {stack}` removes it");
            return Ok(());
        }
        sw.remove(stack, Duration::from_secs(120)).await
    }
}
