//! Writing the campaign report: `report.html` and `report.md` in the campaign directory
//! through the templates, the charts as `charts/*.svg`, and re-rendering from the stored
//! runs (`soy report CAMPAIGN_DIR`).

use std::path::{Path, PathBuf};

use super::Error;
use super::record::{self, CampaignRecord};
use crate::report::campaign::view;
use crate::report::render::render;
use crate::report::summary::Summary;
use crate::run::dir::RunDir;

pub const HTML_TEMPLATE: &str = include_str!("../../templates/campaign.html.j2");
pub const MD_TEMPLATE: &str = include_str!("../../templates/campaign.md.j2");

/// Writes the report of `rec` into `dir`; returns the HTML page's path.
pub fn write(dir: &Path, rec: &CampaignRecord) -> Result<PathBuf, Error> {
    let d = RunDir::open(dir);
    let mut v = view(rec).map_err(crate::run::dir::DirError::from)?;
    v.correlation = Some(crate::run::correlation::of_campaign(
        dir,
        rec,
        &Default::default(),
    ));
    for c in &v.charts {
        d.write(&format!("charts/{}", c.file), c.svg.as_bytes())?;
    }
    let html = render(&v, "campaign.html.j2", HTML_TEMPLATE, None)
        .map_err(crate::run::dir::DirError::from)?;
    d.write("report.html", html.as_bytes())?;
    let md =
        render(&v, "campaign.md.j2", MD_TEMPLATE, None).map_err(crate::run::dir::DirError::from)?;
    d.write("report.md", md.as_bytes())?;
    Ok(dir.join("report.html"))
}

/// Re-renders a campaign's report from its stored runs: each run's figures and verdicts
/// are read again from its `summary.json` (a run re-rendered with `soy report` shows here).
pub fn rerender(dir: &Path) -> Result<PathBuf, Error> {
    let mut rec = super::run::read_record(dir)?;
    for r in &mut rec.runs {
        let path = dir.join(&r.id).join(crate::run::bundle::files::SUMMARY);
        match std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Summary>(&b).ok())
        {
            Some(s) => {
                let names: Vec<Option<String>> =
                    r.slos.iter().map(|o| Some(o.name.clone())).collect();
                r.figures = record::figures(&s);
                r.slos = record::slos(&s, &names);
                if r.status != "interrupted" {
                    r.status = s.status.clone();
                }
            }
            None => eprintln!(
                "soy: {} is unreadable; the campaign's record of it is shown",
                path.display()
            ),
        }
    }
    write(dir, &rec)
}

/// Whether `dir` holds a campaign (its `campaign.json`).
pub fn is_campaign_dir(dir: &Path) -> bool {
    dir.join(record::FILE).is_file()
}
