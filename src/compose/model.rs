//! The Compose file as typed values: the part of the Compose specification that
//! `docker stack deploy` deploys and soy translates. Every struct rejects unknown keys (the
//! reader turns serde's message into a positioned diagnostic with a suggestion); `x-`
//! extension fields are removed before deserialization, where Docker allows them.
//!
//! Scalars are lenient where interpolation makes them strings: `replicas: ${N:-2}` is the
//! text `"2"` after interpolation and is read as the number 2, as Docker does.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A whole Compose file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeFile {
    /// Accepted and ignored, as Docker does today.
    #[serde(default)]
    pub version: Option<Text>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    #[serde(default, deserialize_with = "nullable_map")]
    pub networks: BTreeMap<String, Network>,
    #[serde(default, deserialize_with = "nullable_map")]
    pub volumes: BTreeMap<String, Volume>,
    #[serde(default, deserialize_with = "nullable_map")]
    pub configs: BTreeMap<String, FileDef>,
    #[serde(default, deserialize_with = "nullable_map")]
    pub secrets: BTreeMap<String, FileDef>,
}

/// One service.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub command: Option<Words>,
    #[serde(default)]
    pub entrypoint: Option<Words>,
    #[serde(default)]
    pub environment: Option<Dict>,
    /// Files of `KEY=VALUE` lines, relative to the stack file, read before `environment`.
    #[serde(default)]
    pub env_file: Option<Words>,
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub networks: Option<ServiceNetworks>,
    #[serde(default)]
    pub deploy: Option<Deploy>,
    #[serde(default)]
    pub labels: Option<Dict>,
    #[serde(default)]
    pub healthcheck: Option<Healthcheck>,
    #[serde(default)]
    pub working_dir: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub stop_grace_period: Option<String>,
    #[serde(default)]
    pub stop_signal: Option<String>,
    #[serde(default)]
    pub configs: Vec<FileRef>,
    #[serde(default)]
    pub secrets: Vec<FileRef>,
    #[serde(default)]
    pub volumes: Vec<MountDef>,
    #[serde(default)]
    pub logging: Option<Logging>,
    #[serde(default)]
    pub extra_hosts: Option<Dict>,
    #[serde(default)]
    pub cap_add: Vec<String>,
    #[serde(default)]
    pub cap_drop: Vec<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub init: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub tty: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub read_only: Option<bool>,
    /// Accepted and without effect on a swarm service, as in Docker.
    #[serde(default)]
    pub expose: Vec<Text>,
}

/// A top-level network.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(default)]
    pub driver: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub attachable: Option<bool>,
    #[serde(default)]
    pub labels: Option<Dict>,
    #[serde(default)]
    pub external: Option<External>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub driver_opts: Option<Dict>,
}

/// A top-level named volume.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    #[serde(default)]
    pub driver: Option<String>,
    #[serde(default)]
    pub labels: Option<Dict>,
    #[serde(default)]
    pub driver_opts: Option<Dict>,
    #[serde(default)]
    pub external: Option<External>,
    #[serde(default)]
    pub name: Option<String>,
}

/// A top-level config or secret.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileDef {
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub external: Option<External>,
    #[serde(default)]
    pub name: Option<String>,
}

/// `external: true`, or the legacy `external: {name: …}`.
#[derive(Debug, Clone, Serialize)]
pub struct External(pub bool);

impl<'de> Deserialize<'de> for External {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Bool(b) => Ok(External(b)),
            Value::String(s) if s == "true" || s == "false" => Ok(External(s == "true")),
            Value::Object(_) => Ok(External(true)),
            other => Err(de::Error::custom(format!(
                "expected true or false, found {}",
                kind(&other)
            ))),
        }
    }
}

