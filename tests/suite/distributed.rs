//! `load.distributed` on a real Docker engine: soy's coordinator and workers as services of
//! the demo stack (soy-demo:latest, built by scripts/build-images), the load inside the
//! stack's network, soy reading the coordinator on 127.0.0.1.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::swarm::{apply_args, docker, json_file, leftovers, stack_file};
use super::{free_port, gateway_metric, root, runs, soy, text};

/// A manifest loading the demo stack (gateway on a free loopback port) with soy's workers.
fn experiment(name: &str, stack: &str, load: &str, distributed: &str) -> (PathBuf, u16) {
    let port = stack_file(name, "soy-demo:latest", &[]);
    let coordinator = free_port();
    let m = root()
        .join("target/test-tmp/swarm")
        .join(format!("{name}.yaml"));
    std::fs::write(
        &m,
        format!(
            "apiVersion: soy/v1\nkind: Experiment\nmetadata: {{name: {name}}}\nstack:\n  driver: swarm\n  file: {name}.yml\n  name: {stack}\n  ready: {{timeout: 120s, http: [{{url: \"http://127.0.0.1:{port}/health\"}}]}}\nload:\n  host: http://gateway:8080\n{load}  distributed: {{port: {coordinator}, {distributed}}}\n  tasks:\n    - {{name: list, request: {{path: /api/exercises}}, check: {{status: 200}}}}\nslos:\n  - {{load: error_rate, max: 1%}}\nreport: {{formats: [markdown, json]}}\n"
        ),
    )
    .expect("write manifest");
    (m, port)
}

fn latest(name: &str) -> PathBuf {
    std::fs::canonicalize(runs().join(name).join("latest")).expect("latest")
}

/// Requests the demo gateway on `port` forwarded to its upstreams.
fn forwarded(port: u16) -> f64 {
    gateway_metric(
        port,
        "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"ms_exercise_cluster\"}",
    )
}

/// Waits until the gateway has forwarded more than `n` requests (the load is under way).
fn wait_for_load(port: u16, n: f64) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while forwarded(port) <= n {
        assert!(Instant::now() < deadline, "the load never started");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn container_of(service: &str) -> String {
    let label = format!("label=com.docker.swarm.service.name={service}");
    let ids = docker(&["ps", "-q", "--filter", &label]);
    ids.lines().next().expect("a running container").to_string()
}

fn start(m: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_soy"))
        .args(apply_args(m))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn soy")
}

#[test]
fn the_shipped_distributed_example_merges_three_workers_into_one_exact_run() {
    requires!(docker);
    let _ports = super::harness::SHIPPED_SWARM_PORTS
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let m = root().join("experiments/swarm-distributed.yaml");
    let args = apply_args(&m);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, _) = soy(&args, Duration::from_secs(400));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = latest("swarm-distributed");
    let results = json_file(&dir.join("results.json"));
    let d = &results["distributed"];
    let workers = d["workers"].as_array().expect("workers");
    assert_eq!(workers.len(), 3, "{d}");
    // The merge is the run: its total is the workers' sum, and the gateway's count.
    let total = results["total"]["requests"].as_u64().expect("total");
    let summed: u64 = workers
        .iter()
        .map(|w| w["requests"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(summed, total, "{d}");
    assert!(total > 3000, "{total}");
    let series = json_file(&dir.join("metrics/series.json"));
    let upstream = series
        .as_array()
        .expect("series")
        .iter()
        .find(|q| q["name"] == "upstream_total")
        .and_then(|q| q["series"][0]["points"].as_array().cloned())
        .expect("upstream_total")
        .iter()
        .filter_map(|p| p[1].as_f64())
        .fold(0.0, f64::max);
    assert!(
        (upstream - total as f64).abs() <= 0.01 * total as f64,
        "gateway {upstream} vs soy {total}"
    );
    // Every worker ran about a third of the users.
    for w in workers {
        let (met, planned) = (w["met"].as_f64().unwrap(), w["planned"].as_f64().unwrap());
        assert!((met - planned).abs() <= 0.05 * planned, "{w}");
    }
    // The users alive each second are the stages' plan for one generator, within one spawn
    // step (each worker's count is read at its own flush of the second).
    let (_, plan) = soy::plan::load(&m).expect("plan");
    let planned = soy::load::segment::planned(
        soy::manifest::model::Workload::Closed,
        &plan.load.segments,
        plan.load.spawn_rate,
        plan.load.run_time.0.as_secs_f64(),
        soy::load::segment::Share::WHOLE,
    );
    let rows = results["series"].as_array().expect("series");
    assert!(rows.len() >= 35, "{} seconds", rows.len());
    for (row, want) in rows.iter().zip(&planned).take(34) {
        let active = row["active"].as_i64().unwrap();
        assert!(
            (active - *want as i64).abs() <= 3,
            "second {}: {active} users alive, {want} planned",
            row["second"]
        );
    }
    for log in [
        "soy-coordinator.log",
        "soy-worker-1.log",
        "soy-worker-3.log",
    ] {
        assert!(dir.join("logs").join(log).is_file(), "{log}");
    }
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report");
    assert!(
        report.contains("| soy worker | requests | failures | CPU used | plan met | state |"),
        "{report}"
    );
    assert!(report.contains("merged exactly"), "{report}");
    assert_eq!(leftovers("soy-dist-demo").trim(), "");
}

#[test]
fn an_open_model_split_over_workers_keeps_the_planned_arrival_rate() {
    requires!(docker);
    let stack = format!("soydo{}", std::process::id());
    let name = "distributed-open";
    let (m, _) = experiment(
        name,
        &stack,
        "  model: open\n  rate: 150\n  run_time: 12s\n",
        "workers: 3",
    );
    let args = apply_args(&m);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, _) = soy(&args, Duration::from_secs(300));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let results = json_file(&latest(name).join("results.json"));
    let started = results["open"]["started"].as_f64().expect("started");
    let dropped = results["open"]["dropped"].as_f64().expect("dropped");
    assert!(
        ((started + dropped) - 1800.0).abs() <= 18.0,
        "{started} started and {dropped} dropped of 1800 planned"
    );
    // The arrivals were dealt in turn: each worker started a third.
    for w in results["distributed"]["workers"]
        .as_array()
        .expect("workers")
    {
        let met = w["met"].as_f64().unwrap();
        assert!((met - 600.0).abs() <= 6.0, "{w}");
        assert_eq!(w["planned_total"], 600, "{w}");
    }
    assert_eq!(leftovers(&stack).trim(), "");
}

#[test]
fn a_global_service_runs_one_worker_per_node_and_waits_for_just_those() {
    requires!(docker);
    let stack = format!("soydg{}", std::process::id());
    let name = "distributed-global";
    let (m, _) = experiment(
        name,
        &stack,
        "  users: 4\n  spawn_rate: 20\n  run_time: 6s\n  think_time: {min: 10ms, max: 20ms}\n",
        "mode: global",
    );
    let args = apply_args(&m);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, _) = soy(&args, Duration::from_secs(300));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let nodes = docker(&["node", "ls", "-q"]).lines().count();
    let dir = latest(name);
    let results = json_file(&dir.join("results.json"));
    let workers = results["distributed"]["workers"]
        .as_array()
        .expect("workers");
    assert_eq!(workers.len(), nodes, "one worker per node: {workers:?}");
    // The coordinator knew how many to wait for (not "any, for `wait`").
    let log = std::fs::read_to_string(dir.join("logs/soy-coordinator.log")).expect("log");
    assert!(log.contains(&format!("{nodes} expected")), "{log}");
    assert!(results["total"]["requests"].as_u64().unwrap_or(0) > 100);
    assert_eq!(leftovers(&stack).trim(), "");
}

