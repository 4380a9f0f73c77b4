//! A PostgreSQL face on SQLite, the `sqlite-server` example's engine: a
//! [`Service`] whose sessions translate PostgreSQL SQL for SQLite and keep
//! PostgreSQL's rules where clients notice them (transaction status and
//! failed transactions, types in RowDescription and ParameterDescription,
//! SQLSTATEs, command tags, COPY, LISTEN/NOTIFY).
//!
//! Each session has its own SQLite connection; an in-memory database is
//! shared by every session of the service, as a file database is.
//! SQLite runs on tokio's blocking threads: results stream from there
//! through a small channel, so a slow client slows the query down instead
//! of making the server hold the result.
//!
//! ```no_run
//! # async fn f() {
//! use postwire_examples::sqlite::SqliteService;
//! use postwire_server::{Config, Server, TlsMode, Trust};
//!
//! let server = Server::new(SqliteService::in_memory().unwrap(), Trust, Config::default());
//! server.listen_tcp("127.0.0.1:5432", TlsMode::Disabled).await.unwrap();
//! # }
//! ```

mod command;
mod copy;
mod errors;
mod lexer;
mod pg_catalog;
mod translate;
mod types;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use futures_util::stream::{self, Stream, StreamExt};
use postwire_server::codec::backend::{Severity, TransactionStatus};
use postwire_server::codec::{Format, Oid, SqlState, oid};
use postwire_server::{
    ClientInfo, Column, Context, CopyIn, CopyInSink, CopyOut, PgError, Portal, Prepared, QueryResponse, Response, Rows,
    Service, Session, Value,
};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, InterruptHandle, OpenFlags};
use tokio::sync::mpsc;

use command::{Command, classify};
use copy::{CopySource, CopyStatement, RowParser};
use errors::pg_error;
use lexer::{Token, significant, split_statements, tokenize};
use translate::{ColumnRef, Hint, Translated, translate};
use types::{column, pg_value, sqlite_value, type_of_decltype, type_of_value};

/// How long a statement waits for the session's connection (held by a
/// suspended portal, say) before failing with 55006.
const LOCK_WAIT: Duration = Duration::from_secs(5);
/// Rows queued between SQLite and the client.
const ROW_QUEUE: usize = 64;
/// Statements whose translation a session keeps.
const PLAN_CACHE: usize = 256;

/// Opens a session per client on one SQLite database.
pub struct SqliteService {
    target: String,
    flags: OpenFlags,
    database_name: String,
    /// Keeps an in-memory database alive while no session is open.
    _anchor: Option<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteService").field("target", &self.target).finish()
    }
}

impl SqliteService {
    /// A fresh in-memory database (SQLite's `memdb` VFS), shared by the
    /// service's sessions and gone when the service is.
    pub fn in_memory() -> Result<Self, rusqlite::Error> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let target =
            format!("file:/postwire-{}-{}?vfs=memdb", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let anchor = Connection::open_with_flags(&target, flags)?;
        Ok(SqliteService { target, flags, database_name: "postwire".into(), _anchor: Some(Mutex::new(anchor)) })
    }

    /// The database in the file at `path` (created if missing, in WAL mode so
    /// readers and a writer do not block each other).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, rusqlite::Error> {
        let path: PathBuf = path.as_ref().into();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags)?;
        conn.pragma_update(None, "journal_mode", "wal")?;
        let database_name = path.file_stem().map_or("postwire".into(), |s| s.to_string_lossy().into_owned());
        Ok(SqliteService { target: path.to_string_lossy().into_owned(), flags, database_name, _anchor: None })
    }

    fn connect(&self, client: &ClientInfo, cancelled: &Arc<AtomicBool>) -> Result<Connection, rusqlite::Error> {
        let conn = Connection::open_with_flags(&self.target, self.flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.set_prepared_statement_cache_capacity(64);
        let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
        let version = format!("PostgreSQL 18.0 (postwire sqlite-server, SQLite {})", rusqlite::version());
        conn.create_scalar_function("version", 0, flags, move |_| Ok(version.clone()))?;
        let database = self.database_name.clone();
        conn.create_scalar_function("current_database", 0, flags, move |_| Ok(database.clone()))?;
        let user = client.user.clone();
        conn.create_scalar_function("current_user", 0, flags, move |_| Ok(user.clone()))?;
        let pid = client.process_id;
        conn.create_scalar_function("pg_backend_pid", 0, flags, move |_| Ok(pid))?;
        let cancelled = cancelled.clone();
        conn.create_scalar_function("pg_sleep", 1, FunctionFlags::SQLITE_UTF8, move |ctx| {
            let seconds: f64 = ctx.get(0)?;
            let deadline = Instant::now() + Duration::from_secs_f64(seconds.clamp(0.0, 86_400.0));
            while Instant::now() < deadline {
                if cancelled.load(Ordering::Relaxed) {
                    return Err(rusqlite::Error::UserFunctionError("canceling statement due to user request".into()));
                }
                std::thread::sleep(Duration::from_millis(5).min(deadline - Instant::now()));
            }
            Ok(None::<i64>)
        })?;
        Ok(conn)
    }
}

