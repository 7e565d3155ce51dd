//! A Compose file translated into Docker Engine API objects for a swarm stack, as
//! `docker stack deploy` would create them: networks `<stack>_<name>` (overlay, attachable),
//! services `<stack>_<service>` with the short service name as network alias, everything
//! labelled `com.docker.stack.namespace=<stack>`. Pure: JSON in, JSON out. Every Compose key
//! this translation does not support is an error naming it, never dropped.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// The namespace label `docker stack deploy` puts on everything it creates.
pub const NAMESPACE: &str = "com.docker.stack.namespace";

/// The API objects of one stack.
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Config,
    Secret,
}

/// A config or secret read from a file.
#[derive(Debug, Clone, PartialEq)]
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
    pub env: BTreeMap<String, BTreeMap<String, String>>,
    pub dir: std::path::PathBuf,
}

const TOP: &[&str] = &[
    "version", "services", "networks", "volumes", "configs", "secrets", "name",
];
const SERVICE: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "ports",
    "networks",
    "deploy",
    "labels",
    "healthcheck",
    "working_dir",
    "user",
    "hostname",
    "stop_grace_period",
    "configs",
    "secrets",
    "volumes",
];
const DEPLOY: &[&str] = &[
    "replicas",
    "mode",
    "endpoint_mode",
    "resources",
    "placement",
    "restart_policy",
    "labels",
    "update_config",
    "rollback_config",
];

