//! The run directory: `reports/<experiment>/<UTC timestamp>-<short id>/`, files written
//! atomically (temporary file, then rename), and a `latest` link per experiment.

use std::path::{Path, PathBuf};

use rand::Rng;

use crate::manifest::model::{Format, Report};
use crate::report::render::{self, ReportData};
use crate::report::summary::Summary;

/// What goes wrong writing a run's files, or listing runs.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error("cannot read {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create run directory {}", .path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {rel}")]
    Serialize {
        rel: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot render the report")]
    Report(#[from] crate::report::ReportError),
}

pub struct RunDir {
    pub path: PathBuf,
    pub id: String,
}

impl RunDir {
    /// Creates `out/<experiment>/<timestamp>-<id>/`.
    pub fn create(out: &Path, experiment: &str) -> Result<RunDir, DirError> {
        let stamp = crate::clock::iso(crate::clock::now() as u64).replace(['-', ':'], "");
        let short: String = format!("{:06x}", rand::rng().random::<u32>() & 0xff_ffff);
        let id = format!("{stamp}-{short}");
        let path = out.join(experiment).join(&id);
        std::fs::create_dir_all(&path).map_err(|source| DirError::Create {
            path: path.clone(),
            source,
        })?;
        Ok(RunDir { path, id })
    }

    /// Creates the run directory at `path` (a campaign's run); it must not exist yet. Its
    /// id is `<campaign id>-<run folder>`, unique across campaigns (the tag its local
    /// services carry).
    pub fn create_at(path: &Path) -> Result<RunDir, DirError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| DirError::Create {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::create_dir(path).map_err(|source| DirError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(RunDir {
            path: path.to_path_buf(),
            id: campaign_run_id(path),
        })
    }

    /// Opens an existing run directory.
    pub fn open(path: &Path) -> RunDir {
        let id = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        RunDir {
            path: path.to_path_buf(),
            id,
        }
    }

    /// Writes `rel` atomically.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), DirError> {
        write_atomic(&self.path.join(rel), bytes)
    }

    /// Writes `value` as pretty JSON to `rel`, atomically; a value that does not serialize is
    /// an error, never an empty file.
    pub fn write_json<T: serde::Serialize>(&self, rel: &str, value: &T) -> Result<(), DirError> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|source| DirError::Serialize {
            rel: rel.to_string(),
            source,
        })?;
        self.write(rel, &bytes)
    }

    /// Reads the run back (what `soy report`, `soy query` and later `soy compare` see).
    pub fn read(&self) -> Result<super::bundle::StoredRun, super::bundle::BundleError> {
        super::bundle::read(&self.path)
    }

    /// Points `<experiment>/latest` at this run.
    pub fn link_latest(&self) {
        if let Some(parent) = self.path.parent() {
            let link = parent.join("latest");
            let tmp = parent.join(format!(".latest-{}", self.id));
            if std::os::unix::fs::symlink(&self.id, &tmp).is_ok()
                && std::fs::rename(&tmp, &link).is_err()
            {
                let _ = std::fs::remove_file(&tmp);
            }
        }
    }
}

/// A campaign run's id: its campaign's folder name and its own, joined by `-`.
pub fn campaign_run_id(path: &Path) -> String {
    let name = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    format!("{}-{}", name(path.parent()), name(Some(path)))
}

/// Writes a file through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DirError> {
    let fail = |source| DirError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Writes charts, the reports the manifest asks for, and JUnit; returns report.html's path.
pub fn write_report(
    dir: &RunDir,
    data: &ReportData,
    cfg: &Report,
    manifest_dir: &Path,
    summary: &Summary,
) -> Result<Option<PathBuf>, DirError> {
    for c in data
        .charts
        .iter()
        .chain(data.scaling_charts.values())
        .chain(&data.relation_charts)
    {
        dir.write(&format!("charts/{}", c.file), c.svg.as_bytes())?;
    }
    let custom = |p: &Option<String>| p.as_ref().map(|t| manifest_dir.join(t));
    let mut html = None;
    if cfg.formats.contains(&Format::Html) {
        let text = render::render(
            data,
            "report.html.j2",
            render::HTML_TEMPLATE,
            custom(&cfg.template.html).as_deref(),
        )?;
        dir.write("report.html", text.as_bytes())?;
        html = Some(dir.path.join("report.html"));
    }
    if cfg.formats.contains(&Format::Markdown) {
        let text = render::markdown(data, custom(&cfg.template.markdown).as_deref())?;
        dir.write("report.md", text.as_bytes())?;
    }
    if cfg.junit {
        dir.write("junit.xml", render::junit(summary).as_bytes())?;
    }
    Ok(html)
}
