//! The correlation of a run's system series with its application series, as `soy apply`
//! puts it in the summary and `soy correlate` prints it for a stored run; and across a
//! campaign's finished points (its report, `soy correlate CAMPAIGN_DIR`).

use std::path::{Path, PathBuf};

use crate::analysis::correlate::Options;
use crate::analysis::series::QueryResult;
use crate::analysis::signals::{self, Correlation, Signals};
use crate::campaign::record::CampaignRecord;
use crate::load::results::Results;

/// Why a stored run cannot be correlated.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {why}", .dir.display())]
    Run { dir: PathBuf, why: String },
}

/// Fewest steps of a run's steady window worth correlating (a campaign's point needs one).
pub const RUN_STEPS: usize = 3;

/// Fewest finished points a campaign's correlation rests on.
pub const MIN_POINTS: usize = 5;

/// A run's signals and their correlation (`None` without a steady window to look at).
pub fn of_results(
    results: &Results,
    metrics: &[QueryResult],
    opts: &Options,
) -> Option<(Signals, Correlation)> {
    let s = signals::build(results, metrics, RUN_STEPS).ok()?;
    let c = signals::analyse(&s, opts);
    Some((s, c))
}

/// A stored run's signals over at least `min_steps` steps.
pub fn signals_of(dir: &Path, min_steps: usize) -> Result<Signals, Error> {
    let fail = |why: String| Error::Run {
        dir: dir.to_path_buf(),
        why,
    };
    let stored = super::bundle::read(dir).map_err(|e| fail(crate::error::flatten(&e)))?;
    let results = stored
        .results
        .as_ref()
        .ok_or_else(|| fail("it has no load results (results.json) to correlate".into()))?;
    signals::build(results, &stored.metrics, min_steps).map_err(fail)
}

/// A stored run's correlation.
pub fn of_run(dir: &Path, opts: &Options) -> Result<Correlation, Error> {
    let s = signals_of(dir, RUN_STEPS)?;
    Ok(signals::analyse(&s, opts))
}

/// One run's system series against another run's application series, over the steps both
/// have (a null check: the two runs are independent, so what is found is by chance).
pub fn of_pair(system: &Path, application: &Path, opts: &Options) -> Result<Correlation, Error> {
    let mut s = signals_of(system, RUN_STEPS)?;
    let a = signals_of(application, RUN_STEPS)?;
    if a.step_s != s.step_s {
        return Err(Error::Run {
            dir: application.to_path_buf(),
            why: format!(
                "its steps are {} s and {}'s are {} s",
                a.step_s,
                system.display(),
                s.step_s
            ),
        });
    }
    let n = s.load.len().min(a.load.len());
    s.load.truncate(n);
    for x in &mut s.system {
        x.values.truncate(n);
    }
    s.application = a
        .application
        .into_iter()
        .map(|mut x| {
            x.values.truncate(n);
            x
        })
        .collect();
    s.units.extend(a.units);
    Ok(signals::analyse(&s, opts))
}

/// The options across a campaign's points: one step per point, no lags.
pub fn across_options(opts: &Options) -> Options {
    Options {
        max_lag: 0,
        min_n: MIN_POINTS,
        // Points are separate runs, not steps of one series.
        prewhiten: false,
        ..opts.clone()
    }
}

/// Across a campaign's finished points, in the order they ran: each series' mean per point.
/// A point that cannot be read is left out and said in the note.
pub fn of_campaign(dir: &Path, rec: &CampaignRecord, opts: &Options) -> Correlation {
    let mut left_out = Vec::new();
    let points: Vec<Signals> = rec
        .runs
        .iter()
        .filter(|r| r.finished())
        .filter_map(|r| match signals_of(&dir.join(&r.id), 1) {
            Ok(s) => Some(s),
            Err(e) => {
                left_out.push(format!("{}: {}", r.id, crate::error::flatten(&e)));
                None
            }
        })
        .collect();
    let opts = across_options(opts);
    let mut c = signals::analyse(&signals::across(&points), &opts);
    let mut notes: Vec<String> = c.note.take().into_iter().collect();
    if points.len() < MIN_POINTS {
        notes.push(format!(
            "{} finished point(s) could be read: at least {MIN_POINTS} are needed to correlate across points",
            points.len()
        ));
    }
    if !left_out.is_empty() {
        notes.push(format!("left out: {}", left_out.join("; ")));
    }
    c.note = (!notes.is_empty()).then(|| notes.join(". "));
    c
}
