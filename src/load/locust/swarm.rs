//! Locust's master and workers as swarm services in the stack's network (`locust.workers`).
//!
//! `spec` is pure: the two services and the config files they need, as Engine API objects
//! labelled with the stack's namespace (so the stack's teardown removes whatever is left).
//! The master runs on this node with the run directory bind-mounted at its own path, so
//! Locust's CSV files and soy's hook output land in the run directory as with a local
//! Locust; the locustfiles reach the workers as swarm configs, at the same absolute paths,
//! so the command lines are the local ones. `Deployed` runs them on the Engine.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::command::{Layout, LocustRun};
use crate::stack::StackError;
use crate::stack::swarm::Swarm;
use crate::stack::swarm_spec::{FileKind, FileObject, NAMESPACE, StackSpec};
use crate::stack::swarm_tasks::TaskState;

/// How long the master waits for every worker to connect before it gives up (Locust's
/// `--expect-workers-max-wait`).
pub const WORKERS_WAIT: Duration = Duration::from_secs(60);
/// How long a worker has to stop once asked.
const WORKER_GRACE: Duration = Duration::from_secs(5);

/// Where Locust's master and workers run, as the plan resolved it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SwarmSetup {
    /// The stack (its namespace label and the services' name prefix).
    pub stack: String,
    pub workers: u32,
    pub image: String,
    /// The stack network of the service `load.host` names; the master and workers join it.
    pub network: String,
    /// The service `load.host` names.
    pub target: String,
}

impl SwarmSetup {
    pub fn master(&self) -> String {
        format!("{}_locust-master", self.stack)
    }

    pub fn worker(&self) -> String {
        format!("{}_locust-worker", self.stack)
    }
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos() as u64
}

/// A config's name: `<stack>_locust-<n>-<file name>`, in the characters swarm accepts and
/// short enough for the digest the deployer appends.
fn config_name(stack: &str, n: usize, path: &Path) -> String {
    let base: String = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("{stack}_locust-{n}-{base}");
    name.truncate(46);
    name
}

fn config_ref(name: &str, target: &Path) -> Value {
    json!({
        "File": {"Name": target.display().to_string(), "UID": "0", "GID": "0", "Mode": 0o444},
        "ConfigID": name,
        "ConfigName": name,
    })
}

