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

/// Counts the replies of one step, so that a step rerun after its output
/// buffer was transmitted skips the replies an earlier run already queued.
struct Replies {
    queued: u8,
    seen: u8,
}

impl Replies {
    /// Queues one reply with `respond`, unless an earlier run already did.
    fn send(
        &mut self,
        machine: &mut Machine<'_>,
        respond: impl FnOnce(&mut Machine<'_>) -> Result<(), SessionError>,
    ) -> Result<(), SessionError> {
        self.seen += 1;
        if self.seen > self.queued {
            respond(machine)?;
            self.queued += 1;
        }
        Ok(())
    }

    fn error(&mut self, machine: &mut Machine<'_>, e: &QueryError) -> Result<(), SessionError> {
        self.send(machine, |m| m.error(&error_fields(e)))
    }
}

/// A step: synchronous code queueing replies through [`Replies`], rerun
/// from the top when the output buffer fills. Every reply goes through one
/// such `dyn` step and the one await in [`settle`], instead of an await (and
/// a copy of the retry loop) per reply.
type Step<'s, 'e> = dyn FnMut(&mut Machine<'_>, &mut Replies) -> Result<Next<'e>, SessionError> + 's;

/// Runs `step` until its replies fit, transmitting pending output whenever
/// the buffer fills.
async fn settle<'e, W: Write>(
    machine: &mut Machine<'_>,
    socket: &mut W,
    step: &mut Step<'_, 'e>,
) -> Result<Next<'e>, Error<W::Error>> {
    let mut replies = Replies { queued: 0, seen: 0 };
    loop {
        replies.seen = 0;
        match step(machine, &mut replies) {
            Err(e) if e.is_output_full() && !machine.pending_output().is_empty() => {
                transmit(machine, socket).await.map_err(Error::Write)?;
            }
            other => return other.map_err(Error::Session),
        }
    }
}

