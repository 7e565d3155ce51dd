//! The `local` stack driver: services as local processes, each under `soy supervise` in its
//! own process group so the whole tree can be signalled; output to log files in the run
//! directory; stopped with SIGTERM, then SIGKILL after a grace period, on every exit path (the
//! guard's `Drop` included). Each supervisor watches a pipe only soy holds open, so the
//! services die with soy even when soy is killed with SIGKILL.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::{StackError, procfs, supervise};
use crate::manifest::model::LocalService;

/// Time between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(3);

/// One running service (its supervisor, which leads the process group).
pub struct Running {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
    /// The supervisor's start time (`/proc/<pid>/stat`), to recognise it later.
    pub started: u64,
    /// soy's end of the pipe the supervisor reads: it closes when soy ends, however it ends.
    lifeline: Option<std::io::PipeWriter>,
    /// The supervisor has been waited for: its pid, and so its group id, may be reused now.
    reaped: bool,
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
                pgid: r.child.id() as i32,
                started: r.started,
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
            soy.clone()
        } else if svc.command.contains('/') {
            manifest_dir.join(&svc.command)
        } else {
            PathBuf::from(&svc.command)
        };
        let program = find_program(&program).map_err(|reason| StackError::NoProgram {
            service: svc.name.clone(),
            reason,
            command: format!("{} {}", svc.command, svc.args.join(" ")),
        })?;
        let create = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StackError::Create { path, source }
        };
        std::fs::create_dir_all(logs).map_err(create(logs))?;
        let log = logs.join(format!("{}.log", svc.name));
        let out = File::create(&log).map_err(create(&log))?;
        let output = |source| StackError::Output {
            service: svc.name.clone(),
            source,
        };
        let err = out.try_clone().map_err(output)?;
        let (lifeline, writer) = std::io::pipe().map_err(output)?;
        let workdir = svc
            .workdir
            .as_ref()
            .map_or_else(|| manifest_dir.to_path_buf(), |w| manifest_dir.join(w));
        let mut cmd = Command::new(&soy);
        cmd.arg("supervise")
            .arg("--")
            .arg(&program)
            .args(&svc.args)
            .current_dir(&workdir)
            .stdin(Stdio::from(lifeline))
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        for (k, v) in &svc.env {
            let v = crate::manifest::env::resolve_from_process(v).map_err(|source| {
                StackError::ServiceEnv {
                    service: svc.name.clone(),
                    key: k.clone(),
                    source,
                }
            })?;
            cmd.env(k, v);
        }
        // Marks the service's processes as this run's, for `soy down` (see `stop_recorded`).
        let tag = run_tag(run);
        if let Some((k, v)) = tag.split_once('=') {
            cmd.env(k, v);
        }
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().map_err(|source| StackError::Spawn {
            service: svc.name.clone(),
            command: format!("{} {}", program.display(), svc.args.join(" ")),
            source,
        })?;
        let started = procfs::start_time(child.id() as i32).unwrap_or_default();
        self.services.push(Running {
            name: svc.name.clone(),
            child,
            log,
            started,
            lifeline: Some(writer),
            reaped: false,
        });
        Ok(())
    }

    /// The first service that has exited, with its status and last log lines.
    pub fn exited(&mut self) -> Option<String> {
        for s in &mut self.services {
            if let Ok(Some(status)) = s.child.try_wait() {
                s.reaped = true;
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
        for s in self.services.iter().filter(|s| !s.reaped) {
            let _ = killpg(Pid::from_raw(s.child.id() as i32), Signal::SIGTERM);
        }
        let deadline = Instant::now() + GRACE;
        for s in self.services.iter_mut().filter(|s| !s.reaped) {
            loop {
                match s.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        // The whole group, supervisor and leftovers included.
                        let _ = killpg(Pid::from_raw(s.child.id() as i32), Signal::SIGKILL);
                        let _ = s.child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            s.reaped = true;
        }
        self.services.clear();
    }

    /// Leaves the services running after soy ends (`teardown: never`): tells each
    /// supervisor so, and forgets them.
    pub fn detach(mut self) {
        for s in &mut self.services {
            if let Some(mut w) = s.lifeline.take() {
                let _ = w.write_all(&[supervise::DETACH]);
            }
        }
        self.services.clear();
    }

    /// Process-group ids, for /proc sampling.
    pub fn groups(&self) -> Vec<(String, i32)> {
        self.services
            .iter()
            .map(|s| (s.name.clone(), s.child.id() as i32))
            .collect()
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The environment entry that marks every process of a run's local services.
pub fn run_tag(run: &str) -> String {
    format!("SOY_RUN={run}")
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

/// `program` as it will be run: a path as given, or the first executable of that name on
/// `PATH`, so a missing program is reported before anything is started.
fn find_program(program: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.components().count() > 1 || program.is_absolute() {
        return if runnable(program) {
            Ok(program.to_path_buf())
        } else if program.exists() {
            Err(format!("{} is not an executable file", program.display()))
        } else {
            Err(format!("{}: no such file", program.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| runnable(p))
        .ok_or_else(|| format!("{}: not found on PATH", program.display()))
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

/// The last `n` lines of a log file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
