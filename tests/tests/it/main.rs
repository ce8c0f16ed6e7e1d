//! The integration tests in one binary (one link of the AWS SDK, one harness): each module is
//! one area, run against moto server and PostgreSQL by `scripts/test.sh`.

mod behavior;
mod domainprint;
mod edge_bad_input;
mod edge_fraud;
mod edge_messages;
mod edge_metrics;
mod edge_organizations;
mod edge_samples;
mod edge_ssr;
mod fraud_quality;
mod hostile_input;
mod identity;
mod infra;
mod logs;
mod moto_stand_in;
mod processor;
mod supabase_sql;
