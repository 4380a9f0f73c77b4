//! A toy service for the server tests: a tiny SQL dialect whose answers the
//! tests know in advance, and helpers to start a server and connect to it.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{StreamExt, stream};
use postwire_server::codec::backend::TransactionStatus;
use postwire_server::codec::{Format, SqlState, oid};
use postwire_server::{
    AuthSource, ClientInfo, Column, Config, Context, CopyIn, CopyInSink, CopyOut, PgError, Portal, Prepared,
    QueryResponse, Response, Rows, Server, Service, Session, TlsMode, Value,
};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, NoTls};

/// What the toy service records, shared by its sessions.
#[derive(Clone, Default)]
pub struct Toy {
    /// Lines received by COPY FROM STDIN.
    pub copied: Arc<Mutex<Vec<String>>>,
    /// Rows the SERIES stream has produced so far.
    pub produced: Arc<AtomicU64>,
    /// Every client that opened a session.
    pub clients: Arc<Mutex<Vec<ClientInfo>>>,
    /// SLEEPs under way.
    pub sleeping: Arc<AtomicU64>,
    /// The name of the thread each session was opened on.
    pub threads: Arc<Mutex<Vec<Option<String>>>>,
}

/// Counts a SLEEP while it runs (also when its future is dropped).
struct Sleeping(Arc<AtomicU64>);

impl Sleeping {
    fn new(counter: &Arc<AtomicU64>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Sleeping(counter.clone())
    }
}

impl Drop for Sleeping {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Service for Toy {
    type Session = ToySession;

    async fn open(&self, client: &ClientInfo) -> Result<ToySession, PgError> {
        if client.database == "nope" {
            return Err(PgError::fatal(SqlState::INVALID_CATALOG_NAME, "database \"nope\" does not exist"));
        }
        self.clients.lock().unwrap().push(client.clone());
        self.threads.lock().unwrap().push(std::thread::current().name().map(str::to_owned));
        Ok(ToySession { toy: self.clone() })
    }
}

pub struct ToySession {
    toy: Toy,
}

struct Lines(Arc<Mutex<Vec<String>>>, Vec<u8>);

impl CopyInSink for Lines {
    fn data(&mut self, data: &[u8]) -> Result<(), PgError> {
        if data.starts_with(b"bad") {
            return Err(PgError::new(SqlState::BAD_COPY_FILE_FORMAT, "bad line"));
        }
        self.1.extend_from_slice(data);
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<u64, PgError> {
        let text =
            String::from_utf8(self.1).map_err(|_| PgError::new(SqlState::CHARACTER_NOT_IN_REPERTOIRE, "utf8"))?;
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let n = lines.len() as u64;
        self.0.lock().unwrap().extend(lines);
        Ok(n)
    }
}

fn syntax_error(statement: &str) -> PgError {
    let word = statement.split_whitespace().next().unwrap_or("");
    PgError::new(SqlState::SYNTAX_ERROR, format!("syntax error at or near \"{word}\""))
        .with_position(1)
        .with_hint("the toy dialect knows SELECT n, BIG n, SLEEP, LISTEN, NOTIFY, BEGIN, COMMIT, COPY")
}

impl ToySession {
    /// 1..=n, counting the rows pulled.
    fn series(&self, n: i32) -> impl futures_util::Stream<Item = Result<Vec<Value>, PgError>> + Send + 'static {
        let produced = self.toy.produced.clone();
        stream::iter(1..=n).map(move |i| {
            produced.fetch_add(1, Ordering::SeqCst);
            Ok(vec![Value::Int4(i)])
        })
    }

    /// The responses both protocols share.
    fn copy_response(&self, statement: &str) -> Option<Response> {
        if statement.starts_with("COPY") && statement.ends_with("FROM STDIN") {
            return Some(Response::CopyIn(CopyIn::new(Format::Text, 1, Lines(self.toy.copied.clone(), Vec::new()))));
        }
        if statement.starts_with("COPY") && statement.ends_with("TO STDOUT") {
            let data = stream::iter(["a\n", "b\n", "c\n"].map(|s| Ok(s.as_bytes().to_vec())));
            return Some(Response::CopyOut(CopyOut::new(Format::Text, 1, data)));
        }
        None
    }