#[test]
fn a_worker_killed_mid_run_is_named_and_the_others_go_on() {
    requires!(docker);
    let stack = format!("soydk{}", std::process::id());
    let name = "distributed-worker-lost";
    let (m, port) = experiment(
        name,
        &stack,
        "  users: 9\n  spawn_rate: 20\n  run_time: 20s\n  think_time: {min: 20ms, max: 40ms}\n",
        "workers: 3, on_worker_loss: continue",
    );
    let child = start(&m);
    wait_for_load(port, 300.0);
    let victim = container_of(&format!("{stack}_soy-worker"));
    docker(&["kill", &victim]);
    let at_kill = forwarded(port);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = latest(name);
    let results = json_file(&dir.join("results.json"));
    let d = &results["distributed"];
    let lost: Vec<&serde_json::Value> = d["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .filter(|w| w["lost"].is_string())
        .collect();
    assert_eq!(lost.len(), 1, "one worker lost: {d}");
    assert!(
        victim.starts_with(lost[0]["name"].as_str().unwrap_or("-")),
        "{victim}: {d}"
    );
    // Its seconds until the kill are kept; the others sent the rest.
    assert!(lost[0]["requests"].as_u64().unwrap_or(0) > 0, "{d}");
    let unsent = d["unsent"].as_f64().expect("unsent");
    assert!(unsent > 0.05 && unsent < 0.34, "{unsent}");
    let total = results["total"]["requests"].as_f64().expect("total");
    assert!(
        total > at_kill + 200.0,
        "{total} requests, {at_kill} at the kill"
    );
    let summary = json_file(&dir.join("summary.json"));
    assert_ne!(summary["status"], "incomplete", "{summary}");
    let note = summary["load"]["note"].as_str().unwrap_or("");
    assert!(note.contains("1 of 3 workers were lost"), "{note}");
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report");
    assert!(report.contains("lost after second"), "{report}");
    assert_eq!(leftovers(&stack).trim(), "");
}

/// Runs 60 s of 6 users from 2 workers, kills the first container of service `<stack>_<kill>`
/// once the gateway has forwarded `after` requests, and expects exit 3 with the run
/// incomplete for a reason containing `why`; returns the run's results.
fn killed_run(
    name: &str,
    stack: &str,
    distributed: &str,
    kill: &str,
    after: f64,
    why: &str,
) -> serde_json::Value {
    let (m, port) = experiment(
        name,
        stack,
        "  users: 6\n  spawn_rate: 20\n  run_time: 60s\n  think_time: {min: 20ms, max: 40ms}\n",
        distributed,
    );
    let child = start(&m);
    wait_for_load(port, after);
    docker(&["kill", &container_of(&format!("{stack}_{kill}"))]);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let dir = latest(name);
    let summary = json_file(&dir.join("summary.json"));
    assert_eq!(summary["status"], "incomplete", "{summary}");
    let reason = summary["reason"].as_str().unwrap_or("");
    assert!(reason.contains(why), "{reason}");
    assert!(dir.join("report.md").is_file());
    assert_eq!(leftovers(stack).trim(), "");
    json_file(&dir.join("results.json"))
}

#[test]
fn a_worker_lost_under_abort_ends_the_run_incomplete() {
    requires!(docker);
    let stack = format!("soyda{}", std::process::id());
    let results = killed_run(
        "distributed-worker-abort",
        &stack,
        "workers: 2, on_worker_loss: abort",
        "soy-worker",
        500.0,
        "on_worker_loss: abort",
    );
    // What was sent until then is kept, and the run ended well before its 60 s.
    assert!(
        results["total"]["requests"].as_u64().unwrap_or(0) > 200,
        "{results}"
    );
    assert!(
        results["duration_s"].as_f64().unwrap_or(99.0) < 45.0,
        "{results}"
    );
}

#[test]
fn a_lost_coordinator_keeps_what_was_received_and_leaves_nothing() {
    requires!(docker);
    let stack = format!("soydc{}", std::process::id());
    let results = killed_run(
        "distributed-coordinator-lost",
        &stack,
        "workers: 2",
        "soy-coordinator",
        300.0,
        "coordinator was lost",
    );
    assert!(
        results["total"]["requests"].as_u64().unwrap_or(0) > 100,
        "{results}"
    );
    assert_eq!(
        results["distributed"]["coordinator_lost"], true,
        "{results}"
    );
}

/// Removes a stack deployed with `docker stack deploy` when the test ends, however it ends.
struct Deployed(String);

impl Drop for Deployed {
    fn drop(&mut self) {
        docker(&["stack", "rm", &self.0]);
    }
}

/// Whether `GET path` on the gateway at `port` answers 200 (the stack has converged).
fn answers(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}

#[test]
fn soy_load_sends_from_workers_inside_a_running_stack() {
    requires!(docker);
    // The coordinator's default port, 17600, is the shipped example's too.
    let _ports = super::harness::SHIPPED_SWARM_PORTS
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let stack = format!("soydl{}", std::process::id());
    let name = "distributed-load";
    let port = stack_file(name, "soy-demo:latest", &[]);
    let file = root()
        .join("target/test-tmp/swarm")
        .join(format!("{name}.yml"));
    let out = std::process::Command::new("docker")
        .args(["stack", "deploy", "-c"])
        .arg(&file)
        .arg(&stack)
        .output()
        .expect("docker stack deploy");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let _up = Deployed(stack.clone());
    let deadline = Instant::now() + Duration::from_secs(120);
    while !answers(port, "/api/exercises") {
        assert!(Instant::now() < deadline, "the stack never answered");
        std::thread::sleep(Duration::from_millis(200));
    }
    // A host that is not one of the stack's services is refused with the ones it has.
    let (bad, _) = soy(
        &[
            "load",
            "--stack",
            &stack,
            "--workers",
            "2",
            "-H",
            "http://nope:8080",
            "-u",
            "2",
            "-t",
            "2s",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("gateway"),
        "{}",
        text(&bad.stderr)
    );
    let before = forwarded(port);
    let json = root().join("target/test-tmp/swarm/distributed-load.json");
    let j = json.to_str().expect("utf8");
    let (out, _) = soy(
        &[
            "load",
            "--stack",
            &stack,
            "--workers",
            "2",
            "-H",
            "http://gateway:8080/api/exercises",
            "-u",
            "4",
            "-r",
            "20",
            "-t",
            "6s",
            "--json",
            j,
        ],
        Duration::from_secs(180),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let results = json_file(&json);
    let total = results["total"]["requests"].as_f64().expect("total");
    let sent = forwarded(port) - before;
    assert!(total > 100.0, "{total}");
    assert!(
        (sent - total).abs() <= 0.01 * total,
        "gateway {sent} vs soy {total}"
    );
    assert_eq!(
        results["distributed"]["workers"].as_array().map(Vec::len),
        Some(2)
    );
    // The coordinator and workers are gone; the stack itself stays up.
    let services = docker(&["service", "ls", "--format", "{{.Name}}"]);
    assert!(!services.contains(&format!("{stack}_soy-")), "{services}");
    assert!(services.contains(&format!("{stack}_gateway")), "{services}");
}
