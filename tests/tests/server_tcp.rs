//! The server over TCP against the real tokio-postgres client.

mod server_support;

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, TryStreamExt, future};
use postwire_codec::auth::{Md5Verifier, ScramVerifier};
use postwire_server::{Config, Credentials, StaticUsers, TlsMode, Trust};
use server_support::{Toy, code, connect, pg_config, simple_rows, start, until};
use tokio::io::AsyncWriteExt;
use tokio_postgres::{NoTls, SimpleQueryMessage};

#[tokio::test]
async fn simple_queries_rows_errors_and_transactions() {
    let (server, port) = start(Config::default(), Trust).await;
    let (client, _) = connect(&pg_config(port)).await;

    let messages = client.simple_query("SELECT 3").await.unwrap();
    let rows = simple_rows(&messages);
    let expected: Vec<Vec<Option<String>>> =
        (1..=3).map(|i: i32| vec![Some(i.to_string()), Some((i * i).to_string())]).collect();
    assert_eq!(rows, expected);
    assert!(matches!(messages.last(), Some(SimpleQueryMessage::CommandComplete(3))));

    // Several statements in one Query; an empty one.
    let messages = client.simple_query("SELECT 1; SELECT 2").await.unwrap();
    assert_eq!(simple_rows(&messages).len(), 3);
    client.batch_execute("").await.unwrap();

    // An error with its SQLSTATE, position and hint; the session goes on.
    let err = client.simple_query("bogus stuff").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.code().code(), "42601");
    assert_eq!(db.message(), "syntax error at or near \"bogus\"");
    assert_eq!(db.severity(), "ERROR");
    assert!(matches!(db.position(), Some(tokio_postgres::error::ErrorPosition::Original(1))));
    assert!(db.hint().unwrap().contains("toy dialect"));
    // The statements after a failing one do not run.
    let err = client.simple_query("FAIL; LISTEN never").await.unwrap_err();
    assert_eq!(code(&err), "22012");

    // Transaction status: an error inside a block fails it (25P02 behaviour is
    // the application's; the status is reported by the server).
    client.batch_execute("BEGIN").await.unwrap();
    assert!(client.batch_execute("FAIL").await.is_err());
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(simple_rows(&client.simple_query("SELECT 1").await.unwrap()).len(), 1);
    drop(client);
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn ipv6_loopback_works_too() {
    let server = postwire_server::Server::new(Toy::default(), Trust, Config::default());
    let Ok(addr) = server.listen_tcp("[::1]:0", TlsMode::Disabled).await else {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    };
    let mut config = pg_config(addr.port());
    config.host("::1");
    let (client, _) = connect(&config).await;
    assert_eq!(simple_rows(&client.simple_query("SELECT 2").await.unwrap()).len(), 2);
    let peers = server.service().clients.lock().unwrap().clone();
    assert!(matches!(peers[0].peer, postwire_server::Peer::Tcp(a) if a.is_ipv6()));
}

#[tokio::test]
async fn prepared_statements_typed_parameters_and_binary_results() {
    let (_server, port) = start(Config::default(), Trust).await;
    let (client, _) = connect(&pg_config(port)).await;
    let statement = client.prepare("SELECT $1::int4").await.unwrap();
    assert_eq!(statement.params(), &[tokio_postgres::types::Type::INT4]);
    assert_eq!(statement.columns()[0].name(), "v");
    for n in [0, 1, -7, i32::MAX, i32::MIN] {
        let row = client.query_one(&statement, &[&n]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), n);
    }
    let row = client.query_one(&statement, &[&None::<i32>]).await.unwrap();
    assert_eq!(row.get::<_, Option<i32>>(0), None);

    let two = client.prepare("SELECT $1::text, $2::int8").await.unwrap();
    let row = client.query_one(&two, &[&"héllo", &-5_000_000_000i64]).await.unwrap();
    assert_eq!((row.get::<_, &str>(0), row.get::<_, i64>(1)), ("héllo", -5_000_000_000));

    // Statements without rows, and errors at Parse and at Execute.
    assert_eq!(client.execute("INSERT $1", &[&"x"]).await.unwrap(), 1);
    assert_eq!(code(&client.prepare("BOGUS").await.unwrap_err()), "42601");
    assert_eq!(code(&client.query("FAIL", &[]).await.unwrap_err()), "22012");
    let row = client.query_one(&statement, &[&5]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 5, "usable after errors");

    // Text-format results through the simple-query path of the same server.
    assert_eq!(simple_rows(&client.simple_query("SELECT 1").await.unwrap())[0][0].as_deref(), Some("1"));
}

