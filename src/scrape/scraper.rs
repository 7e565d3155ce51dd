//! The embedded source's scrape loop: every interval, each HTTP target (concurrently) and
//! each in-process exposition (the load generator's, the stack's container usage) is read
//! and ingested into the shared store.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http::target::Target;
use crate::load::Exposition;
use crate::tsdb::Store;

use super::ingest::TargetState;

/// Where a target's text comes from.
pub enum Origin {
    Http(Target),
    /// Text soy itself renders (no HTTP round trip).
    InProcess(Exposition),
}

/// A target and its scrape state.
pub struct Source {
    pub origin: Origin,
    pub state: TargetState,
}

/// What the scrape loop reports at the end: per target, problems worth a warning.
pub fn problems(sources: &[Source]) -> Vec<String> {
    sources
        .iter()
        .filter(|s| s.state.malformed_lines > 0 || s.state.failed_scrapes > 0)
        .map(|s| {
            format!(
                "target {} (job {}): {} failed scrapes, {} malformed lines skipped{}",
                s.state.instance,
                s.state.job,
                s.state.failed_scrapes,
                s.state.malformed_lines,
                s.state
                    .last_problem
                    .as_ref()
                    .map_or(String::new(), |p| format!("; last: {p}"))
            )
        })
        .collect()
}

/// Scrapes every source once, now.
pub async fn scrape_once(
    sources: &mut [Source],
    store: &Arc<Mutex<Store>>,
    tls: &Arc<rustls::ClientConfig>,
    timeout: Duration,
) {
    let t = now_ms();
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let mut texts: Vec<Option<(super::ingest::Scraped, f64)>> = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        match &s.origin {
            Origin::Http(target) => {
                let (target, tls) = (target.clone(), tls.clone());
                set.spawn(async move {
                    let began = Instant::now();
                    let r = super::fetch::get(&target, &tls, timeout)
                        .await
                        .map_err(|e| crate::error::flatten(&e));
                    (i, r, began.elapsed().as_secs_f64())
                });
                texts.push(None);
            }
            Origin::InProcess(text) => {
                let body = text
                    .lock()
                    .map(|t| t.clone())
                    .map_err(|_| "the exposition is poisoned".to_string());
                texts.push(Some((body, started.elapsed().as_secs_f64())));
            }
        }
    }
    while let Some(r) = set.join_next().await {
        if let Ok((i, body, took)) = r {
            texts[i] = Some((body, took));
        }
    }
    let Ok(mut store) = store.lock() else { return };
    for (s, text) in sources.iter_mut().zip(texts) {
        let (body, took) = text.unwrap_or_else(|| (Err("the scrape task failed".to_string()), 0.0));
        s.state.ingest(&mut store, t, took, &body);
    }
}

/// Scrapes every `interval` until the task is dropped.
pub async fn run(
    mut sources: Vec<Source>,
    store: Arc<Mutex<Store>>,
    interval: Duration,
    tls: Arc<rustls::ClientConfig>,
    done: tokio::sync::watch::Receiver<bool>,
) -> Vec<Source> {
    let timeout = interval.min(Duration::from_secs(10));
    let mut iv = tokio::time::interval(interval);
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut done = done;
    loop {
        let stop = tokio::select! {
            _ = iv.tick() => false,
            _ = done.wait_for(|d| *d) => true,
        };
        if stop {
            break;
        }
        scrape_once(&mut sources, &store, &tls, timeout).await;
    }
    // One last scrape so the end of the window has data.
    scrape_once(&mut sources, &store, &tls, timeout).await;
    sources
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
