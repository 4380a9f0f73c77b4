//! The codec's backend machine against the real `tokio-postgres` client, over
//! an in-memory duplex pipe. The driver below is the whole server: a loop
//! that reads, feeds the machine, answers events and writes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{StreamExt, future, stream};
use postwire_codec::auth::{Md5Verifier, StoredPassword, scram::ScramVerifier};
use postwire_codec::backend::{DataRowWriter, ErrorFields, FieldDescription, Severity, TransactionStatus};
use postwire_codec::session::backend::{AuthMethod, Backend, BackendKey, Event, ServerParameters};
use postwire_codec::{EncodeError, Format, SqlState, oid};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls, SimpleQueryMessage};

/// A session's secret key and the signal that cancels its running query.
type CancelTarget = (Vec<u8>, Arc<Notify>);

/// Sessions that can be cancelled, by process id.
#[derive(Default, Clone)]
struct Cancels(Arc<Mutex<HashMap<i32, CancelTarget>>>);

/// A bound portal: its statement slot, parameters, and whether results are binary.
#[derive(Clone, Default)]
struct Portal {
    statement: usize,
    params: Vec<Option<Vec<u8>>>,
    binary: bool,
}

struct Server {
    auth: AuthMethod<'static>,
    password: &'static [u8],
    cancels: Cancels,
    next_pid: i32,
}

fn column(name: &str, type_oid: u32) -> FieldDescription<'_> {
    FieldDescription {
        name,
        table_oid: 0,
        column_id: 0,
        type_oid,
        type_size: -1,
        type_modifier: -1,
        format: Format::Text,
    }
}

/// Writes pending output to the client.
async fn flush(backend: &mut Backend<Vec<u8>>, wr: &mut (impl AsyncWriteExt + Unpin)) -> std::io::Result<()> {
    let n = backend.pending_output().len();
    wr.write_all(backend.pending_output()).await?;
    backend.consume_output(n);
    Ok(())
}

async fn serve(stream: DuplexStream, server: Arc<Server>) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut backend: Backend<Vec<u8>> = Backend::new(vec![0; 16 * 1024]);
    let mut input = Vec::new();
    let mut chunk = [0u8; 4096];
    let pid = server.next_pid;
    let cancelled = Arc::new(Notify::new());
    // Per-statement SQL, indexed by the machine's statement slots.
    let mut statements: Vec<String> = vec![String::new(); 16];
    let mut portals: Vec<Portal> = vec![Portal::default(); 8];
    loop {
        loop {
            let step = backend.handle_input(&input);
            let consumed = step.consumed;
            let Some(event) = step.event else {
                if consumed == 0 {
                    break;
                }
                input.drain(..consumed);
                continue;
            };
            match event {
                Event::Startup { .. } => backend.authenticate(server.auth, &mut rand::rng()).unwrap(),
                Event::PasswordReceived { password } => backend.password_verified(password == server.password).unwrap(),
                Event::Authenticated => {
                    let mut rng = rand::rng();
                    let key = BackendKey::random(pid, &mut rng);
                    server
                        .cancels
                        .0
                        .lock()
                        .unwrap()
                        .insert(pid, (key.secret_for(backend.protocol_version()).to_vec(), cancelled.clone()));
                    backend.accept(&ServerParameters::DEFAULT, &key).unwrap();
                }
                Event::CancelRequest { process_id, secret_key } => {
                    if let Some((key, notify)) = server.cancels.0.lock().unwrap().get(&process_id)
                        && key == secret_key
                    {
                        notify.notify_one();
                    }
                }
                Event::Query { sql } => {
                    simple_query(&mut backend, sql, pid);
                    backend.ready_for_query().unwrap();
                }
                Event::Parse { statement, query, .. } => {
                    statements[statement.index()] = query.to_owned();
                    backend.parse_complete(query.matches('$').count()).unwrap();
                }
                Event::DescribeStatement { statement } => {
                    let sql = &statements[statement.index()];
                    let params = vec![oid::INT4; sql.matches('$').count()];
                    backend.parameter_description(&params).unwrap();
                    if sql.starts_with("SELECT") {
                        backend.row_description(&[column("v", oid::INT4)]).unwrap();
                    } else {
                        backend.no_data().unwrap();
                    }
                }
                Event::Bind { portal, statement, bind } => {
                    let binary = bind.result_format(0, 1) == Some(Format::Binary);
                    portals[portal.index()] = Portal {
                        statement: statement.index(),
                        params: bind.params.iter().map(|p| p.map(<[u8]>::to_vec)).collect(),
                        binary,
                    };
                    backend.bind_complete().unwrap();
                }
                Event::DescribePortal { .. } => backend.row_description(&[column("v", oid::INT4)]).unwrap(),
                Event::Execute { portal, .. } => {
                    let Portal { statement, params, binary } = &portals[portal.index()];
                    let sql = statements[*statement].clone();
                    if sql.starts_with("SELECT pg_sleep") {
                        flush(&mut backend, &mut wr).await.unwrap();
                        let slept = tokio::time::timeout(Duration::from_secs(10), cancelled.notified()).await;
                        assert!(slept.is_ok(), "the cancel request arrived");
                        let fields = ErrorFields::new(
                            Severity::Error,
                            SqlState::QUERY_CANCELED,
                            "canceling statement due to user request",
                        );
                        backend.error(&fields).unwrap();
                    } else if sql.starts_with("SELECT") {
                        // Echo the parameter: `SELECT $1::int4 + 0`.
                        let value = params[0].clone();
                        let value = match (value, *binary) {
                            (Some(v), true) => Some(v),
                            (Some(v), false) => {
                                Some(i32::from_be_bytes(v.try_into().unwrap()).to_string().into_bytes())
                            }
                            (None, _) => None,
                        };
                        backend.data_row(&[value.as_deref()]).unwrap();
                        backend.command_complete("SELECT 1").unwrap();
                    } else {
                        backend
                            .error(&ErrorFields::new(Severity::Error, SqlState::SYNTAX_ERROR, "syntax error"))
                            .unwrap();
                    }
                }
                Event::Sync { .. } => backend.ready_for_query().unwrap(),
                Event::Ended { .. } | Event::Closed { .. } | Event::Flush => {}
                other => panic!("unexpected event {other:?}"),
            }
            input.drain(..consumed);
        }
        flush(&mut backend, &mut wr).await.unwrap();
        if backend.is_closed() {
            return;
        }
        match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                backend.handle_eof(input.len());
                return;
            }
            Ok(n) => input.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A toy SQL dialect: `SELECT n` for n rows; `LISTEN ch`; `BEGIN`/`COMMIT`; anything else is a syntax error.
