//! One connection's task: a thin loop that reads bytes, feeds the backend
//! machine, answers its events through the application's handlers, and
//! writes the machine's output. All protocol decisions are the machine's.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use postwire_codec::auth::StoredPassword;
use postwire_codec::backend::{FieldDescription, TransactionStatus};
use postwire_codec::session::backend::{AuthMethod, BackendKey, ClosedTarget, Event, Waiting};
use postwire_codec::{Format, Oid, SqlState};
use tokio::sync::mpsc;

use crate::context::{Context, Notification, Phase, SessionRegistry, SessionSignals, constant_time_eq};
use crate::error::{ConnectionError, PgError};
use crate::handler::{
    AuthSource, ClientInfo, Credentials, FunctionCall, Peer, Portal, Prepared, Response, Service, Session,
    TokenValidator,
};
use crate::io::{BoxIo, InputBuffer, Rewind, detached};
use crate::response::{CopyError, MAX_PORTALS, MAX_STATEMENTS, Machine, Out, QueryResponse, Streamed};
use crate::row_source::RowSource;
use crate::server::{Admission, Shared};
use crate::tls::{ALPN_POSTGRESQL, TlsMode};

/// Serves one connection to the end.
pub(crate) async fn run<S: Service, A: AuthSource>(
    shared: Arc<Shared<S, A>>,
    io: BoxIo,
    peer: Peer,
    tls: TlsMode,
    admission: Admission,
) -> Result<(), ConnectionError> {
    let config = &shared.config;
    let backend = Machine::with_limits(vec![0; config.output_buffer_size], config.frame_limits);
    let out = Out::new(io, backend, config.output_buffer_size, config.max_message_size);
    let process_id = shared.next_process_id();
    tracing::Span::current().record("pid", process_id);
    let mut start = Startup {
        shared: &shared,
        out,
        input: InputBuffer::new(config.input_buffer_size),
        peer,
        tls,
        admission,
        process_id,
        end_point: None,
        alpn: false,
    };
    let established = tokio::select! {
        r = tokio::time::timeout(config.startup_timeout, start.run()) => match r {
            Ok(r) => r?,
            Err(_) => {
                tracing::debug!("startup timed out");
                return Ok(());
            }
        },
        _ = shared.force.cancelled() => return Ok(()),
    };
    let Some((session, client, signals)) = established else { return Ok(()) };
    let Startup { out, input, .. } = start;
    let (inbox_tx, inbox) = mpsc::channel(config.notification_queue.max(1));
    let ctx = Context::new(client, shared.broker.clone(), inbox_tx);
    let mut conn = Conn {
        shared: &shared,
        out,
        input,
        session,
        ctx,
        signals,
        inbox,
        statements: Vec::new(),
        portals: Vec::new(),
        timer: Box::pin(tokio::time::sleep(std::time::Duration::ZERO)),
    };
    let result = conn.serve().await;
    shared.registry.unregister(process_id);
    result
}

/// The connection before its first ReadyForQuery.
struct Startup<'s, S, A> {
    shared: &'s Shared<S, A>,
    out: Out,
    input: InputBuffer,
    peer: Peer,
    tls: TlsMode,
    admission: Admission,
    process_id: i32,
    end_point: Option<Arc<[u8]>>,
    /// Whether the TLS handshake agreed on ALPN `postgresql`.
    alpn: bool,
}

type Established<T> = Option<(T, Arc<ClientInfo>, Arc<SessionSignals>)>;

