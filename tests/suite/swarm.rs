//! The swarm driver on a real Docker engine (Debian's docker.io; scripts/test-all starts
//! dockerd, initialises a single-node swarm and builds soy-demo:latest with
//! scripts/build-images). Load goes only to 127.0.0.1 published ports.

use std::path::PathBuf;
use std::time::Duration;

use super::{free_port, root, runs, soy, text};

pub(super) fn docker(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI (for checks only)");
    text(&out.stdout)
}

/// Objects still labelled with the stack's namespace.
pub(super) fn leftovers(stack: &str) -> String {
    let label = format!("label=com.docker.stack.namespace={stack}");
    docker(&["service", "ls", "-q", "--filter", &label])
        + &docker(&["network", "ls", "-q", "--filter", &label])
        + &docker(&["config", "ls", "-q", "--filter", &label])
        + &docker(&["secret", "ls", "-q", "--filter", &label])
}

fn experiment(name: &str, stack: &str, image: &str, ready_timeout: &str) -> PathBuf {
    experiment_with(name, stack, image, ready_timeout, "", "", &[]).0
}

fn experiment_with(
    name: &str,
    stack: &str,
    image: &str,
    ready_timeout: &str,
    load_extra: &str,
    extra: &str,
    edits: &[(&str, &str)],
) -> (PathBuf, u16) {
    let port = stack_file(name, image, edits);
    let dir = root().join("target").join("test-tmp").join("swarm");
    let manifest = format!(
        "apiVersion: soy/v1\nkind: Experiment\nmetadata: {{name: {name}}}\nstack:\n  driver: swarm\n  file: {name}.yml\n  name: {stack}\n  replicas: {{ms-exercise: 2}}\n  ready: {{timeout: {ready_timeout}, http: [{{url: \"http://127.0.0.1:{port}/health\"}}]}}\nload:\n  host: http://127.0.0.1:{port}\n  users: 5\n  spawn_rate: 100\n  run_time: 8s\n{load_extra}  think_time: {{min: 20ms, max: 40ms}}\n  tasks:\n    - {{name: list, request: {{path: /api/exercises}}, check: {{status: 200}}}}\nslos:\n  - {{load: error_rate, max: 1%}}\n{extra}"
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, manifest).expect("write manifest");
    (path, port)
}

/// The demo stack without its monitoring, its gateway on a free loopback port, written as
/// `<name>.yml` in the tests' folder; returns the port.
pub(super) fn stack_file(name: &str, image: &str, edits: &[(&str, &str)]) -> u16 {
    let port = free_port();
    let dir = root().join("target").join("test-tmp").join("swarm");
    std::fs::create_dir_all(&dir).expect("dir");
    let compose = std::fs::read_to_string(root().join("stacks/demo-swarm.yml"))
        .expect("demo stack")
        .replace("published: 18180", &format!("published: {port}"))
        .replace("image: soy-demo:latest", &format!("image: {image}"));
    // The stack's own monitoring (Prometheus on a fixed port, the exporter) is left out:
    // these tests run side by side, and experiments/swarm-demo.yaml exercises it.
    let compose = match (
        compose.find("\n  cadvisor:\n"),
        compose.find("\nnetworks:\n"),
    ) {
        (Some(a), Some(b)) => format!("{}{}", &compose[..=a], &compose[b..]),
        _ => compose,
    };
    let compose = edits.iter().fold(compose, |c, (from, to)| {
        assert!(c.contains(from), "{from} in the demo stack");
        c.replace(from, to)
    });
    std::fs::write(dir.join(format!("{name}.yml")), compose).expect("write stack");
    port
}

fn summary(name: &str) -> serde_json::Value {
    let dir = std::fs::canonicalize(runs().join(name).join("latest")).expect("latest");
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary"))
        .expect("json")
}