/// Translates a Compose document; collects every problem.
pub fn translate(doc: &Value, stack: &str, o: &Overrides) -> Result<StackSpec, Vec<String>> {
    let mut errs = Vec::new();
    let Some(top) = doc.as_object() else {
        return Err(vec!["the stack file is not a mapping".into()]);
    };
    unknown(top, TOP, "", &mut errs);
    let mut files = Vec::new();
    for (key, kind) in [("configs", FileKind::Config), ("secrets", FileKind::Secret)] {
        for (name, def) in top
            .get(key)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let at = format!("{key}.{name}.");
            let def = def.as_object().cloned().unwrap_or_default();
            unknown(&def, &["file", "external", "name"], &at, &mut errs);
            if def.get("external").and_then(Value::as_bool) == Some(true) {
                errs.push(format!(
                    "`{at}external`: soy deploys only what the stack file defines; give the {kind} a `file`",
                    kind = &key[..key.len() - 1]
                ));
                continue;
            }
            match def.get("file").and_then(Value::as_str) {
                Some(f) => files.push(FileObject {
                    kind,
                    key: name.clone(),
                    name: format!("{stack}_{name}"),
                    path: o.dir.join(f),
                }),
                None => errs.push(format!("`{at}file` is missing")),
            }
        }
    }
    // Named volumes: their `VolumeOptions`, by name.
    let volumes: BTreeMap<String, Value> = top
        .get("volumes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, def)| {
            let d = def.as_object().cloned().unwrap_or_default();
            unknown(
                &d,
                &["driver", "labels"],
                &format!("volumes.{name}."),
                &mut errs,
            );
            let mut labels: Map<String, Value> = label_map(d.get("labels"))
                .into_iter()
                .map(|(k, v)| (k, json!(v)))
                .collect();
            labels.insert(NAMESPACE.into(), json!(stack));
            let mut opts = json!({"Labels": labels});
            if let Some(driver) = d.get("driver").and_then(Value::as_str) {
                opts["DriverConfig"] = json!({"Name": driver});
            }
            (name.clone(), opts)
        })
        .collect();
    let mut networks: BTreeMap<String, Value> = BTreeMap::new();
    for (name, def) in top
        .get("networks")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let def = def.as_object().cloned().unwrap_or_default();
        unknown(
            &def,
            &["driver", "attachable", "labels", "external", "name"],
            &format!("networks.{name}."),
            &mut errs,
        );
        if def.get("external").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let driver = def
            .get("driver")
            .and_then(Value::as_str)
            .unwrap_or("overlay");
        let mut labels: Map<String, Value> = label_map(def.get("labels"))
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect();
        labels.insert(NAMESPACE.into(), json!(stack));
        let full = def
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("{stack}_{name}"), str::to_string);
        networks.insert(
            name.clone(),
            json!({"Name": full, "Driver": driver, "Attachable": def.get("attachable").and_then(Value::as_bool).unwrap_or(true), "Labels": labels}),
        );
    }
    let mut services = Vec::new();
    let Some(svcs) = top.get("services").and_then(Value::as_object) else {
        errs.push("the stack file has no `services`".into());
        return Err(errs);
    };
    let mut uses_default = false;
    for (name, def) in svcs {
        let at = format!("services.{name}.");
        let Some(s) = def.as_object() else {
            errs.push(format!("`services.{name}` is not a mapping"));
            continue;
        };
        unknown(s, SERVICE, &at, &mut errs);
        let Some(image) = s.get("image").and_then(Value::as_str) else {
            errs.push(format!("`{at}image` is missing: soy deploys prebuilt images (scripts/build-images builds the demo ones)"));
            continue;
        };
        let mut container = Map::new();
        container.insert("Image".into(), json!(image));
        let mut container_labels: Map<String, Value> = label_map(s.get("labels"))
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect();
        container_labels.insert(NAMESPACE.into(), json!(stack));
        container.insert("Labels".into(), Value::Object(container_labels));
        if let Some(c) = s.get("entrypoint") {
            container.insert("Command".into(), json!(words(c)));
        }
        if let Some(c) = s.get("command") {
            container.insert("Args".into(), json!(words(c)));
        }
        let mut env = environment(s.get("environment"));
        env.extend(o.env.get(name).cloned().unwrap_or_default());
        if !env.is_empty() {
            container.insert(
                "Env".into(),
                json!(
                    env.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                ),
            );
        }
        for (k, api) in [
            ("working_dir", "Dir"),
            ("user", "User"),
            ("hostname", "Hostname"),
        ] {
            if let Some(v) = s.get(k).and_then(Value::as_str) {
                container.insert(api.into(), json!(v));
            }
        }
        if let Some(h) = s.get("healthcheck").and_then(Value::as_object) {
            unknown(
                h,
                &["test", "interval", "timeout", "retries", "start_period"],
                &format!("{at}healthcheck."),
                &mut errs,
            );
            let mut hc = Map::new();
            if let Some(t) = h.get("test") {
                hc.insert(
                    "Test".into(),
                    match t {
                        Value::String(cmd) => json!(["CMD-SHELL", cmd]),
                        other => other.clone(),
                    },
                );
            }
            for (k, api) in [
                ("interval", "Interval"),
                ("timeout", "Timeout"),
                ("start_period", "StartPeriod"),
            ] {
                if let Some(d) = h.get(k).and_then(Value::as_str) {
                    match crate::manifest::duration::parse(d) {
                        Ok(d) => {
                            hc.insert(api.into(), json!(d.0.as_nanos() as u64));
                        }
                        Err(e) => errs.push(format!("`{at}healthcheck.{k}`: {e}")),
                    }
                }
            }
            if let Some(r) = h.get("retries").and_then(Value::as_u64) {
                hc.insert("Retries".into(), json!(r));
            }
            container.insert("HealthCheck".into(), Value::Object(hc));
        }
        for (key, kind) in [("configs", FileKind::Config), ("secrets", FileKind::Secret)] {
            let refs = file_refs(
                s.get(key),
                kind,
                stack,
                &files,
                &format!("{at}{key}"),
                &mut errs,
            );
            if !refs.is_empty() {
                container.insert(
                    if kind == FileKind::Config {
                        "Configs"
                    } else {
                        "Secrets"
                    }
                    .into(),
                    json!(refs),
                );
            }
        }
        let mounts = mounts(s.get("volumes"), stack, &volumes, o, &at, &mut errs);
        if !mounts.is_empty() {
            container.insert("Mounts".into(), json!(mounts));
        }
        if let Some(d) = s.get("stop_grace_period").and_then(Value::as_str) {
            match crate::manifest::duration::parse(d) {
                Ok(d) => {
                    container.insert("StopGracePeriod".into(), json!(d.0.as_nanos() as u64));
                }
                Err(e) => errs.push(format!("`{at}stop_grace_period`: {e}")),
            }
        }
        let mut task = Map::new();
        task.insert("ContainerSpec".into(), Value::Object(container));
        // Networks, with the short service name as alias.
        let mut attach = Vec::new();
        match s.get("networks") {
            None => {
                uses_default = true;
                attach.push(json!({"Target": format!("{stack}_default"), "Aliases": [name]}));
            }
            Some(Value::Array(list)) => {
                for n in list.iter().filter_map(Value::as_str) {
                    attach.push(
                        json!({"Target": network_name(&networks, stack, n), "Aliases": [name]}),
                    );
                    if !networks.contains_key(n) {
                        errs.push(format!(
                            "`{at}networks`: `{n}` is not declared under top-level `networks`"
                        ));
                    }
                }
            }
            Some(Value::Object(map)) => {
                for (n, cfg) in map {
                    let mut aliases = vec![json!(name)];
                    aliases.extend(
                        cfg.get("aliases")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default(),
                    );
                    attach.push(
                        json!({"Target": network_name(&networks, stack, n), "Aliases": aliases}),
                    );
                    if !networks.contains_key(n) {
                        errs.push(format!(
                            "`{at}networks`: `{n}` is not declared under top-level `networks`"
                        ));
                    }
                }
            }
            Some(_) => errs.push(format!("`{at}networks` must be a list or a mapping")),
        }
        task.insert("Networks".into(), json!(attach));
        let deploy = s
            .get("deploy")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        unknown(&deploy, DEPLOY, &format!("{at}deploy."), &mut errs);
        if let Some(r) = deploy.get("resources").and_then(Value::as_object) {
            let mut res = Map::new();
            for (k, api) in [("limits", "Limits"), ("reservations", "Reservations")] {
                if let Some(l) = r.get(k).and_then(Value::as_object) {
                    let mut m = Map::new();
                    if let Some(c) = l.get("cpus").and_then(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .or_else(|| v.as_f64().map(|f| f.to_string()))
                    }) {
                        match c.parse::<f64>() {
                            Ok(c) => {
                                m.insert("NanoCPUs".into(), json!((c * 1e9) as u64));
                            }
                            Err(_) => errs.push(format!(
                                "`{at}deploy.resources.{k}.cpus`: `{c}` is not a number"
                            )),
                        }
                    }
                    if let Some(mem) = l.get("memory").and_then(Value::as_str) {
                        match bytes(mem) {
                            Some(b) => {
                                m.insert("MemoryBytes".into(), json!(b));
                            }
                            None => errs.push(format!("`{at}deploy.resources.{k}.memory`: `{mem}` is not a size like `256M`")),
                        }
                    }
                    res.insert(api.into(), Value::Object(m));
                }
            }
            task.insert("Resources".into(), Value::Object(res));
        }
        if let Some(p) = deploy.get("placement").and_then(Value::as_object) {
            unknown(
                p,
                &["constraints", "preferences", "max_replicas_per_node"],
                &format!("{at}deploy.placement."),
                &mut errs,
            );
            let mut placement =
                json!({"Constraints": p.get("constraints").cloned().unwrap_or(json!([]))});
            let spreads: Vec<Value> = p
                .get("preferences")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|pref| pref.get("spread").and_then(Value::as_str))
                .map(|sp| json!({"Spread": {"SpreadDescriptor": sp}}))
                .collect();
            if !spreads.is_empty() {
                placement["Preferences"] = json!(spreads);
            }
            if let Some(n) = p.get("max_replicas_per_node").and_then(Value::as_u64) {
                placement["MaxReplicas"] = json!(n);
            }
            task.insert("Placement".into(), placement);
        }
        if let Some(rp) = deploy.get("restart_policy").and_then(Value::as_object) {
            unknown(
                rp,
                &["condition", "delay", "max_attempts", "window"],
                &format!("{at}deploy.restart_policy."),
                &mut errs,
            );
            let mut m = Map::new();
            if let Some(c) = rp.get("condition").and_then(Value::as_str) {
                let c = if c == "on_failure" { "on-failure" } else { c };
                if matches!(c, "none" | "on-failure" | "any") {
                    m.insert("Condition".into(), json!(c));
                } else {
                    errs.push(format!("`{at}deploy.restart_policy.condition`: `{c}` is not none, on-failure or any"));
                }
            }
            for (k, api) in [("delay", "Delay"), ("window", "Window")] {
                if let Some(d) = rp.get(k).and_then(Value::as_str) {
                    match crate::manifest::duration::parse(d) {
                        Ok(d) => {
                            m.insert(api.into(), json!(d.0.as_nanos() as u64));
                        }
                        Err(e) => errs.push(format!("`{at}deploy.restart_policy.{k}`: {e}")),
                    }
                }
            }
            if let Some(n) = rp.get("max_attempts").and_then(Value::as_u64) {
                m.insert("MaxAttempts".into(), json!(n));
            }
            task.insert("RestartPolicy".into(), Value::Object(m));
        }
        let mode = match deploy.get("mode").and_then(Value::as_str) {
            Some("global") => json!({"Global": {}}),
            Some("replicated") | None => {
                let n = o
                    .replicas
                    .get(name)
                    .copied()
                    .map(u64::from)
                    .or_else(|| deploy.get("replicas").and_then(Value::as_u64))
                    .unwrap_or(1);
                json!({"Replicated": {"Replicas": n}})
            }
            Some(other) => {
                errs.push(format!(
                    "`{at}deploy.mode`: `{other}` is not `replicated` or `global`"
                ));
                continue;
            }
        };
        let mut labels = Map::new();
        labels.insert(NAMESPACE.into(), json!(stack));
        labels.insert("com.docker.stack.image".into(), json!(image));
        for (k, v) in label_map(deploy.get("labels")) {
            labels.insert(k, json!(v));
        }
        let mut spec = json!({
            "Name": format!("{stack}_{name}"),
            "Labels": labels,
            "TaskTemplate": task,
            "Mode": mode,
        });
        for (key, api) in [
            ("update_config", "UpdateConfig"),
            ("rollback_config", "RollbackConfig"),
        ] {
            if let Some(u) = deploy.get(key).and_then(Value::as_object) {
                spec[api] = update_config(u, &format!("{at}deploy.{key}."), &mut errs);
            }
        }
        let ports = ports(s.get("ports"), &at, &mut errs);
        let endpoint_mode = deploy
            .get("endpoint_mode")
            .and_then(Value::as_str)
            .unwrap_or("vip");
        if !matches!(endpoint_mode, "vip" | "dnsrr") {
            errs.push(format!(
                "`{at}deploy.endpoint_mode`: `{endpoint_mode}` is not `vip` or `dnsrr`"
            ));
        }
        spec["EndpointSpec"] = json!({"Mode": endpoint_mode, "Ports": ports});
        services.push(spec);
    }
    if uses_default {
        networks.insert("default".into(), json!({"Name": format!("{stack}_default"), "Driver": "overlay", "Attachable": true, "Labels": {NAMESPACE: stack}}));
    }
    for k in o.replicas.keys().chain(o.env.keys()) {
        if !svcs.contains_key(k) {
            errs.push(format!(
                "override for `{k}`: the stack file has no such service"
            ));
        }
    }
    if errs.is_empty() {
        Ok(StackSpec {
            stack: stack.to_string(),
            networks: networks.into_values().collect(),
            files,
            services,
        })
    } else {
        Err(errs)
    }
}