/// A service's reference to a config or secret: a name, or the long form.
#[derive(Debug, Clone, Serialize)]
pub struct FileRef {
    pub source: String,
    pub target: Option<String>,
    pub uid: Option<String>,
    pub gid: Option<String>,
    pub mode: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRefLong {
    source: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    uid: Option<Text>,
    #[serde(default)]
    gid: Option<Text>,
    #[serde(default)]
    mode: Option<Value>,
}

/// A file mode: a YAML number as read (`0440` is octal in Compose files), or a string,
/// octal with a leading `0` or `0o`.
fn file_mode(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => {
            let s = s.trim();
            match s
                .strip_prefix("0o")
                .or_else(|| s.strip_prefix('0').filter(|r| !r.is_empty()))
            {
                Some(oct) => u32::from_str_radix(oct, 8).ok(),
                None => s.parse().ok(),
            }
        }
        _ => None,
    }
}

impl<'de> Deserialize<'de> for FileRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(source) => Ok(FileRef {
                source,
                target: None,
                uid: None,
                gid: None,
                mode: None,
            }),
            v @ Value::Object(_) => {
                let l: FileRefLong = serde_json::from_value(v).map_err(de::Error::custom)?;
                let mode = match l.mode {
                    None | Some(Value::Null) => None,
                    Some(m) => Some(file_mode(&m).ok_or_else(|| {
                        de::Error::custom(format!(
                            "mode `{}` is not a file mode such as 0440",
                            scalar_text(&m).unwrap_or_default()
                        ))
                    })?),
                };
                Ok(FileRef {
                    source: l.source,
                    target: l.target,
                    uid: l.uid.map(|t| t.0),
                    gid: l.gid.map(|t| t.0),
                    mode,
                })
            }
            other => Err(de::Error::custom(format!(
                "expected a name or a mapping with `source`, found {}",
                kind(&other)
            ))),
        }
    }
}

/// A service's volume: `SOURCE:TARGET[:ro|rw]`, or the long form.
#[derive(Debug, Clone, Serialize)]
pub struct MountDef {
    pub kind: Option<String>,
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MountLong {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    source: Option<String>,
    target: String,
    #[serde(default, deserialize_with = "lenient_bool")]
    read_only: Option<bool>,
}

impl<'de> Deserialize<'de> for MountDef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                let (source, target, ro) = match parts.as_slice() {
                    [src, dst] => (*src, *dst, false),
                    [src, dst, "ro"] => (*src, *dst, true),
                    [src, dst, "rw"] => (*src, *dst, false),
                    _ => {
                        return Err(de::Error::custom(format!(
                            "`{s}` is not `SOURCE:TARGET[:ro]`"
                        )));
                    }
                };
                Ok(MountDef {
                    kind: None,
                    source: source.into(),
                    target: target.into(),
                    read_only: ro,
                })
            }
            v @ Value::Object(_) => {
                let l: MountLong = serde_json::from_value(v).map_err(de::Error::custom)?;
                Ok(MountDef {
                    kind: l.kind,
                    source: l.source.unwrap_or_default(),
                    target: l.target,
                    read_only: l.read_only.unwrap_or(false),
                })
            }
            other => Err(de::Error::custom(format!(
                "expected `SOURCE:TARGET` or a mapping, found {}",
                kind(&other)
            ))),
        }
    }
}

/// A published port: `"8080"`, `"18080:8080"`, `"18080:8080/udp"`, or the long form.
#[derive(Debug, Clone, Serialize)]
pub struct Port {
    pub target: u64,
    pub published: Option<u64>,
    pub protocol: String,
    pub mode: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PortLong {
    #[serde(deserialize_with = "lenient_u64_req")]
    target: u64,
    #[serde(default, deserialize_with = "lenient_u64")]
    published: Option<u64>,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    mode: Option<String>,
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        if v.is_object() {
            let l: PortLong = serde_json::from_value(v).map_err(de::Error::custom)?;
            return Ok(Port {
                target: l.target,
                published: l.published,
                protocol: l.protocol.unwrap_or_else(|| "tcp".into()),
                mode: l.mode.unwrap_or_else(|| "ingress".into()),
            });
        }
        let Some(s) = scalar_text(&v) else {
            return Err(de::Error::custom(format!(
                "expected `PUBLISHED:TARGET` or a mapping, found {}",
                kind(&v)
            )));
        };
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
        let (published, target) =
            parsed.ok_or_else(|| de::Error::custom(format!("`{s}` is not `PUBLISHED:TARGET`")))?;
        Ok(Port {
            target,
            published,
            protocol: proto.to_string(),
            mode: "ingress".into(),
        })
    }
}