#[tokio::test]
async fn pipelined_queries_come_back_in_order() {
    let (_server, port) = start(Config::default(), Trust).await;
    let (client, _) = connect(&pg_config(port)).await;
    let statement = client.prepare("SELECT $1::int4").await.unwrap();
    let results = future::join_all((0..200).map(|i| {
        let client = &client;
        let statement = &statement;
        async move {
            if i % 50 == 7 {
                // A failing query in the middle of the pipeline fails alone.
                return client.query("FAIL", &[]).await.map(|_| -1).unwrap_or(-2);
            }
            client.query_one(statement, &[&i]).await.unwrap().get::<_, i32>(0)
        }
    }))
    .await;
    let expected: Vec<i32> = (0..200).map(|i| if i % 50 == 7 { -2 } else { i }).collect();
    assert_eq!(results, expected);
}

#[tokio::test]
async fn portals_suspend_at_the_row_limit_and_resume() {
    let (server, port) = start(Config::default(), Trust).await;
    let (mut client, _) = connect(&pg_config(port)).await;
    let statement = client.prepare("SERIES $1").await.unwrap();
    let tx = client.transaction().await.unwrap();
    let portal = tx.bind(&statement, &[&10i32]).await.unwrap();
    let mut all = Vec::new();
    let mut batches = 0;
    loop {
        let rows = tx.query_portal(&portal, 4).await.unwrap();
        batches += 1;
        if rows.is_empty() {
            break;
        }
        all.extend(rows.iter().map(|r| r.get::<_, i32>(0)));
        assert!(batches < 10, "bounded");
    }
    assert_eq!(all, (1..=10).collect::<Vec<_>>());
    // Rows are pulled from the handler's stream only as the client asks.
    assert!(server.service().produced.load(std::sync::atomic::Ordering::SeqCst) == 10);
    tx.commit().await.unwrap();

    // The whole stream in one Execute, too.
    let rows = client.query(&statement, &[&1000i32]).await.unwrap();
    assert_eq!(rows.len(), 1000);
    assert_eq!(rows[999].get::<_, i32>(0), 1000);
}

#[tokio::test]
async fn copy_in_and_out_both_protocols() {
    let (server, port) = start(Config::default(), Trust).await;
    let (client, _) = connect(&pg_config(port)).await;

    // Extended protocol (tokio-postgres prepares COPY statements).
    let sink = client.copy_in::<_, Bytes>("COPY t FROM STDIN").await.unwrap();
    futures_util::pin_mut!(sink);
    sink.send(Bytes::from_static(b"one\ntw")).await.unwrap();
    sink.send(Bytes::from_static(b"o\nthree\n")).await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 3);
    assert_eq!(*server.service().copied.lock().unwrap(), ["one", "two", "three"]);

    let out: Vec<u8> = client
        .copy_out("COPY t TO STDOUT")
        .await
        .unwrap()
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .unwrap();
    assert_eq!(out, b"a\nb\nc\n");

    // A sink error fails the COPY; the session goes on.
    let sink = client.copy_in::<_, Bytes>("COPY t FROM STDIN").await.unwrap();
    futures_util::pin_mut!(sink);
    let sent = sink.send(Bytes::from_static(b"bad line\n")).await;
    let finished = match sent {
        Ok(()) => sink.finish().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert_eq!(code(&finished.unwrap_err()), "22P04");
    assert_eq!(simple_rows(&client.simple_query("SELECT 1").await.unwrap()).len(), 1);
}

