//! Startup edge cases sent byte for byte to a real PostgreSQL 18 and to
//! postwire's server, and their answers compared: protocol 3.0 and 3.2, a
//! newer minor version and unknown `_pq_.` options (NegotiateProtocolVersion),
//! another major version, no user, a malformed packet, SSL and GSSAPI
//! encryption requests, a cancel request with a wrong key. Runs when the
//! cluster of `.ci/pg-cluster.sh` is PostgreSQL 18 or newer; skipped (with a
//! message) otherwise.

mod server_support;

use std::time::Duration;

use postwire_server::{Config, Trust};
use server_support::start;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A hang detector, not a timing requirement.
const LIMIT: Duration = Duration::from_secs(10);

/// A startup packet: the version, then `name\0value\0` pairs, then `\0`.
fn startup(major: u16, minor: u16, params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&major.to_be_bytes());
    body.extend_from_slice(&minor.to_be_bytes());
    for (name, value) in params {
        body.extend_from_slice(name.as_bytes());
        body.push(0);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    with_length(&body)
}

fn with_length(body: &[u8]) -> Vec<u8> {
    let mut packet = u32::try_from(body.len() + 4).unwrap().to_be_bytes().to_vec();
    packet.extend_from_slice(body);
    packet
}

/// One message of the answer: its tag and body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Message {
    tag: u8,
    body: Vec<u8>,
}

/// What came back: the messages up to ReadyForQuery, an error, or the end,
/// and whether the server closed the connection.
#[derive(Debug)]
struct Answer {
    /// A single byte answer to SSLRequest or GSSENCRequest.
    byte: Option<u8>,
    messages: Vec<Message>,
    closed: bool,
}

impl Answer {
    fn tags(&self) -> String {
        // ParameterStatus sets differ between servers: left out.
        self.messages.iter().filter(|m| m.tag != b'S').map(|m| m.tag as char).collect()
    }

    fn message(&self, tag: u8) -> Option<&Message> {
        self.messages.iter().find(|m| m.tag == tag)
    }

    /// An ErrorResponse's severity (non-localized, `V`) and SQLSTATE.
    fn error(&self) -> Option<(String, String)> {
        let body = &self.message(b'E')?.body;
        Some((error_field(body, b'V').unwrap_or_default(), error_field(body, b'C').unwrap_or_default()))
    }

    /// BackendKeyData's secret key length.
    fn key_len(&self) -> Option<usize> {
        self.message(b'K').map(|m| m.body.len() - 4)
    }

    /// NegotiateProtocolVersion: the newest minor version and the options
    /// the server did not recognise.
    fn negotiated(&self) -> Option<(u32, Vec<String>)> {
        let body = &self.message(b'v')?.body;
        let minor = u32::from_be_bytes(body[..4].try_into().unwrap());
        let count = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
        let names = body[8..].split(|&b| b == 0).take(count).map(|n| String::from_utf8_lossy(n).into_owned());
        Some((minor, names.collect()))
    }
}

/// The next message from `stream`, or `None` at its end.
async fn read_message(stream: &mut TcpStream) -> Option<Message> {
    let mut header = [0u8; 5];
    stream.read_exact(&mut header).await.ok()?;
    let len = u32::from_be_bytes(header[1..].try_into().unwrap()) as usize;
    let mut body = vec![0u8; len - 4];
    stream.read_exact(&mut body).await.unwrap();
    Some(Message { tag: header[0], body })
}

