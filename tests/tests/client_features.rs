//! The tokio client's features against a real PostgreSQL (`.ci/pg-cluster.sh`
//! exports `POSTWIRE_PG_PORT`; without it these tests are skipped): row
//! streaming with backpressure, batches, COPY both ways, LISTEN/NOTIFY,
//! notices, cancel, FunctionCall, the statement cache, large values,
//! transaction status and connection loss.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use postwire_server::Value;
use postwire_server::client::{Client, ClientError, TransactionStatus, connect};
use tokio::time::timeout;

mod real_pg;

/// A hang detector, not a timing assertion.
const LIMIT: Duration = Duration::from_secs(60);

async fn client() -> Option<Client> {
    let config = real_pg::trust_config("POSTWIRE_PG_PORT")?;
    Some(connect(&config).await.expect("connect to the test cluster"))
}

async fn pid_of(client: &Client) -> i32 {
    client.query("SELECT pg_backend_pid()", &[]).await.unwrap().rows[0].get::<i32>(0).unwrap().unwrap()
}

#[tokio::test]
async fn row_stream_holds_back_the_server_until_read() {
    let Some(client) = client().await else { return };
    let Some(observer) = self::client().await else { return };
    let pid = pid_of(&client).await;
    const ROWS: i32 = 500_000;
    let mut rows = client
        .query_stream("SELECT i, repeat('x', 100) FROM generate_series(1, $1) AS i", &[Value::Int4(ROWS)])
        .await
        .unwrap();
    let first = timeout(LIMIT, rows.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(first.get::<i32>(0).unwrap(), Some(1));
    assert_eq!(rows.columns()[1].name, "repeat");
    // The reader pauses: ~55 MB of result cannot fit the stream's buffer,
    // so the server must end up blocked writing to us.
    let mut blocked = false;
    for _ in 0..200 {
        let state = observer
            .query("SELECT wait_event FROM pg_stat_activity WHERE pid = $1", &[Value::Int4(pid)])
            .await
            .unwrap();
        if state.rows[0].text(0) == Some("ClientWrite") {
            blocked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(blocked, "the server never waited for the client: the result was buffered");
    let mut count = 1;
    let mut last = 1;
    while let Some(row) = timeout(LIMIT, rows.next()).await.unwrap().unwrap() {
        last = row.get::<i32>(0).unwrap().unwrap();
        count += 1;
    }
    assert_eq!((count, last), (ROWS, ROWS));
    assert_eq!(rows.rows_affected(), Some(ROWS as u64));
    // The connection goes on; a stream dropped half-read discards the rest.
    let mut rows = client.simple_query_stream("SELECT generate_series(1, 100000)").await.unwrap();
    assert_eq!(rows.next().await.unwrap().unwrap().text(0), Some("1"));
    drop(rows);
    let after = client.query("SELECT 7::int8", &[]).await.unwrap();
    assert_eq!(after.rows[0].get::<i64>(0).unwrap(), Some(7));
    // As a futures Stream, pipelined behind another query.
    let stream = client.query_stream("SELECT generate_series(1, 10)", &[]).await.unwrap();
    let behind = client.query("SELECT 2::int4", &[]);
    let (values, behind) =
        tokio::join!(stream.map(|r| r.unwrap().get::<i32>(0).unwrap().unwrap()).collect::<Vec<_>>(), behind);
    assert_eq!(values, (1..=10).collect::<Vec<_>>());
    assert_eq!(behind.unwrap().rows[0].get::<i32>(0).unwrap(), Some(2));
}

#[tokio::test]
async fn batch_runs_in_one_implicit_transaction() {
    let Some(client) = client().await else { return };
    client.simple_query("CREATE TEMP TABLE batched (n int4 PRIMARY KEY)").await.unwrap();
    // More queries than the machine tracks at once: written in parts.
    let mut batch = client.batch();
    for i in 0..3000 {
        batch.query("INSERT INTO batched VALUES ($1)", &[Value::Int4(i)]).unwrap();
    }
    batch.query("SELECT count(*) FROM batched", &[]).unwrap();
    let results = timeout(LIMIT, batch.run()).await.unwrap().unwrap();
    assert_eq!(results.len(), 3001);
    assert!(results[..3000].iter().all(|r| r.as_ref().unwrap().rows_affected() == 1));
    assert_eq!(results[3000].as_ref().unwrap().rows[0].get::<i64>(0).unwrap(), Some(3000));
    // A failure in the middle: it reports the error, the rest is skipped,
    // and the whole batch is rolled back.
    let mut batch = client.batch();
    batch.query("INSERT INTO batched VALUES ($1)", &[Value::Int4(5000)]).unwrap();
    batch.query("INSERT INTO batched VALUES ($1)", &[Value::Int4(1)]).unwrap();
    batch.query("INSERT INTO batched VALUES ($1)", &[Value::Int4(5001)]).unwrap();
    let results = batch.run().await.unwrap();
    assert!(results[0].is_ok());
    assert_eq!(results[1].as_ref().unwrap_err().code(), Some("23505"));
    assert!(matches!(results[2], Err(ClientError::Aborted)));
    let count = client.query("SELECT count(*) FROM batched WHERE n >= 5000", &[]).await.unwrap();
    assert_eq!(count.rows[0].get::<i64>(0).unwrap(), Some(0));
}

#[tokio::test]
async fn copy_in_and_out_text_csv_binary() {
    let Some(client) = client().await else { return };
    client.simple_query("CREATE TEMP TABLE items (id int4, name text)").await.unwrap();
    let csv: String = (1..=10_000).map(|i| format!("{i},item {i}\n")).collect();
    let mut copy = client.copy_in("COPY items FROM STDIN (FORMAT csv)").await.unwrap();
    // Pieces that split rows, and one larger than a CopyData message.
    let (head, tail) = csv.split_at(7);
    copy.send(head.to_owned()).await.unwrap();
    copy.send(tail.to_owned()).await.unwrap();
    assert_eq!(timeout(LIMIT, copy.finish()).await.unwrap().unwrap(), 10_000);
    let mut out = client.copy_out("COPY (SELECT * FROM items ORDER BY id) TO STDOUT (FORMAT csv)").await.unwrap();
    let mut back = Vec::new();
    while let Some(data) = out.next().await.unwrap() {
        back.extend_from_slice(&data);
    }
    assert_eq!(String::from_utf8(back).unwrap(), csv);
    assert_eq!(out.rows(), Some(10_000));
    // Binary: the PGCOPY signature, and round-trips through COPY FROM.
    let out = client.copy_out("COPY (SELECT * FROM items WHERE id <= 3) TO STDOUT (FORMAT binary)").await.unwrap();
    assert_eq!(out.format(), postwire_server::codec::Format::Binary);
    let binary: Vec<u8> = out.map(|d| d.unwrap()).collect::<Vec<_>>().await.concat();
    assert!(binary.starts_with(b"PGCOPY\n\xff\r\n\0"));
    let mut copy = client.copy_in("COPY items FROM STDIN (FORMAT binary)").await.unwrap();
    copy.send(binary).await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), 3);
    // As a futures Sink: a stream of pieces forwarded, closing finishes.
    let mut copy = client.copy_in("COPY items FROM STDIN").await.unwrap();
    let pieces = futures_util::stream::iter((20_001..=20_100).map(|i| Ok(bytes::Bytes::from(format!("{i}\tsunk\n")))));
    futures_util::SinkExt::send_all(&mut copy, &mut Box::pin(pieces)).await.unwrap();
    futures_util::SinkExt::close(&mut copy).await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), 100);
    // Bad data: the server's error, and the session goes on.
    let mut copy = client.copy_in("COPY items FROM STDIN").await.unwrap();
    copy.send("1\tfine\nnot a number\tbad\n").await.unwrap();
    let err = copy.finish().await.unwrap_err();
    assert_eq!(err.code(), Some("22P02"));
    // Aborted by the client: nothing copied.
    let mut copy = client.copy_in("COPY items FROM STDIN").await.unwrap();
    copy.send("99999\tnever\n").await.unwrap();
    copy.abort("changed my mind").await.unwrap();
    // Dropped without finishing: aborted too.
    let copy = client.copy_in("COPY items FROM STDIN").await.unwrap();
    drop(copy);
    let count = client.query("SELECT count(*) FROM items WHERE id = 99999", &[]).await.unwrap();
    assert_eq!(count.rows[0].get::<i64>(0).unwrap(), Some(0));
    // COPY through the wrong call is an error, not a hang.
    assert!(client.copy_in("SELECT 1").await.is_err());
    let err = timeout(LIMIT, client.simple_query("COPY items FROM STDIN")).await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some("57014"), "{err}");
    assert_eq!(client.transaction_status(), TransactionStatus::Idle);
}

