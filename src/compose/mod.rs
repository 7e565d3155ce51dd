//! Compose files, read once the way `docker stack deploy` reads them: YAML with anchors,
//! aliases and `<<` merge keys; `x-` extension fields; variable interpolation from the
//! environment; then the typed model. Every problem is a diagnostic positioned in the stack
//! file. Validation, the plan and the swarm driver all use this one reader and its model.

pub mod interpolate;
pub mod model;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::manifest::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::manifest::pointer::Pointer;
use crate::manifest::yaml::{self, SourceMap};

pub use model::ComposeFile;

/// Largest stack file accepted.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// A Compose file that was read, interpolated and typed.
#[derive(Debug, Clone)]
pub struct Compose {
    /// The path as given (messages name it).
    pub path: PathBuf,
    /// The folder its relative paths start from.
    pub dir: PathBuf,
    pub source: String,
    /// The document after merge keys, interpolation and without `x-` fields.
    pub doc: Value,
    pub map: SourceMap,
    pub file: ComposeFile,
    /// What Docker would warn about: unset variables, keys `docker stack deploy` ignores.
    pub warnings: Vec<String>,
    /// The variables interpolated into the file, with their values.
    pub used: BTreeMap<String, String>,
}

/// Why a stack file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("cannot read stack file {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", .0.render().trim_end())]
    Invalid(Diagnostics),
}

/// Service keys `docker stack deploy` ignores (it prints "Ignoring unsupported options").
const IGNORED: &[&str] = &[
    "build",
    "cgroupns_mode",
    "cgroup_parent",
    "container_name",
    "depends_on",
    "devices",
    "domainname",
    "external_links",
    "ipc",
    "links",
    "mac_address",
    "network_mode",
    "pid",
    "privileged",
    "restart",
    "security_opt",
    "shm_size",
    "userns_mode",
];

/// Service keys `docker stack deploy` refuses, with its advice.
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "extends",
        "`extends` is not supported by `docker stack deploy`",
    ),
    (
        "volume_driver",
        "define a volume with a driver under top-level `volumes` instead",
    ),
    (
        "volumes_from",
        "share a volume by declaring it under top-level `volumes` and mounting it in each service",
    ),
    ("cpu_quota", "set resource limits with `deploy.resources`"),
    ("cpu_shares", "set resource limits with `deploy.resources`"),
    ("cpuset", "set resource limits with `deploy.resources`"),
    ("mem_limit", "set resource limits with `deploy.resources`"),
    (
        "memswap_limit",
        "set resource limits with `deploy.resources`",
    ),
];

/// Valid Compose service keys that soy's swarm driver does not translate (yet): an error
/// rather than a silently different deployment.
const NOT_TRANSLATED: &[&str] = &[
    "blkio_config",
    "credential_spec",
    "dns",
    "dns_opt",
    "dns_search",
    "group_add",
    "isolation",
    "oom_score_adj",
    "platform",
    "profiles",
    "pull_policy",
    "runtime",
    "stdin_open",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "ulimits",
];