/// A service's networks: a list of names, or a mapping of names to attachment options.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceNetworks(pub Vec<(String, Vec<String>)>);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Attachment {
    #[serde(default)]
    aliases: Vec<String>,
}

impl<'de> Deserialize<'de> for ServiceNetworks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok((s, Vec::new())),
                    other => Err(de::Error::custom(format!(
                        "expected a network name, found {}",
                        kind(&other)
                    ))),
                })
                .collect::<Result<_, _>>()
                .map(ServiceNetworks),
            Value::Object(map) => map
                .into_iter()
                .map(|(name, v)| {
                    let a: Attachment = if v.is_null() {
                        Attachment::default()
                    } else {
                        serde_json::from_value(v).map_err(de::Error::custom)?
                    };
                    Ok((name, a.aliases))
                })
                .collect::<Result<_, _>>()
                .map(ServiceNetworks),
            other => Err(de::Error::custom(format!(
                "expected a list or a mapping of networks, found {}",
                kind(&other)
            ))),
        }
    }
}

/// `deploy:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub replicas: Option<u64>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub endpoint_mode: Option<String>,
    #[serde(default)]
    pub resources: Option<Resources>,
    #[serde(default)]
    pub placement: Option<Placement>,
    #[serde(default)]
    pub restart_policy: Option<RestartPolicy>,
    #[serde(default)]
    pub labels: Option<Dict>,
    #[serde(default)]
    pub update_config: Option<UpdateConfig>,
    #[serde(default)]
    pub rollback_config: Option<UpdateConfig>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default)]
    pub limits: Option<Limits>,
    #[serde(default)]
    pub reservations: Option<Limits>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default)]
    pub cpus: Option<Text>,
    #[serde(default)]
    pub memory: Option<Text>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub pids: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    #[serde(default)]
    pub constraints: Vec<String>,
    #[serde(default)]
    pub preferences: Vec<Preference>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub max_replicas_per_node: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Preference {
    pub spread: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub delay: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub max_attempts: Option<u64>,
    #[serde(default)]
    pub window: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub parallelism: Option<u64>,
    #[serde(default)]
    pub delay: Option<String>,
    #[serde(default)]
    pub failure_action: Option<String>,
    #[serde(default)]
    pub monitor: Option<String>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub max_failure_ratio: Option<f64>,
    #[serde(default)]
    pub order: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    #[serde(default)]
    pub test: Option<Words>,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub retries: Option<u64>,
    #[serde(default)]
    pub start_period: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub disable: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    #[serde(default)]
    pub driver: Option<String>,
    #[serde(default)]
    pub options: Option<Dict>,
}

/// A string or a list of strings (`command`, `entrypoint`, `env_file`, healthcheck `test`).
/// A string keeps its form: `command: a b` and `command: [a, b]` differ for `test`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Words {
    Text(String),
    List(Vec<String>),
}

impl Words {
    /// The words, a string split on whitespace as Docker splits it (quotes respected).
    pub fn split(&self) -> Vec<String> {
        match self {
            Words::List(l) => l.clone(),
            Words::Text(s) => shell_words(s),
        }
    }
}

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Words::Text(s)),
            Value::Array(items) => items
                .iter()
                .map(|v| {
                    scalar_text(v).ok_or_else(|| {
                        de::Error::custom(format!("expected a string, found {}", kind(v)))
                    })
                })
                .collect::<Result<_, _>>()
                .map(Words::List),
            other => Err(de::Error::custom(format!(
                "expected a string or a list of strings, found {}",
                kind(&other)
            ))),
        }
    }
}