/// A service's `configs:` or `secrets:` (short names or `{source, target, uid, gid, mode}`).
fn file_refs(
    v: Option<&Value>,
    kind: FileKind,
    stack: &str,
    files: &[FileObject],
    at: &str,
    errs: &mut Vec<String>,
) -> Vec<Value> {
    let mut out = Vec::new();
    for r in v.and_then(Value::as_array).into_iter().flatten() {
        let (source, m) = match r {
            Value::String(name) => (name.clone(), Map::new()),
            Value::Object(m) => {
                unknown(
                    m,
                    &["source", "target", "uid", "gid", "mode"],
                    &format!("{at}."),
                    errs,
                );
                match m.get("source").and_then(Value::as_str) {
                    Some(src) => (src.to_string(), m.clone()),
                    None => {
                        errs.push(format!("`{at}`: an entry needs `source`"));
                        continue;
                    }
                }
            }
            other => {
                errs.push(format!("`{at}`: unexpected entry {other}"));
                continue;
            }
        };
        if !files.iter().any(|f| f.kind == kind && f.key == source) {
            errs.push(format!(
                "`{at}`: `{source}` is not declared under top-level `{}`",
                at.rsplit('.').next().unwrap_or_default()
            ));
            continue;
        }
        let target = m
            .get("target")
            .and_then(Value::as_str)
            .map_or_else(|| source.clone(), str::to_string);
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
        let text = |k: &str| {
            m.get(k)
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .unwrap_or_else(|| "0".into())
        };
        let mode = match m.get("mode") {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0o444),
            Some(Value::String(s)) => {
                u64::from_str_radix(s.trim_start_matches("0o"), 8).unwrap_or(0o444)
            }
            _ => 0o444,
        };
        out.push(json!({
            "File": {"Name": target, "UID": text("uid"), "GID": text("gid"), "Mode": mode},
            format!("{id_key}ID"): format!("{stack}_{source}"),
            format!("{id_key}Name"): format!("{stack}_{source}"),
        }));
    }
    out
}

