//! The infrastructure files agree with each other, with the code and with real tool output:
//! `template.yaml`'s table is the one in `infra/dynamodb/table.json`; each function is given
//! exactly the environment variables its code reads and exactly the DynamoDB permissions its
//! code needs; and the CloudFront request events `sam local generate-event cloudfront`
//! produces are accepted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use impressio::config::EdgeConfig;
use impressio::logging;
use impressio::processor::config::ProcessorConfig;
use impressio::store::iam::Action;
use integration_tests::harness::{AnswerShape, Harness};
use integration_tests::iam_scan as iam;
use serde_yaml_ng::Value;
use tools::table::TableDefinition;
use tools::workspace_root;

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

// ---------------------------------------------------------------------------------------------
// Environment variables and IAM: template.yaml against the code.
// ---------------------------------------------------------------------------------------------

/// A lookup of environment variables, as the configurations' `from_lookup` take.
type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// A function of `template.yaml` and the code that configures it.
struct Function {
    /// Its resource in the template.
    resource: &'static str,
    /// Its crate's source, relative to the workspace root.
    src: &'static str,
    /// The configuration its `main.rs` builds, as called there.
    config_call: &'static str,
    /// Every variable that configuration reads (its `ENV_VARS`, which a unit test next to
    /// `from_lookup` holds to the lookups it makes).
    config_vars: &'static [&'static str],
    /// Reads the configuration through a lookup, as the function does at cold start.
    parse: fn(&Lookup<'_>) -> Result<(), String>,
}

const FUNCTIONS: [Function; 2] = [
    Function {
        resource: "EdgeFunction",
        src: "functions/edge/src",
        config_call: "EdgeConfig::from_env()",
        config_vars: EdgeConfig::ENV_VARS,
        parse: |lookup| EdgeConfig::from_lookup(lookup).map(drop).map_err(|e| e.to_string()),
    },
    Function {
        resource: "ProcessorFunction",
        src: "functions/processor/src",
        config_call: "ProcessorConfig::from_env()",
        config_vars: ProcessorConfig::ENV_VARS,
        parse: |lookup| {
            ProcessorConfig::from_lookup(lookup)
                .map(drop)
                .map_err(|e| e.to_string())
        },
    },
];

impl Function {
    /// Every variable the function's code reads: its configuration's, the log filter (both
    /// `main.rs` call `init_json_logs`, which a test below checks) and the allocator's option
    /// (both `main.rs` make mimalloc the global allocator, which the same test checks).
    fn reads(&self) -> BTreeSet<&'static str> {
        self.config_vars
            .iter()
            .copied()
            .chain([logging::FILTER_VAR, impressio::env::ALLOCATOR_EAGER_COMMIT_VAR])
            .collect()
    }
}

/// Variables the code reads that the template deliberately does not set, because they only
/// mean something on a developer's machine or in the local stack; each with the reason. The
/// template must not set them either.
const LOCAL_ONLY: &[(&str, &str)] = &[
    (
        "ORGANIZATIONS_FILE",
        "a file of organizations served instead of Supabase; the template requires SupabaseUrl, \
         and the file would not be in the deployment package",
    ),
    (
        "AWS_ENDPOINT_URL_DYNAMODB",
        "points the DynamoDB client (store::client::client_with_timeouts) at moto server",
    ),
    ("AWS_ENDPOINT_URL", "points every AWS SDK client at a local endpoint"),
];

/// Variables the template declares only so that `sam local --env-vars` can set them (SAM
/// overrides nothing else), with the one value a deployment must have; each with the reason.
const DECLARED_FOR_SAM_LOCAL: &[(&str, &str, &str)] = &[
    (
        "EdgeFunction",
        "DYNAMODB_ENDPOINT",
        "empty: the region's DynamoDB; moto server under sam local",
    ),
    (
        "ProcessorFunction",
        "DYNAMODB_ENDPOINT",
        "empty: the region's DynamoDB; moto server under sam local",
    ),
    (
        "ProcessorFunction",
        "WEBHOOK_ALLOW_PRIVATE_TARGETS",
        "false: webhooks reach only globally reachable addresses (the SSRF guard); the local \
         receivers on the Docker bridge under sam local",
    ),
];

