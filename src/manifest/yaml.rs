//! YAML source text to a JSON value plus a map of where every node came from.
//!
//! soy parses YAML with `yaml-rust2`'s event parser rather than through serde, so that every
//! key and value keeps its exact `line:column` in the source, duplicate keys are caught, and
//! nesting depth and alias expansion are bounded before anything recursive runs.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::pointer::Pointer;

/// Deepest nesting accepted: real manifests stay under ten levels.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to (aliases included), against "billion laughs" files.
pub const MAX_NODES: usize = 200_000;

/// A place in the source: 1-based line and column (in characters), and a width for the caret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    pub len: usize,
}

impl Pos {
    pub fn new(line: usize, col: usize, len: usize) -> Self {
        Pos {
            line,
            col,
            len: len.max(1),
        }
    }
}

/// Where one node sits in the source: its value, and its key when it is a mapping entry.
#[derive(Debug, Clone, Copy)]
pub struct NodeSpan {
    pub value: Pos,
    pub key: Option<Pos>,
}

/// Positions of every node, keyed by JSON pointer (`/load/shape/stages/2/users`).
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    spans: HashMap<String, NodeSpan>,
}

impl SourceMap {
    /// Where the value at `pointer` starts, falling back to its nearest ancestor.
    pub fn value_pos(&self, pointer: &str) -> Option<Pos> {
        self.lookup(pointer).map(|s| s.value)
    }

    /// Where the key of the entry at `pointer` is, else where its value is.
    pub fn key_pos(&self, pointer: &str) -> Option<Pos> {
        self.lookup(pointer).map(|s| s.key.unwrap_or(s.value))
    }

    /// Points the value at `pointer` (and everything under it) at `at`: a campaign sets a
    /// point's values there, and a problem with one should show where it was written.
    pub fn redirect(&mut self, pointer: &str, at: Pos) {
        let under = format!("{pointer}/");
        self.spans.retain(|k, _| !k.starts_with(&under));
        let key = self.spans.get(pointer).and_then(|s| s.key);
        self.spans.insert(
            pointer.to_string(),
            NodeSpan {
                value: at,
                key: key.or(Some(at)),
            },
        );
    }

    fn lookup(&self, pointer: &str) -> Option<&NodeSpan> {
        let mut p = pointer;
        loop {
            if let Some(span) = self.spans.get(p) {
                return Some(span);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }
}

/// A problem found while reading YAML, with the place it points at.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub pos: Pos,
    pub pointer: String,
    pub message: String,
    pub help: Option<String>,
}

/// Parses one YAML document into a JSON value and its source map.
pub fn parse(source: &str) -> Result<(Value, SourceMap), YamlError> {
    Builder::new(source).run()
}

/// Parses a Compose file: as `parse`, but integers written with a leading zero are octal
/// (`mode: 0440`), as Docker's YAML reader takes them.
pub fn parse_compose(source: &str) -> Result<(Value, SourceMap), YamlError> {
    let mut b = Builder::new(source);
    b.leading_zero_octal = true;
    b.run()
}

enum Frame {
    Seq {
        items: Vec<Value>,
        pointer: Pointer,
        anchor: usize,
    },
    Map {
        entries: Map<String, Value>,
        pointer: Pointer,
        anchor: usize,
        pending_key: Option<(String, Pos)>,
        keys: HashMap<String, Pos>,
    },
}

struct Builder<'a> {
    source: &'a str,
    lines: Vec<&'a str>,
    map: SourceMap,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    root: Option<Value>,
    /// `0440` is octal (YAML 1.1), for Compose files.
    leading_zero_octal: bool,
}

