//! The JA4 aggregates on moto server, through the DynamoDB behavioral store: a bucket's item
//! stays bounded whatever the visitors (a sketch of at most 512 registers, not a set of ids),
//! an event writes a JA4 bucket only when it raises a register (counted over the wire), two
//! requests racing on one register keep the higher rank without an error, the estimate
//! comes back through the first read round as the session-hopping observations, and the
//! processor's write of a batch's raises is one update per bucket that keeps higher ranks.

use aws_sdk_dynamodb::types::AttributeValue;
use impressio::behavior::dynamo::DynamoBehaviorStore;
use impressio::behavior::keys::{self, Identifiers, SHORT_BUCKET_SECS};
use impressio::behavior::rules::{self, FirstRead, VisitorRead};
use impressio::behavior::sketch::{Register, SketchRaise, REGISTERS};
use impressio::behavior::store::{BehaviorStore, SketchWriter};
use impressio::fraud::FraudConfig;
use integration_tests::counting::counting_client;
use tools::table::TableDefinition;

const NOW: i64 = 1_795_000_000_000;
const JA4: &str = "t13d1516h2_8daaf6152771_02713d6af862";

fn ids(ip: &str) -> Identifiers {
    Identifiers {
        organization_id: "org_agg".into(),
        fingerprint: None,
        ip: Some(ip.parse().unwrap()),
        ja4: Some(JA4.into()),
        ja4_is_tool: false,
        visitor: None,
        address: None,
        retention_days: None,
    }
}

async fn store() -> (
    DynamoBehaviorStore,
    aws_sdk_dynamodb::Client,
    std::sync::Arc<integration_tests::counting::CallLog>,
    String,
) {
    let (client, log) = counting_client(&tools::moto_endpoint());
    let table = tools::unique_table_name("agg");
    TableDefinition::load().unwrap().create(&client, &table).await.unwrap();
    (
        DynamoBehaviorStore::new(client.clone(), table.clone()),
        client,
        log,
        table,
    )
}

/// The JA4 bucket item of `NOW`.
async fn ja4_bucket(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    let pk = ids("192.0.2.1").ja4_key().unwrap();
    let sk = impressio::schema::bucket_sk(keys::bucket_start(NOW, SHORT_BUCKET_SECS));
    client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk))
        .send()
        .await
        .unwrap()
        .item
        .expect("the JA4 bucket")
}

/// The sketch raises of `visitor`'s event at `NOW` against the first read `first`, whoever
/// writes them (at `NOW`, 100 s into its bucket, the edge does).
fn raises_of(ids: &Identifiers, visitor: &str, first: &FirstRead) -> Vec<SketchRaise> {
    let (now, deferred) = rules::sketch_raises(ids, visitor, false, first, NOW, &FraudConfig::default());
    assert!(deferred.is_empty(), "NOW is past the bucket's first seconds");
    now
}

#[tokio::test]
async fn many_visitors_keep_the_ja4_bucket_bounded_and_write_only_when_they_raise_it() {
    let (store, client, log, table) = store().await;
    let config = FraudConfig::default();
    let visitors: Vec<String> = (0..400).map(|i| format!("01a2-agg-{i:06}")).collect();
    let mut raises = 0;
    for (i, v) in visitors.iter().enumerate() {
        // Each visitor from its own address: the JA4 + network buckets stay one visitor each.
        let ids = ids(&format!("10.0.{}.{}", i / 250, i % 250 + 1));
        let first = store.read_first(&ids, NOW, &config).await.unwrap();
        let bucket = first
            .ja4
            .iter()
            .find(|b| b.start == keys::bucket_start(NOW, SHORT_BUCKET_SECS));
        raises += usize::from(bucket.is_none_or(|b| b.visitors.would_raise(Register::of(v))));
        store
            .record(&ids, Some(v), false, &raises_of(&ids, v, &first), NOW)
            .await
            .unwrap();
    }
    // One UpdateItem per event for its IP bucket, one for its visitor bucket, one for its JA4 +
    // network bucket (new each time here), and one for the JA4 bucket only when it raised it.
    assert_eq!(log.count("UpdateItem"), 3 * visitors.len() + raises);
    assert!(
        raises < visitors.len(),
        "{raises} of {} raised a register",
        visitors.len()
    );
    let item = ja4_bucket(&client, &table).await;
    let registers = item.keys().filter(|k| k.starts_with('r')).count();
    assert!(
        registers <= usize::from(REGISTERS) && registers > 200,
        "{registers} registers"
    );
    assert!(!item.contains_key("vs"), "no set of visitor ids");
    // The estimate comes back through the first read round.
    let first = store.read_first(&ids("192.0.2.1"), NOW, &config).await.unwrap();
    let o = rules::observations(
        &first,
        &VisitorRead::default(),
        "01a2-agg-new",
        None,
        false,
        NOW,
        &config,
    );
    let error = (o.rapid_global_visitors as f64 - 401.0).abs() / 401.0;
    assert!(error < 0.15, "estimated {} visitors of 401", o.rapid_global_visitors);
}

