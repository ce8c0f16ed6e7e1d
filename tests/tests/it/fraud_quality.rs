//! The fraud-scoring quality targets on real data (see `tools::quality` for the
//! groups, their sources and who has seen each): crawler User-Agents of a list our rules were
//! not built from at least 99.6 % high or critical, browser automation 90 % on the User-Agent
//! alone (a token no list names is an anomaly: `Group::target`), at most 0.05 % of
//! at least 10,000 real browser User-Agents above low, every measured HTTP library and every
//! published tool JA4 under a browser User-Agent high or critical, the measured browsers low.

use impressio::fraud::{assess, ClientSignals, FraudConfig, ScoringInput};
use impressio::http::cloudfront::CloudFrontEvent;
use tools::quality::{build_cases, Group, Report, Scored, Sources};
use tools::workspace_root;

/// Scores one CloudFront event as the `score` CLI does.
fn score_event(line: &str, config: &FraudConfig) -> Scored {
    let req = serde_json::from_str::<CloudFrontEvent>(line)
        .expect("a CloudFront event")
        .into_edge_request()
        .expect("a request");
    let input = ScoringInput::from_request(&req, None::<ClientSignals>, Some("page_view"));
    let a = assess(&input, config);
    Scored {
        level: a.level.as_str().to_string(),
        score: a.score,
        reasons: a
            .breakdown
            .values()
            .flat_map(|c| c.reasons.iter())
            .filter(|r| r.points > 0.0)
            .map(|r| r.code.clone())
            .collect(),
    }
}

#[test]
fn scoring_meets_its_targets_on_real_user_agents_and_transports() {
    let sources = Sources::load(&workspace_root().join("tools/data")).unwrap();
    let cases = build_cases(&sources);
    let config = FraudConfig::default();
    let scored: Vec<Scored> = cases.iter().map(|c| score_event(&c.event, &config)).collect();
    let report = Report::new(&cases, &scored);
    println!("{}", report.render_with(usize::MAX));
    let count = |g: Group| cases.iter().filter(|c| c.group == g).count();
    assert_eq!(
        count(Group::CrawlersHeldOut),
        sources.crawlers.len(),
        "every crawler is replayed"
    );
    assert_eq!(count(Group::Automation), 23, "the list's browser-automation instances");
    // Every browser User-Agent of the two lists has a transport by its labels.
    assert_eq!(
        count(Group::BrowsersUserAgents) + count(Group::SessionsSpoofed),
        sources.user_agents.len()
    );
    assert_eq!(count(Group::BrowsersFakeUseragent), sources.fake_useragent.len());
    let (rows, above) = report.browsers_above_low();
    assert!(rows >= 10_000, "{rows} browser rows");
    assert!(
        above as f64 <= rows as f64 * 0.0005,
        "{above} of {rows} browser rows above low:\n{}",
        report.render()
    );
    assert!(count(Group::BrowsersUapCore) >= 12_000, "uap-core's browser test cases");
    // uap-core tests parsers, so its cases are mostly of older releases: a handful are current.
    assert!(
        count(Group::BrowsersUapCoreMainstream) >= 5,
        "of which current mainstream"
    );
    for g in [
        Group::CrawlersHeldOut,
        Group::Automation,
        Group::BrowsersUapCoreMainstream,
    ] {
        let target = g.target().unwrap_or(1.0);
        assert!(report.hit_rate(g) >= target, "{}: {}", g.label(), report.render());
    }
    for g in [Group::ToolsMeasured, Group::ToolsPublished, Group::BrowsersMeasured] {
        assert_eq!(report.hit_rate(g), 1.0, "{}: {}", g.label(), report.render());
    }
    assert!(count(Group::ToolsMeasured) >= 5 * 25 && count(Group::ToolsPublished) >= 15 * 25);
    assert!(report.targets_met());
}
