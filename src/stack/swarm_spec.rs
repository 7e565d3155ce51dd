//! A Compose file translated into Docker Engine API objects for a swarm stack, as
//! `docker stack deploy` would create them: networks `<stack>_<name>` (overlay, attachable),
//! services `<stack>_<service>` with the short service name as network alias, everything
//! labelled `com.docker.stack.namespace=<stack>`. Pure: the typed Compose model in (read by
//! `crate::compose`, which already rejected every key soy does not translate), Engine API
//! JSON out, with each problem's place in the stack file as a JSON pointer.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::compose::model::{self, ComposeFile, Dict, MountDef, Service};

/// The namespace label `docker stack deploy` puts on everything it creates.
pub const NAMESPACE: &str = "com.docker.stack.namespace";

/// The API objects of one stack.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StackSpec {
    /// The stack's name (its namespace label).
    pub stack: String,
    /// `NetworkCreateRequest` bodies.
    pub networks: Vec<Value>,
    /// Configs and secrets to create from files before the services.
    pub files: Vec<FileObject>,
    /// `ServiceSpec` bodies; a config or secret reference holds the object's name in
    /// `ConfigID`/`SecretID` until the deployer knows its ID.
    pub services: Vec<Value>,
}

/// Swarm configs and secrets are immutable, so each is named after its content as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Config,
    Secret,
}

/// A config or secret read from a file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FileObject {
    pub kind: FileKind,
    /// The name in the stack file.
    pub key: String,
    /// `<stack>_<key>`; the deployer appends a digest of the content.
    pub name: String,
    pub path: std::path::PathBuf,
}

/// Per-service overrides from the manifest, and the stack file's folder (relative paths).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub replicas: BTreeMap<String, u32>,
    /// Extra environment per service; values may hold `${env:NAME}`, resolved at deploy.
    pub env: BTreeMap<String, BTreeMap<String, String>>,
    pub dir: std::path::PathBuf,
}

impl StackSpec {
    /// Every `KEY=VALUE` environment entry of every service, to rewrite in place (redact
    /// for printing, resolve `${env:NAME}` for deploying).
    pub fn env_entries_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.services.iter_mut().flat_map(|svc| {
            svc.pointer_mut("/TaskTemplate/ContainerSpec/Env")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
        })
    }
}

/// A problem found in translation: where in the stack file (a JSON pointer) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub pointer: String,
    pub message: String,
}

struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, pointer: String, message: String) {
        self.0.push(Problem { pointer, message });
    }
}