/// Sends `packet` and reads until ReadyForQuery, an ErrorResponse, or the
/// end. With `single_byte`, the answer is one byte (S, N or G).
async fn exchange(port: u16, packet: &[u8], single_byte: bool) -> Answer {
    tokio::time::timeout(LIMIT, async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(packet).await.unwrap();
        let mut answer = Answer { byte: None, messages: Vec::new(), closed: false };
        if single_byte {
            let mut byte = [0u8; 1];
            answer.byte = stream.read_exact(&mut byte).await.ok().map(|_| byte[0]);
            return answer;
        }
        loop {
            let Some(message) = read_message(&mut stream).await else {
                answer.closed = true;
                return answer;
            };
            let tag = message.tag;
            answer.messages.push(message);
            if tag == b'E' {
                let mut rest = [0u8; 1];
                answer.closed = matches!(stream.read(&mut rest).await, Ok(0) | Err(_));
                return answer;
            }
            if tag == b'Z' {
                return answer;
            }
        }
    })
    .await
    .expect("an answer or a close, not a hang")
}

/// The real cluster's port if it runs PostgreSQL 18 or newer.
async fn postgresql_18() -> Option<u16> {
    let Some(port) = std::env::var("POSTWIRE_PG_PORT").ok().and_then(|p| p.parse().ok()) else {
        eprintln!("POSTWIRE_PG_PORT unset: the startup comparison is skipped (.ci/pg-cluster.sh)");
        return None;
    };
    let answer = exchange(port, &startup(3, 0, &[("user", "fe_trust"), ("database", "fe")]), false).await;
    let version = answer
        .messages
        .iter()
        .filter(|m| m.tag == b'S')
        .find_map(|m| m.body.strip_prefix(b"server_version\0").map(|v| String::from_utf8_lossy(v).into_owned()))
        .unwrap_or_default();
    let major: u32 = version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if major < 18 {
        eprintln!("the cluster is PostgreSQL {version}: the startup comparison needs 18 (.ci/pg18.sh)");
        return None;
    }
    Some(port)
}

#[tokio::test]
async fn startup_answers_match_postgresql_18() {
    let Some(pg) = postgresql_18().await else { return };
    let (_server, ours) = start(Config::default(), Trust).await;
    let user = [("user", "fe_trust"), ("database", "fe")];
    let both = |packet: Vec<u8>, single_byte: bool| async move {
        (exchange(pg, &packet, single_byte).await, exchange(ours, &packet, single_byte).await)
    };

    // 3.0: AuthenticationOk, BackendKeyData with a 4-byte key, ReadyForQuery.
    let (theirs, mine) = both(startup(3, 0, &user), false).await;
    assert_eq!((theirs.tags(), mine.tags()), ("RKZ".into(), "RKZ".into()));
    assert_eq!((theirs.key_len(), mine.key_len()), (Some(4), Some(4)));

    // 3.2: the same, with a longer key, as long as PostgreSQL 18's.
    let (theirs, mine) = both(startup(3, 2, &user), false).await;
    assert_eq!(theirs.tags(), mine.tags());
    assert_eq!(mine.key_len(), theirs.key_len());
    assert!(theirs.key_len() > Some(4));

    // A newer minor version: NegotiateProtocolVersion offering 3.2, then on.
    let (theirs, mine) = both(startup(3, 9, &user), false).await;
    assert_eq!((theirs.tags(), mine.tags()), ("vRKZ".into(), "vRKZ".into()));
    assert_eq!(theirs.negotiated(), Some((0x0003_0002, vec![])));
    assert_eq!(mine.negotiated(), theirs.negotiated());

    // Unknown protocol options are named back; the session goes on.
    let with_options = [("user", "fe_trust"), ("database", "fe"), ("_pq_.unheard_of", "1")];
    let (theirs, mine) = both(startup(3, 0, &with_options), false).await;
    assert_eq!(theirs.tags(), mine.tags());
    assert_eq!(theirs.negotiated(), Some((0x0003_0000, vec!["_pq_.unheard_of".into()])));
    assert_eq!(mine.negotiated(), theirs.negotiated());

    // Another major version: FATAL 0A000, then the close.
    let (theirs, mine) = both(startup(4, 0, &user), false).await;
    assert_eq!(theirs.error(), Some(("FATAL".into(), "0A000".into())));
    assert_eq!(mine.error(), theirs.error());
    assert!(theirs.closed && mine.closed);

    // No user: FATAL 28000.
    let (theirs, mine) = both(startup(3, 0, &[("database", "fe")]), false).await;
    assert_eq!(theirs.error(), Some(("FATAL".into(), "28000".into())));
    assert_eq!(mine.error(), theirs.error());
    assert!(theirs.closed && mine.closed);

    // A parameter without its terminator: FATAL 08P01.
    let mut body = vec![0, 3, 0, 0];
    body.extend_from_slice(b"user\0fe_trust");
    let (theirs, mine) = both(with_length(&body), false).await;
    assert_eq!(theirs.error(), Some(("FATAL".into(), "08P01".into())));
    assert_eq!(mine.error(), theirs.error());

    // SSLRequest without TLS, GSSENCRequest: 'N' from both.
    let ssl_request = with_length(&80_877_103u32.to_be_bytes());
    let (theirs, mine) = both(ssl_request, true).await;
    assert_eq!((theirs.byte, mine.byte), (Some(b'N'), Some(b'N')));
    let gss_request = with_length(&80_877_104u32.to_be_bytes());
    let (theirs, mine) = both(gss_request, true).await;
    assert_eq!((theirs.byte, mine.byte), (Some(b'N'), Some(b'N')));

    // A CancelRequest for no such session: no answer, the connection closes.
    let mut cancel = 80_877_102u32.to_be_bytes().to_vec();
    cancel.extend_from_slice(&12_345i32.to_be_bytes());
    cancel.extend_from_slice(&[7; 32]);
    let (theirs, mine) = both(with_length(&cancel), false).await;
    assert!(theirs.messages.is_empty() && theirs.closed, "{theirs:?}");
    assert!(mine.messages.is_empty() && mine.closed, "{mine:?}");
}

