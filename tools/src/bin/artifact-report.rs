//! Prints, for each bootstrap given, its size, its size zipped as in the deployment package
//! and the newest glibc it requires, as one JSON line each; exits non-zero when one needs a
//! glibc newer than Amazon Linux 2023's (2.34) or weighs more than `--max-zipped-bytes`.
//!
//! `artifact-report [--max-zipped-bytes N] <bootstrap>...` (`scripts/bench-artifacts.sh`
//! builds the release bootstraps and runs it).

use tools::artifact::{measure, AL2023_GLIBC};

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut max_zipped = None;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--max-zipped-bytes" {
            max_zipped = Some(args.next().ok_or("--max-zipped-bytes needs a value")?.parse::<u64>()?);
        } else {
            paths.push(std::path::PathBuf::from(arg));
        }
    }
    if paths.is_empty() {
        return Err("usage: artifact-report [--max-zipped-bytes N] <bootstrap>...".into());
    }
    let mut over = Vec::new();
    for path in &paths {
        let a = measure(path)?;
        let glibc = a.newest_glibc.map(|(major, minor)| format!("{major}.{minor}"));
        println!(
            "{}",
            serde_json::json!({
                "bootstrap": path.display().to_string(),
                "bytes": a.bytes,
                "zipped_bytes": a.zipped_bytes,
                "zipped_mb": (a.zipped_bytes as f64 / 1e6 * 100.0).round() / 100.0,
                "newest_glibc": glibc,
            })
        );
        if a.newest_glibc.is_some_and(|v| v > AL2023_GLIBC) {
            over.push(format!("{} needs glibc {}", path.display(), glibc.unwrap_or_default()));
        }
        if max_zipped.is_some_and(|max| a.zipped_bytes > max) {
            over.push(format!("{} is {} bytes zipped", path.display(), a.zipped_bytes));
        }
    }
    if over.is_empty() {
        Ok(())
    } else {
        Err(over.join("; ").into())
    }
}
