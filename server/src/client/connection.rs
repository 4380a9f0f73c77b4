//! The handle to a connection: every call becomes a [`Request`] for the
//! connection task (`task.rs`, through the queue in `inbox.rs`), which writes
//! it as soon as the machine has room, so concurrent calls are pipelined and
//! answered in order.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use postwire_codec::Oid;
use postwire_codec::backend::TransactionStatus;
use tokio::sync::{mpsc, oneshot};

use super::cancel::CancelToken;
use super::connect::SessionInfo;
use super::copy::{CopyInWriter, CopyOutReader};
use super::notify::{NoticeHandler, Notification, Notifications};
use super::params::EncodedParams;
use super::stream::{RowStream, StreamItem};
use super::{ClientError, DbError, QueryResult};
use crate::Value;

pub(super) use super::task::{IN_FLIGHT, OUTPUT, spawn};

/// Chunks a row stream buffers before the connection stops reading (each
/// up to one socket read, 64 KiB).
pub(super) const STREAM_CHUNKS: usize = 4;

/// One call, as the connection task sees it.
pub(super) enum Request {
    /// A simple Query.
    Query { sql: Box<str>, sink: Sink },
    /// An extended query: the SQL and its parameters.
    Extended { query: EncodedParams, sink: Sink },
    /// Extended queries sharing one Sync.
    Batch { items: Vec<EncodedParams>, reply: oneshot::Sender<Vec<Result<QueryResult, ClientError>>> },
    /// A COPY … FROM STDIN; the writer is handed back once the server is
    /// ready for data.
    CopyIn { sql: Box<str>, reply: oneshot::Sender<Result<CopyInWriter, ClientError>> },
    /// A COPY … TO STDOUT; the reader is handed back when data starts.
    CopyOut { sql: Box<str>, reply: oneshot::Sender<Result<CopyOutReader, ClientError>> },
    /// A FunctionCall (binary arguments and result).
    Function { function: Oid, args: EncodedParams, reply: oneshot::Sender<Result<Option<Vec<u8>>, ClientError>> },
}

impl Request {
    /// Tells the caller the request will not run.
    pub(super) fn fail(self, error: impl Fn() -> ClientError) {
        match self {
            Request::Query { sink, .. } | Request::Extended { sink, .. } => match sink {
                Sink::Collect(reply) => drop(reply.send(Err(error()))),
                Sink::Stream(tx) => drop(tx.try_send(StreamItem::Error(error()))),
            },
            Request::Batch { reply, items } => drop(reply.send(items.iter().map(|_| Err(error())).collect())),
            Request::CopyIn { reply, .. } => drop(reply.send(Err(error()))),
            Request::CopyOut { reply, .. } => drop(reply.send(Err(error()))),
            Request::Function { reply, .. } => drop(reply.send(Err(error()))),
        }
    }
}

/// Where a query's results go.
pub(super) enum Sink {
    /// Collected, then sent whole.
    Collect(oneshot::Sender<Result<QueryResult, ClientError>>),
    /// Streamed as they arrive, with backpressure.
    Stream(mpsc::Sender<StreamItem>),
}

/// What the handles and the connection task share.
pub(super) struct Shared {
    pub info: SessionInfo,
    /// The last ReadyForQuery's status byte (`I`, `T`, `E`).
    pub status: AtomicU8,
    /// Where to send a CancelRequest, and the request itself.
    pub cancel: Option<CancelToken>,
    /// The receiving end of the notification channel, until taken.
    pub notifications: Mutex<Option<mpsc::Receiver<Notification>>>,
    /// Notifications dropped because the channel was full.
    pub dropped_notifications: AtomicU64,
    /// Who hears NoticeResponses.
    pub notice_handler: Mutex<Option<NoticeHandler>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("info", &self.info).finish_non_exhaustive()
    }
}

/// A handle to one connection; cheap to clone, usable from many tasks.
/// Concurrent calls are pipelined: each is written as soon as it is made,
/// and answers come back in order.
///
/// Results that are being streamed ([`Client::query_stream`],
/// [`Client::copy_out`]) hold up the answers behind them until they are read
/// or dropped.
#[derive(Clone, Debug)]
pub struct Client {
    pub(super) requests: super::inbox::Sender,
    pub(super) shared: Arc<Shared>,
}

