//! The source scanner behind the DynamoDB permissions of `impressio::store::iam`: which
//! actions a module's code calls, read off its source text. The infrastructure tests hold each
//! adapter's `DYNAMODB_ACTIONS` to it, and the template's IAM statements to those; it lives
//! with the tests, so no Lambda binary carries it.

use std::collections::BTreeSet;

use impressio::store::iam::*;

/// The single-item and batch operations, by the SDK's fluent method, with the action each
/// needs on the table. `query` and `scan` are read apart (they may target an index).
const FLUENT_CALLS: &[(&str, &str)] = &[
    ("get_item", GET_ITEM),
    ("put_item", PUT_ITEM),
    ("update_item", UPDATE_ITEM),
    ("delete_item", DELETE_ITEM),
    ("batch_get_item", BATCH_GET_ITEM),
    ("batch_write_item", BATCH_WRITE_ITEM),
    ("transact_get_items", GET_ITEM),
];

/// The items a `TransactWriteItems` can carry, by the builder of each, with its action.
const TRANSACTION_ITEMS: &[(&str, &str)] = &[
    ("Put::builder()", PUT_ITEM),
    ("Update::builder()", UPDATE_ITEM),
    ("Delete::builder()", DELETE_ITEM),
    ("ConditionCheck::builder()", CONDITION_CHECK_ITEM),
];

/// Every operation a DynamoDB client is called with that the scan understands.
const KNOWN_OPERATIONS: &[&str] = &[
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
    "transact_write_items",
    "query",
    "scan",
];

/// Methods of the client that are not DynamoDB operations.
const CLIENT_HOUSEKEEPING: &[&str] = &["clone", "config"];

/// The index names the code passes to `.index_name(…)` through a constant, by the constant's
/// name: the scan reads source text and cannot evaluate an expression.
const INDEX_CONSTANTS: &[(&str, &str)] = &[
    ("GSI_USER", impressio::schema::GSI_USER),
    ("GSI_VISITOR", impressio::schema::GSI_VISITOR),
];

/// The lines of a Rust module that are compiled into the functions: all but comment lines
/// and the items marked `#[cfg(test)]`. An item is found by rustfmt's layout (the workspace
/// is formatted, `cargo fmt --check` holds it so): it ends on its first line if that line ends
/// in `;` (`mod tests;`), else on the first later line at its own indentation that starts with
/// `}`.
pub fn compiled_lines(source: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed != "#[cfg(test)]" {
            out.push(line);
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        // Further attributes, doc comments and blank lines before the item itself.
        let first = lines.by_ref().find(|l| {
            let t = l.trim();
            !(t.is_empty() || t.starts_with("#[") || t.starts_with("//"))
        });
        if first.is_some_and(|f| !f.trim_end().ends_with(';')) {
            let _end = lines
                .by_ref()
                .find(|l| l.len() - l.trim_start().len() == indent && l.trim_start().starts_with('}'));
        }
    }
    out
}