impl<S: Service, A: AuthSource> Startup<'_, S, A> {
    async fn run(&mut self) -> Result<Established<S::Session>, ConnectionError> {
        let mut password: Option<String> = None;
        let mut validator: Option<Arc<dyn TokenValidator>> = None;
        let mut client: Option<ClientInfo> = None;
        loop {
            let step = self.out.backend.handle_input(self.input.data());
            let consumed = step.consumed;
            let Some(event) = step.event else {
                if consumed > 0 {
                    self.input.consume(consumed);
                    continue;
                }
                self.out.flush().await?;
                if self.out.backend.is_closed() {
                    return Ok(None);
                }
                if self.input.read_from(&mut self.out.io, step.needed).await? == 0 {
                    self.out.backend.handle_eof(self.input.len());
                    return Ok(None);
                }
                continue;
            };
            match event {
                Event::TlsRequested => {
                    self.input.consume(consumed);
                    match self.tls.config().cloned() {
                        Some(config) => {
                            self.out.call(|b| b.accept_tls()).await?;
                            self.out.flush().await?;
                            self.handshake(&config, Vec::new()).await?;
                        }
                        None => self.out.call(|b| b.decline_tls()).await?,
                    }
                }
                Event::DirectTls => {
                    let Some(config) = self.tls.config().cloned() else { return Ok(None) };
                    let hello = self.input.take();
                    self.handshake(&config, hello).await?;
                    if !self.alpn {
                        // PostgreSQL 17 insists on ALPN for direct TLS.
                        tracing::debug!("direct TLS without ALPN \"postgresql\": closed");
                        return Ok(None);
                    }
                    self.out.call(|b| b.tls_established()).await?;
                }
                Event::CancelRequest { process_id, secret_key } => {
                    let cancelled = self.shared.registry.cancel(process_id, secret_key);
                    tracing::debug!(target_pid = process_id, cancelled, "cancel request");
                    self.input.consume(consumed);
                    return Ok(None);
                }
                Event::Startup { version, user, database, params } => {
                    let info = ClientInfo {
                        process_id: self.process_id,
                        user: user.to_owned(),
                        database: database.to_owned(),
                        params: params.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
                        peer: self.peer.clone(),
                        tls: self.out.backend.is_encrypted(),
                        protocol_version: version,
                        tls_server_end_point: self.end_point.clone(),
                    };
                    self.input.consume(consumed);
                    tracing::debug!(user = %info.user, database = %info.database, tls = info.tls, "startup");
                    match self.admit(&info) {
                        Err(e) => self.reject(&e).await?,
                        Ok(()) => match self.shared.auth.credentials(&info).await {
                            Ok(credentials) => {
                                if let Some(hash) = info.tls_server_end_point.as_deref() {
                                    self.out.call(|b| b.set_tls_server_end_point(hash)).await?;
                                }
                                match self.begin_authentication(&info, credentials).await? {
                                    Some(Pending::Password(p)) => password = Some(p),
                                    Some(Pending::Token(v)) => validator = Some(v),
                                    None => {}
                                }
                            }
                            Err(e) => self.reject(&e).await?,
                        },
                    }
                    client = Some(info);
                }
                Event::PasswordReceived { password: sent } => {
                    let ok = password.take().is_some_and(|p| constant_time_eq(p.as_bytes(), sent));
                    self.input.consume(consumed);
                    self.out.call(|b| b.password_verified(ok)).await?;
                }
                Event::OAuthToken { token } => {
                    let ok = match (validator.take(), client.as_ref()) {
                        (Some(v), Some(info)) => v.validate(&info.user, token).await,
                        _ => false,
                    };
                    self.input.consume(consumed);
                    self.out.call(|b| b.oauth_verified(ok)).await?;
                }
                Event::Authenticated => {
                    self.input.consume(consumed);
                    let Some(info) = client.take() else { return Ok(None) };
                    match self.shared.service.open(&info).await {
                        Err(e) => self.reject(&e).await?,
                        Ok(session) => {
                            let key = BackendKey::random(self.process_id, &mut rand::rng());
                            let parameters = &self.shared.config.parameters;
                            let extra: Vec<(&str, &str)> =
                                parameters.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                            let parameters = parameters.as_codec(&extra);
                            self.out.call(|b| b.accept(&parameters, &key)).await?;
                            let secret = key.secret_for(info.protocol_version);
                            let signals = self.shared.registry.register(self.process_id, secret);
                            return Ok(Some((session, Arc::new(info), signals)));
                        }
                    }
                }
                Event::Ended { reason } => {
                    self.input.consume(consumed);
                    tracing::debug!(?reason, "ended during startup");
                    self.out.flush().await?;
                    return Ok(None);
                }
                other => {
                    tracing::warn!(event = ?other, "unexpected event during startup");
                    return Ok(None);
                }
            }
        }
    }

    /// Starts the exchange `credentials` call for; returns what the driver
    /// must keep to answer the client's proof (the machine checks MD5 and
    /// SCRAM itself).
    async fn begin_authentication(
        &mut self,
        info: &ClientInfo,
        credentials: Credentials,
    ) -> Result<Option<Pending>, ConnectionError> {
        match credentials {
            Credentials::Trust => self.out.call(|b| b.authenticate(AuthMethod::Trust, &mut rand::rng())).await?,
            Credentials::Password(p) => {
                self.out.call(|b| b.authenticate(AuthMethod::Cleartext, &mut rand::rng())).await?;
                return Ok(Some(Pending::Password(p)));
            }
            Credentials::Md5(text) => {
                let password = StoredPassword::parse(&text);
                self.out.call(|b| b.authenticate(AuthMethod::Md5 { password }, &mut rand::rng())).await?
            }
            Credentials::Scram(text) => {
                let password = StoredPassword::parse(&text);
                self.out.call(|b| b.authenticate(AuthMethod::ScramSha256 { password }, &mut rand::rng())).await?
            }
            Credentials::OAuth(v) => {
                let method = AuthMethod::OAuthBearer { issuer: v.issuer(), scope: v.scope() };
                self.out.call(|b| b.authenticate(method, &mut rand::rng())).await?;
                tracing::debug!(user = %info.user, "oauth bearer requested");
                return Ok(Some(Pending::Token(v)));
            }
        }
        Ok(None)
    }

    /// Whether this client may have a session at all.
    fn admit(&self, info: &ClientInfo) -> Result<(), PgError> {
        if self.shared.shutdown.is_cancelled() {
            return Err(PgError::fatal(SqlState::CANNOT_CONNECT_NOW, "the database system is shutting down"));
        }
        if let Admission::TooMany(_) = self.admission {
            return Err(PgError::fatal(SqlState::TOO_MANY_CONNECTIONS, "sorry, too many clients already"));
        }
        if matches!(self.tls, TlsMode::Required(_)) && !info.tls {
            let host = match &info.peer {
                Peer::Tcp(addr) => addr.ip().to_string(),
                Peer::Unix => "[local]".into(),
                Peer::Loopback => "[loopback]".into(),
            };
            let message = format!(
                "no pg_hba.conf entry for host \"{host}\", user \"{}\", database \"{}\", no encryption",
                info.user, info.database
            );
            return Err(PgError::fatal(SqlState::INVALID_AUTHORIZATION_SPECIFICATION, message));
        }
        Ok(())
    }

    async fn reject(&mut self, e: &PgError) -> Result<(), ConnectionError> {
        tracing::debug!(code = e.code.code(), message = %e.message, "rejected");
        let position = e.position_text();
        let fields = e.fields(position.as_ref());
        self.out.call(|b| b.reject(&fields)).await
    }

    /// Runs the TLS handshake over the connection, replaying `hello` (bytes
    /// already read) first.
    async fn handshake(&mut self, config: &crate::tls::TlsConfig, hello: Vec<u8>) -> Result<(), ConnectionError> {
        let io = std::mem::replace(&mut self.out.io, detached());
        let io: BoxIo = if hello.is_empty() { io } else { Box::new(Rewind::new(hello, io)) };
        let stream = config.acceptor.accept(io).await.map_err(ConnectionError::Tls)?;
        self.alpn = stream.get_ref().1.alpn_protocol() == Some(ALPN_POSTGRESQL);
        self.out.io = Box::new(stream);
        self.end_point = config.end_point();
        Ok(())
    }
}

