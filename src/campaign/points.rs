//! A sweep's points, pure: the matrix's combinations as configurations, their ids, the runs
//! with their repetitions in sequential or seeded shuffled order, and the values each sets in
//! the manifest's document.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::manifest::model::{Order, Sweep};

/// Where a parameter's value goes in the manifest's document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A template variable, `vars.<name>`.
    Var(String),
    /// A place such as `load.users` or `stack.replicas.<service>`.
    Path(String),
}

impl Target {
    pub fn of(name: &str) -> Target {
        if name.contains('.') {
            Target::Path(name.to_string())
        } else {
            Target::Var(name.to_string())
        }
    }

    /// The JSON pointer of the value it sets.
    pub fn pointer(&self) -> String {
        let esc = |s: &str| s.replace('~', "~0").replace('/', "~1");
        match self {
            Target::Var(n) => format!("/vars/{}", esc(n)),
            Target::Path(p) => {
                // `stack.replicas.<service>`: the service name may hold dots.
                if let Some(svc) = p.strip_prefix("stack.replicas.") {
                    return format!("/stack/replicas/{}", esc(svc));
                }
                p.split('.').map(|s| format!("/{}", esc(s))).collect()
            }
        }
    }
}

/// One combination of the matrix's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Config {
    /// `p<k>-<name>-<value>_…`, also the start of its runs' folder names.
    pub id: String,
    /// Parameter name → value, in the matrix's order.
    pub values: serde_json::Map<String, Value>,
}

/// One run of the campaign: a configuration's repetition (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub config: usize,
    pub rep: u32,
}

/// Every combination of the matrix, the first parameter varying slowest.
pub fn configs(params: &[(String, Vec<Value>)]) -> Vec<Config> {
    let mut combos: Vec<Vec<(String, Value)>> = vec![Vec::new()];
    for (name, values) in params {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((name.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    let width = combos.len().to_string().len();
    combos
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let mut id = format!("p{:0width$}", i + 1);
            for (k, v) in &c {
                id.push(if id.len() == 1 + width { '-' } else { '_' });
                id.push_str(&label(k));
                id.push('-');
                id.push_str(&text(v));
            }
            let id = safe(&id);
            Config {
                id,
                values: c.into_iter().collect(),
            }
        })
        .collect()
}

/// How many runs the matrix makes with `repeat` repetitions.
pub fn count(params: &[(String, Vec<Value>)], repeat: u32) -> u64 {
    params
        .iter()
        .map(|(_, v)| v.len() as u64)
        .product::<u64>()
        .saturating_mul(u64::from(repeat))
}

/// The runs in the order they are made: sequential (a configuration's repetitions
/// together), or shuffled with `seed` (the same seed, the same order, on any machine).
pub fn schedule(n_configs: usize, repeat: u32, order: Order, seed: u64) -> Vec<Slot> {
    let mut slots: Vec<Slot> = (0..n_configs)
        .flat_map(|config| (1..=repeat).map(move |rep| Slot { config, rep }))
        .collect();
    if order == Order::Shuffled {
        let mut rng = crate::splitmix::SplitMix(seed);
        for i in (1..slots.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            slots.swap(i, j);
        }
    }
    slots
}

/// The sweep's configurations and its runs, in order.
pub fn expand(sweep: &Sweep, seed: u64) -> (Vec<Config>, Vec<Slot>) {
    let configs = configs(&sweep.matrix.params());
    let slots = schedule(configs.len(), sweep.repeat, sweep.order, seed);
    (configs, slots)
}

/// A run's folder name: `<configuration>-r<repetition>`.
pub fn run_id(config: &str, rep: u32) -> String {
    format!("{config}-r{rep}")
}

/// Sets each of `values` in `doc` (creating the mappings on the way).
pub fn apply(doc: &mut Value, values: &serde_json::Map<String, Value>) {
    for (name, v) in values {
        set(doc, &Target::of(name).pointer(), v.clone());
    }
}

/// Sets the value at a JSON pointer, creating mappings on the way; a number indexes a list
/// (an item that exists).
pub fn set(doc: &mut Value, pointer: &str, v: Value) {
    let mut cur = doc;
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if let Value::Array(items) = cur {
            let Some(item) = part.parse::<usize>().ok().and_then(|k| items.get_mut(k)) else {
                return;
            };
            if last {
                *item = v;
                return;
            }
            cur = item;
            continue;
        }
        if !cur.is_object() {
            *cur = Value::Object(serde_json::Map::new());
        }
        let Value::Object(m) = cur else { return };
        if last {
            m.insert(part.clone(), v);
            return;
        }
        cur = m
            .entry(part.clone())
            .or_insert(Value::Object(serde_json::Map::new()));
    }
}