impl<'a> Builder<'a> {
    fn new(source: &'a str) -> Self {
        Builder {
            source,
            lines: source.lines().collect(),
            map: SourceMap::default(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            root: None,
            leading_zero_octal: false,
        }
    }

    fn run(mut self) -> Result<(Value, SourceMap), YamlError> {
        let mut parser = Parser::new_from_str(self.source);
        let mut documents = 0;
        loop {
            let (event, mark) = parser.next_token().map_err(|e| {
                let m = *e.marker();
                let mut err =
                    self.error_at(self.pos(m, 1), "", format!("invalid YAML: {}", e.info()));
                if e.info().contains("recursion limit") {
                    err.message = "nesting too deep for a manifest".into();
                    err.help = Some(
                        "a manifest never needs this much nesting; is the file generated?".into(),
                    );
                }
                err
            })?;
            match event {
                Event::StreamEnd => break,
                Event::DocumentStart => {
                    documents += 1;
                    if documents > 1 {
                        return Err(self.error_at(
                            self.pos(mark, 3),
                            "",
                            "a second YAML document: a manifest holds exactly one".into(),
                        ));
                    }
                }
                Event::Scalar(text, style, anchor, tag) => {
                    let pos = self.scalar_pos(mark, &text, style);
                    self.scalar(text, style, anchor, tag, pos)?;
                }
                Event::SequenceStart(anchor, tag) => {
                    self.check_tag(&tag, mark)?;
                    let pos = self.pos(mark, 1);
                    let pointer = self.open_child(pos)?;
                    self.stack.push(Frame::Seq {
                        items: Vec::new(),
                        pointer,
                        anchor,
                    });
                }
                Event::MappingStart(anchor, tag) => {
                    self.check_tag(&tag, mark)?;
                    let pos = self.pos(mark, 1);
                    let pointer = self.open_child(pos)?;
                    self.stack.push(Frame::Map {
                        entries: Map::new(),
                        pointer,
                        anchor,
                        pending_key: None,
                        keys: HashMap::new(),
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let (value, anchor) = match self.stack.pop() {
                        Some(Frame::Seq { items, anchor, .. }) => (Value::Array(items), anchor),
                        Some(Frame::Map {
                            mut entries,
                            anchor,
                            pointer,
                            ..
                        }) => {
                            self.merge_keys(&mut entries, &pointer, mark)?;
                            (Value::Object(entries), anchor)
                        }
                        None => continue,
                    };
                    if anchor != 0 {
                        let size = count_nodes(&value);
                        self.anchors.insert(anchor, (value.clone(), size));
                    }
                    self.attach(value);
                }
                Event::Alias(id) => {
                    let pos = self.pos(mark, 1);
                    let (value, size) = self.anchors.get(&id).unwrap_or(&(Value::Null, 1));
                    self.nodes += size;
                    self.check_budget(pos)?;
                    let value = value.clone();
                    self.place(value, pos)?;
                }
                Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
            }
        }
        Ok((self.root.unwrap_or(Value::Null), self.map))
    }

    /// Applies a `<<` merge key (YAML 1.1, as Docker Compose and most YAML tools read it):
    /// the mapping, or each mapping of a list, fills in the keys not set explicitly (earlier
    /// mappings of a list win). Merged entries point at the `<<` line in the source map.
    fn merge_keys(
        &mut self,
        entries: &mut Map<String, Value>,
        pointer: &Pointer,
        mark: Marker,
    ) -> Result<(), YamlError> {
        let Some(merge) = entries.shift_remove("<<") else {
            return Ok(());
        };
        let at = pointer.key("<<").to_string();
        let span = self.map.spans.get(&at).copied();
        let not_mapping = |pos: Pos| YamlError {
            pos,
            pointer: at.clone(),
            message: "`<<` merges a mapping or a list of mappings".into(),
            help: Some("write `<<: *anchor` where `&anchor` names a mapping".into()),
        };
        let pos = span.map_or_else(|| self.pos(mark, 1), |s| s.key.unwrap_or(s.value));
        let sources = match merge {
            Value::Object(m) => vec![m],
            Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::Object(m) => Ok(m),
                    _ => Err(not_mapping(pos)),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(not_mapping(pos)),
        };
        for source in sources {
            for (k, v) in source {
                if entries.contains_key(&k) {
                    continue;
                }
                if let Some(span) = span {
                    self.map.spans.insert(pointer.key(&k).to_string(), span);
                }
                entries.insert(k, v);
            }
        }
        Ok(())
    }

    /// Converts a scanner marker (1-based line, 0-based column) to a `Pos`.
    fn pos(&self, m: Marker, len: usize) -> Pos {
        Pos::new(m.line().max(1), m.col() + 1, len)
    }

    fn scalar_pos(&self, m: Marker, text: &str, style: TScalarStyle) -> Pos {
        let len = match style {
            TScalarStyle::Plain => text.chars().count(),
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => text.chars().count() + 2,
            _ => 1,
        };
        // Never run the caret past the end of the line it starts on.
        let line_len = self
            .lines
            .get(m.line().saturating_sub(1))
            .map_or(0, |l| l.chars().count());
        let room = line_len.saturating_sub(m.col()).max(1);
        self.pos(m, len.min(room))
    }

    fn error_at(&self, pos: Pos, pointer: &str, message: String) -> YamlError {
        YamlError {
            pos,
            pointer: pointer.to_string(),
            message,
            help: None,
        }
    }

    fn check_tag(&self, tag: &Option<Tag>, mark: Marker) -> Result<(), YamlError> {
        match tag {
            Some(t) if !(t.handle == "tag:yaml.org,2002:" || t.handle == "!!") => Err(self
                .error_at(
                    self.pos(mark, 1),
                    "",
                    format!(
                        "unsupported YAML tag `{}{}`: soy manifests use plain YAML",
                        t.handle, t.suffix
                    ),
                )),
            _ => Ok(()),
        }
    }

    fn check_budget(&self, pos: Pos) -> Result<(), YamlError> {
        if self.nodes > MAX_NODES {
            return Err(self.error_at(
                pos,
                "",
                format!("the document expands to more than {MAX_NODES} nodes (through aliases?)"),
            ));
        }
        Ok(())
    }

    /// The pointer a new child node will have, after checking depth and duplicate keys.
    fn open_child(&mut self, pos: Pos) -> Result<Pointer, YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError {
                pos,
                pointer: String::new(),
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
                help: Some(
                    "a manifest never needs this much nesting; is the file generated?".into(),
                ),
            });
        }
        self.nodes += 1;
        self.check_budget(pos)?;
        let (pointer, key_pos) = match self.stack.last_mut() {
            None => (Pointer::root(), None),
            Some(Frame::Seq { items, pointer, .. }) => (pointer.index(items.len()), None),
            Some(Frame::Map {
                pointer,
                pending_key,
                ..
            }) => match pending_key {
                Some((key, kpos)) => (pointer.key(key), Some(*kpos)),
                None => {
                    return Err(YamlError {
                        pos,
                        pointer: pointer.to_string(),
                        message: "a mapping or list used as a key".into(),
                        help: Some("keys in a manifest are plain strings".into()),
                    });
                }
            },
        };
        self.map.spans.insert(
            pointer.to_string(),
            NodeSpan {
                value: pos,
                key: key_pos,
            },
        );
        Ok(pointer)
    }

