//! One scrape's text into the store, as Prometheus records it: `job` and `instance` labels
//! (a scraped label of the same name becomes `exported_<name>`), `up`,
//! `scrape_duration_seconds`, `scrape_samples_scraped`, and staleness markers for every
//! series a target stopped exposing (all of them when the scrape failed). Pure: no I/O.

use std::collections::{BTreeMap, HashSet};

use crate::tsdb::{Labels, STALE_NAN_BITS, Store};

/// What a scrape returned: the exposition text, or why there is none.
pub type Scraped = Result<String, String>;

/// One target's identity and what it exposed last time.
#[derive(Debug, Clone, Default)]
pub struct TargetState {
    pub job: String,
    pub instance: String,
    last: HashSet<Labels>,
    /// Lines skipped as malformed, over the run.
    pub malformed_lines: u64,
    /// Scrapes that failed, over the run.
    pub failed_scrapes: u64,
    /// The latest failure or malformed line, for the run's warnings.
    pub last_problem: Option<String>,
}

impl TargetState {
    pub fn new(job: &str, instance: &str) -> TargetState {
        TargetState {
            job: job.to_string(),
            instance: instance.to_string(),
            ..TargetState::default()
        }
    }

    /// Records one scrape that started at `t` (ms) and took `took_s` seconds.
    pub fn ingest(&mut self, store: &mut Store, t: i64, took_s: f64, scraped: &Scraped) {
        let mut seen: HashSet<Labels> = HashSet::new();
        let up = match scraped {
            Ok(text) => {
                let parsed = crate::exposition::parse(text);
                if let Some(e) = parsed.errors.last() {
                    self.last_problem = Some(format!("line {}: {}", e.line, e.message));
                }
                self.malformed_lines += parsed.errors.len() as u64;
                let mut count = 0u64;
                for s in parsed.samples {
                    let labels = self.target_labels(s.labels);
                    // A duplicate within one scrape keeps the first, as Prometheus does.
                    if !seen.insert(labels.clone()) {
                        continue;
                    }
                    let _ = store.append(&labels, s.timestamp_ms.unwrap_or(t), s.value);
                    count += 1;
                }
                self.report(store, t, "scrape_samples_scraped", count as f64);
                1.0
            }
            Err(e) => {
                self.failed_scrapes += 1;
                self.last_problem = Some(e.clone());
                0.0
            }
        };
        self.report(store, t, "up", up);
        self.report(store, t, "scrape_duration_seconds", took_s);
        for gone in self.last.difference(&seen) {
            let _ = store.append(gone, t, f64::from_bits(STALE_NAN_BITS));
        }
        self.last = seen;
    }

    fn report(&self, store: &mut Store, t: i64, name: &str, v: f64) {
        let labels: Labels = vec![
            ("__name__".to_string(), name.to_string()),
            ("instance".to_string(), self.instance.clone()),
            ("job".to_string(), self.job.clone()),
        ];
        let _ = store.append(&labels, t, v);
    }

    /// The sample's labels plus `job` and `instance`, sorted.
    fn target_labels(&self, labels: Labels) -> Labels {
        let mut m: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in labels {
            if k == "job" || k == "instance" {
                m.insert(format!("exported_{k}"), v);
            } else {
                m.insert(k, v);
            }
        }
        m.insert("job".into(), self.job.clone());
        m.insert("instance".into(), self.instance.clone());
        m.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsdb::{MatchOp, Matcher};

    fn series(store: &Store, name: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
        let m = Matcher::new("__name__", MatchOp::Equal, name).unwrap();
        store.select(&[m], i64::MIN, i64::MAX)
    }

    #[test]
    fn labels_up_staleness_and_malformed_lines() {
        let mut store = Store::new(1000);
        let mut t = TargetState::new("gw", "127.0.0.1:9");
        t.ingest(
            &mut store,
            1000,
            0.01,
            &Ok("a{job=\"x\"} 1\nb 2\nnot a line\n".into()),
        );
        let a = series(&store, "a");
        assert_eq!(a.len(), 1);
        let l = &a[0].0;
        assert!(l.contains(&("exported_job".into(), "x".into())));
        assert!(l.contains(&("job".into(), "gw".into())));
        assert_eq!(t.malformed_lines, 1);
        // `b` disappears: a staleness marker; then the target fails: `a` is stale, up is 0.
        t.ingest(&mut store, 2000, 0.01, &Ok("a{job=\"x\"} 3\n".into()));
        let b = series(&store, "b");
        assert!(crate::tsdb::is_stale(b[0].1[1].1));
        t.ingest(&mut store, 3000, 0.5, &Err("connection refused".into()));
        let a = series(&store, "a");
        assert!(crate::tsdb::is_stale(a[0].1.last().unwrap().1));
        let up = series(&store, "up");
        assert_eq!(
            up[0].1.iter().map(|p| p.1).collect::<Vec<_>>(),
            [1.0, 1.0, 0.0]
        );
        assert_eq!(t.failed_scrapes, 1);
    }
}
