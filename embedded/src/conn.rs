//! One connection: the loop that moves bytes between a socket and the
//! codec's backend machine and hands statements to the [`Handler`].

use embedded_io_async::{Read, Write};
use postwire_codec::auth::StoredPassword;
use postwire_codec::backend::{ErrorFields, FieldDescription, Severity, TransactionStatus};
use postwire_codec::frontend::Bind;
use postwire_codec::session::backend::{AuthMethod, Backend, BackendKey, Event, PortalId, StatementId};
use postwire_codec::session::{CloseReason, SessionError};
use postwire_codec::{FrameLimits, SqlState};
use subtle::ConstantTimeEq;

use crate::config::{Config, Credentials};
use crate::handler::{Handler, QueryError, Rows, Tag};
use crate::log::debug;
use crate::params::{ParamStore, Params};
use crate::timer::{TimedOut, Timer};

/// Prepared statements a connection may hold (named and unnamed).
pub const STATEMENTS: usize = 4;
/// Portals a connection may hold.
pub const PORTALS: usize = 2;
/// Longest statement text kept for the extended protocol, in bytes.
const SQL_BYTES: usize = 160;
/// Result columns whose format a portal remembers (binary or text).
const MAX_COLUMNS: usize = 16;

const IDLE_TIMEOUT: ErrorFields<'static> = ErrorFields::new(
    Severity::Fatal,
    SqlState::IDLE_SESSION_TIMEOUT,
    "terminating connection due to idle-session timeout",
);

pub(crate) type Machine<'b> = Backend<&'b mut [u8], STATEMENTS, PORTALS>;

/// Why a connection ended badly (a clean end is `Ok`).
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error<E> {
    /// Reading from the socket failed.
    Read(E),
    /// Writing to the socket failed.
    Write(E),
    /// The client stalled mid-message or the session sat idle too long.
    Timeout,
    /// The driver misused the machine (a bug in this crate).
    Session(SessionError),
}

/// One connection's memory: input (its size is also the largest message a
/// client may send), output, statements and portals. Reuse it for the next
/// connection.
pub struct ConnectionBuffers<const INPUT: usize, const OUTPUT: usize> {
    input: [u8; INPUT],
    output: [u8; OUTPUT],
    statements: [heapless::String<SQL_BYTES>; STATEMENTS],
    portals: [Portal; PORTALS],
}

impl<const INPUT: usize, const OUTPUT: usize> ConnectionBuffers<INPUT, OUTPUT> {
    /// Zeroed buffers (`const`, so they can live in a `static_cell`).
    pub const fn new() -> Self {
        const EMPTY: heapless::String<SQL_BYTES> = heapless::String::new();
        const PORTAL: Portal = Portal::new();
        ConnectionBuffers {
            input: [0; INPUT],
            output: [0; OUTPUT],
            statements: [EMPTY; STATEMENTS],
            portals: [PORTAL; PORTALS],
        }
    }
}

impl<const INPUT: usize, const OUTPUT: usize> Default for ConnectionBuffers<INPUT, OUTPUT> {
    fn default() -> Self {
        Self::new()
    }
}

/// A bound portal: its statement, parameters, which result columns are
/// binary, and how many rows earlier Executes already sent.
#[derive(Debug, Clone)]
struct Portal {
    statement: usize,
    params: ParamStore,
    binary: u16,
    offset: u32,
    done: bool,
}

impl Portal {
    const fn new() -> Self {
        Portal { statement: 0, params: ParamStore::new(), binary: 0, offset: 0, done: false }
    }
}

