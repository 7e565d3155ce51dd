//! JSON Schema validation of a parsed manifest, turned into diagnostics people can act on.
//!
//! The `jsonschema` crate reports every violation at once; this module rewrites its messages
//! into "expected X, found Y" form, points each at its YAML source position, suggests the
//! nearest valid key or value, and resolves `oneOf` failures of tagged enums (`kind: ramp`) to
//! the errors of the variant the user chose.

use std::sync::LazyLock;

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use super::diagnostic::{Diagnostic, did_you_mean};
use super::pointer::Pointer;
use super::yaml::SourceMap;
use super::{duration, model, schema, threshold};

static SCHEMA: LazyLock<Value> = LazyLock::new(schema::generate);

/// Checks `doc` against the manifest schema.
pub fn check(doc: &Value, map: &SourceMap) -> Vec<Diagnostic> {
    let cx = Cx { doc, map };
    let mut out = Vec::new();
    for err in schema::VALIDATOR.iter_errors(doc) {
        cx.convert(&err, &mut out);
    }
    out
}

struct Cx<'a> {
    doc: &'a Value,
    map: &'a SourceMap,
}

impl Cx<'_> {
    fn convert(&self, err: &ValidationError<'_>, out: &mut Vec<Diagnostic>) {
        let ptr = err.instance_path().to_string();
        let path = Pointer::parse(&ptr, self.doc);
        let instance = self.doc.pointer(&ptr).unwrap_or(&Value::Null);
        let at_value =
            |message: String| Diagnostic::new(self.map.value_pos(&ptr), path.dotted(), message);
        let schema_node = parent_schema(&err.schema_path().to_string());
        let diag = match err.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed = property_names(schema_node);
                for key in unexpected {
                    let child = path.key(key);
                    let mut d = Diagnostic::new(
                        self.map.key_pos(&child.to_string()),
                        child.dotted(),
                        format!("unknown key `{key}` in {}", describe_place(&path)),
                    );
                    d.help = Some(
                        match did_you_mean(key, allowed.iter().map(String::as_str)) {
                            Some(near) => format!("did you mean `{near}`?"),
                            None => format!("valid keys here: {}", quote_list(&allowed)),
                        },
                    );
                    out.push(d);
                }
                return;
            }
            ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::AnyOf { context } => {
                self.one_of(err, schema_node, context, &path, instance, out);
                return;
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                let pos = if ptr.is_empty() {
                    first_key_pos(self.doc, self.map)
                } else {
                    self.map.key_pos(&ptr)
                };
                let mut d = Diagnostic::new(
                    pos,
                    path.dotted(),
                    format!("missing required key `{name}` in {}", describe_place(&path)),
                );
                if let Some(desc) = schema_node
                    .and_then(|s| s.pointer(&format!("/properties/{name}/description")))
                    .and_then(Value::as_str)
                {
                    d.help = Some(format!("`{name}`: {}", first_sentence(desc)));
                }
                d
            }
            ValidationErrorKind::Type { kind } => at_value(format!(
                "expected {}, found {}",
                type_names(kind),
                describe_value(instance)
            )),
            ValidationErrorKind::Constant { expected_value } => {
                let mut d = at_value(format!(
                    "expected {}, found {}",
                    show(expected_value),
                    describe_value(instance)
                ));
                if path.last_key() == Some("apiVersion") {
                    d.help = Some(format!(
                        "this soy reads `apiVersion: {}`",
                        model::API_VERSION
                    ));
                }
                d
            }
            ValidationErrorKind::Enum { options } => {
                let names: Vec<String> = options
                    .as_array()
                    .map(|a| a.iter().map(show_plain).collect())
                    .unwrap_or_default();
                self.not_one_of(&path, &names, instance)
            }
            ValidationErrorKind::Minimum { limit } => at_value(format!(
                "expected a value of at least {limit}, found {}",
                describe_value(instance)
            )),
            ValidationErrorKind::ExclusiveMinimum { limit } => at_value(format!(
                "expected a value greater than {limit}, found {}",
                describe_value(instance)
            )),
            ValidationErrorKind::Maximum { limit } => at_value(format!(
                "expected a value of at most {limit}, found {}",
                describe_value(instance)
            )),
            ValidationErrorKind::ExclusiveMaximum { limit } => at_value(format!(
                "expected a value less than {limit}, found {}",
                describe_value(instance)
            )),
            ValidationErrorKind::MinItems { limit } => at_value(format!(
                "expected at least {limit} item{}, found {}",
                if *limit == 1 { "" } else { "s" },
                instance.as_array().map_or(0, Vec::len)
            )),
            ValidationErrorKind::MinLength { limit } => at_value(format!(
                "expected at least {limit} character{}, found {}",
                if *limit == 1 { "" } else { "s" },
                describe_value(instance)
            )),
            ValidationErrorKind::MaxLength { limit } => at_value(format!(
                "expected at most {limit} characters, found {}",
                describe_value(instance)
            )),
            ValidationErrorKind::Pattern { pattern } => {
                at_value(pattern_message(pattern, instance))
            }
            _ => at_value(err.to_string()),
        };
        out.push(diag);
    }

    /// `found` at `path` is none of `values`: say which are allowed, and the likeliest one.
    fn not_one_of(&self, path: &Pointer, values: &[String], found: &Value) -> Diagnostic {
        let mut d = Diagnostic::new(
            self.map.value_pos(&path.to_string()),
            path.dotted(),
            format!(
                "expected one of {}, found {}",
                quote_list(values),
                describe_value(found)
            ),
        );
        d.help = found
            .as_str()
            .and_then(|s| did_you_mean(s, values.iter().map(String::as_str)))
            .map(|near| format!("did you mean `{near}`?"));
        d
    }

    /// A value matched none of a `oneOf`: for tagged enums, report against the chosen variant.
    fn one_of(
        &self,
        err: &ValidationError<'_>,
        node: Option<&Value>,
        context: &[Vec<ValidationError<'static>>],
        path: &Pointer,
        instance: &Value,
        out: &mut Vec<Diagnostic>,
    ) {
        let ptr = path.to_string();
        let branches = node
            .and_then(|n| n.get("oneOf").or_else(|| n.get("anyOf")))
            .and_then(Value::as_array);
        let tag = branches.and_then(|b| tag_of(b));
        if let (Some((tag, values)), Some(obj)) = (tag.clone(), instance.as_object()) {
            let place = describe_place(path);
            match obj.get(&tag) {
                None => {
                    let d = Diagnostic::new(
                        self.map.key_pos(&ptr),
                        path.dotted(),
                        format!("missing required key `{tag}` in {place}"),
                    )
                    .with_help(format!("`{tag}` is one of {}", quote_list(&values)));
                    out.push(d);
                }
                Some(chosen) => match values
                    .iter()
                    .position(|v| Some(v.as_str()) == chosen.as_str())
                {
                    Some(i) => {
                        for e in context.get(i).into_iter().flatten() {
                            self.convert(e, out);
                        }
                    }
                    None => out.push(self.not_one_of(&path.key(&tag), &values, chosen)),
                },
            }
            return;
        }
        if let Some(values) = branches.and_then(|b| constants(b)) {
            out.push(self.not_one_of(path, &values, instance));
            return;
        }
        if tag.is_some() {
            out.push(Diagnostic::new(
                self.map.value_pos(&ptr),
                path.dotted(),
                format!("expected a mapping, found {}", describe_value(instance)),
            ));
            return;
        }
        // Untagged alternatives: report the branch that got furthest.
        match context
            .iter()
            .min_by_key(|errs| (errs.iter().map(|e| usize::MAX - depth(e)).min(), errs.len()))
        {
            Some(best) if !best.is_empty() => {
                for e in best {
                    self.convert(e, out);
                }
            }
            _ => out.push(Diagnostic::new(
                self.map.value_pos(&ptr),
                path.dotted(),
                err.to_string(),
            )),
        }
    }
}

