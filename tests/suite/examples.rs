//! The shipped experiments are valid, reference the schema, and plan.

use std::time::Duration;

use super::{root, soy, text};

fn experiments() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("experiments"))
        .expect("experiments/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            format!(
                "experiments/{}",
                p.file_name().expect("name").to_string_lossy()
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn all_experiments_validate() {
    let files = experiments();
    assert!(files.len() >= 4);
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let (out, _) = soy(&args, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for f in &files {
        let src = std::fs::read_to_string(root().join(f)).expect("read");
        assert!(
            src.starts_with("# yaml-language-server: $schema=../schemas/experiment.schema.json"),
            "{f} must start with the schema modeline"
        );
    }
}

#[test]
fn envoy_baseline_plan_shows_every_seed_query() {
    let (out, _) = soy(
        &["plan", "experiments/envoy-baseline.yaml"],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    // The seed document's queries, with SERVICE_NAME / CLUSTER_NAME filled in.
    let seed = [
        r#"sum(rate(container_cpu_usage_seconds_total{container_label_com_docker_swarm_service_name=~"ms-stack-v5_ms-exercise.*"}[1m])) by (container_label_com_docker_swarm_service_name)"#,
        r#"sum(container_memory_usage_bytes{container_label_com_docker_swarm_service_name=~"ms-stack-v5_ms-exercise.*"}) by (container_label_com_docker_swarm_service_name)"#,
        r#"sum(rate(container_network_receive_bytes_total{container_label_com_docker_swarm_service_name=~"ms-stack-v5_gateway.*"}[1m])) by (container_label_com_docker_swarm_service_name)"#,
        r#"sum(rate(container_network_transmit_bytes_total{container_label_com_docker_swarm_service_name=~"ms-stack-v5_gateway.*"}[1m])) by (container_label_com_docker_swarm_service_name)"#,
        r#"rate(envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="gateway_hcm"}[1m])"#,
        r#"rate(envoy_cluster_upstream_rq_total{envoy_cluster_name="gateway_cluster"}[1m])"#,
        r#"rate(envoy_cluster_upstream_rq_completed{envoy_cluster_name="gateway_cluster"}[1m])"#,
        r#"histogram_quantile(0.95, rate(envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="gateway_cluster"}[1m]))"#,
        r#"rate(envoy_cluster_upstream_rq_time_sum{envoy_cluster_name="gateway_cluster"}[1m]) / rate(envoy_cluster_upstream_rq_time_count{envoy_cluster_name="gateway_cluster"}[1m])"#,
        r#"rate(envoy_cluster_upstream_rq{envoy_cluster_name="gateway_cluster",envoy_response_code="200"}[1m])"#,
        r#"rate(envoy_cluster_upstream_rq_xx{envoy_cluster_name="ms_exercise_cluster",envoy_response_code_class="2"}[1m])"#,
        r#"count(container_last_seen{container_label_com_docker_swarm_service_name=~"ms-stack-v5_ms-exercise.*"}) by (container_label_com_docker_swarm_service_name)"#,
        r#"count(container_last_seen{container_label_com_docker_stack_namespace="ms-stack-v5"}) by (container_label_com_docker_swarm_service_name)"#,
    ];
    for q in seed {
        assert!(
            plan.contains(q),
            "plan lacks the seed query\n  {q}\n\nplan:\n{plan}"
        );
    }
}

#[test]
fn plan_json_and_shape_tables() {
    let (out, _) = soy(
        &["plan", "--output", "json", "experiments/quickstart.yaml"],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json plan");
    let segs = plan["load"]["segments"].as_array().expect("segments");
    // Three stages of 15 s, 30 s and 15 s: 60 s in all, the middle one at 2 users/s.
    assert_eq!(segs.len(), 3);
    assert_eq!(segs[1]["start"], 15.0);
    assert_eq!(segs[1]["to"], 20.0);
    assert_eq!(segs[1]["spawn_rate"], 2.0);
    assert_eq!(plan["load"]["run_time"], "1m");
    assert_eq!(plan["stack"]["name"], "demo");
    insta::assert_snapshot!(
        "plan__step_load",
        text(
            &soy(
                &["plan", "experiments/step-load.yaml"],
                Duration::from_secs(20)
            )
            .0
            .stdout
        )
    );
}