/// Each variable declared for `sam local` has its deployed value in the template, literally
/// (no parameter a deployment could change): an empty endpoint and the SSRF guard on.
#[test]
fn variables_declared_for_sam_local_keep_their_deployed_values() {
    let template = template();
    for (function, var, why) in DECLARED_FOR_SAM_LOCAL {
        let value = template_variables(&template, function).remove(*var);
        let deployed = why.split(':').next().unwrap();
        let expected = if deployed == "empty" { "" } else { deployed };
        assert_eq!(
            value,
            Some(Value::String(expected.into())),
            "{function}: {var} must be {deployed} in template.yaml ({why})"
        );
    }
}

/// Lambda's reserved variables: Lambda sets them itself (the region and the execution role's
/// credentials, which `store::client::client_with_timeouts` reads; the runtime API, which
/// `lambda_runtime` reads; the handler, trace header, paths and time zone) and refuses them in
/// a function's configuration, so the template must not set them.
const SET_BY_LAMBDA: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
];

fn template() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

/// The variables the template sets for `function`: its own and those of `Globals`, which SAM
/// merges into every function.
fn template_variables(template: &Value, function: &str) -> BTreeMap<String, Value> {
    let own = &template["Resources"][function]["Properties"]["Environment"]["Variables"];
    let global = &template["Globals"]["Function"]["Environment"]["Variables"];
    [global, own]
        .into_iter()
        .filter_map(Value::as_mapping)
        .flatten()
        .map(|(k, v)| (k.as_str().expect("variable names are strings").to_string(), v.clone()))
        .collect()
}

/// Every `.rs` file under `dir` (relative to the workspace root), with its text, by path
/// relative to the root, sorted (also the layout tests').
pub(crate) fn rust_files(dir: &str) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap().display().to_string();
                out.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let root = workspace_root();
    let mut out = Vec::new();
    walk(&root, &root.join(dir), &mut out);
    out.sort();
    assert!(!out.is_empty(), "no Rust files under {dir}");
    out
}

/// The code the deployed functions are built from: the shared library without its command
/// line tools (`shared/src/bin`, run by operators with their own credentials) and both
/// function crates.
fn deployed_sources() -> Vec<(String, String)> {
    let mut files: Vec<_> = rust_files("shared/src")
        .into_iter()
        .filter(|(path, _)| !path.starts_with("shared/src/bin/"))
        .collect();
    for f in &FUNCTIONS {
        files.extend(rust_files(f.src));
    }
    files
}

/// Every environment variable the code reads is set for its function in `template.yaml`,
/// except the ones Lambda sets itself and the local-only ones of [`LOCAL_ONLY`]; and the
/// reverse: every variable the template sets is one the function's code reads.
///
/// What the code reads comes from each configuration's `ENV_VARS` (held to its `from_lookup`
/// by a recording unit test) and the log filter; the next test makes sure nothing else reads
/// the environment. Fails naming the variables missing from the template, the stale ones, and
/// any the template sets that it must not (reserved by Lambda, or local only).
#[test]
fn template_sets_every_variable_the_code_reads_and_no_other() {
    let template = template();
    for f in &FUNCTIONS {
        let set: BTreeSet<String> = template_variables(&template, f.resource).into_keys().collect();
        assert!(!set.is_empty(), "{}: no Environment.Variables", f.resource);
        let reads = f.reads();
        let missing: Vec<_> = reads
            .iter()
            .filter(|v| !set.contains(**v) && !LOCAL_ONLY.iter().any(|(l, _)| l == *v))
            .collect();
        assert!(
            missing.is_empty(),
            "{} reads {missing:?}, which template.yaml does not set",
            f.resource
        );
        let forbidden: Vec<_> = set
            .iter()
            .filter(|v| SET_BY_LAMBDA.contains(&v.as_str()) || LOCAL_ONLY.iter().any(|(l, _)| l == v))
            .collect();
        assert!(
            forbidden.is_empty(),
            "template.yaml sets {forbidden:?} for {}: reserved by Lambda or local only",
            f.resource
        );
        let stale: Vec<_> = set.iter().filter(|v| !reads.contains(v.as_str())).collect();
        assert!(
            stale.is_empty(),
            "template.yaml sets {stale:?} for {}, which its code never reads",
            f.resource
        );
    }
    // No stale exemption: each local-only variable is read by a function's configuration, or
    // is one of the AWS SDK's own (aws-config reads them; nothing here records that).
    for (var, reason) in LOCAL_ONLY {
        assert!(
            FUNCTIONS.iter().any(|f| f.reads().contains(var)) || var.starts_with("AWS_ENDPOINT_URL"),
            "{var} ({reason}) is read by neither function"
        );
    }
}

