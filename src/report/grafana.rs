//! `soy grafana`: the manifest's queries as a Grafana dashboard, with the stack, service and
//! cluster as dashboard variables, so the same PromQL can be watched live.

use serde_json::{Value, json};

use crate::manifest::model::Experiment;
use crate::metrics::query::{QueryContext, expand};
use crate::plan::Plan;

/// Builds the dashboard JSON.
pub fn dashboard(exp: &Experiment, plan: &Plan) -> Value {
    let mut services: Vec<String> = plan.stack.info.service_names();
    let mut clusters: Vec<String> = Vec::new();
    for q in &exp.metrics.queries {
        if let Some(fe) = &q.for_each {
            services.extend(fe.service.iter().flatten().cloned());
            clusters.extend(fe.cluster.iter().flatten().cloned());
        }
        services.extend(q.service.iter().cloned());
        clusters.extend(q.cluster.iter().cloned());
    }
    dedup(&mut services);
    dedup(&mut clusters);
    let cx = QueryContext {
        stack: "${stack}".into(),
        services: vec!["${service}".into()],
        rate_window: plan.metrics.rate_window,
        step: plan.metrics.step,
        vars: exp.vars.clone(),
    };
    let mut panels = Vec::new();
    for (i, q) in exp.metrics.queries.iter().enumerate() {
        let mut q = q.clone();
        if let Some(fe) = q.for_each.take() {
            if fe.service.is_some() {
                q.service = Some("${service}".into());
            }
            if fe.cluster.is_some() {
                q.cluster = Some("${cluster}".into());
            }
        }
        let Ok(resolved) = expand(&q, &cx) else {
            continue;
        };
        let Some(r) = resolved.into_iter().next() else {
            continue;
        };
        panels.push(json!({
            "id": i + 1,
            "type": "timeseries",
            "title": q.name,
            "description": q.description.clone().unwrap_or_default(),
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i / 2) * 8},
            "fieldConfig": {"defaults": {"unit": grafana_unit(r.unit.as_deref())}, "overrides": []},
            "targets": [{"refId": "A", "expr": r.promql, "legendFormat": "__auto"}]
        }));
    }
    let custom = |name: &str, values: &[String]| {
        json!({
            "name": name, "type": "custom", "label": name,
            "query": values.join(","),
            "current": {"text": values.first().cloned().unwrap_or_default(), "value": values.first().cloned().unwrap_or_default()},
            "options": values.iter().map(|v| json!({"text": v, "value": v, "selected": false})).collect::<Vec<_>>()
        })
    };
    json!({
        "title": format!("soy: {}", exp.metadata.name),
        "uid": format!("soy-{}", exp.metadata.name.chars().take(30).collect::<String>()),
        "tags": ["soy"],
        "timezone": "browser",
        "schemaVersion": 39,
        "refresh": "10s",
        "time": {"from": "now-30m", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"},
            custom("stack", std::slice::from_ref(&plan.stack.info.name)),
            custom("service", &services),
            custom("cluster", &clusters)
        ]},
        "panels": panels
    })
}

fn dedup(v: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|s| seen.insert(s.clone()));
}

fn grafana_unit(unit: Option<&str>) -> &'static str {
    match unit {
        Some("bytes") => "bytes",
        Some("bytes/s") => "Bps",
        Some("req/s") => "reqps",
        Some("ms") => "ms",
        Some("ratio") => "percentunit",
        _ => "short",
    }
}
