//! The population replay's targets (issue "precision in the open world"), on a smaller
//! population than the main job prints (`tools::population`).

use tools::population::{render, replay, targets_missed};

#[tokio::test]
async fn people_pass_and_bots_are_caught_in_the_population_replay() {
    let results = replay(2, 0.3).await;
    let table = render(&results, 2);
    println!("{table}");
    assert_eq!(targets_missed(&results), Vec::<String>::new(), "{table}");
}