/// Where the document's first key is: the place to point at for the top level as a whole.
fn first_key_pos(doc: &Value, map: &SourceMap) -> Option<super::yaml::Pos> {
    let key = doc.as_object()?.keys().next()?;
    map.key_pos(&Pointer::root().key(key).to_string())
}

fn depth(e: &ValidationError<'_>) -> usize {
    e.instance_path().to_string().matches('/').count()
}

/// The schema object holding the keyword at `schema_path` (`/$defs/Load/additionalProperties`).
fn parent_schema(schema_path: &str) -> Option<&'static Value> {
    let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
    SCHEMA.pointer(parent)
}

fn property_names(node: Option<&Value>) -> Vec<String> {
    node.and_then(|n| n.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// The values of an enum whose variants are documented (`oneOf` of `const`s), if it is one.
fn constants(branches: &[Value]) -> Option<Vec<String>> {
    branches
        .iter()
        .map(|b| {
            b.get("const").map(show_plain).or_else(|| {
                b.get("enum")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(show_plain).collect::<Vec<_>>().join("`, `"))
            })
        })
        .collect()
}

/// The tag key of a tagged enum's branches (`kind`, `driver`) and each branch's tag value.
fn tag_of(branches: &[Value]) -> Option<(String, Vec<String>)> {
    let mut tag = None;
    let mut values = Vec::new();
    for b in branches {
        let props = b.get("properties")?.as_object()?;
        let (k, v) = props
            .iter()
            .find_map(|(k, v)| v.get("const").and_then(Value::as_str).map(|c| (k, c)))?;
        if tag.get_or_insert_with(|| k.clone()) != k {
            return None;
        }
        values.push(v.to_string());
    }
    tag.map(|t| (t, values))
}

fn describe_place(path: &Pointer) -> String {
    let dotted = path.dotted();
    if dotted == "(root)" {
        "the top level".into()
    } else {
        format!("`{dotted}`")
    }
}

fn type_names(kind: &TypeKind) -> String {
    let name = |t: &str| match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "true or false",
        "null" => "nothing",
        _ => "a value",
    };
    match kind {
        TypeKind::Single(t) => name(&t.to_string()).to_string(),
        TypeKind::Multiple(set) => {
            let names: Vec<&str> = set.iter().map(|t| name(&t.to_string())).collect();
            names.join(" or ")
        }
    }
}