#[tokio::test]
async fn notifications_and_notices() {
    let Some(listener) = client().await else { return };
    let Some(notifier) = client().await else { return };
    let mut notifications = listener.notifications().expect("the first call takes the channel");
    assert!(listener.notifications().is_none());
    listener.simple_query("LISTEN jobs").await.unwrap();
    notifier.simple_query("NOTIFY jobs, 'build 42'").await.unwrap();
    let note = timeout(LIMIT, notifications.recv()).await.unwrap().unwrap();
    assert_eq!((note.channel.as_str(), note.payload.as_str()), ("jobs", "build 42"));
    assert_eq!(note.process_id, pid_of(&notifier).await);
    assert_eq!(listener.dropped_notifications(), 0);

    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = heard.clone();
    listener.on_notice(move |notice| sink.lock().unwrap().push((notice.code.clone(), notice.message.clone())));
    listener.simple_query("DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$").await.unwrap();
    assert_eq!(heard.lock().unwrap().as_slice(), [("00000".to_owned(), "hello 42".to_owned())]);
}

#[tokio::test]
async fn cancel_from_another_task() {
    let Some(client) = client().await else { return };
    let token = client.cancel_token().expect("a cancel key");
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel().await
    });
    let err = timeout(LIMIT, client.simple_query("SELECT pg_sleep(30)")).await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some("57014"), "{err}");
    canceller.await.unwrap().unwrap();
    assert_eq!(client.query("SELECT 1::int4", &[]).await.unwrap().rows[0].get::<i32>(0).unwrap(), Some(1));
}

