//! What one Locust run is (pure): the files soy writes beside it (its hook, a
//! `LoadTestShape` for soy's `shape:`), where Locust's output goes, and its command line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::load::shape::Segment;

/// soy's listener inside Locust (see the file's docstring).
pub const HOOK: &str = include_str!("soy_hook.py");

/// Everything needed to start Locust for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct LocustRun {
    /// The program, resolved on `PATH` or against the manifest's folder.
    pub command: PathBuf,
    /// The locustfiles, absolute.
    pub files: Vec<PathBuf>,
    /// The user's `LoadTestShape` file, absolute.
    pub shape_file: Option<PathBuf>,
    pub user_classes: Vec<String>,
    pub processes: Option<u32>,
    pub options: Vec<String>,
    pub host: Option<String>,
    pub users: Option<u32>,
    pub spawn_rate: f64,
    pub run_time: Option<Duration>,
    /// soy's shape, when it is not constant: Locust follows it through a generated
    /// `LoadTestShape`.
    pub segments: Vec<Segment>,
    /// Whether a `LoadTestShape` (the user's or soy's) drives the users.
    pub shaped: bool,
    pub warmup: Duration,
    pub metrics_port: Option<u16>,
    /// Where the manifest's relative paths start (Locust runs there).
    pub workdir: PathBuf,
    /// A master and workers on the swarm instead of Locust on this machine.
    pub swarm: Option<super::swarm::SwarmSetup>,
}

/// Where a run's Locust files go.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The hook, the generated shape, the live snapshots and the final statistics.
    pub work: PathBuf,
    /// Locust's `--csv` prefix.
    pub csv: PathBuf,
    /// Locust's stdout and stderr.
    pub log: PathBuf,
    /// The run's id, marking Locust's processes as the run's (`SOY_RUN`), when in a run.
    pub run: Option<String>,
}

impl Layout {
    /// The layout inside a run directory: `locust/`, CSV files `<csv>_stats.csv` (default
    /// `locust/locust`), `logs/locust.log`.
    pub fn in_run(dir: &Path, csv: Option<&str>) -> Layout {
        // Absolute: Locust runs in the manifest's folder.
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Layout {
            run: dir.file_name().map(|n| n.to_string_lossy().into_owned()),
            work: dir.join("locust"),
            csv: dir.join(csv.unwrap_or("locust/locust")),
            log: dir.join("logs").join("locust.log"),
        }
    }

    pub fn hook(&self) -> PathBuf {
        self.work.join("soy_hook.py")
    }

    pub fn shape(&self) -> PathBuf {
        self.work.join("soy_shape.py")
    }

    pub fn live(&self) -> PathBuf {
        self.work.join("live.jsonl")
    }

    pub fn final_stats(&self) -> PathBuf {
        self.work.join("final.json")
    }
}

impl LocustRun {
    /// The files Locust loads: the user's, soy's hook, then the shape (the user's file, or
    /// soy's when it generates one) — last, because Locust 2.12 takes the shape class from
    /// the last file only.
    pub fn all_files(&self, layout: &Layout) -> Vec<PathBuf> {
        let mut f = self.files.clone();
        f.push(layout.hook());
        if !self.segments.is_empty() {
            f.push(layout.shape());
        } else if let Some(s) = &self.shape_file {
            f.push(s.clone());
        }
        f
    }

    /// The command-line arguments (after the program).
    pub fn args(&self, layout: &Layout) -> Vec<String> {
        let files: Vec<String> = self
            .all_files(layout)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let mut a = vec![
            "-f".to_string(),
            files.join(","),
            "--headless".into(),
            "--only-summary".into(),
            "--csv".into(),
            layout.csv.display().to_string(),
            "--csv-full-history".into(),
        ];
        if let Some(h) = &self.host {
            a.extend(["-H".into(), h.clone()]);
        }
        if !self.shaped {
            if let Some(u) = self.users {
                a.extend(["-u".into(), u.to_string()]);
            }
            a.extend(["-r".into(), trim_float(self.spawn_rate)]);
        }
        // With a shape the shape ends the run (Locust 2.12 refuses `-t` with one; 2.47
        // ignores it); soy still stops Locust at the run's end.
        if let Some(t) = self.run_time.filter(|_| !self.shaped) {
            a.extend(["-t".into(), format!("{}s", t.as_secs().max(1))]);
        }
        if let Some(p) = self.processes {
            a.extend(["--processes".into(), p.to_string()]);
        }
        a.extend(self.options.iter().cloned());
        a.extend(self.user_classes.iter().cloned());
        a
    }