#[test]
fn a_swarm_stack_deploys_converges_serves_and_is_removed() {
    requires!(docker);
    let stack = format!("soyt{}", std::process::id());
    // A real Prometheus scrapes soy's metrics port, where the containers' usage is served
    // under cAdvisor's names: the cadvisor presets answer with no cAdvisor running.
    let metrics_port = free_port();
    let prom = super::prometheus::Prometheus::start(&[metrics_port]);
    let m = experiment_with(
        "swarm-e2e",
        &stack,
        "soy-demo:latest",
        "120s",
        &format!("  metrics_port: {metrics_port}\n"),
        &format!(
            "actions:\n  - {{at: 2s, scale: {{service: ms-exercise, replicas: 3}}}}\n  - {{at: 3s, restart: {{service: ms-other}}}}\nmetrics:\n  source: {{kind: prometheus, url: \"{}\"}}\n  step: 1s\n  rate_window: 4s\n  queries:\n    - {{name: cpu, preset: cadvisor.cpu, service: gateway}}\n    - {{name: memory, preset: cadvisor.memory, service: gateway}}\n    - {{name: exercise_replicas, preset: cadvisor.replicas, service: ms-exercise}}\n",
            prom.url()
        ),
        &[],
    )
    .0;
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
    // Container usage sampled through the Engine's stats API, labelled as cAdvisor does.
    let of = |name: &str| {
        series
            .as_array()
            .expect("list")
            .iter()
            .find(|q| q["name"] == name)
            .unwrap_or_else(|| panic!("{name} in series.json"))
            .clone()
    };
    let cpu = of("container_cpu_usage_seconds_total");
    let exercise_containers = cpu["series"]
        .as_array()
        .expect("series")
        .iter()
        .filter(|s| {
            s["labels"]["container_label_com_docker_swarm_service_name"]
                == format!("{stack}_ms-exercise")
                && s["labels"]["container_label_com_docker_stack_namespace"] == stack.as_str()
        })
        .count();
    assert!(exercise_containers >= 3, "one series per container: {cpu}");
    let memory = of("container_memory_usage_bytes");
    assert!(
        memory["series"][0]["points"][0][1].as_f64().unwrap_or(0.0) > 0.0,
        "{memory}"
    );
    // The same data through a real Prometheus and the presets.
    let gw_cpu = of("cpu");
    assert!(gw_cpu["missing"].is_null(), "{gw_cpu}");
    let peak = gw_cpu["series"][0]["points"]
        .as_array()
        .expect("points")
        .iter()
        .filter_map(|p| p[1].as_f64())
        .fold(0.0, f64::max);
    assert!(peak > 0.0, "the gateway used CPU under load: {gw_cpu}");
    let reps = of("exercise_replicas");
    let counts: Vec<f64> = reps["series"][0]["points"]
        .as_array()
        .expect("points")
        .iter()
        .filter_map(|p| p[1].as_f64())
        .collect();
    assert!(
        counts.contains(&2.0) && counts.contains(&3.0),
        "the seed's replica query sees the scale from 2 to 3: {counts:?}"
    );
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
    requires!(docker);
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
    requires!(docker);
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

pub(super) fn apply_args(m: &std::path::Path) -> Vec<String> {
    vec![
        "apply".into(),
        m.to_str().expect("utf8").into(),
        "--out".into(),
        runs().to_str().expect("utf8").into(),
    ]
}

fn reason_of(name: &str) -> String {
    summary(name)["reason"].as_str().unwrap_or("").to_string()
}

#[test]
fn a_service_that_crashes_in_a_loop_is_reported_with_its_last_log_lines() {
    requires!(docker);
    let stack = format!("soyc{}", std::process::id());
    let (m, _) = experiment_with(
        "swarm-crashloop",
        &stack,
        "soy-demo:latest",
        "90s",
        "",
        "",
        &[
            (
                "--latency, 1ms..3ms]",
                "--latency, 1ms..3ms, --exit-after, 300ms]",
            ),
            (
                "    deploy: {endpoint_mode: dnsrr}\n\n  gateway:",
                "    deploy: {endpoint_mode: dnsrr, restart_policy: {condition: any, delay: 1s}}\n\n  gateway:",
            ),
        ],
    );
    let args = apply_args(&m);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, took) = soy(&args, Duration::from_secs(200));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let reason = reason_of("swarm-crashloop");
    assert!(
        reason.contains(&format!("service {stack}_ms-other cannot converge")),
        "{reason}"
    );
    assert!(reason.contains("non-zero exit"), "the task error: {reason}");
    assert!(
        reason.contains("exiting as asked (--exit-after)"),
        "the container's last log lines: {reason}"
    );
    assert!(
        took < Duration::from_secs(80),
        "not waited on until the timeout: {took:?}"
    );
    assert_eq!(leftovers(&stack).trim(), "");
}