/// The inventory above is complete: in the code the functions are built from, the only
/// lines that read the environment are the configurations' `from_env` (which go through
/// `from_lookup`, so through `ENV_VARS`) and the log filter's. Libraries read more on their
/// own (aws-config the standard AWS settings, `lambda_runtime` the runtime API, reqwest the
/// proxy variables); those are Lambda's or unset, and not the template's business.
#[test]
fn no_other_code_reads_the_environment() {
    let allowed = [
        ("shared/src/config.rs", "Self::from_lookup(|k| std::env::var(k).ok())"),
        (
            "shared/src/processor/config.rs",
            "Self::from_lookup(|k| std::env::var(k).ok())",
        ),
        // The AWS SDK's own variables (the region and the execution role's credentials,
        // which Lambda sets, and the SDK's endpoint overrides), read where the client is built.
        (
            "shared/src/store/client.rs",
            "client_from_lookup(timeouts, endpoint, |k| std::env::var(k).ok().filter(|v| !v.is_empty()))",
        ),
        (
            "shared/src/logging.rs",
            "let directives = std::env::var(FILTER_VAR).unwrap_or_else(|_| \"info\".to_string());",
        ),
    ];
    let reads_env = ["env::var", "env::vars", "from_default_env", "from_env(", "dotenv"];
    let mut found = Vec::new();
    let mut allowed_seen = BTreeSet::new();
    for (path, text) in deployed_sources() {
        for line in iam::compiled_lines(&text) {
            let line = line.trim();
            // Calls of the configurations' own `from_env` and of `client_from_env` are not reads.
            let stripped = line
                .replace("EdgeConfig::from_env(", "")
                .replace("ProcessorConfig::from_env(", "");
            let stripped = stripped.replace("client_from_env(", "").replace("fn from_env(", "");
            if !reads_env.iter().any(|p| stripped.contains(p)) {
                continue;
            }
            match allowed.iter().position(|(p, l)| *p == path && *l == line) {
                Some(i) => {
                    allowed_seen.insert(i);
                }
                None => found.push(format!("{path}: {line}")),
            }
        }
    }
    assert!(
        found.is_empty(),
        "environment read outside the configurations: {found:#?}\nread it through a configuration's \
         from_lookup and list it in its ENV_VARS"
    );
    assert_eq!(
        allowed_seen.len(),
        allowed.len(),
        "an allowed read moved: update this test"
    );
    // Both functions build their configuration and logs the way `Function::reads` assumes.
    for f in &FUNCTIONS {
        let main = std::fs::read_to_string(workspace_root().join(f.src).join("main.rs")).unwrap();
        assert!(
            main.contains(f.config_call),
            "{} main.rs does not call {}",
            f.resource,
            f.config_call
        );
        assert!(
            main.contains("init_json_logs()"),
            "{} main.rs does not call init_json_logs",
            f.resource
        );
        assert!(
            main.contains("#[global_allocator]") && main.contains("mimalloc::MiMalloc"),
            "{} main.rs does not make mimalloc the global allocator",
            f.resource
        );
    }
}

/// The values `template.yaml` gives are ones the configurations accept: each function's
/// configuration is read from the template's literal values and its parameters' defaults
/// (values resolved at deploy time, such as secrets, read as unset) and must not fail at cold
/// start. Fails with the configuration's error naming the variable.
#[test]
fn template_values_are_accepted_by_the_configurations() {
    let template = template();
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    for f in &FUNCTIONS {
        let vars = template_variables(&template, f.resource);
        let lookup = |k: &str| -> Option<String> {
            let v = vars.get(k)?;
            match v {
                Value::Tagged(t) if t.tag == "Ref" => {
                    let parameter = t.value.as_str()?;
                    template["Parameters"][parameter].get("Default").and_then(scalar)
                }
                // A secret resolved from Secrets Manager at deploy: a value of the documented
                // size (`openssl rand -base64 32`).
                Value::Tagged(t)
                    if t.tag == "Sub"
                        && t.value
                            .as_str()
                            .is_some_and(|s| s.starts_with("{{resolve:secretsmanager:")) =>
                {
                    Some("c2VjcmV0IHJlc29sdmVkIGF0IGRlcGxveSwgMzIgYnl0ZXM=".to_string())
                }
                other => scalar(other),
            }
        };
        (f.parse)(&lookup).unwrap_or_else(|e| panic!("{}: the template's values are refused: {e}", f.resource));
    }
}

