//! A campaign's plan: the manifest checked once, each configuration's point planned as a run
//! of its own (the manifest's document with the point's values set, problems shown where the
//! values were written), the runs in order, and the search's candidates.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::Error;
use super::points::{self, Config, Slot, Target};
use super::search;
use crate::manifest::Manifest;
use crate::manifest::diagnostic::{Diagnostic, Diagnostics};
use crate::manifest::duration::Duration;
use crate::manifest::model::{Order, Redeploy, SearchOver, Strategy};
use crate::manifest::pointer::Pointer;
use crate::plan::{self, Plan};

/// Most runs a campaign may make.
pub const MAX_RUNS: u64 = 1000;

/// What a manifest asks for: one run, or a campaign of runs.
pub enum Loaded {
    Single(Box<(Manifest, Plan)>),
    Campaign(Box<CampaignPlan>),
}

/// The campaign as it will run.
#[derive(Serialize)]
pub struct CampaignPlan {
    pub name: String,
    /// `sweep` or `search`.
    pub kind: &'static str,
    /// Parameter names, in the matrix's order.
    pub parameters: Vec<String>,
    pub configs: Vec<Config>,
    /// Each configuration's plan (a search's at its lowest load).
    #[serde(skip)]
    pub plans: Vec<Plan>,
    /// The sweep's runs in order (none for a search: its probes follow its verdicts).
    #[serde(skip)]
    pub slots: Vec<Slot>,
    pub runs: Vec<String>,
    pub repeat: u32,
    pub order: Order,
    pub seed: u64,
    pub redeploy: Redeploy,
    pub pause: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchPlan>,
    /// Most runs the campaign makes.
    pub most_runs: u64,
    /// Seconds of load and cooldown in those runs, pauses included (deploys not).
    pub most_load_s: f64,
    #[serde(skip)]
    pub base: Manifest,
}

/// A capacity search's settings, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct SearchPlan {
    pub over: SearchOver,
    pub candidates: Vec<f64>,
    pub strategy: Strategy,
    /// SLOs a probe must meet (their names; empty: all).
    pub slos: Vec<String>,
    pub repeat: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_time: Option<Duration>,
    pub most_probes: usize,
}

/// Reads and checks a manifest and plans it: one run, or every point of its campaign.
/// `seed` replaces the sweep's (a resumed campaign keeps the order it had).
pub fn load(path: &Path, seed: Option<u64>) -> Result<Loaded, Error> {
    let (m, problems) = crate::manifest::load_unchecked(path).map_err(plan::PlanError::from)?;
    if !m.experiment.is_campaign() {
        let p = plan::build_with(&m, problems)?;
        return Ok(Loaded::Single(Box::new((m, p))));
    }
    let mut problems = problems;
    counted(&m, &mut problems);
    if !problems.is_empty() {
        return Err(Error::Invalid(Box::new(Diagnostics {
            file: m.path.display().to_string(),
            source: m.source.clone(),
            items: problems,
        })));
    }
    plan_campaign(m, seed).map(|c| Loaded::Campaign(Box::new(c)))
}

/// Reads a campaign's stored manifest text as if it were at `path` in `dir`.
pub fn load_stored(
    path: PathBuf,
    dir: PathBuf,
    text: String,
    seed: u64,
) -> Result<CampaignPlan, Error> {
    let m = crate::manifest::parse(path, dir, text).map_err(plan::PlanError::from)?;
    if !m.experiment.is_campaign() {
        return Err(Error::NotCampaign(m.path.display().to_string()));
    }
    plan_campaign(m, Some(seed))
}

