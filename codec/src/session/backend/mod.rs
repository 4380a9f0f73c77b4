//! The server side of one connection.
//!
//! ```
//! use postwire_codec::session::backend::{AuthMethod, Backend, BackendKey, Event, ServerParameters};
//! use postwire_codec::frontend::{ProtocolVersion, StartupMessage, StartupParams, Query};
//! use postwire_codec::Encode;
//!
//! # struct Rng;
//! # impl rand_core::TryRng for Rng {
//! #     type Error = core::convert::Infallible;
//! #     fn try_next_u32(&mut self) -> Result<u32, Self::Error> { Ok(4) }
//! #     fn try_next_u64(&mut self) -> Result<u64, Self::Error> { Ok(4) }
//! #     fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Self::Error> { d.fill(4); Ok(()) }
//! # }
//! # impl rand_core::TryCryptoRng for Rng {}
//! let mut backend: Backend<[u8; 1024]> = Backend::new([0; 1024]);
//! // What a client sends: a StartupMessage, then a Query.
//! let params = [("user", "alice")];
//! let startup = StartupMessage { version: ProtocolVersion::V3_0, params: StartupParams::from_slice(&params) };
//! let mut input = [0u8; 128];
//! let mut len = startup.encode(&mut input).unwrap();
//! len += Query { sql: "SELECT 1" }.encode(&mut input[len..]).unwrap();
//!
//! let mut at = 0;
//! loop {
//!     let step = backend.handle_input(&input[at..len]);
//!     let consumed = step.consumed;
//!     match step.event {
//!         Some(Event::Startup { .. }) => backend.authenticate(AuthMethod::Trust, &mut Rng).unwrap(),
//!         Some(Event::Authenticated) => {
//!             backend.accept(&ServerParameters::default(), &BackendKey::new(1, &[1, 2, 3, 4]).unwrap()).unwrap()
//!         }
//!         Some(Event::Query { sql }) => {
//!             assert_eq!(sql, "SELECT 1");
//!             backend.empty_query().unwrap();
//!             backend.ready_for_query().unwrap();
//!         }
//!         Some(other) => unreachable!("{other:?}"),
//!         None => break,
//!     }
//!     at += consumed;
//! }
//! assert!(backend.pending_output().ends_with(b"I\0\0\0\x04Z\0\0\0\x05I"));
//! ```

mod event;
mod respond;
mod startup;
pub(crate) mod text;

pub use event::{ClosedTarget, Event, Input, PortalId, StatementId};
pub use startup::{AuthMethod, BackendKey, ServerParameters};

use crate::{
    DecodeError, Encode, FrameLimits, Framed, SqlState,
    backend::{ErrorFields, ErrorResponse, ReadyForQuery, Severity, TransactionStatus},
    frame::{MESSAGE_HEADER_LEN, RawMessage, frame_message},
    frontend::{Bind, Describe, Execute, FrontendMessage, Parse, ProtocolVersion, Query, Sync, TargetKind},
    session::{CloseReason, OutputBuffer, SessionError, Violation, names::NameTable},
};
use startup::{AuthStep, Exchange};
use text::stack_format;

/// What the machine waits for: the driver applies its timeouts to this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Waiting {
    /// The client's startup packet (or its TLS handshake): a startup timeout.
    Startup,
    /// The client's authentication messages: an authentication timeout.
    Authentication,
    /// The driver's answer to the current event: no client timeout applies.
    Driver,
    /// The client's next command, between queries: an idle timeout (an idle-in-
    /// transaction one when [`Backend::transaction_status`] is not Idle).
    Command,
    /// COPY data from the client.
    CopyData,
    /// Nothing: the session is over.
    Nothing,
}

/// The reply the driver owes for the current command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Reply {
    /// A simple Query or FunctionCall: results, then `ready_for_query`.
    Simple {
        results: Results,
        failed: bool,
        function_call: bool,
    },
    Parse {
        statement: u16,
    },
    Bind {
        portal: u16,
    },
    DescribeStatement {
        parameters_sent: bool,
        statement: u16,
    },
    DescribePortal {
        portal: u16,
    },
    Execute {
        portal: u16,
        results: Results,
        limited: bool,
    },
    Sync,
}

