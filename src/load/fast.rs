//! Templates soy renders itself, without minijinja: literal text with `{{ name }}`,
//! `{{ name.field }}` and `{{ random(a, b) }}` in it, the forms load scenarios use on every
//! request. Anything else (filters, blocks, other calls, whitespace control) is left to
//! minijinja, and so is any value the fast path cannot find: the error is then minijinja's.
//! The output is the same as minijinja's for the forms accepted (values written with their
//! `Display`, as minijinja writes them without auto-escaping).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use minijinja::Value as JValue;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(String),
    /// A name and the attributes after it.
    Var(Vec<String>),
    Random(i64, i64),
}

/// A template in the fast form.
#[derive(Debug, Clone, PartialEq)]
pub struct Fast(Vec<Piece>);

/// What a request's templates see: the manifest's vars, the user, its iteration and the
/// values it extracted (later ones hide earlier ones, as in the context minijinja gets).
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub vars: &'a BTreeMap<String, JValue>,
    pub index: u64,
    pub iteration: u64,
    pub extracted: &'a BTreeMap<String, JValue>,
}

impl Ctx<'_> {
    /// The context as minijinja's value (for templates the fast path leaves to it).
    pub fn to_value(self) -> JValue {
        let mut map: BTreeMap<String, JValue> = self.vars.clone();
        map.insert(
            "user".into(),
            JValue::from_iter([("index", JValue::from(self.index))]),
        );
        map.insert("iteration".into(), JValue::from(self.iteration));
        for (k, v) in self.extracted {
            map.insert(k.clone(), v.clone());
        }
        JValue::from(map)
    }

    fn lookup(&self, path: &[String]) -> Option<JValue> {
        let (first, rest) = path.split_first()?;
        let mut v = if let Some(v) = self.extracted.get(first) {
            v.clone()
        } else if first == "iteration" {
            JValue::from(self.iteration)
        } else if first == "user" {
            return match rest {
                [f] if f == "index" => Some(JValue::from(self.index)),
                _ => None,
            };
        } else {
            self.vars.get(first)?.clone()
        };
        for attr in rest {
            v = v.get_attr(attr).ok().filter(|x| !x.is_undefined())?;
        }
        (!v.is_undefined()).then_some(v)
    }
}

/// Template names minijinja auto-escapes by their ending (its default callback): the fast
/// path does not escape, so it leaves those to minijinja.
const ESCAPED_ENDINGS: [&str; 8] = [
    ".html", ".htm", ".xml", ".json", ".json5", ".js", ".yaml", ".yml",
];

fn ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

fn expression(e: &str) -> Option<Piece> {
    let e = e.trim();
    if let Some(args) = e
        .strip_prefix("random")
        .map(str::trim_start)
        .and_then(|a| a.strip_prefix('('))
        .and_then(|a| a.strip_suffix(')'))
    {
        let (a, b) = args.split_once(',')?;
        return Some(Piece::Random(
            a.trim().parse().ok()?,
            b.trim().parse().ok()?,
        ));
    }
    let parts: Vec<&str> = e.split('.').collect();
    if parts.iter().all(|p| ident(p)) && !matches!(parts[0], "true" | "false" | "none") {
        return Some(Piece::Var(parts.into_iter().map(String::from).collect()));
    }
    None
}

/// The fast form of a template source, when it has one.
pub fn compile(src: &str) -> Option<Fast> {
    if src.ends_with('\n') || ESCAPED_ENDINGS.iter().any(|e| src.ends_with(e)) {
        return None;
    }
    let mut pieces = Vec::new();
    let mut rest = src;
    while !rest.is_empty() {
        let (lit, after) = match rest.find("{{") {
            Some(i) => (&rest[..i], Some(&rest[i + 2..])),
            None => (rest, None),
        };
        if lit.contains("{%") || lit.contains("{#") || lit.contains("}}") {
            return None;
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit.to_string()));
        }
        let Some(after) = after else { break };
        let end = after.find("}}")?;
        let inner = &after[..end];
        if inner.starts_with(['-', '+']) || inner.ends_with(['-', '+']) || inner.contains('{') {
            return None;
        }
        pieces.push(expression(inner)?);
        rest = &after[end + 2..];
    }
    Some(Fast(pieces))
}