#[test]
fn a_published_port_already_in_use_is_reported() {
    requires!(docker);
    let stack = format!("soyp{}", std::process::id());
    let (m, port) = experiment_with(
        "swarm-portinuse",
        &stack,
        "soy-demo:latest",
        "60s",
        "",
        "",
        &[],
    );
    // Something else holds the gateway's port on the host (a listener, no traffic).
    let _holder = std::net::TcpListener::bind(("0.0.0.0", port)).expect("bind");
    let args = apply_args(&m);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, took) = soy(&args, Duration::from_secs(200));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let reason = reason_of("swarm-portinuse");
    assert!(
        reason.contains(&format!("{stack}_gateway")) && reason.contains("address already in use"),
        "{reason}"
    );
    assert!(took < Duration::from_secs(150), "{took:?}");
    assert_eq!(leftovers(&stack).trim(), "");
}

#[test]
fn sigint_mid_run_removes_the_stack_and_exits_130() {
    requires!(docker);
    let stack = format!("soys{}", std::process::id());
    let (m, port) = experiment_with(
        "swarm-sigint",
        &stack,
        "soy-demo:latest",
        "120s",
        "",
        "",
        &[],
    );
    let text_m = std::fs::read_to_string(&m)
        .expect("manifest")
        .replace("run_time: 8s", "run_time: 120s");
    std::fs::write(&m, text_m).expect("write");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_soy"))
        .args(apply_args(&m))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until the load is running: the gateway (on its published loopback port) has
    // forwarded requests to ms-exercise, which only the load sends (readiness asks /health).
    let deadline = std::time::Instant::now() + Duration::from_secs(150);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the load never started"
        );
        let forwarded = super::gateway_metric(
            port,
            "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"ms_exercise_cluster\"}",
        );
        if forwarded > 20.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let s = summary("swarm-sigint");
    assert_eq!(s["status"], "incomplete", "{s}");
    assert!(
        s["load"]["requests"].as_u64().unwrap_or(0) > 0,
        "results kept: {s}"
    );
    assert_eq!(
        leftovers(&stack).trim(),
        "",
        "the stack is removed after Ctrl-C"
    );
}

#[test]
fn the_shipped_swarm_demo_runs_with_its_own_prometheus() {
    requires!(docker);
    // experiments/swarm-demo.yaml as a user runs it: the stack's Prometheus (soy-prometheus)
    // scrapes the gateway and soy's cAdvisor-compatible exporter through a swarm config.
    let _ports = super::harness::SHIPPED_SWARM_PORTS
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let m = root().join("experiments/swarm-demo.yaml");
    let args = apply_args(&m);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, _) = soy(&args, Duration::from_secs(400));
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "the run completes: {}",
        text(&out.stderr)
    );
    let s = summary("swarm-demo");
    assert_ne!(s["status"], "incomplete", "{s}");
    let dir = std::fs::canonicalize(runs().join("swarm-demo").join("latest")).expect("latest");
    let series: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("metrics/series.json")).expect("series"))
            .expect("json");
    for name in [
        "cpu[gateway]",
        "memory[ms-exercise]",
        "replicas",
        "gateway_downstream_rps",
        "upstream_rps[ms_exercise_cluster]",
    ] {
        let q = series
            .iter()
            .find(|q| q["name"] == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert!(q["missing"].is_null(), "{name} has data: {q}");
    }
    let reps = series
        .iter()
        .find(|q| q["name"] == "replicas")
        .expect("replicas");
    let exercise: Vec<f64> = reps["series"]
        .as_array()
        .expect("series")
        .iter()
        .find(|s| {
            s["labels"]["container_label_com_docker_swarm_service_name"] == "soy-demo_ms-exercise"
        })
        .expect("ms-exercise")["points"]
        .as_array()
        .expect("points")
        .iter()
        .filter_map(|p| p[1].as_f64())
        .collect();
    assert!(
        exercise.contains(&2.0) && exercise.contains(&3.0),
        "{exercise:?}"
    );
    assert_eq!(leftovers("soy-demo").trim(), "");
}

