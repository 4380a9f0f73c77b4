//! postwire's client against postwire's own server (the `sqlite-server`
//! example's engine), in process over the loopback and over TCP: queries
//! with binary results, streaming, batches, COPY, LISTEN/NOTIFY,
//! transactions and cancel, both ends of the protocol from this project.

use std::time::Duration;

use postwire_codec::auth::ScramVerifier;
use postwire_examples::sqlite::SqliteService;
use postwire_server::client::{Client, ClientConfig, ClientError, SslMode, TransactionStatus, connect, connect_with};
use postwire_server::{Config, Credentials, Server, StaticUsers, TlsMode, Value};
use tokio::time::timeout;

/// A hang detector, not a timing assertion.
const LIMIT: Duration = Duration::from_secs(60);

fn server() -> Server<SqliteService, StaticUsers> {
    let verifier = ScramVerifier::derive(b"postwire", b"0123456789abcdef", 4096).unwrap();
    let users = StaticUsers::new().user("postwire", Credentials::Scram(verifier.to_text().to_string()));
    Server::new(SqliteService::in_memory().unwrap(), users, Config::default())
}

fn config(port: u16) -> ClientConfig {
    ClientConfig {
        host: "127.0.0.1".into(),
        port,
        user: "postwire".into(),
        password: Some("postwire".into()),
        database: "postwire".into(),
        ssl_mode: SslMode::Disable,
        ..ClientConfig::default()
    }
}

async fn loopback(server: &Server<SqliteService, StaticUsers>) -> Client {
    connect_with(server.connect_loopback(), &config(0)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_loopback() {
    let server = server();
    let client = loopback(&server).await;
    client
        .simple_query("CREATE TABLE items (id integer PRIMARY KEY, name text, price double precision)")
        .await
        .unwrap();
    // A batch with one Sync.
    let mut batch = client.batch();
    for i in 1..=100 {
        batch
            .query(
                "INSERT INTO items VALUES ($1, $2, $3)",
                &[Value::Int4(i), format!("item {i}").into(), Value::Float8(f64::from(i) / 4.0)],
            )
            .unwrap();
    }
    let results = timeout(LIMIT, batch.run()).await.unwrap().unwrap();
    assert!(results.iter().all(|r| r.as_ref().unwrap().rows_affected() == 1));
    // Binary results decoded in place.
    let result = client.query("SELECT id, name, price FROM items WHERE id = $1", &[Value::Int4(6)]).await.unwrap();
    let row = &result.rows[0];
    assert_eq!(
        (row.get::<i32>(0).unwrap(), row.get::<&str>(1).unwrap(), row.get::<f64>(2).unwrap()),
        (Some(6), Some("item 6"), Some(1.5))
    );
    // Streamed.
    let mut rows = client.query_stream("SELECT id FROM items ORDER BY id", &[]).await.unwrap();
    let mut ids = Vec::new();
    while let Some(row) = rows.next().await.unwrap() {
        ids.push(row.get::<i32>(0).unwrap().unwrap());
    }
    assert_eq!(ids, (1..=100).collect::<Vec<_>>());
    // COPY both ways in CSV.
    let mut copy = client.copy_in("COPY items FROM STDIN (FORMAT csv)").await.unwrap();
    copy.send("101,pear,2.5\n102,plum,").await.unwrap();
    copy.send("3\n").await.unwrap();
    assert_eq!(timeout(LIMIT, copy.finish()).await.unwrap().unwrap(), 2);
    let mut out = client
        .copy_out("COPY (SELECT id, name FROM items WHERE id > 100 ORDER BY id) TO STDOUT (FORMAT csv)")
        .await
        .unwrap();
    let mut csv = Vec::new();
    while let Some(data) = out.next().await.unwrap() {
        csv.extend_from_slice(&data);
    }
    assert_eq!(String::from_utf8(csv).unwrap(), "101,pear\n102,plum\n");
    // Transactions and their status.
    client.simple_query("BEGIN").await.unwrap();
    assert_eq!(client.transaction_status(), TransactionStatus::InTransaction);
    client.simple_query("INSERT INTO items VALUES (500, 'x', 1)").await.unwrap();
    assert_eq!(client.transaction_status(), TransactionStatus::InTransaction);
    assert_eq!(client.simple_query("SELECT * FROM nowhere").await.unwrap_err().code(), Some("42P01"));
    assert_eq!(client.transaction_status(), TransactionStatus::Failed);
    client.simple_query("ROLLBACK").await.unwrap();
    assert_eq!(client.transaction_status(), TransactionStatus::Idle);
    let gone = client.query("SELECT count(*) FROM items WHERE id = 500", &[]).await.unwrap();
    assert_eq!(gone.rows[0].get::<i64>(0).unwrap(), Some(0), "ROLLBACK undid the insert");
    // A failure in a batch: its error, then the rest skipped.
    let mut batch = client.batch();
    batch.query("INSERT INTO items VALUES ($1, 'dup', 0)", &[Value::Int4(1)]).unwrap();
    batch.query("SELECT 1", &[]).unwrap();
    let results = batch.run().await.unwrap();
    assert_eq!(results[0].as_ref().unwrap_err().code(), Some("23505"));
    assert!(matches!(results[1], Err(ClientError::Aborted)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_and_cancel_over_tcp() {
    let server = server();
    let port = server.listen_tcp("127.0.0.1:0", TlsMode::Disabled).await.unwrap().port();
    let listener = connect(&config(port)).await.unwrap();
    let notifier = connect(&config(port)).await.unwrap();
    let mut notifications = listener.notifications().unwrap();
    listener.simple_query("LISTEN jobs").await.unwrap();
    notifier.simple_query("NOTIFY jobs, 'ready'").await.unwrap();
    let note = timeout(LIMIT, notifications.recv()).await.unwrap().unwrap();
    assert_eq!((note.channel.as_str(), note.payload.as_str()), ("jobs", "ready"));

    let token = listener.cancel_token().expect("a cancel key");
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel().await
    });
    let err = timeout(LIMIT, listener.simple_query("SELECT pg_sleep(30)")).await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some("57014"), "{err}");
    canceller.await.unwrap().unwrap();
    assert_eq!(listener.query("SELECT 2", &[]).await.unwrap().rows[0].get::<i32>(0).unwrap(), Some(2));
}
