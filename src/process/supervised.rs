//! One process under `soy supervise`: started in its own process group with soy's end of the
//! lifeline pipe kept here; stopped with SIGTERM to the group, then SIGKILL after a grace
//! period; stopped on drop too.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::{procfs, supervise};

/// What to start.
#[derive(Debug, Clone)]
pub struct Spawn {
    /// The program as it will be run (see [`find_program`]).
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub workdir: PathBuf,
    /// Where stdout and stderr go.
    pub log: PathBuf,
}

/// Why a supervised process did not start.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("cannot find soy's own binary")]
    OwnBinary(#[source] std::io::Error),
    #[error("cannot create {}", .path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up its output")]
    Output(#[source] std::io::Error),
    #[error("{}", .program.display())]
    Start {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A process soy started (its supervisor, which leads the process group).
pub struct Supervised {
    child: Child,
    /// The supervisor's start time (`/proc/<pid>/stat`), to recognise it later.
    pub started: u64,
    /// soy's end of the pipe the supervisor reads: it closes when soy ends, however it ends.
    lifeline: Option<std::io::PipeWriter>,
    /// The supervisor has been waited for: its pid, and so its group id, may be reused now.
    reaped: bool,
}

impl Supervised {
    /// Starts `s.program` under this binary's `soy supervise`.
    pub fn start(s: &Spawn) -> Result<Supervised, SpawnError> {
        let soy = std::env::current_exe().map_err(SpawnError::OwnBinary)?;
        if let Some(dir) = s.log.parent() {
            std::fs::create_dir_all(dir).map_err(|source| SpawnError::Create {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let out = File::create(&s.log).map_err(|source| SpawnError::Create {
            path: s.log.clone(),
            source,
        })?;
        let err = out.try_clone().map_err(SpawnError::Output)?;
        let (lifeline, writer) = std::io::pipe().map_err(SpawnError::Output)?;
        let mut cmd = Command::new(&soy);
        cmd.arg("supervise")
            .arg("--")
            .arg(&s.program)
            .args(&s.args)
            .current_dir(&s.workdir)
            .stdin(Stdio::from(lifeline))
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        for (k, v) in &s.env {
            cmd.env(k, v);
        }
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().map_err(|source| SpawnError::Start {
            program: s.program.clone(),
            source,
        })?;
        let started = procfs::start_time(child.id() as i32).unwrap_or_default();
        Ok(Supervised {
            child,
            started,
            lifeline: Some(writer),
            reaped: false,
        })
    }

    /// The process group's id (the supervisor's pid).
    pub fn pgid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The exit status, once the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.reaped = true;
                Some(status)
            }
            _ => None,
        }
    }

    /// Sends `sig` to the whole group, unless the group is gone.
    pub fn signal(&self, sig: Signal) {
        if !self.reaped {
            let _ = killpg(Pid::from_raw(self.pgid()), sig);
        }
    }

    /// Sends `sig` to the supervised program alone (the supervisor's child), not to the
    /// processes it started: a program that stops its own children gracefully (Locust with
    /// `--processes`) is asked once. A wrapper script must `exec` the program, or the signal
    /// stops only the wrapper. Returns how many processes were signalled (0 before the
    /// supervisor has started the program).
    pub fn signal_program(&self, sig: Signal) -> usize {
        if self.reaped {
            return 0;
        }
        procfs::children(self.pgid())
            .into_iter()
            .filter(|pid| nix::sys::signal::kill(Pid::from_raw(*pid), sig).is_ok())
            .count()
    }

    /// SIGKILL to the whole group, and the supervisor waited for.
    pub fn kill(&mut self) {
        if !self.reaped {
            let _ = killpg(Pid::from_raw(self.pgid()), Signal::SIGKILL);
            let _ = self.child.wait();
            self.reaped = true;
        }
    }

    /// Sends SIGTERM to the group (unless it has exited already).
    pub fn terminate(&self) {
        self.signal(Signal::SIGTERM);
    }

    /// Waits until the process exits or `deadline` passes; then SIGKILL to the whole group.
    pub fn finish_by(&mut self, deadline: Instant) {
        while !self.reaped {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => self.reaped = true,
                Ok(None) if Instant::now() >= deadline => {
                    // The whole group, supervisor and leftovers included.
                    let _ = killpg(Pid::from_raw(self.pgid()), Signal::SIGKILL);
                    let _ = self.child.wait();
                    self.reaped = true;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        self.terminate();
        self.finish_by(Instant::now() + grace);
    }

    /// Leaves the process running after soy ends: tells the supervisor so.
    pub fn detach(mut self) {
        if let Some(mut w) = self.lifeline.take() {
            let _ = w.write_all(&[supervise::DETACH]);
        }
        self.reaped = true;
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if !self.reaped {
            self.stop(Duration::from_secs(3));
        }
    }
}

/// Why a program cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotRunnable {
    #[error("{} is not an executable file", .0.display())]
    NotExecutable(PathBuf),
    #[error("{}: no such file", .0.display())]
    NoSuchFile(PathBuf),
    #[error("{}: not found on PATH", .0.display())]
    NotOnPath(PathBuf),
}

/// `program` as it will be run: a path as given, or the first executable of that name on
/// `PATH`, so a missing program is reported before anything is started.
pub fn find_program(program: &Path) -> Result<PathBuf, NotRunnable> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.components().count() > 1 || program.is_absolute() {
        return if runnable(program) {
            Ok(program.to_path_buf())
        } else if program.exists() {
            Err(NotRunnable::NotExecutable(program.to_path_buf()))
        } else {
            Err(NotRunnable::NoSuchFile(program.to_path_buf()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| runnable(p))
        .ok_or_else(|| NotRunnable::NotOnPath(program.to_path_buf()))
}