fn ptr(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// Translates a Compose file; collects every problem.
pub fn translate(
    file: &ComposeFile,
    stack: &str,
    o: &Overrides,
) -> Result<StackSpec, Vec<Problem>> {
    let mut errs = Problems(Vec::new());
    let files = file_objects(file, stack, o, &mut errs);
    let volumes = named_volumes(file, stack);
    let mut networks = declared_networks(file, stack);
    let mut uses_default = false;
    let mut services = Vec::new();
    for (name, s) in &file.services {
        let at = |k: &str| ptr(&["services", name, k]);
        let Some(image) = &s.image else {
            errs.push(
                ptr(&["services", name]),
                format!("`services.{name}.image` is missing: soy deploys prebuilt images (scripts/build-images builds the demo ones)"),
            );
            continue;
        };
        let mut container = container_spec(name, s, image, stack, o, &mut errs);
        for (kind, refs, key) in [
            (FileKind::Config, &s.configs, "configs"),
            (FileKind::Secret, &s.secrets, "secrets"),
        ] {
            let refs = file_refs(refs, kind, stack, &files, &at(key), &mut errs);
            if !refs.is_empty() {
                let api = if kind == FileKind::Config {
                    "Configs"
                } else {
                    "Secrets"
                };
                container.insert(api.into(), json!(refs));
            }
        }
        let mounts = mounts(&s.volumes, stack, &volumes, o, &at("volumes"), &mut errs);
        if !mounts.is_empty() {
            container.insert("Mounts".into(), json!(mounts));
        }
        let mut task = Map::new();
        task.insert("ContainerSpec".into(), Value::Object(container));
        task.insert(
            "Networks".into(),
            json!(attachments(
                name,
                s,
                &networks,
                stack,
                &mut uses_default,
                &mut errs
            )),
        );
        if let Some(l) = &s.logging {
            let mut log = json!({"Name": l.driver.clone().unwrap_or_else(|| "json-file".into())});
            if let Some(opts) = &l.options {
                log["Options"] = json!(string_map(opts));
            }
            task.insert("LogDriver".into(), log);
        }
        let deploy = s.deploy.clone().unwrap_or_default();
        let dat = |k: &str| ptr(&["services", name, "deploy", k]);
        if let Some(r) = &deploy.resources {
            task.insert(
                "Resources".into(),
                resources(r, &dat("resources"), &mut errs),
            );
        }
        if let Some(p) = &deploy.placement {
            let mut placement = json!({"Constraints": p.constraints});
            let spreads: Vec<Value> = p
                .preferences
                .iter()
                .map(|pref| json!({"Spread": {"SpreadDescriptor": pref.spread}}))
                .collect();
            if !spreads.is_empty() {
                placement["Preferences"] = json!(spreads);
            }
            if let Some(n) = p.max_replicas_per_node {
                placement["MaxReplicas"] = json!(n);
            }
            task.insert("Placement".into(), placement);
        }
        if let Some(rp) = &deploy.restart_policy {
            task.insert(
                "RestartPolicy".into(),
                restart_policy(rp, &dat("restart_policy"), &mut errs),
            );
        }
        let mode = match deploy.mode.as_deref() {
            Some("global") => json!({"Global": {}}),
            Some("replicated") | None => {
                let n = o
                    .replicas
                    .get(name)
                    .copied()
                    .map(u64::from)
                    .or(deploy.replicas)
                    .unwrap_or(1);
                json!({"Replicated": {"Replicas": n}})
            }
            Some(other) => {
                errs.push(
                    dat("mode"),
                    format!(
                        "`services.{name}.deploy.mode`: `{other}` is not `replicated` or `global`"
                    ),
                );
                continue;
            }
        };
        let mut labels = Map::new();
        labels.insert(NAMESPACE.into(), json!(stack));
        labels.insert("com.docker.stack.image".into(), json!(image));
        for (k, v) in deploy.labels.iter().flat_map(Dict::pairs) {
            labels.insert(k.into(), json!(v));
        }
        let mut spec = json!({
            "Name": format!("{stack}_{name}"),
            "Labels": labels,
            "TaskTemplate": task,
            "Mode": mode,
        });
        for (key, api, u) in [
            ("update_config", "UpdateConfig", &deploy.update_config),
            ("rollback_config", "RollbackConfig", &deploy.rollback_config),
        ] {
            if let Some(u) = u {
                spec[api] = update_config(u, &dat(key), &mut errs);
            }
        }
        let endpoint_mode = deploy.endpoint_mode.as_deref().unwrap_or("vip");
        if !matches!(endpoint_mode, "vip" | "dnsrr") {
            errs.push(
                dat("endpoint_mode"),
                format!("`services.{name}.deploy.endpoint_mode`: `{endpoint_mode}` is not `vip` or `dnsrr`"),
            );
        }
        let ports: Vec<Value> = s
            .ports
            .iter()
            .map(|p| {
                let mut port =
                    json!({"Protocol": p.protocol, "TargetPort": p.target, "PublishMode": p.mode});
                if let Some(published) = p.published {
                    port["PublishedPort"] = json!(published);
                }
                port
            })
            .collect();
        spec["EndpointSpec"] = json!({"Mode": endpoint_mode, "Ports": ports});
        services.push(spec);
    }
    if uses_default {
        networks.insert("default".into(), json!({"Name": format!("{stack}_default"), "Driver": "overlay", "Attachable": true, "Labels": {NAMESPACE: stack}}));
    }
    if errs.0.is_empty() {
        Ok(StackSpec {
            stack: stack.to_string(),
            networks: networks.into_values().filter(|n| !is_external(n)).collect(),
            files,
            services,
        })
    } else {
        Err(errs.0)
    }
}

/// The `ContainerSpec` of one service, without configs, secrets and mounts.
fn container_spec(
    name: &str,
    s: &Service,
    image: &str,
    stack: &str,
    o: &Overrides,
    errs: &mut Problems,
) -> Map<String, Value> {
    let at = |k: &str| ptr(&["services", name, k]);
    let mut c = Map::new();
    c.insert("Image".into(), json!(image));
    let mut labels: Map<String, Value> = s
        .labels
        .iter()
        .flat_map(Dict::pairs)
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    labels.insert(NAMESPACE.into(), json!(stack));
    c.insert("Labels".into(), Value::Object(labels));
    if let Some(e) = &s.entrypoint {
        c.insert("Command".into(), json!(e.split()));
    }
    if let Some(a) = &s.command {
        c.insert("Args".into(), json!(a.split()));
    }
    // `KEY` without a value stays `KEY` (the container sees it unset), as Docker sends it.
    let mut env: BTreeMap<String, Option<String>> = s
        .environment
        .iter()
        .flat_map(|d| d.0.iter().cloned())
        .collect();
    for (k, v) in o.env.get(name).into_iter().flatten() {
        env.insert(k.clone(), Some(v.clone()));
    }
    if !env.is_empty() {
        let list: Vec<String> = env
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect();
        c.insert("Env".into(), json!(list));
    }
    for (v, api) in [
        (&s.working_dir, "Dir"),
        (&s.user, "User"),
        (&s.hostname, "Hostname"),
        (&s.stop_signal, "StopSignal"),
    ] {
        if let Some(v) = v {
            c.insert(api.into(), json!(v));
        }
    }
    for (v, api) in [(s.init, "Init"), (s.tty, "TTY"), (s.read_only, "ReadOnly")] {
        if let Some(v) = v {
            c.insert(api.into(), json!(v));
        }
    }
    if let Some(h) = &s.extra_hosts {
        // The Engine wants `IP HOST`; Compose writes `HOST:IP` (or `HOST=IP`).
        let hosts: Vec<String> =
            h.0.iter()
                .map(|(k, v)| match v {
                    Some(ip) => format!("{ip} {k}"),
                    None => match k.split_once(':') {
                        Some((host, ip)) => format!("{ip} {host}"),
                        None => k.clone(),
                    },
                })
                .collect();
        c.insert("Hosts".into(), json!(hosts));
    }
    for (list, api) in [
        (&s.cap_add, "CapabilityAdd"),
        (&s.cap_drop, "CapabilityDrop"),
    ] {
        if !list.is_empty() {
            c.insert(api.into(), json!(list));
        }
    }
    if let Some(h) = &s.healthcheck {
        c.insert(
            "HealthCheck".into(),
            healthcheck(h, &at("healthcheck"), errs),
        );
    }
    if let Some(d) = &s.stop_grace_period {
        if let Some(n) = nanos(d, &at("stop_grace_period"), errs) {
            c.insert("StopGracePeriod".into(), json!(n));
        }
    }
    c
}

fn healthcheck(h: &model::Healthcheck, at: &str, errs: &mut Problems) -> Value {
    let mut hc = Map::new();
    if h.disable == Some(true) {
        hc.insert("Test".into(), json!(["NONE"]));
        return Value::Object(hc);
    }
    if let Some(t) = &h.test {
        hc.insert(
            "Test".into(),
            match t {
                model::Words::Text(cmd) => json!(["CMD-SHELL", cmd]),
                model::Words::List(l) => json!(l),
            },
        );
    }
    durations(
        &mut hc,
        &[
            (&h.interval, "interval", "Interval"),
            (&h.timeout, "timeout", "Timeout"),
            (&h.start_period, "start_period", "StartPeriod"),
        ],
        at,
        errs,
    );
    if let Some(r) = h.retries {
        hc.insert("Retries".into(), json!(r));
    }
    Value::Object(hc)
}

fn resources(r: &model::Resources, at: &str, errs: &mut Problems) -> Value {
    let mut res = Map::new();
    for (l, k, api) in [
        (&r.limits, "limits", "Limits"),
        (&r.reservations, "reservations", "Reservations"),
    ] {
        let Some(l) = l else { continue };
        let mut m = Map::new();
        if let Some(model::Text(c)) = &l.cpus {
            match c.trim().parse::<f64>() {
                Ok(c) if c >= 0.0 => {
                    m.insert("NanoCPUs".into(), json!((c * 1e9) as u64));
                }
                _ => errs.push(
                    format!("{at}/{k}/cpus"),
                    format!("`cpus`: `{c}` is not a number of CPUs"),
                ),
            }
        }
        if let Some(model::Text(mem)) = &l.memory {
            match bytes(mem) {
                Some(b) => {
                    m.insert("MemoryBytes".into(), json!(b));
                }
                None => errs.push(
                    format!("{at}/{k}/memory"),
                    format!("`memory`: `{mem}` is not a size like `256M`"),
                ),
            }
        }
        if let Some(p) = l.pids {
            m.insert("Pids".into(), json!(p));
        }
        res.insert(api.into(), Value::Object(m));
    }
    Value::Object(res)
}

fn restart_policy(rp: &model::RestartPolicy, at: &str, errs: &mut Problems) -> Value {
    let mut m = Map::new();
    if let Some(c) = &rp.condition {
        let c = if c == "on_failure" { "on-failure" } else { c };
        if matches!(c, "none" | "on-failure" | "any") {
            m.insert("Condition".into(), json!(c));
        } else {
            errs.push(
                format!("{at}/condition"),
                format!("`condition`: `{c}` is not none, on-failure or any"),
            );
        }
    }
    durations(
        &mut m,
        &[
            (&rp.delay, "delay", "Delay"),
            (&rp.window, "window", "Window"),
        ],
        at,
        errs,
    );
    if let Some(n) = rp.max_attempts {
        m.insert("MaxAttempts".into(), json!(n));
    }
    Value::Object(m)
}

/// `update_config` / `rollback_config` as the Engine's `UpdateConfig`.
fn update_config(u: &model::UpdateConfig, at: &str, errs: &mut Problems) -> Value {
    let mut m = Map::new();
    if let Some(n) = u.parallelism {
        m.insert("Parallelism".into(), json!(n));
    }
    durations(
        &mut m,
        &[
            (&u.delay, "delay", "Delay"),
            (&u.monitor, "monitor", "Monitor"),
        ],
        at,
        errs,
    );
    if let Some(a) = &u.failure_action {
        if matches!(a.as_str(), "continue" | "pause" | "rollback") {
            m.insert("FailureAction".into(), json!(a));
        } else {
            errs.push(
                format!("{at}/failure_action"),
                format!("`failure_action`: `{a}` is not continue, pause or rollback"),
            );
        }
    }
    if let Some(r) = u.max_failure_ratio {
        m.insert("MaxFailureRatio".into(), json!(r));
    }
    if let Some(order) = &u.order {
        if matches!(order.as_str(), "stop-first" | "start-first") {
            m.insert("Order".into(), json!(order));
        } else {
            errs.push(
                format!("{at}/order"),
                format!("`order`: `{order}` is not stop-first or start-first"),
            );
        }
    }
    Value::Object(m)
}

/// Top-level configs and secrets (from files; `external` ones are not soy's to deploy).
fn file_objects(
    file: &ComposeFile,
    stack: &str,
    o: &Overrides,
    errs: &mut Problems,
) -> Vec<FileObject> {
    let mut files = Vec::new();
    for (key, kind, defs) in [
        ("configs", FileKind::Config, &file.configs),
        ("secrets", FileKind::Secret, &file.secrets),
    ] {
        for (name, def) in defs {
            if def.external.as_ref().is_some_and(|e| e.0) {
                errs.push(
                    ptr(&[key, name, "external"]),
                    format!(
                        "`{key}.{name}.external`: soy deploys only what the stack file defines; give the {} a `file`",
                        &key[..key.len() - 1]
                    ),
                );
                continue;
            }
            match &def.file {
                Some(f) => files.push(FileObject {
                    kind,
                    key: name.clone(),
                    name: def
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("{stack}_{name}")),
                    path: o.dir.join(f),
                }),
                None => errs.push(ptr(&[key, name]), format!("`{key}.{name}.file` is missing")),
            }
        }
    }
    files
}