/// Serves one client until it leaves, breaks the protocol, or times out.
/// `process_id` identifies the session (BackendKeyData).
pub async fn serve_connection<S, H, T, R, const INPUT: usize, const OUTPUT: usize>(
    mut socket: S,
    buffers: &mut ConnectionBuffers<INPUT, OUTPUT>,
    config: &Config<'_>,
    handler: &mut H,
    timer: &mut T,
    rng: &mut R,
    process_id: i32,
) -> Result<CloseReason, Error<S::Error>>
where
    S: Read + Write,
    H: Handler,
    T: Timer,
    R: rand_core::CryptoRng,
{
    let ConnectionBuffers { input, output, statements, portals } = buffers;
    let limits =
        FrameLimits::DEFAULT.with_max_message_len(INPUT.saturating_sub(1)).with_max_startup_len(INPUT.min(10_000));
    let mut machine: Machine<'_> = Backend::with_limits(&mut output[..], limits);
    let mut session = Session { config, statements, portals, password: None };
    let mut buffered = 0;
    loop {
        // Answer every complete message in the buffer.
        loop {
            let step = machine.handle_input(&input[..buffered]);
            let consumed = step.consumed;
            if let Some(event) = step.event {
                if let Event::Ended { reason } = event {
                    transmit(&mut machine, &mut socket).await.map_err(Error::Write)?;
                    return Ok(reason);
                }
                session.answer(&event, &mut machine, &mut socket, handler, rng, process_id).await?;
            } else if consumed == 0 {
                break;
            }
            input.copy_within(consumed..buffered, 0);
            buffered -= consumed;
        }
        transmit(&mut machine, &mut socket).await.map_err(Error::Write)?;
        if let Some(reason) = machine.close_reason() {
            return Ok(reason);
        }
        // Mid-message or still logging in, a client gets the stall timeout;
        // between queries, the idle timeout.
        let idle = buffered == 0 && machine.waiting_for() == postwire_codec::session::backend::Waiting::Command;
        let limit = if idle { config.idle_timeout_ms } else { config.stall_timeout_ms };
        let read = socket.read(&mut input[buffered..]);
        let n = if limit == 0 {
            read.await
        } else {
            match timer.with_timeout(limit, read).await {
                Ok(r) => r,
                Err(TimedOut) => {
                    if idle && machine.terminate(&IDLE_TIMEOUT).is_ok() {
                        let _ = transmit(&mut machine, &mut socket).await;
                    }
                    return Err(Error::Timeout);
                }
            }
        }
        .map_err(Error::Read)?;
        if n == 0 {
            let reason = machine.handle_eof(buffered);
            return Ok(reason);
        }
        buffered += n;
    }
}

/// Writes everything pending.
pub(crate) async fn transmit<W: Write>(machine: &mut Machine<'_>, socket: &mut W) -> Result<(), W::Error> {
    let pending = machine.pending_output();
    if !pending.is_empty() {
        let n = pending.len();
        socket.write_all(pending).await?;
        machine.consume_output(n);
    }
    Ok(())
}

/// Calls `respond` on the machine, transmitting pending output first
/// whenever it has no room.
async fn reply<W: Write>(
    machine: &mut Machine<'_>,
    socket: &mut W,
    mut respond: impl FnMut(&mut Machine<'_>) -> Result<(), SessionError>,
) -> Result<(), Error<W::Error>> {
    loop {
        match respond(machine) {
            Err(e) if e.is_output_full() && !machine.pending_output().is_empty() => {
                transmit(machine, socket).await.map_err(Error::Write)?;
            }
            other => return other.map_err(Error::Session),
        }
    }
}

fn error_fields(e: &QueryError) -> ErrorFields<'_> {
    ErrorFields::new(Severity::Error, e.code, &e.message)
}

/// Per-connection state outside the machine.
struct Session<'c, 's> {
    config: &'c Config<'c>,
    statements: &'s mut [heapless::String<SQL_BYTES>; STATEMENTS],
    portals: &'s mut [Portal; PORTALS],
    /// The cleartext password to check (`Credentials::Password`).
    password: Option<&'c str>,
}

