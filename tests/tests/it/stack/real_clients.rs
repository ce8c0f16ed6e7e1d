//! Real clients of this machine through the local CloudFront, scored by the edge under
//! `cargo lambda watch` (see `tools::clients`): every HTTP library is high or
//! critical with its own User-Agent and with a desktop Chrome one, over HTTP/2 and HTTP/1.1
//! where it can; headless Chromium with its own transport and a desktop Chrome User-Agent is
//! low. The edge of the tests observes (`FRAUD_CONFIG` mode `observe`), so every run is stored
//! with its assessment.

use tools::clients::{run_all, Expect, Program, Setup};

#[tokio::test]
async fn every_tool_is_a_bot_whatever_its_user_agent_and_a_real_chromium_is_a_person() {
    let setup = Setup {
        origin: tools::browser::origin_url(),
        dynamo: tools::dynamo_client(&tools::moto_endpoint()),
        table: tools::browser::browser_table(),
        python: tools::workspace_root().join(".venv/bin/python"),
    };
    let outcomes = run_all(&setup).await;
    let table = tools::clients::render(&outcomes);
    println!("{table}");
    for o in &outcomes {
        if o.run.program.required() {
            assert!(o.stored.is_some(), "{:?}: {:?}\n{table}", o.run, o.note);
        }
        if o.stored.is_some() {
            assert!(o.as_expected(), "{:?} scored {:?}\n{table}", o.run, o.stored);
        }
        assert!(
            !o.blacklisted(),
            "the tests' edge observes: nothing is refused\n{table}"
        );
    }
    // The runs that carry the targets are all there.
    let person = outcomes
        .iter()
        .filter(|o| o.run.expect == Expect::Person && o.stored.is_some())
        .count();
    assert_eq!(person, 1, "Chromium with a desktop Chrome User-Agent ran\n{table}");
    for p in [Program::Curl, Program::PythonRequests] {
        let chrome_ua = outcomes
            .iter()
            .filter(|o| o.run.program == p && o.user_agent.contains("Chrome/") && o.stored.is_some())
            .count();
        assert!(chrome_ua >= 1, "{} with a Chrome User-Agent ran\n{table}", p.name());
    }
    // HTTP/2 from the clients that offer it: the edge saw what ALPN chose.
    for o in outcomes.iter().filter(|o| o.run.http2 && o.stored.is_some()) {
        assert_eq!(
            o.stored.as_ref().map(|s| s.http_version.as_str()),
            Some("2.0"),
            "{:?}",
            o.run
        );
    }
}
