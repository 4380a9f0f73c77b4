//! The embedded serve loop against real tokio-postgres, over an in-memory
//! pipe wrapped as `embedded-io-async` (the TAP test covers a real network
//! stack: `embedded/tap-test.sh`).

use std::future::Future;

use embedded_io_adapters::tokio_1::FromTokio;
use postwire_codec::auth::scram::ScramVerifier;
use postwire_codec::oid;
use postwire_codec::session::CloseReason;
use postwire_embedded::{Config, ConnectionBuffers, Credentials, NoTimer, RowWriter, Table, User, serve_connection};
use tokio_postgres::{NoTls, SimpleQueryMessage};

type Reading = (i32, &'static str, f64);

const READINGS: [Reading; 3] = [(1, "hall", 21.5), (2, "attic", 24.25), (3, "cellar", 12.0)];

fn write_reading(
    (id, place, celsius): &Reading,
    row: &mut RowWriter<'_, '_>,
) -> Result<(), postwire_codec::EncodeError> {
    row.value(id)?;
    row.value(*place)?;
    row.value(celsius)
}

/// Runs `client` against a fresh connection served by the embedded loop and
/// returns what the serve loop reported.
async fn with_server<Fut: Future<Output = ()>>(
    users: &[User<'_>],
    rows: &[Reading],
    user: &str,
    password: &str,
    client: impl FnOnce(Result<tokio_postgres::Client, tokio_postgres::Error>) -> Fut,
) -> Result<CloseReason, String> {
    with_output_buffer::<1024, Fut>(users, rows, user, password, client).await
}

/// [`with_server`] with an output buffer of `OUTPUT` bytes.
async fn with_output_buffer<const OUTPUT: usize, Fut: Future<Output = ()>>(
    users: &[User<'_>],
    rows: &[Reading],
    user: &str,
    password: &str,
    client: impl FnOnce(Result<tokio_postgres::Client, tokio_postgres::Error>) -> Fut,
) -> Result<CloseReason, String> {
    let (server_end, client_end) = tokio::io::duplex(4096);
    let config = Config::new(users);
    let mut table = Table::new(
        "readings",
        &[("id", oid::INT4), ("place", oid::TEXT), ("celsius", oid::FLOAT8)],
        rows,
        write_reading,
    );
    let mut buffers = ConnectionBuffers::<2048, OUTPUT>::new();
    let mut rng = rand::rng();
    let mut timer = NoTimer;
    let server =
        serve_connection(FromTokio::new(server_end), &mut buffers, &config, &mut table, &mut timer, &mut rng, 7);
    let client_side = async move {
        let mut pg = tokio_postgres::Config::new();
        pg.user(user).password(password).dbname("device");
        match pg.connect_raw(client_end, NoTls).await {
            Ok((c, connection)) => {
                let driver = tokio::spawn(connection);
                client(Ok(c)).await;
                let _ = driver.await;
            }
            Err(e) => client(Err(e)).await,
        }
    };
    let (outcome, ()) = tokio::join!(server, client_side);
    outcome.map_err(|e| format!("{e:?}"))
}

fn users() -> [User<'static>; 3] {
    [
        User { name: "trusted", credentials: Credentials::Trust },
        User { name: "plain", credentials: Credentials::Password("secret") },
        User { name: "md5", credentials: Credentials::Md5("secret") },
    ]
}

fn rows_of(messages: &[SimpleQueryMessage]) -> Vec<Vec<String>> {
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL").to_owned()).collect()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn simple_and_extended_queries_and_errors() {
    let outcome = with_server(&users(), &READINGS, "trusted", "", |client| async move {
        let client = client.expect("trust login");
        let rows = rows_of(&client.simple_query("SELECT * FROM readings").await.unwrap());
        assert_eq!(rows, [["1", "hall", "21.5"], ["2", "attic", "24.25"], ["3", "cellar", "12"]]);
        let rows = rows_of(&client.simple_query("select * from READINGS limit 1;").await.unwrap());
        assert_eq!(rows.len(), 1);

        // Extended protocol, binary results, a typed parameter.
        let rows = client.query("SELECT * FROM readings LIMIT $1", &[&2i64]).await.unwrap();
        let got: Vec<(i32, String, f64)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
        assert_eq!(got, [(1, "hall".to_owned(), 21.5), (2, "attic".to_owned(), 24.25)]);

        // Errors carry their SQLSTATE, and the session goes on.
        let err = client.simple_query("SELECT * FROM nowhere").await.unwrap_err();
        assert_eq!(err.code().unwrap().code(), "42P01");
        let err = client.query("DROP TABLE readings", &[]).await.unwrap_err();
        assert_eq!(err.code().unwrap().code(), "42601");
        let err = client.query("SELECT * FROM readings LIMIT $1", &[&-1i64]).await.unwrap_err();
        assert_eq!(err.code().unwrap().code(), "2201W");
        assert_eq!(client.query("SELECT * FROM readings", &[]).await.unwrap().len(), 3);
    })
    .await;
    assert_eq!(outcome, Ok(CloseReason::Finished));
}

#[tokio::test]
async fn answers_larger_than_the_output_buffer_go_out_in_parts() {
    // The login's replies need about 400 bytes at once. Six result sets
    // need about 1,100: RowDescriptions, rows and CommandCompletes keep
    // filling the buffer, which is transmitted, and each answer resumes
    // where it stopped.
    let outcome = with_output_buffer::<390, _>(&users(), &READINGS, "trusted", "", |client| async move {
        let client = client.expect("trust login");
        let messages = client.simple_query(&"SELECT * FROM readings;".repeat(6)).await.unwrap();
        assert_eq!(
            rows_of(&messages),
            [["1", "hall", "21.5"], ["2", "attic", "24.25"], ["3", "cellar", "12"]].repeat(6)
        );
        let complete = messages.iter().filter(|m| matches!(m, SimpleQueryMessage::CommandComplete(3))).count();
        assert_eq!(complete, 6);
        // Four pipelined Parse/Describe/Sync take about 410 bytes: the last
        // RowDescription must follow its ParameterDescription, sent once.
        let sql = "SELECT * FROM readings LIMIT $1";
        let (a, b, c, statement) =
            tokio::join!(client.prepare(sql), client.prepare(sql), client.prepare(sql), client.prepare(sql));
        for s in [a.unwrap(), b.unwrap(), c.unwrap()] {
            assert_eq!((s.params().len(), s.columns().len()), (1, 3));
        }
        let statement = statement.unwrap();
        assert_eq!((statement.params().len(), statement.columns().len()), (1, 3));
        let rows = client.query(&statement, &[&2i64]).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(), [1, 2]);
        let err = client.simple_query("SELECT * FROM nowhere").await.unwrap_err();
        assert_eq!(err.code().unwrap().code(), "42P01");
    })
    .await;
    assert_eq!(outcome, Ok(CloseReason::Finished));
}

#[tokio::test]
async fn portals_suspend_at_the_row_limit_and_resume() {
    let many: Vec<Reading> = (0..1000).map(|i| (i, "x", f64::from(i))).collect();
    let many: &'static [Reading] = many.leak();
    with_server(&users(), many, "trusted", "", |client| async move {
        let mut client = client.unwrap();
        let tx = client.transaction().await.unwrap();
        let statement = tx.prepare("SELECT * FROM readings").await.unwrap();
        let portal = tx.bind(&statement, &[]).await.unwrap();
        let mut seen = Vec::new();
        loop {
            let batch = tx.query_portal(&portal, 300).await.unwrap();
            if batch.is_empty() {
                break;
            }
            seen.extend(batch.iter().map(|r| r.get::<_, i32>(0)));
        }
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
        // A 1,000-row result at once, larger than the output buffer.
        let all = rows_of(&tx.simple_query("SELECT * FROM readings").await.unwrap());
        assert_eq!(all.len(), 1000);
        assert_eq!(all[999], ["999", "x", "999"]);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn passwords_md5_and_scram_verifiers() {
    let verifier = ScramVerifier::derive(b"secret", b"0123456789abcdef", 4096).unwrap();
    let text = verifier.to_text();
    let mut all = users().to_vec();
    all.push(User { name: "scram", credentials: Credentials::Scram(&text) });
    for user in ["plain", "md5", "scram"] {
        let outcome = with_server(&all, &READINGS, user, "secret", |client| async move {
            let client = client.unwrap_or_else(|e| panic!("{user}: {e}"));
            assert_eq!(rows_of(&client.simple_query("SELECT * FROM readings").await.unwrap()).len(), 3);
        })
        .await;
        assert_eq!(outcome, Ok(CloseReason::Finished), "{user}");
        let outcome = with_server(&all, &READINGS, user, "wrong", |client| async move {
            let err = client.expect_err("wrong password refused");
            assert_eq!(err.code().unwrap().code(), "28P01");
        })
        .await;
        assert_eq!(outcome, Ok(CloseReason::AuthenticationFailed), "{user}");
    }
    // Unknown roles look like wrong passwords.
    with_server(&all, &READINGS, "nobody", "x", |client| async move {
        let err = client.expect_err("unknown user refused");
        assert_eq!(err.code().unwrap().code(), "28P01");
    })
    .await
    .ok();
}

#[tokio::test]
async fn garbage_and_oversized_messages_end_cleanly() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let users = users();
    let config = Config::new(&users);
    for input in [
        &b"\x00\x00\x00\x08\x04\xd2\x16\x2f garbage"[..], // GSSENCRequest then garbage
        b"GET / HTTP/1.1\r\n\r\n",
        b"\x00\x00\x10\x00\x00\x03\x00\x00user\0trusted\0\0", // a startup longer than the buffer says
    ] {
        let (server_end, mut client_end) = tokio::io::duplex(4096);
        let mut table = Table::new("readings", &[("id", oid::INT4)], &READINGS, |r: &Reading, w| w.value(&r.0));
        let mut buffers = ConnectionBuffers::<512, 512>::new();
        let mut rng = rand::rng();
        let mut timer = NoTimer;
        let server =
            serve_connection(FromTokio::new(server_end), &mut buffers, &config, &mut table, &mut timer, &mut rng, 1);
        let client = async {
            client_end.write_all(input).await.unwrap();
            client_end.shutdown().await.unwrap();
            let mut answer = Vec::new();
            client_end.read_to_end(&mut answer).await.unwrap();
            answer
        };
        let (outcome, answer) = tokio::join!(server, client);
        let outcome = outcome.unwrap();
        assert!(matches!(outcome, CloseReason::ProtocolViolation(_) | CloseReason::Truncated), "{outcome:?}");
        if let CloseReason::ProtocolViolation(_) = outcome {
            let text = String::from_utf8_lossy(&answer);
            assert!(
                ["C08P01", "C54000", "C0A000"].iter().any(|code| text.contains(code)),
                "a FATAL ErrorResponse with a protocol SQLSTATE: {text:?}"
            );
        }
    }
}