fn simple_query(backend: &mut Backend<Vec<u8>>, sql: &str, pid: i32) {
    for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(n) = statement.strip_prefix("SELECT ").and_then(|n| n.parse::<u32>().ok()) {
            backend.row_description(&[column("n", oid::INT4), column("square", oid::TEXT)]).unwrap();
            for i in 1..=n {
                backend
                    .data_row_with(|row: &mut DataRowWriter<'_>| -> Result<(), EncodeError> {
                        row.value(i.to_string().as_bytes())?;
                        row.value(format!("{}", i * i).as_bytes())
                    })
                    .unwrap();
            }
            backend.command_complete(&format!("SELECT {n}")).unwrap();
        } else if let Some(channel) = statement.strip_prefix("LISTEN ") {
            backend.command_complete("LISTEN").unwrap();
            backend.notification(pid, channel, "hello").unwrap();
        } else if statement == "BEGIN" {
            backend.command_complete("BEGIN").unwrap();
            backend.set_transaction_status(TransactionStatus::InTransaction).unwrap();
        } else if statement == "COMMIT" || statement == "ROLLBACK" {
            backend.command_complete(statement).unwrap();
            backend.set_transaction_status(TransactionStatus::Idle).unwrap();
        } else {
            let fields = ErrorFields {
                position: Some("1"),
                ..ErrorFields::new(Severity::Error, SqlState::SYNTAX_ERROR, "syntax error at or near \"x\"")
            };
            backend.error(&fields).unwrap();
            return;
        }
    }
}

/// Starts a server task on an in-memory pipe and connects tokio-postgres to it.
async fn connect(server: Arc<Server>, config: &Config) -> (Client, tokio::task::JoinHandle<Vec<AsyncMessage>>) {
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    tokio::spawn(serve(server_end, server));
    let (client, mut connection) = config.connect_raw(client_end, NoTls).await.expect("login");
    let messages = tokio::spawn(async move {
        let mut messages = Vec::new();
        let mut stream = stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(m)) = stream.next().await {
            messages.push(m);
        }
        messages
    });
    (client, messages)
}

fn server(auth: AuthMethod<'static>) -> Arc<Server> {
    Arc::new(Server { auth, password: b"pencil", cancels: Cancels::default(), next_pid: 4242 })
}

fn config() -> Config {
    let mut c = Config::new();
    c.user("alice").dbname("db").password("pencil");
    c
}

#[tokio::test]
async fn simple_queries_rows_and_errors() {
    let (client, _) = connect(server(AuthMethod::Trust), &config()).await;
    let rows = client.simple_query("SELECT 3").await.unwrap();
    let values: Vec<(String, String)> = rows
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((r.get(0).unwrap().to_owned(), r.get(1).unwrap().to_owned())),
            _ => None,
        })
        .collect();
    assert_eq!(values, [("1".into(), "1".into()), ("2".into(), "4".into()), ("3".into(), "9".into())]);
    assert!(matches!(rows.last(), Some(SimpleQueryMessage::CommandComplete(3))));

    let err = client.simple_query("x").await.unwrap_err();
    let db = err.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "42601");
    assert_eq!(db.message(), "syntax error at or near \"x\"");
    // The connection is still usable, and transactions work.
    let tx_rows = client.simple_query("BEGIN; SELECT 1; COMMIT").await.unwrap();
    assert_eq!(tx_rows.iter().filter(|m| matches!(m, SimpleQueryMessage::Row(_))).count(), 1);
}

