//! `Client::transaction`: the statements BEGIN options, commit, rollback and
//! savepoints send (checked against a recording server), rollback on drop
//! ahead of later calls, and the same against a real PostgreSQL when
//! `POSTWIRE_PG_PORT` is set (`.ci/pg-cluster.sh`).

mod real_pg;
mod recording;

use std::time::Duration;

use postwire_server::client::{ClientError, IsolationLevel, TransactionStatus, connect};

/// A hang detector, not a timing requirement.
const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn commit_rollback_and_nested_savepoints_send_quoted_statements() {
    let (server, recorder) = recording::server();
    let mut client = recording::connect(&server).await;
    let mut tx = client.transaction().await.unwrap();
    assert_eq!(tx.transaction_status(), TransactionStatus::InTransaction);
    assert_eq!(tx.savepoint_name(), None);
    tx.simple_query("INSERT 1").await.unwrap();
    let released = tx.savepoint("a\"b").await.unwrap();
    assert_eq!(released.savepoint_name(), Some("\"a\"\"b\""));
    released.commit().await.unwrap();
    tx.savepoint("undone").await.unwrap().rollback().await.unwrap();
    {
        let mut outer = tx.savepoint("outer").await.unwrap();
        let inner = outer.savepoint("inner").await.unwrap();
        inner.simple_query("INNER").await.unwrap();
        inner.commit().await.unwrap();
        outer.commit().await.unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(client.transaction_status(), TransactionStatus::Idle);
    assert_eq!(
        recorder.sent_by(0),
        [
            "BEGIN",
            "INSERT 1",
            "SAVEPOINT \"a\"\"b\"",
            "RELEASE SAVEPOINT \"a\"\"b\"",
            "SAVEPOINT \"undone\"",
            "ROLLBACK TO SAVEPOINT \"undone\"; RELEASE SAVEPOINT \"undone\"",
            "SAVEPOINT \"outer\"",
            "SAVEPOINT \"inner\"",
            "INNER",
            "RELEASE SAVEPOINT \"inner\"",
            "RELEASE SAVEPOINT \"outer\"",
            "COMMIT",
        ]
    );
    let tx = client.transaction().await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(recorder.sent_by(0)[12..], ["BEGIN", "ROLLBACK"]);
}

#[tokio::test]
async fn the_builder_spells_out_isolation_level_access_mode_and_deferrable() {
    let (server, recorder) = recording::server();
    let mut client = recording::connect(&server).await;
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::Serializable)
        .read_only(true)
        .deferrable(true)
        .start()
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(false)
        .deferrable(false)
        .start()
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let tx = client.build_transaction().isolation_level(IsolationLevel::ReadCommitted).start().await.unwrap();
    tx.commit().await.unwrap();
    let tx = client.build_transaction().isolation_level(IsolationLevel::ReadUncommitted).start().await.unwrap();
    tx.commit().await.unwrap();
    let begins: Vec<String> = recorder.sent_by(0).into_iter().filter(|sql| sql != "COMMIT").collect();
    assert_eq!(
        begins,
        [
            "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE",
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ WRITE NOT DEFERRABLE",
            "BEGIN ISOLATION LEVEL READ COMMITTED",
            "BEGIN ISOLATION LEVEL READ UNCOMMITTED",
        ]
    );
}

#[tokio::test]
async fn a_dropped_transaction_rolls_back_before_the_next_call_runs() {
    let (server, recorder) = recording::server();
    let mut client = recording::connect(&server).await;
    {
        let mut tx = client.transaction().await.unwrap();
        let savepoint = tx.savepoint("s").await.unwrap();
        assert!(savepoint.simple_query("FAIL").await.is_err());
        assert_eq!(savepoint.transaction_status(), TransactionStatus::Failed);
        // Both dropped here, savepoint first; no await in between.
    }
    let after = tokio::time::timeout(LIMIT, client.simple_query("AFTER")).await.expect("no hang");
    after.unwrap();
    assert_eq!(client.transaction_status(), TransactionStatus::Idle);
    assert_eq!(
        recorder.sent_by(0),
        [
            "BEGIN",
            "SAVEPOINT \"s\"",
            "FAIL",
            "ROLLBACK TO SAVEPOINT \"s\"; RELEASE SAVEPOINT \"s\"",
            "ROLLBACK",
            "AFTER",
        ]
    );
}

