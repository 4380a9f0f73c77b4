//! Bad clients over real sockets: a byte at a time, random garbage, 500
//! pipelined queries, and 1,000 concurrent logins. Each bad client gets an
//! error or a clean close, and a fresh connection works afterwards.

mod server_support;

use std::time::Duration;

use futures_util::future;
use postwire_server::{Config, Trust};
use server_support::{connect, pg_config, simple_rows, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes or `done` says the answer is complete;
/// bounded by a timeout.
async fn read_until(stream: &mut TcpStream, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    if done(&got) {
                        break;
                    }
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read).await.expect("the server answers or closes");
    got
}

fn startup(user: &str) -> Vec<u8> {
    let mut body = vec![0, 3, 0, 0];
    for part in ["user", user, "database", "db", ""] {
        body.extend_from_slice(part.as_bytes());
        body.push(0);
    }
    let mut message = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    message.extend_from_slice(&body);
    message
}

fn query(sql: &str) -> Vec<u8> {
    let mut message = vec![b'Q'];
    message.extend_from_slice(&((sql.len() + 5) as u32).to_be_bytes());
    message.extend_from_slice(sql.as_bytes());
    message.push(0);
    message
}

/// Whether `bytes` ends with a ReadyForQuery.
fn ready(bytes: &[u8]) -> bool {
    bytes.len() >= 6 && bytes[bytes.len() - 6..bytes.len() - 1] == [b'Z', 0, 0, 0, 5]
}

#[tokio::test]
async fn a_byte_at_a_time() {
    let (_server, port) = start(Config::default(), Trust).await;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.set_nodelay(true).unwrap();
    for byte in startup("alice") {
        stream.write_all(&[byte]).await.unwrap();
    }
    let login = read_until(&mut stream, ready).await;
    assert!(ready(&login), "logged in");
    for byte in query("SELECT 2") {
        stream.write_all(&[byte]).await.unwrap();
        tokio::task::yield_now().await;
    }
    let answer = read_until(&mut stream, ready).await;
    assert_eq!(answer[0], b'T', "a RowDescription first");
    assert!(answer.iter().filter(|&&b| b == b'D').count() >= 2);
    assert!(String::from_utf8_lossy(&answer).contains("SELECT 2"));
}

#[tokio::test]
async fn random_garbage_gets_an_error_or_a_close_and_the_server_goes_on() {
    let (_server, port) = start(Config::default(), Trust).await;
    let mut seed = 0x9e37_79b9_u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for round in 0..50 {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let len = (next() % 300) as usize + 1;
        let mut garbage: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 2 == 1 {
            // After a valid login, so the garbage hits the command phase.
            let mut login = startup("alice");
            login.append(&mut garbage);
            garbage = login;
        }
        // The server may close before reading everything: ignore write
        // errors. Then end the stream: garbage that announces a longer
        // message than it sends would otherwise wait for the startup or idle
        // timeout, which is right but slow.
        let _ = stream.write_all(&garbage).await;
        let _ = stream.shutdown().await;
        let answer = read_until(&mut stream, |_| false).await;
        if let Some(pos) = answer.iter().position(|&b| b == b'E') {
            let text = String::from_utf8_lossy(&answer[pos..]);
            assert!(text.contains("FATAL") || text.contains("ERROR"), "round {round}: {text}");
        }
    }
    let (client, _) = connect(&pg_config(port)).await;
    assert_eq!(simple_rows(&client.simple_query("SELECT 1").await.unwrap()).len(), 1);
}

#[tokio::test]
async fn five_hundred_pipelined_queries() {
    let (_server, port) = start(Config::default(), Trust).await;
    let (client, _) = connect(&pg_config(port)).await;
    let statement = client.prepare("SELECT $1::int4").await.unwrap();
    let queries = (0..500).map(|i| {
        let client = &client;
        let statement = &statement;
        async move { client.query_one(statement, &[&i]).await.map(|row| row.get::<_, i32>(0)) }
    });
    let results = future::join_all(queries).await;
    let values: Vec<i32> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(values, (0..500).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_thousand_concurrent_logins() {
    let config = Config { max_connections: 1_100, ..Config::default() };
    let (server, port) = start(config, Trust).await;
    let logins = (0..1_000).map(|_| async move {
        let (client, connection) = pg_config(port).connect(tokio_postgres::NoTls).await?;
        let driver = tokio::spawn(connection);
        let rows = client.simple_query("SELECT 1").await?;
        drop(client);
        let _ = driver.await;
        Ok::<usize, tokio_postgres::Error>(simple_rows(&rows).len())
    });
    let results = future::join_all(logins).await;
    let failures: Vec<_> = results.iter().filter(|r| !matches!(r, Ok(1))).collect();
    assert!(failures.is_empty(), "{} of 1,000 logins failed: {:?}", failures.len(), failures.first());
    // Every session ended with its client.
    for _ in 0..500 {
        if server.active_sessions() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} sessions still open", server.active_sessions());
}
