//! The fraud layers measured on real data (see `integration_tests::quality`): crawler
//! User-Agents high or critical, desktop and mobile browsers low, tool JA4s under browser
//! User-Agents high or critical — with the confusion table and every miss printed.

use impressio::fraud::{assess, ClientSignals, FraudConfig, ScoringInput};
use impressio::http::cloudfront::CloudFrontEvent;
use integration_tests::quality::{build_cases, Group, Report, Scored};
use integration_tests::replay::Corpus;
use integration_tests::workspace_root;

fn score_event(line: &str, config: &FraudConfig) -> Scored {
    let req = serde_json::from_str::<CloudFrontEvent>(line)
        .unwrap()
        .into_edge_request()
        .unwrap();
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
fn scoring_meets_its_targets_on_real_user_agents_and_ja4s() {
    let corpus = Corpus::load(&workspace_root().join("tests/data")).unwrap();
    let cases = build_cases(&corpus);
    let config = FraudConfig::default();
    let scored: Vec<Scored> = cases.iter().map(|c| score_event(&c.event, &config)).collect();
    let report = Report::new(&cases, &scored);
    println!("{}", report.render());
    let count = |g: Group| cases.iter().filter(|c| c.group == g).count();
    assert_eq!(
        count(Group::Crawler),
        corpus.crawlers.len(),
        "every crawler UA is replayed"
    );
    assert_eq!(
        count(Group::Browser) + count(Group::Webview) + count(Group::LegacyOrOther),
        corpus.browsers.len(),
        "every browser UA is replayed"
    );
    assert!(count(Group::ToolJa4UnderBrowser) >= 25);
    assert!(report.hit_rate(Group::Crawler) >= 0.99, "crawlers: {}", report.render());
    assert!(report.hit_rate(Group::Browser) >= 0.99, "browsers: {}", report.render());
    assert_eq!(
        report.hit_rate(Group::ToolJa4UnderBrowser),
        1.0,
        "tool JA4s: {}",
        report.render()
    );
}
