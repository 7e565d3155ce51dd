//! The `local` stack driver: services as local processes, each in its own process group so
//! the whole tree can be signalled; output to log files in the run directory; stopped with
//! SIGTERM, then SIGKILL after a grace period, on every exit path (the guard's `Drop` included).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::manifest::model::LocalService;

/// Time between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(3);

/// One running service.
pub struct Running {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
}

/// The running local stack; stops every process when dropped.
pub struct LocalStack {
    pub services: Vec<Running>,
}

/// Starts one service. `soy` as command means this soy binary.
pub fn start(svc: &LocalService, manifest_dir: &Path, logs: &Path) -> Result<Running, String> {
    let program = if svc.command == "soy" {
        std::env::current_exe().map_err(|e| format!("cannot find soy's own binary: {e}"))?
    } else if svc.command.contains('/') {
        manifest_dir.join(&svc.command)
    } else {
        PathBuf::from(&svc.command)
    };
    std::fs::create_dir_all(logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let log = logs.join(format!("{}.log", svc.name));
    let out = File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let workdir = svc
        .workdir
        .as_ref()
        .map_or_else(|| manifest_dir.to_path_buf(), |w| manifest_dir.join(w));
    let mut cmd = Command::new(&program);
    cmd.args(&svc.args)
        .current_dir(&workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    for (k, v) in &svc.env {
        let v = crate::manifest::env::resolve_from_process(v)
            .map_err(|e| format!("service `{}`: env {k}: {e}", svc.name))?;
        cmd.env(k, v);
    }
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn().map_err(|e| {
        format!(
            "service `{}` did not start: {} {}: {e}",
            svc.name,
            program.display(),
            svc.args.join(" ")
        )
    })?;
    Ok(Running {
        name: svc.name.clone(),
        child,
        log,
    })
}

impl LocalStack {
    /// The first service that has exited, with its status and last log lines.
    pub fn exited(&mut self) -> Option<String> {
        for s in &mut self.services {
            if let Ok(Some(status)) = s.child.try_wait() {
                return Some(format!(
                    "service `{}` exited ({status}); last output:\n{}",
                    s.name,
                    tail(&s.log, 10)
                ));
            }
        }
        None
    }

    /// Stops every service: SIGTERM to each process group, SIGKILL after `GRACE`.
    pub fn stop(&mut self) {
        for s in &self.services {
            let _ = killpg(Pid::from_raw(s.child.id() as i32), Signal::SIGTERM);
        }
        let deadline = Instant::now() + GRACE;
        for s in &mut self.services {
            loop {
                match s.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        let _ = killpg(Pid::from_raw(s.child.id() as i32), Signal::SIGKILL);
                        let _ = s.child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            // Children the service left in its group go too.
            let _ = killpg(Pid::from_raw(s.child.id() as i32), Signal::SIGKILL);
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

/// The last `n` lines of a log file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
