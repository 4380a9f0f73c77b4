//! The client side of a PostgreSQL connection as a sans-IO state machine.
//!
//! [`Frontend`] does no I/O: the driver reads bytes from the socket, feeds
//! them to [`Frontend::handle_input`] and handles the [`Event`] it returns;
//! it calls `send_*` methods to queue requests and writes
//! [`Frontend::pending_output`] to the socket.
//!
//! # Call order
//! 1. Optionally [`Frontend::request_tls`] (or [`Frontend::request_gss_encryption`]),
//!    transmit, feed the one-byte answer to `handle_input`
//!    ([`Event::TlsAccepted`]/[`Event::TlsRefused`]), do TLS on the socket and
//!    call [`Frontend::tls_established`]. With direct TLS, do the handshake first
//!    and call `tls_established` before anything else.
//! 2. [`Frontend::start`] with the startup parameters.
//! 3. Loop: transmit pending output; read; `handle_input`; drop `consumed`
//!    bytes; handle the event (answer [`Event::PasswordRequired`] with
//!    [`Frontend::provide_password`]) until [`Event::Ready`].
//! 4. Queue requests with `send_query`, or `send_parse`/`send_bind`/
//!    `send_describe`/`send_execute`/`send_close` … `send_sync` (pipelined:
//!    any number before reading answers); every response event carries the
//!    [`RequestId`] the `send_*` call returned.
//! 5. [`Frontend::send_terminate`], transmit, close the socket.
//!
//! The machine checks every server message against what it expects; anything
//! else is a [`SessionError`] and closes the session.
//!
//! ```
//! use postwire_codec::backend::TransactionStatus;
//! use postwire_codec::frontend::StartupParams;
//! use postwire_codec::session::frontend::{Config, Event, Frontend};
//!
//! # struct Rng;
//! # impl rand_core::TryRng for Rng {
//! #     type Error = core::convert::Infallible;
//! #     fn try_next_u32(&mut self) -> Result<u32, Self::Error> { Ok(4) }
//! #     fn try_next_u64(&mut self) -> Result<u64, Self::Error> { Ok(4) }
//! #     fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Self::Error> { d.fill(4); Ok(()) }
//! # }
//! # impl rand_core::TryCryptoRng for Rng {}
//! let mut fe: Frontend<[u8; 256]> = Frontend::new([0; 256], Config::DEFAULT);
//! fe.start(StartupParams::from_slice(&[("user", "bob")]), &mut Rng)?;
//! assert!(fe.pending_output().starts_with(b"\0\0\0\x12\0\x03\0\x02user\0bob\0\0"));
//! let n = fe.pending_output().len();
//! fe.consume_output(n);
//!
//! // The server: AuthenticationOk, ReadyForQuery(idle).
//! let mut input: &[u8] = b"R\0\0\0\x08\0\0\0\0Z\0\0\0\x05I";
//! let mut events = 0;
//! while !input.is_empty() {
//!     let got = fe.handle_input(input)?;
//!     if let Some(Event::Ready { status, .. }) = got.event {
//!         assert_eq!(status, TransactionStatus::Idle);
//!     }
//!     events += usize::from(got.event.is_some());
//!     input = &input[got.consumed..];
//! }
//! assert_eq!(events, 2);
//! let q = fe.send_query("SELECT 1")?;
//! assert_eq!(fe.pending_output(), b"Q\0\0\0\x0dSELECT 1\0");
//! # let _ = q;
//! # Ok::<(), postwire_codec::session::SessionError>(())
//! ```

mod event;
mod queue;

pub use event::{CloseReason, Event, Input, PasswordMethod, RequestId, WaitingFor};

use crate::auth::{
    SaslError, md5,
    oauth::{self, OAUTHBEARER},
    scram::{ChannelBindingFlag, SCRAM_SHA_256, SCRAM_SHA_256_PLUS, ScramClient},
};
use crate::{
    Format, Oid,
    backend::{
        Authentication, BackendMessage, BindComplete, CommandComplete, DataRow, ErrorResponse, MAX_SECRET_KEY_LEN,
        ParseComplete, ReadyForQuery, RowDescription, Severity, TransactionStatus,
    },
    copy::{CopyData, CopyDone},
    frame::{FrameLimits, Framed, RawMessage, frame_message},
    frontend::{
        Bind, CancelRequest, Close, CopyFail, Describe, Execute, Flush, FormatCodes, FunctionCall, GssEncRequest, Oids,
        Parse, PasswordMessage, ProtocolVersion, Query, SaslInitialResponse, SaslResponse, SslRequest, StartupMessage,
        StartupParams, Sync, TargetKind, Terminate, Values,
    },
    session::{AuthError, OutputBuffer, SessionError},
    write::Encode,
};
use queue::{Entry, Kind, Progress, Queue};

/// Whether SCRAM binds to the TLS channel (`tls-server-end-point`), like
/// libpq's `channel_binding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ChannelBinding {
    /// Never use channel binding.
    Disable,
    /// Use it when on TLS with a certificate hash and the server offers it.
    #[default]
    Prefer,
    /// Fail unless authentication used SCRAM-SHA-256-PLUS.
    Require,
}

/// Client settings. `const fn` builders, so it can live in a `static`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// The protocol version asked for in the StartupMessage (default 3.2;
    /// servers before PostgreSQL 18 answer with NegotiateProtocolVersion and
    /// the session continues with 3.0).
    pub protocol_version: ProtocolVersion,
    /// Channel binding policy.
    pub channel_binding: ChannelBinding,
    /// The largest SCRAM iteration count accepted from a server (default
    /// 100,000): a hostile server cannot make the client burn CPU.
    pub max_scram_iterations: u32,
    /// Size limits for incoming messages.
    pub limits: FrameLimits,
}

impl Config {
    /// Protocol 3.2, channel binding preferred, 100,000 SCRAM iterations at
    /// most, PostgreSQL's message size limits.
    pub const DEFAULT: Config = Config {
        protocol_version: ProtocolVersion::V3_2,
        channel_binding: ChannelBinding::Prefer,
        max_scram_iterations: 100_000,
        limits: FrameLimits::DEFAULT,
    };

    /// Sets the protocol version to request.
    pub const fn with_protocol_version(mut self, v: ProtocolVersion) -> Self {
        self.protocol_version = v;
        self
    }

    /// Sets the channel binding policy.
    pub const fn with_channel_binding(mut self, cb: ChannelBinding) -> Self {
        self.channel_binding = cb;
        self
    }