#[tokio::test]
async fn notifications_cross_sessions() {
    let (server, port) = start(Config::default(), Trust).await;
    let (listener, mut messages) = connect(&pg_config(port)).await;
    let (sender, _) = connect(&pg_config(port)).await;
    listener.batch_execute("LISTEN news").await.unwrap();
    sender.batch_execute("NOTIFY news hello; NOTIFY other nobody-listens; NOTIFY news again").await.unwrap();
    let sender_pid = server.service().clients.lock().unwrap()[1].process_id;
    // Delivered to the idle listener without it sending anything.
    assert_eq!(messages.notification().await, ("news".into(), "hello".into(), sender_pid));
    assert_eq!(messages.notification().await, ("news".into(), "again".into(), sender_pid));

    // Not inside a transaction: held until it ends.
    listener.batch_execute("BEGIN").await.unwrap();
    sender.batch_execute("NOTIFY news in-tx").await.unwrap();
    listener.batch_execute("SELECT 1").await.unwrap();
    assert!(messages.try_next().is_none(), "held while in a transaction");
    listener.batch_execute("COMMIT").await.unwrap();
    assert_eq!(messages.notification().await.1, "in-tx");
    // The same with the transaction opened and closed by Execute.
    listener.execute("BEGIN", &[]).await.unwrap();
    sender.batch_execute("NOTIFY news extended").await.unwrap();
    let statement = listener.prepare("SELECT $1::int4").await.unwrap();
    listener.query_one(&statement, &[&1]).await.unwrap();
    assert!(messages.try_next().is_none(), "held while in a transaction");
    listener.execute("COMMIT", &[]).await.unwrap();
    assert_eq!(messages.notification().await.1, "extended");

    // From outside any session; and UNLISTEN stops delivery.
    server.notify("news", "from-server");
    assert_eq!(messages.notification().await, ("news".into(), "from-server".into(), 0));
    listener.batch_execute("UNLISTEN news").await.unwrap();
    sender.batch_execute("NOTIFY news unheard; NOTIFY news unheard").await.unwrap();
    listener.batch_execute("LISTEN news").await.unwrap();
    sender.batch_execute("NOTIFY news heard").await.unwrap();
    assert_eq!(messages.notification().await.1, "heard");
}

/// Sends cancel requests until `slow` ends (one that arrives before the
/// query starts does nothing, as in PostgreSQL); returns its outcome.
async fn cancel_until_done<T>(
    token: &tokio_postgres::CancelToken,
    slow: tokio::task::JoinHandle<Result<T, tokio_postgres::Error>>,
) -> Result<T, tokio_postgres::Error> {
    for _ in 0..200 {
        token.cancel_query(NoTls).await.unwrap();
        if slow.is_finished() {
            return slow.await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the query was not cancelled within 4 s");
}

#[tokio::test]
async fn cancel_request_cancels_a_running_query() {
    let (_server, port) = start(Config::default(), Trust).await;
    let (client, _) = connect(&pg_config(port)).await;
    let token = client.cancel_token();
    let client = std::sync::Arc::new(client);
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.simple_query("SLEEP").await }
    });
    let err = cancel_until_done(&token, slow).await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!((db.code().code(), db.message()), ("57014", "canceling statement due to user request"));
    // The session survives; extended-protocol queries can be cancelled too.
    assert_eq!(simple_rows(&client.simple_query("SELECT 1").await.unwrap()).len(), 1);
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.query("SLEEP", &[]).await }
    });
    assert_eq!(code(&cancel_until_done(&token, slow).await.unwrap_err()), "57014");
    assert_eq!(simple_rows(&client.simple_query("SELECT 2").await.unwrap()).len(), 2);
}

