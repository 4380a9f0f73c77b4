//! Long pipelines on one client connection against a real PostgreSQL
//! (`POSTWIRE_PG_PORT`, from `.ci/pg-cluster.sh`): more queries than the
//! request queue holds, callers dropped at every stage, callers that wait
//! for answers before reading a stream behind them (answers are handed over
//! in batches), and the connection killed mid-pipeline.

mod real_pg;

use std::time::Duration;

use futures_util::future;
use postwire_server::Value;
use postwire_server::client::{Client, ClientConfig, ClientError, SslMode, connect};

/// More than the request queue (1,024) and the requests written at once
/// together, so some callers wait for room.
const QUERIES: i32 = 5_000;
const LIMIT: Duration = Duration::from_secs(20);

async fn client() -> Option<Client> {
    let config = real_pg::trust_config("POSTWIRE_PG_PORT")?;
    // Plain TCP, as the pipeline bench runs.
    let config = ClientConfig { ssl_mode: SslMode::Disable, ..config };
    Some(connect(&config).await.expect("connect"))
}

async fn double(client: &Client, i: i32) -> Result<i32, ClientError> {
    let result = client.query("SELECT $1::int4 * 2", &[Value::Int4(i)]).await?;
    Ok(result.rows[0].get::<i32>(0)?.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_dropped_anywhere_in_a_long_pipeline_leave_the_connection_usable() {
    let Some(client) = client().await else { return };
    let tasks: Vec<_> = (0..QUERIES)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { double(&client, i).await })
        })
        .collect();
    // Some callers are still waiting for room in the queue, some queued,
    // some written: every third goes, wherever it is.
    tokio::task::yield_now().await;
    for task in tasks.iter().step_by(3) {
        task.abort();
    }
    let answers = tokio::time::timeout(LIMIT, future::join_all(tasks)).await.expect("no hang");
    for (i, answer) in answers.into_iter().enumerate() {
        match answer {
            Ok(value) => assert_eq!(value.unwrap(), 2 * i as i32),
            Err(e) => assert!(e.is_cancelled() && i % 3 == 0, "{i}: {e}"),
        }
    }
    // The same with futures dropped after their first poll, in one task.
    let mut calls: Vec<_> = (0..QUERIES).map(|i| Box::pin(double(&client, i))).collect();
    let _ = futures_util::poll!(future::join_all(calls.iter_mut().step_by(2)));
    let kept: Vec<_> = calls.into_iter().enumerate().filter(|(i, _)| i % 2 == 1).collect();
    let values =
        tokio::time::timeout(LIMIT, future::join_all(kept.into_iter().map(|(_, call)| call))).await.expect("no hang");
    let expected: Vec<i32> = (0..QUERIES).filter(|i| i % 2 == 1).map(|i| 2 * i).collect();
    assert_eq!(values.into_iter().collect::<Result<Vec<_>, _>>().unwrap(), expected);
    assert_eq!(double(&client, 21).await.unwrap(), 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_awaited_before_reading_a_stream_behind_them_arrive() {
    let Some(client) = client().await else { return };
    for _ in 0..5 {
        // The last answers and the stream's first rows may come in one
        // read; the stream's buffer fills before this caller reads it.
        let (answers, stream) = tokio::time::timeout(LIMIT, async {
            tokio::join!(
                future::join_all((0..200).map(|i| double(&client, i))),
                client.query_stream("SELECT generate_series(1, 200000)", &[])
            )
        })
        .await
        .expect("the answers came while the stream waited");
        assert_eq!(
            answers.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
            (0..200).map(|i| 2 * i).collect::<Vec<_>>()
        );
        let mut stream = stream.unwrap();
        let mut n = 0;
        while stream.next().await.unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 200_000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_killed_mid_pipeline_ends_every_call_with_an_answer() {
    let (Some(client), Some(killer)) = (client().await, client().await) else { return };
    let pid = client.query("SELECT pg_backend_pid()", &[]).await.unwrap().rows[0].get::<i32>(0).unwrap().unwrap();
    let calls = future::join_all((0..4 * QUERIES).map(|i| double(&client, i)));
    let kill = async {
        tokio::task::yield_now().await;
        killer.query("SELECT pg_terminate_backend($1)", &[Value::Int4(pid)]).await.unwrap();
    };
    let (answers, ()) = tokio::time::timeout(LIMIT, async { tokio::join!(calls, kill) }).await.expect("no hang");
    let failed = answers.iter().filter(|a| a.is_err()).count();
    assert!(failed > 0, "the connection was killed mid-pipeline");
    for (i, answer) in answers.iter().enumerate() {
        if let Ok(value) = answer {
            assert_eq!(*value, 2 * i as i32);
        }
    }
    let err = client.simple_query("SELECT 1").await.unwrap_err();
    assert!(matches!(err, ClientError::Closed), "{err:?}");
    assert!(client.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_tiny_answers_larger_than_the_window_completes() {
    let Some(client) = client().await else { return };
    // Empty queries: 10 bytes of answer each, so the server's unflushed
    // output buffer can hold most of the client's window; the batch's Flush
    // must still go out when the window is full.
    let mut batch = client.batch();
    for _ in 0..5_000 {
        batch.query("", &[]).unwrap();
    }
    let results = tokio::time::timeout(LIMIT, batch.run()).await.expect("no hang").unwrap();
    assert_eq!(results.len(), 5_000);
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(double(&client, 4).await.unwrap(), 8);
}
