//! `soy down` for local stacks: stops the processes that runs of an experiment recorded in
//! their state.json and left behind (a run killed with SIGKILL, `teardown: never`).
//! Only process groups whose leader is still the very process soy started are touched.

use std::path::Path;

use super::dir::DirError;
use super::state::RunState;
use crate::stack::local;

/// What `soy down` found of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleaned {
    pub run: String,
    /// Services that were still running and were stopped.
    pub stopped: Vec<String>,
}

/// Stops what runs of `experiment` under `out` left running; a run whose `soy apply` is
/// still going is left alone.
pub fn local(out: &Path, experiment: &str) -> Result<Vec<Cleaned>, DirError> {
    let dir = out.join(experiment);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(DirError::Read { path: dir, source }),
    };
    // Each run directory with its id: a campaign's runs are one level deeper.
    let mut runs: Vec<(std::path::PathBuf, String)> = Vec::new();
    for e in entries.flatten().filter(|e| e.file_name() != "latest") {
        let p = e.path();
        if p.join(crate::campaign::record::FILE).is_file() {
            for r in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                let rp = r.path();
                runs.push((rp.clone(), super::dir::campaign_run_id(&rp)));
            }
        } else {
            let id = p
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            runs.push((p, id));
        }
    }
    runs.sort();
    let mut out = Vec::new();
    for (run, id) in runs {
        let Ok(text) = std::fs::read_to_string(run.join("state.json")) else {
            continue;
        };
        let state: RunState = match serde_json::from_str(&text) {
            Ok(s) => s,
            Err(e) => {
                eprintln!(
                    "soy: {}: state.json is damaged ({e}); skipping that run",
                    run.display()
                );
                continue;
            }
        };
        if state.soy_alive() {
            eprintln!(
                "soy: {} is still running (pid {}); leaving it",
                run.display(),
                state.soy_pid
            );
            continue;
        }
        let stopped: Vec<String> = state
            .services
            .iter()
            .filter(|s| local::stop_recorded(s.pgid, s.started, &id))
            .map(|s| s.name.clone())
            .collect();
        out.push(Cleaned {
            run: run.display().to_string(),
            stopped,
        });
    }
    Ok(out)
}