#[tokio::test]
async fn passwords_verifiers_and_unknown_users() {
    let scram = ScramVerifier::derive(b"pencil", b"0123456789abcdef", 4096).unwrap();
    let md5 = Md5Verifier::derive(b"dave", b"pencil");
    let users = StaticUsers::new()
        .user("alice", Credentials::Password("pencil".into()))
        .user("bob", Credentials::Trust)
        .user("carol", Credentials::Scram(scram.to_text().to_string()))
        .user("dave", Credentials::Md5(md5.to_text().to_string()))
        .user("erin", Credentials::Scram("pencil".into()))
        .user("frank", Credentials::Md5("pencil".into()));
    let (_server, port) = start(Config::default(), users).await;
    let (client, _) = connect(&pg_config(port)).await;
    assert_eq!(simple_rows(&client.simple_query("SELECT 1").await.unwrap()).len(), 1);

    let mut wrong = pg_config(port);
    wrong.password("wrong");
    let err = wrong.connect(NoTls).await.err().expect("wrong password");
    assert_eq!(code(&err), "28P01");
    assert_eq!(err.as_db_error().unwrap().message(), "password authentication failed for user \"alice\"");

    let mut bob = pg_config(port);
    bob.user("bob");
    connect(&bob).await;

    let mut nobody = pg_config(port);
    nobody.user("nobody");
    let err = nobody.connect(NoTls).await.err().expect("unknown user");
    assert_eq!(code(&err), "28000");

    // SCRAM and MD5, from stored verifiers and from plaintext.
    for user in ["carol", "dave", "erin", "frank"] {
        let mut config = pg_config(port);
        config.user(user);
        let (client, _) = connect(&config).await;
        assert_eq!(simple_rows(&client.simple_query("SELECT 1").await.unwrap()).len(), 1, "{user}");
        config.password("pencil!");
        let err = config.connect(NoTls).await.err().expect("wrong password");
        let db = err.as_db_error().unwrap();
        let expected = format!("password authentication failed for user \"{user}\"");
        assert_eq!((db.code().code(), db.message()), ("28P01", expected.as_str()));
    }

    // The service may refuse a database.
    let mut nope = pg_config(port);
    nope.dbname("nope");
    assert_eq!(code(&nope.connect(NoTls).await.err().unwrap()), "3D000");
}

