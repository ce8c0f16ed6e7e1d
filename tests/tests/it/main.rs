//! The integration tests in one binary (one link of the AWS SDK, one harness): each module is
//! one area, run against moto server and PostgreSQL by `scripts/test.sh`; `stack` needs the
//! local stack the full test command starts (browsers, real clients) and runs in a pass of its
//! own; `sam` needs `sam local start-lambda` (`scripts/sam-stack.sh test`) and runs in a pass
//! of its own too. Run one area with `cargo test -p integration-tests --test it <module>`.

mod aggregates;
mod behavior;
mod billing_contract;
mod blacklist_scope;
mod docs;
mod domainprint;
mod edge_bad_input;
mod edge_fraud;
mod edge_messages;
mod edge_metrics;
mod edge_organizations;
mod edge_samples;
mod edge_ssr;
mod erasure;
mod fraud_quality;
mod hostile_input;
mod identity;
mod infra;
mod layout;
mod logs;
mod moto_stand_in;
mod openapi;
mod org_contracts;
mod population;
mod privacy;
mod processor;
mod round_trips;
mod sam;
mod sam_local_script;
mod server_api;
mod stack;
mod supabase_sql;
mod webhook_delivery;
