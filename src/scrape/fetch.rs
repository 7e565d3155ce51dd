//! Fetching a target's exposition over HTTP, with a time and a size limit per scrape.

use std::sync::Arc;
use std::time::Duration;

use crate::load::http1::{self, MAX_KEPT_BODY, Want};
use crate::load::target::Target;

/// The most a scrape may return; a larger answer is a failed scrape, not a memory spike.
pub const MAX_SCRAPE_BYTES: usize = MAX_KEPT_BODY;

/// GETs `target` within `timeout`; the body as text.
pub async fn get(
    target: &Target,
    tls: &Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<String, String> {
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1\r\nUser-Agent: soy/{}\r\nConnection: close\r\n\r\n",
        target.path,
        target.authority,
        env!("CARGO_PKG_VERSION")
    );
    let once = async {
        let mut conn = http1::connect(target, tls)
            .await
            .map_err(|e| e.to_string())?;
        conn.exchange(
            req.as_bytes(),
            false,
            Want {
                body: true,
                headers: false,
            },
        )
        .await
        .map_err(|e| e.to_string())
    };
    let resp = tokio::time::timeout(timeout, once).await.map_err(|_| {
        format!(
            "no complete answer within {}",
            crate::manifest::duration::Duration(timeout)
        )
    })??;
    if resp.status != 200 {
        return Err(format!("HTTP {}", resp.status));
    }
    if resp.body_len as usize > MAX_SCRAPE_BYTES {
        return Err(format!(
            "the answer is larger than {} MiB ({} bytes)",
            MAX_SCRAPE_BYTES >> 20,
            resp.body_len
        ));
    }
    String::from_utf8(resp.body).map_err(|_| "the answer is not UTF-8 text".into())
}
