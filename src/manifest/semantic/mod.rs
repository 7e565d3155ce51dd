//! Checks the schema cannot express: references between sections, files that must exist,
//! durations that must fit the run, templates and regexes that must compile.
//!
//! Each check reports through `Checker`, which turns a document path into a source position,
//! so every problem is found and shown at once.

pub mod campaign;
mod load;
pub mod locust;
mod slos;
mod stack;

use std::path::Path;

use serde_json::Value;

use super::diagnostic::Diagnostic;
use super::model::Experiment;
use super::pointer::Pointer;
use super::template;
use super::yaml::SourceMap;

/// Runs every semantic check on a schema-valid manifest that needs nothing beyond it (the
/// plan stage checks presets, the trace and the stack file's services).
pub fn check(exp: &Experiment, doc: &Value, map: &SourceMap, dir: &Path) -> Vec<Diagnostic> {
    let mut c = Checker {
        map,
        dir,
        out: Vec::new(),
    };
    let root = Pointer::root();
    for name in exp.vars.keys() {
        if !crate::manifest::env::is_identifier(name) {
            c.key(
                &root.key("vars").key(name),
                format!("`{name}` cannot be a template variable"),
            )
            .help = Some(
                "variable names are letters, digits and `_`, not starting with a digit".into(),
            );
        }
    }
    env_refs(&mut c, doc, &root);
    stack::check(&mut c, exp);
    load::check(&mut c, exp);
    slos::check(&mut c, exp);
    report(&mut c, exp);
    campaign::check(&mut c, exp, doc);
    c.out
}

/// What the checks need to know of the stack: its rendered name and its services.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackFacts {
    pub name: String,
    pub services: Vec<String>,
}

/// The checks that need a swarm stack's services, run once the plan has read its Compose
/// file.
pub fn check_services(c: &mut Checker<'_>, exp: &Experiment, facts: &StackFacts) {
    stack::check_services(c, exp, facts);
}

/// The stack's name with templates rendered, if it renders.
pub fn stack_name(exp: &Experiment) -> Option<String> {
    stack::stack_name(exp)
}

/// Collects diagnostics with positions in a manifest (the plan stage uses it too, for the
/// checks that need presets, the load shape or the Compose file).
pub struct Checker<'a> {
    map: &'a SourceMap,
    dir: &'a Path,
    pub out: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    pub fn new(map: &'a SourceMap, dir: &'a Path) -> Self {
        Checker {
            map,
            dir,
            out: Vec::new(),
        }
    }

    /// The manifest's folder.
    pub fn dir(&self) -> &Path {
        self.dir
    }

    /// A problem with the value at `ptr`.
    pub fn value(&mut self, ptr: &Pointer, message: impl Into<String>) -> &mut Diagnostic {
        let pos = self.map.value_pos(&ptr.to_string());
        self.out.push(Diagnostic::new(pos, ptr.dotted(), message));
        self.out.last_mut().expect("just pushed")
    }

    /// A problem with the key at `ptr` (the entry as a whole).
    pub fn key(&mut self, ptr: &Pointer, message: impl Into<String>) -> &mut Diagnostic {
        let pos = self.map.key_pos(&ptr.to_string());
        self.out.push(Diagnostic::new(pos, ptr.dotted(), message));
        self.out.last_mut().expect("just pushed")
    }

    /// The referenced file must exist, relative to the manifest.
    pub fn file(&mut self, ptr: &Pointer, rel: &str, what: &str) {
        let path = self.dir.join(rel);
        if !path.is_file() {
            self.value(ptr, format!("{what} `{rel}` does not exist"))
                .help = Some(format!(
                "paths are relative to the manifest's folder; looked for {}",
                path.display()
            ));
        }
    }

    /// The string at `ptr` must be a valid template over `allowed` names.
    pub fn template(&mut self, ptr: &Pointer, source: &str, allowed: &[&str]) {
        if let Err((message, help)) = template::check(source, allowed) {
            self.value(ptr, message).help = help;
        }
    }

    /// The string at `ptr` must compile as a regular expression.
    pub fn regex(&mut self, ptr: &Pointer, pattern: &str) {
        if let Some(why) = regex_problem(pattern) {
            self.value(
                ptr,
                format!("`{pattern}` is not a valid regular expression: {why}"),
            );
        }
    }

    /// Names `exp.vars` defines, for plan-time templates.
    /// A sweep's variables count: each point sets them.
    pub fn var_names(exp: &Experiment) -> Vec<&str> {
        let mut v: Vec<&str> = exp.vars.keys().map(String::as_str).collect();
        for s in campaign::sweep_vars(exp) {
            if !v.contains(&s) {
                v.push(s);
            }
        }
        v
    }
}

/// Why `pattern` does not compile, if it does not.
pub fn regex_problem(pattern: &str) -> Option<String> {
    regex::Regex::new(pattern).err().map(|e| {
        let detail = e.to_string();
        let last = detail.lines().last().unwrap_or("").trim();
        last.trim_start_matches("error: ").to_string()
    })
}

/// Every `${env:NAME}` must be well formed.
fn env_refs(c: &mut Checker<'_>, v: &Value, ptr: &Pointer) {
    match v {
        Value::String(s) => {
            if let Err(e) = crate::manifest::env::check_refs(s) {
                c.value(ptr, e.to_string()).help =
                    Some("write `${env:NAME}` with NAME of letters, digits and `_`".into());
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                env_refs(c, item, &ptr.index(i));
            }
        }
        Value::Object(entries) => {
            for (k, item) in entries {
                env_refs(c, item, &ptr.key(k));
            }
        }
        _ => {}
    }
}

fn report(c: &mut Checker<'_>, exp: &Experiment) {
    let base = Pointer::root().key("report").key("template");
    let t = &exp.report.template;
    for (key, path) in [("html", &t.html), ("markdown", &t.markdown)] {
        if let Some(p) = path {
            c.file(&base.key(key), p, "report template");
        }
    }
    let mut seen = Vec::new();
    for (i, f) in exp.report.formats.iter().enumerate() {
        if seen.contains(f) {
            c.value(
                &Pointer::root().key("report").key("formats").index(i),
                "format listed twice",
            );
        }
        seen.push(*f);
    }
    if exp.report.fail_on_regression && exp.report.baseline.is_none() {
        c.value(
            &Pointer::root().key("report").key("fail_on_regression"),
            "fail_on_regression needs report.baseline: the run to compare with (`latest`, a run directory or a git ref)",
        );
    }
}

/// The first name in `names` seen before, with both indices.
pub fn first_duplicate<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Vec<(usize, usize, &'a str)> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (i, n) in names.into_iter().enumerate() {
        if let Some(j) = seen.iter().position(|s| *s == n) {
            out.push((j, i, n));
        }
        seen.push(n);
    }
    out
}
