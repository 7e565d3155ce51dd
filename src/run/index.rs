//! Writes the runs index (`<root>/index.html`) from the run bundles stored under a reports
//! root: after each `soy apply`, and by `soy report --index ROOT`.

use std::path::{Path, PathBuf};

use crate::report::index::{self, RunRow};
use crate::report::summary::Summary;

use super::dir::DirError;

/// Every run directory's row: `<root>/<experiment>/<run>/summary.json` (not `latest`), and
/// each campaign's (`<root>/<experiment>/<campaign>/campaign.json`).
pub fn rows(root: &Path) -> Vec<RunRow> {
    let mut rows = Vec::new();
    let dirs = |p: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n != "latest" && !n.to_string_lossy().starts_with('.'))
            })
            .collect();
        v.sort();
        v
    };
    for exp in dirs(root) {
        for run in dirs(&exp) {
            let name = |p: &Path| {
                p.file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned())
            };
            let (e, r) = (name(&exp), name(&run));
            let exp_name = e.clone();
            let href = index::href(&e, &r);
            let file = run.join("summary.json");
            if run.join(crate::campaign::record::FILE).is_file() {
                rows.push(match crate::campaign::run::read_record(&run) {
                    Ok(c) => index::campaign_row(&c, href),
                    Err(e) => index::unreadable(&exp_name, &r, href, crate::error::flatten(&e)),
                });
                continue;
            }
            if !file.exists() && !run.join("run.json").exists() {
                continue; // not a run directory
            }
            let row = match std::fs::read_to_string(&file)
                .map_err(|err| err.to_string())
                .and_then(|t| serde_json::from_str::<Summary>(&t).map_err(|err| err.to_string()))
            {
                Ok(s) => index::row(&s, href),
                Err(why) => index::unreadable(&e, &r, href, format!("summary.json: {why}")),
            };
            rows.push(row);
        }
    }
    rows
}

/// Writes `<root>/index.html`; returns its path.
pub fn write(root: &Path) -> Result<PathBuf, DirError> {
    let data = index::build(rows(root));
    let html = crate::report::render::render(&data, "index.html", index::INDEX_TEMPLATE, None)
        .map_err(DirError::from)?;
    let path = root.join("index.html");
    super::dir::write_atomic(&path, html.as_bytes())?;
    Ok(path)
}