impl Service for SqliteService {
    type Session = SqliteSession;

    async fn open(&self, client: &ClientInfo) -> Result<SqliteSession, PgError> {
        let cancelled = Arc::new(AtomicBool::new(false));
        let conn = self
            .connect(client, &cancelled)
            .map_err(|e| PgError::fatal(SqlState::CONNECTION_FAILURE, format!("could not open the database: {e}")))?;
        let mut settings = BTreeMap::new();
        for (name, value) in default_settings() {
            settings.insert(name.to_owned(), value.to_owned());
        }
        settings.insert("session_authorization".into(), client.user.clone());
        if let Some(name) = client.param("application_name") {
            settings.insert("application_name".into(), name.to_owned());
        }
        Ok(SqliteSession {
            shared: Arc::new(Shared {
                interrupt: conn.get_interrupt_handle(),
                conn: Mutex::new(conn),
                cancelled,
                autocommit: AtomicBool::new(true),
            }),
            settings,
            plans: HashMap::new(),
            pending_notifications: Vec::new(),
        })
    }
}

/// The run-time parameters `SHOW` knows before any `SET`.
fn default_settings() -> [(&'static str, &'static str); 17] {
    [
        ("application_name", ""),
        ("client_encoding", "UTF8"),
        ("datestyle", "ISO, MDY"),
        ("default_transaction_isolation", "serializable"),
        ("extra_float_digits", "1"),
        ("integer_datetimes", "on"),
        ("intervalstyle", "postgres"),
        ("lc_messages", "C"),
        ("max_identifier_length", "63"),
        ("search_path", "\"$user\", public"),
        ("server_encoding", "UTF8"),
        ("server_version", "18.0"),
        ("server_version_num", "180000"),
        ("standard_conforming_strings", "on"),
        ("statement_timeout", "0"),
        ("timezone", "UTC"),
        ("transaction_isolation", "serializable"),
    ]
}

/// The parameters PostgreSQL reports to the client when they change.
fn reported_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "application_name" => "application_name",
        "client_encoding" => "client_encoding",
        "datestyle" => "DateStyle",
        "timezone" => "TimeZone",
        "intervalstyle" => "IntervalStyle",
        "standard_conforming_strings" => "standard_conforming_strings",
        "search_path" => "search_path",
        _ => return None,
    })
}

/// What a session's statements share with the threads running them.
struct Shared {
    conn: Mutex<Connection>,
    interrupt: InterruptHandle,
    /// Set when the running statement is cancelled (read by `pg_sleep`).
    cancelled: Arc<AtomicBool>,
    /// Whether the connection was outside a transaction after the last statement.
    autocommit: AtomicBool,
}

impl Shared {
    /// The connection, once the statement before (a suspended portal's
    /// stream, say) lets go of it.
    fn lock(&self) -> Result<MutexGuard<'_, Connection>, PgError> {
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match self.conn.try_lock() {
                Ok(guard) => {
                    self.cancelled.store(false, Ordering::Relaxed);
                    return Ok(guard);
                }
                Err(TryLockError::Poisoned(poisoned)) => return Ok(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(PgError::new(
                        SqlState::OBJECT_IN_USE,
                        "the session's connection is busy with another portal",
                    ));
                }
            }
        }
    }

    fn note_transaction(&self, conn: &Connection) {
        self.autocommit.store(conn.is_autocommit(), Ordering::Relaxed);
    }
}

/// Interrupts the statement when dropped before [`disarm`](Self::disarm):
/// the client cancelled, or went away.
struct InterruptOnDrop(Option<Arc<Shared>>);

impl InterruptOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            shared.cancelled.store(true, Ordering::Relaxed);
            shared.interrupt.interrupt();
        }
    }
}

/// Runs `job` on the session's connection on a blocking thread.
async fn run<T: Send + 'static>(
    shared: &Arc<Shared>,
    job: impl FnOnce(&Connection) -> Result<T, PgError> + Send + 'static,
) -> Result<T, PgError> {
    let guard = InterruptOnDrop(Some(shared.clone()));
    let thread_shared = shared.clone();
    let result = tokio::task::spawn_blocking(move || {
        let conn = thread_shared.lock()?;
        let result = job(&conn);
        thread_shared.note_transaction(&conn);
        result
    })
    .await
    .unwrap_or_else(|e| Err(PgError::new(SqlState::INTERNAL_ERROR, format!("the database thread failed: {e}"))));
    guard.disarm();
    result
}

/// Runs blocking work from synchronous code on a runtime thread (COPY's sink).
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// A statement's translation, kept per SQL text.
#[derive(Debug)]
struct Plan {
    command: Command,
    translated: Option<Translated>,
}

/// One client's session.
pub struct SqliteSession {
    shared: Arc<Shared>,
    settings: BTreeMap<String, String>,
    plans: HashMap<String, Arc<Plan>>,
    /// NOTIFYs inside a transaction, sent at COMMIT.
    pending_notifications: Vec<(String, String)>,
}

