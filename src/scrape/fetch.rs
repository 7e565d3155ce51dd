//! Fetching a target's exposition over HTTP, with a time and a size limit per scrape.

use std::sync::Arc;
use std::time::Duration;

use crate::http::{self, Target};

/// The most a scrape may return; a larger answer is a failed scrape, not a memory spike.
pub const MAX_SCRAPE_BYTES: usize = http::http1::MAX_KEPT_BODY;

/// What `Accept` offers: OpenMetrics first, then the classic text format.
const ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";

/// Why a scrape got no exposition.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Get(#[from] http::GetError),
    #[error("HTTP {0}")]
    Status(u16),
    #[error("the answer is not UTF-8 text")]
    NotText,
}

/// GETs `target` within `timeout`; the body as text.
pub async fn get(
    target: &Target,
    tls: &Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<String, FetchError> {
    let req = http::Request {
        headers: &[("Accept", ACCEPT)],
        timeout,
        max_body: MAX_SCRAPE_BYTES,
        want_headers: false,
    };
    let resp = http::get(target, tls, &req).await?;
    if resp.status != 200 {
        return Err(FetchError::Status(resp.status));
    }
    String::from_utf8(resp.body).map_err(|_| FetchError::NotText)
}
