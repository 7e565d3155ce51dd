//! soy's top-level error, and the one mapping from errors to exit codes.

use crate::exit;
use crate::manifest::LoadError;
use crate::plan::PlanError;

/// Anything that stops a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Several manifests were checked and some were invalid (already reported).
    #[error("{0} of {1} manifests are invalid")]
    SomeInvalid(usize, usize),
    #[error("{0}")]
    Runtime(String),
    /// Wrong or missing command-line input.
    #[error("{0}")]
    Usage(String),
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Load(LoadError::Invalid(_)) | Error::SomeInvalid(..) => exit::INVALID,
            Error::Load(LoadError::Io { .. }) => exit::INVALID,
            Error::Plan(_) | Error::Usage(_) => exit::INVALID,
            Error::Runtime(_) | Error::Output(_) => exit::RUNTIME,
        }
    }
}