    async fn statement(
        &mut self,
        ctx: &mut Context,
        statement: &str,
        out: &mut QueryResponse<'_>,
    ) -> Result<(), PgError> {
        let mut words = statement.split_whitespace();
        let verb = words.next().unwrap_or("");
        let arg = words.next();
        if let Some(response) = self.copy_response(statement) {
            return out.send(response).await;
        }
        match (verb, arg) {
            ("SELECT", Some(n)) if n.parse::<u32>().is_ok() => {
                let n: u32 = n.parse().unwrap();
                out.columns(&[Column::new("n", oid::INT4), Column::new("square", oid::TEXT)]).await?;
                for i in 1..=n as i32 {
                    out.row(|row| {
                        row.value(&i)?;
                        row.value((i * i).to_string().as_str())
                    })
                    .await?;
                }
                out.complete(&format!("SELECT {n}")).await
            }
            ("SERIES", Some(n)) => {
                let n: i32 = n.parse().map_err(|_| syntax_error(statement))?;
                let rows = Rows::new(vec![Column::new("i", oid::INT4)], self.series(n));
                out.send(Response::Rows(rows)).await
            }
            ("BIG", Some(n)) => {
                let n: usize = n.parse().map_err(|_| syntax_error(statement))?;
                let rows = Rows::from_vec(vec![Column::new("big", oid::TEXT)], vec![vec![Value::Text("x".repeat(n))]]);
                out.send(Response::Rows(rows)).await
            }
            ("SLEEP", ms) => {
                let ms = ms.and_then(|m| m.parse().ok()).unwrap_or(60_000);
                let _sleeping = Sleeping::new(&self.toy.sleeping);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                out.complete("SLEEP").await
            }
            ("LISTEN", Some(channel)) => {
                ctx.listen(channel);
                out.complete("LISTEN").await
            }
            ("UNLISTEN", Some(channel)) => {
                ctx.unlisten(channel);
                out.complete("UNLISTEN").await
            }
            ("NOTIFY", Some(channel)) => {
                let payload = words.next().unwrap_or("");
                ctx.notify(channel, payload);
                out.complete("NOTIFY").await
            }
            ("BEGIN", None) | ("START", Some("TRANSACTION")) => {
                ctx.set_transaction_status(TransactionStatus::InTransaction);
                out.complete("BEGIN").await
            }
            ("COMMIT" | "ROLLBACK", None) => {
                ctx.set_transaction_status(TransactionStatus::Idle);
                out.complete(verb).await
            }
            ("SET", Some(name)) => {
                ctx.report_parameter(name, words.next().unwrap_or(""));
                out.complete("SET").await
            }
            ("NOTICE", None) => {
                out.notice(&PgError::new(SqlState::WARNING, "careful")).await?;
                out.complete("NOTICE").await
            }
            ("FAIL", None) => Err(PgError::new(SqlState::DIVISION_BY_ZERO, "division by zero")),
            _ => Err(syntax_error(statement)),
        }
    }
}

impl Session for ToySession {
    async fn simple_query(&mut self, ctx: &mut Context, sql: &str, out: &mut QueryResponse<'_>) -> Result<(), PgError> {
        let statements: Vec<&str> = sql.split(';').map(str::trim).filter(|s| !s.is_empty()).collect();
        if statements.is_empty() {
            return out.empty().await;
        }
        for statement in statements {
            self.statement(ctx, statement, out).await?;
        }
        Ok(())
    }

    async fn prepare(&mut self, _: &mut Context, sql: &str, _: &[u32]) -> Result<Prepared, PgError> {
        // pgbench sends its statements with the trailing semicolon.
        let sql = sql.trim().trim_end_matches(';');
        Ok(match sql {
            "" | "SLEEP" | "BEGIN" | "COMMIT" => Prepared::default(),
            "SELECT $1::int4" => Prepared::new(vec![oid::INT4], vec![Column::new("v", oid::INT4)]),
            "SELECT $1::text, $2::int8" => Prepared::new(
                vec![oid::TEXT, oid::INT8],
                vec![Column::new("t", oid::TEXT), Column::new("n", oid::INT8)],
            ),
            "SERIES $1" => Prepared::new(vec![oid::INT4], vec![Column::new("i", oid::INT4)]),
            "INSERT $1" => Prepared::new(vec![oid::TEXT], vec![]),
            "FAIL" => Prepared::new(vec![], vec![Column::new("x", oid::INT4)]),
            _ if self.copy_response(sql).is_some() => Prepared::default(),
            _ => return Err(syntax_error(sql)),
        })
    }

