//! The manifest's JSON Schema: generated from the model types, committed as
//! `schemas/experiment.schema.json`, and used to check documents before they are deserialized.

use std::sync::LazyLock;

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use serde_json::Value;

use super::model::Experiment;

/// Where the schema is committed, relative to the repository root.
pub const SCHEMA_PATH: &str = "schemas/experiment.schema.json";

/// The schema as a JSON value.
pub fn generate() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.transforms.push(Box::new(RecursiveTransform(tidy)));
    let schema = settings
        .into_generator()
        .into_root_schema_for::<Experiment>();
    schema.to_value()
}

/// The schema as committed: pretty JSON with a trailing newline.
pub fn generate_text() -> String {
    let mut text = serde_json::to_string_pretty(&generate()).unwrap_or_default();
    text.push('\n');
    text
}

/// Optional fields are left out, never written as `null`: drop `null` from their schemas so
/// `description:` with no value is reported as a missing string rather than accepted.
/// Integer formats also get their upper bound, so `users: 5000000000` fails in the schema.
fn tidy(schema: &mut schemars::Schema) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let max = match obj.get("format").and_then(Value::as_str) {
        Some("uint16") => Some(u64::from(u16::MAX)),
        Some("uint32") => Some(u64::from(u32::MAX)),
        Some("uint64") => Some(u64::MAX),
        _ => None,
    };
    if let Some(max) = max {
        obj.entry("maximum").or_insert(max.into());
    }
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            obj.insert("type".into(), only);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = obj.get(key) {
            let kept: Vec<Value> = branches
                .iter()
                .filter(|b| b.get("type") != Some(&Value::String("null".into())))
                .cloned()
                .collect();
            if kept.len() == 1 && branches.len() == 2 {
                obj.remove(key);
                if let Some(Value::Object(inner)) = kept.into_iter().next() {
                    for (k, v) in inner {
                        obj.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
}

/// The compiled validator, built once.
pub static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&generate())
        .unwrap_or_else(|e| panic!("the generated schema does not compile: {e}"))
});