/// A prepared statement, by the machine's slot.
struct Statement {
    name: String,
    sql: String,
    prepared: Prepared,
}

/// The machine's slot `slot` in a table that grows as slots are used (an
/// idle session keeps no room for statements it never prepared).
fn slot_mut<T>(table: &mut Vec<Option<T>>, slot: usize, capacity: usize) -> &mut Option<T> {
    debug_assert!(slot < capacity, "the machine hands out slots below its capacity");
    if slot >= table.len() {
        table.resize_with(slot + 1, || None);
    }
    &mut table[slot]
}

/// A bound portal, by the machine's slot.
struct PortalState {
    statement: usize,
    params: Vec<Option<Vec<u8>>>,
    param_formats: Vec<Format>,
    /// One format per result column.
    result_formats: Vec<Format>,
    /// Rows left after a PortalSuspended.
    suspended: Option<Suspended>,
    /// The command verb once the portal's rows ran out: executing it again
    /// returns no rows, as in PostgreSQL.
    exhausted: Option<String>,
}

struct Suspended {
    rows: Box<dyn RowSource>,
    command: String,
}

/// An event, owned, so the input it borrowed from can be dropped.
enum Command {
    Query(String),
    Parse {
        slot: usize,
        name: String,
        sql: String,
        types: Vec<Oid>,
    },
    Bind {
        slot: usize,
        statement: usize,
        params: Vec<Option<Vec<u8>>>,
        param_formats: Vec<Format>,
        result_formats: Vec<Format>,
    },
    DescribeStatement(usize),
    DescribePortal(usize),
    Execute {
        slot: usize,
        max_rows: i32,
    },
    Closed(ClosedTarget),
    Sync,
    Flush,
    FunctionCall(FunctionCall),
    Ended,
    Other,
}

