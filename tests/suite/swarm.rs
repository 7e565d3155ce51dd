//! The swarm driver on a real Docker engine (Debian's docker.io; scripts/test-all starts
//! dockerd, initialises a single-node swarm and builds soy-demo:latest with
//! scripts/build-images). Load goes only to 127.0.0.1 published ports.

use std::path::PathBuf;
use std::time::Duration;

use super::{free_port, root, soy, text};

fn docker(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI (for checks only)");
    text(&out.stdout)
}

/// Objects still labelled with the stack's namespace.
fn leftovers(stack: &str) -> String {
    let label = format!("label=com.docker.stack.namespace={stack}");
    docker(&["service", "ls", "-q", "--filter", &label])
        + &docker(&["network", "ls", "-q", "--filter", &label])
}

fn experiment(name: &str, stack: &str, image: &str, ready_timeout: &str) -> PathBuf {
    experiment_with(name, stack, image, ready_timeout, "")
}

fn experiment_with(
    name: &str,
    stack: &str,
    image: &str,
    ready_timeout: &str,
    extra: &str,
) -> PathBuf {
    let port = free_port();
    let dir = root().join("target").join("test-tmp").join("swarm");
    std::fs::create_dir_all(&dir).expect("dir");
    let compose = std::fs::read_to_string(root().join("stacks/demo-swarm.yml"))
        .expect("demo stack")
        .replace("published: 18180", &format!("published: {port}"))
        .replace("image: soy-demo:latest", &format!("image: {image}"));
    std::fs::write(dir.join(format!("{name}.yml")), compose).expect("write stack");
    let manifest = format!(
        "apiVersion: soy/v1\nkind: Experiment\nmetadata: {{name: {name}}}\nstack:\n  driver: swarm\n  file: {name}.yml\n  name: {stack}\n  replicas: {{ms-exercise: 2}}\n  ready: {{timeout: {ready_timeout}, http: [{{url: \"http://127.0.0.1:{port}/health\"}}]}}\nload:\n  host: http://127.0.0.1:{port}\n  users: 5\n  spawn_rate: 100\n  run_time: 8s\n  think_time: {{min: 20ms, max: 40ms}}\n  tasks:\n    - {{name: list, request: {{path: /api/exercises}}, check: {{status: 200}}}}\nslos:\n  - {{load: error_rate, max: 1%}}\n{extra}"
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, manifest).expect("write manifest");
    path
}

fn runs() -> PathBuf {
    root().join("target").join("test-tmp").join("runs")
}

fn summary(name: &str) -> serde_json::Value {
    let dir = std::fs::canonicalize(runs().join(name).join("latest")).expect("latest");
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary"))
        .expect("json")
}

#[test]
fn a_swarm_stack_deploys_converges_serves_and_is_removed() {
    let stack = format!("soyt{}", std::process::id());
    let m = experiment_with(
        "swarm-e2e",
        &stack,
        "soy-demo:latest",
        "120s",
        "actions:\n  - {at: 2s, scale: {service: ms-exercise, replicas: 3}}\n  - {at: 3s, restart: {service: ms-other}}\n",
    );
    let (out, _) = soy(
        &[
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            runs().to_str().expect("utf8"),
        ],
        Duration::from_secs(300),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = summary("swarm-e2e");
    assert_eq!(s["status"], "passed", "{s}");
    assert!(s["load"]["requests"].as_u64().unwrap_or(0) > 100);
    let dir = std::fs::canonicalize(runs().join("swarm-e2e").join("latest")).expect("latest");
    let series: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("metrics/series.json")).expect("series"))
            .expect("json");
    let reps = series
        .as_array()
        .expect("list")
        .iter()
        .find(|q| q["name"] == "swarm_replicas")
        .expect("replica timeline");
    let exercise = reps["series"]
        .as_array()
        .expect("series")
        .iter()
        .find(|s| s["labels"]["service"] == format!("{stack}_ms-exercise"))
        .expect("ms-exercise");
    let last = exercise["points"]
        .as_array()
        .and_then(|p| p.last())
        .and_then(|p| p[1].as_f64())
        .unwrap_or(0.0);
    let first = exercise["points"][0][1].as_f64().unwrap_or(0.0);
    assert_eq!(first, 2.0, "the replicas override is applied: {exercise}");
    assert_eq!(last, 3.0, "the scale action is applied: {exercise}");
    let events = s["events"].as_array().expect("events");
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.iter().all(|e| e["error"].is_null()), "{events:?}");
    assert_eq!(
        leftovers(&stack).trim(),
        "",
        "nothing labelled with the stack's namespace remains"
    );
}

#[test]
fn an_image_that_does_not_exist_is_reported_not_waited_on() {
    let stack = format!("soyi{}", std::process::id());
    let m = experiment("swarm-noimage", &stack, "soy-no-such-image:none", "60s");
    let (out, took) = soy(
        &[
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            runs().to_str().expect("utf8"),
        ],
        Duration::from_secs(200),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let reason = summary("swarm-noimage")["reason"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        reason.contains("cannot converge") || reason.contains("did not converge"),
        "{reason}"
    );
    assert!(took < Duration::from_secs(150), "{took:?}");
    assert_eq!(leftovers(&stack).trim(), "");
}

#[test]
fn an_unreachable_engine_is_a_clear_error() {
    let m = experiment("swarm-noengine", "soynoengine", "soy-demo:latest", "10s");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_soy"))
        .args([
            "apply",
            m.to_str().expect("utf8"),
            "--out",
            runs().to_str().expect("utf8"),
        ])
        .env("DOCKER_HOST", "unix:///tmp/soy-no-docker-here.sock")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let reason = summary("swarm-noengine")["reason"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        reason.contains("cannot reach the Docker engine"),
        "{reason}"
    );
}