#[test]
fn the_shipped_stacks_translate_and_their_prometheus_configs_are_valid() {
    requires!(promtool);
    use soy::stack::swarm_spec::{Overrides, translate};
    for (file, config) in [
        ("stacks/seed-envoy.yml", "stacks/seed-envoy/prometheus.yml"),
        ("stacks/demo-swarm.yml", "stacks/demo-swarm/prometheus.yml"),
    ] {
        let path = root().join(file);
        let compose = soy::compose::load(&path, &|_| None).unwrap_or_else(|e| panic!("{e}"));
        let o = Overrides {
            dir: root().join("stacks"),
            ..Overrides::default()
        };
        let spec =
            translate(&compose.file, "check", &o).unwrap_or_else(|e| panic!("{file}: {e:?}"));
        assert!(!spec.files.is_empty(), "{file} carries its configurations");
        for f in &spec.files {
            let body = std::fs::read_to_string(&f.path)
                .unwrap_or_else(|e| panic!("{file}: {}: {e}", f.path.display()));
            soy::manifest::yaml::parse(&body)
                .unwrap_or_else(|e| panic!("{}: {}", f.path.display(), e.message));
        }
        // Prometheus' own checker (Debian's prometheus package ships promtool).
        let out = std::process::Command::new("promtool")
            .args(["check", "config"])
            .arg(root().join(config))
            .output()
            .expect("promtool from Debian's prometheus package (scripts/test-all installs it)");
        assert!(out.status.success(), "{config}: {}", text(&out.stdout));
    }
}

fn require_locust_image() {
    let found = std::process::Command::new("docker")
        .args(["image", "inspect", "soy-locust:latest"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "this test needs soy-locust:latest: bash scripts/build-images"
    );
}

pub(super) fn json_file(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("json file")).expect("json")
}

/// The Aggregated request count of Locust's `_stats.csv`.
fn csv_total(path: &std::path::Path) -> u64 {
    let t = std::fs::read_to_string(path).expect("_stats.csv");
    let row = t
        .lines()
        .find(|l| l.starts_with(",Aggregated,"))
        .expect("Aggregated row");
    row.split(',')
        .nth(2)
        .expect("count")
        .parse()
        .expect("count")
}