impl std::fmt::Debug for SqliteSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteSession").field("plans", &self.plans.len()).finish()
    }
}

/// What flows from the SQLite thread to the client.
enum Message {
    /// The statement returns rows with these columns.
    Columns(Vec<Column>),
    /// A row.
    Row(Vec<Value>),
    /// The statement returned no rows; its tag.
    Done(String),
    /// It failed.
    Failed(PgError),
}

/// A statement's outcome before it becomes a [`Response`].
enum Outcome {
    Rows(Vec<Column>, RowStream),
    Done(String),
}

type RowStream = std::pin::Pin<Box<dyn Stream<Item = Result<Vec<Value>, PgError>> + Send>>;

/// How result columns get their types.
#[derive(Clone)]
enum ColumnTypes {
    /// From the SQL, SQLite's declared types, else the first row (simple query).
    Infer,
    /// As described at Parse (extended query).
    Fixed(Vec<Column>),
}

fn lex_error(error: lexer::LexError) -> PgError {
    PgError::new(SqlState::SYNTAX_ERROR, error.message).with_position(error.position)
}

fn warning(code: SqlState, message: &str) -> PgError {
    let mut notice = PgError::new(code, message);
    notice.severity = Severity::Warning;
    notice
}

fn quote_name(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table's columns: (name, declared type); empty when there is no such table.
fn table_columns(conn: &Connection, table: &str) -> Result<Vec<(String, String)>, PgError> {
    let sql = format!("PRAGMA table_info({})", quote_name(table));
    let mut stmt = conn.prepare(&sql).map_err(|e| pg_error(&e, &sql))?;
    let rows = stmt
        .query_map([], |row| Ok((row.get::<_, String>(1)?, row.get::<_, String>(2)?)))
        .map_err(|e| pg_error(&e, &sql))?;
    rows.collect::<Result<_, _>>().map_err(|e| pg_error(&e, &sql))
}

/// Finds the declared types of the columns the SQL names.
struct Catalog<'c> {
    conn: &'c Connection,
    tables: &'c [(String, Option<String>)],
    cache: HashMap<String, Vec<(String, String)>>,
}

impl Catalog<'_> {
    fn columns_of(&mut self, table: &str) -> &[(String, String)] {
        if !self.cache.contains_key(table) {
            let columns = table_columns(self.conn, table).unwrap_or_default();
            self.cache.insert(table.to_owned(), columns);
        }
        &self.cache[table]
    }

    /// The declared type of a column reference.
    fn decltype(&mut self, column: &ColumnRef) -> Option<String> {
        match column {
            ColumnRef::Positional { table, index } => self.columns_of(table).get(*index).map(|(_, t)| t.clone()),
            ColumnRef::Named { qualifier, name } => {
                let candidates: Vec<String> = self
                    .tables
                    .iter()
                    .filter(|(table, alias)| qualifier.as_ref().is_none_or(|q| q == table || alias.as_ref() == Some(q)))
                    .map(|(table, _)| table.clone())
                    .collect();
                candidates.iter().find_map(|table| {
                    self.columns_of(table).iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, t)| t.clone())
                })
            }
        }
    }
}

/// The parameter types of a translated statement: the client's, else the
/// SQL's, else the column's each parameter meets, else text.
fn param_types(conn: &Connection, translated: &Translated, declared: &[Oid]) -> Vec<Oid> {
    let mut catalog = Catalog { conn, tables: &translated.tables, cache: HashMap::new() };
    let count = translated.params.max(declared.len());
    (0..count)
        .map(|i| {
            if let Some(&declared) = declared.get(i).filter(|&&t| t != 0) {
                return declared;
            }
            if let Some(Some(stated)) = translated.param_types.get(i) {
                return *stated;
            }
            translated
                .param_columns
                .iter()
                .filter(|(n, _)| *n == i)
                .find_map(|(_, column)| catalog.decltype(column))
                .map_or(oid::TEXT, |decltype| type_of_decltype(&decltype).0)
        })
        .collect()
}