/// Reads and checks the stack file at `path`; `vars` answers interpolation
/// (`None`: the variable is unset).
pub fn load(path: &Path, vars: &dyn Fn(&str) -> Option<String>) -> Result<Compose, ComposeError> {
    let io = |source| ComposeError::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let file = path.display().to_string();
    let whole = |message: String| {
        ComposeError::Invalid(Diagnostics {
            file: file.clone(),
            source: String::new(),
            items: vec![Diagnostic::new(None, "", message)],
        })
    };
    if meta.len() > MAX_BYTES {
        return Err(whole(format!(
            "the stack file is {} bytes; soy reads stack files up to {MAX_BYTES}",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        whole(format!(
            "not a text file: byte {} is not valid UTF-8",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parse(path.to_path_buf(), dir, text, vars)
}

/// Checks stack-file text; `dir` is where its relative paths point from.
pub fn parse(
    path: PathBuf,
    dir: PathBuf,
    text: String,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<Compose, ComposeError> {
    let mut r = Reader {
        diags: Vec::new(),
        warnings: Vec::new(),
        used: BTreeMap::new(),
    };
    let (mut doc, map) = match yaml::parse_compose(&text) {
        Ok(v) => v,
        Err(e) => {
            let mut d = Diagnostic::new(Some(e.pos), "", e.message);
            d.help = e.help;
            return Err(invalid(&path, text, vec![d]));
        }
    };
    if !doc.is_object() {
        let d = Diagnostic::new(
            map.value_pos(""),
            "",
            format!(
                "expected a mapping at the top level, found {}",
                model::kind(&doc)
            ),
        )
        .with_help("a Compose file is a mapping with `services:`");
        return Err(invalid(&path, text, vec![d]));
    }
    r.interpolate(&mut doc, &Pointer::root(), &map, vars);
    strip_extensions(&mut doc);
    r.service_keys(&mut doc, &map);
    let mut file = r.typed(&doc, &map);
    if let Some(f) = &mut file {
        r.environment(f, &dir, &map, vars);
    }
    if !r.diags.is_empty() {
        return Err(invalid(&path, text, r.diags));
    }
    Ok(Compose {
        path,
        dir,
        source: text,
        doc,
        map,
        file: file.unwrap_or_default(),
        warnings: r.warnings,
        used: r.used,
    })
}

impl Compose {
    /// A diagnostic at a JSON pointer of this file (for checks made after reading it).
    pub fn diagnostic(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        let p = Pointer::parse(pointer, &self.doc);
        Diagnostic::new(self.map.key_pos(pointer), p.dotted(), message)
    }

    /// These problems as the error of this file.
    pub fn invalid(&self, items: Vec<Diagnostic>) -> ComposeError {
        invalid(&self.path, self.source.clone(), items)
    }
}

fn invalid(path: &Path, source: String, items: Vec<Diagnostic>) -> ComposeError {
    ComposeError::Invalid(Diagnostics {
        file: path.display().to_string(),
        source,
        items,
    })
}

struct Reader {
    diags: Vec<Diagnostic>,
    warnings: Vec<String>,
    used: BTreeMap<String, String>,
}

impl Reader {
    fn at(&mut self, map: &SourceMap, p: &Pointer, key: bool, message: String) -> &mut Diagnostic {
        let ptr = p.to_string();
        let pos = if key {
            map.key_pos(&ptr)
        } else {
            map.value_pos(&ptr)
        };
        self.diags.push(Diagnostic::new(pos, p.dotted(), message));
        self.diags.last_mut().expect("just pushed")
    }

    /// Interpolates every string value (keys are left as written, as Docker does).
    fn interpolate(
        &mut self,
        v: &mut Value,
        p: &Pointer,
        map: &SourceMap,
        vars: &dyn Fn(&str) -> Option<String>,
    ) {
        match v {
            Value::String(s) if s.contains('$') => match interpolate::interpolate(s, vars) {
                Ok(done) => {
                    for name in done.unset {
                        self.warnings.push(format!(
                            "the variable `{name}` is not set (at {}); using an empty string",
                            p.dotted()
                        ));
                    }
                    for name in done.used {
                        if let Some(v) = vars(&name) {
                            self.used.insert(name, v);
                        }
                    }
                    *s = done.text;
                }
                Err(e) => {
                    let help = match &e {
                        interpolate::InterpolateError::Required { name, .. } => format!(
                            "export {name} before running soy, or set it under the manifest's `stack.variables`"
                        ),
                        interpolate::InterpolateError::Format { .. } => {
                            "write `$$` for a literal `$`".into()
                        }
                    };
                    self.at(map, p, false, e.to_string()).help = Some(help);
                }
            },
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.interpolate(item, &p.index(i), map, vars);
                }
            }
            Value::Object(entries) => {
                for (k, item) in entries.iter_mut() {
                    // Top-level `x-` fields are not interpolated (as in docker/cli): they are
                    // templates for anchors, used through merge keys where they are.
                    if p.segments().is_empty() && k.starts_with("x-") {
                        continue;
                    }
                    self.interpolate(item, &p.key(k), map, vars);
                }
            }
            _ => {}
        }
    }

    /// Keys `docker stack deploy` ignores become warnings and are dropped; keys it refuses
    /// and keys soy does not translate are errors.
    fn service_keys(&mut self, doc: &mut Value, map: &SourceMap) {
        let Some(services) = doc.get_mut("services").and_then(Value::as_object_mut) else {
            return;
        };
        for (name, svc) in services.iter_mut() {
            let Some(svc) = svc.as_object_mut() else {
                continue;
            };
            let base = Pointer::root().key("services").key(name);
            let keys: Vec<String> = svc.keys().cloned().collect();
            for k in keys {
                if IGNORED.contains(&k.as_str()) {
                    self.warnings.push(format!(
                        "ignoring `{}`: `docker stack deploy` does not use it",
                        base.key(&k).dotted()
                    ));
                    svc.shift_remove(&k);
                } else if let Some((_, help)) = FORBIDDEN.iter().find(|(f, _)| *f == k) {
                    self.at(
                        map,
                        &base.key(&k),
                        true,
                        format!("`{k}` is not allowed in a swarm stack"),
                    )
                    .help = Some((*help).to_string());
                    svc.shift_remove(&k);
                } else if NOT_TRANSLATED.contains(&k.as_str()) {
                    self.at(
                        map,
                        &base.key(&k),
                        true,
                        format!("`{k}` is a Compose key soy's swarm driver does not translate"),
                    )
                    .help = Some("remove it, or deploy this stack with `docker stack deploy` and use `driver: external`".into());
                    svc.shift_remove(&k);
                }
            }
        }
    }

    /// The typed model: each service, network, volume, config and secret on its own, so
    /// one mistake does not hide the next.
    fn typed(&mut self, doc: &Value, map: &SourceMap) -> Option<ComposeFile> {
        let mut rest = doc.clone();
        let services = rest
            .as_object_mut()
            .and_then(|o| o.shift_remove("services"));
        let mut file: Option<ComposeFile> = self.deserialize(rest, &Pointer::root(), map);
        let mut typed = BTreeMap::new();
        match services {
            None | Some(Value::Null) => {
                self.diags.push(
                    Diagnostic::new(map.value_pos(""), "", "the stack file has no `services`")
                        .with_help("a stack file declares its services under `services:`"),
                );
            }
            Some(Value::Object(list)) => {
                for (name, svc) in list {
                    let p = Pointer::root().key("services").key(&name);
                    let svc = if svc.is_null() {
                        Value::Object(Default::default())
                    } else {
                        svc
                    };
                    if let Some(s) = self.deserialize::<model::Service>(svc, &p, map) {
                        typed.insert(name, s);
                    }
                }
            }
            Some(other) => {
                let p = Pointer::root().key("services");
                self.at(
                    map,
                    &p,
                    false,
                    format!(
                        "expected a mapping of services, found {}",
                        model::kind(&other)
                    ),
                );
            }
        }
        if let Some(f) = &mut file {
            f.services = typed;
        }
        file
    }

    /// Each service's environment as Docker resolves it: `env_file` entries first, then
    /// `environment`; a key without a value takes the variable's value when it is set.
    fn environment(
        &mut self,
        file: &mut ComposeFile,
        dir: &Path,
        map: &SourceMap,
        vars: &dyn Fn(&str) -> Option<String>,
    ) {
        for (name, svc) in &mut file.services {
            let mut env: Vec<(String, Option<String>)> = Vec::new();
            let files = svc.env_file.take().map(|w| match w {
                model::Words::Text(t) => vec![t],
                model::Words::List(l) => l,
            });
            for (i, rel) in files.into_iter().flatten().enumerate() {
                let p = Pointer::root().key("services").key(name).key("env_file");
                let path = dir.join(&rel);
                match std::fs::read_to_string(&path) {
                    Ok(text) => env.extend(env_file_entries(&text, vars)),
                    Err(e) => {
                        let at = if map.value_pos(&p.index(i).to_string()).is_some() {
                            p.index(i)
                        } else {
                            p
                        };
                        self.at(
                            map,
                            &at,
                            false,
                            format!("cannot read env file {}: {e}", path.display()),
                        )
                        .help = Some("env files are relative to the stack file".into());
                    }
                }
            }
            for (k, v) in svc.environment.take().map(|d| d.0).into_iter().flatten() {
                let v = v.or_else(|| vars(&k));
                env.retain(|(e, _)| *e != k);
                env.push((k, v));
            }
            if !env.is_empty() {
                svc.environment = Some(model::Dict(env));
            }
        }
    }

    fn deserialize<T: serde::de::DeserializeOwned>(
        &mut self,
        v: Value,
        base: &Pointer,
        map: &SourceMap,
    ) -> Option<T> {
        let doc = v.clone();
        match serde_path_to_error::deserialize::<_, T>(v) {
            Ok(t) => Some(t),
            Err(e) => {
                let mut p = base.clone();
                let inner = Pointer::parse(&path_pointer(e.path()), &doc);
                for seg in inner.segments() {
                    p = match seg {
                        crate::manifest::pointer::Segment::Key(k) => p.key(k),
                        crate::manifest::pointer::Segment::Index(i) => p.index(*i),
                    };
                }
                let message = e.inner().to_string();
                match unknown_field(&message) {
                    Some((field, expected)) => {
                        // The path ends at the unknown key when serde knows it (plain
                        // structs); inside hand-written entries it ends at the entry.
                        let (key, parent) = match p.last_key() {
                            Some(k) if k == field => (p.clone(), p.parent()),
                            _ => (p.key(&field), p.clone()),
                        };
                        let mut d = Diagnostic::new(
                            map.key_pos(&key.to_string()),
                            key.dotted(),
                            format!("unknown key `{field}` in `{}`", parent.dotted()),
                        );
                        d.help = did_you_mean(&field, expected.iter().map(String::as_str))
                            .map(|m| format!("did you mean `{m}`?"))
                            .or_else(|| Some(format!("keys here: {}", expected.join(", "))));
                        self.diags.push(d);
                    }
                    None => {
                        self.at(map, &p, false, message);
                    }
                }
                None
            }
        }
    }
}

/// serde_path_to_error's path as a JSON pointer.
fn path_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut s = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => s.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                s.push('/');
                s.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    s
}

/// serde's "unknown field `x`, expected one of `a`, `b`" as (`x`, [a, b]).
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((field.to_string(), expected))
}

/// `KEY=VALUE` lines of an env file (`#` comments and blank lines skipped; `KEY` alone
/// takes the variable's value when it is set, and is left out otherwise).
fn env_file_entries(
    text: &str,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Vec<(String, Option<String>)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| match l.split_once('=') {
            Some((k, v)) => Some((k.trim().to_string(), Some(v.to_string()))),
            None => vars(l).map(|v| (l.to_string(), Some(v))),
        })
        .collect()
}

/// Removes `x-` extension fields where Docker allows them: at the top level and in each
/// service, network, volume, config and secret (and a service's `deploy`).
fn strip_extensions(doc: &mut Value) {
    fn strip(v: &mut Value) {
        if let Some(o) = v.as_object_mut() {
            o.retain(|k, _| !k.starts_with("x-"));
        }
    }
    strip(doc);
    for section in ["services", "networks", "volumes", "configs", "secrets"] {
        if let Some(items) = doc.get_mut(section).and_then(Value::as_object_mut) {
            for item in items.values_mut() {
                strip(item);
                if section == "services" {
                    if let Some(d) = item.get_mut("deploy") {
                        strip(d);
                    }
                }
            }
        }
    }
}

/// The variables a stack file is interpolated with: the process environment, overridden
/// by the manifest's `stack.variables`.
pub fn variables(overrides: &BTreeMap<String, String>) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| {
        overrides
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, vars: &[(&str, &str)]) -> Result<Compose, ComposeError> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse("stack.yml".into(), ".".into(), text.to_string(), &|k| {
            vars.get(k).cloned()
        })
    }

    fn problems(text: &str) -> String {
        match read(text, &[]) {
            Err(ComposeError::Invalid(d)) => d.render(),
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn interpolates_values_like_docker() {
        let c = read(
            "services:\n  grafana:\n    image: grafana:${TAG:-10.4}\n    environment:\n      - GF_SECURITY_ADMIN_USER=${ADMIN_USER:-admin}\n      - GF_PATHS=$${HOME}/x\n      - SLOT={{.Task.Slot}}\n    deploy:\n      replicas: ${REPLICAS}\n",
            &[("REPLICAS", "3")],
        )
        .unwrap();
        let g = &c.file.services["grafana"];
        assert_eq!(g.image.as_deref(), Some("grafana:10.4"));
        let env: Vec<_> = g.environment.as_ref().unwrap().pairs().collect();
        assert_eq!(
            env,
            [
                ("GF_SECURITY_ADMIN_USER", "admin"),
                ("GF_PATHS", "${HOME}/x"),
                ("SLOT", "{{.Task.Slot}}")
            ]
        );
        assert_eq!(g.deploy.as_ref().unwrap().replicas, Some(3));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn a_required_variable_that_is_unset_is_a_positioned_error() {
        let text = problems(
            "services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD}\n",
        );
        assert!(
            text.contains("error: required variable `DB_PASSWORD` is unset: set DB_PASSWORD\n --> stack.yml:5:26"),
            "{text}"
        );
        assert!(
            text.contains("= at: services.db.environment.POSTGRES_PASSWORD"),
            "{text}"
        );
    }

    #[test]
    fn unset_variables_warn_and_ignored_keys_are_dropped() {
        let c = read(
            "services:\n  web:\n    image: app:${TAG}\n    build: .\n    depends_on: [db]\n  db: {image: pg}\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.file.services["web"].image.as_deref(), Some("app:"));
        assert!(
            c.warnings.iter().any(|w| w.contains("`TAG` is not set")),
            "{:?}",
            c.warnings
        );
        assert!(
            c.warnings
                .iter()
                .any(|w| w.contains("ignoring `services.web.build`"))
        );
        assert!(
            c.warnings
                .iter()
                .any(|w| w.contains("ignoring `services.web.depends_on`"))
        );
    }

    #[test]
    fn anchors_merge_keys_and_extension_fields() {
        let c = read(
            "version: '3.8'\nx-defaults: &defaults\n  image: soy-demo:latest\n  environment: &env\n    LOG: info\n  deploy:\n    x-note: extensions inside deploy\n    replicas: 2\nservices:\n  a:\n    <<: *defaults\n    x-team: perf\n  b:\n    <<: *defaults\n    environment:\n      <<: *env\n      EXTRA: '1'\n    deploy: {replicas: 1}\n",
            &[],
        )
        .unwrap();
        let a = &c.file.services["a"];
        assert_eq!(a.image.as_deref(), Some("soy-demo:latest"));
        assert_eq!(a.deploy.as_ref().unwrap().replicas, Some(2));
        let b = &c.file.services["b"];
        let env: Vec<_> = b.environment.as_ref().unwrap().pairs().collect();
        assert_eq!(env, [("EXTRA", "1"), ("LOG", "info")]);
        assert_eq!(b.deploy.as_ref().unwrap().replicas, Some(1));
    }

    #[test]
    fn unknown_keys_are_named_with_their_position_and_a_suggestion() {
        let text = problems(
            "services:\n  web:\n    imgae: nginx\n  db:\n    image: pg\n    deploy: {replica: 2}\n  cache:\n    image: redis\n    ulimits: {nofile: 1024}\n    mem_limit: 1g\n",
        );
        assert!(
            text.contains("error: unknown key `imgae` in `services.web`\n --> stack.yml:3:5"),
            "{text}"
        );
        assert!(text.contains("did you mean `image`?"), "{text}");
        assert!(
            text.contains("unknown key `replica` in `services.db.deploy`"),
            "{text}"
        );
        assert!(text.contains("did you mean `replicas`?"), "{text}");
        assert!(
            text.contains("`ulimits` is a Compose key soy's swarm driver does not translate"),
            "{text}"
        );
        assert!(
            text.contains("`mem_limit` is not allowed in a swarm stack"),
            "{text}"
        );
        assert!(text.contains("error: stack.yml has 4 problems"), "{text}");
    }

    #[test]
    fn env_files_then_environment_and_bare_keys_from_the_variables() {
        let dir = std::env::temp_dir().join(format!("soy-compose-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("app.env"),
            "# comment\nA=from-file\nB=file\n\nFROM_SHELL\nUNSET_BARE\n",
        )
        .unwrap();
        let vars = |k: &str| (k == "FROM_SHELL" || k == "C").then(|| format!("shell-{k}"));
        let c = parse(
            dir.join("stack.yml"),
            dir.clone(),
            "services:\n  app:\n    image: x\n    env_file: app.env\n    environment: [B=inline, C, D]\n".into(),
            &vars,
        )
        .unwrap();
        let env = &c.file.services["app"].environment.as_ref().unwrap().0;
        let want: Vec<(String, Option<String>)> = [
            ("A", Some("from-file")),
            ("FROM_SHELL", Some("shell-FROM_SHELL")),
            ("B", Some("inline")),
            ("C", Some("shell-C")),
            ("D", None),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect();
        assert_eq!(env, &want);
        let err = parse(
            dir.join("stack.yml"),
            dir.clone(),
            "services:\n  app:\n    image: x\n    env_file: [missing.env]\n".into(),
            &vars,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("cannot read env file") && err.contains("stack.yml:4:16"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_values_point_at_the_value() {
        let text = problems("services:\n  web:\n    image: x\n    deploy:\n      replicas: many\n");
        assert!(text.contains("expected a whole number"), "{text}");
        assert!(text.contains("--> stack.yml:5:17"), "{text}");
        let text = problems("services: [a, b]\n");
        assert!(
            text.contains("expected a mapping of services, found a list"),
            "{text}"
        );
        let text = problems("version: '3'\n");
        assert!(text.contains("the stack file has no `services`"), "{text}");
    }
}