impl Client {
    /// Runs `sql` (any number of `;`-separated statements) with the simple
    /// protocol; rows come in the text format.
    pub async fn simple_query(&self, sql: &str) -> Result<QueryResult, ClientError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Query { sql: sql_text(sql)?, sink: Sink::Collect(reply) }).await?;
        answer.await.map_err(|_| ClientError::Closed)?
    }

    /// Runs one statement with `$n` parameters through the extended protocol;
    /// results come in the binary format. The statement is prepared once per
    /// connection and cached (least recently used out first).
    ///
    /// Parameters go with their types, except [`Value::Text`], which the
    /// server types from context as it would a quoted literal.
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<QueryResult, ClientError> {
        let query = EncodedParams::query(sql, params)?;
        let (reply, answer) = oneshot::channel();
        self.send(Request::Extended { query, sink: Sink::Collect(reply) }).await?;
        answer.await.map_err(|_| ClientError::Closed)?
    }

    /// Like [`Client::query`], for a statement that returns no rows: the
    /// number of rows it affected.
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, ClientError> {
        Ok(self.query(sql, params).await?.rows_affected())
    }

    /// Like [`Client::query`], but rows arrive as the server sends them, and
    /// the connection stops reading while the stream's buffer is full: a
    /// large result is never held whole. Fetching a row allocates nothing.
    ///
    /// ```no_run
    /// # async fn demo(client: postwire_server::client::Client) -> Result<(), postwire_server::client::ClientError> {
    /// let mut rows = client.query_stream("SELECT generate_series(1, 1000000)", &[]).await?;
    /// let mut sum = 0i64;
    /// while let Some(row) = rows.next().await? {
    ///     sum += i64::from(row.get::<i32>(0)?.unwrap_or(0));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn query_stream(&self, sql: &str, params: &[Value]) -> Result<RowStream, ClientError> {
        let query = EncodedParams::query(sql, params)?;
        let (tx, rx) = mpsc::channel(STREAM_CHUNKS);
        self.send(Request::Extended { query, sink: Sink::Stream(tx) }).await?;
        Ok(RowStream::new(rx))
    }

    /// Like [`Client::query_stream`] with the simple protocol (text rows).
    pub async fn simple_query_stream(&self, sql: &str) -> Result<RowStream, ClientError> {
        let (tx, rx) = mpsc::channel(STREAM_CHUNKS);
        self.send(Request::Query { sql: sql_text(sql)?, sink: Sink::Stream(tx) }).await?;
        Ok(RowStream::new(rx))
    }

    /// A batch of extended queries sent together with one Sync at the end:
    /// the server runs them in one implicit transaction, and after a failure
    /// skips the rest (they fail with [`ClientError::Aborted`]).
    ///
    /// ```no_run
    /// # async fn demo(client: postwire_server::client::Client) -> Result<(), postwire_server::client::ClientError> {
    /// use postwire_server::Value;
    /// let mut batch = client.batch();
    /// for i in 0..100 {
    ///     batch.query("INSERT INTO t VALUES ($1)", &[Value::Int4(i)])?;
    /// }
    /// for result in batch.run().await? {
    ///     result?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn batch(&self) -> Batch<'_> {
        Batch { client: self, items: Vec::new() }
    }

    /// Starts `COPY … FROM STDIN`: once the server is ready, a writer for the
    /// data (text, CSV or binary, as the statement says).
    pub async fn copy_in(&self, sql: &str) -> Result<CopyInWriter, ClientError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::CopyIn { sql: sql_text(sql)?, reply }).await?;
        answer.await.map_err(|_| ClientError::Closed)?
    }

    /// Starts `COPY … TO STDOUT`: a reader of the data as the server sends it.
    pub async fn copy_out(&self, sql: &str) -> Result<CopyOutReader, ClientError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::CopyOut { sql: sql_text(sql)?, reply }).await?;
        answer.await.map_err(|_| ClientError::Closed)?
    }

    /// Calls function `function` (by OID) with binary arguments through the
    /// FunctionCall message; the binary result, `None` for NULL.
    pub async fn function_call(&self, function: Oid, args: &[Value]) -> Result<Option<Vec<u8>>, ClientError> {
        let args = EncodedParams::encode(args)?;
        let (reply, answer) = oneshot::channel();
        self.send(Request::Function { function, args, reply }).await?;
        answer.await.map_err(|_| ClientError::Closed)?
    }

    /// The NOTIFY messages for channels this session LISTENs to, through a
    /// bounded channel (the first call takes it; later calls get `None`).
    /// When it is full, new notifications are dropped and counted
    /// ([`Client::dropped_notifications`]) rather than stalling the
    /// connection.
    pub fn notifications(&self) -> Option<Notifications> {
        let rx = self.shared.notifications.lock().ok()?.take()?;
        Some(Notifications { rx })
    }

    /// Notifications dropped because the channel was full.
    pub fn dropped_notifications(&self) -> u64 {
        self.shared.dropped_notifications.load(Ordering::Relaxed)
    }

    /// Sets who hears the server's notices (warnings, `RAISE NOTICE`…);
    /// without one they are logged with `tracing` at INFO.
    pub fn on_notice(&self, handler: impl Fn(&DbError) + Send + Sync + 'static) {
        if let Ok(mut slot) = self.shared.notice_handler.lock() {
            *slot = Some(Arc::new(handler));
        }
    }

    /// A token that cancels the running query from anywhere (another task,
    /// another thread): it sends a CancelRequest on a new connection.
    /// `None` if the server sent no cancel key.
    pub fn cancel_token(&self) -> Option<CancelToken> {
        self.shared.cancel.clone()
    }

    /// The transaction status after the last completed request: idle,
    /// in a transaction block, or in a failed one.
    pub fn transaction_status(&self) -> TransactionStatus {
        match self.shared.status.load(Ordering::Relaxed) {
            b'T' => TransactionStatus::InTransaction,
            b'E' => TransactionStatus::Failed,
            _ => TransactionStatus::Idle,
        }
    }

    /// A run-time parameter the server reported at login
    /// (`server_version`, `TimeZone`, `integer_datetimes`…).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.shared.info.parameters.get(name).map(String::as_str)
    }

    /// Whether the connection is encrypted with TLS.
    pub fn is_tls(&self) -> bool {
        self.shared.info.tls
    }

    /// Whether authentication used SCRAM-SHA-256-PLUS, bound to the TLS
    /// channel.
    pub fn channel_binding_used(&self) -> bool {
        self.shared.info.channel_binding
    }

    /// Whether the connection task has ended.
    pub fn is_closed(&self) -> bool {
        self.requests.is_closed()
    }

    async fn send(&self, request: Request) -> Result<(), ClientError> {
        self.requests.send(request).await
    }
}

