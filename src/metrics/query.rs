//! Expanding the manifest's queries into concrete PromQL: presets looked up, `for_each`
//! unrolled, templates rendered. Pure: no I/O.

use std::collections::BTreeMap;

use minijinja::Value as JValue;
use serde::Serialize;

use super::presets;
use crate::manifest::duration::Duration;
use crate::manifest::model::{Query, Section, VarValue};
use crate::manifest::template;

/// What query templates can refer to besides `vars`.
#[derive(Debug, Clone)]
pub struct QueryContext {
    pub stack: String,
    pub services: Vec<String>,
    pub rate_window: Duration,
    pub step: Duration,
    pub vars: BTreeMap<String, VarValue>,
}

/// One concrete query, ready to send.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResolvedQuery {
    /// Unique name: the manifest's name, plus `[item]` for `for_each` expansions.
    pub name: String,
    /// The manifest query it came from.
    pub query: String,
    /// The `for_each` item, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// The preset it came from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    pub promql: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The report section: the query's `section`, else its preset's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<Section>,
}

/// The section a preset's series belong in.
pub fn preset_section(preset: &str) -> Option<Section> {
    match preset.split('.').next()? {
        _ if preset == "cadvisor.replicas" => Some(Section::Scaling),
        "cadvisor" | "node" => Some(Section::System),
        "envoy" => Some(Section::Application),
        _ => None,
    }
}

/// The PromQL template of a query: its own, or its preset's.
pub fn template_of(q: &Query) -> Option<&str> {
    match (&q.promql, &q.preset) {
        (Some(p), _) => Some(p),
        (None, Some(name)) => presets::find(name).map(|p| p.promql),
        (None, None) => None,
    }
}

/// Why a query does not expand.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("no PromQL (neither `promql` nor a known `preset`)")]
    NoPromql,
    #[error(transparent)]
    Render(#[from] template::RenderError),
}

/// Expands one manifest query into its concrete PromQL queries.
pub fn expand(q: &Query, cx: &QueryContext) -> Result<Vec<ResolvedQuery>, QueryError> {
    let template = template_of(q).ok_or(QueryError::NoPromql)?;
    let preset = q.preset.as_deref().and_then(presets::find);
    let items: Vec<(Option<String>, Option<String>)> = match &q.for_each {
        Some(fe) => match (&fe.service, &fe.cluster) {
            (Some(s), _) => s
                .iter()
                .map(|s| (Some(s.clone()), q.cluster.clone()))
                .collect(),
            (None, Some(c)) => c
                .iter()
                .map(|c| (q.service.clone(), Some(c.clone())))
                .collect(),
            (None, None) => vec![(q.service.clone(), q.cluster.clone())],
        },
        None => vec![(q.service.clone(), q.cluster.clone())],
    };
    let expanded = q.for_each.is_some();
    items
        .into_iter()
        .map(|(service, cluster)| {
            let mut ctx = template::vars_context(&cx.vars);
            ctx.insert("stack".into(), JValue::from(cx.stack.as_str()));
            ctx.insert("services".into(), JValue::from(cx.services.join("|")));
            ctx.insert(
                "rate_window".into(),
                JValue::from(cx.rate_window.to_string()),
            );
            ctx.insert("step".into(), JValue::from(cx.step.to_string()));
            ctx.insert(
                "service".into(),
                JValue::from(service.clone().unwrap_or_default()),
            );
            ctx.insert(
                "cluster".into(),
                JValue::from(cluster.clone().unwrap_or_default()),
            );
            ctx.insert("quantile".into(), JValue::from(q.quantile.unwrap_or(0.95)));
            ctx.insert(
                "conn_manager".into(),
                JValue::from(
                    q.conn_manager
                        .clone()
                        .unwrap_or_else(|| "gateway_hcm".into()),
                ),
            );
            let promql = template::render(template, &ctx)?;
            let item = if expanded {
                match &q.for_each {
                    Some(fe) if fe.service.is_some() => service,
                    _ => cluster,
                }
            } else {
                None
            };
            Ok(ResolvedQuery {
                name: match &item {
                    Some(i) => format!("{}[{i}]", q.name),
                    None => q.name.clone(),
                },
                query: q.name.clone(),
                item,
                preset: q.preset.clone(),
                section: q
                    .section
                    .or_else(|| q.preset.as_deref().and_then(preset_section)),
                promql: promql.trim().to_string(),
                unit: q
                    .unit
                    .clone()
                    .or_else(|| preset.map(|p| p.unit.to_string())),
            })
        })
        .collect()
}

