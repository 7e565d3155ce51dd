//! Envoy-compatible metrics of the demo gateway, in Prometheus text format, with the names the
//! seed's queries read: `envoy_cluster_upstream_rq_total`, `_completed`, `_time_bucket`
//! (milliseconds, Envoy's default buckets), `envoy_cluster_upstream_rq{envoy_response_code}`,
//! `envoy_cluster_upstream_rq_xx{envoy_response_code_class}`, `envoy_http_downstream_rq_total`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Envoy's default histogram buckets, in milliseconds.
pub const BUCKETS_MS: [f64; 19] = [
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
    60000.0, 300000.0, 600000.0, 1800000.0, 3600000.0,
];

#[derive(Debug, Default, Clone)]
struct Cluster {
    total: u64,
    completed: u64,
    buckets: [u64; BUCKETS_MS.len()],
    sum_ms: f64,
    count: u64,
    codes: BTreeMap<u16, u64>,
}

/// Counters of all clusters.
#[derive(Debug, Default)]
pub struct EnvoyMetrics {
    clusters: Mutex<BTreeMap<String, Cluster>>,
    downstream: Mutex<u64>,
}

impl EnvoyMetrics {
    pub fn new(clusters: &[String]) -> Self {
        let m = EnvoyMetrics::default();
        if let Ok(mut c) = m.clusters.lock() {
            for name in clusters {
                c.entry(name.clone()).or_default();
            }
        }
        m
    }

    pub fn downstream(&self) {
        if let Ok(mut d) = self.downstream.lock() {
            *d += 1;
        }
    }

    /// Records an upstream request; `status` is `None` when no response came back.
    pub fn upstream(&self, cluster: &str, ms: f64, status: Option<u16>) {
        let Ok(mut all) = self.clusters.lock() else {
            return;
        };
        let c = all.entry(cluster.to_string()).or_default();
        c.total += 1;
        if let Some(code) = status {
            c.completed += 1;
            *c.codes.entry(code).or_default() += 1;
            for (i, le) in BUCKETS_MS.iter().enumerate() {
                if ms <= *le {
                    c.buckets[i] += 1;
                }
            }
            c.sum_ms += ms;
            c.count += 1;
        }
    }

    /// The exposition text.
    pub fn render(&self, conn_manager: &str) -> String {
        let mut o = String::new();
        let downstream = self.downstream.lock().map_or(0, |d| *d);
        let _ = writeln!(o, "# TYPE envoy_http_downstream_rq_total counter");
        let _ = writeln!(
            o,
            "envoy_http_downstream_rq_total{{envoy_http_conn_manager_prefix=\"{conn_manager}\"}} {downstream}"
        );
        let Ok(all) = self.clusters.lock() else {
            return o;
        };
        let _ = writeln!(o, "# TYPE envoy_cluster_upstream_rq_total counter");
        for (name, c) in all.iter() {
            let _ = writeln!(
                o,
                "envoy_cluster_upstream_rq_total{{envoy_cluster_name=\"{name}\"}} {}",
                c.total
            );
        }
        let _ = writeln!(o, "# TYPE envoy_cluster_upstream_rq_completed counter");
        for (name, c) in all.iter() {
            let _ = writeln!(
                o,
                "envoy_cluster_upstream_rq_completed{{envoy_cluster_name=\"{name}\"}} {}",
                c.completed
            );
        }
        let _ = writeln!(o, "# TYPE envoy_cluster_upstream_rq counter");
        for (name, c) in all.iter() {
            for (code, n) in &c.codes {
                let _ = writeln!(
                    o,
                    "envoy_cluster_upstream_rq{{envoy_response_code=\"{code}\",envoy_cluster_name=\"{name}\"}} {n}"
                );
            }
        }
        let _ = writeln!(o, "# TYPE envoy_cluster_upstream_rq_xx counter");
        for (name, c) in all.iter() {
            let mut classes: BTreeMap<u16, u64> = BTreeMap::new();
            for (code, n) in &c.codes {
                *classes.entry(code / 100).or_default() += n;
            }
            for (class, n) in classes {
                let _ = writeln!(
                    o,
                    "envoy_cluster_upstream_rq_xx{{envoy_response_code_class=\"{class}\",envoy_cluster_name=\"{name}\"}} {n}"
                );
            }
        }
        let _ = writeln!(o, "# TYPE envoy_cluster_upstream_rq_time histogram");
        for (name, c) in all.iter() {
            for (le, n) in BUCKETS_MS.iter().zip(c.buckets) {
                let _ = writeln!(
                    o,
                    "envoy_cluster_upstream_rq_time_bucket{{envoy_cluster_name=\"{name}\",le=\"{le}\"}} {n}"
                );
            }
            let _ = writeln!(
                o,
                "envoy_cluster_upstream_rq_time_bucket{{envoy_cluster_name=\"{name}\",le=\"+Inf\"}} {}",
                c.count
            );
            let _ = writeln!(
                o,
                "envoy_cluster_upstream_rq_time_sum{{envoy_cluster_name=\"{name}\"}} {}",
                c.sum_ms
            );
            let _ = writeln!(
                o,
                "envoy_cluster_upstream_rq_time_count{{envoy_cluster_name=\"{name}\"}} {}",
                c.count
            );
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_classes_add_up() {
        let m = EnvoyMetrics::new(&["c".to_string()]);
        m.upstream("c", 3.0, Some(200));
        m.upstream("c", 30.0, Some(503));
        m.upstream("c", 1.0, None);
        m.downstream();
        let t = m.render("gateway_hcm");
        assert!(t.contains("envoy_cluster_upstream_rq_total{envoy_cluster_name=\"c\"} 3"));
        assert!(t.contains("envoy_cluster_upstream_rq_completed{envoy_cluster_name=\"c\"} 2"));
        assert!(t.contains(
            "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"c\",le=\"5\"} 1"
        ));
        assert!(t.contains(
            "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"c\",le=\"50\"} 2"
        ));
        assert!(t.contains("envoy_cluster_upstream_rq_xx{envoy_response_code_class=\"5\",envoy_cluster_name=\"c\"} 1"));
        assert!(t.contains(
            "envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix=\"gateway_hcm\"} 1"
        ));
    }
}
