//! `client::Pool` over postwire's in-process loopback: reuse (LIFO),
//! the size limit, waiters in arrival order, the acquire timeout, checks on
//! checkout (closed, mid-transaction, long idle, expired), expired idle
//! connections closed in the background, connect failures,
//! and connecting with no lock held.

mod real_pg;
mod recording;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postwire_server::client::{
    Client, ClientError, Pool, PoolConfig, PoolError, PoolStatus, TransactionStatus, connect_with,
};
use postwire_server::{Server, Trust};
use recording::Recorder;
use tokio::sync::{Semaphore, mpsc};

/// A hang detector, not a timing requirement.
const LIMIT: Duration = Duration::from_secs(10);

fn pool_config(max_size: usize) -> PoolConfig {
    PoolConfig { max_size, check_after_idle: None, ..PoolConfig::default() }
}

/// A pool whose connections go to `server`'s loopback.
fn pool_on(server: &Server<Recorder, Trust>, config: PoolConfig) -> Pool {
    let server = server.clone();
    Pool::with_connector(config, move || {
        let stream = server.connect_loopback();
        async move { connect_with(stream, &recording::client_config()).await }
    })
}

async fn get(pool: &Pool) -> postwire_server::client::PooledClient {
    tokio::time::timeout(LIMIT, pool.get()).await.expect("no hang").expect("a connection")
}

