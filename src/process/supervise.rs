//! `soy supervise`: the small process between soy and each local service, so that nothing
//! outlives soy, even when soy is killed with SIGKILL. It leads the service's process group,
//! starts the service, and reads its standard input — a pipe whose other end only soy holds.
//! End of file there means soy is gone: the supervisor sends SIGTERM to the group, then
//! SIGKILL after `ORPHAN_GRACE`. A `d` byte on the pipe detaches (soy leaves the stack running
//! on purpose, `teardown: never`). Otherwise it waits for the service and exits as it did.
//!
//! When the service's main process exits, whatever it left in the group is killed before the
//! supervisor exits with the service's status, so a group soy has reaped is empty and soy
//! never needs to signal it again (its id may by then belong to someone else).
//!
//! It ignores nothing: SIGTERM, SIGINT, SIGHUP and SIGQUIT are blocked in the supervisor only,
//! once the service has started (a child inherits its parent's blocked signals), so a stop
//! signal sent to the group reaches the service and the supervisor waits for it to finish.

use std::ffi::OsString;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{SigSet, Signal, killpg};
use nix::unistd::getpgrp;

/// How long an orphaned service has between SIGTERM and SIGKILL.
pub const ORPHAN_GRACE: Duration = Duration::from_millis(1000);

/// The byte soy writes to let its services outlive it.
pub const DETACH: u8 = b'd';

/// Runs `program args` under supervision; returns the exit code to leave with.
pub fn run(program: &OsString, args: &[OsString]) -> u8 {
    let mut stop = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        stop.add(s);
    }
    // The service is started first: a child inherits its parent's blocked signals (Rust's
    // `Command` does not reset the mask), and a service with SIGTERM blocked would never
    // see the stop it is sent.
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "soy supervise: cannot start {}: {e}",
                program.to_string_lossy()
            );
            return 127;
        }
    };
    // Then blocked here, before any other thread starts, so every thread of the supervisor
    // has them blocked. (A stop signal in the instant between kills only the supervisor;
    // soy still stops the group by its id.)
    let _ = stop.thread_block();
    let orphaned = Arc::new(AtomicBool::new(false));
    {
        let orphaned = orphaned.clone();
        std::thread::spawn(move || watch_parent(&orphaned));
    }
    let status = child.wait();
    if orphaned.load(Ordering::SeqCst) {
        // Whatever the service left in its group goes too (this process included).
        let _ = killpg(getpgrp(), Signal::SIGKILL);
    }
    // The service's main process is gone: what it left in the group goes with it, while this
    // process still holds the group's id (so nothing else can own it).
    let me = std::process::id() as i32;
    for pid in super::procfs::group_members(getpgrp().as_raw()) {
        if pid != me {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    match status {
        Ok(s) => exit_code(s),
        Err(_) => 1,
    }
}

/// Reads the pipe from soy until it closes (soy is gone) or says detach.
fn watch_parent(orphaned: &AtomicBool) {
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 16];
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) if buf[..n].contains(&DETACH) => return,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    orphaned.store(true, Ordering::SeqCst);
    let group = getpgrp();
    let _ = killpg(group, Signal::SIGTERM);
    std::thread::sleep(ORPHAN_GRACE);
    let _ = killpg(group, Signal::SIGKILL);
}

/// The service's exit code; 128 + the signal when a signal ended it (as shells report it).
fn exit_code(s: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => u8::try_from(c).unwrap_or(1),
        (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(1),
        _ => 1,
    }
}