/// The result columns of a prepared SQLite statement.
fn result_columns(
    conn: &Connection,
    stmt: &rusqlite::Statement<'_>,
    translated: &Translated,
    params: &[Oid],
    first_row: Option<&rusqlite::Row<'_>>,
) -> Vec<Column> {
    let described = stmt.columns();
    let count = described.len();
    let items = &translated.items;
    let stars = items.iter().filter(|i| i.hint == Hint::Star).count();
    // Which item each column comes from.
    let item_of = |i: usize| -> Option<&translate::Item> {
        if stars == 0 && items.len() == count {
            return items.get(i);
        }
        if stars == 1 && items.len() <= count + 1 {
            let star = items.iter().position(|item| item.hint == Hint::Star)?;
            let after = items.len() - star - 1;
            return if i < star {
                items.get(i)
            } else if i >= count - after {
                items.get(star + 1 + (i - (count - after)))
            } else {
                None
            };
        }
        None
    };
    let mut catalog = Catalog { conn, tables: &translated.tables, cache: HashMap::new() };
    (0..count)
        .map(|i| {
            let item = item_of(i);
            let name = item.and_then(|item| item.name.clone()).unwrap_or_else(|| described[i].name().to_owned());
            let hint = item.map_or(&Hint::Unknown, |item| &item.hint);
            let (type_oid, typmod) = match (hint, described[i].decl_type()) {
                (Hint::Type(t), _) => (*t, -1),
                (_, Some(decltype)) => type_of_decltype(decltype),
                (Hint::Column(c), None) => catalog.decltype(c).map_or((oid::TEXT, -1), |d| type_of_decltype(&d)),
                (Hint::Sum(c), None) => match catalog.decltype(c).map(|d| type_of_decltype(&d).0) {
                    Some(oid::INT2 | oid::INT4 | oid::INT8) => (oid::INT8, -1),
                    Some(oid::NUMERIC) => (oid::NUMERIC, -1),
                    _ => (oid::FLOAT8, -1),
                },
                (Hint::Param(n), None) => (params.get(*n).copied().unwrap_or(oid::TEXT), -1),
                (Hint::Arithmetic { columns, types }, None) => {
                    let column_types: Option<Vec<Oid>> =
                        columns.iter().map(|c| catalog.decltype(c).map(|d| type_of_decltype(&d).0)).collect();
                    let widest = column_types.and_then(|mut all| {
                        all.extend(types);
                        translate::widest_numeric(all)
                    });
                    match widest {
                        Some(t) => (t, -1),
                        None => (type_of_value(first_row.and_then(|row| row.get_ref(i).ok())), -1),
                    }
                }
                _ => (type_of_value(first_row.and_then(|row| row.get_ref(i).ok())), -1),
            };
            column(&name, type_oid, typmod)
        })
        .collect()
}

/// Runs a translated statement on the SQLite thread, sending what it
/// produces into `tx`.
fn execute_on(
    conn: &Connection,
    translated: &Translated,
    params: &[SqlValue],
    types: ColumnTypes,
    tx: &mpsc::Sender<Message>,
) -> Result<(), PgError> {
    let sql = &translated.sql;
    let mut stmt = conn.prepare_cached(sql).map_err(|e| pg_error(&e, sql))?;
    for (i, value) in params.iter().enumerate() {
        if i < stmt.parameter_count() {
            stmt.raw_bind_parameter(i + 1, value).map_err(|e| pg_error(&e, sql))?;
        }
    }
    if stmt.column_count() == 0 {
        let changed = stmt.raw_execute().map_err(|e| pg_error(&e, sql))?;
        let _ = tx.blocking_send(Message::Done(translated.verb.tag(changed as u64)));
        return Ok(());
    }
    // Inferred column types need the first row before anything is sent.
    let mut columns = match types {
        ColumnTypes::Fixed(columns) => {
            if tx.blocking_send(Message::Columns(columns.clone())).is_err() {
                return Ok(());
            }
            Some(columns)
        }
        ColumnTypes::Infer => None,
    };
    let infer = |stmt: &rusqlite::Statement<'_>, row: Option<&rusqlite::Row<'_>>| {
        result_columns(conn, stmt, translated, &[], row)
    };
    let mut rows = stmt.raw_query();
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => return Err(pg_error(&e, sql)),
        };
        if columns.is_none() {
            let described = infer(row.as_ref(), Some(row));
            if tx.blocking_send(Message::Columns(described.clone())).is_err() {
                return Ok(());
            }
            columns = Some(described);
        }
        let types = columns.as_ref().expect("columns are set above");
        let values: Result<Vec<Value>, PgError> = types
            .iter()
            .enumerate()
            .map(|(i, c)| pg_value(row.get_ref(i).map_err(|e| pg_error(&e, sql))?, c.type_oid))
            .collect();
        if tx.blocking_send(Message::Row(values?)).is_err() {
            // The client is gone or the portal closed.
            return Ok(());
        }
    }
    if columns.is_none() {
        drop(rows);
        let _ = tx.blocking_send(Message::Columns(infer(&stmt, None)));
    }
    Ok(())
}