impl Session<'_, '_> {
    async fn answer<W: Write, H: Handler, R: rand_core::CryptoRng>(
        &mut self,
        event: &Event<'_>,
        machine: &mut Machine<'_>,
        socket: &mut W,
        handler: &mut H,
        rng: &mut R,
        process_id: i32,
    ) -> Result<(), Error<W::Error>> {
        // By reference: an Event is large, and an argument lives as long as the future.
        match *event {
            Event::TlsRequested => reply(machine, socket, |m| m.decline_tls()).await,
            Event::Startup { user, .. } => {
                debug!("startup");
                let method = match self.config.credentials(user) {
                    Some(Credentials::Trust) => AuthMethod::Trust,
                    Some(Credentials::Password(p)) => {
                        self.password = Some(p);
                        AuthMethod::Cleartext
                    }
                    Some(Credentials::Md5(stored)) => AuthMethod::Md5 { password: StoredPassword::parse(stored) },
                    Some(Credentials::Scram(stored)) => {
                        AuthMethod::ScramSha256 { password: StoredPassword::parse(stored) }
                    }
                    None => {
                        // As PostgreSQL: do not say whether the role exists.
                        let mut message = heapless::String::<96>::new();
                        let _ = core::fmt::write(
                            &mut message,
                            format_args!("password authentication failed for user \"{user}\""),
                        );
                        let reject = |m: &mut Machine<'_>| {
                            m.reject(&ErrorFields::new(Severity::Fatal, SqlState::INVALID_PASSWORD, &message))
                        };
                        return reply(machine, socket, reject).await;
                    }
                };
                reply(machine, socket, |m| m.authenticate(method, rng)).await
            }
            Event::PasswordReceived { password } => {
                let expected = self.password.take().unwrap_or_default();
                let ok = bool::from(expected.as_bytes().ct_eq(password)) && !expected.is_empty();
                reply(machine, socket, |m| m.password_verified(ok)).await
            }
            Event::OAuthToken { .. } => reply(machine, socket, |m| m.oauth_verified(false)).await,
            Event::Authenticated => {
                let key = BackendKey::random(process_id, rng);
                reply(machine, socket, |m| m.accept(&self.config.parameters, &key)).await
            }
            Event::Query { sql } => {
                self.simple_query(sql, machine, socket, handler).await?;
                reply(machine, socket, |m| m.ready_for_query()).await
            }
            Event::Parse { statement, query, .. } => self.parse(statement, query, machine, socket, handler).await,
            Event::Bind { portal, statement, bind } => {
                self.bind(portal, statement, &bind, machine, socket, handler).await
            }
            Event::DescribeStatement { statement } => {
                let sql = &self.statements[statement.index()];
                match handler.describe(sql) {
                    Ok(d) => {
                        reply(machine, socket, |m| m.parameter_description(d.params)).await?;
                        if d.columns.is_empty() {
                            reply(machine, socket, |m| m.no_data()).await
                        } else {
                            reply(machine, socket, |m| m.row_description(d.columns)).await
                        }
                    }
                    Err(e) => reply(machine, socket, |m| m.error(&error_fields(&e))).await,
                }
            }
            Event::DescribePortal { portal } => {
                let portal = &self.portals[portal.index()];
                let sql = &self.statements[portal.statement];
                match handler.describe(sql) {
                    Ok(d) if d.columns.is_empty() => reply(machine, socket, |m| m.no_data()).await,
                    Ok(d) => describe_rows(d.columns, portal.binary, machine, socket).await,
                    Err(e) => reply(machine, socket, |m| m.error(&error_fields(&e))).await,
                }
            }
            Event::Execute { portal, max_rows } => self.execute(portal, max_rows, machine, socket, handler).await,
            Event::Sync { .. } => reply(machine, socket, |m| m.ready_for_query()).await,
            Event::Flush => transmit(machine, socket).await.map_err(Error::Write),
            Event::FunctionCall { .. } => {
                let e = QueryError::new(SqlState::FEATURE_NOT_SUPPORTED, "function calls are not supported");
                reply(machine, socket, |m| m.error(&error_fields(&e))).await?;
                reply(machine, socket, |m| m.ready_for_query()).await
            }
            // This server never starts COPY; the machine refuses copy messages.
            // Closing needs no answer; cancelling has nothing to cancel (a
            // handler runs to completion on this task).
            _ => Ok(()),
        }
    }

    async fn simple_query<W: Write, H: Handler>(
        &mut self,
        sql: &str,
        machine: &mut Machine<'_>,
        socket: &mut W,
        handler: &mut H,
    ) -> Result<(), Error<W::Error>> {
        let mut any = false;
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            any = true;
            let columns = match handler.describe(statement) {
                Ok(d) => d.columns.len(),
                Err(e) => return reply(machine, socket, |m| m.error(&error_fields(&e))).await,
            };
            if columns > 0 {
                let d = handler.describe(statement).map_err(|_| Error::Session(SessionError::OutOfOrder))?;
                reply(machine, socket, |m| m.row_description(d.columns)).await?;
            }
            let ran = run_statement(statement, Params::default(), 0, 0, 0, machine, socket, handler).await?;
            if let Ran::Failed = ran {
                return Ok(());
            }
        }
        if !any {
            reply(machine, socket, |m| m.empty_query()).await?;
        }
        Ok(())
    }

    async fn parse<W: Write, H: Handler>(
        &mut self,
        statement: StatementId,
        query: &str,
        machine: &mut Machine<'_>,
        socket: &mut W,
        handler: &mut H,
    ) -> Result<(), Error<W::Error>> {
        let slot = &mut self.statements[statement.index()];
        slot.clear();
        if slot.push_str(query).is_err() {
            let e = QueryError::new(SqlState::PROGRAM_LIMIT_EXCEEDED, "statement too long for this server");
            return reply(machine, socket, |m| m.error(&error_fields(&e))).await;
        }
        match handler.describe(query) {
            Ok(d) => {
                let n = d.params.len();
                reply(machine, socket, |m| m.parse_complete(n)).await
            }
            Err(e) => reply(machine, socket, |m| m.error(&error_fields(&e))).await,
        }
    }

    async fn bind<W: Write, H: Handler>(
        &mut self,
        portal: PortalId,
        statement: StatementId,
        bind: &Bind<'_>,
        machine: &mut Machine<'_>,
        socket: &mut W,
        handler: &mut H,
    ) -> Result<(), Error<W::Error>> {
        let columns = match handler.describe(&self.statements[statement.index()]) {
            Ok(d) => d.columns.len(),
            Err(e) => return reply(machine, socket, |m| m.error(&error_fields(&e))).await,
        };
        let formats = bind.result_formats.len();
        if formats > 1 && formats != columns {
            let e = QueryError::with_args(
                SqlState::PROTOCOL_VIOLATION,
                format_args!("bind message has {formats} result formats but query has {columns} columns"),
            );
            return reply(machine, socket, |m| m.error(&error_fields(&e))).await;
        }
        let slot = &mut self.portals[portal.index()];
        if slot.params.fill(bind.params.iter(), |i| bind.param_format(i)).is_none() {
            let e = QueryError::new(SqlState::PROGRAM_LIMIT_EXCEEDED, "parameters too large for this server");
            return reply(machine, socket, |m| m.error(&error_fields(&e))).await;
        }
        slot.statement = statement.index();
        slot.offset = 0;
        slot.done = false;
        slot.binary = (0..columns.min(MAX_COLUMNS))
            .filter(|&i| bind.result_format(i, columns) == Some(postwire_codec::Format::Binary))
            .fold(0, |mask, i| mask | 1 << i);
        reply(machine, socket, |m| m.bind_complete()).await
    }

    async fn execute<W: Write, H: Handler>(
        &mut self,
        portal: PortalId,
        max_rows: i32,
        machine: &mut Machine<'_>,
        socket: &mut W,
        handler: &mut H,
    ) -> Result<(), Error<W::Error>> {
        let p = portal.index();
        let (statement, binary, offset, done) = {
            let slot = &self.portals[p];
            (slot.statement, slot.binary, slot.offset, slot.done)
        };
        if done {
            // A finished portal has nothing more to give, as in PostgreSQL.
            return reply(machine, socket, |m| m.command_complete("SELECT 0")).await;
        }
        let limit = u32::try_from(max_rows).unwrap_or(0);
        let sql = &self.statements[statement];
        let params = self.portals[p].params.view();
        match run_statement(sql, params, binary, offset, limit, machine, socket, handler).await? {
            Ran::Suspended { sent } => self.portals[p].offset = offset + sent,
            Ran::Completed => self.portals[p].done = true,
            Ran::Failed => {}
        }
        Ok(())
    }
}