/// Where a statement's results stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Results {
    /// Nothing sent for the current statement yet.
    Start,
    /// RowDescription sent (simple query) or known (execute): rows may follow.
    Rows { columns: Option<u16> },
    /// COPY TO STDOUT under way.
    CopyOut,
    /// A COPY finished; CommandComplete is due.
    CopyFinished,
    /// The statement is finished (FunctionCallResponse sent).
    Done,
}

// `repr(u8)` here and on `Reply` and `Results`: an explicit tag byte, not
// a niche in the payload, so each state test is one compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum State {
    /// Reading startup packets.
    Startup { encrypted: bool, first: bool },
    /// `TlsRequested` is out; `accept_tls` or `decline_tls` is due.
    TlsDecision { encrypted: bool },
    /// `DirectTls` is out; `tls_established` is due.
    DirectTls,
    /// `Startup` is out; `authenticate` or `reject` is due.
    AuthChoice,
    /// Reading authentication messages.
    Authenticating(AuthStep),
    /// `PasswordReceived` is out; `password_verified` is due.
    PasswordCheck,
    /// `OAuthToken` is out; `oauth_verified` is due.
    TokenCheck,
    /// Authentication passed; `Authenticated` is the next event.
    AuthPassed,
    /// `Authenticated` is out; `accept` or `reject` is due.
    AcceptDecision,
    /// Reading commands.
    Commands,
    /// A command is being answered.
    Replying(Reply),
    /// Reading COPY data; then the reply goes on.
    CopyIn(Reply),
    /// Over.
    Closed(CloseReason),
}

/// The server side of one PostgreSQL connection: a sans-IO state machine.
///
/// `B` is the output buffer's storage (`[u8; N]`, `Vec<u8>`…); it must hold
/// the largest single message the driver sends. `STATEMENTS` and `PORTALS`
/// bound the prepared statements and portals a client may hold (more → 54000).
///
/// Call order: [`handle_input`](Self::handle_input) → answer the event →
/// transmit [`pending_output`](Self::pending_output) → [`consume_output`](Self::consume_output).
#[derive(Debug)]
pub struct Backend<B, const STATEMENTS: usize = 16, const PORTALS: usize = 8> {
    out: OutputBuffer<B>,
    state: State,
    limits: FrameLimits,
    version: ProtocolVersion,
    status: TransactionStatus,
    /// An error occurred in the current extended-query batch: skip to Sync.
    skipping: bool,
    user: startup::UserName,
    application_name: startup::UserName,
    /// Whether TLS was on when the session was accepted.
    encrypted_session: bool,
    /// The `tls-server-end-point` hash for SCRAM-SHA-256-PLUS, when known.
    tls_server_end_point: Option<startup::CertHash>,
    /// Secrets and state of the authentication exchange under way.
    exchange: Exchange,
    statements: NameTable<STATEMENTS>,
    portals: NameTable<PORTALS>,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>, const STATEMENTS: usize, const PORTALS: usize> Backend<B, STATEMENTS, PORTALS> {
    /// A fresh connection with PostgreSQL's default message limits.
    pub fn new(output: B) -> Self {
        Self::with_limits(output, FrameLimits::DEFAULT)
    }

    /// A fresh connection with the given message size limits.
    pub fn with_limits(output: B, limits: FrameLimits) -> Self {
        Backend {
            out: OutputBuffer::new(output),
            state: State::Startup { encrypted: false, first: true },
            limits,
            version: ProtocolVersion::V3_0,
            status: TransactionStatus::Idle,
            skipping: false,
            user: startup::UserName::default(),
            application_name: startup::UserName::default(),
            encrypted_session: false,
            tls_server_end_point: None,
            exchange: Exchange::None,
            statements: NameTable::new(),
            portals: NameTable::new(),
        }
    }

    // ---- getters ----

    /// Bytes to transmit, in order.
    pub fn pending_output(&self) -> &[u8] {
        self.out.pending()
    }

    /// Drops `n` transmitted bytes from the front of [`pending_output`](Self::pending_output).
    pub fn consume_output(&mut self, n: usize) {
        self.out.consume(n);
    }

    /// The output buffer's size.
    pub fn output_capacity(&self) -> usize {
        self.out.capacity()
    }

    /// Swaps in new output storage, keeping the pending bytes, and returns the
    /// old one. A driver grows the buffer when a message needs more than its
    /// capacity (`OutputFull::needed`), and shrinks it back once that is sent.
    /// If the pending bytes do not fit `storage`, nothing changes and
    /// `storage` comes back as the error.
    pub fn replace_output_storage(&mut self, storage: B) -> Result<B, B> {
        self.out.replace_storage(storage)
    }

    /// The protocol version agreed at startup.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.version
    }