/// Runs a translated statement and waits for its first answer: its columns
/// (the rows then stream) or its tag.
async fn query(
    shared: &Arc<Shared>,
    translated: Arc<Translated>,
    params: Vec<SqlValue>,
    types: ColumnTypes,
) -> Result<Outcome, PgError> {
    let (tx, mut rx) = mpsc::channel(ROW_QUEUE);
    let guard = InterruptOnDrop(Some(shared.clone()));
    let thread_shared = shared.clone();
    tokio::task::spawn_blocking(move || {
        let result = thread_shared.lock().and_then(|conn| {
            let result = execute_on(&conn, &translated, &params, types, &tx);
            thread_shared.note_transaction(&conn);
            result
        });
        if let Err(error) = result {
            let _ = tx.blocking_send(Message::Failed(error));
        }
    });
    let outcome = match rx.recv().await {
        Some(Message::Columns(columns)) => {
            let rows = stream::unfold((rx, Some(guard)), |(mut rx, guard)| async move {
                match rx.recv().await {
                    Some(Message::Row(values)) => Some((Ok(values), (rx, guard))),
                    Some(Message::Failed(error)) => Some((Err(error), (rx, guard))),
                    Some(Message::Columns(_) | Message::Done(_)) | None => {
                        // Finished: nothing left to interrupt.
                        if let Some(guard) = guard {
                            guard.disarm();
                        }
                        None
                    }
                }
            });
            return Ok(Outcome::Rows(columns, rows.boxed()));
        }
        Some(Message::Done(tag)) => Ok(Outcome::Done(tag)),
        Some(Message::Failed(error)) => Err(error),
        Some(Message::Row(_)) | None => Err(PgError::new(SqlState::INTERNAL_ERROR, "the database thread failed")),
    };
    guard.disarm();
    outcome
}