/// A module that calls DynamoDB, with its declared actions.
struct Adapter {
    /// The name a function's code must mention to use it (the type it constructs, or the
    /// function it calls).
    uses: &'static str,
    /// Its source, relative to the workspace root.
    file: &'static str,
    /// Its `DYNAMODB_ACTIONS`.
    actions: &'static [Action],
}

/// Every module that calls DynamoDB (the next test fails on one missing here).
const ADAPTERS: &[Adapter] = &[
    Adapter {
        uses: "DynamoEventStore",
        file: "shared/src/event/dynamo.rs",
        actions: impressio::event::dynamo::DYNAMODB_ACTIONS,
    },
    // The event transaction and the message marker's read, which the event store and the
    // identity store's creation of a visitor share.
    Adapter {
        uses: "DynamoEventStore",
        file: "shared/src/store/dynamo.rs",
        actions: impressio::store::dynamo::DYNAMODB_ACTIONS,
    },
    Adapter {
        uses: "DynamoIdentityStore",
        file: "shared/src/identity/dynamo.rs",
        actions: impressio::identity::dynamo::DYNAMODB_ACTIONS,
    },
    Adapter {
        uses: "DynamoCounter",
        file: "shared/src/behavior/counter.rs",
        actions: impressio::behavior::counter::DYNAMODB_ACTIONS,
    },
    Adapter {
        uses: "DynamoBehaviorStore",
        file: "shared/src/behavior/dynamo.rs",
        actions: impressio::behavior::dynamo::DYNAMODB_ACTIONS,
    },
    Adapter {
        uses: "DynamoSketchWriter",
        file: "shared/src/behavior/sketch_writer.rs",
        actions: impressio::behavior::sketch_writer::DYNAMODB_ACTIONS,
    },
    Adapter {
        uses: "request_story",
        file: "shared/src/behavior/story.rs",
        actions: impressio::behavior::story::DYNAMODB_ACTIONS,
    },
    Adapter {
        uses: "DynamoApiStore",
        file: "shared/src/server_api/dynamo.rs",
        actions: impressio::server_api::dynamo::DYNAMODB_ACTIONS,
    },
    Adapter {
        uses: "erase_visitor",
        file: "shared/src/server_api/erase.rs",
        actions: impressio::server_api::erase::DYNAMODB_ACTIONS,
    },
    Adapter {
        uses: "labeled_events",
        file: "shared/src/server_api/labels.rs",
        actions: impressio::server_api::labels::DYNAMODB_ACTIONS,
    },
    Adapter {
        uses: "DynamoProcessorStore",
        file: "shared/src/processor/store.rs",
        actions: impressio::processor::store::DYNAMODB_ACTIONS,
    },
];

/// Whether `needle` occurs in `text` not preceded by a character of an identifier, and, if
/// `whole` also not followed by one (`whole`: `needle` is a whole identifier).
fn occurs(text: &str, needle: &str, whole: bool) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(needle).any(|(at, _)| {
        let starts_inside = text[..at].chars().next_back().is_some_and(ident);
        let ends_inside = whole && text[at + needle.len()..].chars().next().is_some_and(ident);
        !(starts_inside || ends_inside)
    })
}

