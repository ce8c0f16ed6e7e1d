//! The identity accuracy benchmark (`tools::identity_sim`): a simulated population in which
//! many people share a fingerprint, resolved by the real resolver under the corroborated rule
//! and under the rule before it, with the false-merge and split rates of each.
//!
//! `identity-accuracy [--people N] [--seed S] [--set parameter=value]...` (defaults 20,000
//! people, seed 1, the documented population; `--set` changes one of its parameters, e.g.
//! `--set cellular_share_of_phone_sessions=0`); the README's command is
//! `scripts/bench-identity.sh`. `--config` is an `IDENTITY_CONFIG` override for the second run
//! (the first is always the rule before corroboration).

use impressio::identity::corroborate::MergeRule;
use impressio::identity::IdentityConfig;
use tools::identity_sim::{report, run, Population};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut people = 20_000usize;
    let mut seed = 1u64;
    let mut sets: Vec<(String, f64)> = Vec::new();
    let mut config = IdentityConfig::default();
    let usage = || -> ! {
        eprintln!(
            "usage: identity-accuracy [--people N] [--seed S] [--set parameter=value]... [--config IDENTITY_CONFIG]"
        );
        std::process::exit(2);
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--people" => people = value.parse().ok().filter(|&v| v > 0).unwrap_or_else(|| usage()),
            "--seed" => seed = value.parse().unwrap_or_else(|_| usage()),
            "--config" => {
                config = IdentityConfig::with_override(&value).unwrap_or_else(|e| {
                    eprintln!("--config: {e}");
                    std::process::exit(2)
                })
            }
            "--set" => {
                let (k, v) = value.split_once('=').unwrap_or_else(|| usage());
                sets.push((k.to_string(), v.parse().unwrap_or_else(|_| usage())));
            }
            _ => usage(),
        }
    }
    let mut population = Population::documented(people, seed);
    for (k, v) in sets {
        if let Err(e) = population.set(&k, v) {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
    let mut runs = Vec::new();
    for rule in [MergeRule::FirstMatch, config.corroboration.rule] {
        let mut c = config.clone();
        c.corroboration.rule = rule;
        let started = std::time::Instant::now();
        let a = run(&population, &c).await;
        eprintln!(
            "{rule:?}: {} events in {:.1} s",
            a.events,
            started.elapsed().as_secs_f64()
        );
        runs.push(a);
    }
    print!("{}", report(&runs));
}
