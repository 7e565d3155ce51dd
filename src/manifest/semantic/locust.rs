//! Checks of `driver: locust` and its `locust:` block: the files exist, nothing soy's own
//! generator alone reads is set, `shape:` and `shape_file` are not both given, and `options`
//! hold none of the flags soy sets itself. Whether Locust loads the files and knows each
//! option is asked of Locust at the plan stage.

use super::Checker;
use crate::manifest::model::{Driver, Load, Shape, Workload};
use crate::manifest::pointer::Pointer;

/// Flags soy sets itself, with where the manifest says the same.
const SOY_SETS: &[(&[&str], &str)] = &[
    (&["-f", "--locustfile"], "`locust.file`"),
    (&["-H", "--host"], "`load.host`"),
    (&["-u", "--users"], "`load.users`"),
    (&["-r", "--spawn-rate"], "`load.spawn_rate`"),
    (&["-t", "--run-time"], "`load.run_time`"),
    (&["--processes"], "`locust.processes`"),
    (&["--csv", "--csv-full-history"], "`load.csv`"),
    (
        &[
            "--headless",
            "--autostart",
            "--autoquit",
            "--web-host",
            "--web-port",
            "-P",
            "--web-login",
            "--web-base-path",
            "--class-picker",
            "--tls-cert",
            "--tls-key",
        ],
        "nothing: soy runs Locust headless",
    ),
    (
        &[
            "--master",
            "--worker",
            "--master-host",
            "--master-port",
            "--master-bind-host",
            "--master-bind-port",
            "--expect-workers",
            "--expect-workers-max-wait",
            "--enable-rebalancing",
        ],
        "`locust.processes` (soy runs the master and its workers)",
    ),
    (
        &[
            "--json",
            "--json-file",
            "--only-summary",
            "--print-stats",
            "--logfile",
            "--skip-log-setup",
            "--skip-log",
        ],
        "nothing: soy reads Locust's statistics itself and keeps its log in `logs/locust.log`",
    ),
    (
        &["--exit-code-on-error"],
        "nothing: soy's exit code follows the SLOs",
    ),
    (
        &[
            "-l",
            "--list",
            "--show-task-ratio",
            "--show-task-ratio-json",
            "-V",
            "--version",
            "-h",
            "--help",
        ],
        "nothing: these do not run a test",
    ),
    (&["--config"], "the manifest: put the settings there"),
];

/// What soy sets instead of `flag`, when soy sets it.
pub fn soy_sets(flag: &str) -> Option<&'static str> {
    let flag = flag.split_once('=').map_or(flag, |(f, _)| f);
    SOY_SETS
        .iter()
        .find(|(flags, _)| flags.contains(&flag))
        .map(|(_, instead)| *instead)
}

/// The files of `locust.file` (Locust's comma-separated list), trimmed.
pub fn files(list: &str) -> Vec<&str> {
    list.split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect()
}

pub(super) fn check(c: &mut Checker<'_>, base: &Pointer, l: &Load, stack_driver: &str) {
    let settings = l.locust.as_ref();
    match (l.driver, settings) {
        (Driver::Soy, Some(_)) => {
            c.key(
                &base.key("locust"),
                "`locust:` is read only with `driver: locust`",
            )
            .help = Some("add `driver: locust`, or remove `locust:`".into());
            return;
        }
        (Driver::Locust, None) => {
            c.value(
                &base.key("driver"),
                "`driver: locust` needs a `locust:` block naming the locustfile",
            )
            .help = Some("add e.g. `locust: {file: locust/locustfile.py}`".into());
            return;
        }
        (Driver::Soy, None) => return,
        (Driver::Locust, Some(_)) => {}
    }
    let Some(s) = settings else { return };
    let p = base.key("locust");
    let list = files(&s.file);
    if list.is_empty() {
        c.value(&p.key("file"), "no locustfile named");
    }
    for f in list {
        if !c.dir().join(f).exists() {
            c.value(&p.key("file"), format!("locustfile `{f}` does not exist"))
                .help = Some(format!(
                "paths are relative to the manifest's folder; looked for {}",
                c.dir().join(f).display()
            ));
        }
    }
    if let Some(f) = &s.shape_file {
        c.file(&p.key("shape_file"), f, "load shape file");
        if !matches!(&l.shape, Shape::Constant(k) if k.target.is_none()) {
            c.key(
                &base.key("shape"),
                "`shape:` and `locust.shape_file` both say how the load changes",
            )
            .help = Some("keep one: soy's `shape:` or Locust's `LoadTestShape` file".into());
        }
    }
    if l.model == Workload::Open {
        c.value(
            &base.key("model"),
            "Locust runs the closed model: a number of users, each waiting for its responses",
        )
        .help = Some("remove `model: open` (and use `users`), or use `driver: soy`".into());
    }
    for (key, set) in [
        ("tasks", !l.tasks.is_empty()),
        ("on_start", !l.on_start.is_empty()),
    ] {
        if set {
            c.key(
                &base.key(key),
                format!("`{key}` is soy's scenario; with `driver: locust` the locustfile has it"),
            )
            .help = Some(format!("remove `{key}`, or use `driver: soy`"));
        }
    }
    if l.http2 {
        c.key(&base.key("http2"), "`http2` is soy's generator's setting")
            .help = Some("Locust's clients speak HTTP/1.1; remove `http2`".into());
    }
    for (i, o) in s.options.iter().enumerate() {
        if !o.starts_with('-') {
            continue;
        }
        if let Some(instead) = soy_sets(o) {
            let flag = o.split_once('=').map_or(o.as_str(), |(f, _)| f);
            c.value(
                &p.key("options").index(i),
                format!("`{flag}` is set by soy"),
            )
            .help = Some(format!("use {instead}"));
        }
    }
    if let Some(n) = s.workers {
        if stack_driver != "swarm" {
            c.value(
                &p.key("workers"),
                format!("Locust workers run on the swarm; this stack's driver is `{stack_driver}`"),
            )
            .help = Some(
                "use `stack.driver: swarm`, or `locust.processes` for workers on this machine"
                    .into(),
            );
        }
        if s.processes.is_some() {
            c.key(
                &p.key("processes"),
                "`processes` and `workers` both say where Locust's workers run",
            )
            .help = Some(format!(
                "keep `workers: {n}` (on the swarm) or `processes` (on this machine)"
            ));
        }
    }
    for (i, u) in s.user_classes.iter().enumerate() {
        if u.is_empty() || !u.chars().all(|ch| ch.is_alphanumeric() || ch == '_') {
            c.value(
                &p.key("user_classes").index(i),
                format!("`{u}` is not a Python class name"),
            );
        }
    }
}
