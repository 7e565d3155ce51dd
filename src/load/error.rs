//! What goes wrong preparing or running the load generator.

use std::path::PathBuf;

/// Why the load cannot be configured (before anything is sent).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot read trace {}", .path.display())]
    ReadTrace {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("trace {}", .path.display())]
    Trace {
        path: PathBuf,
        #[source]
        source: TraceError,
    },
    #[error("no run time: give `--run-time` or `load.run_time`")]
    NoRunTime,
    #[error("cannot read CA file {}", .path.display())]
    ReadCa {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("load.tls")]
    Tls(#[source] crate::http::TlsError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

/// Why a trace CSV cannot be read as `seconds,target` rows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TraceError {
    #[error("line {line}: time {time} does not increase")]
    NotIncreasing { line: usize, time: f64 },
    #[error("line {line}: expected `seconds,target`, found `{text}`")]
    BadRow { line: usize, text: String },
    #[error("no `seconds,target` rows")]
    Empty,
}

/// Why the load section does not compile into requests.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("load.host does not render")]
    Host(#[source] crate::manifest::template::RenderError),
    #[error("load.host")]
    HostUrl(#[source] crate::http::UrlError),
    #[error("template `{template}`")]
    Template {
        template: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("request `{0}` has a path but there is no host")]
    NoHost(String),
    #[error("extractor `{0}`")]
    Regex(String, #[source] regex::Error),
    #[error("extractor `{0}` has no source")]
    NoSource(String),
    #[error("every task has weight 0")]
    NoWeight,
}

/// Why the generator stopped before sending load.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot serve load metrics on 127.0.0.1:{port}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
}
