//! The shape of the code, held by tests so that it stays the shape docs/architecture.md
//! describes: functions that fit on a screen or two, a module graph without circles or
//! pairs of modules importing each other, every table key built in the schema module, the
//! table's item kinds documented as the schema says, `lib.rs` naming every module, and
//! comments that state their rules rather than cite documents the repository does not hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::infra::rust_files;

/// The longest production function, lines (its signature to its closing brace).
const MAX_FUNCTION_LINES: usize = 150;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The production sources: the shared crate (but its command-line tools) and both functions.
fn production() -> Vec<(String, String)> {
    let mut files: Vec<_> = rust_files("shared/src")
        .into_iter()
        .filter(|(p, _)| !p.starts_with("shared/src/bin/") && !p.ends_with("fuzzing.rs"))
        .collect();
    files.extend(rust_files("functions"));
    files
}

/// The text before a file's test module.
fn without_tests(text: &str) -> &str {
    text.find("\n#[cfg(test)]").map_or(text, |i| &text[..i])
}

/// A line without its `//` comment and string and char literals' contents.
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string => {
                chars.next();
            }
            '"' => in_string = !in_string,
            '/' if !in_string && chars.peek() == Some(&'/') => break,
            _ if in_string => {}
            _ => out.push(c),
        }
    }
    out
}

/// `(name, first line, lines)` of every function with a body in `text`.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = without_tests(text).lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let code = code_of(lines[i]);
        let start = code.trim_start();
        let is_fn = [
            "pub ",
            "pub(crate) ",
            "pub(super) ",
            "async ",
            "const ",
            "unsafe ",
            "fn ",
        ]
        .iter()
        .any(|p| start.starts_with(p))
            && start.contains("fn ")
            && !start.starts_with("//");
        if !is_fn {
            i += 1;
            continue;
        }
        let name: String = start
            .split("fn ")
            .nth(1)
            .unwrap_or("")
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let (mut depth, mut opened, mut j) = (0i32, false, i);
        while j < lines.len() {
            let code = code_of(lines[j]);
            if !opened && code.contains(';') && !code.contains('{') {
                break;
            }
            for c in code.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if opened && depth == 0 {
                break;
            }
            j += 1;
        }
        if opened {
            found.push((name, i + 1, j - i + 1));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    found
}

#[test]
fn no_production_function_is_longer_than_a_screen_or_two() {
    let mut long = Vec::new();
    for (path, text) in production() {
        for (name, line, n) in functions(&text) {
            if n > MAX_FUNCTION_LINES {
                long.push(format!("{path}:{line} {name}: {n} lines"));
            }
        }
    }
    assert!(long.is_empty(), "split these: {long:#?}");
    // The scanner finds functions: the longest one it knows of is counted.
    let (_, _, n) = functions(&std::fs::read_to_string(root().join("shared/src/judge/prepare.rs")).unwrap())
        .into_iter()
        .find(|(name, _, _)| name == "prepare")
        .unwrap();
    assert!(n > 50, "{n}");
}

/// The shared crate's top-level modules and, for each, the others its code (not its tests or
/// comments) names.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("shared/src");
    let modules: BTreeSet<String> = std::fs::read_dir(&src)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let name = p.file_stem()?.to_str()?.to_string();
            (name != "lib" && name != "bin").then_some(name)
        })
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in rust_files("shared/src") {
        let rel = path.trim_start_matches("shared/src/");
        let top = rel.split(['/', '.']).next().unwrap().to_string();
        if !modules.contains(&top) || top == "fuzzing" {
            continue;
        }
        for line in without_tests(&text).lines() {
            let code = code_of(line);
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if modules.contains(&name) && name != top {
                    graph.entry(top.clone()).or_default().insert(name);
                }
            }
        }
    }
    graph
}

#[test]
fn the_modules_import_one_way_without_circles() {
    let graph = module_graph();
    let mut pairs = Vec::new();
    for (a, targets) in &graph {
        for b in targets {
            if a < b && graph.get(b).is_some_and(|t| t.contains(a)) {
                pairs.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(pairs.is_empty(), "modules importing each other: {pairs:?}");
    // No circle of any length: a depth-first search finds no edge back to its own path.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| *p == m) {
            return Some(path[i..].iter().map(|s| s.to_string()).chain([m.to_string()]).collect());
        }
        if !done.insert(m) {
            return None;
        }
        path.push(m);
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        let circle = visit(m, &graph, &mut Vec::new(), &mut done);
        assert!(circle.is_none(), "an import circle: {circle:?}");
    }
}

#[test]
fn every_table_key_is_built_in_the_schema_module() {
    let mut elsewhere = Vec::new();
    for (path, text) in production() {
        if path == "shared/src/schema.rs" {
            continue;
        }
        for (n, line) in without_tests(&text).lines().enumerate() {
            let code = line.trim();
            if code.starts_with("//") {
                continue;
            }
            // A key: an upper-case tag followed by `#` in a format string (`"ORG#{org}"`,
            // `"{p}#BL#IP#{}"`).
            if let Some(i) = code.find("format!(\"") {
                let literal: String = code[i + 9..].chars().take_while(|c| *c != '"').collect();
                let tagged = literal
                    .split('#')
                    .take(literal.matches('#').count())
                    .any(|part| part.chars().rev().take_while(|c| c.is_ascii_uppercase()).count() >= 1);
                if tagged {
                    elsewhere.push(format!("{path}:{}: {code}", n + 1));
                }
            }
        }
    }
    assert!(
        elsewhere.is_empty(),
        "table keys built outside shared/src/schema.rs: {elsewhere:#?}"
    );
}

#[test]
fn the_documented_item_kinds_are_the_schemas() {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    for kind in impressio::schema::ItemKind::ALL {
        let (pk, sk, lives) = kind.shape();
        let row = format!("| `{pk}` | `{sk}` | {lives} |");
        assert!(
            doc.contains(&row),
            "docs/architecture.md lacks the row of {kind:?}: {row}"
        );
    }
}

#[test]
fn lib_names_every_module() {
    let lib = std::fs::read_to_string(root().join("shared/src/lib.rs")).unwrap();
    for line in lib.lines().filter(|l| l.starts_with("pub mod ")) {
        let name = line.trim_start_matches("pub mod ").trim_end_matches(';');
        assert!(
            lib.contains(&format!("//! - [`{name}`]")),
            "shared/src/lib.rs does not say what `{name}` is"
        );
    }
}

#[test]
fn comments_state_their_rules() {
    let mut found = Vec::new();
    for (path, text) in production().into_iter().chain(rust_files("tools/src")) {
        for (n, line) in text.lines().enumerate() {
            let comment = line.trim_start();
            if !comment.starts_with("//") {
                continue;
            }
            let lower = comment.to_ascii_lowercase();
            let cites = [
                "seed \"",
                "the seed",
                "seed's",
                "seeds'",
                "(seed)",
                "the seeds",
                "seeds \"",
                "fraud design",
                "edge design",
                "processor design",
                "ja4 design",
                "product mission",
                "by design",
            ];
            let counts = lower.contains("about ") && lower.contains(" lines");
            if cites.iter().any(|c| lower.contains(c)) || counts {
                found.push(format!("{path}:{}: {}", n + 1, comment));
            }
        }
    }
    assert!(
        found.is_empty(),
        "comments citing documents or counting lines: {found:#?}"
    );
}
