//! The connection task (socket + frontend machine) and the handle to it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use postwire_codec::backend::TransactionStatus;
use postwire_codec::frontend::TargetKind;
use postwire_codec::session::frontend::{Event, Frontend};
use postwire_codec::{Format, Oid};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use super::connect::{Established, SessionInfo};
use super::row::ColumnInfo;
use super::{ClientConfig, ClientError, DbError, QueryResult, Row};
use crate::Value;

/// Requests queued in the channel before callers wait.
const QUEUE: usize = 1024;
/// Requests the machine tracks at once (an extended query takes five:
/// Parse, Bind, Describe, Execute, Sync); more wait in the channel.
pub(super) const IN_FLIGHT: usize = 512;
/// Prepared statements kept per connection (then the unnamed statement).
const STATEMENT_CACHE: usize = 256;
/// The machine's output buffer; a larger message is written in one go
/// after flushing.
pub(super) const OUTPUT: usize = 64 * 1024;

type Reply = oneshot::Sender<Result<QueryResult, ClientError>>;

enum Request {
    Simple { sql: String, reply: Reply },
    Extended { sql: String, params: Vec<Value>, reply: Reply },
}

impl Request {
    /// An upper bound of the bytes its messages take.
    fn size(&self) -> usize {
        match self {
            Request::Simple { sql, .. } => sql.len() + 16,
            Request::Extended { sql, params, .. } => {
                let values: usize = params.iter().map(|p| 8 + p.text_len_hint()).sum();
                2 * sql.len() + values + params.len() * 6 + 96
            }
        }
    }
}

/// A handle to one connection; cheap to clone, usable from many tasks.
/// Concurrent calls are pipelined.
#[derive(Clone, Debug)]
pub struct Client {
    requests: mpsc::Sender<Request>,
    shared: Arc<Shared>,
}

/// What the handles and the connection task share.
#[derive(Debug)]
struct Shared {
    info: SessionInfo,
    /// The last ReadyForQuery's status byte (`I`, `T`, `E`).
    status: AtomicU8,
}

/// Spawns the connection task for a logged-in session.
pub(super) fn spawn<S>(established: Established<S>, _config: &ClientConfig) -> Client
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Established { stream, frontend, input, info } = established;
    let shared = Arc::new(Shared { info, status: AtomicU8::new(b'I') });
    let connection = Connection {
        stream,
        frontend,
        input: input.to_vec(),
        pending: VecDeque::new(),
        statements: HashMap::new(),
        next_statement: 0,
        shared: shared.clone(),
    };
    let (requests, inbox) = mpsc::channel(QUEUE);
    tokio::spawn(connection.run(inbox));
    Client { requests, shared }
}

impl Client {
    /// Runs `sql` (any number of statements) with the simple protocol.
    pub async fn simple_query(&self, sql: &str) -> Result<QueryResult, ClientError> {
        self.call(|reply| Request::Simple { sql: sql.to_owned(), reply }).await
    }

    /// Runs one statement with `$n` parameters through the extended
    /// protocol (Parse, Bind, Describe, Execute, Sync). Parameters are sent as
    /// text with their types; NULL has an unspecified type.
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<QueryResult, ClientError> {
        self.call(|reply| Request::Extended { sql: sql.to_owned(), params: params.to_vec(), reply }).await
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

    /// Whether the connection task has ended.
    pub fn is_closed(&self) -> bool {
        self.requests.is_closed()
    }

    async fn call(&self, request: impl FnOnce(Reply) -> Request) -> Result<QueryResult, ClientError> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(request(reply)).await.map_err(|_| ClientError::Closed)?;
        answer.await.map_err(|_| ClientError::Closed)?
    }
}

/// A request sent and waiting for its ReadyForQuery.
struct Pending {
    reply: Reply,
    result: QueryResult,
    columns: Arc<[ColumnInfo]>,
    /// For a cached statement: its columns, filled by the first request's
    /// Describe and shared by later ones.
    cached: Option<Arc<OnceLock<Arc<[ColumnInfo]>>>>,
    /// The cache entry this request created (dropped again if it fails).
    creates: Option<StatementKey>,
    error: Option<DbError>,
}

/// A cached statement: its SQL and parameter types.
type StatementKey = (String, Vec<Oid>);

