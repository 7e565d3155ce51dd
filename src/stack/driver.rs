//! What the run needs of a stack, whatever drives it: `local` processes, a `swarm` stack, or
//! an `external` target. A new driver implements `StackDriver`; the run's phases call only
//! these methods.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;

use crate::analysis::series::Event;
use crate::analysis::series::QueryResult;
use crate::load::Exposition;
use crate::manifest::model::Action;

/// A local process soy started, as recorded in the run's state (to clean up after a kill).
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    pub name: String,
    pub pgid: i32,
    /// The leader's start time (`/proc/<pid>/stat`).
    pub started: u64,
}

/// What a stack's watcher gathered during the load.
#[derive(Debug, Clone, Default)]
pub struct Watched {
    /// Usage series under cAdvisor's names, replicas, …
    pub metrics: Vec<QueryResult>,
    /// Task failures and other things that happened to the stack.
    pub events: Vec<Event>,
    /// Set when the stack broke during the load (a local service exited).
    pub broke: Option<String>,
}

/// How long a background task may take to finish once told to.
pub const FINISH_WITHIN: Duration = Duration::from_secs(60);

/// A background task that runs until told to finish and hands its data back through its
/// join handle.
pub struct Background<T> {
    done: watch::Sender<bool>,
    task: tokio::task::JoinHandle<T>,
}

impl<T: Default + Send + 'static> Background<T> {
    /// Spawns `f`, which is given the receiver that says when to finish.
    pub fn spawn<F>(f: impl FnOnce(watch::Receiver<bool>) -> F) -> Background<T>
    where
        F: std::future::Future<Output = T> + Send + 'static,
    {
        let (done, rx) = watch::channel(false);
        Background {
            done,
            task: tokio::spawn(f(rx)),
        }
    }

    /// Tells the task to finish and returns what it gathered. A task that does not finish
    /// within `FINISH_WITHIN` (an engine call that hangs) is abandoned, with a warning, so a
    /// run always reaches its collect and teardown phases.
    pub async fn finish(self) -> T {
        let _ = self.done.send(true);
        let mut task = self.task;
        match tokio::time::timeout(FINISH_WITHIN, &mut task).await {
            Ok(r) => r.unwrap_or_default(),
            Err(_) => {
                task.abort();
                eprintln!(
                    "soy: a background task did not finish within {}s; its data is lost",
                    FINISH_WITHIN.as_secs()
                );
                T::default()
            }
        }
    }
}

/// Watching the stack during the load.
pub struct Watcher {
    /// The stack's latest usage as Prometheus text (scraped in-process, served on the load's
    /// metrics port), when the driver has any.
    pub exposition: Option<Exposition>,
    /// The name of a service that died while the load runs.
    pub broken: watch::Receiver<Option<String>>,
    pub task: Background<Watched>,
}

/// A stack driver. The futures are awaited in place on soy's single-threaded runtime, never
/// spawned, so they need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait StackDriver {
    /// What goes wrong deploying or removing the stack; the run stores its whole chain.
    type Error: std::error::Error + 'static;

    /// `local`, `swarm`, `external`.
    fn name(&self) -> &'static str;

    /// Brings the stack up; `started` is told of each local process as it starts, so the
    /// run's state is on disk before anything can go wrong.
    async fn deploy(&mut self, started: &mut dyn FnMut(&[Process])) -> Result<(), Self::Error>;

    /// Whether the stack broke (a service exited), asked between readiness attempts.
    fn broken(&mut self) -> Option<String>;

    /// Log files per service, for log readiness checks.
    fn logs(&self) -> Vec<(String, PathBuf)>;

    /// Starts watching the stack during the load, sampling every `step`.
    fn watch(&self, step: Duration) -> Option<Watcher>;

    /// Runs timed actions (`actions:`) from now on; the task returns what became of them.
    fn act(&self, actions: Vec<Action>) -> Option<Background<Vec<Event>>>;

    /// Whether anything was (or may have been) deployed, so there is a teardown to run.
    fn deployed(&self) -> bool;

    /// A handle that scales the stack's services while it runs (`autoscale:`); swarm only.
    fn scaler(&self) -> Option<Scaler> {
        None
    }

    /// Takes the stack down, or leaves it running when `keep` (and says how to remove it).
    async fn teardown(&mut self, keep: bool) -> Result<(), Self::Error>;
}

/// Scales one stack's swarm services: their replicas (running, healthy, desired) and a new
/// replica count.
#[derive(Clone)]
pub struct Scaler {
    pub(super) sw: super::swarm::Swarm,
    pub(super) stack: String,
}

impl Scaler {
    /// The replicas of `service` (`<stack>_<name>`).
    pub async fn replicas(
        &self,
        service: &str,
    ) -> Result<super::swarm::Replicas, super::StackError> {
        self.sw
            .replicas(&self.stack)
            .await?
            .into_iter()
            .find(|r| r.service == service)
            .ok_or_else(|| super::StackError::NoService(service.to_string()))
    }

    /// Sets the replicas of `service`, as `docker service scale`.
    pub async fn scale(&self, service: &str, replicas: u32) -> Result<(), super::StackError> {
        self.sw.scale(service, replicas).await
    }
}

/// A target that already runs elsewhere: nothing to deploy, watch or remove.
pub struct External;

impl StackDriver for External {
    type Error = std::convert::Infallible;
    fn name(&self) -> &'static str {
        "external"
    }
    async fn deploy(&mut self, _: &mut dyn FnMut(&[Process])) -> Result<(), Self::Error> {
        Ok(())
    }
    fn broken(&mut self) -> Option<String> {
        None
    }
    fn logs(&self) -> Vec<(String, PathBuf)> {
        Vec::new()
    }
    fn watch(&self, _: Duration) -> Option<Watcher> {
        None
    }
    fn act(&self, _: Vec<Action>) -> Option<Background<Vec<Event>>> {
        None
    }
    fn deployed(&self) -> bool {
        false
    }
    async fn teardown(&mut self, _: bool) -> Result<(), Self::Error> {
        Ok(())
    }
}