impl Command {
    fn from_event(event: Event<'_>) -> Self {
        match event {
            Event::Query { sql } => Command::Query(sql.to_owned()),
            Event::Parse { statement, name, query, param_types } => Command::Parse {
                slot: statement.index(),
                name: name.to_owned(),
                sql: query.to_owned(),
                types: param_types.iter().collect(),
            },
            Event::Bind { portal, statement, bind } => Command::Bind {
                slot: portal.index(),
                statement: statement.index(),
                params: bind.params.iter().map(|p| p.map(<[u8]>::to_vec)).collect(),
                param_formats: bind.param_formats.iter().collect(),
                result_formats: bind.result_formats.iter().collect(),
            },
            Event::DescribeStatement { statement } => Command::DescribeStatement(statement.index()),
            Event::DescribePortal { portal } => Command::DescribePortal(portal.index()),
            Event::Execute { portal, max_rows } => Command::Execute { slot: portal.index(), max_rows },
            Event::Closed { target } => Command::Closed(target),
            Event::Sync { .. } => Command::Sync,
            Event::Flush => Command::Flush,
            Event::FunctionCall { call } => Command::FunctionCall(FunctionCall {
                function: call.function,
                args: call
                    .args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (a.map(<[u8]>::to_vec), call.arg_format(i).unwrap_or(Format::Text)))
                    .collect(),
                result_format: call.result_format,
            }),
            Event::Ended { reason } => {
                tracing::debug!(?reason, "session ended");
                Command::Ended
            }
            _ => Command::Other,
        }
    }
}

/// How a guarded handler call ended.
enum Outcome<T> {
    Done(T),
    /// A CancelRequest for this session arrived.
    Cancelled,
    /// The server is shutting down now.
    Shutdown,
}

/// Runs `work` until it finishes, a cancel request arrives, or the server
/// forces shutdown; in the latter cases `work` is dropped. The signals are
/// checked before every poll of `work` (so they win a tie), and the task
/// registers to be woken by them only when `work` has to wait.
async fn guarded<T>(signals: &SessionSignals, registry: &SessionRegistry, work: impl Future<Output = T>) -> Outcome<T> {
    let command = signals.start();
    let interrupted = || {
        if registry.phase() == Phase::Forced {
            Some(Outcome::Shutdown)
        } else if signals.is_cancelled(command) {
            Some(Outcome::Cancelled)
        } else {
            None
        }
    };
    let mut work = pin!(work);
    let outcome = poll_fn(|cx| {
        if let Some(outcome) = interrupted() {
            return Poll::Ready(outcome);
        }
        if let Poll::Ready(v) = work.as_mut().poll(cx) {
            return Poll::Ready(Outcome::Done(v));
        }
        signals.register(cx.waker());
        // A signal may have come between the check above and registering.
        interrupted().map_or(Poll::Pending, Poll::Ready)
    })
    .await;
    signals.finish();
    outcome
}

/// Resolves once the session has to end for shutdown: when it is forced, or
/// at any step when the session is `idle`.
fn shutdown_reached<'a>(
    signals: &'a SessionSignals,
    registry: &'a SessionRegistry,
    idle: bool,
) -> impl Future<Output = ()> + 'a {
    let reached = move || match registry.phase() {
        Phase::Serving => false,
        Phase::Draining => idle,
        Phase::Forced => true,
    };
    poll_fn(move |cx| {
        if reached() {
            return Poll::Ready(());
        }
        signals.register(cx.waker());
        if reached() { Poll::Ready(()) } else { Poll::Pending }
    })
}

/// What woke an idle session.
enum Wake {
    Read(std::io::Result<usize>),
    Notification(Notification),
    Shutdown,
    Timeout(PgError),
    /// Idle long enough to free the buffers.
    Release,
    /// The timer fired for an earlier deadline than the one now due.
    Rearm,
}

/// How long a session waits idle before freeing its input and output buffers.
const RELEASE_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// The FATAL error for a session idle too long in `status`.
fn idle_timeout(status: TransactionStatus) -> PgError {
    match status {
        TransactionStatus::Idle => {
            PgError::fatal(SqlState::IDLE_SESSION_TIMEOUT, "terminating connection due to idle-session timeout")
        }
        _ => PgError::fatal(
            SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
            "terminating connection due to idle-in-transaction timeout",
        ),
    }
}

