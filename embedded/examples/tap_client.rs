//! The real-client half of `embedded/tap-test.sh`: tokio-postgres (and raw
//! sockets) against `tap_server`, run inside the test's network namespace.
//!
//! ```sh
//! tap_client 10.77.0.2
//! ```
//!
//! Panics (exit code 101) on the first failure; prints the 10,000-row
//! throughput at the end.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

const PORT: u16 = 5432;

async fn connect(host: &str, user: &str, password: &str) -> Result<Client, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::new();
    config.host(host).port(PORT).user(user).password(password).dbname("device");
    config.connect_timeout(Duration::from_secs(10));
    // Every connection task may be busy closing a previous client: retry
    // refused connections for a while (the server refuses, never hangs).
    let socket = raw_connect(host).await;
    let (client, connection) = config.connect_raw(socket, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

fn row_count(messages: &[SimpleQueryMessage]) -> usize {
    messages.iter().filter(|m| matches!(m, SimpleQueryMessage::Row(_))).count()
}

/// A raw connection; retried for a while, because the server has a fixed
/// number of connection tasks and a closing one takes a moment to listen again.
async fn raw_connect(host: &str) -> TcpStream {
    for _ in 0..50 {
        if let Ok(socket) = TcpStream::connect((host, PORT)).await {
            return socket;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server does not accept connections")
}

/// Sends `bytes` on a raw connection and returns what comes back before the
/// server closes it (bounded by a timeout).
async fn raw_exchange(host: &str, bytes: &[u8], close_early: bool) -> Vec<u8> {
    let mut socket = raw_connect(host).await;
    socket.write_all(bytes).await.expect("send");
    if close_early {
        return Vec::new();
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server closed the connection");
    answer
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let host = std::env::args().nth(1).unwrap_or_else(|| "10.77.0.2".into());
    let host = host.as_str();

    // SCRAM login, wrong password, trust.
    let client = connect(host, "postwire", "postwire").await.expect("SCRAM login");
    let err = connect(host, "postwire", "nope").await.expect_err("a wrong password is refused");
    assert_eq!(err.code().map(|c| c.code()), Some("28P01"));
    let trusted = connect(host, "trusted", "").await.expect("trust login");
    println!("ok: logins (SCRAM, wrong password 28P01, trust)");

    // Simple and extended queries, binary results, a 1,000-row result.
    assert_eq!(row_count(&client.simple_query("SELECT * FROM readings LIMIT 3").await.unwrap()), 3);
    let rows = client.query("SELECT * FROM readings LIMIT $1", &[&1000i64]).await.unwrap();
    assert_eq!(rows.len(), 1000);
    assert_eq!((rows[999].get::<_, i32>(0), rows[999].get::<_, &str>(1)), (999, "garage"));
    println!("ok: simple and extended queries, 1,000 rows");

    // Errors with SQLSTATE; the session goes on.
    let err = client.simple_query("SELECT * FROM missing").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42P01"));
    let err = client.query("UPDATE readings SET x = 1", &[]).await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42601"));
    assert_eq!(client.query("SELECT * FROM readings LIMIT 1", &[]).await.unwrap().len(), 1);
    println!("ok: errors 42P01, 42601");

    // Four connections at once (the server's task count): two are open
    // already, two more run queries concurrently.
    let (a, b) = tokio::join!(connect(host, "trusted", ""), connect(host, "postwire", "postwire"));
    let (a, b) = (a.expect("third connection"), b.expect("fourth connection"));
    let results = tokio::join!(
        client.query("SELECT * FROM readings LIMIT 500", &[]),
        trusted.query("SELECT * FROM readings LIMIT 600", &[]),
        a.query("SELECT * FROM readings LIMIT 700", &[]),
        b.query("SELECT * FROM readings LIMIT 800", &[]),
    );
    let counts =
        [results.0.unwrap().len(), results.1.unwrap().len(), results.2.unwrap().len(), results.3.unwrap().len()];
    assert_eq!(counts, [500, 600, 700, 800]);
    drop((a, b, trusted));
    println!("ok: 4 concurrent connections");

    // A client vanishing mid-message, and garbage: the server closes those
    // and keeps serving.
    raw_exchange(host, b"\x00\x00\x00\x50\x00\x03\x00\x00user\0trus", true).await;
    let answer = raw_exchange(host, b"\x00\x00\x00\x10garbage garbage!", false).await;
    assert!(answer.first() == Some(&b'E'), "a FATAL error: {answer:?}");
    let answer = raw_exchange(host, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false).await;
    assert!(!answer.is_empty() && answer[0] == b'E', "a FATAL error: {answer:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fresh = connect(host, "postwire", "postwire").await.expect("a fresh connection after bad clients");
    assert_eq!(row_count(&fresh.simple_query("SELECT * FROM readings LIMIT 2").await.unwrap()), 2);
    println!("ok: vanishing client, garbage, fresh connection");

    // A client that stalls mid-message is dropped after the stall timeout
    // (5 s in tap_server): the server closes the connection by itself.
    let mut stalled = raw_connect(host).await;
    stalled.write_all(b"\x00\x00\x00\x50\x00\x03").await.expect("send");
    let started = Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(20), stalled.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the server never dropped the stalled client");
    println!("ok: a stalled client dropped after {:.1} s", started.elapsed().as_secs_f64());

    // Throughput: the whole 10,000-row table, a few times.
    let mut rows = 0;
    let start = Instant::now();
    for _ in 0..5 {
        rows += row_count(&fresh.simple_query("SELECT * FROM readings").await.unwrap());
    }
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(rows, 50_000);
    println!("throughput: {rows} rows in {seconds:.3} s = {:.0} rows/s", rows as f64 / seconds);
}