/// Regexes of `=~` and `!~` label matchers in rendered PromQL, with their text.
pub fn label_regexes(promql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = promql;
    while let Some(i) = rest.find(['=', '!']) {
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('~') {
            let tail = tail.trim_start();
            if let Some(q) = tail
                .chars()
                .next()
                .filter(|c| matches!(c, '"' | '\'' | '`'))
            {
                if let Some(end) = find_closing(&tail[1..], q) {
                    out.push(unescape(&tail[1..1 + end]));
                    rest = &tail[1 + end..];
                    continue;
                }
            }
        }
        rest = after;
    }
    out
}

fn find_closing(s: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !escaped && quote != '`' => escaped = true,
            c if c == quote && !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("\\\\", "\\").replace("\\\"", "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> QueryContext {
        QueryContext {
            stack: "ms-stack-v5".into(),
            services: vec!["gateway".into(), "ms-exercise".into()],
            rate_window: crate::manifest::duration::parse("1m").unwrap(),
            step: crate::manifest::duration::parse("5s").unwrap(),
            vars: BTreeMap::new(),
        }
    }

    fn query(yaml: serde_json::Value) -> Query {
        serde_json::from_value(yaml).unwrap()
    }

    #[test]
    fn seed_cpu_query_per_service() {
        let q = query(serde_json::json!({"name": "cpu", "preset": "cadvisor.cpu",
            "for_each": {"service": ["ms-exercise"]}}));
        let r = expand(&q, &cx()).unwrap();
        assert_eq!(r[0].name, "cpu[ms-exercise]");
        assert_eq!(
            r[0].promql,
            r#"sum(rate(container_cpu_usage_seconds_total{container_label_com_docker_swarm_service_name=~"ms-stack-v5_ms-exercise.*"}[1m])) by (container_label_com_docker_swarm_service_name)"#
        );
    }

    #[test]
    fn replicas_of_whole_stack_and_one_service() {
        let all = expand(
            &query(serde_json::json!({"name": "r", "preset": "cadvisor.replicas"})),
            &cx(),
        )
        .unwrap();
        assert_eq!(
            all[0].promql,
            r#"count(container_last_seen{container_label_com_docker_stack_namespace="ms-stack-v5"}) by (container_label_com_docker_swarm_service_name)"#
        );
        let one = expand(
            &query(serde_json::json!({"name": "r", "preset": "cadvisor.replicas", "service": "ms-exercise"})),
            &cx(),
        )
        .unwrap();
        assert_eq!(
            one[0].promql,
            r#"count(container_last_seen{container_label_com_docker_swarm_service_name=~"ms-stack-v5_ms-exercise.*"}) by (container_label_com_docker_swarm_service_name)"#
        );
    }

    #[test]
    fn latency_quantile_and_regexes() {
        let q = query(
            serde_json::json!({"name": "p", "preset": "envoy.latency_quantile",
            "cluster": "gateway_cluster", "quantile": 0.99}),
        );
        let r = expand(&q, &cx()).unwrap();
        assert_eq!(
            r[0].promql,
            r#"histogram_quantile(0.99, rate(envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="gateway_cluster"}[1m]))"#
        );
        assert_eq!(
            label_regexes(r#"a{x=~"a.*", y!~ 'b(', z="c"}"#),
            vec!["a.*", "b("]
        );
    }
}
