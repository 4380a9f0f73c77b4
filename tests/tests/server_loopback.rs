//! The in-process loopback: tokio-postgres with `connect_raw` and no socket,
//! and a raw client that reads slowly to show results stream under
//! backpressure instead of piling up in the server.

mod server_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use postwire_server::codec::Encode;
use postwire_server::codec::frontend::{ProtocolVersion, Query, StartupMessage, StartupParams, Terminate};
use postwire_server::{Config, Peer, Server, Trust};
use server_support::{Toy, code, simple_rows, spawn_connection, until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::NoTls;

fn config() -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    config.user("alice").dbname("db");
    config
}

#[tokio::test]
async fn tokio_postgres_without_a_socket() {
    let server = Server::new(Toy::default(), Trust, Config::default());
    let (client, connection) = config().connect_raw(server.connect_loopback(), NoTls).await.unwrap();
    spawn_connection(connection);
    assert_eq!(simple_rows(&client.simple_query("SELECT 5").await.unwrap()).len(), 5);
    let statement = client.prepare("SELECT $1::text, $2::int8").await.unwrap();
    let row = client.query_one(&statement, &[&"loop", &42i64]).await.unwrap();
    assert_eq!((row.get::<_, &str>(0), row.get::<_, i64>(1)), ("loop", 42));
    assert_eq!(code(&client.simple_query("nonsense").await.unwrap_err()), "42601");
    assert_eq!(server.service().clients.lock().unwrap()[0].peer, Peer::Loopback);

    // Cancel through a second loopback connection.
    let token = client.cancel_token();
    let client = std::sync::Arc::new(client);
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.simple_query("SLEEP").await }
    });
    let sleeping = server.service().sleeping.clone();
    until(|| sleeping.load(Ordering::SeqCst) == 1).await;
    token.cancel_query_raw(server.connect_loopback(), NoTls).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), slow).await.unwrap().unwrap().unwrap_err();
    assert_eq!(code(&err), "57014");
    until(|| sleeping.load(Ordering::SeqCst) == 0).await;
}

fn encode(message: &impl Encode) -> Vec<u8> {
    let mut buf = vec![0; message.encoded_len().unwrap()];
    message.encode(&mut buf).unwrap();
    buf
}

/// Splits complete backend messages off `buf`: (tag, body).
fn messages(buf: &mut Vec<u8>) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while buf.len() >= 5 {
        let len = u32::from_be_bytes(buf[1..5].try_into().unwrap()) as usize;
        if buf.len() < 1 + len {
            break;
        }
        out.push((buf[0], buf[5..1 + len].to_vec()));
        buf.drain(..1 + len);
    }
    out
}

#[tokio::test]
async fn a_slow_reader_holds_the_query_back() {
    let config = Config { output_buffer_size: 4096, ..Config::default() };
    let server = Server::new(Toy::default(), Trust, config);
    let mut stream = server.connect_loopback();
    let params = [("user", "alice"), ("database", "db")];
    let startup = StartupMessage { version: ProtocolVersion::V3_0, params: StartupParams::from_slice(&params) };
    stream.write_all(&encode(&startup)).await.unwrap();
    stream.write_all(&encode(&Query { sql: "SET search_path toy; SERIES 100000" })).await.unwrap();

    // Bytes that can sit between the handler and us: the server's output
    // buffer, the pipe (8 KiB), and the one row pulled but not yet queued.
    let in_flight = 4096 + 8192 + 64;
    // The smallest DataRow here: tag, length, count, cell length, one digit.
    let min_row = 1 + 4 + 2 + 4 + 1;
    let produced = server.service().produced.clone();
    let mut received = 0usize;
    let mut pending = Vec::new();
    let mut seen = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await.unwrap().unwrap();
        assert!(n > 0, "the server hung up early");
        received += n;
        pending.extend_from_slice(&chunk[..n]);
        for (tag, body) in messages(&mut pending) {
            if tag == b'S' && body.starts_with(b"search_path\0") {
                assert_eq!(body, b"search_path\0toy\0", "the parameter report");
            }
            assert_ne!(tag, b'E', "error: {}", String::from_utf8_lossy(&body));
            seen.push(tag);
        }
        // Never more rows made than the client has read, plus what fits in flight.
        let made = produced.load(Ordering::SeqCst) as usize;
        assert!(made * min_row <= received + in_flight, "{made} rows made, {received} bytes read");
        // One ReadyForQuery after login, one after the query.
        if seen.iter().filter(|t| **t == b'Z').count() == 2 {
            break;
        }
        // Read slowly: the server must wait for us.
        tokio::task::yield_now().await;
    }
    assert_eq!(produced.load(Ordering::SeqCst), 100_000);
    assert_eq!(seen.iter().filter(|t| **t == b'D').count(), 100_000);
    assert!(seen.contains(&b'C'));
    assert!(seen.contains(&b'S'));
    stream.write_all(&encode(&Terminate)).await.unwrap();
    // The server closes its end after Terminate.
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await.unwrap().unwrap();
    assert!(rest.is_empty());
}