/// A prepared statement the server holds for this connection.
struct Cached {
    name: String,
    columns: Arc<OnceLock<Arc<[ColumnInfo]>>>,
}

struct Connection<S> {
    stream: S,
    frontend: Frontend<Vec<u8>, IN_FLIGHT>,
    input: Vec<u8>,
    pending: VecDeque<Pending>,
    statements: HashMap<StatementKey, Cached>,
    next_statement: u64,
    shared: Arc<Shared>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    async fn run(mut self, mut inbox: mpsc::Receiver<Request>) {
        let outcome = self.serve(&mut inbox).await;
        if let Err(error) = outcome {
            tracing::debug!(%error, "client connection ended");
        } else {
            return;
        }
        // Everyone waiting learns the connection is gone.
        for pending in self.pending.drain(..) {
            let _ = pending.reply.send(Err(ClientError::Closed));
        }
        inbox.close();
        while let Some(request) = inbox.recv().await {
            let (Request::Simple { reply, .. } | Request::Extended { reply, .. }) = request;
            let _ = reply.send(Err(ClientError::Closed));
        }
    }

    async fn serve(&mut self, inbox: &mut mpsc::Receiver<Request>) -> Result<(), ClientError> {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            self.flush().await?;
            tokio::select! {
                request = inbox.recv(), if self.frontend.pending_requests() + 5 <= IN_FLIGHT => match request {
                    Some(request) => {
                        self.queue(request).await?;
                        // Take whatever else is waiting, so one write carries
                        // many requests.
                        while self.frontend.pending_requests() + 5 <= IN_FLIGHT {
                            let Ok(request) = inbox.try_recv() else { break };
                            self.queue(request).await?;
                        }
                    }
                    None => {
                        // Every handle is gone.
                        let _ = self.frontend.send_terminate();
                        self.flush().await?;
                        return Ok(());
                    }
                },
                read = self.stream.read(&mut buf) => {
                    let n = read?;
                    if n == 0 {
                        self.frontend.handle_eof(self.input.len());
                        return Err(ClientError::Closed);
                    }
                    self.input.extend_from_slice(&buf[..n]);
                    self.handle_input()?;
                }
            }
        }
    }

    /// Queues a request, making room in the output first so its messages
    /// go into the machine's buffer whole.
    async fn queue(&mut self, request: Request) -> Result<(), ClientError> {
        if self.frontend.pending_output().len() + request.size() > OUTPUT {
            self.flush().await?;
        }
        self.send(request)
    }

    /// Queues a request's messages in the machine.
    fn send(&mut self, request: Request) -> Result<(), ClientError> {
        if request.size() > OUTPUT {
            let (Request::Simple { reply, .. } | Request::Extended { reply, .. }) = request;
            let _ = reply.send(Err(ClientError::Value("the request is larger than the output buffer".into())));
            return Ok(());
        }
        let (reply, sent) = match request {
            Request::Simple { sql, reply } => {
                let sent = self.frontend.send_query(&sql).map(|_| (None, None)).map_err(ClientError::from);
                (reply, sent)
            }
            Request::Extended { sql, params, reply } => {
                let sent = self.send_extended(sql, &params);
                (reply, sent)
            }
        };
        match sent {
            Ok((cached, creates)) => {
                self.pending.push_back(Pending {
                    reply,
                    result: QueryResult::default(),
                    columns: Arc::from(Vec::new()),
                    cached,
                    creates,
                    error: None,
                });
                Ok(())
            }
            // The caller's mistake (a value that cannot be encoded): tell
            // them, keep the connection.
            Err(ClientError::Value(e)) => {
                let _ = reply.send(Err(ClientError::Value(e)));
                Ok(())
            }
            Err(e) => {
                let _ = reply.send(Err(ClientError::Closed));
                Err(e)
            }
        }
    }

    /// Bind, Execute and Sync of a cached statement, preparing it (Parse and
    /// Describe, pipelined in front) the first time the SQL is seen.
    #[allow(clippy::type_complexity)]
    fn send_extended(
        &mut self,
        sql: String,
        params: &[Value],
    ) -> Result<(Option<Arc<OnceLock<Arc<[ColumnInfo]>>>>, Option<StatementKey>), ClientError> {
        let types: Vec<Oid> = params.iter().map(|p| if let Value::Null = p { 0 } else { p.type_oid() }).collect();
        let mut encoded: Vec<Option<Vec<u8>>> = Vec::with_capacity(params.len());
        for param in params {
            if let Value::Null = param {
                encoded.push(None);
            } else {
                let mut bytes = Vec::new();
                param.encode(Format::Text, &mut bytes).map_err(|e| ClientError::Value(e.to_string()))?;
                encoded.push(Some(bytes));
            }
        }
        let values: Vec<Option<&[u8]>> = encoded.iter().map(Option::as_deref).collect();
        let key = (sql, types);
        let mut creates = None;
        if !self.statements.contains_key(&key) && self.statements.len() < STATEMENT_CACHE {
            let name = format!("pw{}", self.next_statement);
            self.next_statement += 1;
            self.frontend.send_parse(&name, &key.0, &key.1)?;
            self.frontend.send_describe(TargetKind::Statement, &name)?;
            self.statements.insert(key.clone(), Cached { name, columns: Arc::new(OnceLock::new()) });
            creates = Some(key.clone());
        }
        let f = &mut self.frontend;
        let cached = match self.statements.get(&key) {
            Some(cached) => {
                f.send_bind("", &cached.name, &[Format::Text], &values, &[Format::Text])?;
                Some(cached.columns.clone())
            }
            // The cache is full: the unnamed statement, described each time.
            None => {
                f.send_parse("", &key.0, &key.1)?;
                f.send_bind("", "", &[Format::Text], &values, &[Format::Text])?;
                f.send_describe(TargetKind::Portal, "")?;
                None
            }
        };
        f.send_execute("", 0)?;
        f.send_sync()?;
        Ok((cached, creates))
    }

    /// Handles every complete message buffered.
    fn handle_input(&mut self) -> Result<(), ClientError> {
        let mut at = 0;
        loop {
            let step = self.frontend.handle_input(&self.input[at..])?;
            if step.event.is_none() && step.consumed == 0 {
                break;
            }
            at += step.consumed;
            let Some(event) = step.event else { continue };
            let current = self.pending.front_mut();
            match (event, current) {
                (Event::RowDescription { description, .. }, Some(p)) => {
                    let columns: Arc<[ColumnInfo]> = description
                        .fields
                        .iter()
                        .map(|f| ColumnInfo { name: f.name.to_owned(), type_oid: f.type_oid })
                        .collect();
                    if let Some(cached) = &p.cached {
                        let _ = cached.set(columns.clone());
                    }
                    p.columns = columns;
                }
                (Event::DataRow { row, .. }, Some(p)) => {
                    if p.columns.is_empty()
                        && let Some(columns) = p.cached.as_ref().and_then(|c| c.get())
                    {
                        p.columns = columns.clone();
                    }
                    let cells = row.cells().map(|c| c.map(<[u8]>::to_vec)).collect();
                    p.result.rows.push(Row { columns: p.columns.clone(), cells });
                }
                (Event::CommandComplete { complete, .. }, Some(p)) => p.result.tag = complete.tag.to_owned(),
                (Event::Error { error, .. }, current) => {
                    let error = DbError::from_response(&error);
                    match current {
                        Some(p) if error.severity != "FATAL" && error.severity != "PANIC" => p.error = Some(error),
                        _ => return Err(ClientError::Db(Box::new(error))),
                    }
                }
                (Event::Ready { status, .. }, Some(_)) => {
                    self.shared.status.store(status.as_byte(), Ordering::Relaxed);
                    let p = self.pending.pop_front().expect("a pending request");
                    // A statement that failed to prepare is not kept.
                    if let (Some(_), Some(key)) = (&p.error, &p.creates) {
                        self.statements.remove(key);
                    }
                    let answer = match p.error {
                        Some(e) => Err(ClientError::Db(Box::new(e))),
                        None => Ok(p.result),
                    };
                    let _ = p.reply.send(answer);
                }
                _ => {}
            }
        }
        self.input.drain(..at);
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), ClientError> {
        let pending = self.frontend.pending_output();
        if !pending.is_empty() {
            let n = pending.len();
            self.stream.write_all(pending).await?;
            self.frontend.consume_output(n);
        }
        Ok(())
    }
}