/// `KEY: value` mapping or `["KEY=value", "KEY"]` list (environment, labels, extra hosts).
/// A key without a value (`KEY` alone, or `KEY:` with nothing) is `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Dict(pub Vec<(String, Option<String>)>);

impl Dict {
    /// Entries with values; `KEY` alone counts as an empty value.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref().unwrap_or("")))
    }
}

impl<'de> Deserialize<'de> for Dict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::Null => Ok((k, None)),
                    other => scalar_text(&other).map(|t| (k, Some(t))).ok_or_else(|| {
                        de::Error::custom(format!("expected a string, found {}", kind(&other)))
                    }),
                })
                .collect::<Result<_, _>>()
                .map(Dict),
            Value::Array(items) => items
                .iter()
                .map(|v| match v.as_str() {
                    Some(s) => Ok(match s.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (s.to_string(), None),
                    }),
                    None => Err(de::Error::custom(format!(
                        "expected `KEY=VALUE`, found {}",
                        kind(v)
                    ))),
                })
                .collect::<Result<_, _>>()
                .map(Dict),
            other => Err(de::Error::custom(format!(
                "expected a mapping or a list of `KEY=VALUE`, found {}",
                kind(&other)
            ))),
        }
    }
}

/// A scalar read as text: `cpus: 0.5` and `cpus: '0.5'` alike.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        scalar_text(&v).map(Text).ok_or_else(|| {
            de::Error::custom(format!("expected a string or a number, found {}", kind(&v)))
        })
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What kind of YAML value this is, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) if n.as_u64().is_some() => Ok(n.as_u64()),
        Value::String(s) if s.trim().parse::<u64>().is_ok() => Ok(s.trim().parse().ok()),
        other => Err(de::Error::custom(format!(
            "expected a whole number, found {} `{}`",
            kind(&other),
            scalar_text(&other).unwrap_or_default()
        ))),
    }
}

fn lenient_u64_req<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    lenient_u64(d)?.ok_or_else(|| de::Error::custom("expected a whole number"))
}

fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        Value::String(s) if s.trim().parse::<f64>().is_ok() => Ok(s.trim().parse().ok()),
        other => Err(de::Error::custom(format!(
            "expected a number, found {}",
            kind(&other)
        ))),
    }
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) if s == "true" || s == "false" => Ok(Some(s == "true")),
        other => Err(de::Error::custom(format!(
            "expected true or false, found {}",
            kind(&other)
        ))),
    }
}

/// A mapping whose entries may be empty (`networks: {backend:}`).
fn nullable_map<'de, D, T>(d: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: Default + serde::de::DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| {
                let t = if v.is_null() {
                    T::default()
                } else {
                    serde_json::from_value(v).map_err(de::Error::custom)?
                };
                Ok((k, t))
            })
            .collect(),
        other => Err(de::Error::custom(format!(
            "expected a mapping, found {}",
            kind(&other)
        ))),
    }
}

/// Splits a command line on whitespace, keeping quoted parts together (as Docker's
/// `shlex`-style split does for `command: "sh -c 'echo hi'"`).
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    in_word = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            Words::Text("sh -c 'echo hi there'".into()).split(),
            ["sh", "-c", "echo hi there"]
        );
        assert_eq!(
            Words::Text("a \"b c\" d\\ e".into()).split(),
            ["a", "b c", "d e"]
        );
        assert_eq!(Words::Text("  x  ".into()).split(), ["x"]);
        assert_eq!(Words::Text("''".into()).split(), [""]);
    }

    #[test]
    fn lenient_scalars_after_interpolation() {
        let d: Deploy =
            serde_json::from_value(serde_json::json!({"replicas": "3"})).expect("deploy");
        assert_eq!(d.replicas, Some(3));
        let bad = serde_json::from_value::<Deploy>(serde_json::json!({"replicas": "three"}));
        assert!(bad.unwrap_err().to_string().contains("whole number"));
        let p: Port = serde_json::from_value(serde_json::json!("18080:8080/udp")).expect("port");
        assert_eq!(
            (p.published, p.target, p.protocol.as_str()),
            (Some(18080), 8080, "udp")
        );
    }
}