fn admin_shutdown() -> PgError {
    PgError::fatal(SqlState::ADMIN_SHUTDOWN, "terminating connection due to administrator command")
}

/// An established session.
struct Conn<'s, S: Service, A> {
    shared: &'s Shared<S, A>,
    out: Out,
    input: InputBuffer,
    session: S::Session,
    ctx: Context,
    signals: Arc<SessionSignals>,
    inbox: mpsc::Receiver<Notification>,
    statements: Vec<Option<Statement>>,
    portals: Vec<Option<PortalState>>,
    /// One timer for the idle deadlines (buffer release, idle timeouts),
    /// left armed while commands keep coming: it is reset when it fires
    /// early, not on every wait, which keeps the timer wheel out of the
    /// per-query path.
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl<S: Service, A: AuthSource> Conn<'_, S, A> {
    async fn serve(&mut self) -> Result<(), ConnectionError> {
        loop {
            // Answer every complete message buffered (pipelining), then flush.
            let needed = loop {
                let step = self.out.backend.handle_input(self.input.data());
                let consumed = step.consumed;
                match step.event {
                    None if consumed > 0 => self.input.consume(consumed),
                    None => break step.needed,
                    Some(event) => {
                        let command = Command::from_event(event);
                        self.input.consume(consumed);
                        self.handle(command).await?;
                        if let Some(e) = self.out.broken.take() {
                            return Err(e);
                        }
                    }
                }
            };
            if self.out.backend.is_closed() {
                self.out.flush().await?;
                return Ok(());
            }
            self.deliver_notifications().await?;
            self.out.flush().await?;
            let idle_since = tokio::time::Instant::now();
            let wake = loop {
                match self.wait(needed, idle_since).await {
                    Wake::Release => {
                        // Idle for a while: give the buffers back until the
                        // client speaks again.
                        self.input.release();
                        self.out.release();
                    }
                    Wake::Rearm => {}
                    wake => break wake,
                }
            };
            match wake {
                Wake::Read(Ok(0)) => {
                    let reason = self.out.backend.handle_eof(self.input.len());
                    tracing::debug!(?reason, "client closed the connection");
                    return Ok(());
                }
                Wake::Read(Ok(_)) => {}
                Wake::Read(Err(e)) => return Err(e.into()),
                Wake::Notification(note) => {
                    self.out.call(|b| b.notification(note.process_id, &note.channel, &note.payload)).await?;
                }
                Wake::Shutdown => return self.terminate(&admin_shutdown()).await,
                Wake::Timeout(e) => return self.terminate(&e).await,
                Wake::Release | Wake::Rearm => {}
            }
        }
    }

    /// Waits for input, a notification (when idle outside a transaction), the
    /// server's shutdown (when idle), or an idle timeout.
    async fn wait(&mut self, needed: usize, idle_since: tokio::time::Instant) -> Wake {
        let config = &self.shared.config;
        let idle = self.out.backend.waiting_for() == Waiting::Command;
        let status = self.out.backend.transaction_status();
        let duration = match status {
            _ if !idle => None,
            TransactionStatus::Idle => config.idle_session_timeout,
            _ => config.idle_in_transaction_timeout,
        };
        let deliver = idle && status == TransactionStatus::Idle;
        let holding = self.input.capacity() > 0 || self.out.backend.output_capacity() > 0;
        let release = idle && holding && self.input.len() == 0 && self.out.backend.pending_output().is_empty();
        let release_at = release.then(|| idle_since + RELEASE_AFTER);
        let timeout_at = duration.map(|d| idle_since + d);
        let due = release_at.into_iter().chain(timeout_at).min();
        if let Some(due) = due {
            // Keep a pending timer that fires no later than needed; one
            // that fired (or is stale) is reset, or it would wake at once.
            let armed = self.timer.deadline();
            if self.timer.is_elapsed() || armed <= idle_since || armed > due {
                self.timer.as_mut().reset(due);
            }
        }
        // In this order, without drawing a random number per wait: input
        // first (notifications wait for an idle moment anyway).
        tokio::select! {
            biased;
            r = self.input.read_from(&mut self.out.io, needed) => Wake::Read(r),
            Some(note) = self.inbox.recv(), if deliver => Wake::Notification(note),
            _ = shutdown_reached(&self.signals, &self.shared.registry, idle) => Wake::Shutdown,
            () = &mut self.timer, if due.is_some() => {
                let now = tokio::time::Instant::now();
                if timeout_at.is_some_and(|t| now >= t) {
                    Wake::Timeout(idle_timeout(status))
                } else if release_at.is_some_and(|t| now >= t) {
                    Wake::Release
                } else {
                    Wake::Rearm
                }
            }
        }
    }

    /// Queues notifications that arrived while a command ran, if the session
    /// is between transactions.
    async fn deliver_notifications(&mut self) -> Result<(), ConnectionError> {
        if self.out.backend.waiting_for() != Waiting::Command
            || self.out.backend.transaction_status() != TransactionStatus::Idle
        {
            return Ok(());
        }
        while let Ok(note) = self.inbox.try_recv() {
            self.out.call(|b| b.notification(note.process_id, &note.channel, &note.payload)).await?;
        }
        Ok(())
    }

    async fn terminate(&mut self, e: &PgError) -> Result<(), ConnectionError> {
        tracing::debug!(code = e.code.code(), message = %e.message, "terminating session");
        if !self.out.backend.is_closed() {
            self.out.terminate(e).await?;
        }
        self.out.flush().await?;
        Ok(())
    }

    async fn handle(&mut self, command: Command) -> Result<(), ConnectionError> {
        match command {
            Command::Query(sql) => self.simple_query(sql).await,
            Command::Parse { slot, name, sql, types } => self.parse(slot, name, sql, types).await,
            Command::Bind { slot, statement, params, param_formats, result_formats } => {
                self.bind(slot, statement, params, param_formats, result_formats).await
            }
            Command::DescribeStatement(slot) => {
                let Some(statement) = self.statements.get(slot).and_then(Option::as_ref) else {
                    return self.fail(&missing("statement")).await;
                };
                let prepared = &statement.prepared;
                self.out.call(|b| b.parameter_description(&prepared.param_types)).await?;
                if prepared.columns.is_empty() {
                    self.out.call(|b| b.no_data()).await
                } else {
                    let fields: Vec<FieldDescription<'_>> =
                        prepared.columns.iter().map(|c| c.field(Format::Text)).collect();
                    self.out.call(|b| b.row_description(&fields)).await
                }
            }
            Command::DescribePortal(slot) => {
                let portal = self.portals.get(slot).and_then(Option::as_ref);
                let statement = portal.and_then(|p| self.statements.get(p.statement)?.as_ref());
                let (Some(portal), Some(statement)) = (portal, statement) else {
                    return self.fail(&missing("portal")).await;
                };
                let columns = &statement.prepared.columns;
                if columns.is_empty() {
                    self.out.call(|b| b.no_data()).await
                } else {
                    let fields: Vec<FieldDescription<'_>> =
                        columns.iter().zip(&portal.result_formats).map(|(c, f)| c.field(*f)).collect();
                    self.out.call(|b| b.row_description(&fields)).await
                }
            }
            Command::Execute { slot, max_rows } => self.execute(slot, max_rows).await,
            Command::Closed(ClosedTarget::Statement(id)) => {
                if let Some(s) = self.statements.get_mut(id.index()) {
                    *s = None;
                }
                Ok(())
            }
            Command::Closed(ClosedTarget::Portal(id)) => {
                if let Some(p) = self.portals.get_mut(id.index()) {
                    *p = None;
                }
                Ok(())
            }
            Command::Sync => {
                self.ctx.status = self.out.backend.transaction_status();
                self.session.sync(&mut self.ctx).await;
                self.keep_status()?;
                self.ready_for_query().await
            }
            Command::Flush => Ok(self.out.flush().await?),
            Command::FunctionCall(call) => self.function_call(call).await,
            Command::Ended => Ok(self.out.flush().await?),
            Command::Other => Ok(()),
        }
    }

    /// Reports parameter changes and the transaction status, then
    /// ReadyForQuery. Ending a transaction drops every portal.
    async fn ready_for_query(&mut self) -> Result<(), ConnectionError> {
        if self.out.backend.is_closed() {
            return Ok(());
        }
        for (name, value) in std::mem::take(&mut self.ctx.parameters) {
            self.out.call(|b| b.parameter_status(&name, &value)).await?;
        }
        self.sync_status_to_machine()?;
        self.out.call(|b| b.ready_for_query()).await?;
        if self.out.backend.transaction_status() == TransactionStatus::Idle {
            self.portals.clear();
        }
        self.ctx.status = self.out.backend.transaction_status();
        Ok(())
    }

    /// Right after a handler ran: its status changes go to the machine (so
    /// reading the machine's status before the next handler loses nothing).
    fn keep_status(&mut self) -> Result<(), ConnectionError> {
        if self.out.backend.is_closed() {
            return Ok(());
        }
        self.sync_status_to_machine()
    }

    fn sync_status_to_machine(&mut self) -> Result<(), ConnectionError> {
        if self.ctx.status != self.out.backend.transaction_status() {
            self.out.backend.set_transaction_status(self.ctx.status)?;
        }
        Ok(())
    }

    /// Fails the current command: ERROR (or FATAL, ending the session).
    async fn fail(&mut self, e: &PgError) -> Result<(), ConnectionError> {
        tracing::debug!(code = e.code.code(), message = %e.message, "command failed");
        self.sync_status_to_machine()?;
        let position = e.position_text();
        let fields = e.fields(position.as_ref());
        self.out.call(|b| b.error(&fields)).await?;
        self.ctx.status = self.out.backend.transaction_status();
        Ok(())
    }

    /// Ends a guarded call that did not finish: 57014, or 57P01 at shutdown.
    async fn interrupted<T>(&mut self, outcome: Outcome<T>) -> Result<Option<T>, ConnectionError> {
        match outcome {
            Outcome::Done(v) => Ok(Some(v)),
            Outcome::Cancelled => {
                self.fail(&PgError::query_canceled()).await?;
                Ok(None)
            }
            Outcome::Shutdown => {
                self.terminate(&admin_shutdown()).await?;
                Ok(None)
            }
        }
    }

    async fn simple_query(&mut self, sql: String) -> Result<(), ConnectionError> {
        let span = tracing::debug_span!("query", sql = %abbreviate(&sql));
        self.ctx.status = self.out.backend.transaction_status();
        let (outcome, failed, open_rows) = {
            let mut out = QueryResponse { out: &mut self.out, input: &mut self.input, rows: None, failed: false };
            let work = self.session.simple_query(&mut self.ctx, &sql, &mut out);
            let outcome =
                guarded(&self.signals, &self.shared.registry, tracing::Instrument::instrument(work, span)).await;
            (outcome, out.failed, out.rows)
        };
        self.keep_status()?;
        if let Some(e) = self.out.broken.take() {
            return Err(e);
        }
        let Some(result) = self.interrupted(outcome).await? else {
            return self.ready_for_query().await;
        };
        match result {
            Ok(()) => {
                if let Some(n) = open_rows {
                    // Rows without a tag: complete them as a SELECT.
                    let tag = format!("SELECT {n}");
                    self.out.call(|b| b.command_complete(&tag)).await?;
                }
            }
            Err(e) if failed && !e.is_fatal() => {}
            Err(e) => self.fail(&e).await?,
        }
        self.ready_for_query().await
    }

    async fn parse(&mut self, slot: usize, name: String, sql: String, types: Vec<Oid>) -> Result<(), ConnectionError> {
        self.ctx.status = self.out.backend.transaction_status();
        let work = self.session.prepare(&mut self.ctx, &sql, &types);
        let outcome = guarded(&self.signals, &self.shared.registry, work).await;
        self.keep_status()?;
        match self.interrupted(outcome).await? {
            None => Ok(()),
            Some(Err(e)) => self.fail(&e).await,
            Some(Ok(prepared)) => {
                self.out.call(|b| b.parse_complete(prepared.param_types.len())).await?;
                *slot_mut(&mut self.statements, slot, MAX_STATEMENTS) = Some(Statement { name, sql, prepared });
                Ok(())
            }
        }
    }

    async fn bind(
        &mut self,
        slot: usize,
        statement: usize,
        params: Vec<Option<Vec<u8>>>,
        param_formats: Vec<Format>,
        result_formats: Vec<Format>,
    ) -> Result<(), ConnectionError> {
        let Some(prepared) = self.statements.get(statement).and_then(Option::as_ref).map(|s| &s.prepared) else {
            return self.fail(&missing("statement")).await;
        };
        let columns = prepared.columns.len();
        let result_formats = match result_formats.as_slice() {
            [] => vec![Format::Text; columns],
            [one] => vec![*one; columns],
            many if many.len() == columns => result_formats,
            many => {
                let message = format!("bind message has {} result formats but query has {columns} columns", many.len());
                return self.fail(&PgError::new(SqlState::PROTOCOL_VIOLATION, message)).await;
            }
        };
        self.out.call(|b| b.bind_complete()).await?;
        *slot_mut(&mut self.portals, slot, MAX_PORTALS) =
            Some(PortalState { statement, params, param_formats, result_formats, suspended: None, exhausted: None });
        Ok(())
    }

    async fn execute(&mut self, slot: usize, max_rows: i32) -> Result<(), ConnectionError> {
        let limit = u64::try_from(max_rows).ok().filter(|&n| n > 0);
        self.ctx.status = self.out.backend.transaction_status();
        let Conn { out, input, session, ctx, statements, portals, signals, shared, .. } = self;
        let portal = portals.get_mut(slot).and_then(Option::as_mut);
        let statement = portal.as_ref().and_then(|p| statements.get(p.statement)?.as_ref());
        let (Some(portal), Some(statement)) = (portal, statement) else {
            return self.fail(&missing("portal")).await;
        };
        let span = tracing::debug_span!("execute", sql = %abbreviate(&statement.sql), max_rows);
        let PortalState { params, param_formats, result_formats, suspended, exhausted, .. } = portal;
        let work = async {
            if let Some(command) = exhausted {
                let tag = format!("{command} 0");
                return Ok(out.try_call(|b| b.command_complete(&tag)).await?);
            }
            if let Some(mut rest) = suspended.take() {
                let streamed = out.stream_rows(&mut *rest.rows, result_formats, limit).await?;
                return finish_rows(out, streamed, rest, suspended, exhausted).await;
            }
            let view = Portal {
                statement: &statement.name,
                sql: &statement.sql,
                param_types: &statement.prepared.param_types,
                columns: &statement.prepared.columns,
                params,
                param_formats,
            };
            match session.execute(ctx, &view).await? {
                Response::Empty => Ok(out.try_call(|b| b.empty_query()).await?),
                Response::Command(tag) => Ok(out.try_call(|b| b.command_complete(&tag)).await?),
                Response::Rows(rows) => {
                    let mut rest = Suspended { rows: rows.rows, command: rows.command };
                    let streamed = out.stream_rows(&mut *rest.rows, result_formats, limit).await?;
                    finish_rows(out, streamed, rest, suspended, exhausted).await
                }
                Response::CopyOut(copy) => Ok(out.copy_out(copy).await?),
                Response::CopyIn(copy) => out.copy_in(input, copy).await,
            }
        };
        let outcome = guarded(signals, &shared.registry, tracing::Instrument::instrument(work, span)).await;
        self.keep_status()?;
        if let Some(e) = self.out.broken.take() {
            return Err(e);
        }
        match self.interrupted(outcome).await? {
            None | Some(Ok(())) => Ok(()),
            Some(Err(CopyError::Failed(e))) if !e.is_fatal() => Ok(()),
            Some(Err(CopyError::Failed(_))) => Ok(()),
            Some(Err(CopyError::Error(e))) => self.fail(&e).await,
        }
    }

    async fn function_call(&mut self, call: FunctionCall) -> Result<(), ConnectionError> {
        self.ctx.status = self.out.backend.transaction_status();
        let work = self.session.function_call(&mut self.ctx, &call);
        let outcome = guarded(&self.signals, &self.shared.registry, work).await;
        self.keep_status()?;
        match self.interrupted(outcome).await? {
            None => {}
            Some(Ok(result)) => self.out.call(|b| b.function_call_response(result.as_deref())).await?,
            Some(Err(e)) => self.fail(&e).await?,
        }
        self.ready_for_query().await
    }
}

/// After rows: CommandComplete, or PortalSuspended with the rest kept.
async fn finish_rows(
    out: &mut Out,
    streamed: Streamed,
    rest: Suspended,
    slot: &mut Option<Suspended>,
    exhausted: &mut Option<String>,
) -> Result<(), CopyError> {
    match streamed {
        Streamed::Done(n) => {
            let tag = format!("{} {n}", rest.command);
            out.try_call(|b| b.command_complete(&tag)).await?;
            *exhausted = Some(rest.command);
            Ok(())
        }
        Streamed::Suspended => {
            out.try_call(|b| b.portal_suspended()).await?;
            *slot = Some(rest);
            Ok(())
        }
    }
}

fn missing(what: &str) -> PgError {
    PgError::new(SqlState::INTERNAL_ERROR, format!("the server lost track of a {what}"))
}

/// The start of a query, for logs.
fn abbreviate(sql: &str) -> &str {
    let mut end = sql.len().min(200);
    while !sql.is_char_boundary(end) {
        end -= 1;
    }
    &sql[..end]
}

/// What the driver keeps between asking for a proof and receiving it.
enum Pending {
    /// The cleartext password to compare with.
    Password(String),
    /// The validator for the bearer token.
    Token(Arc<dyn TokenValidator>),
}