#[tokio::test]
async fn function_call_statement_cache_and_large_values() {
    let Some(client) = client().await else { return };
    let oid = client.query("SELECT 'int4pl'::regproc::oid", &[]).await.unwrap().rows[0].get::<u32>(0).unwrap().unwrap();
    let sum = client.function_call(oid, &[Value::Int4(2), Value::Int4(40)]).await.unwrap();
    assert_eq!(sum, Some(42i32.to_be_bytes().to_vec()));
    let err = client.function_call(oid, &[Value::Int4(i32::MAX), Value::Int4(1)]).await.unwrap_err();
    assert_eq!(err.code(), Some("22003"));

    // 300 distinct statements: the cache keeps 256 and closes the rest.
    for i in 0..300 {
        let sql = format!("SELECT $1::int4 + {i}");
        let result = client.query(&sql, &[Value::Int4(1)]).await.unwrap();
        assert_eq!(result.rows[0].get::<i32>(0).unwrap(), Some(1 + i));
    }
    let count = "SELECT count(*) FROM pg_prepared_statements";
    let prepared = client.query(count, &[]).await.unwrap().rows[0].get::<i64>(0).unwrap().unwrap();
    assert!((200..=256).contains(&prepared), "{prepared} statements prepared");
    let again = client.query(count, &[]).await.unwrap().rows[0].get::<i64>(0).unwrap().unwrap();
    assert_eq!(again, prepared, "a repeated query reuses its statement");
    // A failed Parse is not cached: the corrected table makes it work.
    assert_eq!(client.query("SELECT * FROM later", &[]).await.unwrap_err().code(), Some("42P01"));
    client.simple_query("CREATE TEMP TABLE later (x int4)").await.unwrap();
    assert!(client.query("SELECT * FROM later", &[]).await.unwrap().rows.is_empty());

    // A parameter far larger than the output buffer, and a large result.
    let big = "y".repeat(3_000_000);
    let length = client.query("SELECT length($1)", &[Value::Text(big)]).await.unwrap();
    assert_eq!(length.rows[0].get::<i32>(0).unwrap(), Some(3_000_000));
    let wide = client.query("SELECT repeat('z', 5000000)", &[]).await.unwrap();
    assert_eq!(wide.rows[0].get::<&str>(0).unwrap().map(str::len), Some(5_000_000));
    // Text parameters are typed by the server, like literals.
    let typed = client.query("SELECT $1 + 1", &[Value::Text("41".into())]).await.unwrap();
    assert_eq!(typed.rows[0].get::<i32>(0).unwrap(), Some(42));
}

