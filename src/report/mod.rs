//! Reports: charts, the summary, HTML and Markdown through templates, JUnit XML.

pub mod campaign;
pub mod charts;
pub mod error;
pub mod grafana;
pub mod index;
pub mod marks;
pub mod mermaid;
pub mod page;
pub mod plots;
pub mod relations;
pub mod render;
pub mod scaling;
pub mod summary;
pub mod units;
pub mod web;

pub use error::ReportError;
