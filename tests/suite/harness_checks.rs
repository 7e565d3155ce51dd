//! The harness's own checks (kept out of `harness.rs`, which the `alone` binary includes too).

use std::process::Command;
use std::time::Duration;

use super::harness::{Test, spawn_with};

#[test]
fn output_larger_than_a_pipe_does_not_block_the_child() {
    // 4 MB on stdout, 1 MB on stderr: far more than a pipe buffer holds.
    let out = spawn_with(Command::new("sh").args([
        "-c",
        "head -c 4000000 /dev/zero | tr '\\0' x; head -c 1000000 /dev/zero | tr '\\0' y >&2",
    ]))
    .wait(Duration::from_secs(20));
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), 4_000_000);
    assert_eq!(out.stderr.len(), 1_000_000);
}

#[test]
fn each_test_directory_is_fresh_and_its_own() {
    let (a, b) = (Test::new("harness"), Test::new("harness"));
    assert_ne!(a.dir, b.dir);
    let f = a.write("sub/file.txt", "x");
    assert_eq!(std::fs::read_to_string(f).expect("read"), "x");
    assert!(std::fs::read_dir(&b.dir).expect("dir").next().is_none());
}