/// A service's `volumes:`: named volumes (`data:/var/lib/db`) and bind mounts (`./conf:/etc/x:ro`,
/// `/var/run/docker.sock:/var/run/docker.sock`), short or long syntax.
fn mounts(
    v: Option<&Value>,
    stack: &str,
    volumes: &BTreeMap<String, Value>,
    o: &Overrides,
    at: &str,
    errs: &mut Vec<String>,
) -> Vec<Value> {
    let mut out = Vec::new();
    for m in v.and_then(Value::as_array).into_iter().flatten() {
        let (source, target, read_only) = match m {
            Value::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                match parts.as_slice() {
                    [src, dst] => (src.to_string(), dst.to_string(), false),
                    [src, dst, "ro"] => (src.to_string(), dst.to_string(), true),
                    [src, dst, "rw"] => (src.to_string(), dst.to_string(), false),
                    _ => {
                        errs.push(format!("`{at}volumes`: `{s}` is not `SOURCE:TARGET[:ro]`"));
                        continue;
                    }
                }
            }
            Value::Object(m) => {
                unknown(
                    m,
                    &["type", "source", "target", "read_only"],
                    &format!("{at}volumes."),
                    errs,
                );
                let (Some(src), Some(dst)) = (
                    m.get("source").and_then(Value::as_str),
                    m.get("target").and_then(Value::as_str),
                ) else {
                    errs.push(format!(
                        "`{at}volumes`: a mount needs `source` and `target`"
                    ));
                    continue;
                };
                (
                    src.to_string(),
                    dst.to_string(),
                    m.get("read_only").and_then(Value::as_bool).unwrap_or(false),
                )
            }
            other => {
                errs.push(format!("`{at}volumes`: unexpected entry {other}"));
                continue;
            }
        };
        let bind = source.starts_with('/') || source.starts_with('.') || source.starts_with('~');
        if bind {
            let path = o.dir.join(&source);
            out.push(json!({"Type": "bind", "Source": path.to_string_lossy(), "Target": target, "ReadOnly": read_only}));
        } else if let Some(opts) = volumes.get(&source) {
            out.push(json!({"Type": "volume", "Source": format!("{stack}_{source}"), "Target": target, "ReadOnly": read_only, "VolumeOptions": opts}));
        } else {
            errs.push(format!(
                "`{at}volumes`: `{source}` is neither a path nor declared under top-level `volumes`"
            ));
        }
    }
    out
}

