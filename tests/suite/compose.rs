//! Compose files read as `docker stack deploy` reads them, through `soy plan` and
//! `soy validate`: interpolation from the environment and `stack.variables`, a required
//! variable that is unset, `$$`, swarm templates, anchors, merge keys and `x-` fields.

use std::process::{Command, Stdio};

use super::{root, text};

const MANIFEST: &str = "tests/fixtures/compose/monitoring.yaml";

fn soy_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_soy"));
    cmd.args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .env_remove("ADMIN_PASSWORD")
        .env_remove("REPLICAS")
        .env_remove("GRAFANA_PORT")
        .env_remove("EXPORTER_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("soy runs")
}

#[test]
fn plan_json_shows_the_resolved_swarm_spec() {
    let out = soy_env(
        &["plan", MANIFEST, "--output", "json"],
        &[
            ("ADMIN_PASSWORD", "s3cret"),
            ("REPLICAS", "2"),
            ("GRAFANA_PORT", "13000"),
            ("EXPORTER_TOKEN", "tok-9f8e7d"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let services = plan["stack"]["swarm"]["spec"]["services"]
        .as_array()
        .expect("services");
    let grafana = services
        .iter()
        .find(|s| s["Name"] == "mon_grafana")
        .expect("grafana");
    let c = &grafana["TaskTemplate"]["ContainerSpec"];
    // `stack.variables` over the environment; defaults; `${VAR-default}` with VAR set.
    assert_eq!(c["Image"], "grafana/grafana:11.0.0");
    let env: Vec<&str> = c["Env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(env.contains(&"GF_SECURITY_ADMIN_USER=admin"), "{env:?}");
    assert!(
        env.contains(&"GF_SERVER_ROOT_URL=http://localhost:13000/"),
        "{env:?}"
    );
    // A secret's value never reaches the printed plan.
    assert!(
        env.contains(&"GF_SECURITY_ADMIN_PASSWORD=<redacted>"),
        "{env:?}"
    );
    assert!(!text(&out.stdout).contains("s3cret"));
    // Go templates pass through to the engine untouched.
    assert_eq!(c["Hostname"], "grafana-{{.Task.Slot}}");
    assert_eq!(grafana["Labels"]["org.example.node"], "{{.Node.Hostname}}");
    // The merged `deploy` anchor, with the interpolated replica count as a number.
    assert_eq!(grafana["Mode"]["Replicated"]["Replicas"], 2);
    assert_eq!(
        grafana["TaskTemplate"]["Placement"]["Constraints"][0],
        "node.role == manager"
    );
    assert_eq!(
        grafana["TaskTemplate"]["LogDriver"]["Options"]["max-size"],
        "10m"
    );
    assert_eq!(grafana["EndpointSpec"]["Ports"][0]["PublishedPort"], 13000);
    // `$$` is a literal `$`.
    let ne = services
        .iter()
        .find(|s| s["Name"] == "mon_node-exporter")
        .expect("node-exporter");
    let args = ne["TaskTemplate"]["ContainerSpec"]["Args"][2]
        .as_str()
        .expect("arg");
    assert!(args.ends_with("etc)($|/)"), "{args}");
    assert_eq!(ne["Mode"], serde_json::json!({"Global": {}}));
    // A secret-looking variable's value is redacted wherever it landed (here an argument).
    assert_eq!(
        ne["TaskTemplate"]["ContainerSpec"]["Args"][3],
        "--web.auth-token=<redacted>"
    );
    assert!(!text(&out.stdout).contains("tok-9f8e7d"));
    // `x-` fields are not deployed.
    assert!(!text(&out.stdout).contains("team-perf"));
}

#[test]
fn an_unset_required_variable_is_a_positioned_error_at_validation() {
    let out = soy_env(&["validate", MANIFEST], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "error: required variable `ADMIN_PASSWORD` is unset: set ADMIN_PASSWORD\n  --> tests/fixtures/compose/monitoring.yml:25:9"
        ),
        "{err}"
    );
    assert!(
        err.contains("= at: services.grafana.environment[1]"),
        "{err}"
    );
}

#[test]
fn stack_overrides_naming_a_missing_service_point_at_the_manifest() {
    let dir = root().join("target/test-tmp/compose-overrides");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::copy(
        root().join("tests/fixtures/compose/monitoring.yml"),
        dir.join("monitoring.yml"),
    )
    .expect("copy");
    let manifest = dir.join("m.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: soy/v1\nkind: Experiment\nmetadata: {name: t}\nstack:\n  driver: swarm\n  name: mon\n  file: monitoring.yml\n  variables: {ADMIN_PASSWORD: x}\n  replicas:\n    grafanna: 2\nload:\n  host: http://127.0.0.1:3000\n  users: 1\n  run_time: 1s\n  tasks: [{name: a, request: {path: /}}]\n",
    )
    .expect("write");
    let out = soy_env(&["validate", manifest.to_str().expect("utf8")], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("error: the stack file has no service `grafanna`"),
        "{err}"
    );
    assert!(err.contains("m.yaml:10:5"), "{err}");
    assert!(err.contains("did you mean `grafana`?"), "{err}");
}