/// The master and worker services and the files they need.
/// `version` is the image's Locust version (its `soy.locust.version` label), for a build
/// that reports none itself.
pub fn spec(
    run: &LocustRun,
    layout: &Layout,
    s: &SwarmSetup,
    node: &str,
    version: Option<&str>,
) -> StackSpec {
    let files = run.all_files(layout);
    let out_dir = layout
        .work
        .parent()
        .map_or_else(|| layout.work.clone(), Path::to_path_buf);
    let objects: Vec<FileObject> = files
        .iter()
        .enumerate()
        .map(|(n, f)| FileObject {
            kind: FileKind::Config,
            key: format!("locust-{n}"),
            name: config_name(&s.stack, n, f),
            path: f.clone(),
        })
        .collect();
    // The master sees the run directory itself; files inside it need no config.
    let master_configs: Vec<Value> = objects
        .iter()
        .filter(|o| !o.path.starts_with(&out_dir))
        .map(|o| config_ref(&o.name, &o.path))
        .collect();
    let worker_configs: Vec<Value> = objects
        .iter()
        .map(|o| config_ref(&o.name, &o.path))
        .collect();
    let labels = json!({NAMESPACE: s.stack});
    let mut master_args = run.args(layout);
    master_args.extend([
        "--master".into(),
        "--expect-workers".into(),
        s.workers.to_string(),
        "--expect-workers-max-wait".into(),
        WORKERS_WAIT.as_secs().to_string(),
    ]);
    let versioned: Vec<String> = version
        .map(|v| format!("SOY_LOCUST_VERSION={v}"))
        .into_iter()
        .collect();
    let env: Vec<String> = run
        .env(layout)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .chain(versioned.iter().cloned())
        .collect();
    let worker_env: Vec<String> = ["PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"]
        .into_iter()
        .map(String::from)
        .chain(versioned)
        .collect();
    let list: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let mut worker_args = vec![
        "-f".to_string(),
        list.join(","),
        "--worker".into(),
        "--master-host".into(),
        s.master(),
    ];
    worker_args.extend(run.options.iter().cloned());
    worker_args.extend(run.user_classes.iter().cloned());
    let network = json!([{"Target": s.network}]);
    let master = json!({
        "Name": s.master(),
        "Labels": labels,
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": s.image,
                "Labels": labels,
                "Args": master_args,
                "Env": env,
                "Dir": run.workdir.display().to_string(),
                "Mounts": [{
                    "Type": "bind",
                    "Source": out_dir.display().to_string(),
                    "Target": out_dir.display().to_string(),
                }],
                "Configs": master_configs,
                "StopGracePeriod": nanos(super::driver::STOP_GRACE),
            },
            "RestartPolicy": {"Condition": "none"},
            // Where the run directory is.
            "Placement": {"Constraints": [format!("node.id=={node}")]},
            "Networks": network,
        },
        "Mode": {"Replicated": {"Replicas": 1}},
        "EndpointSpec": {"Mode": "dnsrr"},
    });
    let worker = json!({
        "Name": s.worker(),
        "Labels": labels,
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": s.image,
                "Labels": labels,
                "Args": worker_args,
                "Env": worker_env,
                "Dir": run.workdir.display().to_string(),
                "Configs": worker_configs,
                "StopGracePeriod": nanos(WORKER_GRACE),
            },
            // A lost worker stays lost: the master goes on with the others, and says so.
            "RestartPolicy": {"Condition": "none"},
            "Networks": network,
        },
        "Mode": {"Replicated": {"Replicas": s.workers}},
        "EndpointSpec": {"Mode": "dnsrr"},
    });
    StackSpec {
        stack: s.stack.clone(),
        networks: Vec::new(),
        files: objects,
        services: vec![master, worker],
    }
}

/// How the master ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    pub code: Option<i32>,
    pub text: String,
}

/// Locust's master and workers, deployed.
pub struct Deployed {
    sw: Swarm,
    setup: SwarmSetup,
}

impl Deployed {
    pub async fn start(
        run: &LocustRun,
        layout: &Layout,
        setup: &SwarmSetup,
    ) -> Result<Deployed, StackError> {
        let sw = Swarm::connect().await?;
        if !sw.image_exists(&setup.image).await {
            return Err(StackError::NoImage(setup.image.clone()));
        }
        let node = sw.node_id().await?;
        let version = sw.image_label(&setup.image, "soy.locust.version").await;
        let spec = spec(run, layout, setup, &node, version.as_deref());
        let d = Deployed {
            sw,
            setup: setup.clone(),
        };
        if let Err(e) = d.sw.deploy(&spec).await {
            d.remove().await;
            return Err(e);
        }
        Ok(d)
    }

    async fn master_task(&self) -> Option<TaskState> {
        self.sw.task_states(&self.setup.master()).await.ok()?.pop()
    }

    /// How the master ended, once it has.
    pub async fn ended(&self) -> Option<Ended> {
        let t = self.master_task().await?;
        t.ended().then(|| Ended {
            code: t.exit_code.map(|c| c as i32),
            text: match (&t.exit_code, &t.err) {
                (_, Some(err)) if t.state != "complete" => format!("task {}: {err}", t.state),
                (Some(c), _) => format!("exit status: {c}"),
                _ => format!("task {}", t.state),
            },
        })
    }

    /// Sends `signal` to the master's container; whether there was one to send it to.
    pub async fn signal(&self, signal: &str) -> bool {
        match self.master_task().await.and_then(|t| t.container) {
            Some(id) => self.sw.signal_container(&id, signal).await.is_ok(),
            None => false,
        }
    }

