//! Campaigns: an experiment run many times — a sweep over a parameter matrix with
//! repetitions, or a capacity search per configuration — with one record (`campaign.json`)
//! and one report over its runs. Each run is a complete `soy apply` run of its own.

pub mod plan;
pub mod points;
pub mod record;
pub mod report;
pub mod run;
pub mod search;

use std::path::PathBuf;

use crate::manifest::diagnostic::Diagnostics;

/// Why a campaign cannot be planned, run or resumed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    #[error("{}", .0.render().trim_end())]
    Invalid(Box<Diagnostics>),
    /// One point of the campaign does not plan (its values make the manifest invalid).
    #[error("campaign point `{point}` does not plan")]
    Point {
        point: String,
        #[source]
        source: Box<crate::plan::PlanError>,
    },
    #[error("{0} has no `sweep:` or `search:`: it is one run, not a campaign")]
    NotCampaign(String),
    #[error("{} is not a campaign directory (no readable {})", .path.display(), record::FILE)]
    NotCampaignDir {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("campaign {} is already complete: every run has finished", .0.display())]
    Complete(PathBuf),
    #[error(transparent)]
    Dir(#[from] crate::run::dir::DirError),
    #[error("a campaign run failed to start")]
    Run(#[source] Box<crate::error::Error>),
}