/// What is left of an answer once its synchronous replies are queued.
enum Next<'e> {
    /// Nothing: the event is answered.
    Done,
    /// Send the pending output now (Flush).
    Flush,
    /// Run the statements of a simple query.
    Query { sql: &'e str },
    /// Run a bound portal.
    Execute { portal: usize, max_rows: i32 },
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
        let next = settle(machine, socket, &mut |m, r| self.respond(event, m, r, handler, rng, process_id)).await?;
        match next {
            Next::Done => Ok(()),
            Next::Flush => transmit(machine, socket).await.map_err(Error::Write),
            Next::Query { sql } => {
                for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                    let next = settle(machine, socket, &mut |m, r| match handler.describe(statement) {
                        Ok(d) if d.columns.is_empty() => Ok(Next::Query { sql: statement }),
                        Ok(d) => r.send(m, |m| m.row_description(d.columns)).map(|()| Next::Query { sql: statement }),
                        Err(e) => r.error(m, &e).map(|()| Next::Done),
                    })
                    .await?;
                    if let Next::Done = next {
                        break;
                    }
                    let ran = run_statement(statement, Params::default(), 0, 0, 0, machine, socket, handler).await?;
                    if let Ran::Failed = ran {
                        break;
                    }
                }
                let any = sql.split(';').any(|s| !s.trim().is_empty());
                settle(machine, socket, &mut |m, r| {
                    if !any {
                        r.send(m, |m| m.empty_query())?;
                    }
                    r.send(m, |m| m.ready_for_query()).map(|()| Next::Done)
                })
                .await
                .map(drop)
            }
            Next::Execute { portal, max_rows } => {
                let Portal { statement, binary, offset, .. } = self.portals[portal];
                let limit = u32::try_from(max_rows).unwrap_or(0);
                let sql = &self.statements[statement];
                let params = self.portals[portal].params.view();
                match run_statement(sql, params, binary, offset, limit, machine, socket, handler).await? {
                    Ran::Suspended { sent } => self.portals[portal].offset = offset + sent,
                    Ran::Completed => self.portals[portal].done = true,
                    Ran::Failed => {}
                }
                Ok(())
            }
        }
    }

    /// Queues the synchronous part of the answer to `event`; a rerun
    /// (after a transmit) must redo the same work, so nothing here is
    /// consumed or changed except by replies.
    fn respond<'e, H: Handler, R: rand_core::CryptoRng>(
        &mut self,
        event: &Event<'e>,
        machine: &mut Machine<'_>,
        replies: &mut Replies,
        handler: &mut H,
        rng: &mut R,
        process_id: i32,
    ) -> Result<Next<'e>, SessionError> {
        match *event {
            Event::TlsRequested => replies.send(machine, |m| m.decline_tls())?,
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
                        let fields = ErrorFields::new(Severity::Fatal, SqlState::INVALID_PASSWORD, &message);
                        replies.send(machine, |m| m.reject(&fields))?;
                        return Ok(Next::Done);
                    }
                };
                replies.send(machine, |m| m.authenticate(method, rng))?;
            }
            Event::PasswordReceived { password } => {
                let expected = self.password.unwrap_or_default();
                let ok = bool::from(expected.as_bytes().ct_eq(password)) && !expected.is_empty();
                replies.send(machine, |m| m.password_verified(ok))?;
            }
            Event::OAuthToken { .. } => replies.send(machine, |m| m.oauth_verified(false))?,
            Event::Authenticated => {
                let key = BackendKey::random(process_id, rng);
                replies.send(machine, |m| m.accept(&self.config.parameters, &key))?;
            }
            Event::Query { sql } => return Ok(Next::Query { sql }),
            Event::Parse { statement, query, .. } => {
                let slot = &mut self.statements[statement.index()];
                slot.clear();
                if slot.push_str(query).is_err() {
                    let e = QueryError::new(SqlState::PROGRAM_LIMIT_EXCEEDED, "statement too long for this server");
                    replies.error(machine, &e)?;
                } else {
                    match handler.describe(query) {
                        Ok(d) => replies.send(machine, |m| m.parse_complete(d.params.len()))?,
                        Err(e) => replies.error(machine, &e)?,
                    }
                }
            }
            Event::Bind { portal, statement, ref bind } => {
                self.bind(portal, statement, bind, machine, replies, handler)?
            }
            Event::DescribeStatement { statement } => match handler.describe(&self.statements[statement.index()]) {
                Ok(d) => {
                    replies.send(machine, |m| m.parameter_description(d.params))?;
                    if d.columns.is_empty() {
                        replies.send(machine, |m| m.no_data())?;
                    } else {
                        replies.send(machine, |m| m.row_description(d.columns))?;
                    }
                }
                Err(e) => replies.error(machine, &e)?,
            },
            Event::DescribePortal { portal } => {
                let portal = &self.portals[portal.index()];
                match handler.describe(&self.statements[portal.statement]) {
                    Ok(d) if d.columns.is_empty() => replies.send(machine, |m| m.no_data())?,
                    Ok(d) => {
                        replies.send(machine, |m| m.row_description(&with_formats(d.columns, portal.binary)))?;
                    }
                    Err(e) => replies.error(machine, &e)?,
                }
            }
            Event::Execute { portal, max_rows } => {
                if self.portals[portal.index()].done {
                    // A finished portal has nothing more to give, as in PostgreSQL.
                    replies.send(machine, |m| m.command_complete("SELECT 0"))?;
                } else {
                    return Ok(Next::Execute { portal: portal.index(), max_rows });
                }
            }
            Event::Sync { .. } => replies.send(machine, |m| m.ready_for_query())?,
            Event::Flush => return Ok(Next::Flush),
            Event::FunctionCall { .. } => {
                let e = QueryError::new(SqlState::FEATURE_NOT_SUPPORTED, "function calls are not supported");
                replies.error(machine, &e)?;
                replies.send(machine, |m| m.ready_for_query())?;
            }
            // This server never starts COPY; the machine refuses copy messages.
            // Closing needs no answer; cancelling has nothing to cancel (a
            // handler runs to completion on this task).
            _ => {}
        }
        Ok(Next::Done)
    }

    fn bind<H: Handler>(
        &mut self,
        portal: PortalId,
        statement: StatementId,
        bind: &Bind<'_>,
        machine: &mut Machine<'_>,
        replies: &mut Replies,
        handler: &mut H,
    ) -> Result<(), SessionError> {
        let columns = match handler.describe(&self.statements[statement.index()]) {
            Ok(d) => d.columns.len(),
            Err(e) => return replies.error(machine, &e),
        };
        let formats = bind.result_formats.len();
        if formats > 1 && formats != columns {
            let e = QueryError::with_args(
                SqlState::PROTOCOL_VIOLATION,
                format_args!("bind message has {formats} result formats but query has {columns} columns"),
            );
            return replies.error(machine, &e);
        }
        let slot = &mut self.portals[portal.index()];
        if slot.params.fill(bind.params.iter(), |i| bind.param_format(i)).is_none() {
            let e = QueryError::new(SqlState::PROGRAM_LIMIT_EXCEEDED, "parameters too large for this server");
            return replies.error(machine, &e);
        }
        slot.statement = statement.index();
        slot.offset = 0;
        slot.done = false;
        slot.binary = (0..columns.min(MAX_COLUMNS))
            .filter(|&i| bind.result_format(i, columns) == Some(postwire_codec::Format::Binary))
            .fold(0, |mask, i| mask | 1 << i);
        replies.send(machine, |m| m.bind_complete())
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
    let ran = match result {
        Err(_) => Ran::Failed,
        Ok(_) if outcome.suspended => Ran::Suspended { sent: outcome.sent },
        Ok(_) => Ran::Completed,
    };
    settle(machine, socket, &mut |m, r| {
        end_statement(&result, outcome.sent, outcome.suspended, m, r).map(|()| Next::Done)
    })
    .await?;
    Ok(ran)
}

/// Queues the end of a statement run: its error, PortalSuspended, or its
/// command tag (with the transaction status a transaction statement sets).
fn end_statement(
    result: &Result<Tag, QueryError>,
    sent: u32,
    suspended: bool,
    machine: &mut Machine<'_>,
    replies: &mut Replies,
) -> Result<(), SessionError> {
    let tag = match result {
        Err(e) => return replies.error(machine, e),
        Ok(_) if suspended => return replies.send(machine, |m| m.portal_suspended()),
        Ok(tag) => tag,
    };
    let mut text = heapless::String::<32>::new();
    let tag = match *tag {
        Tag::Select => {
            let _ = core::fmt::write(&mut text, format_args!("SELECT {sent}"));
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
        replies.send(machine, |m| m.set_transaction_status(status))?;
    }
    replies.send(machine, |m| m.command_complete(tag))
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
