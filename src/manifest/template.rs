//! minijinja templates in manifest strings: one environment, the names each kind of field may
//! use, and checks that catch unknown variables before anything runs.
//!
//! Three kinds of templated fields exist:
//! - plan-time fields (stack name, hosts, URLs): rendered once with `vars`;
//! - PromQL queries: rendered per query with `vars` plus stack, service and cluster names;
//! - request fields: rendered per request at run time with `vars`, `user`, `iteration` and
//!   extracted values.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use minijinja::{Environment, UndefinedBehavior, Value as JValue};

use super::model::VarValue;

/// Functions request templates may call.
pub const REQUEST_FUNCTIONS: &[&str] = &["random", "choice", "uuid", "now"];
/// Names request templates get from the generator.
pub const REQUEST_NAMES: &[&str] = &["user", "iteration"];
/// Names PromQL templates get besides `vars`.
pub const QUERY_NAMES: &[&str] = &[
    "stack",
    "service",
    "services",
    "cluster",
    "rate_window",
    "step",
    "quantile",
    "conn_manager",
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env
});

/// Whether a string contains template syntax at all.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// Checks a template's syntax and that it uses only `allowed` names.
/// Returns a message and an optional hint.
pub fn check(source: &str, allowed: &[&str]) -> Result<(), (String, Option<String>)> {
    if !is_template(source) {
        return Ok(());
    }
    let tmpl = ENV
        .template_from_str(source)
        .map_err(|e| (format!("template syntax error: {}", detail(&e)), None))?;
    let mut unknown: Vec<String> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !allowed.contains(&v.as_str()))
        .collect();
    unknown.sort();
    match unknown.first() {
        None => Ok(()),
        Some(name) => {
            let hint = super::diagnostic::did_you_mean(name, allowed.iter().copied())
                .map(|n| format!("did you mean `{n}`?"))
                .or_else(|| {
                    Some(if allowed.is_empty() {
                        "no variables are defined here; add them under `vars:`".to_string()
                    } else {
                        format!("names available here: {}", allowed.join(", "))
                    })
                });
            Err((format!("unknown template variable `{name}`"), hint))
        }
    }
}

/// The top-level variables a template uses (none when it does not parse).
pub fn variables(source: &str) -> Vec<String> {
    if !is_template(source) {
        return Vec::new();
    }
    ENV.template_from_str(source)
        .map(|t| t.undeclared_variables(false).into_iter().collect())
        .unwrap_or_default()
}

/// A template that does not render: its kind and detail as minijinja words them.
#[derive(Debug, thiserror::Error)]
#[error("{}", detail(.0))]
pub struct RenderError(minijinja::Error);

/// Renders a template with a context; plain strings come back unchanged.
pub fn render(source: &str, context: &BTreeMap<String, JValue>) -> Result<String, RenderError> {
    if !is_template(source) {
        return Ok(source.to_string());
    }
    ENV.render_str(source, context).map_err(RenderError)
}

/// The context of `vars` alone.
pub fn vars_context(vars: &BTreeMap<String, VarValue>) -> BTreeMap<String, JValue> {
    vars.iter()
        .map(|(k, v)| (k.clone(), JValue::from_serialize(&v.0)))
        .collect()
}

fn detail(e: &minijinja::Error) -> String {
    let mut s = e.kind().to_string();
    if let Some(d) = e.detail() {
        s.push_str(": ");
        s.push_str(d);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_are_reported_with_a_hint() {
        assert!(check("plain", &[]).is_ok());
        assert!(check("{{ stack }}_x", &["stack"]).is_ok());
        let (msg, hint) = check("{{ stak }}", &["stack", "service"]).unwrap_err();
        assert_eq!(msg, "unknown template variable `stak`");
        assert_eq!(hint.as_deref(), Some("did you mean `stack`?"));
        assert!(
            check("{{ x", &["x"])
                .unwrap_err()
                .0
                .starts_with("template syntax error")
        );
    }

    #[test]
    fn renders_with_vars() {
        let mut ctx = BTreeMap::new();
        ctx.insert("stack".to_string(), JValue::from("ms-stack-v5"));
        assert_eq!(render("{{ stack }}_gw", &ctx).unwrap(), "ms-stack-v5_gw");
        assert!(render("{{ nope }}", &ctx).is_err());
    }
}
