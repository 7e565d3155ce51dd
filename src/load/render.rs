//! Rendering a compiled request into HTTP/1.1 bytes for one user at one moment, straight
//! into the user's reused buffer: templates in the fast form (`fast`) are written in place,
//! the others go through minijinja. A path request goes to the scenario's base target,
//! which is borrowed, not copied.

use std::borrow::Cow;

use super::failure::Failure;
use super::fast::Ctx;
use super::scenario::{Body, CompiledRequest, Part, Scenario, method_name};
use crate::http::target::{Target, encode_into};

const USER_AGENT: &str = concat!("soy/", env!("CARGO_PKG_VERSION"));

/// Appends part `p` rendered for `ctx` to `out`.
fn write_text(sc: &Scenario, p: &Part, ctx: &Ctx<'_>, out: &mut String) -> Result<(), Failure> {
    match p {
        Part::Static(s) => out.push_str(s),
        Part::Template(src, fast) => {
            if fast.as_ref().is_some_and(|f| f.render(ctx, out)) {
                return Ok(());
            }
            let text = sc
                .env
                .get_template(src)
                .and_then(|t| t.render(ctx.to_value()))
                .map_err(|e| Failure::Template(format!("`{src}`: {}", detail(&e))))?;
            out.push_str(&text);
        }
    }
    Ok(())
}

fn text(sc: &Scenario, p: &Part, ctx: &Ctx<'_>) -> Result<String, Failure> {
    let mut s = String::new();
    write_text(sc, p, ctx, &mut s)?;
    Ok(s)
}

fn detail(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    }
}

/// Writes request `index` for context `ctx` into `buf`; returns where it goes.
pub fn render_into<'s>(
    sc: &'s Scenario,
    index: usize,
    ctx: &Ctx<'_>,
    buf: &mut String,
) -> Result<Cow<'s, Target>, Failure> {
    let r: &CompiledRequest = &sc.requests[index];
    buf.clear();
    let method = method_name(r.method);
    buf.push_str(method);
    buf.push(' ');
    let path_at = buf.len();
    let target = if r.full_url {
        let t = Target::parse(&text(sc, &r.url, ctx)?)
            .map_err(|e| Failure::Template(format!("rendered URL is invalid: {e}")))?;
        buf.push_str(&t.path);
        Cow::Owned(t)
    } else {
        let base = sc
            .base
            .as_ref()
            .ok_or_else(|| Failure::Template("a path with no host".into()))?;
        write_text(sc, &r.url, ctx, buf)?;
        let path = &buf[path_at..];
        if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Failure::Template(format!(
                "rendered path `{path}` is not a valid URL path"
            )));
        }
        Cow::Borrowed(base)
    };
    if !r.query.is_empty() {
        let mut sep = if buf[path_at..].contains('?') {
            '&'
        } else {
            '?'
        };
        for (k, v) in &r.query {
            buf.push(sep);
            sep = '&';
            encode_into(k, buf, false);
            buf.push('=');
            encode_into(&text(sc, v, ctx)?, buf, false);
        }
    }
    let (content_type, body) = match &r.body {
        Body::None => (None, String::new()),
        Body::Json(v) => (
            Some("application/json"),
            serde_json::to_string(&json(sc, v, ctx)?).unwrap_or_default(),
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
            (Some("application/x-www-form-urlencoded"), s)
        }
        Body::Raw(p) => (None, text(sc, p, ctx)?),
    };
    buf.push_str(" HTTP/1.1\r\nHost: ");
    buf.push_str(&target.authority);
    buf.push_str("\r\n");
    let has = |name: &str| r.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    if !has("user-agent") {
        buf.push_str("User-Agent: ");
        buf.push_str(USER_AGENT);
        buf.push_str("\r\n");
    }
    if let Some(ct) = content_type.filter(|_| !has("content-type")) {
        buf.push_str("Content-Type: ");
        buf.push_str(ct);
        buf.push_str("\r\n");
    }
    for (k, v) in &r.headers {
        if k.contains(['\r', '\n', ':']) {
            return Err(Failure::Template(format!(
                "header `{k}` would contain a line break"
            )));
        }
        buf.push_str(k);
        buf.push_str(": ");
        let at = buf.len();
        write_text(sc, v, ctx, buf)?;
        if buf[at..].contains(['\r', '\n']) {
            return Err(Failure::Template(format!(
                "header `{k}` would contain a line break"
            )));
        }
        buf.push_str("\r\n");
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        use std::fmt::Write as _;
        let _ = write!(buf, "Content-Length: {}\r\n", body.len());
    }
    buf.push_str("\r\n");
    buf.push_str(&body);
    Ok(target)
}

fn json(sc: &Scenario, v: &serde_json::Value, ctx: &Ctx<'_>) -> Result<serde_json::Value, Failure> {
    use serde_json::Value as J;
    Ok(match v {
        J::String(s) if crate::manifest::template::is_template(s) => J::String(text(
            sc,
            &Part::Template(s.clone(), super::fast::compile(s)),
            ctx,
        )?),
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
