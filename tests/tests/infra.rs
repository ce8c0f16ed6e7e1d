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

/// The deployment settings the issue asks of the table and the distribution, read from the
/// template: point-in-time recovery, encryption, deletion protection as a parameter, the
/// viewer headers forwarded by the dynamic behavior's two policies (each within CloudFront's
/// quota of 10 headers), the bundles cached and everything else never cached, the secret
/// origin header, and the outputs.
#[test]
fn template_deploys_the_table_and_the_distribution_as_documented() {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let t = untag(serde_yaml_ng::from_str(&text).unwrap());
    let r = &t["Resources"];
    let table = &r["EventsTable"]["Properties"];
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);
    assert!(t["Parameters"]["DeletionProtection"].is_mapping());

    let names = |v: &serde_yaml_ng::Value| -> Vec<String> {
        v.as_sequence()
            .map(|s| {
                s.iter()
                    .filter_map(|h| h.as_str())
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default()
    };
    let orp =
        names(&r["EdgeOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]["HeadersConfig"]["Headers"]);
    let dynamic = &r["EdgeDynamicCachePolicy"]["Properties"]["CachePolicyConfig"];
    let key = names(&dynamic["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]["Headers"]);
    assert!(
        orp.len() <= 10 && key.len() <= 10,
        "CloudFront's quota: {orp:?} {key:?}"
    );
    assert_eq!(dynamic["DefaultTTL"], 0);
    let forwarded: std::collections::BTreeSet<&str> = orp.iter().chain(key.iter()).map(String::as_str).collect();
    // What the layers read (README: "Bot and fraud scoring"); Header-Count is derived from
    // Header-Order.
    for h in [
        "cloudfront-viewer-ja4-fingerprint",
        "cloudfront-viewer-ja3-fingerprint",
        "cloudfront-viewer-tls",
        "cloudfront-viewer-http-version",
        "cloudfront-viewer-address",
        "cloudfront-viewer-asn",
        "cloudfront-viewer-country",
        "cloudfront-viewer-city",
        "cloudfront-viewer-latitude",
        "cloudfront-viewer-longitude",
        "cloudfront-viewer-time-zone",
        "cloudfront-viewer-header-order",
        "user-agent",
        "accept-language",
        "origin",
        "referer",
        "sec-ch-ua",
        "sec-fetch-mode",
        "content-type",
        "authorization",
    ] {
        assert!(forwarded.contains(h), "{h} is not forwarded");
    }

    let dist = &r["Distribution"]["Properties"]["DistributionConfig"];
    assert_eq!(
        dist["DefaultCacheBehavior"]["CachePolicyId"]["Ref"],
        "EdgeDynamicCachePolicy"
    );
    let cached: Vec<&str> = dist["CacheBehaviors"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|b| {
            assert_eq!(b["CachePolicyId"]["Ref"], "ScriptsCachePolicy");
            b["PathPattern"].as_str().unwrap()
        })
        .collect();
    assert_eq!(cached, ["/h.js", "/h-pro.js", "/sw.js"], "only the bundles are cached");
    let origin = &dist["Origins"][0];
    assert_eq!(origin["OriginCustomHeaders"][0]["HeaderName"], "X-Origin-Verify");
    assert!(origin["OriginCustomHeaders"][0]["HeaderValue"]["Fn::Sub"]
        .as_str()
        .is_some_and(|v| v.contains("resolve:secretsmanager")));
    for out in ["DistributionDomainName", "EdgeFunctionUrl", "EventsTableName"] {
        assert!(t["Outputs"][out].is_mapping(), "output {out}");
    }
}

/// `events/env.json` (for `sam local invoke --env-vars`) names the template's functions and
/// only variables the template declares for each: SAM ignores any other.
#[test]
fn the_sam_local_env_file_matches_the_template() {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let t: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(workspace_root().join("events/env.json")).unwrap()).unwrap();
    let functions = env.as_object().unwrap();
    assert_eq!(functions.len(), 2);
    for (name, vars) in functions {
        let declared = t["Resources"][name.as_str()]["Properties"]["Environment"]["Variables"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{name} is not a function of the template"));
        for var in vars.as_object().unwrap().keys() {
            assert!(
                declared.contains_key(serde_yaml_ng::Value::String(var.clone())),
                "{name}: {var} is not declared in template.yaml"
            );
        }
    }
}

/// The template with its short-form intrinsics (`!Ref X`, `!Sub s`) as the long form
/// (`{Ref: X}`, `{Fn::Sub: s}`), so tests can index into them.
fn untag(v: serde_yaml_ng::Value) -> serde_yaml_ng::Value {
    use serde_yaml_ng::Value;
    match v {
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let key = if name == "Ref" || name == "Condition" {
                name.to_string()
            } else {
                format!("Fn::{name}")
            };
            let mut m = serde_yaml_ng::Mapping::new();
            m.insert(Value::String(key), untag(t.value));
            Value::Mapping(m)
        }
        Value::Mapping(m) => Value::Mapping(m.into_iter().map(|(k, v)| (k, untag(v))).collect()),
        Value::Sequence(s) => Value::Sequence(s.into_iter().map(untag).collect()),
        other => other,
    }
}