/// A logged-in session on a raw socket (trust, protocol 3.2).
struct Raw {
    stream: TcpStream,
}

impl Raw {
    async fn login(port: u16) -> Raw {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(&startup(3, 2, &[("user", "fe_trust"), ("database", "fe")])).await.unwrap();
        let mut raw = Raw { stream };
        let login = raw.until_ready().await;
        assert_eq!(login.tags(), "RKZ");
        raw
    }

    /// Reads messages until ReadyForQuery or the end.
    async fn until_ready(&mut self) -> Answer {
        tokio::time::timeout(LIMIT, async {
            let mut answer = Answer { byte: None, messages: Vec::new(), closed: false };
            loop {
                let Some(message) = read_message(&mut self.stream).await else {
                    answer.closed = true;
                    return answer;
                };
                let ready = message.tag == b'Z';
                // Notices are the servers' own business.
                if message.tag != b'N' {
                    answer.messages.push(message);
                }
                if ready {
                    return answer;
                }
            }
        })
        .await
        .expect("ReadyForQuery or a close, not a hang")
    }

    /// Sends `query` and reads the one message that starts COPY FROM STDIN.
    async fn copy_in_response(&mut self, query: &[u8]) -> Message {
        self.stream.write_all(query).await.unwrap();
        tokio::time::timeout(LIMIT, read_message(&mut self.stream)).await.expect("no hang").expect("a message")
    }

    async fn send(&mut self, messages: &[Vec<u8>]) -> Answer {
        self.stream.write_all(&messages.concat()).await.unwrap();
        self.until_ready().await
    }
}

/// A tagged message.
fn tagged(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut message = vec![tag];
    message.extend_from_slice(&with_length(body));
    message
}

fn cstr(parts: &[&[u8]]) -> Vec<u8> {
    parts.iter().flat_map(|p| p.iter().copied().chain([0])).collect()
}

fn sync() -> Vec<u8> {
    tagged(b'S', &[])
}

/// The SQLSTATEs of every ErrorResponse in an answer.
fn codes(answer: &Answer) -> Vec<String> {
    answer.messages.iter().filter(|m| m.tag == b'E').filter_map(|m| error_field(&m.body, b'C')).collect()
}

