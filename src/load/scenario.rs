//! The manifest's scenario compiled for sending: templates parsed once, requests without
//! templates rendered to bytes once, stat ids assigned, task weights made cumulative.

use super::ScenarioError;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use minijinja::{Environment, UndefinedBehavior, Value as JValue};

use crate::http::http1::Want;
use crate::http::target::{Target, join_path};
use crate::manifest::model::{Check, Extractor, Load, Method, Request, Step, ThinkTime};

/// A string field: plain, or a template to render per request.
#[derive(Debug, Clone)]
pub enum Part {
    Static(String),
    /// Its source (minijinja's template name) and, for the forms soy renders itself, the
    /// fast form.
    Template(String, Option<super::fast::Fast>),
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    Json(serde_json::Value),
    Form(Vec<(String, Part)>),
    Raw(Part),
}

/// A way to take a value from a response.
#[derive(Debug, Clone)]
pub enum Extract {
    Json(String),
    Regex(regex::Regex),
    Header(String),
}

/// A request ready to render and send.
#[derive(Debug, Clone)]
pub struct CompiledRequest {
    /// Index into `Scenario::names`.
    pub stat: usize,
    pub method: Method,
    /// Path (joined to the host) or full URL.
    pub url: Part,
    pub full_url: bool,
    pub headers: Vec<(String, Part)>,
    pub query: Vec<(String, Part)>,
    pub body: Body,
    pub timeout: Duration,
    pub check: Option<Check>,
    pub extract: Vec<(String, Extract)>,
    pub want: Want,
    /// Pre-rendered target and bytes, when nothing in the request is templated.
    pub fixed: Option<(Target, Vec<u8>)>,
}

/// A task: steps (request indices) and its think time.
#[derive(Debug, Clone)]
pub struct CompiledTask {
    pub name: String,
    pub steps: Vec<usize>,
    pub think: ThinkTime,
}

/// Everything a virtual user needs.
#[derive(Debug)]
pub struct Scenario {
    pub env: Environment<'static>,
    pub base: Option<Target>,
    pub requests: Vec<CompiledRequest>,
    /// `(method, name)` of each stat id.
    pub names: Vec<(String, String)>,
    pub on_start: Vec<usize>,
    pub tasks: Vec<CompiledTask>,
    /// Running sums of task weights, for picking.
    pub cumulative: Vec<u64>,
    pub vars: BTreeMap<String, JValue>,
    /// TLS client settings for `https://` targets (ALPN `http/1.1`)…
    pub tls: Arc<rustls::ClientConfig>,
    /// …and the same offering `h2` first, for `load.http2`.
    pub tls_h2: Arc<rustls::ClientConfig>,
    /// Speak HTTP/2.
    pub http2: bool,
}

impl Scenario {
    /// Compiles the load section. `host` overrides `load.host`.
    pub fn compile(
        load: &Load,
        vars: BTreeMap<String, JValue>,
        host: Option<&str>,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Arc<Scenario>, ScenarioError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        super::functions::register(&mut env);
        let base = match host.or(load.host.as_deref()) {
            Some(h) => {
                let rendered =
                    crate::manifest::template::render(h, &vars).map_err(ScenarioError::Host)?;
                Some(Target::parse(&rendered).map_err(ScenarioError::HostUrl)?)
            }
            None => None,
        };
        let mut b = Builder {
            env,
            base: base.clone(),
            requests: Vec::new(),
            names: Vec::new(),
            timeout: load.timeout.0,
        };
        let on_start = load
            .on_start
            .iter()
            .map(|s| b.step(s))
            .collect::<Result<Vec<_>, _>>()?;
        let mut tasks = Vec::new();
        let mut cumulative = Vec::new();
        let mut sum = 0u64;
        for t in &load.tasks {
            let steps = match &t.request {
                Some(r) => vec![b.request(r, &t.extract, t.check.as_ref())?],
                None => t
                    .steps
                    .iter()
                    .map(|s| b.step(s))
                    .collect::<Result<_, _>>()?,
            };
            sum += u64::from(t.weight);
            cumulative.push(sum);
            tasks.push(CompiledTask {
                name: t.name.clone(),
                steps,
                think: t.think_time.unwrap_or(load.think_time),
            });
        }
        if tasks.is_empty() {
            let get = Request {
                method: Method::Get,
                path: None,
                url: None,
                name: None,
                headers: BTreeMap::new(),
                query: BTreeMap::new(),
                json: None,
                form: BTreeMap::new(),
                body: None,
                timeout: None,
            };
            let i = b.request(&get, &BTreeMap::new(), None)?;
            tasks.push(CompiledTask {
                name: "GET host".into(),
                steps: vec![i],
                think: load.think_time,
            });
            cumulative.push(1);
        }
        if cumulative.last().copied().unwrap_or(0) == 0 {
            return Err(ScenarioError::NoWeight);
        }
        let mut sc = Scenario {
            env: b.env,
            base,
            requests: b.requests,
            names: b.names,
            on_start,
            tasks,
            cumulative,
            vars,
            tls_h2: {
                let mut c = (*tls).clone();
                c.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
                Arc::new(c)
            },
            tls,
            http2: load.http2,
        };
        sc.prerender();
        Ok(Arc::new(sc))
    }

    /// Picks a task index for a uniform draw `r` in `[0, total weight)`.
    pub fn pick(&self, r: u64) -> usize {
        self.cumulative.partition_point(|c| *c <= r)
    }