#[test]
fn the_shipped_locust_swarm_example_runs_a_master_and_two_workers() {
    requires!(docker);
    require_locust_image();
    let _ports = super::harness::SHIPPED_SWARM_PORTS
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let m = root().join("experiments/locust-swarm.yaml");
    let args = apply_args(&m);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, _) = soy(&args, Duration::from_secs(400));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = std::fs::canonicalize(runs().join("locust-swarm").join("latest")).expect("latest");
    let results = json_file(&dir.join("results.json"));
    let l = &results["locust"];
    assert_eq!(l["most_workers"], 2, "{l}");
    assert_eq!(l["final_stats"], true, "{l}");
    // Debian's Locust in the image, its version from the image's label.
    assert_eq!(l["version"], "2.12.1", "{l}");
    let workers = l["workers"].as_array().expect("workers");
    assert_eq!(workers.len(), 2, "{l}");
    // The master's total is Locust's CSV, and the sum of what each worker reported.
    let total = results["total"]["requests"].as_u64().expect("total");
    assert!(total > 500, "{total}");
    assert_eq!(total, csv_total(&dir.join("locust/locust_stats.csv")));
    let summed: u64 = workers
        .iter()
        .map(|w| w["requests"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(summed, total, "{l}");
    assert!(
        workers.iter().all(|w| w["most_users"] == 10),
        "20 users over two workers: {l}"
    );
    // The gateway (scraped by the stack's Prometheus) forwarded every request but the
    // logins it answers itself, within 1%.
    let logins = results["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .find(|r| r["name"] == "/login")
        .and_then(|r| r["requests"].as_u64())
        .unwrap_or(0);
    let series = json_file(&dir.join("metrics/series.json"));
    let upstream = series
        .as_array()
        .expect("series")
        .iter()
        .find(|q| q["name"] == "upstream_completed")
        .and_then(|q| q["series"][0]["points"].as_array().cloned())
        .expect("upstream_completed")
        .iter()
        .filter_map(|p| p[1].as_f64())
        .fold(0.0, f64::max);
    let expected = (total - logins) as f64;
    assert!(
        (upstream - expected).abs() <= 0.01 * expected,
        "gateway {upstream} vs Locust {expected}"
    );
    // Each container's output is kept, and nothing of Locust's is left on the swarm.
    for log in ["locust.log", "locust-worker-1.log", "locust-worker-2.log"] {
        assert!(dir.join("logs").join(log).is_file(), "{log}");
    }
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report");
    assert!(
        report.contains("| Locust worker | most users | requests |"),
        "{report}"
    );
    assert_eq!(leftovers("soy-locust-demo").trim(), "");
}

#[test]
fn a_locust_worker_killed_mid_run_is_reported_and_the_run_goes_on() {
    requires!(docker);
    require_locust_image();
    let stack = format!("soylk{}", std::process::id());
    let name = "locust-worker-lost";
    let port = stack_file(name, "soy-demo:latest", &[]);
    let m = root()
        .join("target/test-tmp/swarm")
        .join(format!("{name}.yaml"));
    std::fs::write(
        &m,
        format!(
            "apiVersion: soy/v1\nkind: Experiment\nmetadata: {{name: {name}}}\nstack:\n  driver: swarm\n  file: {name}.yml\n  name: {stack}\n  ready: {{timeout: 120s, http: [{{url: \"http://127.0.0.1:{port}/health\"}}]}}\nload:\n  driver: locust\n  locust: {{file: {file}, workers: 2}}\n  host: http://gateway:8080\n  users: 8\n  spawn_rate: 8\n  run_time: 24s\nslos:\n  - {{load: error_rate, max: 1%}}\nreport: {{formats: [markdown, json]}}\n",
            file = root().join("experiments/locust/locustfile.py").display()
        ),
    )
    .expect("write manifest");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_soy"))
        .args(apply_args(&m))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Once the load runs (the gateway has forwarded requests, which only the load sends),
    // one worker's container is killed.
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    let forwarded = || {
        super::gateway_metric(
            port,
            "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"ms_exercise_cluster\"}",
        )
    };
    while forwarded() < 50.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the load never started"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let label = format!("label=com.docker.swarm.service.name={stack}_locust-worker");
    let ids = docker(&["ps", "-q", "--filter", &label]);
    let victim = ids.lines().next().expect("a worker container").to_string();
    docker(&["kill", &victim]);
    let at_kill = forwarded();
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = std::fs::canonicalize(runs().join(name).join("latest")).expect("latest");
    let results = json_file(&dir.join("results.json"));
    let workers = results["locust"]["workers"].as_array().expect("workers");
    assert_eq!(workers.len(), 2, "{results}");
    let lost: Vec<&serde_json::Value> = workers
        .iter()
        .filter(|w| w["lost_at_s"].is_number())
        .collect();
    assert_eq!(lost.len(), 1, "one worker lost: {workers:?}");
    assert!(
        lost[0]["id"]
            .as_str()
            .unwrap_or("")
            .starts_with(&victim[..12]),
        "the killed one ({victim}): {workers:?}"
    );
    // The run went on with the other worker: requests after the kill.
    let total = results["total"]["requests"].as_f64().expect("total");
    assert!(
        total > at_kill + 50.0,
        "{total} requests, {at_kill} at the kill"
    );
    let summary = json_file(&dir.join("summary.json"));
    let note = summary["load"]["note"].as_str().unwrap_or("");
    assert!(
        note.contains("1 of 2 Locust workers stopped reporting"),
        "{note}"
    );
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report");
    assert!(report.contains("lost at"), "{report}");
    assert_eq!(leftovers(&stack).trim(), "");
}

/// The autoscale stack (CPU-burning ms-exercise) on a free port; returns (manifest, port).
fn autoscale_experiment(name: &str, stack: &str, policy: &str) -> PathBuf {
    let port = free_port();
    let dir = root().join("target").join("test-tmp").join("swarm");
    std::fs::create_dir_all(&dir).expect("dir");
    let compose = std::fs::read_to_string(root().join("stacks/autoscale-swarm.yml"))
        .expect("autoscale stack")
        .replace("published: 18190", &format!("published: {port}"));
    std::fs::write(dir.join(format!("{name}.yml")), compose).expect("write stack");
    let manifest = format!(
        r#"apiVersion: soy/v1
kind: Experiment
metadata: {{name: {name}}}
stack:
  driver: swarm
  file: {name}.yml
  name: {stack}
  ready: {{timeout: 120s, http: [{{url: "http://127.0.0.1:{port}/health"}}]}}
load:
  host: http://127.0.0.1:{port}
  spawn_rate: 20
  think_time: {{min: 40ms, max: 60ms}}
  cooldown: 30s
  shape:
    kind: stages
    stages:
      - {{duration: 6s, target: 1}}
      - {{duration: 24s, target: 12}}
      - {{duration: 6s, target: 1}}
  tasks:
    - {{name: list, request: {{path: /api/exercises}}}}
metrics:
  source: {{kind: embedded, scrape_interval: 1s}}
  rate_window: 6s
autoscale:
  - service: ms-exercise
    min: 1
    max: 3
    interval: 2s
    metric: {{preset: cadvisor.cpu, per_replica: true}}
{policy}
report: {{formats: [html, markdown, json]}}
"#
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, manifest).expect("write manifest");
    path
}

/// Applies an autoscale experiment (its SLO verdict aside, it must complete) and returns
/// the replica changes its controller made.
fn run_autoscale(name: &str, stack: &str, policy: &str) -> Vec<(f64, u64, u64)> {
    let m = autoscale_experiment(name, stack, policy);
    let args = apply_args(&m);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, _) = soy(&args, Duration::from_secs(300));
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        text(&out.stderr)
    );
    changes_of(name)
}