fn plan_campaign(m: Manifest, seed: Option<u64>) -> Result<CampaignPlan, Error> {
    let exp = &m.experiment;
    let params = sweep_params(exp);
    let configs = points::configs(&params);
    let sweep = exp.sweep.clone();
    let seed = seed
        .or(sweep.as_ref().and_then(|s| s.seed))
        .unwrap_or_else(|| rand::random::<u32>().into());
    let search = exp.search.as_ref().map(|q| {
        let candidates = search::candidates(q.from, q.to, q.step);
        SearchPlan {
            over: q.over,
            most_probes: search::most_probes(q.strategy, candidates.len()),
            candidates,
            strategy: q.strategy,
            slos: q.slos.clone(),
            repeat: q.repeat,
            run_time: q.run_time,
        }
    });
    let (repeat, order, redeploy, pause) = sweep.as_ref().map_or(
        (
            1,
            Order::Sequential,
            Redeploy::PerPoint,
            Duration::default(),
        ),
        |s| (s.repeat, s.order, s.redeploy, s.pause),
    );
    let slots = if search.is_some() {
        Vec::new()
    } else {
        points::schedule(configs.len(), repeat, order, seed)
    };
    let mut c = CampaignPlan {
        name: exp.metadata.name.clone(),
        kind: if search.is_some() { "search" } else { "sweep" },
        parameters: params.iter().map(|(k, _)| k.clone()).collect(),
        runs: slots
            .iter()
            .map(|s| points::run_id(&configs[s.config].id, s.rep))
            .collect(),
        configs,
        plans: Vec::new(),
        slots,
        repeat,
        order,
        seed,
        redeploy,
        pause,
        search,
        most_runs: 0,
        most_load_s: 0.0,
        base: m,
    };
    for cfg in &c.configs {
        let values = c.values(
            cfg,
            c.search
                .as_ref()
                .and_then(|s| s.candidates.first().copied()),
        );
        let p = c.point_plan(&cfg.id, &values)?;
        c.plans.push(p);
    }
    let per_run = |p: &Plan| {
        p.load.run_time.as_secs_f64() + p.load.cooldown.as_secs_f64() + c.pause.as_secs_f64()
    };
    (c.most_runs, c.most_load_s) = match &c.search {
        None => (
            c.slots.len() as u64,
            c.slots.iter().map(|s| per_run(&c.plans[s.config])).sum(),
        ),
        Some(s) => {
            let runs = (s.most_probes * s.repeat as usize) as u64;
            (
                runs * c.configs.len() as u64,
                c.plans.iter().map(|p| per_run(p) * runs as f64).sum(),
            )
        }
    };
    Ok(c)
}

impl CampaignPlan {
    /// A point's values: the configuration's, and the search's load when probing.
    pub fn values(&self, cfg: &Config, load: Option<f64>) -> serde_json::Map<String, Value> {
        let mut v = cfg.values.clone();
        if let (Some(s), Some(l)) = (&self.search, load) {
            let n = match s.over {
                SearchOver::Users => Value::from(l.round() as u64),
                SearchOver::Rate => Value::from(l),
            };
            v.insert(s.over.path().to_string(), n);
            if let Some(rt) = s.run_time {
                v.insert("load.run_time".into(), Value::from(rt.to_string()));
            }
        }
        v
    }

    /// Plans the run of one point: the manifest with `values` set.
    pub fn point_plan(
        &self,
        point: &str,
        values: &serde_json::Map<String, Value>,
    ) -> Result<Plan, Error> {
        let m = &self.base;
        let mut doc = m.doc.clone();
        if let Value::Object(o) = &mut doc {
            o.remove("sweep");
            o.remove("search");
        }
        points::apply(&mut doc, values);
        let mut map = m.map.clone();
        for (name, v) in values {
            let from = self.written_at(name, v);
            if let Some(pos) = from.and_then(|p| m.map.value_pos(&p)) {
                map.redirect(&Target::of(name).pointer(), pos);
            }
        }
        let failed = |e: plan::PlanError| Error::Point {
            point: point.to_string(),
            source: Box::new(e),
        };
        let (pm, problems) =
            crate::manifest::from_doc(m.path.clone(), m.dir.clone(), m.source.clone(), doc, map)
                .map_err(|e| failed(e.into()))?;
        plan::build_with(&pm, problems).map_err(failed)
    }

    /// Where a point's value was written: its entry in the matrix, or the search's field.
    fn written_at(&self, name: &str, v: &Value) -> Option<String> {
        let exp = &self.base.experiment;
        if let Some(s) = &exp.sweep
            && let Some(Value::Array(list)) = s.matrix.0.get(name)
        {
            let i = list.iter().position(|x| x == v)?;
            return Some(
                Pointer::root()
                    .key("sweep")
                    .key("matrix")
                    .key(name)
                    .index(i)
                    .to_string(),
            );
        }
        let q = exp.search.as_ref()?;
        match name {
            "load.run_time" => Some("/search/run_time".into()),
            n if n == q.over.path() => Some("/search/from".into()),
            _ => None,
        }
    }