#[tokio::test]
async fn cleartext_password_login_and_rejection() {
    let (client, _) = connect(server(AuthMethod::Cleartext), &config()).await;
    assert_eq!(client.simple_query("SELECT 1").await.unwrap().len(), 3);

    let (client_end, server_end) = tokio::io::duplex(4096);
    tokio::spawn(serve(server_end, server(AuthMethod::Cleartext)));
    let mut wrong = config();
    wrong.password("wrong");
    let err = wrong.connect_raw(client_end, NoTls).await.err().expect("login must fail");
    let db = err.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "28P01");
    assert_eq!(db.message(), "password authentication failed for user \"alice\"");
}

/// Logs in with "pencil" (must work) and "wrong" (must fail with 28P01).
async fn password_login_and_rejection(auth: AuthMethod<'static>) {
    let (client, _) = connect(server(auth), &config()).await;
    assert_eq!(client.simple_query("SELECT 1").await.unwrap().len(), 3);

    let (client_end, server_end) = tokio::io::duplex(4096);
    tokio::spawn(serve(server_end, server(auth)));
    let mut wrong = config();
    wrong.password("wrong");
    let err = wrong.connect_raw(client_end, NoTls).await.err().expect("login must fail");
    let db = err.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "28P01");
    assert_eq!(db.message(), "password authentication failed for user \"alice\"");
}

#[tokio::test]
async fn scram_sha_256_login_and_rejection() {
    let verifier = ScramVerifier::generate(b"pencil", &mut rand::rng());
    password_login_and_rejection(AuthMethod::ScramSha256 { password: StoredPassword::Scram(verifier) }).await;
    // A plaintext stored password works for SCRAM too.
    password_login_and_rejection(AuthMethod::ScramSha256 { password: StoredPassword::Plaintext(b"pencil") }).await;
}

#[tokio::test]
async fn md5_login_and_rejection() {
    let verifier = Md5Verifier::derive(b"alice", b"pencil");
    password_login_and_rejection(AuthMethod::Md5 { password: StoredPassword::Md5(verifier) }).await;
    password_login_and_rejection(AuthMethod::Md5 { password: StoredPassword::Plaintext(b"pencil") }).await;
}

#[tokio::test]
async fn prepared_statements_with_typed_parameters_and_binary_results() {
    let (client, _) = connect(server(AuthMethod::Trust), &config()).await;
    let statement = client.prepare("SELECT $1::int4").await.unwrap();
    assert_eq!(statement.params(), &[tokio_postgres::types::Type::INT4]);
    for n in [0, 1, -7, i32::MAX] {
        let row = client.query_one(&statement, &[&n]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), n);
    }
    // Pipelined: many queries in flight at once.
    let results = future::join_all((0..50).map(|i| {
        let client = &client;
        let statement = &statement;
        async move { client.query_one(statement, &[&i]).await.unwrap().get::<_, i32>(0) }
    }))
    .await;
    assert_eq!(results, (0..50).collect::<Vec<_>>());
    let err = client.execute("BOGUS", &[]).await.unwrap_err();
    assert_eq!(err.as_db_error().unwrap().code().code(), "42601");
    let row = client.query_one(&statement, &[&5]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 5, "usable after an error");
}

#[tokio::test]
async fn notifications_reach_the_client() {
    let (client, messages) = connect(server(AuthMethod::Trust), &config()).await;
    client.simple_query("LISTEN news").await.unwrap();
    drop(client);
    let messages = messages.await.unwrap();
    let notes: Vec<_> = messages
        .iter()
        .filter_map(|m| match m {
            AsyncMessage::Notification(n) => Some((n.process_id(), n.channel().to_owned(), n.payload().to_owned())),
            _ => None,
        })
        .collect();
    assert_eq!(notes, [(4242, "news".to_owned(), "hello".to_owned())]);
}

#[tokio::test]
async fn cancel_request_cancels_a_running_query() {
    let srv = server(AuthMethod::Trust);
    let (client, _) = connect(srv.clone(), &config()).await;
    let token = client.cancel_token();
    let slow = tokio::spawn(async move { client.query("SELECT pg_sleep(60)", &[]).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (cancel_client, cancel_server) = tokio::io::duplex(1024);
    tokio::spawn(serve(cancel_server, srv));
    token.cancel_query_raw(cancel_client, NoTls).await.unwrap();
    let err = slow.await.unwrap().unwrap_err();
    assert_eq!(err.as_db_error().unwrap().code().code(), "57014");
}