/// [`compiled_lines`] as one string without white space, so that a call chain split over
/// lines reads as one.
fn production_code(source: &str) -> String {
    compiled_lines(source)
        .into_iter()
        .flat_map(str::chars)
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Whether `needle` occurs in `code` not preceded by a character of an identifier (so
/// `Put::builder()` does not match inside `TransactPut::builder()`).
fn occurs_as_word(code: &str, needle: &str) -> bool {
    code.match_indices(needle).any(|(at, _)| {
        !code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

fn index_named(argument: &str) -> Result<&'static str, String> {
    let known = |name: &str| {
        INDEX_CONSTANTS
            .iter()
            .find(|(_, value)| *value == name)
            .map(|(_, v)| *v)
    };
    if let Some(literal) = argument.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
        return known(literal)
            .ok_or_else(|| format!("index {literal:?} is not one of the table's: {INDEX_CONSTANTS:?}"));
    }
    let constant = argument.trim_start_matches('&').rsplit("::").next().unwrap_or(argument);
    INDEX_CONSTANTS
        .iter()
        .find(|(name, _)| *name == constant)
        .map(|(_, value)| *value)
        .ok_or_else(|| format!("index named by `{argument}`: add the constant to INDEX_CONSTANTS"))
}

/// The permissions the DynamoDB calls in `source` (the text of one Rust module) need.
///
/// Reads the SDK's fluent calls (`.put_item()`, `.query()`, `.transact_write_items()`, …) in
/// the module's [`compiled_lines`]; a transaction's items by their builders
/// (`Put::builder()`, …); the index of a `Query` or `Scan` by the `.index_name(…)` of the same
/// call chain.
///
/// # Errors
/// What the scan cannot decide, rather than a guess: a client operation it does not know, a
/// `Query` / `Scan` whose chain has no `.send()`, an index named by an unknown expression, or
/// a transaction whose items are built in another module.
pub fn actions_called(source: &str) -> Result<BTreeSet<Action>, String> {
    let code = production_code(source);
    let mut actions = BTreeSet::new();
    for (method, action) in FLUENT_CALLS {
        if code.contains(&format!(".{method}()")) {
            actions.insert(Action::on_table(action));
        }
    }
    for (method, action) in [("query", QUERY), ("scan", SCAN)] {
        let call = format!(".{method}()");
        for (at, _) in code.match_indices(&call) {
            let chain = &code[at + call.len()..];
            let Some(end) = chain.find(".send()") else {
                return Err(format!("a `{call}` without `.send()` in its chain"));
            };
            let chain = &chain[..end];
            match chain.find(".index_name(") {
                None => actions.insert(Action::on_table(action)),
                Some(i) => {
                    let argument = &chain[i + ".index_name(".len()..];
                    let argument = &argument[..argument.find(')').unwrap_or(argument.len())];
                    actions.insert(Action::on_index(action, index_named(argument)?))
                }
            };
        }
    }
    let items: Vec<&str> = TRANSACTION_ITEMS
        .iter()
        .filter(|(builder, _)| occurs_as_word(&code, builder))
        .map(|(_, action)| *action)
        .collect();
    match (code.contains(".transact_write_items()"), items.is_empty()) {
        (true, true) => return Err("a transaction whose items are built in another module".into()),
        (false, false) => return Err("transaction items built here and sent from another module".into()),
        _ => actions.extend(items.into_iter().map(Action::on_table)),
    }
    for (at, _) in code.match_indices("client.") {
        let rest = &code[at + "client.".len()..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_len);
        // An operation's builder takes no argument and is sent within the statement; other
        // clients' methods (`client.get(url)`, `client.with_integrations()`) are not read.
        let statement = &after[..after.find(';').unwrap_or(after.len())];
        if after.starts_with("()")
            && statement.contains(".send()")
            && !KNOWN_OPERATIONS.contains(&name)
            && !CLIENT_HOUSEKEEPING.contains(&name)
            && !name.is_empty()
        {
            return Err(format!("client operation `{name}` has no IAM action in this scan"));
        }
    }
    Ok(actions)
}

/// Asserts that `declared` (a module's `DYNAMODB_ACTIONS`) is exactly what its `source` calls.
///
/// # Panics
/// When the scan fails, or names what the declaration does not (or the other way round).
pub fn assert_declared(source: &str, declared: &[Action]) {
    let called = actions_called(source).unwrap_or_else(|e| panic!("cannot read the DynamoDB calls: {e}"));
    let declared: BTreeSet<Action> = declared.iter().copied().collect();
    assert_eq!(
        declared, called,
        "DYNAMODB_ACTIONS (left) differs from the DynamoDB calls in the module's code (right)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn called(source: &str) -> Vec<Action> {
        actions_called(source).unwrap().into_iter().collect()
    }

    #[test]
    fn single_item_and_batch_calls() {
        let source = "
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .send()
                .await;
            self.client.batch_write_item().request_items(t, w).send().await;
        ";
        assert_eq!(
            called(source),
            vec![Action::on_table(BATCH_WRITE_ITEM), Action::on_table(GET_ITEM)]
        );
        assert_eq!(
            called("client.transact_get_items().send()"),
            vec![Action::on_table(GET_ITEM)]
        );
    }

    #[test]
    fn transactions_need_the_actions_of_their_items() {
        let source = "
            let d = Delete::builder().table_name(t).build();
            let c = ConditionCheck::builder().table_name(t).build();
            self.client.transact_write_items().set_transact_items(Some(items)).send().await
        ";
        assert_eq!(
            called(source),
            vec![Action::on_table(CONDITION_CHECK_ITEM), Action::on_table(DELETE_ITEM)]
        );
        assert!(actions_called("client.transact_write_items().send()")
            .unwrap_err()
            .contains("built in another module"));
        assert!(actions_called("let p = Put::builder().build();")
            .unwrap_err()
            .contains("sent from another module"));
        // A builder of another type that ends in the same name is not a transaction item.
        assert!(called("let r = PutRequest::builder().build(); let x = MyPut::builder();").is_empty());
    }

    #[test]
    fn queries_on_the_table_and_on_an_index() {
        assert_eq!(
            called("client.query().table_name(t).key_condition_expression(e).send()"),
            vec![Action::on_table(QUERY)]
        );
        assert_eq!(
            called("client.query().table_name(t).index_name(GSI_USER).send()"),
            vec![Action::on_index(QUERY, "GSI_USER")]
        );
        assert_eq!(
            called("client.scan().index_name(\"GSI_USER\").send(); client.scan().send()"),
            vec![Action::on_table(SCAN), Action::on_index(SCAN, "GSI_USER")]
        );
        assert!(actions_called("client.query().index_name(OTHER).send()")
            .unwrap_err()
            .contains("OTHER"));
        assert!(actions_called("client.query().index_name(\"GSI_X\").send()")
            .unwrap_err()
            .contains("GSI_X"));
        assert!(actions_called("let q = client.query(); q")
            .unwrap_err()
            .contains(".send()"));
    }

    #[test]
    fn unknown_operations_fail() {
        assert!(actions_called("self.client.describe_table().send()")
            .unwrap_err()
            .contains("describe_table"));
        assert!(called("let c = client.clone();").is_empty());
        assert!(called("let s = client.with_integrations(); client.get(url).send();").is_empty());
    }

    #[test]
    fn tests_and_comments_are_not_read_and_what_follows_them_is() {
        // Indented as a whole, so that no line of this test closes an item at column 0.
        let source = r#"
            // Not called: .scan()
            fn f() {}

            #[cfg(test)]
            mod tests {
                fn g() {
                    client.put_item().send();
                }
            }

            #[cfg(test)]
            mod more_tests;

            impl Store {
                #[cfg(test)]
                #[allow(dead_code)]
                /// Only for tests.
                fn h(
                    &self,
                ) {
                    self.client.delete_item().send();
                }

                fn i(&self) {
                    self.client.get_item().send();
                }
            }
        "#;
        assert_eq!(called(source), vec![Action::on_table(GET_ITEM)]);
        let kept: Vec<&str> = compiled_lines(source)
            .into_iter()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(
            kept,
            [
                "fn f() {}",
                "impl Store {",
                "fn i(&self) {",
                "self.client.get_item().send();",
                "}",
                "}"
            ]
        );
    }

    #[test]
    fn declarations_are_compared_both_ways() {
        let source = "client.put_item().send()";
        assert_declared(source, &[Action::on_table(PUT_ITEM)]);
        for wrong in [&[][..], &[Action::on_table(PUT_ITEM), Action::on_table(GET_ITEM)][..]] {
            let result = std::panic::catch_unwind(|| assert_declared(source, wrong));
            assert!(result.is_err(), "{wrong:?} must be refused");
        }
    }
}
