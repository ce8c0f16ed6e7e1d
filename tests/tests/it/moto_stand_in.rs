//! The moto server of the tests behaves as DynamoDB does where our code depends on it:
//! `scripts/moto_server.py` serializes requests and replaces moto's whole-table transaction
//! backups with partition backups, and a cancelled `TransactWriteItems` must still leave no
//! trace — no item changed or added, no stream record.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use tools::table::TableDefinition;
use tools::{dynamo_client, moto_endpoint, unique_table_name};

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

#[tokio::test]
async fn a_cancelled_transaction_leaves_no_trace() {
    let client = dynamo_client(&moto_endpoint());
    let table = unique_table_name("tx");
    TableDefinition::load().unwrap().create(&client, &table).await.unwrap();
    client
        .put_item()
        .table_name(&table)
        .item("pk", s("A"))
        .item("sk", s("1"))
        .item("n", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let update = Update::builder()
        .table_name(&table)
        .key("pk", s("A"))
        .key("sk", s("1"))
        .update_expression("SET n = :v")
        .expression_attribute_values(":v", AttributeValue::N("2".into()))
        .build()
        .unwrap();
    let put = Put::builder()
        .table_name(&table)
        .item("pk", s("B"))
        .item("sk", s("1"))
        .build()
        .unwrap();
    let missing = ConditionCheck::builder()
        .table_name(&table)
        .key("pk", s("C"))
        .key("sk", s("1"))
        .condition_expression("attribute_exists(pk)")
        .build()
        .unwrap();
    let err = client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(update).build())
        .transact_items(TransactWriteItem::builder().put(put).build())
        .transact_items(TransactWriteItem::builder().condition_check(missing).build())
        .send()
        .await
        .expect_err("the condition on C fails");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_transaction_canceled_exception()),
        "{err:?}"
    );
    let a = client
        .get_item()
        .table_name(&table)
        .key("pk", s("A"))
        .key("sk", s("1"))
        .send()
        .await
        .unwrap();
    assert_eq!(a.item().unwrap()["n"], AttributeValue::N("1".into()), "A rolled back");
    let b = client
        .get_item()
        .table_name(&table)
        .key("pk", s("B"))
        .key("sk", s("1"))
        .send()
        .await
        .unwrap();
    assert!(b.item().is_none(), "B never written");

    // The stream holds the first put only.
    let mut streams = tools::stream::StreamReader::open(&moto_endpoint(), &table)
        .await
        .expect("the table's stream");
    let records = streams.drain().await.expect("stream records");
    assert_eq!(records.len(), 1, "{records:?}");
}