impl SqliteSession {
    /// The plan of one statement (its tokens), from the cache when the same
    /// SQL was seen before.
    fn plan(&mut self, tokens: &[Token<'_>]) -> Result<Arc<Plan>, PgError> {
        let key: String = tokens.iter().map(|t| t.text).collect();
        if let Some(plan) = self.plans.get(&key) {
            return Ok(plan.clone());
        }
        let command = classify(&significant(tokens))?;
        let translated = if command == Command::Sql { Some(translate(tokens)?) } else { None };
        let plan = Arc::new(Plan { command, translated });
        if self.plans.len() >= PLAN_CACHE {
            self.plans.clear();
        }
        self.plans.insert(key, plan.clone());
        Ok(plan)
    }

    /// Sets the transaction status from SQLite's after a statement.
    fn sync_status(&self, ctx: &mut Context) {
        let autocommit = self.shared.autocommit.load(Ordering::Relaxed);
        match (autocommit, ctx.transaction_status()) {
            (true, _) => ctx.set_transaction_status(TransactionStatus::Idle),
            (false, TransactionStatus::Idle) => ctx.set_transaction_status(TransactionStatus::InTransaction),
            _ => {}
        }
    }

    /// Runs plain SQL for a transaction statement.
    async fn exec(&self, ctx: &mut Context, sql: &'static str) -> Result<(), PgError> {
        self.exec_owned(ctx, sql.to_owned()).await
    }

    async fn exec_owned(&self, ctx: &mut Context, sql: String) -> Result<(), PgError> {
        let result = run(&self.shared, move |conn| conn.execute_batch(&sql).map_err(|e| pg_error(&e, &sql))).await;
        self.sync_status(ctx);
        result
    }

    /// Runs one statement: the response and, perhaps, a warning to show
    /// first (simple query only; the extended protocol has no place for it).
    async fn statement(
        &mut self,
        ctx: &mut Context,
        plan: &Plan,
        params: Vec<SqlValue>,
        types: ColumnTypes,
    ) -> Result<(Response, Option<PgError>), PgError> {
        let status = ctx.transaction_status();
        let ends_transaction = matches!(plan.command, Command::Commit | Command::Rollback | Command::RollbackTo(_));
        if status == TransactionStatus::Failed && !ends_transaction {
            return Err(PgError::new(
                SqlState::IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            ));
        }
        let idle = status == TransactionStatus::Idle;
        let tag = |tag: &str| Ok((Response::Command(tag.to_owned()), None));
        let outside = |what: &str| {
            Err(PgError::new(
                SqlState::NO_ACTIVE_SQL_TRANSACTION,
                format!("{what} can only be used in transaction blocks"),
            ))
        };
        match &plan.command {
            Command::Sql => {
                let translated = plan.translated.clone().expect("SQL statements are translated");
                let result = query(&self.shared, Arc::new(translated), params, types).await;
                self.sync_status(ctx);
                match result? {
                    Outcome::Done(tag) => Ok((Response::Command(tag), None)),
                    Outcome::Rows(columns, rows) => {
                        let verb = &plan.translated.as_ref().expect("translated").verb;
                        Ok((Response::Rows(Rows::new(columns, rows).with_command(verb.rows_command())), None))
                    }
                }
            }
            Command::Begin if !idle => Ok((
                Response::Command("BEGIN".into()),
                Some(warning(SqlState::ACTIVE_SQL_TRANSACTION, "there is already a transaction in progress")),
            )),
            Command::Begin => {
                self.exec(ctx, "BEGIN").await?;
                tag("BEGIN")
            }
            Command::Commit | Command::Rollback if idle => {
                let verb = if plan.command == Command::Commit { "COMMIT" } else { "ROLLBACK" };
                Ok((
                    Response::Command(verb.into()),
                    Some(warning(SqlState::NO_ACTIVE_SQL_TRANSACTION, "there is no transaction in progress")),
                ))
            }
            Command::Commit if status == TransactionStatus::InTransaction => {
                self.exec(ctx, "COMMIT").await?;
                for (channel, payload) in std::mem::take(&mut self.pending_notifications) {
                    ctx.notify(&channel, &payload);
                }
                tag("COMMIT")
            }
            Command::Commit | Command::Rollback => {
                self.pending_notifications.clear();
                self.exec(ctx, "ROLLBACK").await?;
                ctx.set_transaction_status(TransactionStatus::Idle);
                tag("ROLLBACK")
            }
            Command::Savepoint(_) | Command::Release(_) | Command::RollbackTo(_) if idle => {
                outside(match &plan.command {
                    Command::Savepoint(_) => "SAVEPOINT",
                    Command::Release(_) => "RELEASE SAVEPOINT",
                    _ => "ROLLBACK TO SAVEPOINT",
                })
            }
            Command::Savepoint(name) => {
                self.exec_owned(ctx, format!("SAVEPOINT {}", quote_name(name))).await?;
                tag("SAVEPOINT")
            }
            Command::Release(name) => {
                self.exec_owned(ctx, format!("RELEASE SAVEPOINT {}", quote_name(name))).await?;
                tag("RELEASE")
            }
            Command::RollbackTo(name) => {
                self.exec_owned(ctx, format!("ROLLBACK TO SAVEPOINT {}", quote_name(name))).await?;
                if !self.shared.autocommit.load(Ordering::Relaxed) {
                    ctx.set_transaction_status(TransactionStatus::InTransaction);
                }
                tag("ROLLBACK")
            }
            Command::Set { name, value } => {
                if let Some(name) = name {
                    self.set(ctx, name, value.clone())?;
                }
                tag("SET")
            }
            Command::Reset(name) => {
                if name == "all" {
                    let names: Vec<String> = default_settings().iter().map(|(n, _)| (*n).to_owned()).collect();
                    for name in names {
                        self.set(ctx, &name, None)?;
                    }
                } else {
                    self.set(ctx, name, None)?;
                }
                tag("RESET")
            }
            Command::Show(name) => Ok((self.show(name)?, None)),
            Command::NoOp(command) => tag(command),
            Command::Listen(channel) => {
                ctx.listen(channel);
                tag("LISTEN")
            }
            Command::Unlisten(channel) => {
                match channel {
                    Some(channel) => ctx.unlisten(channel),
                    None => ctx.unlisten_all(),
                }
                tag("UNLISTEN")
            }
            Command::Notify { channel, payload } => {
                if idle {
                    ctx.notify(channel, payload);
                } else if !self.pending_notifications.iter().any(|(c, p)| c == channel && p == payload) {
                    self.pending_notifications.push((channel.clone(), payload.clone()));
                }
                tag("NOTIFY")
            }
            Command::Copy(copy) => Ok((self.copy(copy).await?, None)),
            Command::Catalog(catalog) => {
                let columns = pg_catalog::columns(catalog);
                let catalog = catalog.clone();
                let rows = run(&self.shared, move |conn| pg_catalog::answer(conn, &catalog)).await?;
                Ok((Response::Rows(Rows::from_vec(columns, rows).with_command("SELECT")), None))
            }
        }
    }

    fn set(&mut self, ctx: &mut Context, name: &str, value: Option<String>) -> Result<(), PgError> {
        let default = default_settings().iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
        let value = match value.or(default) {
            Some(value) => value,
            None => {
                self.settings.remove(name);
                return Ok(());
            }
        };
        match name {
            "client_encoding" if !["utf8", "utf-8", "unicode"].contains(&value.to_ascii_lowercase().as_str()) => {
                return Err(PgError::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    format!("conversion between {value} and UTF8 is not supported"),
                ));
            }
            "server_version"
            | "server_version_num"
            | "server_encoding"
            | "integer_datetimes"
            | "max_identifier_length" => {
                return Err(PgError::new(
                    SqlState::CANT_CHANGE_RUNTIME_PARAM,
                    format!("parameter \"{name}\" cannot be changed"),
                ));
            }
            _ => {}
        }
        if let Some(reported) = reported_name(name)
            && self.settings.get(name) != Some(&value)
        {
            ctx.report_parameter(reported, &value);
        }
        self.settings.insert(name.to_owned(), value);
        Ok(())
    }

    fn show(&self, name: &str) -> Result<Response, PgError> {
        if name == "all" {
            let columns = vec![Column::new("name", oid::TEXT), Column::new("setting", oid::TEXT)];
            let rows = self.settings.iter().map(|(n, v)| vec![Value::from(n.as_str()), Value::from(v.as_str())]);
            return Ok(Response::Rows(Rows::from_vec(columns, rows.collect()).with_command("SHOW")));
        }
        let value = self.settings.get(name).ok_or_else(|| {
            PgError::new(SqlState::UNDEFINED_OBJECT, format!("unrecognized configuration parameter \"{name}\""))
        })?;
        let column = Column::new(reported_name(name).unwrap_or(name), oid::TEXT);
        Ok(Response::Rows(Rows::from_vec(vec![column], vec![vec![Value::from(value.as_str())]]).with_command("SHOW")))
    }