    /// Sets the SCRAM iteration cap.
    pub const fn with_max_scram_iterations(mut self, n: u32) -> Self {
        self.max_scram_iterations = n;
        self
    }

    /// Sets the incoming message limits.
    pub const fn with_limits(mut self, limits: FrameLimits) -> Self {
        self.limits = limits;
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

/// The longest TLS certificate hash kept for channel binding (SHA-512).
pub const MAX_CERT_HASH_LEN: usize = crate::auth::scram::MAX_CERT_HASH_LEN;

/// PostgreSQL truncates role names to 63 bytes; MD5 hashes that name.
const MAX_USER_LEN: usize = 63;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing sent yet.
    Initial,
    /// SSLRequest sent; one byte expected.
    AwaitTls,
    /// GSSENCRequest sent; one byte expected.
    AwaitGss,
    /// StartupMessage sent; authentication in progress.
    Authenticating,
    /// AuthenticationOk seen; waiting for ReadyForQuery.
    Establishing,
    /// Startup done.
    Ready,
    /// Over.
    Closed,
}

/// What a server message does to the request at the head of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// The request is answered: it leaves the queue.
    Pop,
    /// Nothing changes.
    Keep,
    /// It goes on at this point.
    Progress(Progress),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// No authentication request seen yet.
    None,
    /// Cleartext password requested, not yet answered.
    CleartextAsked,
    /// MD5 password requested, not yet answered.
    Md5Asked { salt: [u8; 4] },
    /// A password message was sent; AuthenticationOk or an error is next.
    PasswordSent,
    /// SCRAM in progress (see [`ScramClient`]'s own step).
    Scram,
    /// OAUTHBEARER offered; the caller's token is due.
    OAuthAsked,
    /// The bearer token was sent; AuthenticationOk or an error document is next.
    OAuthSent,
    /// The server's error document was acknowledged; its FATAL error is next.
    OAuthRejected,
}

