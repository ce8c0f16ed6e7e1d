//! The sequential DynamoDB round trips before each kind of edge request is answered, counted
//! through a proxy that holds every call 25 ms (`integration_tests::round_trips`): one read and
//! one write for a new visitor, a returning one and a pixel; one read for a blacklisted
//! request (its forensic record is written after the answer) and for a repeated message.

use std::time::Duration;

use integration_tests::round_trips::{RequestPath, RoundTrips};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_path_takes_the_round_trips_it_is_designed_for() {
    let bench = RoundTrips::start(Duration::from_millis(25)).await;
    for i in 0..2 {
        for m in bench.round(i).await {
            let (rounds, after) = match m.path {
                RequestPath::New | RequestPath::Returning | RequestPath::Pixel => (2, 0),
                RequestPath::Blacklisted => (1, 2),
                RequestPath::RepeatedMessage => (1, 0),
            };
            assert_eq!(
                (m.round_trips, m.after_answer),
                (rounds, after),
                "{}: {:?}",
                m.path.name(),
                m.operations
            );
            assert!(
                m.latency >= Duration::from_millis(25) * rounds as u32,
                "{}: {:?} is less than its round trips' delay",
                m.path.name(),
                m.latency
            );
        }
    }
}