/// Queries to send with one Sync; see [`Client::batch`].
#[derive(Debug)]
pub struct Batch<'c> {
    client: &'c Client,
    items: Vec<EncodedParams>,
}

impl Batch<'_> {
    /// Adds a query.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<&mut Self, ClientError> {
        self.items.push(EncodedParams::query(sql, params)?);
        Ok(self)
    }

    /// The number of queries added.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no query was added.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sends the batch and waits for every result, in order.
    pub async fn run(self) -> Result<Vec<Result<QueryResult, ClientError>>, ClientError> {
        if self.items.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.client.send(Request::Batch { items: self.items, reply }).await?;
        answer.await.map_err(|_| ClientError::Closed)
    }
}

/// The SQL to send; a NUL cannot travel in the protocol's strings.
pub(super) fn sql_text(sql: &str) -> Result<Box<str>, ClientError> {
    check_sql(sql)?;
    Ok(sql.into())
}

pub(super) fn check_sql(sql: &str) -> Result<(), ClientError> {
    if sql.contains('\0') {
        return Err(ClientError::Value("the SQL text contains a NUL character".into()));
    }
    Ok(())
}

/// A COPY data chunk or the end of the data, from the writer to the task.
#[derive(Debug)]
pub(crate) enum CopyChunk {
    Data(Bytes),
    Done,
    Fail(String),
}
