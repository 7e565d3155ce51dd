//! Command-line behaviour: exit codes, schema output, secrets, broken pipes.

use std::time::Duration;

use super::{root, soy, text};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn schema_command_prints_the_committed_schema() {
    let (out, _) = soy(&["schema"], LIMIT);
    assert_eq!(out.status.code(), Some(0));
    let committed =
        std::fs::read_to_string(root().join("schemas/experiment.schema.json")).unwrap_or_default();
    assert_eq!(text(&out.stdout), committed);
}

#[test]
fn usage_errors_exit_2_and_missing_files_too() {
    assert_eq!(soy(&["frobnicate"], LIMIT).0.status.code(), Some(2));
    let (out, _) = soy(&["validate", "experiments/does-not-exist.yaml"], LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read manifest experiments/does-not-exist.yaml"));
}

#[test]
fn several_files_report_each_and_exit_2() {
    let (out, _) = soy(
        &[
            "validate",
            "experiments/spike.yaml",
            "tests/fixtures/invalid/empty.yaml",
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("ok: experiments/spike.yaml"), "{err}");
    assert!(err.contains("1 of 2 manifests are invalid"), "{err}");
}

#[test]
fn secrets_never_reach_the_plan() {
    let dir = tempdir();
    let manifest = dir.join("secret.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: soy/v1\nkind: Experiment\nmetadata: {name: s}\nload:\n  host: http://127.0.0.1:1\n  users: 1\n  run_time: 1s\n  tasks:\n    - name: t\n      request: {path: /, headers: {Authorization: \"Bearer ${env:SOY_TEST_SECRET}\"}}\nmetrics:\n  source: {kind: prometheus, url: \"http://127.0.0.1:9090\", bearer_token: \"${env:SOY_TEST_SECRET}\"}\n",
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_soy"))
        .args(["plan", "--output", "json"])
        .arg(&manifest)
        .env("SOY_TEST_SECRET", "hunter2-very-secret")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(!all.contains("hunter2-very-secret"));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_soy"))
        .args(["plan", "experiments/envoy-baseline.yaml"])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = [0u8; 10];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("read");
    // stdout is dropped (closed) here, as `| head -c 10` would.
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
}

fn tempdir() -> std::path::PathBuf {
    let dir = root()
        .join("target")
        .join("test-tmp")
        .join(format!("{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn grafana_dashboard_has_a_panel_per_query_and_variables() {
    let (out, _) = soy(&["grafana", "experiments/envoy-baseline.yaml"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let panels = d["panels"].as_array().expect("panels");
    assert_eq!(panels.len(), 18, "one panel per manifest query");
    let vars: Vec<&str> = d["templating"]["list"]
        .as_array()
        .expect("vars")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(vars, ["datasource", "stack", "service", "cluster"]);
    let cpu = panels[0]["targets"][0]["expr"].as_str().expect("expr");
    assert!(cpu.contains(r#"=~"${stack}_${service}.*""#), "{cpu}");
    assert!(
        d["templating"]["list"][2]["query"]
            .as_str()
            .expect("services")
            .contains("ms-exercise")
    );
}
