//! What the documents show runs: docs/configuration.md's `FRAUD_CONFIG` examples are each a
//! configuration the edge accepts, one per component.

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
