//! The table definition of `infra/dynamodb/table.json`, and creating it through the SDK.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde::{Deserialize, Serialize};

/// `AWS::DynamoDB::Table` properties, as far as the table definition uses them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TableDefinition {
    pub billing_mode: String,
    pub attribute_definitions: Vec<AttributeDef>,
    pub key_schema: Vec<KeyDef>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexDef>,
    pub stream_specification: StreamDef,
    pub time_to_live_specification: TtlDef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyDef {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeyDef>,
    pub projection: ProjectionDef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionDef {
    pub projection_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDef {
    pub stream_view_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlDef {
    pub attribute_name: String,
    pub enabled: bool,
}

impl TableDefinition {
    /// Reads `infra/dynamodb/table.json`.
    ///
    /// # Errors
    /// When the file cannot be read or parsed.
    pub fn load() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let path = crate::workspace_root().join("infra/dynamodb/table.json");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?)
    }

    /// Creates the table `name` (and turns on its TTL); an existing table is left alone.
    ///
    /// # Errors
    /// When DynamoDB refuses the definition.
    pub async fn create(&self, client: &Client, name: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let existing = client.list_tables().send().await?;
        if existing.table_names().iter().any(|t| t == name) {
            return Ok(());
        }
        let keys = |defs: &[KeyDef]| -> Result<Vec<KeySchemaElement>, aws_sdk_dynamodb::error::BuildError> {
            defs.iter()
                .map(|k| {
                    KeySchemaElement::builder()
                        .attribute_name(&k.attribute_name)
                        .key_type(KeyType::from(k.key_type.as_str()))
                        .build()
                })
                .collect()
        };
        let mut req = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::from(self.billing_mode.as_str()))
            .set_key_schema(Some(keys(&self.key_schema)?))
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(
                        self.stream_specification.stream_view_type.as_str(),
                    ))
                    .build()?,
            );
        for a in &self.attribute_definitions {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()?,
            );
        }
        for g in &self.global_secondary_indexes {
            let mut projection =
                Projection::builder().projection_type(ProjectionType::from(g.projection.projection_type.as_str()));
            for a in &g.projection.non_key_attributes {
                projection = projection.non_key_attributes(a);
            }
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&g.index_name)
                    .set_key_schema(Some(keys(&g.key_schema)?))
                    .projection(projection.build())
                    .build()?,
            );
        }
        req.send().await?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(&self.time_to_live_specification.attribute_name)
                    .enabled(self.time_to_live_specification.enabled)
                    .build()?,
            )
            .send()
            .await?;
        Ok(())
    }
}