    fn scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<Tag>,
        pos: Pos,
    ) -> Result<(), YamlError> {
        // A scalar in key position of a mapping becomes the pending key.
        if let Some(Frame::Map {
            pending_key: pending @ None,
            keys,
            pointer,
            ..
        }) = self.stack.last_mut()
        {
            if let Some(first) = keys.get(&text) {
                return Err(YamlError {
                    pos,
                    pointer: pointer.key(&text).to_string(),
                    message: format!("duplicate key `{text}`"),
                    help: Some(format!(
                        "`{text}` is first set on line {}; a key may appear once per mapping",
                        first.line
                    )),
                });
            }
            keys.insert(text.clone(), pos);
            *pending = Some((text, pos));
            return Ok(());
        }
        let value = scalar_value(&text, style, tag.as_ref())
            .map_err(|message| self.error_at(pos, "", message))?;
        let value = match (&value, self.leading_zero_octal, style) {
            (Value::Number(_), true, TScalarStyle::Plain) => {
                leading_zero_octal(&text).unwrap_or(value)
            }
            _ => value,
        };
        self.nodes += 1;
        self.check_budget(pos)?;
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), 1));
        }
        self.place(value, pos)
    }

    /// Records a leaf (scalar or alias) and attaches it to its parent.
    fn place(&mut self, value: Value, pos: Pos) -> Result<(), YamlError> {
        self.open_child(pos)?;
        self.attach(value);
        Ok(())
    }

    fn attach(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(value);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => {
                if let Some((key, _)) = pending_key.take() {
                    entries.insert(key, value);
                }
            }
        }
    }
}

fn count_nodes(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count_nodes).sum::<usize>(),
        Value::Object(o) => 1 + o.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

/// Resolves a scalar by the YAML 1.2 core schema: `yes`/`no`/`on` stay strings.
fn scalar_value(text: &str, style: TScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(tag) = tag {
        if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" {
            return match tag.suffix.as_str() {
                "str" => Ok(Value::String(text.to_string())),
                "int" | "float" | "bool" | "null" => Ok(plain_value(text)),
                other => Err(format!("unsupported YAML tag `!!{other}`")),
            };
        }
        return Err(format!(
            "unsupported YAML tag `{}{}`: soy manifests use plain YAML",
            tag.handle, tag.suffix
        ));
    }
    Ok(match style {
        TScalarStyle::Plain => plain_value(text),
        _ => Value::String(text.to_string()),
    })
}