/// The field `code` of an ErrorResponse's body.
fn error_field(body: &[u8], code: u8) -> Option<String> {
    body.split(|&b| b == 0).find(|f| f.first() == Some(&code)).map(|f| String::from_utf8_lossy(&f[1..]).into_owned())
}

#[tokio::test]
async fn extended_protocol_errors_match_postgresql_18() {
    let Some(pg) = postgresql_18().await else { return };
    let (_server, ours) = start(Config::default(), Trust).await;
    let (mut theirs, mut mine) = (Raw::login(pg).await, Raw::login(ours).await);

    let mut bind_nope = cstr(&[b"", b"nope"]);
    bind_nope.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut execute_nope = cstr(&[b"nope"]);
    execute_nope.extend_from_slice(&0i32.to_be_bytes());
    let steps: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("an empty query", vec![tagged(b'Q', b"\0")]),
        ("a lone Sync", vec![sync()]),
        ("Bind to no such statement", vec![tagged(b'B', &bind_nope), sync()]),
        ("errors skip the rest up to Sync", vec![tagged(b'B', &bind_nope), tagged(b'E', &execute_nope), sync()]),
        ("Describe no such statement", vec![tagged(b'D', &cstr(&[b"Snope"])), sync()]),
        ("Describe no such portal", vec![tagged(b'D', &cstr(&[b"Pnope"])), sync()]),
        ("Execute no such portal", vec![tagged(b'E', &execute_nope), sync()]),
        (
            "Close no such statement or portal",
            vec![tagged(b'C', &cstr(&[b"Snope"])), tagged(b'C', &cstr(&[b"Pnope"])), sync()],
        ),
        ("Flush, then Sync", vec![tagged(b'H', &[]), sync()]),
        (
            "COPY messages outside COPY are ignored",
            vec![tagged(b'd', b"stray"), tagged(b'c', &[]), tagged(b'f', b"nothing\0"), sync()],
        ),
        // Whole frames with bad content: an ERROR, and the session goes on.
        ("Describe with a bad kind", vec![tagged(b'D', &cstr(&[b"Xnope"])), sync()]),
        ("Close with a bad kind", vec![tagged(b'C', &cstr(&[b"Xnope"])), sync()]),
        ("a Query without its terminator", vec![tagged(b'Q', b"SELECT 1")]),
        ("a Parse cut short", vec![tagged(b'P', b"\0SELECT 1\0\0"), sync()]),
        ("an Execute cut short", vec![tagged(b'E', b"\0\0\0"), sync()]),
        ("a Flush with a body", vec![tagged(b'H', b"x"), sync()]),
        ("a Query with bad UTF-8", vec![tagged(b'Q', b"SELECT '\xff'\0")]),
    ];
    // Not compared: a Bind cut short naming no statement. PostgreSQL looks the
    // statement up before reading the rest (26000); postwire checks the whole
    // message first (08P01). Both answer with an ERROR and go on.
    for (what, messages) in steps {
        let (a, b) = (theirs.send(&messages).await, mine.send(&messages).await);
        assert_eq!(b.tags(), a.tags(), "{what}: tags");
        assert_eq!(codes(&b), codes(&a), "{what}: SQLSTATEs");
        // The transaction status too.
        assert_eq!(b.message(b'Z'), a.message(b'Z'), "{what}: ReadyForQuery");
    }

    // An unknown message type ends the session: FATAL 08P01, then the close.
    let (a, b) = (theirs.send(&[tagged(b'!', b"")]).await, mine.send(&[tagged(b'!', b"")]).await);
    assert_eq!(a.error(), Some(("FATAL".into(), "08P01".into())));
    assert_eq!(b.error(), a.error());
    assert!(a.closed && b.closed);
}

