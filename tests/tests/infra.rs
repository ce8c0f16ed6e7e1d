//! The infrastructure files agree with each other and with real tool output:
//! `template.yaml`'s table is the one in `infra/dynamodb/table.json`, and the CloudFront
//! request events `sam local generate-event cloudfront` produces are accepted.

use std::process::Command;

use integration_tests::harness::{AnswerShape, Harness};
use integration_tests::table::TableDefinition;
use integration_tests::workspace_root;

#[test]
fn template_table_matches_the_infra_definition() {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut props = template["Resources"]["EventsTable"]["Properties"].clone();
    let map = props.as_mapping_mut().expect("EventsTable has Properties");
    // Properties that are deployment settings rather than the table's shape.
    for key in [
        "TableName",
        "PointInTimeRecoverySpecification",
        "SSESpecification",
        "DeletionProtectionEnabled",
        "Tags",
    ] {
        map.remove(key);
    }
    let from_template: TableDefinition =
        serde_yaml_ng::from_value(props).expect("template table has only known properties");
    assert_eq!(from_template, TableDefinition::load().unwrap());
}

fn sam() -> String {
    std::env::var("SAM_CLI").unwrap_or_else(|_| workspace_root().join(".venv/bin/sam").display().to_string())
}

#[tokio::test]
async fn sam_generated_cloudfront_request_events_are_accepted() {
    let help = Command::new(sam())
        .args(["local", "generate-event", "cloudfront", "--help"])
        .output()
        .expect("the SAM CLI runs (scripts/setup.sh installs it into .venv)");
    let help = String::from_utf8_lossy(&help.stdout);
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .expect("a command list")
        .lines()
        .filter_map(|l| l.strip_prefix("  ").filter(|rest| !rest.starts_with(' ')))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'))
        .collect();
    assert!(commands.len() >= 5, "too few templates: {commands:?}");
    let h = Harness::new().await;
    let mut requests = 0;
    for c in commands {
        let out = Command::new(sam())
            .args(["local", "generate-event", "cloudfront", c])
            .output()
            .unwrap();
        assert!(out.status.success(), "{c}: {}", String::from_utf8_lossy(&out.stderr));
        let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let cf = &event["Records"][0]["cf"];
        let answer = h.invoke(&event.to_string()).await;
        assert_eq!(answer.shape, AnswerShape::CloudFront, "{c}");
        if cf.get("request").is_some() && cf.get("response").is_none() {
            requests += 1;
            assert!(answer.status < 500, "{c}: {}", answer.status);
            let body = String::from_utf8_lossy(&answer.body);
            assert!(!body.contains("malformed_event"), "{c} must parse: {body}");
        } else {
            assert_eq!(answer.status, 400, "{c} is a response event, not a request");
        }
    }
    assert!(requests >= 5, "only {requests} request templates");
}