    /// The environment soy's hook reads.
    pub fn env(&self, layout: &Layout) -> Vec<(String, String)> {
        vec![
            (
                "SOY_LOCUST_LIVE".into(),
                layout.live().display().to_string(),
            ),
            (
                "SOY_LOCUST_FINAL".into(),
                layout.final_stats().display().to_string(),
            ),
            ("SOY_LOCUST_CSV".into(), layout.csv.display().to_string()),
            ("PYTHONUNBUFFERED".into(), "1".into()),
            // No `__pycache__` beside the user's locustfiles or in the run directory.
            ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
        ]
        .into_iter()
        .chain(layout.run.as_ref().and_then(|r| {
            crate::process::run_tag(r)
                .split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        }))
        .collect()
    }
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        v.to_string()
    }
}

/// A `LoadTestShape` that follows soy's segments: the interpolated user count each tick, at
/// the segment's spawn rate, until `end` seconds.
pub fn shape_python(segments: &[Segment], default_rate: f64, end: f64) -> String {
    let rows: Vec<String> = segments
        .iter()
        .map(|s| {
            format!(
                "    ({:?}, {:?}, {:?}, {:?}, {:?}),",
                s.start,
                s.end,
                s.from,
                s.to,
                s.spawn_rate.unwrap_or(default_rate)
            )
        })
        .collect();
    format!(
        r#""""Written by soy from the manifest's `shape:`: Locust follows it through this shape."""

from locust import LoadTestShape

# (start s, end s, users at start, users at end, spawn rate)
SEGMENTS = [
{}
]
END = {end:?}


class SoyShape(LoadTestShape):
    def tick(self):
        t = self.get_run_time()
        if t >= END:
            return None
        for start, end, a, b, rate in SEGMENTS:
            if t < end:
                f = 0.0 if end <= start else max(0.0, (t - start) / (end - start))
                return (int(round(a + (b - a) * f)), rate)
        return None
"#,
        rows.join("\n")
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A run as the tests of this driver start from.
    pub(in crate::load::locust) fn run() -> LocustRun {
        LocustRun {
            command: "locust".into(),
            files: vec!["/m/locust/lf.py".into()],
            shape_file: None,
            user_classes: vec!["Web".into()],
            processes: Some(2),
            options: vec!["--stop-timeout".into(), "5".into()],
            host: Some("http://127.0.0.1:8080".into()),
            users: Some(50),
            spawn_rate: 5.0,
            run_time: Some(Duration::from_secs(300)),
            segments: Vec::new(),
            shaped: false,
            warmup: Duration::ZERO,
            metrics_port: None,
            workdir: "/m".into(),
            swarm: None,
        }
    }

    #[test]
    fn the_seed_wrappers_flags_become_locusts() {
        let l = Layout::in_run(Path::new("/r"), Some("results/test_envoy"));
        assert_eq!(
            run().args(&l).join(" "),
            "-f /m/locust/lf.py,/r/locust/soy_hook.py --headless --only-summary --csv /r/results/test_envoy --csv-full-history -H http://127.0.0.1:8080 -u 50 -r 5 -t 300s --processes 2 --stop-timeout 5 Web"
        );
        let mut shaped = run();
        shaped.shaped = true;
        shaped.segments = vec![Segment {
            start: 0.0,
            end: 10.0,
            from: 0.0,
            to: 10.0,
            spawn_rate: None,
        }];
        let a = shaped.args(&l).join(" ");
        assert!(
            a.starts_with("-f /m/locust/lf.py,/r/locust/soy_hook.py,/r/locust/soy_shape.py "),
            "{a}"
        );
        assert!(!a.contains(" -u ") && !a.contains(" -t "), "{a}");
    }

    #[test]
    fn the_generated_shape_lists_the_segments() {
        let py = shape_python(
            &[Segment {
                start: 0.0,
                end: 30.0,
                from: 0.0,
                to: 10.0,
                spawn_rate: Some(2.0),
            }],
            1.0,
            60.0,
        );
        assert!(py.contains("    (0.0, 30.0, 0.0, 10.0, 2.0),"), "{py}");
        assert!(py.contains("END = 60.0"), "{py}");
        assert!(py.contains("class SoyShape(LoadTestShape):"), "{py}");
    }
}