    /// COPY FROM STDIN into a table, or TO STDOUT from a table or query.
    async fn copy(&mut self, copy: &CopyStatement) -> Result<Response, PgError> {
        let translated = match &copy.source {
            CopySource::Table { name, columns } => {
                let lookup = name.clone();
                let table = run(&self.shared, move |conn| table_columns(conn, &lookup)).await?;
                if table.is_empty() {
                    return Err(PgError::new(SqlState::UNDEFINED_TABLE, format!("relation \"{name}\" does not exist")));
                }
                let chosen: Vec<(String, String)> = match columns {
                    None => table,
                    Some(names) => names
                        .iter()
                        .map(|wanted| {
                            table.iter().find(|(n, _)| n.eq_ignore_ascii_case(wanted)).cloned().ok_or_else(|| {
                                PgError::new(
                                    SqlState::UNDEFINED_COLUMN,
                                    format!("column \"{wanted}\" of relation \"{name}\" does not exist"),
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?,
                };
                if copy.from_client {
                    return self.copy_in(name, chosen, copy).await;
                }
                let list: Vec<String> = chosen.iter().map(|(n, _)| quote_name(n)).collect();
                let sql = format!("SELECT {} FROM {}", list.join(", "), quote_name(name));
                let tokens = tokenize(&sql).map_err(lex_error)?;
                translate(&tokens)?
            }
            CopySource::Query(sql) => {
                let tokens = tokenize(sql).map_err(lex_error)?;
                let statements = split_statements(&tokens);
                let [statement] = statements.as_slice() else {
                    return Err(PgError::new(SqlState::SYNTAX_ERROR, "COPY takes exactly one query"));
                };
                translate(statement)?
            }
        };
        let outcome = query(&self.shared, Arc::new(translated), Vec::new(), ColumnTypes::Infer).await?;
        let Outcome::Rows(columns, rows) = outcome else {
            return Err(PgError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "COPY query must have a RETURNING clause or return rows",
            ));
        };
        let options = copy.options.clone();
        let lines = rows.map(move |row| row.and_then(|values| copy::encode_row(&values, &options)));
        let mut out = CopyOut::new(Format::Text, columns.len(), lines);
        if copy.options.header {
            let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
            out = out.with_header(copy::encode_header(&names, &copy.options));
        }
        Ok(Response::CopyOut(out))
    }

    async fn copy_in(
        &mut self,
        table: &str,
        columns: Vec<(String, String)>,
        copy: &CopyStatement,
    ) -> Result<Response, PgError> {
        // Not `exec`: outside a transaction the savepoint opens one that
        // ends with the COPY, so the session's status must not change.
        let savepoint = "SAVEPOINT postwire_copy";
        run(&self.shared, move |conn| conn.execute_batch(savepoint).map_err(|e| pg_error(&e, savepoint))).await?;
        let names: Vec<String> = columns.iter().map(|(n, _)| quote_name(n)).collect();
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let sink = CopySink {
            shared: self.shared.clone(),
            insert: format!(
                "INSERT INTO {} ({}) VALUES ({})",
                quote_name(table),
                names.join(", "),
                placeholders.join(", ")
            ),
            table: table.to_owned(),
            columns: columns.iter().map(|(name, decltype)| (name.clone(), type_of_decltype(decltype).0)).collect(),
            parser: RowParser::new(copy.options.clone()),
            rows: 0,
        };
        Ok(Response::CopyIn(CopyIn::new(Format::Text, columns.len(), sink)))
    }
}

/// Inserts COPY FROM STDIN rows as they arrive, inside a savepoint.
struct CopySink {
    shared: Arc<Shared>,
    insert: String,
    table: String,
    columns: Vec<(String, Oid)>,
    parser: RowParser,
    rows: u64,
}

impl CopySink {
    fn insert(&mut self, rows: Vec<copy::Fields>) -> Result<(), PgError> {
        if rows.is_empty() {
            return Ok(());
        }
        let first_line = self.parser.line - rows.len() as u64 + 1;
        blocking(|| {
            let conn = self.shared.lock()?;
            let mut stmt = conn.prepare_cached(&self.insert).map_err(|e| pg_error(&e, &self.insert))?;
            for (offset, fields) in rows.into_iter().enumerate() {
                let line = first_line + offset as u64;
                let context = |e: PgError| e.with_detail(format!("COPY {}, line {line}", self.table));
                if fields.len() > self.columns.len() {
                    return Err(context(PgError::new(
                        SqlState::BAD_COPY_FILE_FORMAT,
                        "extra data after last expected column",
                    )));
                }
                if fields.len() < self.columns.len() {
                    let missing = &self.columns[fields.len()].0;
                    return Err(context(PgError::new(
                        SqlState::BAD_COPY_FILE_FORMAT,
                        format!("missing data for column \"{missing}\""),
                    )));
                }
                let values = fields
                    .iter()
                    .zip(&self.columns)
                    .map(|(field, (_, type_oid))| match field {
                        None => Ok(SqlValue::Null),
                        Some(text) => sqlite_value(*type_oid, Format::Text, text.as_bytes()),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(context)?;
                stmt.execute(rusqlite::params_from_iter(values)).map_err(|e| context(pg_error(&e, &self.insert)))?;
                self.rows += 1;
            }
            Ok(())
        })
    }

    fn end(&self, sql: &str) -> Result<(), PgError> {
        blocking(|| {
            let conn = self.shared.lock()?;
            let result = conn.execute_batch(sql).map_err(|e| pg_error(&e, sql));
            self.shared.note_transaction(&conn);
            result
        })
    }
}

impl CopyInSink for CopySink {
    fn data(&mut self, data: &[u8]) -> Result<(), PgError> {
        let rows = self.parser.push(data)?;
        self.insert(rows)
    }

    fn finish(mut self: Box<Self>) -> Result<u64, PgError> {
        let last = self.parser.finish();
        let result = last.and_then(|last| self.insert(last.into_iter().collect()));
        match result {
            Ok(()) => {
                self.end("RELEASE postwire_copy")?;
                Ok(self.rows)
            }
            Err(e) => {
                let _ = self.end("ROLLBACK TO postwire_copy; RELEASE postwire_copy");
                Err(e)
            }
        }
    }

    fn abort(self: Box<Self>) {
        let _ = self.end("ROLLBACK TO postwire_copy; RELEASE postwire_copy");
    }
}

impl Session for SqliteSession {
    async fn simple_query(&mut self, ctx: &mut Context, sql: &str, out: &mut QueryResponse<'_>) -> Result<(), PgError> {
        let tokens = tokenize(sql).map_err(lex_error)?;
        let statements = split_statements(&tokens);
        if statements.is_empty() {
            return out.empty().await;
        }
        for statement in &statements {
            let plan = self.plan(statement)?;
            if let Some(translated) = &plan.translated
                && translated.params > 0
            {
                return Err(PgError::new(SqlState::UNDEFINED_PARAMETER, "there is no parameter $1"));
            }
            let (response, notice) = self.statement(ctx, &plan, Vec::new(), ColumnTypes::Infer).await?;
            if let Some(notice) = notice {
                out.notice(&notice).await?;
            }
            out.send(response).await?;
        }
        Ok(())
    }

    async fn prepare(&mut self, _ctx: &mut Context, sql: &str, declared: &[Oid]) -> Result<Prepared, PgError> {
        let tokens = tokenize(sql).map_err(lex_error)?;
        let statements = split_statements(&tokens);
        let statement = match statements.as_slice() {
            [] => return Ok(Prepared::new(declared.to_vec(), Vec::new())),
            [one] => one,
            _ => {
                return Err(PgError::new(
                    SqlState::SYNTAX_ERROR,
                    "cannot insert multiple commands into a prepared statement",
                ));
            }
        };
        let plan = self.plan(statement)?;
        let Some(translated) = plan.translated.clone() else {
            let columns = match &plan.command {
                Command::Show(name) if name == "all" => {
                    vec![Column::new("name", oid::TEXT), Column::new("setting", oid::TEXT)]
                }
                Command::Show(name) => vec![Column::new(reported_name(name).unwrap_or(name), oid::TEXT)],
                Command::Catalog(catalog) => pg_catalog::columns(catalog),
                _ => Vec::new(),
            };
            return Ok(Prepared::new(declared.to_vec(), columns));
        };
        let declared = declared.to_vec();
        run(&self.shared, move |conn| {
            let stmt = conn.prepare_cached(&translated.sql).map_err(|e| pg_error(&e, &translated.sql))?;
            let params = param_types(conn, &translated, &declared);
            let mut columns = result_columns(conn, &stmt, &translated, &params, None);
            for column in &mut columns {
                // Nothing said what these are: text, which every value can be.
                if column.type_oid == oid::UNKNOWN {
                    column.type_oid = oid::TEXT;
                }
            }
            Ok(Prepared::new(params, columns))
        })
        .await
    }

    async fn execute(&mut self, ctx: &mut Context, portal: &Portal<'_>) -> Result<Response, PgError> {
        let tokens = tokenize(portal.sql).map_err(lex_error)?;
        let statements = split_statements(&tokens);
        let [statement] = statements.as_slice() else { return Ok(Response::Empty) };
        let plan = self.plan(statement)?;
        let mut params = Vec::with_capacity(portal.param_count());
        for i in 0..portal.param_count() {
            let (value, format) = portal.raw_param(i).expect("i < param_count");
            let type_oid = portal.param_types.get(i).copied().unwrap_or(oid::TEXT);
            params.push(match value {
                None => SqlValue::Null,
                Some(bytes) => sqlite_value(type_oid, format, bytes)
                    .map_err(|e| PgError::new(e.code, format!("{} (parameter ${})", e.message, i + 1)))?,
            });
        }
        let (response, _) = self.statement(ctx, &plan, params, ColumnTypes::Fixed(portal.columns.to_vec())).await?;
        Ok(response)
    }
}