#[tokio::test]
async fn too_many_clients() {
    let config = Config { max_connections: 2, ..Config::default() };
    let (server, port) = start(config, Trust).await;
    let (a, _) = connect(&pg_config(port)).await;
    let (b, _) = connect(&pg_config(port)).await;
    let err = pg_config(port).connect(NoTls).await.err().expect("a third session is refused");
    let db = err.as_db_error().unwrap();
    assert_eq!((db.code().code(), db.message()), ("53300", "sorry, too many clients already"));
    assert_eq!(server.active_sessions(), 2);
    // A slot frees up when a client leaves.
    drop(a);
    let mut third = None;
    for _ in 0..100 {
        if let Ok(c) = pg_config(port).connect(NoTls).await {
            third = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (c, connection) = third.expect("a freed slot");
    tokio::spawn(connection);
    assert_eq!(simple_rows(&c.simple_query("SELECT 1").await.unwrap()).len(), 1);
    assert_eq!(simple_rows(&b.simple_query("SELECT 1").await.unwrap()).len(), 1);
}

#[tokio::test]
async fn graceful_shutdown_finishes_running_queries_then_ends_sessions() {
    let (server, port) = start(Config::default(), Trust).await;
    let (idle, mut idle_messages) = connect(&pg_config(port)).await;
    let (busy, _) = connect(&pg_config(port)).await;
    let (stuck, _) = connect(&pg_config(port)).await;
    assert_eq!(simple_rows(&idle.simple_query("SELECT 1").await.unwrap()).len(), 1);
    // A short query that finishes within the grace period, and one that does not.
    let short = tokio::spawn(async move { busy.simple_query("SLEEP 300").await.map(|_| ()) });
    let long = tokio::spawn(async move { stuck.simple_query("SLEEP").await });
    let sleeping = server.service().sleeping.clone();
    until(|| sleeping.load(std::sync::atomic::Ordering::SeqCst) == 2).await;
    server.shutdown(Duration::from_secs(2)).await;

    short.await.unwrap().expect("a query running at shutdown may finish");
    let err = long.await.unwrap().unwrap_err();
    let db = err.as_db_error().expect("a FATAL error");
    assert_eq!((db.code().code(), db.severity()), ("57P01", "FATAL"));
    assert_eq!(db.message(), "terminating connection due to administrator command");
    // The idle session was told too, and closed.
    assert_eq!(code(&idle_messages.error().await), "57P01");
    assert!(idle.simple_query("SELECT 1").await.is_err());
    // Nothing listens any more.
    assert!(pg_config(port).connect(NoTls).await.is_err());
}

#[tokio::test]
async fn a_client_vanishing_mid_message_leaves_the_server_serving() {
    let (server, port) = start(Config::default(), Trust).await;
    for cut in [3usize, 9, 20] {
        let mut raw = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        // A startup packet announcing 40 bytes, cut short.
        let mut packet = vec![0, 0, 0, 40, 0, 3, 0, 0];
        packet.extend_from_slice(b"user\0alice\0database\0db\0\0");
        raw.write_all(&packet[..cut.min(packet.len())]).await.unwrap();
        drop(raw);
    }
    // And one that vanishes mid-query, after logging in.
    let (client, connection) = pg_config(port).connect(NoTls).await.unwrap();
    let task = tokio::spawn(connection);
    drop(client);
    task.await.unwrap().unwrap();
    let (client, _) = connect(&pg_config(port)).await;
    assert_eq!(simple_rows(&client.simple_query("SELECT 2").await.unwrap()).len(), 2);
    drop(client);
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn parameter_reports_notices_and_large_values() {
    let (_server, port) = start(Config { output_buffer_size: 1024, ..Config::default() }, Trust).await;
    let (client, mut messages) = connect(&pg_config(port)).await;
    client.batch_execute("NOTICE").await.unwrap();
    assert_eq!(messages.notice().await, "careful");
    client.batch_execute("SET search_path toy").await.unwrap();
    // A value far larger than the output buffer: it grows for that row only.
    let rows = simple_rows(&client.simple_query("BIG 100000").await.unwrap());
    assert_eq!(rows[0][0].as_deref().map(str::len), Some(100_000));
    let rows = simple_rows(&client.simple_query("SELECT 300").await.unwrap());
    assert_eq!(rows.len(), 300);
}

#[tokio::test]
async fn idle_timeouts_end_sessions() {
    let config = Config {
        idle_session_timeout: Some(Duration::from_millis(100)),
        idle_in_transaction_timeout: Some(Duration::from_millis(100)),
        ..Config::default()
    };
    let (_server, port) = start(config, Trust).await;
    let (client, mut messages) = connect(&pg_config(port)).await;
    client.batch_execute("SELECT 1").await.unwrap();
    let (tx_client, mut tx_messages) = connect(&pg_config(port)).await;
    tx_client.batch_execute("BEGIN").await.unwrap();
    let e = messages.error().await;
    assert_eq!(code(&e), "57P05");
    assert_eq!(e.as_db_error().unwrap().message(), "terminating connection due to idle-session timeout");
    assert_eq!(code(&tx_messages.error().await), "25P03");
    assert!(client.is_closed() && tx_client.is_closed());
}

#[tokio::test]
async fn a_busy_session_outlives_the_idle_timeout() {
    // The idle deadline moves with every command: a session whose commands
    // come 30 ms apart for a second is never idle for 300 ms.
    let config = Config { idle_session_timeout: Some(Duration::from_millis(300)), ..Config::default() };
    let (_server, port) = start(config, Trust).await;
    let (client, mut messages) = connect(&pg_config(port)).await;
    for _ in 0..33 {
        client.batch_execute("SELECT 1").await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(!client.is_closed());
    // Then idle: it ends.
    assert_eq!(code(&messages.error().await), "57P05");
}

#[tokio::test]
async fn startup_timeout_and_message_size_limit() {
    let config = Config {
        startup_timeout: Duration::from_millis(200),
        frame_limits: postwire_server::codec::FrameLimits::DEFAULT.with_max_message_len(1024),
        ..Config::default()
    };
    let (_server, port) = start(config, Trust).await;
    // A client that never sends its startup packet is dropped.
    let mut silent = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(10), tokio::io::AsyncReadExt::read(&mut silent, &mut buf));
    assert_eq!(read.await.expect("closed by the server").unwrap(), 0);

    // A message over the limit ends the session with a FATAL error.
    let (client, mut messages) = connect(&pg_config(port)).await;
    let long = format!("SELECT 1 {}", " ".repeat(2000));
    let e = client.simple_query(&long).await.unwrap_err();
    let db = e.as_db_error().expect("a server error");
    // As PostgreSQL: FATAL 08P01 for an over-long message.
    assert_eq!((db.severity(), db.code().code()), ("FATAL", "08P01"));
    assert!(db.message().contains("exceeds the limit of 1024 bytes"));
    assert!(messages.next().await.is_some_and(|m| m.is_err()) || client.is_closed());
    // Others are unaffected.
    let (client, _) = connect(&pg_config(port)).await;
    assert_eq!(simple_rows(&client.simple_query("SELECT 1").await.unwrap()).len(), 1);
}

#[tokio::test]
async fn serving_on_threads_spreads_sessions_and_shares_everything_else() {
    let config = Config { max_connections: 3, ..Config::default() };
    let server = postwire_server::Server::new(Toy::default(), Trust, config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let two = std::num::NonZeroUsize::new(2).unwrap();
    let threads = server.serve_tcp_on_threads(listener, TlsMode::Disabled, two).unwrap();
    assert_eq!(threads.len(), 2);

    let (a, mut a_messages) = connect(&pg_config(port)).await;
    let (b, _) = connect(&pg_config(port)).await;
    let (c, _) = connect(&pg_config(port)).await;
    // Sessions are handed to the threads in turn.
    let opened_on = server.service().threads.lock().unwrap().clone();
    let names = ["postwire-0", "postwire-1", "postwire-0"].map(|n| Some(n.to_owned()));
    assert_eq!(opened_on, names);
    for client in [&a, &b, &c] {
        assert_eq!(simple_rows(&client.simple_query("SELECT 2").await.unwrap()).len(), 2);
    }
    // The connection limit counts every thread's sessions.
    let err = pg_config(port).connect(NoTls).await.err().expect("a fourth session is refused");
    assert_eq!(code(&err), "53300");
    // NOTIFY crosses threads.
    a.batch_execute("LISTEN news").await.unwrap();
    b.batch_execute("NOTIFY news across").await.unwrap();
    assert_eq!(a_messages.notification().await.1, "across");
    // So does a cancel request (its connection lands on either thread).
    let token = c.cancel_token();
    let c = std::sync::Arc::new(c);
    let slow = tokio::spawn({
        let c = c.clone();
        async move { c.simple_query("SLEEP").await }
    });
    assert_eq!(code(&cancel_until_done(&token, slow).await.unwrap_err()), "57014");

    // Shutdown ends every session, then the threads.
    server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(code(&a_messages.error().await), "57P01");
    tokio::task::spawn_blocking(move || threads.join()).await.unwrap();
    assert!(pg_config(port).connect(NoTls).await.is_err());
}