/// Named volumes: their `VolumeOptions`, by name.
fn named_volumes(file: &ComposeFile, stack: &str) -> BTreeMap<String, (String, Value)> {
    file.volumes
        .iter()
        .map(|(name, d)| {
            let mut labels: Map<String, Value> = d
                .labels
                .iter()
                .flat_map(Dict::pairs)
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            labels.insert(NAMESPACE.into(), json!(stack));
            let mut opts = json!({"Labels": labels});
            if let Some(driver) = &d.driver {
                opts["DriverConfig"] = json!({"Name": driver});
                if let Some(o) = &d.driver_opts {
                    opts["DriverConfig"]["Options"] = json!(string_map(o));
                }
            }
            let full = match (&d.name, d.external.as_ref().is_some_and(|e| e.0)) {
                (Some(n), _) => n.clone(),
                (None, true) => name.clone(),
                (None, false) => format!("{stack}_{name}"),
            };
            (name.clone(), (full, opts))
        })
        .collect()
}

/// Declared networks by their name in the file (external ones are only referenced).
fn declared_networks(file: &ComposeFile, stack: &str) -> BTreeMap<String, Value> {
    let mut networks = BTreeMap::new();
    for (name, def) in &file.networks {
        let external = def.external.as_ref().is_some_and(|e| e.0);
        let full = def.name.clone().unwrap_or_else(|| {
            if external {
                name.clone()
            } else {
                format!("{stack}_{name}")
            }
        });
        if external {
            networks.insert(name.clone(), json!({"Name": full, "External": true}));
            continue;
        }
        let mut labels: Map<String, Value> = def
            .labels
            .iter()
            .flat_map(Dict::pairs)
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        labels.insert(NAMESPACE.into(), json!(stack));
        let mut net = json!({"Name": full, "Driver": def.driver.clone().unwrap_or_else(|| "overlay".into()), "Attachable": def.attachable.unwrap_or(true), "Labels": labels});
        if let Some(o) = &def.driver_opts {
            net["Options"] = json!(string_map(o));
        }
        networks.insert(name.clone(), net);
    }
    networks
}