/// How a found value is named in messages: `the string "x"`, `-5`, `a list`.
fn describe_value(v: &Value) -> String {
    match v {
        Value::Null => "nothing (an empty value)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("`{}`", truncate(s, 60)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    } else {
        s.to_string()
    }
}

fn show(v: &Value) -> String {
    format!("`{}`", show_plain(v))
}

fn show_plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn quote_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn first_sentence(s: &str) -> &str {
    s.split_once(". ")
        .map_or(s, |(a, _)| a)
        .trim_end_matches('.')
}

fn pattern_message(pattern: &str, instance: &Value) -> String {
    let found = describe_value(instance);
    let expected = match pattern {
        duration::PATTERN => "a duration such as `90s`, `5m`, `1h30m` or `250ms`",
        threshold::PATTERN => "a number, a duration such as `250ms`, or a percentage such as `1%`",
        model::QUERY_STAT_PATTERN => "`mean`, `max`, `min`, `last` or a percentile such as `p95`",
        r"^[A-Za-z0-9][A-Za-z0-9._-]*$" => {
            "a name of letters, digits, `.`, `_` and `-`, starting with a letter or digit"
        }
        r"^[A-Za-z_][A-Za-z0-9_]*$" => {
            "a name of letters, digits and `_`, not starting with a digit"
        }
        _ => return format!("expected text matching `{pattern}`, found {found}"),
    };
    format!("expected {expected}, found {found}")
}
