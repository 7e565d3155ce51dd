//! Built-in PromQL queries: the seed's cAdvisor, Envoy and node-exporter expressions as
//! minijinja templates over `stack`, `service`, `cluster`, `quantile`, `conn_manager` and
//! `rate_window`. `soy presets` lists them; README documents them.

/// What a preset needs from the query that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing; `service` narrows it to one service when given.
    Nothing,
    /// An Envoy cluster name (`cluster:` or `for_each.cluster`).
    Cluster,
}

/// A named, parameterised query.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub name: &'static str,
    pub description: &'static str,
    pub unit: &'static str,
    pub needs: Needs,
    pub promql: &'static str,
}

macro_rules! svc_matcher {
    () => {
        r#"container_label_com_docker_swarm_service_name=~"{{ stack }}_{{ service }}.*""#
    };
}

/// Every preset, in the order `soy presets` shows them.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "cadvisor.cpu",
        description: "CPU cores used by all replicas of a service (cAdvisor)",
        unit: "cores",
        needs: Needs::Nothing,
        promql: concat!(
            "sum(rate(container_cpu_usage_seconds_total{",
            svc_matcher!(),
            "}[{{ rate_window }}])) by (container_label_com_docker_swarm_service_name)"
        ),
    },
    Preset {
        name: "cadvisor.memory",
        description: "memory used by all replicas of a service (cAdvisor)",
        unit: "bytes",
        needs: Needs::Nothing,
        promql: concat!(
            "sum(container_memory_usage_bytes{",
            svc_matcher!(),
            "}) by (container_label_com_docker_swarm_service_name)"
        ),
    },
    Preset {
        name: "cadvisor.net_rx",
        description: "network bytes received per second by a service (cAdvisor)",
        unit: "bytes/s",
        needs: Needs::Nothing,
        promql: concat!(
            "sum(rate(container_network_receive_bytes_total{",
            svc_matcher!(),
            "}[{{ rate_window }}])) by (container_label_com_docker_swarm_service_name)"
        ),
    },
    Preset {
        name: "cadvisor.net_tx",
        description: "network bytes sent per second by a service (cAdvisor)",
        unit: "bytes/s",
        needs: Needs::Nothing,
        promql: concat!(
            "sum(rate(container_network_transmit_bytes_total{",
            svc_matcher!(),
            "}[{{ rate_window }}])) by (container_label_com_docker_swarm_service_name)"
        ),
    },
    Preset {
        name: "cadvisor.replicas",
        description: "running containers per service (cAdvisor); all of the stack without `service`",
        unit: "replicas",
        needs: Needs::Nothing,
        promql: concat!(
            "count(container_last_seen{ {%- if service %}",
            svc_matcher!(),
            "{% else %}container_label_com_docker_stack_namespace=\"{{ stack }}\"{% endif -%} })",
            " by (container_label_com_docker_swarm_service_name)"
        ),
    },
    Preset {
        name: "envoy.downstream_rq_rate",
        description: "HTTP requests per second arriving at an Envoy connection manager",
        unit: "req/s",
        needs: Needs::Nothing,
        promql: r#"rate(envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="{{ conn_manager }}"}[{{ rate_window }}])"#,
    },
    Preset {
        name: "envoy.upstream_rq_rate",
        description: "requests per second Envoy sends to a cluster",
        unit: "req/s",
        needs: Needs::Cluster,
        promql: r#"rate(envoy_cluster_upstream_rq_total{envoy_cluster_name="{{ cluster }}"}[{{ rate_window }}])"#,
    },
    Preset {
        name: "envoy.completed_rate",
        description: "requests per second a cluster completed",
        unit: "req/s",
        needs: Needs::Cluster,
        promql: r#"rate(envoy_cluster_upstream_rq_completed{envoy_cluster_name="{{ cluster }}"}[{{ rate_window }}])"#,
    },
    Preset {
        name: "envoy.latency_quantile",
        description: "a latency quantile of a cluster's requests (`quantile`, default 0.95)",
        unit: "ms",
        needs: Needs::Cluster,
        promql: r#"histogram_quantile({{ quantile }}, rate(envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="{{ cluster }}"}[{{ rate_window }}]))"#,
    },
    Preset {
        name: "envoy.avg_latency",
        description: "mean latency of a cluster's requests",
        unit: "ms",
        needs: Needs::Cluster,
        promql: r#"rate(envoy_cluster_upstream_rq_time_sum{envoy_cluster_name="{{ cluster }}"}[{{ rate_window }}]) / rate(envoy_cluster_upstream_rq_time_count{envoy_cluster_name="{{ cluster }}"}[{{ rate_window }}])"#,
    },
    Preset {
        name: "envoy.rq_by_code",
        description: "requests per second of a cluster, one series per response code",
        unit: "req/s",
        needs: Needs::Cluster,
        promql: r#"rate(envoy_cluster_upstream_rq{envoy_cluster_name="{{ cluster }}"}[{{ rate_window }}])"#,
    },
    Preset {
        name: "envoy.rq_by_class",
        description: "requests per second of a cluster, one series per response class (2xx, 4xx, 5xx)",
        unit: "req/s",
        needs: Needs::Cluster,
        promql: r#"rate(envoy_cluster_upstream_rq_xx{envoy_cluster_name="{{ cluster }}"}[{{ rate_window }}])"#,
    },
    Preset {
        name: "node.cpu",
        description: "share of the host's CPU time not idle (node-exporter)",
        unit: "ratio",
        needs: Needs::Nothing,
        promql: r#"1 - avg(rate(node_cpu_seconds_total{mode="idle"}[{{ rate_window }}]))"#,
    },
    Preset {
        name: "node.memory",
        description: "host memory in use (node-exporter)",
        unit: "bytes",
        needs: Needs::Nothing,
        promql: "node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes",
    },
];

/// Looks a preset up by name.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// All preset names.
pub fn names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|p| p.name)
}