/// Every module the functions are built from that calls DynamoDB is in
/// [`ADAPTERS`], with a `DYNAMODB_ACTIONS` that is exactly what its code calls (read by
/// `iam::actions_called`); and adapters are built only in the functions' crates (which get
/// the one DynamoDB client from `client_from_env`), so a function's adapters are the ones its
/// crate mentions.
#[test]
fn every_dynamodb_call_is_in_a_declared_adapter() {
    let fluent = [
        ".get_item()",
        ".put_item()",
        ".update_item()",
        ".delete_item()",
        ".batch_get_item()",
        ".batch_write_item()",
        ".transact_get_items()",
        ".transact_write_items()",
    ];
    let mut seen = BTreeSet::new();
    for (path, text) in deployed_sources() {
        // A module calling DynamoDB names the SDK (its client, its AttributeValue) or one of
        // its operations that nothing else has. (The scanner, which holds the calls it looks
        // for as string literals, is the tests' own: not among the deployed sources.)
        if !text.contains("aws_sdk_dynamodb") && !fluent.iter().any(|c| text.contains(c)) {
            continue;
        }
        let called = iam::actions_called(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        if called.is_empty() {
            continue;
        }
        let adapter = ADAPTERS.iter().find(|a| a.file == path).unwrap_or_else(|| {
            panic!("{path} calls DynamoDB ({called:?}): declare DYNAMODB_ACTIONS and add it to ADAPTERS")
        });
        let declared: BTreeSet<Action> = adapter.actions.iter().copied().collect();
        assert_eq!(
            declared, called,
            "{path}: DYNAMODB_ACTIONS (left) is not what the code calls (right)"
        );
        seen.insert(path);
    }
    let listed: BTreeSet<String> = ADAPTERS.iter().map(|a| a.file.to_string()).collect();
    assert_eq!(seen, listed, "ADAPTERS lists a file that calls no DynamoDB operation");

    for (path, text) in deployed_sources().into_iter().filter(|(p, _)| p.starts_with("shared/")) {
        let code: String = iam::compiled_lines(&text)
            .into_iter()
            .flat_map(str::chars)
            .filter(|c| !c.is_whitespace())
            .collect();
        // (An adapter's type is built in its own files: those of every adapter it names.)
        let own = |a: &Adapter| ADAPTERS.iter().any(|b| b.uses == a.uses && b.file == path);
        for a in ADAPTERS.iter().filter(|a| !own(a)) {
            let built = [
                format!("{}::new(", a.uses),
                format!("{}{{", a.uses),
                format!("{}(", a.uses),
            ];
            assert!(
                !built.iter().any(|b| occurs(&code, b, false)),
                "{path} builds or calls {} itself: the function using it would not show it",
                a.uses
            );
        }
    }
}

/// Where an IAM statement grants a DynamoDB action.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Resource {
    /// `!GetAtt EventsTable.Arn`.
    Table,
    /// `!Sub "${EventsTable.Arn}/index/<name>"`.
    Index(String),
}

/// The (action, resource) pairs of `actions`.
fn as_grants(actions: impl IntoIterator<Item = Action>) -> BTreeSet<(String, Resource)> {
    actions
        .into_iter()
        .map(|a| {
            let resource = match a.index {
                None => Resource::Table,
                Some(i) => Resource::Index(i.to_string()),
            };
            (a.name.to_string(), resource)
        })
        .collect()
}

