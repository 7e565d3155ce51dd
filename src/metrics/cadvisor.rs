//! Container usage named and labelled as cAdvisor names it, so the seed's cAdvisor queries
//! (and soy's `cadvisor_*` presets) have data where no cAdvisor runs. Pure: Engine stats JSON
//! in; Prometheus text and stored series out.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::analysis::series::{QueryResult, Series};
use crate::exposition::Writer;

/// One container's cumulative usage at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    pub cpu_seconds: f64,
    pub memory_bytes: f64,
    pub working_set_bytes: f64,
    pub rx_bytes: f64,
    pub tx_bytes: f64,
}

/// One container as the Engine lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub image: String,
    pub labels: BTreeMap<String, String>,
}

/// One sample of one container.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Unix seconds.
    pub at: f64,
    pub labels: BTreeMap<String, String>,
    pub usage: Usage,
}

/// The metrics written, in order: (name, help, type, unit, value).
type Metric = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    fn(&Usage) -> f64,
);

const METRICS: [Metric; 5] = [
    (
        "container_cpu_usage_seconds_total",
        "Cumulative cpu time consumed in seconds.",
        "counter",
        "seconds",
        |u| u.cpu_seconds,
    ),
    (
        "container_memory_usage_bytes",
        "Current memory usage in bytes, including all memory regardless of when it was accessed.",
        "gauge",
        "bytes",
        |u| u.memory_bytes,
    ),
    (
        "container_memory_working_set_bytes",
        "Current working set in bytes.",
        "gauge",
        "bytes",
        |u| u.working_set_bytes,
    ),
    (
        "container_network_receive_bytes_total",
        "Cumulative count of bytes received.",
        "counter",
        "bytes",
        |u| u.rx_bytes,
    ),
    (
        "container_network_transmit_bytes_total",
        "Cumulative count of bytes transmitted.",
        "counter",
        "bytes",
        |u| u.tx_bytes,
    ),
];

/// Reads a `GET /containers/{id}/stats` answer (cgroup v1 or v2). `None` when the container
/// is not running (the Engine then answers with zeroed fields and no `read` time).
pub fn usage(stats: &Value) -> Option<Usage> {
    let cpu = stats
        .pointer("/cpu_stats/cpu_usage/total_usage")?
        .as_f64()?;
    let mem = stats
        .pointer("/memory_stats/usage")
        .and_then(Value::as_f64)?;
    if cpu == 0.0 && mem == 0.0 {
        return None;
    }
    // cgroup v1 says `total_inactive_file`, v2 `inactive_file`.
    let inactive = [
        "/memory_stats/stats/total_inactive_file",
        "/memory_stats/stats/inactive_file",
    ]
    .iter()
    .find_map(|p| stats.pointer(p).and_then(Value::as_f64))
    .unwrap_or(0.0);
    let (mut rx, mut tx) = (0.0, 0.0);
    for n in stats
        .get("networks")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
    {
        rx += n.get("rx_bytes").and_then(Value::as_f64).unwrap_or(0.0);
        tx += n.get("tx_bytes").and_then(Value::as_f64).unwrap_or(0.0);
    }
    Some(Usage {
        cpu_seconds: cpu / 1e9,
        memory_bytes: mem,
        working_set_bytes: (mem - inactive).max(0.0),
        rx_bytes: rx,
        tx_bytes: tx,
    })
}

/// cAdvisor's labels for a Docker container: `id`, `name`, `image`, and each container label
/// as `container_label_<label with non-alphanumerics as _>`.
pub fn labels(c: &Container) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([
        ("id".to_string(), format!("/docker/{}", c.id)),
        (
            "name".to_string(),
            c.name.trim_start_matches('/').to_string(),
        ),
        ("image".to_string(), c.image.clone()),
    ]);
    for (k, v) in &c.labels {
        let key: String = k
            .chars()
            .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
            .collect();
        l.insert(format!("container_label_{key}"), v.clone());
    }
    l
}

/// The labels of a local stack's service, shaped like a swarm container's so the same
/// queries and presets apply: `{stack}_{service}` as the swarm service name.
pub fn process_labels(stack: &str, service: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("id".to_string(), format!("/soy/{stack}/{service}")),
        ("name".to_string(), service.to_string()),
        ("service".to_string(), service.to_string()),
        (
            "container_label_com_docker_swarm_service_name".to_string(),
            format!("{stack}_{service}"),
        ),
        (
            "container_label_com_docker_stack_namespace".to_string(),
            stack.to_string(),
        ),
    ])
}

/// Prometheus text for the latest sample of each container (a container missing from the
/// latest round is left out, so Prometheus marks its series stale as cAdvisor's would be).
pub fn exposition(latest: &[Sample]) -> String {
    let mut w = Writer::new();
    fn labels(s: &Sample) -> impl Iterator<Item = (&str, &str)> {
        s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    for (name, help, kind, _, value) in METRICS {
        w.help(name, help);
        w.kind(name, kind);
        for s in latest {
            w.sample(name, labels(s), value(&s.usage));
        }
    }
    let last_seen = "container_last_seen";
    w.help(last_seen, "Last time a container was seen by the exporter");
    w.kind(last_seen, "gauge");
    for s in latest {
        w.sample(last_seen, labels(s), s.at.floor());
    }
    w.finish()
}

/// How far back CPU is taken for its rate: procfs counts CPU in ticks of 10 ms, so a rate
/// between samples a second apart is a comb of 0 and 0.01 cores; over 5 s it is the usage.
pub const CPU_RATE_WINDOW: f64 = 5.0;

/// CPU cores used at each sample after the first: the counter's increase since the last
/// sample at least `CPU_RATE_WINDOW` earlier (the first sample, early in the run).
fn cpu_rate(pts: &[(f64, Usage)]) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let mut from = 0;
    for i in 1..pts.len() {
        while from + 1 < i && pts[i].0 - pts[from + 1].0 >= CPU_RATE_WINDOW {
            from += 1;
        }
        let (t0, u0) = pts[from];
        let (t1, u1) = pts[i];
        if t1 > t0 {
            out.push((t1, ((u1.cpu_seconds - u0.cpu_seconds) / (t1 - t0)).max(0.0)));
        }
    }
    out
}