/// `update_config` / `rollback_config` as the Engine's `UpdateConfig`.
fn update_config(u: &Map<String, Value>, at: &str, errs: &mut Vec<String>) -> Value {
    unknown(
        u,
        &[
            "parallelism",
            "delay",
            "failure_action",
            "monitor",
            "max_failure_ratio",
            "order",
        ],
        at,
        errs,
    );
    let mut m = Map::new();
    if let Some(n) = u.get("parallelism").and_then(Value::as_u64) {
        m.insert("Parallelism".into(), json!(n));
    }
    for (k, api) in [("delay", "Delay"), ("monitor", "Monitor")] {
        if let Some(d) = u.get(k).and_then(Value::as_str) {
            match crate::manifest::duration::parse(d) {
                Ok(d) => {
                    m.insert(api.into(), json!(d.0.as_nanos() as u64));
                }
                Err(e) => errs.push(format!("`{at}{k}`: {e}")),
            }
        }
    }
    if let Some(a) = u.get("failure_action").and_then(Value::as_str) {
        if matches!(a, "continue" | "pause" | "rollback") {
            m.insert("FailureAction".into(), json!(a));
        } else {
            errs.push(format!(
                "`{at}failure_action`: `{a}` is not continue, pause or rollback"
            ));
        }
    }
    if let Some(r) = u.get("max_failure_ratio").and_then(Value::as_f64) {
        m.insert("MaxFailureRatio".into(), json!(r));
    }
    if let Some(order) = u.get("order").and_then(Value::as_str) {
        if matches!(order, "stop-first" | "start-first") {
            m.insert("Order".into(), json!(order));
        } else {
            errs.push(format!(
                "`{at}order`: `{order}` is not stop-first or start-first"
            ));
        }
    }
    Value::Object(m)
}