fn one_or_many(v: &Value) -> Vec<&Value> {
    match v {
        Value::Sequence(s) => s.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// A resource of a statement granting DynamoDB actions: the events table's ARN, or the ARN of
/// one of its indexes; anything else (`*`, a literal ARN, a wildcard index) is refused.
fn resource_of(v: &Value) -> Result<Resource, String> {
    let tagged = |name: &str| match v {
        Value::Tagged(t) if t.tag == name => Some(t.value.clone()),
        Value::Mapping(m) if m.len() == 1 => m.get(format!("Fn::{name}")).cloned(),
        _ => None,
    };
    if let Some(target) = tagged("GetAtt") {
        let target = match &target {
            Value::String(s) => s.clone(),
            Value::Sequence(parts) => parts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("."),
            _ => String::new(),
        };
        return match target.as_str() {
            "EventsTable.Arn" => Ok(Resource::Table),
            other => Err(format!("!GetAtt {other} is not the events table")),
        };
    }
    if let Some(Value::String(sub)) = tagged("Sub") {
        if sub == "${EventsTable.Arn}" {
            return Ok(Resource::Table);
        }
        return match sub.strip_prefix("${EventsTable.Arn}/index/") {
            Some(index) if !index.is_empty() && !index.contains(['*', '?', '$', '/']) => {
                Ok(Resource::Index(index.into()))
            }
            _ => Err(format!(
                "!Sub {sub:?} is neither the events table nor one of its indexes"
            )),
        };
    }
    Err(format!(
        "resource {v:?} is neither the events table nor one of its indexes"
    ))
}

/// The DynamoDB actions a function's `Policies` grant, with their resources.
///
/// # Errors
/// What this reading cannot hold to the code, rather than a guess: a DynamoDB action granted
/// on anything but the events table or its indexes (`*` included), a wildcard action, a
/// `Deny`, `NotAction` / `NotResource`, a managed policy or SAM policy template about
/// DynamoDB, or a `Role` instead of `Policies`.
fn granted(function: &Value) -> Result<BTreeSet<(String, Resource)>, String> {
    let props = &function["Properties"];
    if props.get("Role").is_some() {
        return Err("a Role replaces the Policies this test reads".into());
    }
    let mut grants = BTreeSet::new();
    for policy in one_or_many(&props["Policies"]) {
        let Some(statements) = policy.get("Statement") else {
            // A managed policy's name or ARN, or a SAM policy template: fine unless about DynamoDB.
            let text = serde_yaml_ng::to_string(policy).unwrap();
            if text.to_ascii_lowercase().contains("dynamodb") {
                return Err(format!(
                    "DynamoDB granted by a policy this test cannot read: {}",
                    text.trim()
                ));
            }
            continue;
        };
        for statement in one_or_many(statements) {
            for unsupported in ["NotAction", "NotResource"] {
                if statement.get(unsupported).is_some() {
                    return Err(format!("a statement with {unsupported}"));
                }
            }
            let actions: Vec<&str> = one_or_many(&statement["Action"])
                .into_iter()
                .filter_map(Value::as_str)
                .collect();
            let dynamo: Vec<&str> = actions
                .iter()
                .copied()
                .filter(|a| a.to_ascii_lowercase().starts_with("dynamodb:") || *a == "*")
                .collect();
            if dynamo.is_empty() {
                continue;
            }
            if statement["Effect"].as_str() != Some("Allow") {
                return Err(format!("a statement on {dynamo:?} that is not Effect: Allow"));
            }
            if let Some(wild) = dynamo.iter().find(|a| a.contains(['*', '?'])) {
                return Err(format!("wildcard action {wild}"));
            }
            let resources = one_or_many(&statement["Resource"]);
            if resources.is_empty() {
                return Err(format!("{dynamo:?} without a Resource"));
            }
            for r in resources {
                let resource = resource_of(r).map_err(|e| format!("{dynamo:?}: {e}"))?;
                for a in &dynamo {
                    grants.insert((a.to_string(), resource.clone()));
                }
            }
        }
    }
    Ok(grants)
}

/// Each function's IAM statements grant exactly the DynamoDB actions its code calls, each on
/// the resource it is called on.
///
/// Design: the code's actions come from declarations that the code itself checks, not from
/// running it. Each module that calls DynamoDB declares `DYNAMODB_ACTIONS` next to its code;
/// `iam::actions_called` reads the module's source for the SDK's fluent calls (a
/// transaction's items by their builders, since IAM authorizes `TransactWriteItems` per `Put`
/// / `Update` / `Delete` / `ConditionCheck`, and a `Query`'s index by its `.index_name(…)`,
/// since a query of an index is authorized on the index's ARN) and fails on what it cannot
/// read; the module's unit test and [`every_dynamodb_call_is_in_a_declared_adapter`] hold
/// the declarations to that. A function's actions are then the union over the adapters its
/// crate mentions (the previous test makes sure adapters are built nowhere else). Recording
/// calls with an SDK interceptor would only see the paths the tests happen to drive (a block,
/// a blacklist hit, a retried billing transaction, the DynamoDB counter used only without
/// Upstash), and would not fail when a new path goes untested.
///
/// Fails, naming the pairs, when the template grants an action (or a resource) the code does
/// not call, misses one it does, grants on `*` or another resource, or uses a policy form this
/// test cannot read; and when an index it names is not one of the table's.
#[test]
fn each_function_is_granted_exactly_the_dynamodb_actions_its_code_calls() {
    let template = template();
    let indexes: BTreeSet<String> =
        one_or_many(&template["Resources"]["EventsTable"]["Properties"]["GlobalSecondaryIndexes"])
            .into_iter()
            .filter_map(|i| i["IndexName"].as_str().map(String::from))
            .collect();
    for f in &FUNCTIONS {
        let crate_text: String = rust_files(f.src)
            .into_iter()
            .map(|(_, text)| iam::compiled_lines(&text).join("\n"))
            .collect();
        let used: Vec<&Adapter> = ADAPTERS
            .iter()
            .filter(|a| a.file.starts_with(f.src) || occurs(&crate_text, a.uses, true))
            .collect();
        assert!(!used.is_empty(), "{} uses no DynamoDB adapter", f.resource);
        let code = as_grants(used.iter().flat_map(|a| a.actions.iter().copied()));
        let template_grants =
            granted(&template["Resources"][f.resource]).unwrap_or_else(|e| panic!("{}: {e}", f.resource));
        let not_called: Vec<_> = template_grants.difference(&code).collect();
        let not_granted: Vec<_> = code.difference(&template_grants).collect();
        assert!(
            not_called.is_empty() && not_granted.is_empty(),
            "{}: granted but never called: {not_called:?}; called but not granted: {not_granted:?} \
             (adapters used: {:?})",
            f.resource,
            used.iter().map(|a| a.uses).collect::<Vec<_>>()
        );
        for (_, r) in &template_grants {
            if let Resource::Index(name) = r {
                assert!(
                    indexes.contains(name),
                    "{}: index {name} is not one of the table's {indexes:?}",
                    f.resource
                );
            }
        }
    }
}

/// The policy reading refuses what it cannot hold to the code, and reads the template's
/// spellings of the table and index ARNs (short and long form).
#[test]
fn policy_reading_refuses_what_it_cannot_check() {
    let function = |policies: &str| -> Value {
        serde_yaml_ng::from_str(&format!("Properties:\n  Policies:\n{policies}")).unwrap()
    };
    let accepted = function(
        r#"
    - AWSLambdaBasicExecutionRole
    - Statement:
        - Effect: Allow
          Action: dynamodb:GetItem
          Resource: !GetAtt EventsTable.Arn
        - Effect: Allow
          Action: [dynamodb:PutItem]
          Resource:
            - Fn::GetAtt: [EventsTable, Arn]
        - Effect: Allow
          Action: [dynamodb:Query]
          Resource: {"Fn::Sub": "${EventsTable.Arn}/index/GSI_USER"}
        - Effect: Allow
          Action: sqs:SendMessage
          Resource: "*"
"#,
    );
    assert_eq!(
        granted(&accepted).unwrap(),
        BTreeSet::from([
            ("dynamodb:GetItem".to_string(), Resource::Table),
            ("dynamodb:PutItem".to_string(), Resource::Table),
            ("dynamodb:Query".to_string(), Resource::Index("GSI_USER".into())),
        ])
    );
    for (refused, because) in [
        (
            "    - Statement: [{Effect: Allow, Action: dynamodb:GetItem, Resource: \"*\"}]",
            "is neither",
        ),
        (
            "    - Statement: [{Effect: Allow, Action: \"dynamodb:*\", Resource: !GetAtt EventsTable.Arn}]",
            "wildcard",
        ),
        (
            "    - Statement: [{Effect: Allow, Action: \"*\", Resource: !GetAtt EventsTable.Arn}]",
            "wildcard",
        ),
        (
            "    - Statement: [{Effect: Deny, Action: dynamodb:Scan, Resource: !GetAtt EventsTable.Arn}]",
            "Allow",
        ),
        (
            "    - Statement: [{Effect: Allow, Action: dynamodb:Query, Resource: !Sub \"${EventsTable.Arn}/index/*\"}]",
            "is neither",
        ),
        (
            "    - Statement: [{Effect: Allow, Action: dynamodb:GetItem, Resource: !GetAtt OtherTable.Arn}]",
            "not the events table",
        ),
        ("    - DynamoDBCrudPolicy: {TableName: !Ref EventsTable}", "cannot read"),
        (
            "    - Statement: [{Effect: Allow, NotAction: dynamodb:Scan, Resource: \"*\"}]",
            "NotAction",
        ),
    ] {
        let err = granted(&function(refused)).unwrap_err();
        assert!(err.contains(because), "{refused}: {err}");
    }
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