    async fn execute(&mut self, ctx: &mut Context, portal: &Portal<'_>) -> Result<Response, PgError> {
        if let Some(response) = self.copy_response(portal.sql) {
            return Ok(response);
        }
        match portal.sql.trim().trim_end_matches(';') {
            "" => Ok(Response::Empty),
            "BEGIN" => {
                ctx.set_transaction_status(TransactionStatus::InTransaction);
                Ok(Response::Command("BEGIN".into()))
            }
            "COMMIT" => {
                ctx.set_transaction_status(TransactionStatus::Idle);
                Ok(Response::Command("COMMIT".into()))
            }
            "SLEEP" => {
                let _sleeping = Sleeping::new(&self.toy.sleeping);
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(Response::Command("SLEEP".into()))
            }
            "SELECT $1::int4" => {
                let v: Option<i32> = portal.param(0)?;
                Ok(Response::Rows(Rows::from_vec(portal.columns.to_vec(), vec![vec![v.into()]])))
            }
            "SELECT $1::text, $2::int8" => {
                let t: Option<&str> = portal.param(0)?;
                let n: Option<i64> = portal.param(1)?;
                Ok(Response::Rows(Rows::from_vec(portal.columns.to_vec(), vec![vec![t.into(), n.into()]])))
            }
            "SERIES $1" => {
                let n = portal.param::<i32>(0)?.unwrap_or(0);
                Ok(Response::Rows(Rows::new(portal.columns.to_vec(), self.series(n))))
            }
            "INSERT $1" => {
                let t: Option<&str> = portal.param(0)?;
                self.toy.copied.lock().unwrap().push(t.unwrap_or("NULL").to_owned());
                Ok(Response::Command("INSERT 0 1".into()))
            }
            "FAIL" => Err(PgError::new(SqlState::DIVISION_BY_ZERO, "division by zero")),
            other => Err(syntax_error(other)),
        }
    }
}

/// A server for the toy service with `auth`, listening on 127.0.0.1.
pub async fn start<A: AuthSource>(config: Config, auth: A) -> (Server<Toy, A>, u16) {
    let server = Server::new(Toy::default(), auth, config);
    let addr = server.listen_tcp("127.0.0.1:0", TlsMode::Disabled).await.expect("bind");
    (server, addr.port())
}

/// Client settings for 127.0.0.1:`port` as alice on db.
pub fn pg_config(port: u16) -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    config.host("127.0.0.1").port(port).user("alice").dbname("db").password("pencil");
    config.connect_timeout(Duration::from_secs(10));
    config
}

/// What a client connection's task reports: notices, notifications, and the
/// error that ended it.
pub struct Messages(mpsc::UnboundedReceiver<Result<AsyncMessage, tokio_postgres::Error>>);

impl Messages {
    /// The next message or error (`None`: the connection ended cleanly).
    /// Waits at most 10 s.
    pub async fn next(&mut self) -> Option<Result<AsyncMessage, tokio_postgres::Error>> {
        tokio::time::timeout(Duration::from_secs(10), self.0.recv()).await.expect("a message within 10 s")
    }

    /// A message already received, if any.
    pub fn try_next(&mut self) -> Option<Result<AsyncMessage, tokio_postgres::Error>> {
        self.0.try_recv().ok()
    }

    /// The next notification: (channel, payload, process id).
    pub async fn notification(&mut self) -> (String, String, i32) {
        loop {
            match self.next().await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    return (n.channel().to_owned(), n.payload().to_owned(), n.process_id());
                }
                Some(Ok(_)) => {}
                other => panic!("connection ended without a notification: {other:?}"),
            }
        }
    }

    /// The next notice's message.
    pub async fn notice(&mut self) -> String {
        loop {
            match self.next().await {
                Some(Ok(AsyncMessage::Notice(n))) => return n.message().to_owned(),
                Some(Ok(_)) => {}
                other => panic!("connection ended without a notice: {other:?}"),
            }
        }
    }

    /// The error that ends the connection.
    pub async fn error(&mut self) -> tokio_postgres::Error {
        loop {
            match self.next().await {
                Some(Err(e)) => return e,
                Some(Ok(_)) => {}
                None => panic!("connection ended without an error"),
            }
        }
    }
}

/// Spawns a client connection's task, forwarding its async messages.
pub fn spawn_connection<S, T>(connection: tokio_postgres::Connection<S, T>) -> Messages
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut connection = connection;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stream = stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(m) = stream.next().await {
            let end = m.is_err();
            let _ = tx.send(m);
            if end {
                break;
            }
        }
    });
    Messages(rx)
}

/// Connects over TCP without TLS.
pub async fn connect(config: &tokio_postgres::Config) -> (Client, Messages) {
    let (client, connection) = config.connect(NoTls).await.expect("connect");
    (client, spawn_connection(connection))
}

/// Waits (at most 10 s) until `condition` holds.
pub async fn until(mut condition: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 10 s");
}

/// The SQLSTATE of a failed call.
pub fn code(e: &tokio_postgres::Error) -> String {
    e.as_db_error().unwrap_or_else(|| panic!("not a server error: {e:?}")).code().code().to_owned()
}

/// The rows' text values of a simple query result.
pub fn simple_rows(messages: &[tokio_postgres::SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}