    /// Keeps every container's output (the master's in `log`, each worker's beside it as
    /// `locust-worker-<slot>.log`), then removes both services.
    pub async fn finish(self, log: &Path) {
        let dir = log.parent().map_or_else(PathBuf::new, Path::to_path_buf);
        let (master, worker) = (self.setup.master(), self.setup.worker());
        self.sw
            .keep_logs(
                (&master, log),
                (&worker, "locust-worker"),
                &dir,
                "Locust's output",
            )
            .await;
        self.remove().await;
    }

    async fn remove(&self) {
        for name in [self.setup.worker(), self.setup.master()] {
            let _ = self.sw.remove_service(&name).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> LocustRun {
        LocustRun {
            processes: None,
            host: Some("http://gateway:8080".into()),
            users: Some(10),
            run_time: Some(Duration::from_secs(30)),
            ..super::super::command::tests::run()
        }
    }

    #[test]
    fn a_master_on_this_node_and_workers_that_find_it() {
        let layout = Layout::in_run(Path::new("/r/run-1"), None);
        let setup = SwarmSetup {
            stack: "demo".into(),
            workers: 2,
            image: "soy-locust:latest".into(),
            network: "demo_backend".into(),
            target: "gateway".into(),
        };
        let s = spec(&run(), &layout, &setup, "node1", Some("2.12.1"));
        assert_eq!(s.stack, "demo");
        assert!(s.networks.is_empty(), "the stack's network exists already");
        let [master, worker] = &s.services[..] else {
            panic!("two services")
        };
        assert_eq!(master["Name"], "demo_locust-master");
        assert_eq!(master["Labels"][NAMESPACE], "demo");
        let args: Vec<&str> = master["TaskTemplate"]["ContainerSpec"]["Args"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let args = args.join(" ");
        assert!(
            args.starts_with("-f /m/locust/lf.py,/r/run-1/locust/soy_hook.py --headless"),
            "{args}"
        );
        assert!(
            args.ends_with("--master --expect-workers 2 --expect-workers-max-wait 60"),
            "{args}"
        );
        assert_eq!(
            master["TaskTemplate"]["Placement"]["Constraints"][0],
            "node.id==node1"
        );
        assert_eq!(
            master["TaskTemplate"]["ContainerSpec"]["Mounts"][0]["Source"],
            "/r/run-1"
        );
        // The hook is in the mounted run directory: only the locustfile is a config.
        let mc = master["TaskTemplate"]["ContainerSpec"]["Configs"]
            .as_array()
            .unwrap();
        assert_eq!(mc.len(), 1);
        assert_eq!(mc[0]["File"]["Name"], "/m/locust/lf.py");
        assert_eq!(worker["Mode"]["Replicated"]["Replicas"], 2);
        assert_eq!(
            worker["TaskTemplate"]["ContainerSpec"]["Env"],
            json!([
                "PYTHONUNBUFFERED=1",
                "PYTHONDONTWRITEBYTECODE=1",
                "SOY_LOCUST_VERSION=2.12.1"
            ])
        );
        assert_eq!(worker["TaskTemplate"]["RestartPolicy"]["Condition"], "none");
        let wargs: Vec<&str> = worker["TaskTemplate"]["ContainerSpec"]["Args"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            wargs.join(" "),
            "-f /m/locust/lf.py,/r/run-1/locust/soy_hook.py --worker --master-host demo_locust-master --stop-timeout 5 Web"
        );
        assert_eq!(
            worker["TaskTemplate"]["ContainerSpec"]["Configs"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(s.files.len(), 2);
        assert!(s.files.iter().all(|f| f.name.len() <= 46), "{:?}", s.files);
        assert_eq!(
            master["TaskTemplate"]["Networks"][0]["Target"],
            "demo_backend"
        );
    }
}
