//! A Prometheus HTTP API client: `/api/v1/query_range` and `/api/v1/query`, with bearer or
//! basic auth from `${env:…}`, extra headers, a timeout, and retries with backoff for 5xx
//! answers and timeouts. A query Prometheus rejects is an error quoting the PromQL and
//! Prometheus' own message; warnings are kept.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::analysis::series::Series;
use crate::http::{self, GetError, Target, target};
use crate::manifest::env;
use crate::manifest::model::PrometheusSource;

/// Attempts per query (the first plus retries).
const ATTEMPTS: u32 = 3;
/// The largest API answer read (the body limit soy's client has always kept).
const MAX_ANSWER_BYTES: usize = http::http1::MAX_KEPT_BODY;

/// What goes wrong talking to Prometheus.
#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    #[error("metrics.source.url")]
    Url(#[source] http::UrlError),
    #[error("metrics.source credentials")]
    Credentials(#[source] env::EnvError),
    #[error("metrics.source")]
    Tls(#[source] http::TlsError),
    #[error("no answer within {}", crate::clock::Human(*.0))]
    Timeout(Duration),
    #[error("Prometheus")]
    TooLarge(#[source] GetError),
    #[error("cannot reach Prometheus at {url}")]
    Unreachable {
        url: String,
        #[source]
        source: GetError,
    },
    #[error("Prometheus answered {status}: {message}")]
    ServerError { status: u16, message: String },
    #[error("Prometheus rejected it ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// The API said `"status": "error"` or answered something soy cannot read.
    #[error("{0}")]
    Answer(String),
    /// A query failed: which one, and why.
    #[error("query `{promql}`")]
    Query {
        promql: String,
        #[source]
        source: Box<PrometheusError>,
    },
}

impl PrometheusError {
    /// Worth another attempt: a timeout, an unreachable server, a 5xx answer.
    fn retry(&self) -> bool {
        matches!(
            self,
            PrometheusError::Timeout(_)
                | PrometheusError::Unreachable { .. }
                | PrometheusError::ServerError { .. }
        )
    }

    fn of_query(promql: &str) -> impl FnOnce(PrometheusError) -> PrometheusError + '_ {
        move |e| PrometheusError::Query {
            promql: promql.to_string(),
            source: Box::new(e),
        }
    }
}

/// A configured client.
#[derive(Clone)]
pub struct Client {
    base: Target,
    headers: Vec<(String, String)>,
    timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
    /// Pause before the first retry; doubled each time.
    pub backoff: Duration,
}

/// What a query returned.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub series: Vec<Series>,
    pub warnings: Vec<String>,
    /// The API's answer as it came (stored with the run).
    pub raw: Value,
}

impl Client {
    /// Builds a client; `${env:…}` in credentials and headers are resolved here, at use.
    /// A client for `src`, whose URL the plan has rendered; `${env:NAME}` references in its
    /// credentials and headers are resolved here, at the point of use.
    pub fn new(src: &PrometheusSource) -> Result<Client, PrometheusError> {
        let base = Target::parse(&src.url).map_err(PrometheusError::Url)?;
        let resolve = |s: &str| env::resolve_from_process(s).map_err(PrometheusError::Credentials);
        let mut headers = Vec::new();
        if let Some(t) = &src.bearer_token {
            headers.push(("Authorization".into(), format!("Bearer {}", resolve(t)?)));
        }
        if let Some(b) = &src.basic_auth {
            let user = resolve(&b.username)?;
            let pass = resolve(&b.password)?;
            headers.push((
                "Authorization".into(),
                format!("Basic {}", base64(format!("{user}:{pass}").as_bytes())),
            ));
        }
        for (k, v) in &src.headers {
            headers.push((k.clone(), resolve(v)?));
        }
        Ok(Client {
            base,
            headers,
            timeout: src.timeout.0,
            tls: http::tls::client_config(false, None).map_err(PrometheusError::Tls)?,
            backoff: Duration::from_millis(500),
        })
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        self.base.to_string()
    }

    /// Checks that the server answers (`/api/v1/status/buildinfo`).
    pub async fn ping(&self) -> Result<String, PrometheusError> {
        let body = self.get("/api/v1/status/buildinfo", &[]).await?;
        Ok(body
            .pointer("/data/version")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string())
    }

    /// A range query over `[start, end]` (Unix seconds).
    pub async fn query_range(
        &self,
        promql: &str,
        start: f64,
        end: f64,
        step: Duration,
    ) -> Result<Answer, PrometheusError> {
        let step = format!("{}", step.as_secs_f64());
        let (s, e) = (format!("{start:.3}"), format!("{end:.3}"));
        self.get(
            "/api/v1/query_range",
            &[
                ("query", promql),
                ("start", &s),
                ("end", &e),
                ("step", &step),
            ],
        )
        .await
        .and_then(|body| parse_answer(&body))
        .map_err(PrometheusError::of_query(promql))
    }

    /// An instant query at `time` (Unix seconds).
    pub async fn query(&self, promql: &str, time: f64) -> Result<Answer, PrometheusError> {
        let t = format!("{time:.3}");
        self.get("/api/v1/query", &[("query", promql), ("time", &t)])
            .await
            .and_then(|body| parse_answer(&body))
            .map_err(PrometheusError::of_query(promql))
    }

    async fn get(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, PrometheusError> {
        let mut target = self.base.clone();
        target.path = target::join_path(&self.base.path, path);
        if !params.is_empty() {
            let q: Vec<String> = params
                .iter()
                .map(|(k, v)| format!("{k}={}", target::encode(v)))
                .collect();
            target.path = format!("{}?{}", target.path, q.join("&"));
        }
        let mut headers = vec![("Accept", "application/json")];
        headers.extend(self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let req = http::Request {
            headers: &headers,
            timeout: self.timeout,
            max_body: MAX_ANSWER_BYTES,
            want_headers: false,
        };
        let mut pause = self.backoff;
        let mut attempt = 1;
        loop {
            let outcome = match http::get(&target, &self.tls, &req).await {
                Err(GetError::Timeout(t)) => Err(PrometheusError::Timeout(t)),
                Err(e @ GetError::TooLarge { .. }) => Err(PrometheusError::TooLarge(e)),
                Err(source) => Err(PrometheusError::Unreachable {
                    url: self.base.to_string(),
                    source,
                }),
                Ok(resp) => {
                    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
                    match resp.status {
                        200 => Ok(body),
                        status if status >= 500 => Err(PrometheusError::ServerError {
                            status,
                            message: prom_error(&body),
                        }),
                        status => Err(PrometheusError::Rejected {
                            status,
                            message: prom_error(&body),
                        }),
                    }
                }
            };
            match outcome {
                Err(e) if e.retry() && attempt < ATTEMPTS => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                done => return done,
            }
        }
    }
}

fn prom_error(body: &Value) -> String {
    match (
        body.get("errorType").and_then(Value::as_str),
        body.get("error").and_then(Value::as_str),
    ) {
        (Some(t), Some(e)) => format!("{t}: {e}"),
        (None, Some(e)) => e.to_string(),
        _ => "no error message".into(),
    }
}

/// Parses a successful API answer (matrix, vector or scalar) into series.
pub fn parse_answer(body: &Value) -> Result<Answer, PrometheusError> {
    if body.get("status").and_then(Value::as_str) != Some("success") {
        return Err(PrometheusError::Answer(prom_error(body)));
    }
    let warnings = body
        .get("warnings")
        .and_then(Value::as_array)
        .map(|w| {
            w.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let data = body
        .get("data")
        .ok_or_else(|| PrometheusError::Answer("the answer has no data".into()))?;
    let point = |p: &Value| -> Option<(f64, f64)> {
        let t = p.get(0)?.as_f64()?;
        let v = p.get(1)?.as_str()?;
        let v = match v {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other.parse().ok()?,
        };
        Some((t, v))
    };
    let series = match data.get("resultType").and_then(Value::as_str) {
        Some("matrix") | Some("vector") => data
            .get("result")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|s| Series {
                        labels: s
                            .get("metric")
                            .and_then(Value::as_object)
                            .map(|m| {
                                m.iter()
                                    .map(|(k, v)| {
                                        (k.clone(), v.as_str().unwrap_or_default().to_string())
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        points: match s.get("values").and_then(Value::as_array) {
                            Some(vs) => vs.iter().filter_map(point).collect(),
                            None => s.get("value").and_then(point).into_iter().collect(),
                        },
                    })
                    .collect()
            })
            .unwrap_or_default(),
        Some("scalar") => data
            .get("result")
            .and_then(point)
            .map(|p| {
                vec![Series {
                    labels: BTreeMap::new(),
                    points: vec![p],
                }]
            })
            .unwrap_or_default(),
        other => {
            return Err(PrometheusError::Answer(format!(
                "unexpected result type {other:?}"
            )));
        }
    };
    Ok(Answer {
        series,
        warnings,
        raw: body.clone(),
    })
}

/// Time ranges longer than 1.5 steps with no point in a series: where data is missing.
pub fn gaps(points: &[(f64, f64)], start: f64, end: f64, step: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let mut prev = start - step;
    for (t, _) in points
        .iter()
        .copied()
        .chain(std::iter::once((end + step, 0.0)))
    {
        if t - prev > 1.5 * step {
            out.push((prev + step, t - step));
        }
        prev = t;
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_matrices_vectors_and_errors() {
        let m = serde_json::json!({"status": "success", "warnings": ["w1"], "data": {"resultType": "matrix", "result": [
            {"metric": {"job": "gw"}, "values": [[10, "1.5"], [15, "NaN"]]}]}});
        let a = parse_answer(&m).unwrap();
        assert_eq!(a.warnings, vec!["w1"]);
        assert_eq!(a.series[0].labels["job"], "gw");
        assert_eq!(a.series[0].points[0], (10.0, 1.5));
        assert!(a.series[0].points[1].1.is_nan());
        let e =
            serde_json::json!({"status": "error", "errorType": "bad_data", "error": "parse error"});
        assert_eq!(
            parse_answer(&e).unwrap_err().to_string(),
            "bad_data: parse error"
        );
    }

    #[test]
    fn gaps_and_base64() {
        let pts = [(0.0, 1.0), (5.0, 1.0), (25.0, 1.0), (30.0, 1.0)];
        assert_eq!(gaps(&pts, 0.0, 30.0, 5.0), vec![(10.0, 20.0)]);
        assert_eq!(gaps(&pts[..2], 0.0, 15.0, 5.0), vec![(10.0, 15.0)]);
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