/// Waits (a bounded number of turns) until `pool` has `waiting` waiters.
async fn until_waiting(pool: &Pool, waiting: usize) {
    for _ in 0..10_000 {
        if pool.status().waiting == waiting {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("never {waiting} waiting: {:?}", pool.status());
}

#[tokio::test]
async fn idle_connections_are_reused_last_in_first_out() {
    let (server, recorder) = recording::server();
    let pool = pool_on(&server, pool_config(3));
    assert_eq!(pool.status(), PoolStatus { size: 0, idle: 0, waiting: 0 });
    let first = get(&pool).await;
    let second = get(&pool).await;
    assert_eq!((first.connection_id(), second.connection_id()), (0, 1));
    assert_eq!(pool.status(), PoolStatus { size: 2, idle: 0, waiting: 0 });
    first.simple_query("ONE").await.unwrap();
    drop(first);
    drop(second);
    assert_eq!(pool.status(), PoolStatus { size: 2, idle: 2, waiting: 0 });
    let again = get(&pool).await;
    assert_eq!(again.connection_id(), 1, "the last one returned comes out first");
    let and_again = get(&pool).await;
    assert_eq!(and_again.connection_id(), 0);
    and_again.simple_query("TWO").await.unwrap();
    assert_eq!(pool.status(), PoolStatus { size: 2, idle: 0, waiting: 0 });
    assert_eq!(recorder.sent_by(0), ["ONE", "TWO"]);
}

#[tokio::test]
async fn at_most_max_size_and_waiters_are_served_in_arrival_order() {
    let (server, _) = recording::server();
    let pool = pool_on(&server, pool_config(1));
    let held = get(&pool).await;
    let (order, mut served) = mpsc::unbounded_channel();
    let mut waiters = Vec::new();
    for name in ["A", "B", "C"] {
        let (waiter_pool, order) = (pool.clone(), order.clone());
        waiters.push(tokio::spawn(async move {
            let client = get(&waiter_pool).await;
            client.simple_query(name).await.unwrap();
            order.send((name, client.connection_id())).unwrap();
        }));
        until_waiting(&pool, waiters.len()).await;
    }
    assert_eq!(pool.status(), PoolStatus { size: 1, idle: 0, waiting: 3 });
    drop(held);
    for waiter in waiters {
        tokio::time::timeout(LIMIT, waiter).await.expect("no hang").unwrap();
    }
    let mut got = Vec::new();
    while let Ok(entry) = served.try_recv() {
        got.push(entry);
    }
    assert_eq!(got, [("A", 0), ("B", 0), ("C", 0)]);
    assert_eq!(pool.status(), PoolStatus { size: 1, idle: 1, waiting: 0 });
}

#[tokio::test]
async fn the_acquire_timeout_is_an_error_not_a_hang() {
    let (server, _) = recording::server();
    let pool = pool_on(&server, PoolConfig { acquire_timeout: Some(Duration::from_millis(50)), ..pool_config(1) });
    let held = get(&pool).await;
    let err = tokio::time::timeout(LIMIT, pool.get()).await.expect("no hang").unwrap_err();
    assert!(matches!(err, PoolError::Timeout), "{err:?}");
    assert_eq!(pool.status(), PoolStatus { size: 1, idle: 0, waiting: 0 });
    drop(held);
    assert_eq!(get(&pool).await.connection_id(), 0);
}

#[tokio::test]
async fn a_connection_returned_inside_a_transaction_is_rolled_back_on_checkout() {
    let (server, recorder) = recording::server();
    let pool = pool_on(&server, pool_config(1));
    let client = get(&pool).await;
    client.simple_query("BEGIN").await.unwrap();
    assert_eq!(client.transaction_status(), TransactionStatus::InTransaction);
    drop(client);
    let client = get(&pool).await;
    assert_eq!(client.connection_id(), 0);
    assert_eq!(client.transaction_status(), TransactionStatus::Idle);
    // A failed transaction too, and one opened with `transaction()`.
    client.simple_query("BEGIN; FAIL").await.unwrap_err();
    assert_eq!(client.transaction_status(), TransactionStatus::Failed);
    drop(client);
    let mut client = get(&pool).await;
    let tx = client.transaction().await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(recorder.sent_by(0), ["BEGIN", "ROLLBACK", "BEGIN; FAIL", "ROLLBACK", "BEGIN", "COMMIT"]);
    assert_eq!(pool.status().size, 1);
}

#[tokio::test]
async fn long_idle_connections_are_checked_with_an_empty_query() {
    let (server, recorder) = recording::server();
    let checked = PoolConfig { check_after_idle: Some(Duration::ZERO), ..pool_config(1) };
    let pool = pool_on(&server, checked);
    get(&pool).await.simple_query("FIRST").await.unwrap();
    get(&pool).await.simple_query("SECOND").await.unwrap();
    // Only idle connections are checked: a new one is not.
    assert_eq!(recorder.sent_by(0), ["FIRST", "", "SECOND"]);
}

#[tokio::test]
async fn closed_connections_are_replaced() {
    let (first_server, _) = recording::server();
    let current = Arc::new(Mutex::new(first_server.clone()));
    let connect_to = current.clone();
    let pool = Pool::with_connector(pool_config(2), move || {
        let stream = connect_to.lock().unwrap().connect_loopback();
        async move { connect_with(stream, &recording::client_config()).await }
    });
    let pooled = get(&pool).await;
    let same_connection: Client = (*pooled).clone();
    drop(pooled);
    first_server.shutdown(Duration::from_millis(100)).await;
    for _ in 0..10_000 {
        if same_connection.is_closed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(same_connection.is_closed(), "the client noticed the server going");
    let (second_server, recorder) = recording::server();
    *current.lock().unwrap() = second_server;
    let client = get(&pool).await;
    assert_eq!(client.connection_id(), 1);
    client.simple_query("ALIVE").await.unwrap();
    assert_eq!(recorder.sent_by(0), ["ALIVE"]);
    assert_eq!(pool.status(), PoolStatus { size: 1, idle: 0, waiting: 0 });
}

#[tokio::test]
async fn expired_connections_are_replaced() {
    let (server, _) = recording::server();
    let short_lived = PoolConfig { max_lifetime: Some(Duration::ZERO), ..pool_config(2) };
    let pool = pool_on(&server, short_lived);
    drop(get(&pool).await);
    assert_eq!(pool.status(), PoolStatus { size: 0, idle: 0, waiting: 0 }, "too old to go back");
    assert_eq!(get(&pool).await.connection_id(), 1);

    let short_idle = PoolConfig { idle_timeout: Some(Duration::ZERO), ..pool_config(2) };
    let pool = pool_on(&server, short_idle);
    drop(get(&pool).await);
    assert_eq!(pool.status(), PoolStatus { size: 1, idle: 1, waiting: 0 });
    let client = get(&pool).await;
    assert_eq!(client.connection_id(), 1);
    assert_eq!(pool.status(), PoolStatus { size: 1, idle: 0, waiting: 0 });
    client.discard();
    assert_eq!(pool.status(), PoolStatus { size: 0, idle: 0, waiting: 0 });
}

#[tokio::test]
async fn expired_idle_connections_are_closed_in_the_background() {
    let (server, _) = recording::server();
    let config = PoolConfig { idle_timeout: Some(Duration::from_millis(50)), ..pool_config(3) };
    let pool = pool_on(&server, config);
    let (a, b) = (get(&pool).await, get(&pool).await);
    assert_eq!(server.active_sessions(), 2);
    drop((a, b));
    assert_eq!(pool.status(), PoolStatus { size: 2, idle: 2, waiting: 0 });
    // Nobody calls get: the pool's own task closes them.
    for _ in 0..1000 {
        if pool.status().size == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(pool.status(), PoolStatus { size: 0, idle: 0, waiting: 0 });
    // Closed, not merely forgotten: the server sees the sessions end.
    tokio::time::timeout(LIMIT, async {
        while server.active_sessions() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the sessions end");
}

#[tokio::test]
async fn a_failed_connect_is_reported_and_frees_its_slot() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counted = attempts.clone();
    let pool = Pool::with_connector(pool_config(1), move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Err::<Client, _>(ClientError::Closed) }
    });
    for attempt in 1..=2 {
        let err = tokio::time::timeout(LIMIT, pool.get()).await.expect("no hang").unwrap_err();
        assert!(matches!(err, PoolError::Connect(ClientError::Closed)), "{err:?}");
        assert_eq!(attempts.load(Ordering::SeqCst), attempt);
    }
    assert_eq!(pool.status(), PoolStatus { size: 0, idle: 0, waiting: 0 });
}

#[tokio::test]
async fn a_slow_connect_does_not_hold_up_an_idle_checkout() {
    let (server, _) = recording::server();
    // Connections after the first wait at this gate.
    let gate = Arc::new(Semaphore::new(0));
    let opened = Arc::new(AtomicUsize::new(0));
    let (gate_in, opened_in, server_in) = (gate.clone(), opened.clone(), server.clone());
    let pool = Pool::with_connector(pool_config(3), move || {
        let (gate, stream) = (gate_in.clone(), server_in.connect_loopback());
        let first = opened_in.fetch_add(1, Ordering::SeqCst) == 0;
        async move {
            if !first {
                let _pass = gate.acquire().await.expect("the gate stays open");
            }
            connect_with(stream, &recording::client_config()).await
        }
    });
    let first = get(&pool).await;
    let slow = tokio::spawn({
        let pool = pool.clone();
        async move { get(&pool).await.connection_id() }
    });
    for _ in 0..10_000 {
        if opened.load(Ordering::SeqCst) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(opened.load(Ordering::SeqCst), 2, "the second connect started");
    drop(first);
    // The second connect is still stuck at the gate; this one is served.
    let reused = get(&pool).await;
    assert_eq!(reused.connection_id(), 0);
    assert!(!slow.is_finished());
    gate.add_permits(1);
    assert_eq!(tokio::time::timeout(LIMIT, slow).await.expect("no hang").unwrap(), 1);
    assert_eq!(pool.status(), PoolStatus { size: 2, idle: 1, waiting: 0 });
}

#[tokio::test]
async fn a_pool_against_a_real_postgresql() {
    let Some(config) = real_pg::trust_config("POSTWIRE_PG_PORT") else { return };
    let pool =
        Pool::new(config, PoolConfig { max_size: 2, check_after_idle: Some(Duration::ZERO), ..Default::default() });
    let pids = futures_util::future::join_all((0..8).map(|_| {
        let pool = pool.clone();
        async move {
            let client = get(&pool).await;
            let result = client.simple_query("SELECT pg_backend_pid()").await.unwrap();
            result.rows[0].get::<i32>(0).unwrap().unwrap()
        }
    }))
    .await;
    let mut distinct = pids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() <= 2, "at most two server processes: {pids:?}");
    assert!(pool.status().size <= 2);
    // Left inside a failed transaction: rolled back before reuse.
    let client = get(&pool).await;
    let pid = client.simple_query("SELECT pg_backend_pid()").await.unwrap().rows[0].get::<i32>(0).unwrap();
    client.simple_query("BEGIN").await.unwrap();
    client.simple_query("SELECT 1/0").await.unwrap_err();
    drop(client);
    let client = get(&pool).await;
    let again = client.simple_query("SELECT pg_backend_pid()").await.unwrap().rows[0].get::<i32>(0).unwrap();
    assert_eq!(again, pid, "the same connection, reused");
    assert_eq!(client.transaction_status(), TransactionStatus::Idle);
}
