//! Judging a response: checks that turn it into a failure, and values extracted for later
//! templates. Pure.

use minijinja::Value as JValue;

use super::failure::Failure;
use super::scenario::{CompiledRequest, Extract};
use crate::http::http1::Response;

/// Checks `resp` against the request's checks; on success returns the extracted values.
pub fn evaluate(req: &CompiledRequest, resp: &Response) -> Result<Vec<(String, JValue)>, Failure> {
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
    let mut json = |resp: &Response| -> Result<serde_json::Value, Failure> {
        if parsed.is_none() {
            parsed = Some(
                serde_json::from_slice(&resp.body)
                    .map_err(|e| Failure::Check(format!("body is not JSON: {e}")))?,
            );
        }
        Ok(parsed.clone().unwrap_or_default())
    };
    if let Some(c) = check {
        if let Some(needle) = &c.body_contains {
            if !memchr_contains(&resp.body, needle.as_bytes()) {
                return Err(Failure::Check(format!("body does not contain `{needle}`")));
            }
        }
        if let Some(jc) = &c.json {
            let doc = json(resp)?;
            match doc.pointer(&jc.pointer) {
                Some(v) if *v == jc.equals => {}
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
                let doc = json(resp)?;
                let v = doc
                    .pointer(ptr)
                    .ok_or_else(|| Failure::Check(format!("extract `{name}`: {ptr} is missing")))?;
                JValue::from_serialize(v)
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
        out.push((name.clone(), value));
    }
    Ok(out)
}

fn memchr_contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}