/// Answers `SELECT 1` and `SELECT generate_series(1,3)` as PostgreSQL does, in both
/// protocols, so whole answers can be compared byte for byte.
#[derive(Clone)]
struct SelectOne;

fn select_one_columns() -> Vec<postwire_server::Column> {
    vec![postwire_server::Column::new("?column?", postwire_server::codec::oid::INT4)]
}

fn select_one(sql: &str) -> Result<postwire_server::Response, postwire_server::PgError> {
    use postwire_server::{PgError, Response, Rows, codec::SqlState};
    match sql.trim_end_matches(';') {
        "SELECT 1" => {
            Ok(Response::Rows(Rows::typed(select_one_columns(), futures_util::stream::iter([Ok(1i32)]), |n, row| {
                row.value(n)
            })))
        }
        "SELECT generate_series(1,3)" => {
            let columns = vec![postwire_server::Column::new("generate_series", postwire_server::codec::oid::INT4)];
            let rows = futures_util::stream::iter((1..=3).map(Ok));
            Ok(Response::Rows(Rows::typed(columns, rows, |n: &i32, row| row.value(n))))
        }
        "COPY (SELECT 1) TO STDOUT" => {
            let data = futures_util::stream::iter([Ok(b"1\n".to_vec())]);
            Ok(Response::CopyOut(postwire_server::CopyOut::new(postwire_server::codec::Format::Text, 1, data)))
        }
        "COPY copied FROM STDIN" => {
            Ok(Response::CopyIn(postwire_server::CopyIn::new(postwire_server::codec::Format::Text, 1, LineCounter(0))))
        }
        other => Err(PgError::new(SqlState::SYNTAX_ERROR, format!("not this test's SQL: {other}"))),
    }
}

/// COPY FROM STDIN into nowhere, counting lines as PostgreSQL counts rows.
struct LineCounter(u64);

impl postwire_server::CopyInSink for LineCounter {
    fn data(&mut self, data: &[u8]) -> Result<(), postwire_server::PgError> {
        self.0 += data.iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<u64, postwire_server::PgError> {
        Ok(self.0)
    }
}

impl postwire_server::Service for SelectOne {
    type Session = SelectOne;
    async fn open(&self, _: &postwire_server::ClientInfo) -> Result<SelectOne, postwire_server::PgError> {
        Ok(SelectOne)
    }
}

impl postwire_server::Session for SelectOne {
    async fn simple_query(
        &mut self,
        _: &mut postwire_server::Context,
        sql: &str,
        out: &mut postwire_server::QueryResponse<'_>,
    ) -> Result<(), postwire_server::PgError> {
        for statement in sql.split(';').filter(|s| !s.trim().is_empty()) {
            out.send(select_one(statement)?).await?;
        }
        Ok(())
    }

    async fn prepare(
        &mut self,
        _: &mut postwire_server::Context,
        sql: &str,
        _: &[u32],
    ) -> Result<postwire_server::Prepared, postwire_server::PgError> {
        let columns = match select_one(sql)? {
            postwire_server::Response::Rows(rows) => rows.columns().to_vec(),
            _ => vec![],
        };
        Ok(postwire_server::Prepared::new(vec![], columns))
    }

    /// `int4pl` (OID 177), the function behind `+` on two int4s, in binary.
    async fn function_call(
        &mut self,
        _: &mut postwire_server::Context,
        call: &postwire_server::FunctionCall,
    ) -> Result<Option<Vec<u8>>, postwire_server::PgError> {
        let int = |arg: &(Option<Vec<u8>>, postwire_server::codec::Format)| {
            arg.0.as_deref().and_then(|b| <[u8; 4]>::try_from(b).ok()).map(i32::from_be_bytes)
        };
        match (call.function, call.args.as_slice()) {
            (177, [a, b]) => Ok(int(a).zip(int(b)).map(|(a, b)| (a + b).to_be_bytes().to_vec())),
            _ => Err(postwire_server::PgError::new(
                postwire_server::codec::SqlState::UNDEFINED_FUNCTION,
                "no such function",
            )),
        }
    }

