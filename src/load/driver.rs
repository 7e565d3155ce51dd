//! What the run needs of a load generator. soy's own engine is one `LoadDriver`; a Locust
//! driver or distributed workers are others. The run gives the driver the stack's extra
//! exposition to serve, scrapes the driver's own, and gets the final results.

use std::future::Future;

use super::engine::{self, EngineConfig, Progress};
use super::exporter::Exposition;
use super::live::Live;
use super::results::Results;
use crate::manifest::model::Workload;

/// A load generator. Awaited in place on soy's single-threaded runtime.
#[allow(async_fn_in_trait)]
pub trait LoadDriver {
    /// What stops the generator before its results are complete.
    type Error: std::error::Error + 'static;

    /// `soy`, `locust`, …
    fn name(&self) -> &'static str;

    /// The generator's own metrics as Prometheus text, kept current while it runs (scraped
    /// in-process by the embedded source, `job="soy"`).
    fn exposition(&self) -> Exposition;

    /// More text to serve beside the generator's on its metrics port (the stack's usage).
    fn serve_also(&mut self, text: Exposition);

    /// Runs the load to its end, or until `stop` completes; prints a live view each second.
    /// The results are complete either way (`Results::interrupted` says which).
    async fn run(self, stop: impl Future<Output = ()>) -> Result<Results, Self::Error>;
}

/// soy's own engine.
pub struct SoyEngine {
    cfg: EngineConfig,
    exposition: Exposition,
}

impl SoyEngine {
    pub fn new(mut cfg: EngineConfig) -> SoyEngine {
        let exposition = cfg.exposition.clone().unwrap_or_default();
        cfg.exposition = Some(exposition.clone());
        SoyEngine { cfg, exposition }
    }
}

impl LoadDriver for SoyEngine {
    type Error = super::EngineError;

    fn name(&self) -> &'static str {
        "soy"
    }

    fn exposition(&self) -> Exposition {
        self.exposition.clone()
    }

    fn serve_also(&mut self, text: Exposition) {
        self.cfg.extra_metrics = Some(text);
    }

    async fn run(self, stop: impl Future<Output = ()>) -> Result<Results, super::EngineError> {
        let live = Live::new(self.cfg.model == Workload::Open);
        let r = engine::run(self.cfg, stop, |p: &Progress| live.update(p)).await;
        live.finish();
        r
    }
}