/// A small inline byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bytes<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Bytes<N> {
    const EMPTY: Self = Bytes { buf: [0; N], len: 0 };

    fn new(src: &[u8]) -> Option<Self> {
        let mut b = Self::EMPTY;
        b.buf.get_mut(..src.len())?.copy_from_slice(src);
        b.len = src.len();
        Some(b)
    }

    fn get(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// The client side of one PostgreSQL connection (protocol 3.0 and 3.2).
///
/// `B` is the output buffer's storage (`[u8; N]`, `Vec<u8>`, `&'static mut
/// [u8]`…); it must hold the largest message you send. `Q` is how many
/// requests may wait for answers at once (pipelining depth); beyond that,
/// `send_*` returns [`SessionError::QueueFull`].
#[derive(Debug, Clone)]
pub struct Frontend<B, const Q: usize = 32> {
    out: OutputBuffer<B>,
    config: Config,
    phase: Phase,
    version: ProtocolVersion,
    negotiated: bool,
    tls: bool,
    cert_hash: Option<Bytes<MAX_CERT_HASH_LEN>>,
    user: Bytes<MAX_USER_LEN>,
    auth: Auth,
    scram: ScramClient,
    used_channel_binding: bool,
    key: Option<(i32, Bytes<MAX_SECRET_KEY_LEN>)>,
    status: Option<TransactionStatus>,
    queue: Queue<Q>,
    next_id: u64,
    /// An extended-query error happened: requests up to the next Sync are skipped.
    skipping: bool,
    close: Option<CloseReason>,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>, const Q: usize> Frontend<B, Q> {
    /// A new session with `storage` as its output buffer. Next: optionally
    /// [`request_tls`](Self::request_tls), then [`start`](Self::start).
    pub fn new(storage: B, config: Config) -> Self {
        Frontend {
            out: OutputBuffer::new(storage),
            config,
            phase: Phase::Initial,
            version: config.protocol_version,
            negotiated: false,
            tls: false,
            cert_hash: None,
            user: Bytes::EMPTY,
            auth: Auth::None,
            scram: ScramClient::unstarted(),
            used_channel_binding: false,
            key: None,
            status: None,
            queue: Queue::new(),
            next_id: 0,
            skipping: false,
            close: None,
        }
    }

    // ----- getters -----

    /// The bytes to transmit next; after writing some, call
    /// [`consume_output`](Self::consume_output).
    pub fn pending_output(&self) -> &[u8] {
        self.out.pending()
    }

    /// Drops `n` transmitted bytes from the front of the pending output.
    pub fn consume_output(&mut self, n: usize) {
        self.out.consume(n);
    }

    /// Swaps in new output storage, keeping what is pending, and returns the
    /// old one: a driver grows the buffer for one large message (after
    /// [`SessionError::OutputFull`] says how much is needed) and shrinks it
    /// back later. If the pending bytes do not fit `storage`, nothing changes
    /// and `storage` comes back as the error.
    pub fn replace_output_storage(&mut self, storage: B) -> Result<B, B> {
        self.out.replace_storage(storage)
    }

    /// The output buffer's total size.
    pub fn output_capacity(&self) -> usize {
        self.out.capacity()
    }

    /// The protocol version in use: the requested one, or the one the server
    /// offered in NegotiateProtocolVersion.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.version
    }

    /// The cancel key from BackendKeyData: `(process id, secret key)`.
    pub fn backend_key(&self) -> Option<(i32, &[u8])> {
        self.key.as_ref().map(|(pid, key)| (*pid, key.get()))
    }

    /// The transaction status from the last ReadyForQuery.
    pub fn transaction_status(&self) -> Option<TransactionStatus> {
        self.status
    }

    /// How many requests wait for answers.
    pub fn pending_requests(&self) -> usize {
        self.queue.len()
    }

    /// Whether startup finished and the session is not closed.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// Whether the session is over (see [`close_reason`](Self::close_reason)).
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Why the session ended, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close
    }

    /// Whether authentication used SCRAM-SHA-256-PLUS (channel binding).
    pub fn used_channel_binding(&self) -> bool {
        self.used_channel_binding
    }

    /// What the session waits for, to apply timeouts.
    pub fn waiting_for(&self) -> WaitingFor {
        match self.phase {
            Phase::Closed => WaitingFor::Closed,
            Phase::Initial => WaitingFor::Caller,
            Phase::AwaitTls | Phase::AwaitGss | Phase::Establishing => WaitingFor::Server,
            Phase::Authenticating if self.awaiting_password() => WaitingFor::Caller,
            Phase::Authenticating => WaitingFor::Server,
            Phase::Ready => match self.queue.head() {
                None => WaitingFor::Idle,
                Some(e) if matches!(e.progress, Progress::CopyIn) => WaitingFor::Caller,
                Some(_) => WaitingFor::Server,
            },
        }
    }

    fn awaiting_password(&self) -> bool {
        matches!(self.auth, Auth::CleartextAsked | Auth::Md5Asked { .. } | Auth::OAuthAsked)
            || (self.auth == Auth::Scram && self.scram.is_awaiting_password())
    }

    // ----- startup commands -----

    /// Queues an SSLRequest. Next: transmit, then feed the server's one-byte
    /// answer to [`handle_input`](Self::handle_input).
    pub fn request_tls(&mut self) -> Result<(), SessionError> {
        self.require_phase(Phase::Initial)?;
        if self.tls {
            return Err(SessionError::OutOfOrder);
        }
        self.out.push(&SslRequest)?;
        self.phase = Phase::AwaitTls;
        Ok(())
    }

    /// Queues a GSSENCRequest. Next: transmit, then feed the one-byte answer
    /// to [`handle_input`](Self::handle_input).
    pub fn request_gss_encryption(&mut self) -> Result<(), SessionError> {
        self.require_phase(Phase::Initial)?;
        if self.tls {
            return Err(SessionError::OutOfOrder);
        }
        self.out.push(&GssEncRequest)?;
        self.phase = Phase::AwaitGss;
        Ok(())
    }

    /// Records that the connection now runs over TLS (after
    /// [`Event::TlsAccepted`], or from the start with direct TLS), with the
    /// hash of the server certificate for `tls-server-end-point` channel
    /// binding (RFC 5929: SHA-256 for MD5/SHA-1 signed certificates,
    /// otherwise the signature's hash), if known. Next: [`start`](Self::start).
    pub fn tls_established(&mut self, server_cert_hash: Option<&[u8]>) -> Result<(), SessionError> {
        self.require_phase(Phase::Initial)?;
        let hash = match server_cert_hash {
            Some([]) => return Err(SessionError::Encode(crate::EncodeError::InvalidValue)),
            Some(h) => Some(Bytes::new(h).ok_or(SessionError::Encode(crate::EncodeError::TooLong))?),
            None => None,
        };
        self.tls = true;
        self.cert_hash = hash;
        Ok(())
    }

    /// Queues the StartupMessage with `params` (must include `user`; usually
    /// also `database`, `application_name`, `options`), asking for
    /// [`Config::protocol_version`]. `rng` draws the SCRAM client nonce
    /// now, so authentication needs no randomness later.
    /// Next: transmit and feed the server's answers to
    /// [`handle_input`](Self::handle_input).
    pub fn start<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        params: StartupParams<'_>,
        rng: &mut R,
    ) -> Result<(), SessionError> {
        self.require_phase(Phase::Initial)?;
        let user = params.get("user").ok_or(SessionError::Encode(crate::EncodeError::InvalidValue))?;
        let user = user.as_bytes();
        let user = Bytes::new(user.get(..MAX_USER_LEN).unwrap_or(user)).unwrap_or(Bytes::EMPTY);
        self.out.push(&StartupMessage { version: self.config.protocol_version, params })?;
        self.user = user;
        self.scram = ScramClient::new(rng);
        self.phase = Phase::Authenticating;
        Ok(())
    }

    /// Answers [`Event::PasswordRequired`]: sends the password (cleartext),
    /// its MD5 digest, or the SCRAM client-final message. Next: keep feeding
    /// input. On [`SessionError::OutputFull`] nothing changed: transmit and
    /// call again.
    pub fn provide_password(&mut self, password: &[u8]) -> Result<(), SessionError> {
        self.check_open()?;
        match self.auth {
            Auth::CleartextAsked => {
                self.out.push(&PasswordMessage { password })?;
            }
            Auth::Md5Asked { salt } => {
                let hashed = md5::client_response(self.user.get(), password, salt);
                self.out.push(&PasswordMessage { password: &hashed })?;
            }
            Auth::Scram if self.scram.is_awaiting_password() => {
                let cb =
                    if self.scram.uses_channel_binding() { self.cert_hash.as_ref().map(|h| h.get()) } else { None };
                // Work on a copy: nothing changes if the output is full.
                let mut next = self.scram.clone();
                let mut message = [0u8; 512];
                let len =
                    next.client_final(password, cb, &mut message).map_err(|e| SessionError::Auth(auth_error(e)))?;
                self.out.push(&SaslResponse { data: message.get(..len).unwrap_or_default() })?;
                self.scram = next;
                return Ok(());
            }
            _ => return Err(SessionError::OutOfOrder),
        }
        self.auth = Auth::PasswordSent;
        Ok(())
    }

    /// Answers [`Event::PasswordRequired`] with
    /// [`PasswordMethod::OAuthBearer`]: sends `token` (an OAuth access token
    /// from the server's issuer) as an OAUTHBEARER initial response. An empty
    /// token asks the server for its discovery document instead
    /// ([`Event::OAuthRejected`] follows). Next: keep feeding input. On
    /// [`SessionError::OutputFull`] nothing changed: transmit and call again.
    pub fn provide_bearer_token(&mut self, token: &str) -> Result<(), SessionError> {
        self.check_open()?;
        if self.auth != Auth::OAuthAsked {
            return Err(SessionError::OutOfOrder);
        }
        // RFC 6750's b64token alphabet: anything else would break the message.
        let (body, padding) = token.split_at(token.trim_end_matches('=').len());
        let valid = body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
        if !valid || (body.is_empty() && !padding.is_empty()) {
            return Err(SessionError::Encode(crate::EncodeError::InvalidValue));
        }
        self.out.push(&OAuthInitialResponse { token })?;
        self.auth = Auth::OAuthSent;
        Ok(())
    }

    /// Writes a CancelRequest for this session into `out` (to send on a NEW
    /// connection, which the server closes after reading it) and returns its
    /// length. Needs the key from BackendKeyData.
    pub fn cancel_request(&self, out: &mut [u8]) -> Result<usize, SessionError> {
        let (process_id, key) = self.key.as_ref().ok_or(SessionError::OutOfOrder)?;
        let msg = CancelRequest { process_id: *process_id, secret_key: key.get() };
        Ok(msg.encode(out)?)
    }

    // ----- request commands -----

    fn require_phase(&self, phase: Phase) -> Result<(), SessionError> {
        self.check_open()?;
        if self.phase != phase {
            return Err(SessionError::OutOfOrder);
        }
        Ok(())
    }

    fn check_open(&self) -> Result<(), SessionError> {
        if self.phase == Phase::Closed {
            return Err(SessionError::Closed);
        }
        Ok(())
    }

    /// Checks that a normal request may be queued: startup done, no COPY FROM
    /// STDIN waiting for data, room in the queue.
    fn check_request(&self, queued: bool) -> Result<(), SessionError> {
        self.require_phase(Phase::Ready)?;
        if self.in_client_copy() {
            return Err(SessionError::OutOfOrder);
        }
        if queued && self.queue.is_full() {
            return Err(SessionError::QueueFull);
        }
        Ok(())
    }

    fn in_client_copy(&self) -> bool {
        self.queue
            .head()
            .is_some_and(|e| matches!(e.progress, Progress::CopyIn | Progress::CopyBoth { client_done: false, .. }))
    }

    fn send<M: Encode>(&mut self, msg: &M, kind: Kind) -> Result<RequestId, SessionError> {
        self.check_request(true)?;
        self.out.push(msg)?;
        let id = self.next_id;
        // The queue has room: checked above.
        let _ = self.queue.push(Entry { id, kind, progress: Progress::Start, ignored: false });
        self.next_id = self.next_id.wrapping_add(1);
        Ok(RequestId(id))
    }

    /// Queues a simple Query (one or more `;`-separated statements). Answers:
    /// per statement RowDescription, DataRows, CommandComplete (or
    /// EmptyQuery, CopyIn/CopyOut, Error), then `Ready` for this request.
    pub fn send_query(&mut self, sql: &str) -> Result<RequestId, SessionError> {
        self.send(&Query { sql }, Kind::Query)
    }

    /// Queues a Parse of `query` as prepared statement `statement` (`""` =
    /// unnamed) with optional parameter type OIDs (0 = unspecified).
    /// Answer: ParseComplete (or Error). Follow with a Sync eventually.
    pub fn send_parse(&mut self, statement: &str, query: &str, param_types: &[Oid]) -> Result<RequestId, SessionError> {
        self.send(&Parse { statement, query, param_types: Oids::from_slice(param_types) }, Kind::Parse)
    }

    /// Queues a Bind of `statement` into `portal` (`""` = unnamed) with
    /// `params` (`None` = NULL) and their formats (empty = all text, one =
    /// all alike), and the result formats. Answer: BindComplete (or Error).
    pub fn send_bind(
        &mut self,
        portal: &str,
        statement: &str,
        param_formats: &[Format],
        params: &[Option<&[u8]>],
        result_formats: &[Format],
    ) -> Result<RequestId, SessionError> {
        let bind = Bind {
            portal,
            statement,
            param_formats: FormatCodes::from_slice(param_formats),
            params: Values::from_slice(params),
            result_formats: FormatCodes::from_slice(result_formats),
        };
        self.send(&bind, Kind::Bind)
    }

    /// Queues a Describe of a statement (answers: ParameterDescription, then
    /// RowDescription or NoData) or a portal (RowDescription or NoData).
    pub fn send_describe(&mut self, kind: TargetKind, name: &str) -> Result<RequestId, SessionError> {
        self.send(&Describe { kind, name }, Kind::Describe(kind))
    }

    /// Queues an Execute of `portal`, at most `max_rows` rows (0 = all).
    /// Answers: DataRows, then CommandComplete, EmptyQuery or PortalSuspended
    /// (or CopyIn/CopyOut, or Error).
    pub fn send_execute(&mut self, portal: &str, max_rows: i32) -> Result<RequestId, SessionError> {
        self.send(&Execute { portal, max_rows }, Kind::Execute)
    }

    /// Queues a Close of a statement or portal. Answer: CloseComplete.
    pub fn send_close(&mut self, kind: TargetKind, name: &str) -> Result<RequestId, SessionError> {
        self.send(&Close { kind, name }, Kind::Close)
    }

    /// Queues a Sync: ends the pipeline's implicit transaction step, and ends
    /// error skipping. Answer: `Ready` for this request.
    pub fn send_sync(&mut self) -> Result<RequestId, SessionError> {
        // Sync is allowed while the server skips after an error.
        self.send(&Sync, Kind::Sync)
    }

    /// Queues a Flush: asks the server to send what it has buffered. No answer
    /// of its own.
    pub fn send_flush(&mut self) -> Result<(), SessionError> {
        self.check_request(false)?;
        Ok(self.out.push(&Flush)?)
    }

    /// Queues a FunctionCall of function `function` with `args` (`None` =
    /// NULL) in `arg_formats`, asking for the result in `result_format`.
    /// Answers: FunctionResult (or Error), then `Ready`.
    pub fn send_function_call(
        &mut self,
        function: Oid,
        arg_formats: &[Format],
        args: &[Option<&[u8]>],
        result_format: Format,
    ) -> Result<RequestId, SessionError> {
        let call = FunctionCall {
            function,
            arg_formats: FormatCodes::from_slice(arg_formats),
            args: Values::from_slice(args),
            result_format,
        };
        self.send(&call, Kind::FunctionCall)
    }

    /// Sends COPY data after [`Event::CopyIn`] (or [`Event::CopyBoth`]).
    pub fn send_copy_data(&mut self, data: &[u8]) -> Result<(), SessionError> {
        self.check_open()?;
        if !self.in_client_copy() {
            return Err(SessionError::OutOfOrder);
        }
        Ok(self.out.push(&CopyData { data })?)
    }

    /// Ends COPY FROM STDIN successfully (or the client's half of CopyBoth).
    /// Answers: CommandComplete (or Error); for an Execute, send a Sync.
    pub fn send_copy_done(&mut self) -> Result<(), SessionError> {
        self.check_open()?;
        if !self.in_client_copy() {
            return Err(SessionError::OutOfOrder);
        }
        self.out.push(&CopyDone)?;
        self.client_copy_ended();
        Ok(())
    }

    /// Aborts COPY FROM STDIN with `message`; the server answers with an Error.
    pub fn send_copy_fail(&mut self, message: &str) -> Result<(), SessionError> {
        self.check_open()?;
        if !self.queue.head().is_some_and(|e| e.progress == Progress::CopyIn) {
            return Err(SessionError::OutOfOrder);
        }
        self.out.push(&CopyFail { message })?;
        self.client_copy_ended();
        Ok(())
    }

    fn client_copy_ended(&mut self) {
        if let Some(head) = self.queue.head_mut() {
            head.progress = match head.progress {
                Progress::CopyBoth { server_done: false, .. } => {
                    Progress::CopyBoth { server_done: false, client_done: true }
                }
                _ => Progress::AfterCopy,
            };
        }
    }

    /// Sends Terminate; the session is closed. Next: transmit the pending
    /// output, then close the socket.
    pub fn send_terminate(&mut self) -> Result<(), SessionError> {
        self.check_open()?;
        if matches!(self.phase, Phase::Initial | Phase::AwaitTls | Phase::AwaitGss) {
            // Nothing to terminate: just close.
            self.closed(CloseReason::Terminated);
            return Ok(());
        }
        self.out.push(&Terminate)?;
        self.closed(CloseReason::Terminated);
        Ok(())
    }

    /// Tells the machine the server closed the connection, with `unconsumed`
    /// input bytes left over. Returns why the session ended.
    pub fn handle_eof(&mut self, unconsumed: usize) -> CloseReason {
        if let Some(reason) = self.close {
            return reason;
        }
        let reason = if unconsumed > 0 { CloseReason::Truncated } else { CloseReason::PeerClosed };
        self.closed(reason);
        reason
    }

    fn closed(&mut self, reason: CloseReason) {
        self.phase = Phase::Closed;
        if self.close.is_none() {
            self.close = Some(reason);
        }
    }

    fn violation<T>(&mut self, err: SessionError) -> Result<T, SessionError> {
        self.closed(CloseReason::ProtocolError);
        Err(err)
    }

    fn unexpected<T>(&mut self, tag: u8) -> Result<T, SessionError> {
        self.violation(SessionError::UnexpectedMessage { tag })
    }

    // ----- input -----

    /// Reads at most one message from the front of `input`.
    ///
    /// Drop [`Input::consumed`] bytes from your buffer once you have handled
    /// [`Input::event`] (it borrows from `input`). No event and nothing
    /// consumed: read more bytes, or answer the pending
    /// [`Event::PasswordRequired`] first. Transmit pending output after every
    /// call. An error closes the session (except
    /// [`SessionError::OutputFull`]: transmit and call again with the same
    /// input).
    pub fn handle_input<'a>(&mut self, input: &'a [u8]) -> Result<Input<'a>, SessionError> {
        const NOTHING: Input<'static> = Input { consumed: 0, event: None, needed: 0 };
        // Ready first, tested alone (a compare, not a jump table): the one
        // phase of every query. The request at the head is read again after
        // decoding, not kept in registers across the decoder's calls.
        if self.phase == Phase::Ready {
            if let Some(event) = self.skipped_request() {
                return Ok(Input { consumed: 0, event: Some(event), needed: 0 });
            }
        } else {
            match self.phase {
                Phase::Closed => return Err(SessionError::Closed),
                Phase::AwaitTls | Phase::AwaitGss => return self.encryption_answer(input),
                Phase::Initial => {
                    return match input.first() {
                        None => Ok(NOTHING),
                        Some(&b) => self.unexpected(b),
                    };
                }
                Phase::Authenticating if self.awaiting_password() => return Ok(NOTHING),
                Phase::Authenticating | Phase::Establishing | Phase::Ready => {}
            }
        }
        let (raw, consumed) = match frame_message(input, &self.config.limits) {
            Ok(Framed::Complete { item, consumed }) => (item, consumed),
            Ok(Framed::Incomplete { needed }) => return Ok(Input { consumed: 0, event: None, needed }),
            Err(e) => return self.violation(SessionError::Decode(e)),
        };
        if self.phase == Phase::Ready {
            // Built in place: returned as is, the result is not copied either.
            return self.on_message(raw, consumed);
        }
        // Read where it was decoded, not moved: copying a message just
        // written field by field stalls on those stores.
        let decoded = BackendMessage::decode_validated(raw);
        let msg = match &decoded {
            Ok(m) => m,
            Err(e) => return self.violation(SessionError::Decode(*e)),
        };
        let event = match self.phase {
            Phase::Authenticating => self.on_auth_message(*msg, raw.tag)?,
            _ => self.on_establishing_message(*msg, raw.tag)?,
        };
        Ok(Input { consumed, event, needed: 0 })
    }

    /// The next request the server skips, reported without reading input.
    fn skipped_request(&mut self) -> Option<Event<'static>> {
        let head = self.queue.head()?;
        // Not started first: mid-answer, the usual case, decides at once.
        let skip = head.progress == Progress::Start && (head.ignored || (self.skipping && head.kind != Kind::Sync));
        if !skip {
            return None;
        }
        let e = self.queue.pop()?;
        Some(Event::Skipped { request: RequestId(e.id) })
    }

    fn encryption_answer<'a>(&mut self, input: &'a [u8]) -> Result<Input<'a>, SessionError> {
        let Some(&b) = input.first() else {
            return Ok(Input { consumed: 0, event: None, needed: 1 });
        };
        let event = match (self.phase, b) {
            (Phase::AwaitTls, b'S') => Event::TlsAccepted,
            (Phase::AwaitTls, b'N') => Event::TlsRefused,
            (Phase::AwaitGss, b'G') => Event::GssEncAccepted,
            (Phase::AwaitGss, b'N') => Event::GssEncRefused,
            _ => return self.unexpected(b),
        };
        // Bytes after an acceptance were sent before encryption began: a
        // man in the middle injecting them (CVE-2021-23222).
        if matches!(event, Event::TlsAccepted | Event::GssEncAccepted)
            && let Some(&extra) = input.get(1)
        {
            return self.unexpected(extra);
        }
        self.phase = Phase::Initial;
        Ok(Input { consumed: 1, event: Some(event), needed: 0 })
    }

    fn on_auth_message<'a>(&mut self, msg: BackendMessage<'a>, tag: u8) -> Result<Option<Event<'a>>, SessionError> {
        match msg {
            BackendMessage::NegotiateProtocolVersion(n) => {
                let requested = self.config.protocol_version;
                if self.negotiated || self.auth != Auth::None {
                    return self.unexpected(tag);
                }
                // PostgreSQL sends the whole version (major << 16 | minor);
                // a bare minor number is accepted too.
                let offered = match u32::try_from(n.newest_version) {
                    Ok(code) if code >> 16 == 0 => Some(ProtocolVersion { major: requested.major, minor: code as u16 }),
                    Ok(code) => Some(ProtocolVersion::from_code(code)),
                    Err(_) => None,
                };
                let acceptable = offered.filter(|v| {
                    v.major == requested.major
                        && (v.minor < requested.minor
                            || (v.minor == requested.minor && !n.unrecognized_options.is_empty()))
                });
                let Some(ProtocolVersion { minor, .. }) = acceptable else {
                    return self.violation(SessionError::Decode(crate::DecodeError::InvalidValue));
                };
                self.negotiated = true;
                self.version = ProtocolVersion { major: requested.major, minor };
                Ok(Some(Event::ProtocolNegotiated {
                    version: self.version,
                    unrecognized_options: n.unrecognized_options,
                }))
            }
            BackendMessage::Authentication(a) => self.on_authentication(a),
            BackendMessage::ErrorResponse(error) => {
                self.closed(CloseReason::ServerError);
                Ok(Some(Event::Error { request: None, error }))
            }
            BackendMessage::NoticeResponse(n) => Ok(Some(Event::Notice(n))),
            _ => self.unexpected(tag),
        }
    }

    fn auth_failed<T>(&mut self, e: AuthError) -> Result<T, SessionError> {
        self.violation(SessionError::Auth(e))
    }

    fn on_authentication<'a>(&mut self, a: Authentication<'a>) -> Result<Option<Event<'a>>, SessionError> {
        let require_cb = self.config.channel_binding == ChannelBinding::Require;
        match a {
            Authentication::Ok => {
                match self.auth {
                    Auth::Scram if !self.scram.is_finished() => return self.auth_failed(AuthError::IncompleteExchange),
                    Auth::OAuthAsked | Auth::OAuthRejected => return self.auth_failed(AuthError::IncompleteExchange),
                    _ => {}
                }
                if require_cb && !self.used_channel_binding {
                    return self.auth_failed(AuthError::ChannelBindingRequired);
                }
                self.phase = Phase::Establishing;
                Ok(Some(Event::Authenticated))
            }
            Authentication::CleartextPassword | Authentication::Md5Password { .. } if self.auth != Auth::None => {
                self.auth_failed(AuthError::IncompleteExchange)
            }
            Authentication::CleartextPassword | Authentication::Md5Password { .. } if require_cb => {
                self.auth_failed(AuthError::ChannelBindingRequired)
            }
            Authentication::CleartextPassword => {
                self.auth = Auth::CleartextAsked;
                Ok(Some(Event::PasswordRequired { method: PasswordMethod::Cleartext }))
            }
            Authentication::Md5Password { salt } => {
                self.auth = Auth::Md5Asked { salt };
                Ok(Some(Event::PasswordRequired { method: PasswordMethod::Md5 }))
            }
            Authentication::Sasl { mechanisms } => {
                if self.auth != Auth::None {
                    return self.auth_failed(AuthError::IncompleteExchange);
                }
                let mut plain = false;
                let mut plus = false;
                let mut oauth = false;
                for m in mechanisms.iter() {
                    match m {
                        SCRAM_SHA_256 => plain = true,
                        SCRAM_SHA_256_PLUS => plus = true,
                        OAUTHBEARER => oauth = true,
                        _ => {}
                    }
                }
                let can_bind = self.tls && self.cert_hash.is_some();
                let choice = match self.config.channel_binding {
                    ChannelBinding::Disable if plain => Some(ChannelBindingFlag::Unsupported),
                    ChannelBinding::Prefer if plus && can_bind => Some(ChannelBindingFlag::TlsServerEndPoint),
                    // "y": we could bind, the server did not offer it.
                    ChannelBinding::Prefer if plain && can_bind => Some(ChannelBindingFlag::ClientOnly),
                    ChannelBinding::Prefer if plain => Some(ChannelBindingFlag::Unsupported),
                    ChannelBinding::Require if plus && can_bind => Some(ChannelBindingFlag::TlsServerEndPoint),
                    ChannelBinding::Require => return self.auth_failed(AuthError::ChannelBindingRequired),
                    _ => None,
                };
                let Some(flag) = choice else {
                    if oauth {
                        self.auth = Auth::OAuthAsked;
                        return Ok(Some(Event::PasswordRequired { method: PasswordMethod::OAuthBearer }));
                    }
                    return self.auth_failed(AuthError::UnsupportedMethod(10));
                };
                // Work on a copy: nothing changes if the output is full.
                let mut next = self.scram.clone();
                let mut message = [0u8; 128];
                let len = match next.client_first("", flag, &mut message) {
                    Ok(len) => len,
                    Err(e) => return self.auth_failed(auth_error(e)),
                };
                let data = Some(message.get(..len).unwrap_or_default());
                self.out.push(&SaslInitialResponse { mechanism: next.mechanism(), data })?;
                self.scram = next;
                self.auth = Auth::Scram;
                self.used_channel_binding = flag == ChannelBindingFlag::TlsServerEndPoint;
                Ok(None)
            }
            Authentication::SaslContinue { data } if self.auth == Auth::OAuthSent => {
                // RFC 7628: the error document is acknowledged with one kvsep.
                let Ok(document) = core::str::from_utf8(data) else {
                    return self.auth_failed(AuthError::ScramFailed);
                };
                self.out.push(&SaslResponse { data: &[oauth::KVSEP] })?;
                self.auth = Auth::OAuthRejected;
                Ok(Some(Event::OAuthRejected { document }))
            }
            Authentication::SaslContinue { data } => {
                if self.auth != Auth::Scram {
                    return self.auth_failed(AuthError::IncompleteExchange);
                }
                if let Err(e) = self.scram.server_first(data, self.config.max_scram_iterations) {
                    return self.auth_failed(auth_error(e));
                }
                Ok(Some(Event::PasswordRequired {
                    method: PasswordMethod::ScramSha256 { channel_binding: self.scram.uses_channel_binding() },
                }))
            }
            Authentication::SaslFinal { data } => {
                if self.auth != Auth::Scram {
                    return self.auth_failed(AuthError::IncompleteExchange);
                }
                if let Err(e) = self.scram.server_final(data) {
                    return self.auth_failed(auth_error(e));
                }
                Ok(None)
            }
            other => self.auth_failed(AuthError::UnsupportedMethod(other.code())),
        }
    }

    fn on_establishing_message<'a>(
        &mut self,
        msg: BackendMessage<'a>,
        tag: u8,
    ) -> Result<Option<Event<'a>>, SessionError> {
        match msg {
            BackendMessage::BackendKeyData(k) => {
                if self.key.is_some() || (self.version == ProtocolVersion::V3_0 && k.secret_key.len() != 4) {
                    return self.unexpected(tag);
                }
                let key = match Bytes::new(k.secret_key) {
                    Some(key) => key,
                    None => return self.unexpected(tag),
                };
                self.key = Some((k.process_id, key));
                Ok(Some(Event::BackendKeyData { process_id: k.process_id, secret_key: k.secret_key }))
            }
            BackendMessage::ParameterStatus(p) => Ok(Some(Event::ParameterStatus(p))),
            BackendMessage::NoticeResponse(n) => Ok(Some(Event::Notice(n))),
            BackendMessage::ReadyForQuery(z) => {
                self.phase = Phase::Ready;
                self.status = Some(z.status);
                Ok(Some(Event::Ready { request: None, status: z.status }))
            }
            BackendMessage::ErrorResponse(error) => {
                self.closed(CloseReason::ServerError);
                Ok(Some(Event::Error { request: None, error }))
            }
            _ => self.unexpected(tag),
        }
    }

    fn on_error<'a>(&mut self, error: ErrorResponse<'a>) -> Result<Option<Event<'a>>, SessionError> {
        let fatal = matches!(error.severity_kind(), Some(Severity::Fatal | Severity::Panic));
        let head = self.queue.head_mut().map(|e| {
            let was = *e;
            if e.kind.ends_with_ready() {
                e.progress = Progress::Failed;
            }
            was
        });
        let request = head.map(|e| RequestId(e.id));
        if fatal {
            self.closed(CloseReason::ServerError);
            return Ok(Some(Event::Error { request, error }));
        }
        let Some(head) = head else {
            return self.unexpected(ErrorResponse::TAG);
        };
        if head.progress == Progress::Failed || head.progress == Progress::Done {
            // A second error, or one after FunctionCallResponse.
            return self.unexpected(ErrorResponse::TAG);
        }
        if !head.kind.ends_with_ready() {
            let _ = self.queue.pop();
            self.skipping = true;
        }
        Ok(Some(Event::Error { request, error }))
    }

    /// A message after startup. The hot ones are told apart by their type
    /// byte and decoded as that type alone; the rest go through
    /// [`on_other_message`](Self::on_other_message). Each (request, progress,
    /// message) transition lives in one of the two.
    fn on_message<'a>(&mut self, raw: RawMessage<'a>, consumed: usize) -> Result<Input<'a>, SessionError> {
        let tag = raw.tag;
        // Decoded before the state is checked: a malformed message is a
        // decode error whether it was expected or not.
        let (event, next) = match tag {
            DataRow::TAG => {
                let row = self.decoded(DataRow::decode_body(raw.body).and_then(DataRow::checked))?;
                match self.queue.head().copied() {
                    Some(
                        h @ (Entry { kind: Kind::Query, progress: Progress::Rows, .. }
                        | Entry { kind: Kind::Execute, progress: Progress::Start, .. }),
                    ) => (Event::DataRow { request: RequestId(h.id), row }, Next::Keep),
                    _ => return self.unexpected(tag),
                }
            }
            CommandComplete::TAG => {
                let complete = self.decoded(CommandComplete::decode_body(raw.body))?;
                let (request, next) = match self.queue.head().copied() {
                    Some(Entry {
                        id,
                        kind: Kind::Query,
                        progress: Progress::Start | Progress::Rows | Progress::AfterCopy,
                        ..
                    }) => (id, Next::Progress(Progress::Start)),
                    Some(Entry {
                        id, kind: Kind::Execute, progress: Progress::Start | Progress::AfterCopy, ..
                    }) => (id, Next::Pop),
                    _ => return self.unexpected(tag),
                };
                (Event::CommandComplete { request: RequestId(request), complete }, next)
            }
            ReadyForQuery::TAG => {
                let z = self.decoded(ReadyForQuery::decode_body(raw.body))?;
                let Some(h) = self.queue.head().copied().filter(|h| {
                    h.kind.ends_with_ready()
                        && matches!(h.progress, Progress::Start | Progress::Failed | Progress::Done)
                        && !(h.kind == Kind::FunctionCall && h.progress == Progress::Start)
                }) else {
                    return self.unexpected(tag);
                };
                self.status = Some(z.status);
                if h.kind == Kind::Sync {
                    self.skipping = false;
                }
                (Event::Ready { request: Some(RequestId(h.id)), status: z.status }, Next::Pop)
            }
            RowDescription::TAG => {
                let description =
                    self.decoded(RowDescription::decode_body(raw.body).and_then(RowDescription::checked))?;
                let (request, next) = match self.queue.head().copied() {
                    Some(Entry { id, kind: Kind::Describe(k), progress: p, .. })
                        if p == Progress::GotParams || (k == TargetKind::Portal && p == Progress::Start) =>
                    {
                        (id, Next::Pop)
                    }
                    Some(Entry { id, kind: Kind::Query, progress: Progress::Start, .. }) => {
                        (id, Next::Progress(Progress::Rows))
                    }
                    _ => return self.unexpected(tag),
                };
                (Event::RowDescription { request: RequestId(request), description }, next)
            }
            ParseComplete::TAG => {
                self.decoded(ParseComplete::decode_body(raw.body))?;
                match self.queue.head().copied() {
                    Some(Entry { id, kind: Kind::Parse, progress: Progress::Start, .. }) => {
                        (Event::ParseComplete { request: RequestId(id) }, Next::Pop)
                    }
                    _ => return self.unexpected(tag),
                }
            }
            BindComplete::TAG => {
                self.decoded(BindComplete::decode_body(raw.body))?;
                match self.queue.head().copied() {
                    Some(Entry { id, kind: Kind::Bind, progress: Progress::Start, .. }) => {
                        (Event::BindComplete { request: RequestId(id) }, Next::Pop)
                    }
                    _ => return self.unexpected(tag),
                }
            }
            _ => return self.on_other_message(raw, consumed),
        };
        self.advance(next);
        Ok(Input { consumed, event: Some(event), needed: 0 })
    }

    /// A decoded message, or the session closed for a malformed one.
    fn decoded<T>(&mut self, decoded: Result<T, crate::DecodeError>) -> Result<T, SessionError> {
        match decoded {
            Ok(m) => Ok(m),
            Err(e) => self.violation(SessionError::Decode(e)),
        }
    }

    /// Moves the request at the head on.
    fn advance(&mut self, next: Next) {
        match next {
            Next::Pop => {
                let _ = self.queue.pop();
            }
            Next::Keep => {}
            Next::Progress(p) => {
                if let Some(h) = self.queue.head_mut() {
                    h.progress = p;
                }
            }
        }
    }

    /// The messages [`on_message`](Self::on_message) does not take itself.
    fn on_other_message<'a>(&mut self, raw: RawMessage<'a>, consumed: usize) -> Result<Input<'a>, SessionError> {
        let tag = raw.tag;
        // Read where it was decoded, not moved: copying a message just
        // written field by field stalls on those stores.
        let decoded = BackendMessage::decode_validated(raw);
        let msg = match &decoded {
            Ok(m) => *m,
            Err(e) => return self.violation(SessionError::Decode(*e)),
        };
        let input = |event| Ok(Input { consumed, event: Some(event), needed: 0 });
        match msg {
            BackendMessage::NoticeResponse(n) => return input(Event::Notice(n)),
            BackendMessage::NotificationResponse(n) => return input(Event::Notification(n)),
            BackendMessage::ParameterStatus(p) => return input(Event::ParameterStatus(p)),
            BackendMessage::ErrorResponse(e) => {
                return self.on_error(e).map(|event| Input { consumed, event, needed: 0 });
            }
            _ => {}
        }
        let Some(&head) = self.queue.head() else {
            return self.unexpected(tag);
        };
        let request = RequestId(head.id);
        let progress = head.progress;
        let (event, next) = match (head.kind, progress, msg) {
            (Kind::Close, Progress::Start, BackendMessage::CloseComplete(_)) => {
                (Event::CloseComplete { request }, Next::Pop)
            }
            (Kind::Describe(TargetKind::Statement), Progress::Start, BackendMessage::ParameterDescription(d)) => {
                (Event::ParameterDescription { request, description: d }, Next::Progress(Progress::GotParams))
            }
            (Kind::Describe(k), p, BackendMessage::NoData(_))
                if p == Progress::GotParams || (k == TargetKind::Portal && p == Progress::Start) =>
            {
                (Event::NoData { request }, Next::Pop)
            }
            (Kind::Query, Progress::Start, BackendMessage::EmptyQueryResponse(_)) => {
                (Event::EmptyQuery { request }, Next::Progress(Progress::Start))
            }
            (Kind::Execute, Progress::Start, BackendMessage::EmptyQueryResponse(_)) => {
                (Event::EmptyQuery { request }, Next::Pop)
            }
            (Kind::Execute, Progress::Start, BackendMessage::PortalSuspended(_)) => {
                (Event::PortalSuspended { request }, Next::Pop)
            }
            (Kind::Query | Kind::Execute, Progress::Start, BackendMessage::CopyInResponse(response)) => {
                self.queue.ignore_queued_syncs();
                (Event::CopyIn { request, response }, Next::Progress(Progress::CopyIn))
            }
            (Kind::Query | Kind::Execute, Progress::Start, BackendMessage::CopyOutResponse(response)) => {
                (Event::CopyOut { request, response }, Next::Progress(Progress::CopyOut))
            }
            (Kind::Query | Kind::Execute, Progress::Start, BackendMessage::CopyBothResponse(response)) => {
                self.queue.ignore_queued_syncs();
                let both = Progress::CopyBoth { server_done: false, client_done: false };
                (Event::CopyBoth { request, response }, Next::Progress(both))
            }
            (_, Progress::CopyOut | Progress::CopyBoth { server_done: false, .. }, BackendMessage::CopyData(d)) => {
                (Event::CopyData { request, data: d.data }, Next::Keep)
            }
            (_, Progress::CopyOut, BackendMessage::CopyDone(_)) => {
                (Event::CopyDone { request }, Next::Progress(Progress::AfterCopy))
            }
            (_, Progress::CopyBoth { server_done: false, client_done }, BackendMessage::CopyDone(_)) => {
                let next = if client_done {
                    Progress::AfterCopy
                } else {
                    Progress::CopyBoth { server_done: true, client_done }
                };
                (Event::CopyDone { request }, Next::Progress(next))
            }
            (Kind::FunctionCall, Progress::Start, BackendMessage::FunctionCallResponse(r)) => {
                (Event::FunctionResult { request, result: r.result }, Next::Progress(Progress::Done))
            }
            _ => return self.unexpected(tag),
        };
        self.advance(next);
        input(event)
    }
}

