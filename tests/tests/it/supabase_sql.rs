//! The Supabase migration on a real PostgreSQL (started by `scripts/test.sh`, URL in
//! `TEST_DATABASE_URL`): each test applies it to a fresh database.

use tokio_postgres::{Client, NoTls};
use tools::workspace_root;

fn database_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!("TEST_DATABASE_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
    })
}

async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A new database with the migration applied; returns its URL.
async fn fresh_database() -> String {
    let admin = connect(&database_url()).await;
    let name = format!("impressio_{}", uuid::Uuid::now_v7().simple());
    admin.batch_execute(&format!("create database {name}")).await.unwrap();
    let base = database_url();
    let url = match base.rsplit_once('/') {
        Some((prefix, _)) => format!("{prefix}/{name}"),
        None => panic!("TEST_DATABASE_URL has no database name: {base}"),
    };
    let db = connect(&url).await;
    // The roles Supabase has, so the migration's grants are exercised too.
    db.batch_execute(
        // Roles belong to the cluster and the tests run concurrently: a lost race is fine.
        "do $$ declare r text; begin
            foreach r in array array['service_role', 'anon', 'authenticated'] loop
                begin execute format('create role %I', r); exception when duplicate_object or unique_violation then null; end;
            end loop;
         end $$;",
    )
    .await
    .unwrap();
    // Migrations apply in the order of their names (timestamps), as `supabase db push` does.
    let mut files: Vec<_> = std::fs::read_dir(workspace_root().join("infra/supabase/migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let sql = std::fs::read_to_string(&path).unwrap();
        db.batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{} applies: {e}", path.display()));
    }
    url
}

#[tokio::test]
async fn concurrent_increments_lose_nothing() {
    let url = fresh_database().await;
    let db = connect(&url).await;
    db.execute("insert into organizations (id, plan) values ('org_c', 'pro')", &[])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let c = connect(&url).await;
            let mut seen = Vec::new();
            for _ in 0..50 {
                let row = c
                    .query_one("select increment_events_this_month('org_c')", &[])
                    .await
                    .unwrap();
                seen.push(row.get::<_, i64>(0));
            }
            seen
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (1..=400).collect::<Vec<i64>>(), "every call got its own count");
    let n: i64 = db
        .query_one("select events_this_month from organizations where id = 'org_c'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 400);
}

#[tokio::test]
async fn the_count_rolls_over_at_a_new_month() {
    let url = fresh_database().await;
    let db = connect(&url).await;
    db.execute(
        "insert into organizations (id, plan, events_this_month, billing_period_start)
         values ('org_r', 'free', 9999, (date_trunc('month', timezone('utc', now())) - interval '1 month')::date)",
        &[],
    )
    .await
    .unwrap();
    let first: i64 = db
        .query_one("select increment_events_this_month('org_r')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(first, 1, "a call in a new month starts again");
    let row = db
        .query_one(
            "select events_this_month, billing_period_start = date_trunc('month', timezone('utc', now()))::date
             from organizations where id = 'org_r'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
    assert!(row.get::<_, bool>(1), "the billing period moved to this month");
    let second: i64 = db
        .query_one("select increment_events_this_month('org_r')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(second, 2);
}

#[tokio::test]
async fn unknown_organizations_and_bad_rows_are_refused() {
    let url = fresh_database().await;
    let db = connect(&url).await;
    let err = db
        .query_one("select increment_events_this_month('nobody')", &[])
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("P0002"));
    for bad in [
        "insert into organizations (id, plan) values ('o1', 'gold')",
        "insert into organizations (id, plan) values ('has space', 'free')",
        "insert into organizations (id, webhook_url) values ('o2', 'ftp://x')",
    ] {
        assert!(db.execute(bad, &[]).await.is_err(), "{bad}");
    }
    // The default id is a UUID and the period starts this month.
    let row = db
        .query_one(
            "insert into organizations (name) values ('n') returning id, billing_period_start = date_trunc('month', timezone('utc', now()))::date",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0).len(), 36);
    assert!(row.get::<_, bool>(1));
    // The public roles may not call the function.
    let can: bool = db
        .query_one(
            "select has_function_privilege('anon', 'increment_events_this_month(text, integer, text)', 'execute')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!can);
    let can: bool = db
        .query_one(
            "select has_function_privilege('service_role', 'increment_events_this_month(text, integer, text)', 'execute')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(can);
}

#[tokio::test]
async fn a_batch_is_billed_once_whatever_the_retries() {
    let url = fresh_database().await;
    let db = connect(&url).await;
    db.execute("insert into organizations (id, plan) values ('org_b', 'pro')", &[])
        .await
        .unwrap();
    let bill =
        "select increment_events_this_month(org_uuid => 'org_b', amount => 25, idempotency_key => 'batch-1:org_b')";
    let first: i64 = db.query_one(bill, &[]).await.unwrap().get(0);
    assert_eq!(first, 25);
    // The same batch retried, also concurrently: nothing more is billed.
    let mut retries = Vec::new();
    for _ in 0..6 {
        let url = url.clone();
        retries.push(tokio::spawn(async move {
            connect(&url).await.query_one(bill, &[]).await.unwrap().get::<_, i64>(0)
        }));
    }
    for r in retries {
        assert_eq!(r.await.unwrap(), 25);
    }
    let second: i64 = db
        .query_one(
            "select increment_events_this_month(org_uuid => 'org_b', amount => 5, idempotency_key => 'batch-2:org_b')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(second, 30);
    // Without a key a call counts once per call, as before.
    let third: i64 = db
        .query_one("select increment_events_this_month('org_b')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(third, 31);
    let ledger: i64 = db
        .query_one("select count(*) from billing_ledger", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(ledger, 2);
    // Bad input is refused with its own error.
    let err = db
        .query_one(
            "select increment_events_this_month(org_uuid => 'org_b', amount => 0)",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("22023"));
    let err = db
        .query_one(
            "select increment_events_this_month(org_uuid => 'ghost', amount => 1, idempotency_key => 'k')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("P0002"));
    let pruned: i64 = db
        .query_one("select prune_billing_ledger(interval '0 seconds')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pruned, 2);
}

#[tokio::test]
async fn every_column_the_functions_select_exists() {
    use impressio::org::supabase::{EDGE_COLUMNS, PROCESSOR_COLUMNS};
    let url = fresh_database().await;
    let db = connect(&url).await;
    db.execute(
        "insert into organizations (id, plan, webhook_url, webhook_secret, webhook_secret_previous, server_key_sha256) \
         values ('org_w', 'pro', 'https://hooks.example/in', 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD', \
         'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', \
         'cc0c95b4a860942f543e642689c3aee80fc58b660ba6ea00912b35dc9e8b5e71')",
        &[],
    )
    .await
    .unwrap();
    for columns in [EDGE_COLUMNS, PROCESSOR_COLUMNS] {
        let rows = db
            .query(&format!("select {columns} from organizations where id = 'org_w'"), &[])
            .await
            .unwrap_or_else(|e| panic!("select {columns}: {e}"));
        assert_eq!(rows.len(), 1);
    }
    let previous: Option<String> = db
        .query_one(
            "select webhook_secret_previous from organizations where id = 'org_w'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(previous.as_deref(), Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    // What no Standard Webhooks library could verify is refused when it is written.
    for bad in [
        "raw-text-secret",
        "0123456789abcdef0123456789abcdef",
        "whsec_***",
        "whsec_AAAA",
    ] {
        for column in ["webhook_secret", "webhook_secret_previous"] {
            let e = db
                .execute(
                    &format!("update organizations set {column} = $1 where id = 'org_w'"),
                    &[&bad],
                )
                .await
                .expect_err(bad);
            let e = format!("{e:?}");
            assert!(e.contains("_format"), "{column} = {bad}: {e}");
        }
    }
}

#[tokio::test]
async fn the_server_key_column_holds_only_a_sha256_digest() {
    use impressio::org::supabase::EDGE_COLUMNS;
    use impressio::org::ServerKeyDigest;
    let url = fresh_database().await;
    let db = connect(&url).await;
    let digest = ServerKeyDigest::of_key("local-demo-enterprise-server-key").to_hex();
    // PostgreSQL's own SHA-256 agrees with the edge's.
    let pg: String = db
        .query_one(
            "select encode(sha256(convert_to('local-demo-enterprise-server-key', 'UTF8')), 'hex')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(pg, digest);
    db.execute(
        "insert into organizations (id, plan, server_key_sha256) values ('org_k', 'enterprise', $1), ('org_n', 'enterprise', null)",
        &[&digest],
    )
    .await
    .unwrap();
    for bad in [
        "the-key-itself",
        "CC0C95B4A860942F543E642689C3AEE80FC58B660BA6EA00912B35DC9E8B5E71",
        "cc0c95b4a860942f543e642689c3aee80fc58b660ba6ea00912b35dc9e8b5e7",
        "",
    ] {
        let r = db
            .execute(
                "update organizations set server_key_sha256 = $1 where id = 'org_n'",
                &[&bad],
            )
            .await;
        assert!(r.is_err(), "{bad:?} is refused");
    }
    // The edge's select reads it back as the digest.
    let row = db
        .query_one(
            &format!("select {EDGE_COLUMNS} from organizations where id = 'org_k'"),
            &[],
        )
        .await
        .unwrap();
    let stored: Option<String> = row.get("server_key_sha256");
    assert_eq!(stored.as_deref(), Some(digest.as_str()));
    let none: Option<String> = db
        .query_one("select server_key_sha256 from organizations where id = 'org_n'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(none, None);
}
