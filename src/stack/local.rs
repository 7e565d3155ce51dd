//! The `local` stack driver: services as local processes, each under `soy supervise` in its
//! own process group so the whole tree can be signalled; output to log files in the run
//! directory; stopped with SIGTERM, then SIGKILL after a grace period, on every exit path (the
//! guard's `Drop` included). Each supervisor watches a pipe only soy holds open, so the
//! services die with soy even when soy is killed with SIGKILL.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::StackError;
use crate::manifest::model::LocalService;
use crate::process::{Spawn, Supervised, find_program, procfs, run_tag, tail};

/// Time between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(3);

/// One running service (its supervisor, which leads the process group).
pub struct Running {
    pub name: String,
    pub process: Supervised,
    pub log: PathBuf,
}

/// The running local stack; stops every process when dropped.
#[derive(Default)]
pub struct LocalStack {
    pub services: Vec<Running>,
}

impl LocalStack {
    /// The started processes, as the run's state records them.
    pub fn processes(&self) -> Vec<super::driver::Process> {
        self.services
            .iter()
            .map(|r| super::driver::Process {
                name: r.name.clone(),
                pgid: r.process.pgid(),
                started: r.process.started,
            })
            .collect()
    }

    /// Starts one service under `soy supervise`. `soy` as command means this soy binary.
    pub fn start(
        &mut self,
        svc: &LocalService,
        manifest_dir: &Path,
        logs: &Path,
        run: &str,
    ) -> Result<(), StackError> {
        let soy = std::env::current_exe().map_err(StackError::OwnBinary)?;
        let program = if svc.command == "soy" {
            soy
        } else if svc.command.contains('/') {
            manifest_dir.join(&svc.command)
        } else {
            PathBuf::from(&svc.command)
        };
        let program = find_program(&program).map_err(|reason| StackError::NoProgram {
            service: svc.name.clone(),
            reason: reason.to_string(),
            command: format!("{} {}", svc.command, svc.args.join(" ")),
        })?;
        let mut env = Vec::new();
        for (k, v) in &svc.env {
            let v = crate::manifest::env::resolve_from_process(v).map_err(|source| {
                StackError::ServiceEnv {
                    service: svc.name.clone(),
                    key: k.clone(),
                    source,
                }
            })?;
            env.push((k.into(), v.into()));
        }
        // Marks the service's processes as this run's, for `soy down` (see `stop_recorded`).
        if let Some((k, v)) = run_tag(run).split_once('=') {
            env.push((k.into(), v.into()));
        }
        let log = logs.join(format!("{}.log", svc.name));
        let spawn = Spawn {
            args: svc.args.iter().map(Into::into).collect(),
            env,
            workdir: svc
                .workdir
                .as_ref()
                .map_or_else(|| manifest_dir.to_path_buf(), |w| manifest_dir.join(w)),
            log: log.clone(),
            program,
        };
        let process = Supervised::start(&spawn).map_err(|source| StackError::Spawn {
            service: svc.name.clone(),
            source,
        })?;
        self.services.push(Running {
            name: svc.name.clone(),
            process,
            log,
        });
        Ok(())
    }

    /// The first service that has exited, with its status and last log lines.
    pub fn exited(&mut self) -> Option<String> {
        for s in &mut self.services {
            if let Some(status) = s.process.exited() {
                return Some(format!(
                    "service `{}` exited ({}); last output:\n{}",
                    s.name,
                    describe_exit(status),
                    tail(&s.log, 10)
                ));
            }
        }
        None
    }

    /// Stops every service: SIGTERM to each process group, SIGKILL after `GRACE`.
    /// A group whose supervisor was already waited for is not signalled: its supervisor
    /// emptied it before exiting, and its id may belong to someone else by now.
    pub fn stop(&mut self) {
        for s in &self.services {
            s.process.terminate();
        }
        let deadline = Instant::now() + GRACE;
        for s in &mut self.services {
            s.process.finish_by(deadline);
        }
        self.services.clear();
    }

    /// Leaves the services running after soy ends (`teardown: never`): tells each
    /// supervisor so, and forgets them.
    pub fn detach(mut self) {
        for s in std::mem::take(&mut self.services) {
            s.process.detach();
        }
    }

    /// Process-group ids, for /proc sampling.
    pub fn groups(&self) -> Vec<(String, i32)> {
        self.services
            .iter()
            .map(|s| (s.name.clone(), s.process.pgid()))
            .collect()
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stops what is left of a process group soy started in run `run`; returns whether anything
/// was running. The group is soy's while its leader is the very supervisor recorded then;
/// once the leader is gone, only processes that carry the run's tag in their environment
/// are stopped (a group id may have been reused since).
pub fn stop_recorded(pgid: i32, started: u64, run: &str) -> bool {
    let tag = run_tag(run);
    if procfs::same_alive(pgid, started) {
        let group = Pid::from_raw(pgid);
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + GRACE;
        while procfs::same_alive(pgid, started) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if procfs::same_alive(pgid, started) {
            let _ = killpg(group, Signal::SIGKILL);
        }
        return true;
    }
    let ours = || -> Vec<i32> {
        procfs::group_members(pgid)
            .into_iter()
            .filter(|p| procfs::environ_has(*p, &tag))
            .collect()
    };
    let left = ours();
    if left.is_empty() {
        return false;
    }
    for p in &left {
        let _ = nix::sys::signal::kill(Pid::from_raw(*p), Signal::SIGTERM);
    }
    let deadline = Instant::now() + GRACE;
    while !ours().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for p in ours() {
        let _ = nix::sys::signal::kill(Pid::from_raw(p), Signal::SIGKILL);
    }
    true
}

/// An exit status as people read it: the supervisor reports a service killed by signal N
/// as 128 + N, as shells do.
fn describe_exit(status: std::process::ExitStatus) -> String {
    match status.code() {
        Some(c) if c > 128 && c < 160 => {
            let sig =
                Signal::try_from(c - 128).map_or_else(|_| (c - 128).to_string(), |s| s.to_string());
            format!("killed by {sig}")
        }
        _ => status.to_string(),
    }
}
