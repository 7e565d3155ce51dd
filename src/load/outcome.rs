//! Judging a response: checks that turn it into a failure, and values extracted for later
//! templates. Pure.

use minijinja::Value as JValue;

use super::failure::Failure;
use super::scenario::{CompiledRequest, Extract};
use crate::http::http1::Response;

/// The value at `pointer` in a JSON body: found by scanning when it can be (no document is
/// built), else from the whole body parsed once into `parsed`.
fn pointed(
    body: &[u8],
    pointer: &str,
    parsed: &mut Option<serde_json::Value>,
) -> Result<Option<serde_json::Value>, Failure> {
    if parsed.is_none() {
        if let Some(v) = super::json_scan::find(body, pointer)
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok())
        {
            return Ok(Some(v));
        }
        *parsed = Some(
            serde_json::from_slice(body)
                .map_err(|e| Failure::Check(format!("body is not JSON: {e}")))?,
        );
    }
    Ok(parsed.as_ref().and_then(|d| d.pointer(pointer)).cloned())
}

/// Checks `resp` against the request's checks; on success returns the extracted values.
pub fn evaluate<'r>(
    req: &'r CompiledRequest,
    resp: &Response,
) -> Result<Vec<(&'r str, JValue)>, Failure> {
    let check = req.check.as_ref();
    match check.and_then(|c| c.status) {
        Some(want) if want != resp.status => {
            return Err(Failure::Check(format!(
                "expected status {want}, got {}",
                resp.status
            )));
        }
        None if resp.status >= 400 => return Err(Failure::Status(resp.status)),
        _ => {}
    }
    let mut parsed: Option<serde_json::Value> = None;
    if let Some(c) = check {
        if let Some(needle) = &c.body_contains {
            if !memchr_contains(&resp.body, needle.as_bytes()) {
                return Err(Failure::Check(format!("body does not contain `{needle}`")));
            }
        }
        if let Some(jc) = &c.json {
            match pointed(&resp.body, &jc.pointer, &mut parsed)? {
                Some(v) if v == jc.equals => {}
                Some(v) => {
                    return Err(Failure::Check(format!(
                        "{} is {v}, expected {}",
                        jc.pointer, jc.equals
                    )));
                }
                None => return Err(Failure::Check(format!("{} is missing", jc.pointer))),
            }
        }
    }
    let mut out = Vec::with_capacity(req.extract.len());
    for (name, ex) in &req.extract {
        let value = match ex {
            Extract::Json(ptr) => {
                let v = pointed(&resp.body, ptr, &mut parsed)?
                    .ok_or_else(|| Failure::Check(format!("extract `{name}`: {ptr} is missing")))?;
                JValue::from_serialize(&v)
            }
            Extract::Regex(re) => {
                let body = String::from_utf8_lossy(&resp.body);
                let caps = re.captures(&body).ok_or_else(|| {
                    Failure::Check(format!("extract `{name}`: /{re}/ does not match"))
                })?;
                let m = caps
                    .get(1)
                    .or_else(|| caps.get(0))
                    .map_or("", |m| m.as_str());
                JValue::from(m.to_string())
            }
            Extract::Header(h) => {
                let v =
                    resp.headers.iter().find(|(k, _)| k == h).ok_or_else(|| {
                        Failure::Check(format!("extract `{name}`: no header `{h}`"))
                    })?;
                JValue::from(v.1.clone())
            }
        };
        out.push((name.as_str(), value));
    }
    Ok(out)
}

fn memchr_contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}