    async fn execute(
        &mut self,
        _: &mut postwire_server::Context,
        portal: &postwire_server::Portal<'_>,
    ) -> Result<postwire_server::Response, postwire_server::PgError> {
        select_one(portal.sql)
    }
}

/// A FunctionCall of `oid` with binary int4 arguments (or NULLs), asking for
/// a binary result.
fn function_call(oid: u32, args: &[Option<i32>]) -> Vec<u8> {
    let mut body = oid.to_be_bytes().to_vec();
    body.extend_from_slice(&1i16.to_be_bytes());
    body.extend_from_slice(&1i16.to_be_bytes());
    body.extend_from_slice(&i16::try_from(args.len()).unwrap().to_be_bytes());
    for arg in args {
        match arg {
            Some(n) => {
                body.extend_from_slice(&4i32.to_be_bytes());
                body.extend_from_slice(&n.to_be_bytes());
            }
            None => body.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    body.extend_from_slice(&1i16.to_be_bytes());
    tagged(b'F', &body)
}

/// PostgreSQL's source-location fields (file, line, routine): postwire has
/// no C source to name.
const SOURCE_FIELDS: &[u8] = b"FLR";

/// The messages with the ErrorResponse fields whose codes are in `codes`
/// taken out.
fn without_fields(messages: &[Message], codes: &[u8]) -> Vec<Message> {
    messages
        .iter()
        .map(|m| match m.tag {
            b'E' => {
                let kept = m.body.split_inclusive(|&b| b == 0).filter(|f| f.first().is_none_or(|c| !codes.contains(c)));
                Message { tag: m.tag, body: kept.flatten().copied().collect() }
            }
            _ => m.clone(),
        })
        .collect()
}

fn without_source_fields(messages: &[Message]) -> Vec<Message> {
    without_fields(messages, SOURCE_FIELDS)
}

#[tokio::test]
async fn select_one_answers_match_postgresql_18_byte_for_byte() {
    let Some(pg) = postgresql_18().await else { return };
    let server = postwire_server::Server::new(SelectOne, Trust, Config::default());
    let ours = server.listen_tcp("127.0.0.1:0", postwire_server::TlsMode::Disabled).await.unwrap().port();
    let (mut theirs, mut mine) = (Raw::login(pg).await, Raw::login(ours).await);
    // A one-column table for COPY FROM STDIN, on PostgreSQL only (the test
    // service takes the data without one).
    let create = theirs.send(&[tagged(b'Q', b"CREATE TEMP TABLE copied (n int)\0")]).await;
    assert_eq!(create.tags(), "CZ");

    let parse = |name: &[u8], sql: &[u8]| {
        let mut body = cstr(&[name, sql]);
        body.extend_from_slice(&0i16.to_be_bytes());
        tagged(b'P', &body)
    };
    let bind = |portal: &[u8], statement: &[u8], binary: bool| {
        let mut body = cstr(&[portal, statement]);
        body.extend_from_slice(&0i16.to_be_bytes());
        body.extend_from_slice(&0i16.to_be_bytes());
        if binary {
            body.extend_from_slice(&1i16.to_be_bytes());
            body.extend_from_slice(&1i16.to_be_bytes());
        } else {
            body.extend_from_slice(&0i16.to_be_bytes());
        }
        tagged(b'B', &body)
    };
    let execute = |portal: &[u8], max_rows: i32| {
        let mut body = cstr(&[portal]);
        body.extend_from_slice(&max_rows.to_be_bytes());
        tagged(b'E', &body)
    };
    let describe = |kind: u8, name: &[u8]| tagged(b'D', &[&[kind][..], name, b"\0"].concat());
    let steps: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("simple SELECT 1", vec![tagged(b'Q', b"SELECT 1\0")]),
        ("simple, two statements", vec![tagged(b'Q', b"SELECT 1;SELECT 1\0")]),
        (
            "unnamed statement, text",
            vec![parse(b"", b"SELECT 1"), bind(b"", b"", false), describe(b'P', b""), execute(b"", 0), sync()],
        ),
        (
            "named statement described, binary",
            vec![
                parse(b"one", b"SELECT 1"),
                describe(b'S', b"one"),
                bind(b"p", b"one", true),
                execute(b"p", 0),
                sync(),
            ],
        ),
        (
            "a row limit of exactly the rows",
            vec![bind(b"p", b"one", false), execute(b"p", 1), execute(b"p", 1), sync()],
        ),
        ("a row limit above the rows", vec![bind(b"", b"one", false), execute(b"", 5), sync()]),
        (
            "three rows, two at a time",
            vec![
                parse(b"three", b"SELECT generate_series(1,3)"),
                bind(b"q", b"three", false),
                execute(b"q", 2),
                execute(b"q", 2),
                execute(b"q", 2),
                sync(),
            ],
        ),
        ("close, then use", vec![tagged(b'C', b"Sone\0"), bind(b"", b"one", false), sync()]),
        ("COPY TO STDOUT, simple", vec![tagged(b'Q', b"COPY (SELECT 1) TO STDOUT\0")]),
        ("FunctionCall int4pl(2, 40), binary", vec![function_call(177, &[Some(2), Some(40)])]),
        ("FunctionCall int4pl(2, NULL): strict, so NULL", vec![function_call(177, &[Some(2), None])]),
        (
            "COPY TO STDOUT, extended",
            vec![parse(b"", b"COPY (SELECT 1) TO STDOUT"), bind(b"", b"", false), execute(b"", 0), sync()],
        ),
    ];
    for (what, messages) in steps {
        let (a, b) = (theirs.send(&messages).await, mine.send(&messages).await);
        assert_eq!(without_source_fields(&b.messages), without_source_fields(&a.messages), "{what}");
    }

    // COPY FROM STDIN: the CopyInResponse, then the data, CopyDone or
    // CopyFail, and what follows.
    for (what, end) in [("CopyDone", tagged(b'c', &[])), ("CopyFail", tagged(b'f', b"changed my mind\0"))] {
        let query = tagged(b'Q', b"COPY copied FROM STDIN\0");
        let (a, b) = (theirs.copy_in_response(&query).await, mine.copy_in_response(&query).await);
        assert_eq!(b, a, "COPY FROM STDIN, {what}: CopyInResponse");
        let data = [tagged(b'd', b"1\n2\n"), tagged(b'd', b"3\n"), end.clone()];
        let (a, b) = (theirs.send(&data).await, mine.send(&data).await);
        // PostgreSQL adds where the COPY stood (`W`: table and line), which
        // only its executor knows.
        let without_where = |messages: &[Message]| without_fields(messages, b"FLRW");
        assert_eq!(without_where(&b.messages), without_where(&a.messages), "COPY FROM STDIN, {what}");
    }

    // In the extended protocol, Flush and Sync during COPY FROM STDIN are
    // ignored; the Sync after CopyDone ends the batch.
    let start =
        [parse(b"", b"COPY copied FROM STDIN"), bind(b"", b"", false), execute(b"", 0), tagged(b'H', &[])].concat();
    let (a, b) = (theirs.copy_in_response(&start).await, mine.copy_in_response(&start).await);
    assert_eq!(a.tag, b'1', "ParseComplete first");
    assert_eq!(b, a, "extended COPY FROM STDIN: ParseComplete");
    let rest = [tagged(b'd', b"1\n"), tagged(b'H', &[]), sync(), tagged(b'd', b"2\n"), tagged(b'c', &[]), sync()];
    let (a, b) = (theirs.send(&rest).await, mine.send(&rest).await);
    assert_eq!(without_source_fields(&b.messages), without_source_fields(&a.messages), "extended COPY FROM STDIN");
}