/// A parameter's short name in ids: `load.` and `stack.` dropped.
pub fn label(name: &str) -> String {
    name.strip_prefix("load.")
        .or_else(|| name.strip_prefix("stack."))
        .unwrap_or(name)
        .to_string()
}

/// A value as ids and tables show it.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A unit-like enum's name as its serde form writes it (`per_stack_change`).
pub fn plain<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A number as ids and texts show it: whole numbers without a fraction, others in at most
/// three decimals.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// Only letters, digits, `.`, `_` and `-`; at most 120 characters.
fn safe(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    s.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params() -> Vec<(String, Vec<Value>)> {
        vec![
            ("load.users".into(), vec![json!(10), json!(50)]),
            ("latency".into(), vec![json!("5ms"), json!("20ms")]),
        ]
    }

    #[test]
    fn combinations_vary_the_first_parameter_slowest() {
        let c = configs(&params());
        let ids: Vec<&str> = c.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "p1-users-10_latency-5ms",
                "p2-users-10_latency-20ms",
                "p3-users-50_latency-5ms",
                "p4-users-50_latency-20ms"
            ]
        );
        assert_eq!(c[3].values["load.users"], json!(50));
        assert_eq!(count(&params(), 3), 12);
    }

    #[test]
    fn shuffled_order_is_fixed_by_its_seed_and_keeps_every_run() {
        let a = schedule(4, 2, Order::Shuffled, 7);
        let b = schedule(4, 2, Order::Shuffled, 7);
        let c = schedule(4, 2, Order::Shuffled, 8);
        let seq = schedule(4, 2, Order::Sequential, 7);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, seq);
        let mut sorted = a.clone();
        sorted.sort_by_key(|s| (s.config, s.rep));
        assert_eq!(sorted, seq);
        // The first two runs of the sequential order are one point's repetitions.
        assert_eq!(seq[0], Slot { config: 0, rep: 1 });
        assert_eq!(seq[1], Slot { config: 0, rep: 2 });
        // Pinned: the order of seed 7 never changes between versions.
        let pinned: Vec<(usize, u32)> = a.iter().map(|s| (s.config, s.rep)).collect();
        assert_eq!(pinned, pinned_order());
    }

    fn pinned_order() -> Vec<(usize, u32)> {
        vec![
            (0, 2),
            (2, 1),
            (2, 2),
            (1, 1),
            (3, 1),
            (0, 1),
            (1, 2),
            (3, 2),
        ]
    }

    #[test]
    fn values_land_in_vars_and_known_places() {
        let mut doc = json!({"load": {"users": 1}, "stack": {"driver": "swarm"}});
        let mut v = serde_json::Map::new();
        v.insert("load.users".into(), json!(40));
        v.insert("latency".into(), json!("5ms"));
        v.insert("stack.replicas.ms-exercise".into(), json!(3));
        apply(&mut doc, &v);
        assert_eq!(doc["load"]["users"], json!(40));
        assert_eq!(doc["vars"]["latency"], json!("5ms"));
        assert_eq!(doc["stack"]["replicas"]["ms-exercise"], json!(3));
        assert_eq!(
            Target::of("stack.replicas.a.b").pointer(),
            "/stack/replicas/a.b"
        );
    }
}