fn plain_value(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "-.inf" | ".nan" | ".NaN" | ".NAN" => {
            // JSON has no infinities: keep the text so the schema reports the type clearly.
            return Value::String(text.to_string());
        }
        _ => {}
    }
    let looks_numeric = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+' || c == '.');
    if looks_numeric {
        let digits = text.strip_prefix('+').unwrap_or(text);
        if let Some(hex) = digits.strip_prefix("0x") {
            if let Ok(i) = i64::from_str_radix(hex, 16) {
                return Value::Number(i.into());
            }
        } else if let Some(oct) = digits.strip_prefix("0o") {
            if let Ok(i) = i64::from_str_radix(oct, 8) {
                return Value::Number(i.into());
            }
        } else if let Ok(i) = digits.parse::<i64>() {
            return Value::Number(i.into());
        } else if let Ok(u) = digits.parse::<u64>() {
            return Value::Number(u.into());
        } else if is_yaml_float(digits) {
            if let Some(n) = digits.parse::<f64>().ok().and_then(Number::from_f64) {
                return Value::Number(n);
            }
        }
    }
    Value::String(text.to_string())
}

/// `0440` as the octal number 288, YAML 1.1's reading.
fn leading_zero_octal(text: &str) -> Option<Value> {
    let digits = text.strip_prefix('0')?;
    if digits.is_empty() || !digits.chars().all(|c| ('0'..='7').contains(&c)) {
        return None;
    }
    i64::from_str_radix(digits, 8)
        .ok()
        .map(|i| Value::Number(i.into()))
}

/// YAML 1.2 core float: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_yaml_float(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (a.chars().all(|c| c.is_ascii_digit()) && b.chars().all(|c| c.is_ascii_digit()))
                && !(a.is_empty() && b.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.chars().all(|c| c.is_ascii_digit()),
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_exact() {
        let src = "a: 1\nb:\n  c: [x, yy]\n";
        let (v, map) = parse(src).unwrap();
        assert_eq!(v["b"]["c"][1], "yy");
        assert_eq!(map.value_pos("/a"), Some(Pos::new(1, 4, 1)));
        assert_eq!(map.key_pos("/b/c"), Some(Pos::new(3, 3, 1)));
        assert_eq!(map.value_pos("/b/c/1"), Some(Pos::new(3, 10, 2)));
    }

    #[test]
    fn core_schema_scalars() {
        let (v, _) = parse("a: yes\nb: 1.5\nc: 0x10\nd: '3'\ne: ~\nf: 1e3\ng: 1_000").unwrap();
        assert_eq!(v["a"], "yes");
        assert_eq!(v["b"], 1.5);
        assert_eq!(v["c"], 16);
        assert_eq!(v["d"], "3");
        assert_eq!(v["e"], Value::Null);
        assert_eq!(v["f"], 1000.0);
        assert_eq!(v["g"], "1_000");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.pos.line, 3);
        assert!(err.message.contains("duplicate key `a`"));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let src = "[".repeat(10_000) + &"]".repeat(10_000);
        let err = parse(&src).unwrap_err();
        assert!(err.message.contains("nesting"), "{}", err.message);
    }

    #[test]
    fn merge_keys_fill_in_what_is_not_set() {
        let (v, map) = parse(
            "x-base: &base\n  image: app\n  environment: {A: '1'}\nx-more: &more {user: me, image: other}\nservices:\n  web:\n    <<: [*base, *more]\n    image: web\n  api:\n    <<: *base\n",
        )
        .unwrap();
        let web = &v["services"]["web"];
        assert_eq!(web["image"], "web");
        assert_eq!(web["user"], "me");
        assert_eq!(web["environment"]["A"], "1");
        assert!(web.get("<<").is_none());
        assert_eq!(v["services"]["api"]["image"], "app");
        // A merged entry points at its `<<` line.
        assert_eq!(map.key_pos("/services/api/image").map(|p| p.line), Some(10));
        let e = parse("a: &a [1]\nb:\n  <<: *a\n").unwrap_err();
        assert!(e.message.contains("`<<` merges a mapping"), "{e:?}");
    }

    #[test]
    fn compose_reads_leading_zero_integers_as_octal() {
        assert_eq!(parse_compose("mode: 0440\n").unwrap().0["mode"], 288);
        assert_eq!(parse_compose("mode: '0440'\n").unwrap().0["mode"], "0440");
        assert_eq!(parse_compose("n: 0\nm: 089\n").unwrap().0["n"], 0);
        assert_eq!(parse("mode: 0440\n").unwrap().0["mode"], 440);
    }

    #[test]
    fn aliases_expand_within_budget() {
        let (v, _) = parse("a: &x {k: 1}\nb: *x\n").unwrap();
        assert_eq!(v["b"]["k"], 1);
        let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            laughs += &format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            );
        }
        assert!(parse(&laughs).unwrap_err().message.contains("expands"));
    }
}
