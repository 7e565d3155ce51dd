//! The committed JSON Schema must equal the one generated from the model types.

use super::root;

#[test]
fn committed_schema_matches_the_types() {
    let generated = soy::manifest::schema::generate_text();
    let committed = std::fs::read_to_string(root().join(soy::manifest::schema::SCHEMA_PATH))
        .unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/experiment.schema.json is out of date with the manifest types; regenerate it with:\n\n    cargo run -q -- schema > schemas/experiment.schema.json\n"
    );
}

#[test]
fn schema_is_a_valid_draft_2020_12_schema() {
    let schema = soy::manifest::schema::generate();
    assert!(jsonschema::meta::is_valid(&schema));
}

#[test]
fn committed_summary_schema_matches_the_types() {
    let generated = soy::report::summary::schema_text();
    let committed = std::fs::read_to_string(root().join(soy::report::summary::SUMMARY_SCHEMA_PATH))
        .unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/summary.schema.json is out of date; regenerate it with:\n\n    cargo run -q -- schema --summary > schemas/summary.schema.json\n"
    );
}

#[test]
fn committed_campaign_schema_matches_the_types() {
    let generated = soy::campaign::record::schema_text();
    let committed = std::fs::read_to_string(root().join(soy::campaign::record::SCHEMA_PATH))
        .unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/campaign.schema.json is out of date; regenerate it with:\n\n    cargo run -q -- schema --campaign > schemas/campaign.schema.json\n"
    );
}