fn network_name(networks: &BTreeMap<String, Value>, stack: &str, n: &str) -> String {
    networks
        .get(n)
        .and_then(|v| v["Name"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{stack}_{n}"))
}

fn unknown(map: &Map<String, Value>, allowed: &[&str], at: &str, errs: &mut Vec<String>) {
    for k in map.keys() {
        if !allowed.contains(&k.as_str()) {
            errs.push(format!("`{at}{k}` is not supported by soy's swarm driver"));
        }
    }
}

fn words(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn environment(v: Option<&Value>) -> BTreeMap<String, String> {
    match v {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                )
            })
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|s| match s.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (s.to_string(), String::new()),
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn label_map(v: Option<&Value>) -> BTreeMap<String, String> {
    environment(v)
}

fn ports(v: Option<&Value>, at: &str, errs: &mut Vec<String>) -> Vec<Value> {
    let mut out = Vec::new();
    for p in v.and_then(Value::as_array).into_iter().flatten() {
        match p {
            Value::Object(m) => {
                let target = m.get("target").and_then(Value::as_u64);
                let Some(target) = target else {
                    errs.push(format!("`{at}ports`: a port needs `target`"));
                    continue;
                };
                let mut port = json!({"Protocol": m.get("protocol").and_then(Value::as_str).unwrap_or("tcp"), "TargetPort": target, "PublishMode": m.get("mode").and_then(Value::as_str).unwrap_or("ingress")});
                if let Some(pubd) = m.get("published").and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                }) {
                    port["PublishedPort"] = json!(pubd);
                }
                out.push(port);
            }
            Value::String(_) | Value::Number(_) => {
                let s = p.as_str().map_or_else(|| p.to_string(), str::to_string);
                let (spec, proto) = s.split_once('/').unwrap_or((&s, "tcp"));
                let parts: Vec<&str> = spec.split(':').collect();
                let parsed = match parts.as_slice() {
                    [t] => t.parse::<u64>().ok().map(|t| (None, t)),
                    [p, t] => p
                        .parse::<u64>()
                        .ok()
                        .zip(t.parse::<u64>().ok())
                        .map(|(p, t)| (Some(p), t)),
                    _ => None,
                };
                match parsed {
                    Some((published, target)) => {
                        let mut port = json!({"Protocol": proto, "TargetPort": target, "PublishMode": "ingress"});
                        if let Some(p) = published {
                            port["PublishedPort"] = json!(p);
                        }
                        out.push(port);
                    }
                    None => errs.push(format!("`{at}ports`: `{s}` is not `PUBLISHED:TARGET`")),
                }
            }
            _ => errs.push(format!("`{at}ports`: unexpected entry {p}")),
        }
    }
    out
}

