//! schemathesis (PyPI, in `.venv`) against the running edge of the local stack (`cargo lambda
//! watch`, `BROWSER_EDGE_URL`), with the demo organization's API key: every operation of
//! `docs/openapi.yaml`, no 5xx, every status code, content type and body as documented, and
//! the Server API refusing calls without the key.
//!
//! Two runs. Every phase (examples, coverage, fuzzing, stateful) with valid inputs; then the
//! coverage phase with invalid ones (out-of-range limits and cursors, wrong types, missing
//! fields, unknown labels), generated as ASCII text: the local Function URL (cargo lambda's
//! emulator) answers a JSON body that is not UTF-8 with a 500 of its own without invoking the
//! function, so byte-level garbage is sent through both event shapes by
//! `edge_bad_input` and `hostile_input` instead (`400 invalid_utf8`).

use std::process::Command;

use tools::workspace_root;

const KEY: &str = "org_demo_pro.local-demo-server-api-key";
const CHECKS: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,ignored_auth";

fn schemathesis(extra: &[&str]) {
    let root = workspace_root();
    let edge = std::env::var("BROWSER_EDGE_URL").expect("BROWSER_EDGE_URL (scripts/test.sh starts the stack)");
    // Run from a directory the edge's `cargo lambda watch` does not watch: a file written in
    // the workspace would restart the function mid-run.
    let cwd = root.join("target/schemathesis");
    std::fs::create_dir_all(&cwd).unwrap();
    let spec = root.join("docs/openapi.yaml");
    let out = Command::new(root.join(".venv/bin/schemathesis"))
        .current_dir(&cwd)
        .args(["--no-color", "run", spec.to_str().unwrap(), "--url", &edge])
        .args(["-H", &format!("Authorization: Bearer {KEY}")])
        .args(["--checks", CHECKS, "--workers", "1", "--generation-database", "none"])
        .args(["--request-timeout", "20"])
        .args(extra)
        .output()
        .expect("schemathesis (scripts/setup.sh installs it into .venv)");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis {extra:?} failed:\n{text}");
    assert!(text.contains("passed"), "{text}");
}

/// One run after the other, and not beside a browser test: the edge under `cargo lambda
/// watch` answers one request at a time.
#[tokio::test]
async fn the_running_edge_answers_as_the_openapi_document_says() {
    let _one = super::browser::BROWSER_LOCK.lock().await;
    schemathesis(&["--mode", "positive", "--max-examples", "40"]);
    schemathesis(&[
        "--mode",
        "negative",
        "--phases",
        "coverage",
        "--generation-codec",
        "ascii",
    ]);
}
