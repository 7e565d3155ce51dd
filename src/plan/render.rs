//! `soy plan --output text`: the plan as a person reads it.

use std::fmt::Write as _;

use super::Plan;
use crate::manifest::duration::Duration;
use crate::manifest::model::Workload;

/// Most shape rows printed; longer shapes (traces) are cut with a count.
const MAX_ROWS: usize = 60;

/// Renders the plan as aligned text.
pub fn render_text(p: &Plan) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "experiment {}", p.name);
    if let Some(d) = &p.description {
        let _ = writeln!(o, "  {d}");
    }
    for (k, v) in &p.labels {
        let _ = writeln!(o, "  label {k}={v}");
    }
    let _ = writeln!(o, "\nphases (offsets from the start of the load)");
    for ph in &p.phases {
        let at = ph
            .start
            .map_or("-".to_string(), |s| format!("+{}", secs(s)));
        let len = ph.duration.map_or(String::new(), secs);
        let _ = writeln!(o, "  {:<9} {:>8} {:>8}  {}", ph.name, at, len, ph.detail);
    }
    let s = &p.stack;
    let _ = writeln!(o, "\nstack {} (driver {})", s.info.name, s.info.driver);
    for svc in &s.info.services {
        let replicas = svc
            .replicas
            .map_or("global".to_string(), |r| format!("{r} replica(s)"));
        let _ = writeln!(o, "  {:<24} {}", svc.name, replicas);
    }
    let _ = writeln!(
        o,
        "  ready within {}, teardown: {}",
        s.ready_timeout, s.teardown
    );
    let l = &p.load;
    let unit = match l.model {
        Workload::Closed => "users",
        Workload::Open => "iterations/s",
    };
    let _ = writeln!(
        o,
        "\nload: generator {}, {} model, {} {unit}, run_time {}, warmup {}, cooldown {}",
        l.generator,
        if l.model == Workload::Closed {
            "closed"
        } else {
            "open"
        },
        num(l.target),
        l.run_time,
        l.warmup,
        l.cooldown
    );
    if let Some(h) = &l.host {
        let _ = writeln!(o, "  host {h}");
    }
    let _ = writeln!(o, "  shape {}:", l.shape);
    let _ = writeln!(
        o,
        "    {:>3}  {:>8}  {:>8}  {:>10}  {:>10}  {:>10}",
        "#", "from", "to", "target", "→ target", "spawn/s"
    );
    for (i, seg) in l.segments.iter().take(MAX_ROWS).enumerate() {
        let _ = writeln!(
            o,
            "    {:>3}  {:>8}  {:>8}  {:>10}  {:>10}  {:>10}",
            i,
            format!("+{}", secs(seg.start)),
            format!("+{}", secs(seg.end)),
            num(seg.from),
            num(seg.to),
            seg.spawn_rate.map_or("-".to_string(), num)
        );
    }
    if l.segments.len() > MAX_ROWS {
        let _ = writeln!(
            o,
            "    … {} more rows (`--output json` has them all)",
            l.segments.len() - MAX_ROWS
        );
    }
    if !l.on_start.is_empty() {
        let _ = writeln!(o, "  on start: {}", l.on_start.join(", then "));
    }
    for t in &l.tasks {
        let _ = writeln!(
            o,
            "  task {:<24} weight {:>3} ({:>5.1}%)  {}",
            t.name,
            t.weight,
            t.share,
            t.requests.join(", then ")
        );
    }
    if l.tasks.is_empty() {
        let _ = writeln!(o, "  task (default): GET host");
    }
    let m = &p.metrics;
    let _ = writeln!(
        o,
        "\nmetrics from {}, step {}, rate window {}",
        m.source, m.step, m.rate_window
    );
    for q in &m.queries {
        let unit = q
            .unit
            .as_deref()
            .map_or(String::new(), |u| format!(" [{u}]"));
        let _ = writeln!(o, "  {}{unit}\n    {}", q.name, q.promql);
    }
    if !p.slos.is_empty() {
        let _ = writeln!(o, "\nslos");
        for s in &p.slos {
            let _ = writeln!(o, "  {s}");
        }
    }
    let reports: Vec<String> = p
        .reports
        .iter()
        .map(|f| format!("{f:?}").to_lowercase())
        .collect();
    let _ = writeln!(o, "\nreports: {}", reports.join(", "));
    o
}

fn secs(s: f64) -> String {
    Duration::from_secs_f64(s).to_string()
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