#[tokio::test]
async fn a_savepoint_name_with_nul_is_refused_and_the_connection_goes_on() {
    let (server, recorder) = recording::server();
    let mut client = recording::connect(&server).await;
    let mut tx = client.transaction().await.unwrap();
    let err = tx.savepoint("a\0b").await.unwrap_err();
    assert!(matches!(err, ClientError::Value(_)), "{err:?}");
    tx.commit().await.unwrap();
    assert!(!client.is_closed());
    assert_eq!(recorder.sent_by(0), ["BEGIN", "COMMIT"]);
}

#[tokio::test]
async fn transactions_against_a_real_postgresql() {
    let Some(config) = real_pg::trust_config("POSTWIRE_PG_PORT") else { return };
    let mut client = connect(&config).await.unwrap();
    client.simple_query("CREATE TEMP TABLE items (n int)").await.unwrap();
    let count = |client: &postwire_server::client::Client| {
        let client = client.clone();
        async move {
            let result = client.simple_query("SELECT count(*) FROM items").await.unwrap();
            result.rows[0].get::<i64>(0).unwrap().unwrap()
        }
    };

    let mut tx = client.transaction().await.unwrap();
    tx.simple_query("INSERT INTO items VALUES (1)").await.unwrap();
    {
        // A quote in the name, and an error inside the savepoint.
        let savepoint = tx.savepoint("it's \"quoted\"").await.unwrap();
        savepoint.simple_query("INSERT INTO items VALUES (2)").await.unwrap();
        let err = savepoint.simple_query("SELECT 1/0").await.unwrap_err();
        assert_eq!(err.code(), Some("22012"));
        savepoint.rollback().await.unwrap();
    }
    assert_eq!(tx.transaction_status(), TransactionStatus::InTransaction);
    tx.savepoint("kept").await.unwrap().simple_query("INSERT INTO items VALUES (3)").await.unwrap();
    // The savepoint above was dropped (rolled back): only 1 stays, then 4.
    let kept = tx.savepoint("kept").await.unwrap();
    kept.simple_query("INSERT INTO items VALUES (4)").await.unwrap();
    kept.commit().await.unwrap();
    tx.commit().await.unwrap();
    let rows = client.simple_query("SELECT n FROM items ORDER BY n").await.unwrap();
    let values: Vec<i32> = rows.rows.iter().map(|r| r.get::<i32>(0).unwrap().unwrap()).collect();
    assert_eq!(values, [1, 4]);

    // Dropped without commit: rolled back before the next statement.
    {
        let tx = client.transaction().await.unwrap();
        tx.simple_query("INSERT INTO items VALUES (5)").await.unwrap();
    }
    assert_eq!(count(&client).await, 2);
    assert_eq!(client.transaction_status(), TransactionStatus::Idle);

    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::Serializable)
        .read_only(true)
        .deferrable(true)
        .start()
        .await
        .unwrap();
    let show = tx.simple_query("SHOW transaction_isolation; SHOW transaction_read_only").await.unwrap();
    let shown: Vec<&str> = show.rows.iter().map(|r| r.text(0).unwrap()).collect();
    assert_eq!(shown, ["serializable", "on"]);
    // (Temporary tables stay writable in a read-only transaction.)
    let err = tx.simple_query("CREATE TABLE postwire_read_only_probe (n int)").await.unwrap_err();
    assert_eq!(err.code(), Some("25006"), "read-only transaction");
    tx.rollback().await.unwrap();
    assert_eq!(count(&client).await, 2);
}