#[tokio::test]
async fn requests_racing_on_one_register_keep_the_highest_rank_without_an_error() {
    let (store, client, _log, table) = store().await;
    let visitor = "01a2-race-000001";
    let register = Register::of(visitor);
    // Both requests read the bucket before either wrote (an empty first read): both write, the
    // second one's condition fails, and that is not an error.
    let stale = FirstRead::default();
    for ip in ["192.0.2.1", "192.0.2.2"] {
        let raises = raises_of(&ids(ip), visitor, &stale);
        store
            .record(&ids(ip), Some(visitor), false, &raises, NOW)
            .await
            .unwrap();
    }
    let item = ja4_bucket(&client, &table).await;
    assert_eq!(
        item.get(&register.attribute())
            .and_then(|v| v.as_n().ok())
            .map(String::as_str),
        Some(register.rank.to_string().as_str())
    );
    let first = store
        .read_first(&ids("192.0.2.3"), NOW, &FraudConfig::default())
        .await
        .unwrap();
    let o = rules::observations(
        &first,
        &VisitorRead::default(),
        visitor,
        None,
        false,
        NOW,
        &FraudConfig::default(),
    );
    assert_eq!(o.rapid_global_visitors, 1, "one visitor, counted once");
}

#[tokio::test]
async fn the_processor_raises_a_bucket_s_registers_in_one_update_and_keeps_higher_ones() {
    let (_, client, log, table) = store().await;
    let store = impressio::behavior::sketch_writer::DynamoSketchWriter::new(client.clone(), table.clone());
    let pk = ids("192.0.2.1").ja4_key().unwrap();
    let start = keys::bucket_start(NOW, SHORT_BUCKET_SECS);
    let raise = |index: u16, rank: u8| SketchRaise {
        pk: pk.clone(),
        start,
        index,
        rank,
    };
    log.reset();
    assert_eq!(
        store
            .raise_all(&[raise(1, 3), raise(5, 2), raise(1, 2)], NOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(log.count("UpdateItem"), 1, "one update for the bucket's three raises");
    // Another writer raised register 1 higher meanwhile: the update's condition fails, the
    // stored item comes back with the failure, and only register 9 is sent again.
    log.reset();
    store.raise_all(&[raise(1, 6)], NOW).await.unwrap();
    log.reset();
    store.raise_all(&[raise(1, 4), raise(9, 1)], NOW).await.unwrap();
    assert_eq!(log.count("UpdateItem"), 2, "{:?}", log.ops());
    let item = ja4_bucket(&client, &table).await;
    let rank = |r: &str| item.get(r).and_then(|v| v.as_n().ok()).cloned();
    assert_eq!(
        (rank("r1"), rank("r5"), rank("r9")),
        (Some("6".into()), Some("2".into()), Some("1".into()))
    );
    assert_eq!(
        item.get("item_type").and_then(|v| v.as_s().ok()).map(String::as_str),
        Some("aggregate")
    );
}
