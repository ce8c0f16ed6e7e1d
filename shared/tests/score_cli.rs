//! The backtesting CLI `score` as a user runs it: JSON lines in, one assessment per line
//! out, bad lines reported and skipped, `--summary`, `--config`, `--state`.

use std::io::Write;
use std::process::{Command, Stdio};

fn sample_line(ja4: Option<&str>, event: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/edge/cloudfront/track.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let req = &mut v["Records"][0]["cf"]["request"];
    if let Some(j) = ja4 {
        req["headers"]["cloudfront-viewer-ja4-fingerprint"][0]["value"] = j.into();
    }
    let body = serde_json::json!({"organizationId": "org_demo_free", "event": event}).to_string();
    req["body"] = serde_json::json!({"encoding": "text", "data": body});
    v.to_string()
}

fn run(args: &[&str], input: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_score"))
        .args(args)
        .env_remove("FRAUD_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const PYTHON: &str = "t13d181000_85036bcba153_d41ae481755e";

#[test]
fn scores_each_line_and_summarizes() {
    let input = format!(
        "{}\n\n{}\nnot json\n",
        sample_line(None, "page_view"),
        sample_line(Some(PYTHON), "page_view")
    );
    let (code, out, err) = run(&["--summary"], &input);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        (lines[0]["line"].as_u64(), lines[0]["level"].as_str()),
        (Some(1), Some("low"))
    );
    assert_eq!(
        (lines[1]["line"].as_u64(), lines[1]["level"].as_str()),
        (Some(3), Some("critical"))
    );
    assert_eq!(lines[1]["trigger"], "ja4_mismatch");
    assert!(lines[1]["breakdown"]["ja4_context"]["reasons"][0]["code"].is_string());
    assert!(lines[2]["error"].as_str().unwrap().contains("not a CloudFront event"));
    assert!(err.contains("scored 2 requests (1 unreadable)"), "{err}");
    assert!(err.contains("by level:  critical 1, low 1"), "{err}");
}

#[test]
fn configuration_and_state_files() {
    let dir = std::env::temp_dir().join(format!("score-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("observe.json");
    std::fs::write(&config, r#"{"mode": "observe", "risk": {"block_threshold": 90}}"#).unwrap();
    let (code, out, _) = run(
        &["--config", config.to_str().unwrap()],
        &sample_line(Some(PYTHON), "page_view"),
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["level"], "critical", "the trigger floor follows the threshold: 95");
    assert_eq!(v["score"], 95.0);
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"risk": {"blockThreshold": 90}}"#).unwrap();
    let (code, _, err) = run(&["--config", bad.to_str().unwrap()], "");
    assert_eq!(code, 2);
    assert!(err.contains("blockThreshold"), "{err}");
    let chrome_ja4 = "t13d1516h2_8daaf6152771_02713d6af862";
    let state = dir.join("state.json");
    std::fs::write(&state, format!(r#"{{"logins": {{"{chrome_ja4}": 25}}}}"#)).unwrap();
    let (_, out, _) = run(&["--state", state.to_str().unwrap()], &sample_line(None, "login"));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["breakdown"]["credential_stuffing"]["score"], 70.0);
    let (_, out, _) = run(&[], &sample_line(None, "login"));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v["breakdown"]["credential_stuffing"]["score"], 0.0,
        "stateful layers are off without --state"
    );
}

/// A corpus line as `score export-labels` writes it: a stored event of `user_agent`, labeled.
fn labeled(label: &str, user_agent: &str, request_id: &str) -> String {
    let valid = impressio::event::TrackPayload {
        organization_id: Some("org_demo_free".into()),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let context = impressio::event::ServerContext {
        ip: Some("203.0.113.5".into()),
        user_agent: Some(user_agent.into()),
        accept_language: Some("en-US,en;q=0.9".into()),
        ..Default::default()
    };
    let event = impressio::event::EventRecord::new(
        request_id,
        impressio::event::Route::Track,
        valid,
        None,
        context,
        1_790_000_000_000,
        30,
    );
    serde_json::json!({"requestId": request_id, "label": label, "reason": null, "labeledAt": 1, "event": event})
        .to_string()
}

#[test]
fn backtests_a_configuration_against_labeled_events() {
    const CHROME: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    let corpus = [
        labeled("fraud", "python-requests/2.32.3", "r1"),
        labeled("fraud", "curl/8.5.0", "r2"),
        labeled("legitimate", CHROME, "r3"),
        "not json".to_string(),
    ]
    .join("\n");
    let (code, out, _) = run(&["backtest"], &corpus);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report["events"].as_u64(), report["fraud"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(report["unreadable"][0][0], 4);
    let block = &report["config"]["block"];
    assert_eq!(
        (block["true_positives"].as_u64(), block["false_positives"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(
        (block["precision"].as_f64(), block["recall"].as_f64()),
        (Some(1.0), Some(1.0))
    );
    // Nothing was stored with a decision: the stored side has no flagged event.
    assert_eq!(report["stored"]["block"]["true_positives"], 0);

    // A configuration whose bot User-Agent trigger lifts to "high" only: nothing is blocked,
    // so recall at `block` falls to 0.
    let lax = std::env::temp_dir().join(format!("lax-{}.json", std::process::id()));
    std::fs::write(
        &lax,
        r#"{"components": {"bot_user_agent": {"triggers": {"bot_user_agent": -30}}}}"#,
    )
    .unwrap();
    let (code, out, err) = run(&["backtest", "--config", lax.to_str().unwrap()], &corpus);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let _ = std::fs::remove_file(&lax);
    assert_eq!(report["config"]["block"]["recall"].as_f64(), Some(0.0), "{report}");
    assert_eq!(report["config"]["block"]["precision"], serde_json::Value::Null);

    let (code, _, err) = run(&["export-labels"], "");
    assert_eq!(code, 2);
    assert!(err.contains("--organization"), "{err}");
}
