//! Writes the quality replay (see `tools::quality`) for the backtesting CLI:
//! `<dir>/events.jsonl` (one CloudFront origin-request event per line) and
//! `<dir>/labels.jsonl` (the group, client name, User-Agent, transport, JA4 and rows of each
//! line).
//!
//! Usage: `quality-corpus <dir>`

use std::io::Write;

use tools::quality::{build_cases, Sources};

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: quality-corpus <dir>")?);
    std::fs::create_dir_all(&dir)?;
    let sources = Sources::load(&tools::workspace_root().join("tools/data"))?;
    let cases = build_cases(&sources);
    let mut events = std::io::BufWriter::new(std::fs::File::create(dir.join("events.jsonl"))?);
    let mut labels = std::io::BufWriter::new(std::fs::File::create(dir.join("labels.jsonl"))?);
    for case in &cases {
        writeln!(events, "{}", case.event)?;
        let mut label = serde_json::to_value(case)?;
        label.as_object_mut().ok_or("label")?.remove("event");
        writeln!(labels, "{label}")?;
    }
    println!("{} requests written to {}", cases.len(), dir.display());
    Ok(())
}