/// The service's network attachments, with its short name as an alias.
fn attachments(
    name: &str,
    s: &Service,
    networks: &BTreeMap<String, Value>,
    stack: &str,
    uses_default: &mut bool,
    errs: &mut Problems,
) -> Vec<Value> {
    let Some(list) = &s.networks else {
        *uses_default = true;
        return vec![json!({"Target": format!("{stack}_default"), "Aliases": [name]})];
    };
    let mut out = Vec::new();
    for (n, aliases) in &list.0 {
        let mut all = vec![name.to_string()];
        all.extend(aliases.iter().cloned());
        let target = networks
            .get(n)
            .and_then(|v| v["Name"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{stack}_{n}"));
        out.push(json!({"Target": target, "Aliases": all}));
        if !networks.contains_key(n) && n != "default" {
            errs.push(
                ptr(&["services", name, "networks"]),
                format!(
                    "`services.{name}.networks`: `{n}` is not declared under top-level `networks`"
                ),
            );
        }
        if n == "default" {
            *uses_default = true;
        }
    }
    out
}

/// Networks the spec references but does not create (`external: true`).
pub fn is_external(net: &Value) -> bool {
    net["External"].as_bool() == Some(true)
}

/// A service's `configs:` or `secrets:` as the Engine's file references.
fn file_refs(
    refs: &[model::FileRef],
    kind: FileKind,
    stack: &str,
    files: &[FileObject],
    at: &str,
    errs: &mut Problems,
) -> Vec<Value> {
    let section = if kind == FileKind::Config {
        "configs"
    } else {
        "secrets"
    };
    let mut out = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        let Some(obj) = files.iter().find(|f| f.kind == kind && f.key == r.source) else {
            errs.push(
                format!("{at}/{i}"),
                format!(
                    "`{}`: `{}` is not declared under top-level `{section}`",
                    at_dotted(at),
                    r.source
                ),
            );
            continue;
        };
        let target = r.target.clone().unwrap_or_else(|| r.source.clone());
        let target = match kind {
            FileKind::Config if !target.starts_with('/') => format!("/{target}"),
            FileKind::Secret if !target.starts_with('/') => format!("/run/secrets/{target}"),
            _ => target,
        };
        let id_key = if kind == FileKind::Config {
            "Config"
        } else {
            "Secret"
        };
        let _ = stack;
        out.push(json!({
            "File": {
                "Name": target,
                "UID": r.uid.clone().unwrap_or_else(|| "0".into()),
                "GID": r.gid.clone().unwrap_or_else(|| "0".into()),
                "Mode": r.mode.unwrap_or(0o444),
            },
            format!("{id_key}ID"): obj.name,
            format!("{id_key}Name"): obj.name,
        }));
    }
    out
}

/// A service's `volumes:`: named volumes and bind mounts.
fn mounts(
    list: &[MountDef],
    stack: &str,
    volumes: &BTreeMap<String, (String, Value)>,
    o: &Overrides,
    at: &str,
    errs: &mut Problems,
) -> Vec<Value> {
    let _ = stack;
    let mut out = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let bind = m.kind.as_deref() == Some("bind")
            || m.source.starts_with('/')
            || m.source.starts_with('.')
            || m.source.starts_with('~');
        if m.kind.as_deref() == Some("tmpfs") {
            out.push(json!({"Type": "tmpfs", "Target": m.target, "ReadOnly": m.read_only}));
        } else if bind {
            let path = o.dir.join(&m.source);
            out.push(json!({"Type": "bind", "Source": path.to_string_lossy(), "Target": m.target, "ReadOnly": m.read_only}));
        } else if let Some((full, opts)) = volumes.get(&m.source) {
            out.push(json!({"Type": "volume", "Source": full, "Target": m.target, "ReadOnly": m.read_only, "VolumeOptions": opts}));
        } else if m.source.is_empty() {
            // An anonymous volume.
            out.push(json!({"Type": "volume", "Target": m.target, "ReadOnly": m.read_only}));
        } else {
            errs.push(
                format!("{at}/{i}"),
                format!(
                    "`{}`: `{}` is neither a path nor declared under top-level `volumes`",
                    at_dotted(at),
                    m.source
                ),
            );
        }
    }
    out
}