    /// `soy plan`'s text.
    pub fn render_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "campaign {} ({})", self.name, self.kind);
        match &self.search {
            None => {
                let _ = writeln!(
                    o,
                    "  {} points x {} repetition(s) = {} runs, order {}{}, redeploy {}, pause {}",
                    self.configs.len(),
                    self.repeat,
                    self.slots.len(),
                    points::plain(&self.order),
                    if self.order == Order::Shuffled {
                        format!(" (seed {})", self.seed)
                    } else {
                        String::new()
                    },
                    points::plain(&self.redeploy),
                    self.pause,
                );
            }
            Some(s) => {
                let _ = writeln!(
                    o,
                    "  capacity search over {}: {} candidates from {} to {}, {} (at most {} probes per configuration), {} run(s) per probe",
                    s.over.name(),
                    s.candidates.len(),
                    points::number(s.candidates.first().copied().unwrap_or(0.0)),
                    points::number(s.candidates.last().copied().unwrap_or(0.0)),
                    points::plain(&s.strategy),
                    s.most_probes,
                    s.repeat
                );
                let slos = if s.slos.is_empty() {
                    "all SLOs".to_string()
                } else {
                    s.slos.join(", ")
                };
                let _ = writeln!(o, "  a probe meets: {slos}");
            }
        }
        let _ = writeln!(
            o,
            "  {}{} runs, {} of load, cooldown and pauses (plus each deploy and readiness)",
            if self.search.is_some() {
                "at most "
            } else {
                ""
            },
            self.most_runs,
            crate::clock::Human(std::time::Duration::from_secs_f64(self.most_load_s))
        );
        let _ = writeln!(o, "\nconfigurations");
        for c in &self.configs {
            let vals: Vec<String> = c
                .values
                .iter()
                .map(|(k, v)| format!("{k}={}", points::text(v)))
                .collect();
            let _ = writeln!(o, "  {:<40} {}", c.id, vals.join(" "));
        }
        if !self.slots.is_empty() {
            let _ = writeln!(o, "\nruns, in order");
            for (i, r) in self.runs.iter().enumerate() {
                let _ = writeln!(o, "  {:>4}  {r}", i + 1);
            }
        }
        if let Some(p) = self.plans.first() {
            let _ = writeln!(o, "\nthe first configuration's run\n");
            o.push_str(&plan::render_text(p));
        }
        o
    }
}

/// The campaign's size problems: more than `MAX_RUNS` runs.
fn counted(m: &Manifest, out: &mut Vec<Diagnostic>) {
    let exp = &m.experiment;
    let params = sweep_params(exp);
    let repeat = exp.sweep.as_ref().map_or(1, |s| s.repeat);
    let (runs, at, what) = match &exp.search {
        None => (
            points::count(&params, repeat),
            "/sweep/matrix",
            String::new(),
        ),
        Some(q) => {
            let n = search::candidates(q.from, q.to, q.step).len();
            let probes = search::most_probes(q.strategy, n) as u64;
            (
                points::count(&params, 1)
                    .saturating_mul(probes)
                    .saturating_mul(u64::from(q.repeat)),
                "/search",
                format!(" ({probes} probes of {n} candidates per configuration, at most)"),
            )
        }
    };
    if runs > MAX_RUNS {
        out.push(
            Diagnostic::new(
                m.map.key_pos(at),
                Pointer::parse(at, &m.doc).dotted(),
                format!("this campaign makes {runs} runs{what}; at most {MAX_RUNS} are allowed"),
            )
            .with_help("fewer values, fewer repetitions, or a coarser search step; or split it into several campaigns"),
        );
    }
}

/// The sweep's parameters and values (none without a sweep).
fn sweep_params(exp: &crate::manifest::model::Experiment) -> Vec<(String, Vec<Value>)> {
    exp.sweep
        .as_ref()
        .map(|s| s.matrix.params())
        .unwrap_or_default()
}
