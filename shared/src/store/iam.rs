//! The DynamoDB permissions the code needs, as IAM names them.
//!
//! Each module that calls DynamoDB declares `pub const DYNAMODB_ACTIONS: &[Action]` next to
//! its code. The infrastructure tests (`tests/tests/it/infra.rs`) hold each declaration to
//! what their source scanner (`tests/src/iam_scan.rs`, never in a Lambda binary) reads off
//! the module's own source, union the declarations of the modules each function builds, and
//! compare them with the function's IAM statements in `template.yaml`.
//!
//! IAM does not always name an API operation after itself: `TransactWriteItems` is authorized
//! per item it carries (`Put` by `dynamodb:PutItem`, `Update` by `dynamodb:UpdateItem`,
//! `Delete` by `dynamodb:DeleteItem`, `ConditionCheck` by `dynamodb:ConditionCheckItem`),
//! `TransactGetItems` by `dynamodb:GetItem`; the batch operations have actions of their own.
//! A `Query` or `Scan` of an index is authorized on the index's ARN, not the table's.

/// `GetItem`, and the `Get` items of `TransactGetItems`.
pub const GET_ITEM: &str = "dynamodb:GetItem";
/// `PutItem`, and the `Put` items of `TransactWriteItems`.
pub const PUT_ITEM: &str = "dynamodb:PutItem";
/// `UpdateItem`, and the `Update` items of `TransactWriteItems`.
pub const UPDATE_ITEM: &str = "dynamodb:UpdateItem";
/// `DeleteItem`, and the `Delete` items of `TransactWriteItems`.
pub const DELETE_ITEM: &str = "dynamodb:DeleteItem";
/// The `ConditionCheck` items of `TransactWriteItems`.
pub const CONDITION_CHECK_ITEM: &str = "dynamodb:ConditionCheckItem";
/// `Query`.
pub const QUERY: &str = "dynamodb:Query";
/// `Scan`.
pub const SCAN: &str = "dynamodb:Scan";
/// `BatchGetItem`.
pub const BATCH_GET_ITEM: &str = "dynamodb:BatchGetItem";
/// `BatchWriteItem`.
pub const BATCH_WRITE_ITEM: &str = "dynamodb:BatchWriteItem";

/// One permission: an IAM action on the table, or on one of its indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Action {
    /// The IAM action, e.g. `dynamodb:PutItem`.
    pub name: &'static str,
    /// The index it is used on (the resource is then `<table ARN>/index/<name>`); `None`: the
    /// table itself.
    pub index: Option<&'static str>,
}

impl Action {
    /// `name` on the table.
    pub const fn on_table(name: &'static str) -> Self {
        Action { name, index: None }
    }

    /// `name` on the index `index`.
    pub const fn on_index(name: &'static str, index: &'static str) -> Self {
        Action {
            name,
            index: Some(index),
        }
    }
}
