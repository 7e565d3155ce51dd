//! What goes wrong deploying, watching and removing a stack.

use std::path::PathBuf;
use std::time::Duration;

use super::ready::ReadyError;
use crate::manifest::env::EnvError;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    // The Docker engine.
    #[error("cannot reach the Docker engine (is dockerd running?)")]
    Unreachable(#[source] bollard::errors::Error),
    #[error("the Docker engine does not answer")]
    NoAnswer(#[source] bollard::errors::Error),
    #[error(
        "this Docker engine is not part of a swarm (state `{0}`): run `docker swarm init --advertise-addr 127.0.0.1`"
    )]
    NotASwarm(String),
    /// A published port or a virtual IP that needs the kernel's IPVS, which is missing.
    #[error("{0}")]
    NeedsIpvs(String),
    #[error(
        "the image {0} is not on this Docker engine: build it with `bash scripts/build-images` (soy-locust:latest), or name another in `locust.image`"
    )]
    NoImage(String),
    #[error(
        "the image {0} is not on this Docker engine: build it with `bash scripts/build-images` (soy-demo:latest), or name another in `distributed.image`"
    )]
    NoSoyImage(String),
    #[error("the stack has no service `{0}`")]
    NoService(String),
    #[error("cannot write {}", .path.display())]
    WriteLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An Engine API call failed: what soy was doing.
    #[error("{doing}")]
    Engine {
        doing: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("{what} is not a valid Engine API object")]
    Spec {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{kind} `{key}`: cannot read {}", .path.display())]
    ReadFile {
        kind: &'static str,
        key: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "service {service} cannot converge ({running} of {desired} running, {failed} tasks failed): {reason}"
    )]
    CannotConverge {
        service: String,
        running: u64,
        desired: u64,
        failed: usize,
        /// The last task's error, a hint, and its last log lines.
        reason: String,
    },
    #[error("the stack did not converge within {within:?}: {lagging}")]
    NotConverged { within: Duration, lagging: String },
    #[error("stack {stack} not fully removed: {left}")]
    NotRemoved { stack: String, left: String },
    #[error("stack environment")]
    Env(#[source] EnvError),
    /// A swarm stack without its translated spec in the plan (a bug, reported as one).
    #[error("the plan holds no swarm stack")]
    NotPlanned,

    // Local processes.
    #[error("cannot find soy's own binary")]
    OwnBinary(#[source] std::io::Error),
    #[error("service `{service}` did not start: {reason} ({command})")]
    NoProgram {
        service: String,
        reason: String,
        command: String,
    },
    #[error("service `{service}`: env {key}")]
    ServiceEnv {
        service: String,
        key: String,
        #[source]
        source: EnvError,
    },
    #[error("service `{service}` did not start")]
    Spawn {
        service: String,
        #[source]
        source: crate::process::SpawnError,
    },
    #[error("service `{service}`")]
    NotReady {
        service: String,
        #[source]
        source: ReadyError,
    },
}

/// The error of an Engine API call made while `doing` something.
pub(super) fn engine(
    doing: impl Into<String>,
) -> impl FnOnce(bollard::errors::Error) -> StackError {
    let doing = doing.into();
    move |source| StackError::Engine { doing, source }
}

/// A JSON value that does not convert into the Engine API's type for `what`.
pub(super) fn invalid(what: impl Into<String>) -> impl FnOnce(serde_json::Error) -> StackError {
    let what = what.into();
    move |source| StackError::Spec { what, source }
}
