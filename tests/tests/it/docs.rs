//! What the documents show runs: docs/configuration.md's `FRAUD_CONFIG` examples are each a
//! configuration the edge accepts, one per component; docs/fraud-scoring.md's evidence classes
//! are the code's.

use impressio::fraud::{Component, FraudConfig};

#[test]
fn every_component_has_a_configuration_example_the_edge_accepts() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let examples: Vec<&str> = doc
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(r#"{"components": {"#))
        .collect();
    let mut named = Vec::new();
    for example in &examples {
        FraudConfig::with_override(example).unwrap_or_else(|e| panic!("{example}: {e}"));
        let v: serde_json::Value = serde_json::from_str(example).unwrap();
        named.extend(v["components"].as_object().unwrap().keys().cloned());
    }
    let mut all: Vec<String> = Component::ALL.iter().map(|c| c.name().to_string()).collect();
    all.sort();
    named.sort();
    assert_eq!(named, all, "one example per component in docs/configuration.md");
}

#[test]
fn the_evidence_class_table_is_the_codes_own() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/fraud-scoring.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let section = doc
        .split("## Evidence classes")
        .nth(1)
        .expect("docs/fraud-scoring.md has an Evidence classes section");
    let rows: Vec<(String, String)> = section
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((code.to_string(), cells.get(2)?.to_string()))
        })
        .collect();
    let table: Vec<(String, String)> = impressio::fraud::evidence::REASONS
        .iter()
        .map(|(c, k, _)| (c.to_string(), k.as_str().to_string()))
        .collect();
    assert_eq!(
        rows, table,
        "docs/fraud-scoring.md's evidence table against fraud::evidence::REASONS"
    );
}