#[tokio::test]
async fn transaction_status_and_connection_loss() {
    let Some(client) = client().await else { return };
    let Some(killer) = self::client().await else { return };
    client.simple_query("BEGIN").await.unwrap();
    assert_eq!(client.transaction_status(), TransactionStatus::InTransaction);
    assert!(client.simple_query("SELECT 1/0").await.is_err());
    assert_eq!(client.transaction_status(), TransactionStatus::Failed);
    assert_eq!(client.simple_query("SELECT 1").await.unwrap_err().code(), Some("25P02"));
    client.simple_query("ROLLBACK").await.unwrap();
    assert_eq!(client.transaction_status(), TransactionStatus::Idle);
    assert!(client.parameter("server_version").is_some());

    // The backend is killed while queries are in flight: each gets an
    // error, none hangs, and the handle reports the loss.
    let pid = pid_of(&client).await;
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.simple_query("SELECT pg_sleep(0.2)").await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    killer.query("SELECT pg_terminate_backend($1)", &[Value::Int4(pid)]).await.unwrap();
    for call in calls {
        let outcome = timeout(LIMIT, call).await.unwrap().unwrap();
        match outcome {
            Err(ClientError::Closed) => {}
            Err(e) => assert_eq!(e.code(), Some("57P01"), "{e}"),
            Ok(_) => {}
        }
    }
    assert!(matches!(timeout(LIMIT, client.simple_query("SELECT 1")).await.unwrap(), Err(ClientError::Closed)));
    assert!(client.is_closed());
}

#[tokio::test]
async fn streaming_and_copy_over_tls() {
    let Some(config) = real_pg::trust_config("POSTWIRE_PG_TLS_PORT") else { return };
    let client = connect(&config).await.unwrap();
    assert!(client.is_tls());
    let mut rows = client.query_stream("SELECT generate_series(1, 200000)", &[]).await.unwrap();
    let mut n = 0;
    while let Some(row) = timeout(LIMIT, rows.next()).await.unwrap().unwrap() {
        n += 1;
        assert_eq!(row.get::<i32>(0).unwrap(), Some(n));
    }
    assert_eq!(n, 200_000);
    client.simple_query("CREATE TEMP TABLE blobs (b text)").await.unwrap();
    let mut copy = client.copy_in("COPY blobs FROM STDIN").await.unwrap();
    for _ in 0..20 {
        copy.send(format!("{}\n", "q".repeat(100_000))).await.unwrap();
    }
    assert_eq!(timeout(LIMIT, copy.finish()).await.unwrap().unwrap(), 20);
    let total = client.query("SELECT sum(length(b))::int8 FROM blobs", &[]).await.unwrap();
    assert_eq!(total.rows[0].get::<i64>(0).unwrap(), Some(2_000_000));
}

#[tokio::test]
async fn postgres_types_parameters_and_cells() {
    use postgres_types::Type;
    let Some(client) = client().await else { return };
    let missing: Option<i32> = None;
    let result = client
        .query_typed(
            "SELECT $1 || '!', $2 + 1, $3, ARRAY[$2, $2]",
            &[(&"hi", Type::TEXT), (&41i64, Type::INT8), (&missing, Type::INT4)],
        )
        .await
        .unwrap();
    let row = &result.rows[0];
    assert_eq!(row.get_sql::<String>(0).unwrap(), "hi!");
    assert_eq!(row.get_sql::<i64>(1).unwrap(), 42);
    assert_eq!(row.get_sql::<Option<i32>>(2).unwrap(), None);
    assert_eq!(row.get_sql::<Vec<i64>>(3).unwrap(), [41, 41]);
    // A type that does not fit the column is an error, not a panic.
    assert!(row.get_sql::<bool>(0).is_err());
    // Simple-query rows are text: FromSql does not apply.
    let text = client.simple_query("SELECT 1").await.unwrap();
    assert!(text.rows[0].get_sql::<i32>(0).is_err());
    // A NUL cannot be sent in SQL text; the connection is unharmed.
    assert!(matches!(client.simple_query("SELECT 1\0").await, Err(ClientError::Value(_))));
    assert_eq!(client.query("SELECT 1::int4", &[]).await.unwrap().rows[0].get::<i32>(0).unwrap(), Some(1));
}