/// The replica changes a controller made: `(at, from, to)`.
fn changes_of(name: &str) -> Vec<(f64, u64, u64)> {
    let s = summary(name);
    let r = &s["scaling"][0];
    assert_eq!(r["service"], "ms-exercise", "{s}");
    let decisions = r["decisions"].as_array().expect("decisions");
    assert!(
        decisions
            .iter()
            .all(|d| !d["reason"].as_str().unwrap_or("").is_empty()),
        "every decision has its reason: {decisions:?}"
    );
    decisions
        .iter()
        .filter(|d| d["from"] != d["to"])
        .map(|d| {
            (
                d["at"].as_f64().unwrap_or(0.0),
                d["from"].as_u64().unwrap_or(0),
                d["to"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn the_hpa_controller_scales_out_under_the_ramp_and_back_in_after_it() {
    requires!(docker);
    let stack = format!("soyas{}", std::process::id());
    let changes = run_autoscale(
        "autoscale-target",
        &stack,
        "    target: {value: 0.2, down_window: 10s}",
    );
    // Out during the ramp (6 s to 30 s), within the limits, and back to `min` after it.
    let first_up = changes
        .iter()
        .find(|(_, from, to)| to > from)
        .unwrap_or_else(|| panic!("no scale-out: {changes:?}"));
    assert!(first_up.0 < 32.0, "{changes:?}");
    assert!(
        changes.iter().all(|(_, _, to)| (1..=3).contains(to)),
        "{changes:?}"
    );
    assert!(changes.iter().any(|(_, _, to)| *to >= 2), "{changes:?}");
    let last = changes.last().expect("changes");
    assert_eq!(last.2, 1, "back to one replica: {changes:?}");
    assert!(last.0 > 30.0, "after the ramp: {changes:?}");
    // The down window: no scale-in within 10 s of a scale-out.
    for (t, from, to) in &changes {
        if to < from {
            assert!(
                !changes
                    .iter()
                    .any(|(u, f, o)| o > f && *u < *t && t - u < 10.0),
                "a scale-in at {t} s within 10 s of a scale-out: {changes:?}"
            );
        }
    }
    // Each change is an event of the run and a row of the report's scaling section.
    let s = summary("autoscale-target");
    let events = s["events"].as_array().expect("events");
    assert!(
        events.iter().any(|e| e["what"]
            .as_str()
            .unwrap_or("")
            .starts_with("autoscale ms-exercise 1 → ")),
        "{events:?}"
    );
    let dir = std::fs::canonicalize(runs().join("autoscale-target").join("latest")).expect("dir");
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report");
    assert!(md.contains("### Scaling"), "{md}");
    // The controller's figures: its changes, its reaction and the replica-seconds it used.
    let f = &s["scaling"][0]["figures"];
    assert_eq!(f["changes"].as_u64(), Some(changes.len() as u64), "{f}");
    let reaction = f["reaction_s"].as_f64().expect("reaction");
    assert!((0.0..=20.0).contains(&reaction), "{f}");
    assert!(f["replica_seconds"].as_f64().unwrap_or(0.0) > 60.0, "{f}");
    assert!(md.contains("replica-seconds, reaction "), "{md}");
    // The controller's chart: replicas, load, latency and the metric on one time axis, each
    // change marked, in the HTML section and linked from the Markdown.
    assert!(md.contains("(charts/scaling-ms_exercise.svg)"), "{md}");
    let chart = std::fs::read_to_string(dir.join("charts").join("scaling-ms_exercise.svg"))
        .expect("scaling chart");
    let (_, from, to) = changes[0];
    assert!(
        chart.contains(&format!("{from} → {to}")),
        "first change marked"
    );
    for panel in [
        "ms-exercise replicas",
        "requests/s",
        "p95 latency",
        "target 0.2",
    ] {
        assert!(chart.contains(panel), "{panel} in the scaling chart");
    }
    let html = std::fs::read_to_string(dir.join("report.html")).expect("html");
    assert!(
        html.contains("id=\"scaling-chart-ms-exercise\""),
        "in the scaling section"
    );
    assert_eq!(leftovers(&stack).trim(), "");
}

#[test]
fn the_threshold_controller_steps_out_and_in_with_its_cooldowns() {
    requires!(docker);
    let stack = format!("soyat{}", std::process::id());
    let changes = run_autoscale(
        "autoscale-threshold",
        &stack,
        "    threshold: {upper: 0.3, lower: 0.1, step: 1, up_cooldown: 6s, down_cooldown: 10s}",
    );
    // One step at a time, never beyond the limits, out and back in.
    assert!(
        changes
            .iter()
            .all(|(_, from, to)| from.abs_diff(*to) == 1 && (1..=3).contains(to)),
        "{changes:?}"
    );
    assert!(changes.iter().any(|(_, f, t)| t > f), "{changes:?}");
    assert!(changes.iter().any(|(_, f, t)| t < f), "{changes:?}");
    // Cooldowns: 6 s after any change before the next step out, 10 s before a step in.
    for w in changes.windows(2) {
        let ((t0, _, _), (t1, f1, to1)) = (w[0], w[1]);
        let wait = if to1 > f1 { 6.0 } else { 10.0 };
        assert!(t1 - t0 >= wait - 0.5, "{w:?} in {changes:?}");
    }
    assert_eq!(leftovers(&stack).trim(), "");
}

#[test]
fn the_shipped_capacity_demo_finds_more_users_for_more_replicas() {
    requires!(docker);
    // experiments/capacity-demo.yaml as a user runs it: a capacity search over users for 1,
    // 2 and 3 replicas of an ms-exercise whose replicas serve 4 requests at once each.
    let _ports = super::harness::SHIPPED_SWARM_PORTS
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let m = root().join("experiments/capacity-demo.yaml");
    let args = apply_args(&m);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, _) = soy(&args, Duration::from_secs(600));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = std::fs::canonicalize(runs().join("capacity-demo").join("latest")).expect("latest");
    let rec = json_file(&dir.join("campaign.json"));
    assert_eq!(rec["status"], "complete");
    let searches = rec["searches"].as_array().expect("searches");
    assert_eq!(searches.len(), 3);
    let caps: Vec<f64> = searches
        .iter()
        .map(|s| {
            assert_eq!(s["done"], true, "{s}");
            s["capacity"]
                .as_f64()
                .unwrap_or_else(|| panic!("a capacity: {s}"))
        })
        .collect();
    // About 4 users a replica: each replica count holds more than the one before.
    assert!((2.0..=6.0).contains(&caps[0]), "{caps:?}");
    assert!(caps[0] < caps[1] && caps[1] < caps[2], "{caps:?}");
    // The probes of one replica count share a deployment; each new count deploys again.
    let runs_: Vec<(String, bool)> = rec["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| {
            (
                r["configuration"].as_str().unwrap_or("").to_string(),
                r["deployed"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    for (i, (cfg, deployed)) in runs_.iter().enumerate() {
        let first = i == 0 || runs_[i - 1].0 != *cfg;
        assert_eq!(*deployed, first, "run {i} of {cfg}");
    }
    // Replicas as swept: the first run of 3 replicas saw 3 ready ms-exercise tasks.
    let third = rec["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .find(|r| r["configuration"].as_str().unwrap_or("").ends_with("-3"))
        .expect("a run with 3 replicas");
    let resolved = json_file(
        &dir.join(third["id"].as_str().expect("id"))
            .join("resolved.json"),
    );
    let replicas = resolved["stack"]["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["name"] == "ms-exercise")
        .map(|s| s["replicas"].clone());
    assert_eq!(replicas, Some(serde_json::json!(3)));
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(md.contains("## Capacity"), "{md}");
    assert!(dir.join("charts/capacity.svg").is_file());
    assert_eq!(leftovers("soy-capacity").trim(), "");
}
