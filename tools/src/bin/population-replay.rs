//! The population replay (`tools::population`): classes of people and bots over simulated
//! days through the edge pipeline in memory, with per class the share of sessions challenged
//! and blocked, and for bots the share caught in the first minute.
//!
//! `population-replay [--days N] [--scale F]` (defaults 3 days, scale 1.0); the main job runs
//! it. Exits 1 when a target is missed, after printing the table.

use tools::population::{render, replay, targets_missed};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut days = 3u32;
    let mut scale = 1.0f64;
    let usage = || -> ! {
        eprintln!("usage: population-replay [--days N] [--scale F]");
        std::process::exit(2);
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--days" => {
                days = value
                    .parse()
                    .ok()
                    .filter(|&d| d > 0 && d <= 30)
                    .unwrap_or_else(|| usage())
            }
            "--scale" => {
                scale = value
                    .parse()
                    .ok()
                    .filter(|&s| s > 0.0 && s <= 10.0)
                    .unwrap_or_else(|| usage())
            }
            _ => usage(),
        }
    }
    let results = replay(days, scale).await;
    print!("{}", render(&results, days));
    let missed = targets_missed(&results);
    for m in &missed {
        println!("MISSED: {m}");
    }
    if missed.is_empty() {
        println!("every target met");
    } else {
        std::process::exit(1);
    }
}