/// The client-side [`AuthError`] for a failed SCRAM step.
fn auth_error(e: SaslError) -> AuthError {
    match e {
        SaslError::TooManyIterations(n) => AuthError::TooManyIterations(n),
        SaslError::OutOfOrder => AuthError::IncompleteExchange,
        SaslError::ChannelBindingNegotiation => AuthError::ChannelBindingRequired,
        _ => AuthError::ScramFailed,
    }
}

/// SASLInitialResponse for OAUTHBEARER, written straight from the token so
/// that long tokens need no intermediate buffer.
struct OAuthInitialResponse<'a> {
    token: &'a str,
}

impl OAuthInitialResponse<'_> {
    const DISCOVERY_PREFIX: &'static [u8] = b"n,,\x01auth=";
    const PREFIX: &'static [u8] = b"n,,\x01auth=Bearer ";
    const SUFFIX: &'static [u8] = b"\x01\x01";
}

impl Encode for OAuthInitialResponse<'_> {
    fn tag(&self) -> Option<u8> {
        Some(b'p')
    }

    fn write_body<S: crate::write::Sink>(&self, sink: &mut S) -> Result<(), crate::EncodeError> {
        sink.put_cstr(OAUTHBEARER.as_bytes())?;
        // An empty token is a discovery request: `auth=` with no value.
        let prefix = if self.token.is_empty() { Self::DISCOVERY_PREFIX } else { Self::PREFIX };
        let len = prefix.len() + self.token.len() + Self::SUFFIX.len();
        sink.put_i32(i32::try_from(len).map_err(|_| crate::EncodeError::TooLong)?);
        sink.put_slice(prefix);
        sink.put_slice(self.token.as_bytes());
        sink.put_slice(Self::SUFFIX);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
