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
    #[error(transparent)]
    Campaign(#[from] crate::campaign::Error),
    /// `soy compare` cannot read or compare the runs it was given.
    #[error(transparent)]
    Compare(#[from] crate::compare::Error),
    /// `soy correlate` cannot read the run it was given.
    #[error(transparent)]
    Correlate(#[from] crate::run::correlation::Error),
    /// Several manifests were checked and some were invalid (already reported).
    #[error("{0} of {1} manifests are invalid")]
    SomeInvalid(usize, usize),
    #[error("cannot start the async runtime")]
    Tokio(#[source] std::io::Error),
    /// A run's files could not be written (or, for `soy down`, listed).
    #[error(transparent)]
    Write(#[from] crate::run::dir::DirError),
    /// A stored run could not be read or rendered.
    #[error(transparent)]
    Bundle(#[from] crate::run::bundle::BundleError),
    /// The Docker engine or the stack failed.
    #[error(transparent)]
    Stack(#[from] crate::stack::StackError),
    /// `soy load`'s configuration is unusable.
    #[error(transparent)]
    Setup(#[from] crate::load::SetupError),
    /// `soy load`'s generator failed.
    #[error(transparent)]
    Engine(#[from] crate::load::EngineError),
    /// Locust cannot run the locustfile (checked before anything runs).
    #[error(transparent)]
    LocustCheck(#[from] crate::load::locust::check::CheckError),
    /// SLOs or alerts a Prometheus rule file cannot express (`soy rules`).
    #[error("{}: Prometheus cannot express {}:\n{}", .file, if .problems.len() == 1 { "this rule" } else { "these rules" }, .problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Rules {
        file: String,
        problems: Vec<crate::rules::file::Inexpressible>,
    },
    /// The Locust driver failed.
    #[error(transparent)]
    Locust(#[from] crate::load::locust::DriverError),
    /// soy's workers on the swarm could not run the load.
    #[error(transparent)]
    Distributed(#[from] crate::load::distributed::DriverError),
    /// A demo service failed.
    #[error(transparent)]
    Demo(#[from] crate::demo::DemoError),
    #[error("cannot serialize the results")]
    Json(#[source] serde_json::Error),
    /// Wrong or missing command-line input.
    #[error("{0}")]
    Usage(String),
    #[error("cannot write output")]
    Output(#[source] std::io::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Load(LoadError::Invalid(_)) | Error::SomeInvalid(..) => exit::INVALID,
            Error::Load(LoadError::Io { .. }) => exit::INVALID,
            Error::Campaign(e) => match e {
                crate::campaign::Error::Dir(_) | crate::campaign::Error::Run(_) => exit::RUNTIME,
                _ => exit::INVALID,
            },
            Error::Plan(_)
            | Error::Compare(_)
            | Error::Correlate(_)
            | Error::Usage(_)
            | Error::Bundle(_)
            | Error::Setup(_)
            | Error::LocustCheck(_)
            | Error::Rules { .. } => exit::INVALID,
            Error::Tokio(_)
            | Error::Write(_)
            | Error::Stack(_)
            | Error::Engine(_)
            | Error::Locust(_)
            | Error::Distributed(_)
            | Error::Demo(_)
            | Error::Json(_)
            | Error::Output(_) => exit::RUNTIME,
        }
    }
}

/// An error and its causes on one line, `outer: cause: root cause`, for texts that are
/// stored (`summary.json`, events, warnings) rather than printed as a `caused by:` chain.
/// An error with a `#[source]` does not repeat its source's text in its own message, so
/// each link appears once.
pub fn flatten(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