/// How a statement run ended.
enum Ran {
    /// An error was sent.
    Failed,
    /// The row limit was reached after `sent` rows: PortalSuspended was sent.
    Suspended { sent: u32 },
    /// CommandComplete was sent.
    Completed,
}

/// Runs one statement and ends it (CommandComplete, PortalSuspended or an
/// error).
#[allow(clippy::too_many_arguments)]
async fn run_statement<W: Write, H: Handler>(
    sql: &str,
    params: Params<'_>,
    binary: u16,
    skip: u32,
    limit: u32,
    machine: &mut Machine<'_>,
    socket: &mut W,
    handler: &mut H,
) -> Result<Ran, Error<W::Error>> {
    let mut rows = Rows::new(machine, socket, binary, skip, limit);
    let result = handler.execute(sql, params, &mut rows).await;
    let outcome = rows.finish();
    if let Some(e) = outcome.failed {
        return Err(Error::Write(e));
    }
    let tag = match result {
        Err(e) => {
            reply(machine, socket, |m| m.error(&error_fields(&e))).await?;
            return Ok(Ran::Failed);
        }
        Ok(_) if outcome.suspended => {
            reply(machine, socket, |m| m.portal_suspended()).await?;
            return Ok(Ran::Suspended { sent: outcome.sent });
        }
        Ok(tag) => tag,
    };
    let mut text = heapless::String::<32>::new();
    let tag = match tag {
        Tag::Select => {
            let _ = core::fmt::write(&mut text, format_args!("SELECT {}", outcome.sent));
            text.as_str()
        }
        Tag::Command(t) => t,
    };
    // The transaction status ReadyForQuery reports follows the transaction
    // statements the handler accepted.
    let status = match tag {
        "BEGIN" => Some(TransactionStatus::InTransaction),
        "COMMIT" | "ROLLBACK" => Some(TransactionStatus::Idle),
        _ => None,
    };
    if let Some(status) = status {
        reply(machine, socket, |m| m.set_transaction_status(status)).await?;
    }
    reply(machine, socket, |m| m.command_complete(tag)).await?;
    Ok(Ran::Completed)
}

/// Sends a RowDescription of `columns` in the formats `binary` says. The
/// copy with formats is rebuilt on each try so it never lives across an
/// await (it is large for a small device).
async fn describe_rows<W: Write>(
    columns: &[FieldDescription<'_>],
    binary: u16,
    machine: &mut Machine<'_>,
    socket: &mut W,
) -> Result<(), Error<W::Error>> {
    loop {
        let result = machine.row_description(&with_formats(columns, binary));
        match result {
            Err(e) if e.is_output_full() && !machine.pending_output().is_empty() => {
                transmit(machine, socket).await.map_err(Error::Write)?;
            }
            other => return other.map_err(Error::Session),
        }
    }
}

/// `columns` with each one's format as the portal's binary mask says.
fn with_formats<'a>(columns: &[FieldDescription<'a>], binary: u16) -> heapless::Vec<FieldDescription<'a>, MAX_COLUMNS> {
    columns
        .iter()
        .take(MAX_COLUMNS)
        .enumerate()
        .map(|(i, c)| FieldDescription {
            format: if binary & (1 << i) != 0 { postwire_codec::Format::Binary } else { postwire_codec::Format::Text },
            ..*c
        })
        .collect()
}
