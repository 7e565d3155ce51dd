//! Rendering a compiled request into HTTP/1.1 bytes for one user at one moment.

use minijinja::Value as JValue;

use super::failure::Failure;
use super::scenario::{Body, CompiledRequest, Part, Scenario, method_name};
use crate::http::target::{Target, encode_into};

const USER_AGENT: &str = concat!("soy/", env!("CARGO_PKG_VERSION"));

fn text(sc: &Scenario, p: &Part, ctx: &JValue) -> Result<String, Failure> {
    match p {
        Part::Static(s) => Ok(s.clone()),
        Part::Template(src) => sc
            .env
            .get_template(src)
            .and_then(|t| t.render(ctx))
            .map_err(|e| Failure::Template(format!("`{src}`: {}", detail(&e)))),
    }
}

fn detail(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    }
}

/// Writes request `index` for context `ctx` into `buf`; returns where it goes.
pub fn render_into(
    sc: &Scenario,
    index: usize,
    ctx: &JValue,
    buf: &mut Vec<u8>,
) -> Result<Target, Failure> {
    let r: &CompiledRequest = &sc.requests[index];
    let url = text(sc, &r.url, ctx)?;
    let mut target = if r.full_url {
        Target::parse(&url)
            .map_err(|e| Failure::Template(format!("rendered URL is invalid: {e}")))?
    } else {
        let mut t = sc
            .base
            .clone()
            .ok_or_else(|| Failure::Template("a path with no host".into()))?;
        if !url.starts_with('/') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Failure::Template(format!(
                "rendered path `{url}` is not a valid URL path"
            )));
        }
        t.path = url;
        t
    };
    if !r.query.is_empty() {
        let mut q = String::new();
        for (k, v) in &r.query {
            if !q.is_empty() {
                q.push('&');
            }
            encode_into(k, &mut q, false);
            q.push('=');
            encode_into(&text(sc, v, ctx)?, &mut q, false);
        }
        target
            .path
            .push(if target.path.contains('?') { '&' } else { '?' });
        target.path.push_str(&q);
    }
    let (content_type, body) = match &r.body {
        Body::None => (None, Vec::new()),
        Body::Json(v) => (
            Some("application/json"),
            serde_json::to_vec(&json(sc, v, ctx)?).unwrap_or_default(),
        ),
        Body::Form(fields) => {
            let mut s = String::new();
            for (k, v) in fields {
                if !s.is_empty() {
                    s.push('&');
                }
                encode_into(k, &mut s, true);
                s.push('=');
                encode_into(&text(sc, v, ctx)?, &mut s, true);
            }
            (Some("application/x-www-form-urlencoded"), s.into_bytes())
        }
        Body::Raw(p) => (None, text(sc, p, ctx)?.into_bytes()),
    };
    buf.clear();
    let method = method_name(r.method);
    buf.extend_from_slice(method.as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(target.path.as_bytes());
    buf.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    buf.extend_from_slice(target.authority.as_bytes());
    buf.extend_from_slice(b"\r\n");
    let has = |name: &str| r.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    if !has("user-agent") {
        buf.extend_from_slice(b"User-Agent: ");
        buf.extend_from_slice(USER_AGENT.as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    if let Some(ct) = content_type.filter(|_| !has("content-type")) {
        buf.extend_from_slice(b"Content-Type: ");
        buf.extend_from_slice(ct.as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    for (k, v) in &r.headers {
        let v = text(sc, v, ctx)?;
        if v.contains(['\r', '\n']) || k.contains(['\r', '\n', ':']) {
            return Err(Failure::Template(format!(
                "header `{k}` would contain a line break"
            )));
        }
        buf.extend_from_slice(k.as_bytes());
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(v.as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        buf.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    buf.extend_from_slice(b"\r\n");
    buf.extend_from_slice(&body);
    Ok(target)
}

fn json(sc: &Scenario, v: &serde_json::Value, ctx: &JValue) -> Result<serde_json::Value, Failure> {
    use serde_json::Value as J;
    Ok(match v {
        J::String(s) if crate::manifest::template::is_template(s) => {
            J::String(text(sc, &Part::Template(s.clone()), ctx)?)
        }
        J::Array(a) => J::Array(
            a.iter()
                .map(|x| json(sc, x, ctx))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(o) => J::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), json(sc, x, ctx)?)))
                .collect::<Result<_, Failure>>()?,
        ),
        other => other.clone(),
    })
}
