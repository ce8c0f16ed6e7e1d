//! Joins the quality replay's labels with the backtesting CLI's assessments (same line
//! order) and prints, per group, its source and who has seen it, the levels, the targets and
//! every miss by name. Exits 1 when a target is missed.
//!
//! Usage: `quality-report <labels.jsonl> <assessments.jsonl>`

use serde_json::Value;
use tools::quality::{Case, Report, Scored};

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let (Some(labels), Some(assessments)) = (args.next(), args.next()) else {
        return Err("usage: quality-report <labels.jsonl> <assessments.jsonl>".into());
    };
    let mut cases = Vec::new();
    for line in std::fs::read_to_string(labels)?
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let mut v: Value = serde_json::from_str(line)?;
        v["event"] = Value::String(String::new());
        cases.push(serde_json::from_value::<Case>(v)?);
    }
    let mut scored = Vec::new();
    for line in std::fs::read_to_string(assessments)?
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let v: Value = serde_json::from_str(line)?;
        if let Some(e) = v.get("error") {
            return Err(format!("line {}: {e}", v["line"]).into());
        }
        let reasons = v["breakdown"]
            .as_object()
            .into_iter()
            .flat_map(|b| b.values())
            .flat_map(|c| c["reasons"].as_array().cloned().unwrap_or_default())
            .filter(|r| r["points"].as_f64().unwrap_or(0.0) > 0.0)
            .filter_map(|r| r["code"].as_str().map(str::to_string))
            .collect();
        scored.push(Scored {
            level: v["level"].as_str().unwrap_or("").to_string(),
            score: v["score"].as_f64().unwrap_or(0.0),
            reasons,
        });
    }
    if cases.len() != scored.len() {
        return Err(format!("{} labels but {} assessments", cases.len(), scored.len()).into());
    }
    let report = Report::new(&cases, &scored);
    print!("{}", report.render());
    if !report.targets_met() {
        return Err("a quality target is missed (see above)".into());
    }
    Ok(())
}