    /// The transaction status the next ReadyForQuery reports.
    pub fn transaction_status(&self) -> TransactionStatus {
        self.status
    }

    /// The authenticated (or authenticating) user; empty before startup.
    pub fn user(&self) -> &str {
        self.user.as_str()
    }

    /// Whether the session is over (transmit what is pending, then close).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed(_))
    }

    /// Why the session ended, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        match self.state {
            State::Closed(r) => Some(r),
            _ => None,
        }
    }

    /// What the machine is waiting for, to choose a timeout.
    pub fn waiting_for(&self) -> Waiting {
        match self.state {
            State::Startup { .. } | State::DirectTls => Waiting::Startup,
            State::Authenticating(_) => Waiting::Authentication,
            State::TlsDecision { .. }
            | State::AuthChoice
            | State::PasswordCheck
            | State::TokenCheck
            | State::AuthPassed
            | State::AcceptDecision
            | State::Replying(_) => Waiting::Driver,
            State::Commands => Waiting::Command,
            State::CopyIn(_) => Waiting::CopyData,
            State::Closed(_) => Waiting::Nothing,
        }
    }

    // ---- input ----

    /// Reads at most one message from the front of `input` and reports it.
    ///
    /// Keep the input bytes until the event is handled (it borrows them), then
    /// drop `consumed` of them. Bad input never panics: it ends the session with
    /// a FATAL error queued (or, for errors PostgreSQL survives, an ERROR).
    pub fn handle_input<'a>(&mut self, input: &'a [u8]) -> Input<'a> {
        // Nothing to read between commands (a driver's last call after a
        // batch): answered without setting up the large body's frame.
        if input.is_empty() && matches!(self.state, State::Commands) {
            return Input { consumed: 0, event: None, needed: MESSAGE_HEADER_LEN };
        }
        self.read_input(input)
    }

    /// [`handle_input`](Self::handle_input) with input to read.
    #[inline(never)]
    fn read_input<'a>(&mut self, input: &'a [u8]) -> Input<'a> {
        // Commands first, alone (a compare, not a jump table): the usual state.
        if matches!(self.state, State::Commands) {
            return self.read_command(input);
        }
        match self.state {
            State::Startup { encrypted, first } => self.read_startup(input, encrypted, first),
            State::Authenticating(exchange) => self.read_auth(input, exchange),
            State::AuthPassed => {
                // The exchange's secrets are no longer needed.
                self.exchange = Exchange::None;
                self.state = State::AcceptDecision;
                event(0, Event::Authenticated)
            }
            State::Commands => self.read_command(input),
            State::CopyIn(reply) => self.read_copy(input, reply),
            State::TlsDecision { .. }
            | State::DirectTls
            | State::AuthChoice
            | State::PasswordCheck
            | State::TokenCheck
            | State::AcceptDecision
            | State::Replying(_)
            | State::Closed(_) => Input { consumed: 0, event: None, needed: 0 },
        }
    }

    /// The client closed its side. Returns why the session ended: `Finished`
    /// between messages, `Truncated` if `buffered` input holds part of one.
    pub fn handle_eof(&mut self, buffered: usize) -> CloseReason {
        let reason = match self.state {
            State::Closed(r) => r,
            _ if buffered > 0 => CloseReason::Truncated,
            _ => CloseReason::Finished,
        };
        self.state = State::Closed(reason);
        reason
    }

    fn read_command<'a>(&mut self, input: &'a [u8]) -> Input<'a> {
        if let Some(&tag) = input.first()
            && !FrontendMessage::is_known_tag(tag)
        {
            // Refused at once: its length may announce a gigabyte never sent.
            return self.violation(0, Violation::UnexpectedMessage { tag });
        }
        let raw = match frame_message(input, &self.limits) {
            Ok(Framed::Complete { item, consumed }) => (item, consumed),
            Ok(Framed::Incomplete { needed }) => return Input { consumed: 0, event: None, needed },
            Err(e) => return self.violation(0, Violation::Malformed(e)),
        };
        let (raw, consumed) = raw;
        if self.skipping && raw.tag != b'S' {
            return Input { consumed, event: None, needed: 0 };
        }
        // The commands of every query, decoded as their own type once their
        // tag is known (not as a FrontendMessage matched again). Anything
        // that does not decode takes the general path, which reports it.
        match raw.tag {
            Query::TAG => {
                if let Ok(q) = Query::decode_body(raw.body) {
                    return self.query(consumed, q.sql);
                }
            }
            // By reference: moving a large message out of its `Result`
            // copies it.
            Parse::TAG => {
                if let Ok(p) = &Parse::decode_body(raw.body) {
                    return self.parse(consumed, p);
                }
            }
            Bind::TAG => {
                if let Ok(b) = &Bind::decode_body(raw.body) {
                    return self.bind(consumed, b);
                }
            }
            Describe::TAG => {
                if let Ok(d) = Describe::decode_body(raw.body) {
                    return self.describe(consumed, d.kind, d.name);
                }
            }
            Execute::TAG => {
                if let Ok(e) = Execute::decode_body(raw.body) {
                    return self.execute(consumed, &e);
                }
            }
            Sync::TAG if Sync::decode_body(raw.body).is_ok() => return self.sync(consumed),
            _ => {}
        }
        self.read_any_command(raw, consumed)
    }

    /// Any command, decoded as a [`FrontendMessage`]; bad ones are reported.
    fn read_any_command<'a>(&mut self, raw: RawMessage<'a>, consumed: usize) -> Input<'a> {
        // Read where it was decoded, not moved: copying a message just
        // written field by field stalls on those stores.
        let decoded = FrontendMessage::decode(raw);
        let message = match &decoded {
            Ok(m) => m,
            Err(DecodeError::UnknownMessageType { tag }) => {
                return self.violation(consumed, Violation::UnexpectedMessage { tag: *tag });
            }
            Err(e) if matches!(raw.tag, b'Q' | b'P' | b'B' | b'D' | b'E' | b'C' | b'F' | b'H') => {
                // A command whose frame is whole but whose content is not
                // (bad text, a bad Describe kind, a short field): PostgreSQL
                // answers with an ERROR and the session goes on.
                return self.command_error(consumed, raw.tag == b'Q', *e);
            }
            Err(e) => return self.violation(consumed, Violation::Malformed(*e)),
        };
        match message {
            FrontendMessage::Query(q) => self.query(consumed, q.sql),
            FrontendMessage::Parse(p) => self.parse(consumed, p),
            FrontendMessage::Bind(b) => self.bind(consumed, b),
            FrontendMessage::Describe(d) => self.describe(consumed, d.kind, d.name),
            FrontendMessage::Execute(e) => self.execute(consumed, e),
            FrontendMessage::Close(c) => self.close(consumed, c.kind, c.name),
            FrontendMessage::Sync(_) => self.sync(consumed),
            FrontendMessage::Flush(_) => event(consumed, Event::Flush),
            FrontendMessage::FunctionCall(call) => {
                self.state =
                    State::Replying(Reply::Simple { results: Results::Start, failed: false, function_call: true });
                event(consumed, Event::FunctionCall { call: *call })
            }
            // Leftovers of a COPY that already failed are dropped, as PostgreSQL does.
            FrontendMessage::CopyData(_) | FrontendMessage::CopyDone(_) | FrontendMessage::CopyFail(_) => {
                Input { consumed, event: None, needed: 0 }
            }
            FrontendMessage::Terminate(_) => {
                self.state = State::Closed(CloseReason::Finished);
                event(consumed, Event::Ended { reason: CloseReason::Finished })
            }
            _ => self.violation(consumed, Violation::UnexpectedMessage { tag: raw.tag }),
        }
    }

    fn query<'a>(&mut self, consumed: usize, sql: &'a str) -> Input<'a> {
        // A Query destroys the unnamed statement and portal.
        self.forget_unnamed();
        self.state = State::Replying(Reply::Simple { results: Results::Start, failed: false, function_call: false });
        event(consumed, Event::Query { sql })
    }

    fn execute<'a>(&mut self, consumed: usize, e: &Execute<'a>) -> Input<'a> {
        match self.portals.find(e.portal) {
            Some(slot) => {
                let columns = self.portals.get(slot).and_then(|p| p.columns);
                self.state = State::Replying(Reply::Execute {
                    portal: slot as u16,
                    results: Results::Rows { columns },
                    limited: e.max_rows > 0,
                });
                event(consumed, Event::Execute { portal: PortalId(slot as u16), max_rows: e.max_rows })
            }
            None => self.missing_portal(consumed, e.portal),
        }
    }

    fn sync<'a>(&mut self, consumed: usize) -> Input<'a> {
        let after_error = core::mem::replace(&mut self.skipping, false);
        self.state = State::Replying(Reply::Sync);
        event(consumed, Event::Sync { after_error })
    }

    fn read_copy<'a>(&mut self, input: &'a [u8], reply: Reply) -> Input<'a> {
        let (raw, consumed) = match frame_message(input, &self.limits) {
            Ok(Framed::Complete { item, consumed }) => (item, consumed),
            Ok(Framed::Incomplete { needed }) => return Input { consumed: 0, event: None, needed },
            Err(e) => return self.violation(0, Violation::Malformed(e)),
        };
        match FrontendMessage::decode(raw) {
            Ok(FrontendMessage::CopyData(d)) => event(consumed, Event::CopyData { data: d.data }),
            Ok(FrontendMessage::CopyDone(_)) => {
                self.state = State::Replying(with_results(reply, Results::CopyFinished));
                event(consumed, Event::CopyDone)
            }
            // The protocol says to ignore these during copy-in.
            Ok(FrontendMessage::Flush(_) | FrontendMessage::Sync(_)) => Input { consumed, event: None, needed: 0 },
            Ok(FrontendMessage::CopyFail(f)) => {
                let message = stack_format!("COPY from stdin failed: {}", f.message);
                let fields = ErrorFields::new(Severity::Error, SqlState::QUERY_CANCELED, message.as_str());
                self.abort_copy(consumed, reply, &fields, Some(f.message))
            }
            Ok(_) | Err(DecodeError::UnknownMessageType { .. }) => {
                let message = stack_format!("unexpected message type 0x{:02X} during COPY from stdin", raw.tag);
                let fields = ErrorFields::new(Severity::Error, SqlState::PROTOCOL_VIOLATION, message.as_str());
                self.abort_copy(consumed, reply, &fields, None)
            }
            Err(e) => self.violation(consumed, Violation::Malformed(e)),
        }
    }

    fn abort_copy<'a>(
        &mut self,
        consumed: usize,
        reply: Reply,
        fields: &ErrorFields<'_>,
        client_message: Option<&'a str>,
    ) -> Input<'a> {
        if self.queue_error(fields).is_err() {
            return self.output_overflow(consumed);
        }
        self.fail_transaction();
        self.state = match reply {
            Reply::Simple { function_call, .. } => {
                State::Replying(Reply::Simple { results: Results::Done, failed: true, function_call })
            }
            _ => {
                self.skipping = true;
                State::Commands
            }
        };
        event(consumed, Event::CopyAborted { client_message })
    }

    fn parse<'a>(&mut self, consumed: usize, p: &crate::frontend::Parse<'a>) -> Input<'a> {
        let existing = self.statements.find(p.statement);
        if let Some(slot) = existing {
            if !p.statement.is_empty() {
                let message = stack_format!("prepared statement \"{}\" already exists", p.statement);
                return self.batch_error(consumed, SqlState::DUPLICATE_PREPARED_STATEMENT, message.as_str());
            }
            self.statements.remove(slot);
        }
        let declared = u16::try_from(p.param_types.len()).unwrap_or(u16::MAX);
        match self.statements.insert(p.statement, declared) {
            Some(slot) => {
                self.state = State::Replying(Reply::Parse { statement: slot as u16 });
                event(
                    consumed,
                    Event::Parse {
                        statement: StatementId(slot as u16),
                        name: p.statement,
                        query: p.query,
                        param_types: p.param_types,
                    },
                )
            }
            None => {
                let message = stack_format!("too many prepared statements (at most {STATEMENTS})");
                self.batch_error(consumed, SqlState::PROGRAM_LIMIT_EXCEEDED, message.as_str())
            }
        }
    }

    fn bind<'a>(&mut self, consumed: usize, b: &crate::frontend::Bind<'a>) -> Input<'a> {
        let Some(statement) = self.statements.find(b.statement) else {
            return self.missing_statement(consumed, b.statement);
        };
        let required = self.statements.get(statement).map_or(0, |s| usize::from(s.value));
        if b.params.len() != required {
            let message = stack_format!(
                "bind message supplies {} parameters, but prepared statement \"{}\" requires {}",
                b.params.len(),
                b.statement,
                required
            );
            return self.batch_error(consumed, SqlState::PROTOCOL_VIOLATION, message.as_str());
        }
        if let Some(slot) = self.portals.find(b.portal) {
            if !b.portal.is_empty() {
                let message = stack_format!("portal \"{}\" already exists", b.portal);
                return self.batch_error(consumed, SqlState::DUPLICATE_CURSOR, message.as_str());
            }
            self.portals.remove(slot);
        }
        match self.portals.insert(b.portal, statement as u16) {
            Some(slot) => {
                self.state = State::Replying(Reply::Bind { portal: slot as u16 });
                event(
                    consumed,
                    Event::Bind { portal: PortalId(slot as u16), statement: StatementId(statement as u16), bind: *b },
                )
            }
            None => {
                let message = stack_format!("too many portals (at most {PORTALS})");
                self.batch_error(consumed, SqlState::PROGRAM_LIMIT_EXCEEDED, message.as_str())
            }
        }
    }

    fn describe<'a>(&mut self, consumed: usize, kind: TargetKind, name: &'a str) -> Input<'a> {
        match kind {
            TargetKind::Statement => match self.statements.find(name) {
                Some(slot) => {
                    let statement = slot as u16;
                    self.state = State::Replying(Reply::DescribeStatement { parameters_sent: false, statement });
                    event(consumed, Event::DescribeStatement { statement: StatementId(statement) })
                }
                None => self.missing_statement(consumed, name),
            },
            TargetKind::Portal => match self.portals.find(name) {
                Some(slot) => {
                    self.state = State::Replying(Reply::DescribePortal { portal: slot as u16 });
                    event(consumed, Event::DescribePortal { portal: PortalId(slot as u16) })
                }
                None => self.missing_portal(consumed, name),
            },
        }
    }

    fn close<'a>(&mut self, consumed: usize, kind: TargetKind, name: &str) -> Input<'a> {
        if self.out.push(&crate::backend::CloseComplete).is_err() {
            return self.output_overflow(consumed);
        }
        // Closing something that does not exist is not an error.
        let target = match kind {
            TargetKind::Statement => self.statements.find(name).map(|slot| {
                self.statements.remove(slot);
                ClosedTarget::Statement(StatementId(slot as u16))
            }),
            TargetKind::Portal => self.portals.find(name).map(|slot| {
                self.portals.remove(slot);
                ClosedTarget::Portal(PortalId(slot as u16))
            }),
        };
        match target {
            Some(target) => event(consumed, Event::Closed { target }),
            None => Input { consumed, event: None, needed: 0 },
        }
    }

    fn missing_statement<'a>(&mut self, consumed: usize, name: &str) -> Input<'a> {
        let message = if name.is_empty() {
            stack_format!("unnamed prepared statement does not exist")
        } else {
            stack_format!("prepared statement \"{name}\" does not exist")
        };
        self.batch_error(consumed, SqlState::INVALID_SQL_STATEMENT_NAME, message.as_str())
    }

    fn missing_portal<'a>(&mut self, consumed: usize, name: &str) -> Input<'a> {
        let message = if name.is_empty() {
            stack_format!("unnamed portal does not exist")
        } else {
            stack_format!("portal \"{name}\" does not exist")
        };
        self.batch_error(consumed, SqlState::INVALID_CURSOR_NAME, message.as_str())
    }

    /// An ERROR in an extended-query batch found by the machine itself: queue
    /// it and skip to the Sync.
    fn batch_error<'a>(&mut self, consumed: usize, code: SqlState, message: &str) -> Input<'a> {
        if self.queue_error(&ErrorFields::new(Severity::Error, code, message)).is_err() {
            return self.output_overflow(consumed);
        }
        self.fail_transaction();
        self.skipping = true;
        Input { consumed, event: None, needed: 0 }
    }

    /// Bad text in a command: an ERROR, then ReadyForQuery (simple query) or a
    /// skip to Sync (extended).
    fn command_error<'a>(&mut self, consumed: usize, simple: bool, e: DecodeError) -> Input<'a> {
        let message = stack_format!("{e}");
        if !simple {
            return self.batch_error(consumed, e.sqlstate(), message.as_str());
        }
        let fields = ErrorFields::new(Severity::Error, e.sqlstate(), message.as_str());
        let needed = ErrorResponse::from(&fields).encoded_len().unwrap_or(usize::MAX).saturating_add(6);
        if !self.out.has_room(needed) {
            return self.output_overflow(consumed);
        }
        self.fail_transaction();
        self.forget_unnamed();
        let _ = self.queue_error(&fields);
        let _ = self.out.push(&ReadyForQuery { status: self.status });
        Input { consumed, event: None, needed: 0 }
    }

    /// The client broke the protocol: FATAL, session over.
    fn violation<'a>(&mut self, consumed: usize, violation: Violation) -> Input<'a> {
        let message = match violation {
            Violation::Malformed(e) => stack_format!("{e}"),
            Violation::UnexpectedMessage { tag } => stack_format!("invalid frontend message type {tag}"),
            Violation::NoUser => stack_format!("no PostgreSQL user name specified in startup packet"),
            Violation::DataAfterEncryptionRequest => {
                stack_format!("received unencrypted data after SSL request")
            }
            Violation::Sasl(e) => stack_format!("{}", e.message()),
        };
        self.fatal(consumed, violation.sqlstate(), message.as_str(), CloseReason::ProtocolViolation(violation))
    }

    /// Queues a FATAL error (if it fits: the session is over either way).
    fn fatal<'a>(&mut self, consumed: usize, code: SqlState, message: &str, reason: CloseReason) -> Input<'a> {
        let _ = self.queue_error(&ErrorFields::new(Severity::Fatal, code, message));
        self.state = State::Closed(reason);
        event(consumed, Event::Ended { reason })
    }

    /// The output buffer cannot hold even an error message: nothing sensible
    /// can be said, so the session ends.
    fn output_overflow<'a>(&mut self, consumed: usize) -> Input<'a> {
        let reason = CloseReason::ProtocolViolation(Violation::Malformed(DecodeError::MessageTooLarge {
            length: self.out.capacity(),
            limit: self.out.capacity(),
        }));
        self.state = State::Closed(reason);
        event(consumed, Event::Ended { reason })
    }

    fn queue_error(&mut self, fields: &ErrorFields<'_>) -> Result<(), SessionError> {
        self.out.push(&ErrorResponse::from(fields)).map_err(SessionError::from)
    }

    fn fail_transaction(&mut self) {
        if self.status == TransactionStatus::InTransaction {
            self.status = TransactionStatus::Failed;
        }
    }

    fn forget_unnamed(&mut self) {
        if let Some(slot) = self.statements.find("") {
            self.statements.remove(slot);
        }
        if let Some(slot) = self.portals.find("") {
            self.portals.remove(slot);
        }
    }
}

fn event(consumed: usize, event: Event<'_>) -> Input<'_> {
    Input { consumed, event: Some(event), needed: 0 }
}

fn with_results(reply: Reply, results: Results) -> Reply {
    match reply {
        Reply::Simple { failed, function_call, .. } => Reply::Simple { results, failed, function_call },
        Reply::Execute { portal, limited, .. } => Reply::Execute { portal, results, limited },
        other => other,
    }
}

#[cfg(test)]
mod tests;
