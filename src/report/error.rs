//! What can go wrong drawing charts and rendering report templates.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The chart library failed (its error type is generic over the backend, so its text is
    /// kept).
    #[error("cannot draw a chart: {0}")]
    Chart(String),
    #[error("cannot read template {}", .path.display())]
    ReadTemplate {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("template {name}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("template {name}")]
    Handlebars {
        name: String,
        #[source]
        source: handlebars::RenderError,
    },
}