impl Fast {
    /// Appends the rendering to `out`; `false` (and `out` as it was) when a value is not
    /// found or a bound is wrong: minijinja then renders it, and says what is wrong.
    pub fn render(&self, ctx: &Ctx<'_>, out: &mut String) -> bool {
        let at = out.len();
        for p in &self.0 {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Var(path) => match ctx.lookup(path) {
                    Some(v) => {
                        let _ = write!(out, "{v}");
                    }
                    None => {
                        out.truncate(at);
                        return false;
                    }
                },
                Piece::Random(a, b) => match super::functions::random(*a, *b) {
                    Some(n) => {
                        let _ = write!(out, "{n}");
                    }
                    None => {
                        out.truncate(at);
                        return false;
                    }
                },
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> minijinja::Environment<'static> {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        super::super::functions::register(&mut env);
        env
    }

    #[test]
    fn the_fast_form_renders_as_minijinja_does() {
        let vars: BTreeMap<String, JValue> = [
            ("base".to_string(), JValue::from("/api")),
            (
                "cfg".to_string(),
                JValue::from_serialize(serde_json::json!({"region": "eu", "n": 3, "f": 1.5})),
            ),
            ("token".to_string(), JValue::from("from-vars")),
        ]
        .into_iter()
        .collect();
        let extracted: BTreeMap<String, JValue> = [
            ("token".to_string(), JValue::from("abc123")),
            ("id".to_string(), JValue::from(7)),
            ("price".to_string(), JValue::from(2.50)),
            ("nothing".to_string(), JValue::from(())),
        ]
        .into_iter()
        .collect();
        let ctx = Ctx {
            vars: &vars,
            index: 12,
            iteration: 3,
            extracted: &extracted,
        };
        let env = env();
        for src in [
            "Bearer {{ token }}",
            "{{base}}/items/{{ id }}?u={{ user.index }}&i={{iteration}}",
            "{{ cfg.region }}-{{ cfg.n }}-{{ cfg.f }}-{{ price }}",
            "plain",
            "{{ nothing }}",
            "a}b{c",
        ] {
            let fast = compile(src).unwrap_or_else(|| panic!("`{src}` has a fast form"));
            let mut out = String::from("keep:");
            assert!(fast.render(&ctx, &mut out), "{src}");
            let slow = env.render_str(src, ctx.to_value()).unwrap();
            assert_eq!(out, format!("keep:{slow}"), "{src}");
        }
        // random() draws from the same generator, in the bounds.
        let fast = compile("/json?id={{ random(1, 500) }}").unwrap();
        for _ in 0..200 {
            let mut out = String::new();
            assert!(fast.render(&ctx, &mut out));
            let n: i64 = out.strip_prefix("/json?id=").unwrap().parse().unwrap();
            assert!((1..=500).contains(&n));
        }
        // What is not found, or a wrong bound, is left to minijinja (and its error).
        for src in [
            "{{ missing }}",
            "{{ cfg.nope }}",
            "{{ random(5, 1) }}",
            "{{ user }}",
        ] {
            let mut out = String::from("x");
            assert!(!compile(src).unwrap().render(&ctx, &mut out), "{src}");
            assert_eq!(out, "x");
        }
    }

    #[test]
    fn other_forms_are_left_to_minijinja() {
        for src in [
            "{{ token | upper }}",
            "{% if a %}x{% endif %}",
            "{# c #}",
            "{{- token }}",
            "{{ uuid() }}",
            "{{ a + 1 }}",
            "{{ 'lit' }}",
            "/page/{{ id }}.html",
            "line\n",
            "{{ token",
            "{{ true }}",
        ] {
            assert!(compile(src).is_none(), "{src}");
        }
    }
}