/// `256M`, `1G`, `512k`, `1024` to bytes.
fn bytes(s: &str) -> Option<u64> {
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

    fn doc(y: &str) -> Value {
        crate::manifest::yaml::parse(y).unwrap().0
    }

    #[test]
    fn translates_like_docker_stack_deploy() {
        let d = doc(
            "services:\n  gw:\n    image: soy-demo:latest\n    command: [demo-service, gateway]\n    environment: {A: '1'}\n    ports: [{target: 8080, published: 18080, mode: host}]\n    networks: [backend]\n    deploy: {replicas: 2, resources: {limits: {cpus: '0.5', memory: 64M}}}\n  db:\n    image: pg\n    ports: ['5432:5432']\nnetworks:\n  backend: {driver: overlay, attachable: true}\n",
        );
        let mut o = Overrides::default();
        o.replicas.insert("gw".into(), 3);
        let s = translate(&d, "demo", &o).unwrap();
        let gw = s.services.iter().find(|v| v["Name"] == "demo_gw").unwrap();
        assert_eq!(gw["Name"], "demo_gw");
        assert_eq!(gw["Labels"][NAMESPACE], "demo");
        assert_eq!(gw["Mode"]["Replicated"]["Replicas"], 3);
        assert_eq!(gw["TaskTemplate"]["ContainerSpec"]["Args"][1], "gateway");
        assert_eq!(gw["TaskTemplate"]["Networks"][0]["Target"], "demo_backend");
        assert_eq!(gw["TaskTemplate"]["Networks"][0]["Aliases"][0], "gw");
        assert_eq!(
            gw["TaskTemplate"]["Resources"]["Limits"]["MemoryBytes"],
            64 * 1024 * 1024
        );
        assert_eq!(gw["EndpointSpec"]["Ports"][0]["PublishMode"], "host");
        let names: Vec<&str> = s
            .networks
            .iter()
            .filter_map(|n| n["Name"].as_str())
            .collect();
        assert_eq!(names, ["demo_backend", "demo_default"]);
    }

    #[test]
    fn unsupported_keys_are_named() {
        let d = doc(
            "services:\n  a:\n    image: x\n    build: .\n    deploy: {replica: 2}\n  b:\n    build: .\n",
        );
        let errs = translate(&d, "s", &Overrides::default()).unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.contains("`services.a.build` is not supported")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("`services.a.deploy.replica` is not supported")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("`services.b.image` is missing")),
            "{errs:?}"
        );
    }

    #[test]
    fn configs_secrets_volumes_and_update_config() {
        let d = doc(
            "services:\n  prom:\n    image: p\n    labels: {team: perf}\n    stop_grace_period: 3s\n    configs: [{source: prom_cfg, target: /etc/prometheus/prometheus.yml}]\n    secrets: [token]\n    volumes: ['data:/prometheus', './rules:/etc/rules:ro', '/var/run/docker.sock:/var/run/docker.sock']\n    deploy:\n      update_config: {parallelism: 1, delay: 2s, order: start-first, failure_action: rollback}\n      restart_policy: {condition: on-failure, window: 10s}\n      placement: {constraints: [node.role == manager], max_replicas_per_node: 1}\nconfigs:\n  prom_cfg: {file: ./prometheus.yml}\nsecrets:\n  token: {file: token.txt}\nvolumes:\n  data: {}\n",
        );
        let o = Overrides {
            dir: "/stacks".into(),
            ..Overrides::default()
        };
        let s = translate(&d, "st", &o).unwrap();
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
        assert_eq!(c["Configs"][0]["ConfigName"], "st_prom_cfg");
        assert_eq!(c["Secrets"][0]["File"]["Name"], "/run/secrets/token");
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
        let d = doc(
            "services:\n  a:\n    image: x\n    configs: [nope]\n    volumes: ['cache:/c', 'just-one-part']\n    deploy:\n      update_config: {order: sideways, rollback: yes}\n      restart_policy: {condition: sometimes}\n      placement: {preferences: [{spread: node.id}], zone: a}\nconfigs:\n  ext: {external: true}\n",
        );
        let errs = translate(&d, "s", &Overrides::default()).unwrap_err();
        for want in [
            "`services.a.configs`: `nope` is not declared under top-level `configs`",
            "`cache` is neither a path nor declared under top-level `volumes`",
            "`just-one-part` is not `SOURCE:TARGET[:ro]`",
            "`services.a.deploy.update_config.order`: `sideways`",
            "`services.a.deploy.update_config.rollback` is not supported",
            "`sometimes` is not none, on-failure or any",
            "`services.a.deploy.placement.zone` is not supported",
            "`configs.ext.external`",
        ] {
            assert!(errs.iter().any(|e| e.contains(want)), "{want} in {errs:?}");
        }
    }
}