/// `/services/a/volumes` as `services.a.volumes`.
fn at_dotted(at: &str) -> String {
    at.trim_start_matches('/').replace('/', ".")
}

fn string_map(d: &Dict) -> BTreeMap<String, String> {
    d.pairs()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Compose durations into Engine fields, in nanoseconds: `(value, key under at, API name)`.
fn durations(
    into: &mut Map<String, Value>,
    fields: &[(&Option<String>, &str, &str)],
    at: &str,
    errs: &mut Problems,
) {
    for (v, k, api) in fields {
        if let Some(n) = v
            .as_deref()
            .and_then(|d| nanos(d, &format!("{at}/{k}"), errs))
        {
            into.insert((*api).into(), json!(n));
        }
    }
}

/// A Compose duration (`10s`, `1m30s`) in nanoseconds.
fn nanos(d: &str, at: &str, errs: &mut Problems) -> Option<u64> {
    match crate::manifest::duration::parse(d) {
        Ok(d) => Some(d.0.as_nanos() as u64),
        Err(e) => {
            errs.push(at.to_string(), format!("`{}`: {e}", at_dotted(at)));
            None
        }
    }
}

/// `256M`, `1G`, `512k`, `1024` to bytes.
pub(crate) fn bytes(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.trim_end_matches('b');
    let (num, mult) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1u64 << 10),
        'm' => (&s[..s.len() - 1], 1 << 20),
        'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<f64>().ok().map(|n| (n * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(y: &str) -> crate::compose::Compose {
        crate::compose::parse("s.yml".into(), ".".into(), y.to_string(), &|_| None)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn spec(y: &str, stack: &str, o: &Overrides) -> Result<StackSpec, Vec<String>> {
        translate(&read(y).file, stack, o).map_err(|e| {
            e.into_iter()
                .map(|p| format!("{} {}", p.pointer, p.message))
                .collect()
        })
    }

    #[test]
    fn translates_like_docker_stack_deploy() {
        let y = "services:\n  gw:\n    image: soy-demo:latest\n    command: [demo-service, gateway]\n    environment: {A: '1'}\n    ports: [{target: 8080, published: 18080, mode: host}]\n    networks: [backend]\n    deploy: {replicas: 2, resources: {limits: {cpus: '0.5', memory: 64M}}}\n  db:\n    image: pg\n    ports: ['5432:5432']\nnetworks:\n  backend: {driver: overlay, attachable: true}\n";
        let mut o = Overrides::default();
        o.replicas.insert("gw".into(), 3);
        let s = spec(y, "demo", &o).unwrap();
        let gw = s.services.iter().find(|v| v["Name"] == "demo_gw").unwrap();
        assert_eq!(gw["Name"], "demo_gw");
        assert_eq!(gw["Labels"][NAMESPACE], "demo");
        assert_eq!(gw["Mode"]["Replicated"]["Replicas"], 3);
        assert_eq!(gw["TaskTemplate"]["ContainerSpec"]["Args"][1], "gateway");
        assert_eq!(gw["TaskTemplate"]["ContainerSpec"]["Env"][0], "A=1");
        assert_eq!(gw["TaskTemplate"]["Networks"][0]["Target"], "demo_backend");
        assert_eq!(gw["TaskTemplate"]["Networks"][0]["Aliases"][0], "gw");
        assert_eq!(
            gw["TaskTemplate"]["Resources"]["Limits"]["MemoryBytes"],
            64 * 1024 * 1024
        );
        assert_eq!(
            gw["TaskTemplate"]["Resources"]["Limits"]["NanoCPUs"],
            500_000_000u64
        );
        assert_eq!(gw["EndpointSpec"]["Ports"][0]["PublishMode"], "host");
        let db = s.services.iter().find(|v| v["Name"] == "demo_db").unwrap();
        assert_eq!(db["EndpointSpec"]["Ports"][0]["PublishedPort"], 5432);
        let names: Vec<&str> = s
            .networks
            .iter()
            .filter_map(|n| n["Name"].as_str())
            .collect();
        assert_eq!(names, ["demo_backend", "demo_default"]);
    }

    #[test]
    fn a_service_without_an_image_is_an_error() {
        let errs = spec(
            "services:\n  a:\n    image: x\n    build: .\n  b:\n    build: .\n",
            "s",
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.contains("/services/b `services.b.image` is missing")),
            "{errs:?}"
        );
        assert_eq!(errs.len(), 1, "{errs:?}");
    }

    #[test]
    fn more_of_what_public_stacks_use() {
        let y = "services:\n  web:\n    image: nginx\n    command: sh -c 'nginx -g \"daemon off;\"'\n    environment: [BARE, SET=1]\n    extra_hosts: ['db.local:10.0.0.5']\n    logging: {driver: json-file, options: {max-size: 10m}}\n    cap_add: [NET_ADMIN]\n    init: true\n    stop_signal: SIGQUIT\n    networks: {front: {aliases: [www]}, ext: {}}\n    healthcheck: {disable: true}\n    deploy: {mode: global, labels: [traefik.enable=true]}\nnetworks:\n  front: {}\n  ext: {external: true, name: proxy}\n";
        let s = spec(y, "pub", &Overrides::default()).unwrap();
        let w = &s.services[0];
        let c = &w["TaskTemplate"]["ContainerSpec"];
        assert_eq!(c["Args"], json!(["sh", "-c", "nginx -g \"daemon off;\""]));
        assert_eq!(c["Env"], json!(["BARE", "SET=1"]));
        assert_eq!(c["Hosts"], json!(["10.0.0.5 db.local"]));
        assert_eq!(c["CapabilityAdd"], json!(["NET_ADMIN"]));
        assert_eq!(c["Init"], true);
        assert_eq!(c["StopSignal"], "SIGQUIT");
        assert_eq!(c["HealthCheck"]["Test"], json!(["NONE"]));
        assert_eq!(w["TaskTemplate"]["LogDriver"]["Options"]["max-size"], "10m");
        assert_eq!(w["Mode"], json!({"Global": {}}));
        assert_eq!(w["Labels"]["traefik.enable"], "true");
        let nets = &w["TaskTemplate"]["Networks"];
        assert_eq!(nets[0]["Target"], "pub_front");
        assert_eq!(nets[0]["Aliases"], json!(["web", "www"]));
        assert_eq!(nets[1]["Target"], "proxy");
        // The external network is referenced, not created.
        let names: Vec<&str> = s
            .networks
            .iter()
            .filter_map(|n| n["Name"].as_str())
            .collect();
        assert_eq!(names, ["pub_front"]);
    }

    #[test]
    fn configs_secrets_volumes_and_update_config() {
        let y = "services:\n  prom:\n    image: p\n    labels: {team: perf}\n    stop_grace_period: 3s\n    configs: [{source: prom_cfg, target: /etc/prometheus/prometheus.yml, mode: 0440}]\n    secrets: [token]\n    volumes: ['data:/prometheus', './rules:/etc/rules:ro', '/var/run/docker.sock:/var/run/docker.sock']\n    deploy:\n      update_config: {parallelism: 1, delay: 2s, order: start-first, failure_action: rollback}\n      restart_policy: {condition: on-failure, window: 10s}\n      placement: {constraints: [node.role == manager], max_replicas_per_node: 1}\nconfigs:\n  prom_cfg: {file: ./prometheus.yml}\nsecrets:\n  token: {file: token.txt}\nvolumes:\n  data: {}\n";
        let o = Overrides {
            dir: "/stacks".into(),
            ..Overrides::default()
        };
        let s = spec(y, "st", &o).unwrap();
        assert_eq!(s.files.len(), 2);
        assert_eq!(s.files[0].name, "st_prom_cfg");
        assert_eq!(
            s.files[0].path,
            std::path::Path::new("/stacks/./prometheus.yml")
        );
        assert_eq!(s.files[1].kind, FileKind::Secret);
        let p = &s.services[0];
        let c = &p["TaskTemplate"]["ContainerSpec"];
        assert_eq!(c["Labels"]["team"], "perf");
        assert_eq!(c["Labels"][NAMESPACE], "st");
        assert_eq!(c["StopGracePeriod"], 3_000_000_000u64);
        assert_eq!(
            c["Configs"][0]["File"]["Name"],
            "/etc/prometheus/prometheus.yml"
        );
        assert_eq!(c["Configs"][0]["File"]["Mode"], 0o440);
        assert_eq!(c["Configs"][0]["ConfigName"], "st_prom_cfg");
        assert_eq!(c["Secrets"][0]["File"]["Name"], "/run/secrets/token");
        assert_eq!(c["Secrets"][0]["File"]["Mode"], 0o444);
        assert_eq!(c["Mounts"][0]["Type"], "volume");
        assert_eq!(c["Mounts"][0]["Source"], "st_data");
        assert_eq!(c["Mounts"][0]["VolumeOptions"]["Labels"][NAMESPACE], "st");
        assert_eq!(c["Mounts"][1]["Type"], "bind");
        assert_eq!(c["Mounts"][1]["Source"], "/stacks/./rules");
        assert_eq!(c["Mounts"][1]["ReadOnly"], true);
        assert_eq!(c["Mounts"][2]["Source"], "/var/run/docker.sock");
        assert_eq!(p["UpdateConfig"]["Order"], "start-first");
        assert_eq!(p["UpdateConfig"]["Delay"], 2_000_000_000u64);
        assert_eq!(p["UpdateConfig"]["FailureAction"], "rollback");
        let t = &p["TaskTemplate"];
        assert_eq!(t["RestartPolicy"]["Condition"], "on-failure");
        assert_eq!(t["RestartPolicy"]["Window"], 10_000_000_000u64);
        assert_eq!(t["Placement"]["MaxReplicas"], 1);
    }

    #[test]
    fn references_to_undeclared_objects_and_bad_values_are_errors() {
        let y = "services:\n  a:\n    image: x\n    configs: [nope]\n    volumes: ['cache:/c']\n    networks: [missing]\n    deploy:\n      update_config: {order: sideways}\n      restart_policy: {condition: sometimes, delay: soon}\n      resources: {limits: {memory: lots}}\nconfigs:\n  ext: {external: true}\n";
        let errs = spec(y, "s", &Overrides::default()).unwrap_err();
        for want in [
            "/services/a/configs/0 `services.a.configs`: `nope` is not declared under top-level `configs`",
            "/services/a/volumes/0 `services.a.volumes`: `cache` is neither a path nor declared under top-level `volumes`",
            "`missing` is not declared under top-level `networks`",
            "/services/a/deploy/update_config/order `order`: `sideways`",
            "`sometimes` is not none, on-failure or any",
            "/services/a/deploy/restart_policy/delay",
            "`memory`: `lots` is not a size",
            "/configs/ext/external `configs.ext.external`",
        ] {
            assert!(errs.iter().any(|e| e.contains(want)), "{want} in {errs:?}");
        }
    }
}
