//! Why a run stops early, and how a run ends: typed values, turned into the words of
//! `summary.json` and `run.json` only when written.

use std::fmt;

use tokio::sync::watch;

/// Why the run stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Ctrl-C (SIGINT).
    Interrupted,
    /// A local service's main process went away during the run.
    ServiceExited { service: String },
    /// A phase failed: deploy, readiness, the metrics source, the load.
    Failed(String),
    /// An alert with `abort: true` fired (or a live SLO broke): the run is lost.
    Aborted {
        alert: String,
        labels: String,
        /// A live SLO (`abort_on_fail`) rather than an alert.
        slo: bool,
    },
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Interrupted => f.write_str("interrupted (SIGINT)"),
            StopReason::ServiceExited { service } => {
                write!(f, "service `{service}` exited during the run")
            }
            StopReason::Failed(why) => f.write_str(why),
            StopReason::Aborted {
                alert, slo: true, ..
            } => write!(f, "aborted: SLO `{alert}` already broken"),
            StopReason::Aborted { alert, labels, .. } => {
                write!(f, "aborted: alert `{alert}`{labels} fired")
            }
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Every SLO held.
    Passed,
    /// The run completed and an SLO did not hold.
    Failed,
    /// The run stopped early.
    Incomplete,
    /// Stopped by an alert with `abort: true`: the results so far, judged.
    Aborted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Passed => "passed",
            RunStatus::Failed => "failed",
            RunStatus::Incomplete => "incomplete",
            RunStatus::Aborted => "aborted",
        }
    }
}

/// The one stop signal every phase of a run listens to (Ctrl-C, a crashed service, a
/// failed phase). The first reason given is kept.
#[derive(Clone)]
pub struct StopSignal {
    tx: watch::Sender<Option<StopReason>>,
    /// Ctrl-C came, whether or not it was the first reason to stop.
    interrupted: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Default for StopSignal {
    fn default() -> Self {
        StopSignal {
            tx: watch::channel(None).0,
            interrupted: Default::default(),
        }
    }
}

impl StopSignal {
    /// Stops the run for `reason`, unless it is already stopping.
    pub fn stop(&self, reason: StopReason) {
        self.tx.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                true
            } else {
                false
            }
        });
    }

    /// Why the run is stopping, if it is.
    pub fn reason(&self) -> Option<StopReason> {
        self.tx.borrow().clone()
    }

    /// Completes once the run is told to stop.
    pub async fn stopped(&self) -> StopReason {
        let mut rx = self.tx.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(r) => r.clone().unwrap_or(StopReason::Interrupted),
            // The sender lives as long as `self`: this cannot happen while we wait.
            Err(_) => StopReason::Interrupted,
        }
    }

    /// Awaits `f` unless the run is told to stop first.
    pub async fn unless_stopped<T>(
        &self,
        f: impl std::future::Future<Output = T>,
    ) -> Result<T, StopReason> {
        if let Some(r) = self.reason() {
            return Err(r);
        }
        tokio::select! {
            v = f => Ok(v),
            r = self.stopped() => Err(r),
        }
    }

    /// Turns Ctrl-C into a stop for the rest of the process's life.
    pub fn on_ctrl_c(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                me.interrupted
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                me.stop(StopReason::Interrupted);
            }
        });
    }

    /// Whether Ctrl-C came at any point (a run it cut short exits 130).
    pub fn was_interrupted(&self) -> bool {
        self.interrupted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reason_wins() {
        let s = StopSignal::default();
        assert_eq!(s.reason(), None);
        s.stop(StopReason::ServiceExited {
            service: "api".into(),
        });
        s.stop(StopReason::Interrupted);
        assert_eq!(
            s.reason().map(|r| r.to_string()),
            Some("service `api` exited during the run".into())
        );
    }

    #[test]
    fn unless_stopped_returns_the_reason() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let s = StopSignal::default();
            assert_eq!(s.unless_stopped(async { 7 }).await, Ok(7));
            let t = s.clone();
            let pending = s.unless_stopped(std::future::pending::<()>());
            t.stop(StopReason::Failed("x".into()));
            assert_eq!(pending.await, Err(StopReason::Failed("x".into())));
        });
    }
}