    pub fn total_weight(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    fn prerender(&mut self) {
        for i in 0..self.requests.len() {
            let r = &self.requests[i];
            let plain = |p: &Part| matches!(p, Part::Static(_));
            let body_plain = match &r.body {
                Body::None => true,
                Body::Json(v) => !json_has_template(v),
                Body::Form(f) => f.iter().all(|(_, p)| plain(p)),
                Body::Raw(p) => plain(p),
            };
            if plain(&r.url)
                && r.headers.iter().all(|(_, p)| plain(p))
                && r.query.iter().all(|(_, p)| plain(p))
                && body_plain
            {
                let mut buf = String::new();
                let empty = BTreeMap::new();
                let ctx = super::fast::Ctx {
                    vars: &empty,
                    index: 0,
                    iteration: 0,
                    extracted: &empty,
                };
                if let Ok(t) = super::render::render_into(self, i, &ctx, &mut buf) {
                    let t = t.into_owned();
                    self.requests[i].fixed = Some((t, buf.into_bytes()));
                }
            }
        }
    }
}

fn json_has_template(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => crate::manifest::template::is_template(s),
        serde_json::Value::Array(a) => a.iter().any(json_has_template),
        serde_json::Value::Object(o) => o.values().any(json_has_template),
        _ => false,
    }
}

struct Builder {
    env: Environment<'static>,
    base: Option<Target>,
    requests: Vec<CompiledRequest>,
    names: Vec<(String, String)>,
    timeout: Duration,
}

impl Builder {
    fn part(&mut self, s: &str) -> Result<Part, ScenarioError> {
        if crate::manifest::template::is_template(s) {
            self.env
                .add_template_owned(s.to_string(), s.to_string())
                .map_err(|source| ScenarioError::Template {
                    template: s.to_string(),
                    source,
                })?;
            Ok(Part::Template(s.to_string(), super::fast::compile(s)))
        } else {
            Ok(Part::Static(s.to_string()))
        }
    }

    fn step(&mut self, s: &Step) -> Result<usize, ScenarioError> {
        self.request(&s.request, &s.extract, s.check.as_ref())
    }

    fn request(
        &mut self,
        r: &Request,
        extract: &BTreeMap<String, Extractor>,
        check: Option<&Check>,
    ) -> Result<usize, ScenarioError> {
        let method = method_name(r.method).to_string();
        let (written, full_url) = match (&r.path, &r.url) {
            (_, Some(u)) => (u.clone(), true),
            (Some(p), None) => (p.clone(), false),
            (None, None) => (
                self.base
                    .as_ref()
                    .map_or("/".to_string(), |b| b.path.clone()),
                false,
            ),
        };
        if !full_url && self.base.is_none() {
            return Err(ScenarioError::NoHost(written));
        }
        let name = r.name.clone().unwrap_or_else(|| written.clone());
        let key = (method, name);
        let stat = match self.names.iter().position(|n| *n == key) {
            Some(i) => i,
            None => {
                self.names.push(key);
                self.names.len() - 1
            }
        };
        let url = if full_url {
            self.part(&written)?
        } else {
            let base_path = self
                .base
                .as_ref()
                .map_or("/", |b| b.path.as_str())
                .to_string();
            let joined = if r.path.is_some() {
                join_path(&base_path, &written)
            } else {
                written.clone()
            };
            self.part(&joined)?
        };
        let headers = r
            .headers
            .iter()
            .map(|(k, v)| Ok((k.clone(), self.part(v)?)))
            .collect::<Result<Vec<_>, ScenarioError>>()?;
        let query = r
            .query
            .iter()
            .map(|(k, v)| Ok((k.clone(), self.part(v)?)))
            .collect::<Result<Vec<_>, ScenarioError>>()?;
        let body = if let Some(j) = &r.json {
            register_json(self, j)?;
            Body::Json(j.clone())
        } else if !r.form.is_empty() {
            Body::Form(
                r.form
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.part(v)?)))
                    .collect::<Result<Vec<_>, ScenarioError>>()?,
            )
        } else if let Some(raw) = &r.body {
            Body::Raw(self.part(raw)?)
        } else {
            Body::None
        };
        let extract = extract
            .iter()
            .map(|(k, e)| {
                let ex = match (&e.json, &e.regex, &e.header) {
                    (Some(p), _, _) => Extract::Json(p.clone()),
                    (_, Some(re), _) => Extract::Regex(
                        regex::Regex::new(re).map_err(|e| ScenarioError::Regex(k.clone(), e))?,
                    ),
                    (_, _, Some(h)) => Extract::Header(h.to_ascii_lowercase()),
                    _ => return Err(ScenarioError::NoSource(k.clone())),
                };
                Ok((k.clone(), ex))
            })
            .collect::<Result<Vec<_>, ScenarioError>>()?;
        let want = Want {
            body: check.is_some_and(|c| c.body_contains.is_some() || c.json.is_some())
                || extract
                    .iter()
                    .any(|(_, e)| !matches!(e, Extract::Header(_))),
            headers: extract.iter().any(|(_, e)| matches!(e, Extract::Header(_))),
        };
        self.requests.push(CompiledRequest {
            stat,
            method: r.method,
            url,
            full_url,
            headers,
            query,
            body,
            timeout: r.timeout.map_or(self.timeout, |t| t.0),
            check: check.cloned(),
            extract,
            want,
            fixed: None,
        });
        Ok(self.requests.len() - 1)
    }
}

fn register_json(b: &mut Builder, v: &serde_json::Value) -> Result<(), ScenarioError> {
    match v {
        serde_json::Value::String(s) => b.part(s).map(|_| ()),
        serde_json::Value::Array(a) => a.iter().try_for_each(|x| register_json(b, x)),
        serde_json::Value::Object(o) => o.values().try_for_each(|x| register_json(b, x)),
        _ => Ok(()),
    }
}

/// The method as it goes on the request line.
pub fn method_name(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Head => "HEAD",
        Method::Options => "OPTIONS",
    }
}