/// The stored series: one result per metric, one series per container, plus
/// `container_last_seen` and `container_cpu_cores` (CPU as a rate, for charts).
pub fn results(samples: &[Sample]) -> Vec<QueryResult> {
    let mut by: BTreeMap<&BTreeMap<String, String>, Vec<(f64, Usage)>> = BTreeMap::new();
    for s in samples {
        by.entry(&s.labels).or_default().push((s.at, s.usage));
    }
    let result = |name: &str, unit: &str, series: Vec<Series>| QueryResult {
        name: name.into(),
        promql: None,
        unit: Some(unit.into()),
        series,
        section: Some(crate::manifest::model::Section::System),
        missing: (samples.is_empty()).then(|| "no container was sampled".into()),
        warnings: Vec::new(),
        gaps: Vec::new(),
    };
    let mut out: Vec<QueryResult> = METRICS
        .iter()
        .map(|(name, _, _, unit, value)| {
            let series = by
                .iter()
                .map(|(l, pts)| Series {
                    labels: (*l).clone(),
                    points: pts.iter().map(|(t, u)| (*t, value(u))).collect(),
                })
                .collect();
            result(name, unit, series)
        })
        .collect();
    out.push(result(
        "container_last_seen",
        "seconds",
        by.iter()
            .map(|(l, pts)| Series {
                labels: (*l).clone(),
                points: pts.iter().map(|(t, _)| (*t, t.floor())).collect(),
            })
            .collect(),
    ));
    out.push(result(
        "container_cpu_cores",
        "cores",
        by.iter()
            .map(|(l, pts)| Series {
                labels: (*l).clone(),
                points: cpu_rate(pts),
            })
            .collect(),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stats(cpu_ns: u64, mem: u64) -> Value {
        json!({
            "cpu_stats": {"cpu_usage": {"total_usage": cpu_ns}},
            "memory_stats": {"usage": mem, "stats": {"total_inactive_file": 1000}},
            "networks": {"eth0": {"rx_bytes": 10, "tx_bytes": 20}, "eth1": {"rx_bytes": 5, "tx_bytes": 1}}
        })
    }

    #[test]
    fn reads_engine_stats() {
        let u = usage(&stats(2_500_000_000, 5000)).unwrap();
        assert_eq!(u.cpu_seconds, 2.5);
        assert_eq!(u.memory_bytes, 5000.0);
        assert_eq!(u.working_set_bytes, 4000.0);
        assert_eq!((u.rx_bytes, u.tx_bytes), (15.0, 21.0));
        assert_eq!(usage(&stats(0, 0)), None, "a stopped container");
        assert_eq!(usage(&json!({})), None);
    }

    #[test]
    fn labels_and_text_as_cadvisor_writes_them() {
        let c = Container {
            id: "abc".into(),
            name: "/s_web.1.xyz".into(),
            image: "soy-demo:latest".into(),
            labels: BTreeMap::from([
                ("com.docker.swarm.service.name".into(), "s_web".into()),
                ("com.docker.stack.namespace".into(), "s".into()),
            ]),
        };
        let l = labels(&c);
        assert_eq!(l["container_label_com_docker_swarm_service_name"], "s_web");
        assert_eq!(l["container_label_com_docker_stack_namespace"], "s");
        assert_eq!(l["name"], "s_web.1.xyz");
        let s = Sample {
            at: 100.7,
            labels: l,
            usage: usage(&stats(1_000_000_000, 64)).unwrap(),
        };
        let text = exposition(std::slice::from_ref(&s));
        assert!(text.contains("# TYPE container_cpu_usage_seconds_total counter"));
        assert!(
            text.lines().any(|l| l.starts_with("container_last_seen{")
                && l.contains("container_label_com_docker_swarm_service_name=\"s_web\"")
                && l.ends_with(" 100")),
            "{text}"
        );
        let mut later = s.clone();
        later.at += 2.0;
        later.usage.cpu_seconds += 1.0;
        let r = results(&[s, later]);
        let cores = r.iter().find(|q| q.name == "container_cpu_cores").unwrap();
        assert_eq!(cores.series[0].points, vec![(102.7, 0.5)]);
        assert!(r.iter().all(|q| q.missing.is_none()));
        assert!(results(&[]).iter().all(|q| q.missing.is_some()));
    }

    #[test]
    fn cpu_in_ticks_is_a_rate_over_the_window_not_a_comb() {
        // 5 ms of CPU a second, counted in 10 ms ticks: +0.01 every other second.
        let pts: Vec<(f64, Usage)> = (0..20)
            .map(|i| {
                let u = Usage {
                    cpu_seconds: f64::from(i / 2) * 0.01,
                    memory_bytes: 0.0,
                    working_set_bytes: 0.0,
                    rx_bytes: 0.0,
                    tx_bytes: 0.0,
                };
                (f64::from(i), u)
            })
            .collect();
        let r = cpu_rate(&pts);
        assert_eq!(r.len(), 19);
        // From 5 s on, every point spans 5 s: 0.004 or 0.006 cores, never 0 or 0.01.
        for (t, v) in r.iter().filter(|(t, _)| *t >= 5.0) {
            assert!((0.0039..=0.0061).contains(v), "{v} cores at {t}");
        }
    }
}
