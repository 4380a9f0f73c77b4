//! What [`Frontend::handle_input`](super::Frontend::handle_input) returns.

use crate::backend::{
    CommandComplete, CopyBothResponse, CopyInResponse, CopyOutResponse, DataRow, ErrorResponse, List, NoticeResponse,
    NotificationResponse, ParameterDescription, ParameterStatus, RowDescription, TransactionStatus,
};
use crate::frontend::ProtocolVersion;

/// Identifies one request the client queued (`send_query`, `send_parse`, …,
/// `send_sync`): every response event carries the id of the request it answers.
///
/// Ids count up from 0 in the order requests were sent, one per request that
/// gets an answer (Flush and Terminate get none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RequestId(pub u64);

/// The result of one [`handle_input`](super::Frontend::handle_input) call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use = "drop `consumed` bytes from the input and handle the event"]
pub struct Input<'a> {
    /// Bytes taken from the front of the input: drop them once the event
    /// (which may borrow them) has been handled.
    pub consumed: usize,
    /// What happened, if anything. `None` with `consumed == 0` means: read
    /// more bytes (at least [`Input::needed`]), or answer the pending event
    /// first (see [`waiting_for`](super::Frontend::waiting_for)).
    pub event: Option<Event<'a>>,
    /// When no message is complete: the least number of further bytes worth
    /// reading before calling again; 0 otherwise.
    pub needed: usize,
}

/// Which password-based method the server asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PasswordMethod {
    /// AuthenticationCleartextPassword: the password goes to the server as is
    /// (only sensible over TLS).
    Cleartext,
    /// AuthenticationMD5Password.
    Md5,
    /// SCRAM-SHA-256; `channel_binding` says whether the `-PLUS` variant
    /// (tls-server-end-point) is in use.
    ScramSha256 {
        /// Whether the exchange binds to the TLS channel.
        channel_binding: bool,
    },
    /// OAUTHBEARER (PostgreSQL 18 `oauth`): answer with
    /// [`provide_bearer_token`](super::Frontend::provide_bearer_token), not a
    /// password.
    OAuthBearer,
}

/// Something the server said. Every variant says what the caller must do next.
///
/// After every [`handle_input`](super::Frontend::handle_input) call, also
/// transmit [`pending_output`](super::Frontend::pending_output): the machine
/// answers some messages itself (SASL steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event<'a> {
    /// The server accepted the SSLRequest. Do the TLS handshake on the
    /// socket, call [`tls_established`](super::Frontend::tls_established)
    /// with the server certificate's hash (for channel binding), then
    /// [`start`](super::Frontend::start) over TLS.
    TlsAccepted,
    /// The server refused TLS. Call [`start`](super::Frontend::start) in
    /// clear text, or close the socket if TLS is required.
    TlsRefused,
    /// The server accepted the GSSENCRequest. Set up GSSAPI encryption on the
    /// socket, then call [`start`](super::Frontend::start).
    GssEncAccepted,
    /// The server refused GSSAPI encryption. Call
    /// [`request_tls`](super::Frontend::request_tls) or
    /// [`start`](super::Frontend::start), or close.
    GssEncRefused,
    /// The server speaks an older minor version than requested (or ignored
    /// some `_pq_.` options); the session continues with `version`, also
    /// reported by [`protocol_version`](super::Frontend::protocol_version).
    /// Nothing to do.
    ProtocolNegotiated {
        /// The version in use from now on.
        version: ProtocolVersion,
        /// `_pq_.` options the server did not recognize.
        unrecognized_options: List<'a, &'a str>,
    },
    /// The server wants the password. Call
    /// [`provide_password`](super::Frontend::provide_password); no further
    /// input is handled until then.
    PasswordRequired {
        /// How it will be used.
        method: PasswordMethod,
    },
    /// The server refused the bearer token, or answered a discovery request
    /// (an empty token): `document` is its JSON error (`status`,
    /// `openid-configuration`, `scope`). The machine has acknowledged it; the
    /// server's FATAL error follows. To log in, get a token from that issuer
    /// with that scope and connect again.
    OAuthRejected {
        /// The JSON error document (RFC 7628 section 3.2.2).
        document: &'a str,
    },
    /// AuthenticationOk: the server accepted the credentials. Keep reading:
    /// parameter statuses, the cancel key and ReadyForQuery follow.
    Authenticated,
    /// BackendKeyData: the key for [`cancel_request`](super::Frontend::cancel_request),
    /// also kept by the machine. Nothing to do.
    BackendKeyData {
        /// The backend's process id.
        process_id: i32,
        /// The secret key (4 bytes in 3.0, up to 256 in 3.2).
        secret_key: &'a [u8],
    },
    /// ParameterStatus: a run-time parameter's current value (at startup,
    /// and whenever it changes). Nothing to do.
    ParameterStatus(ParameterStatus<'a>),
    /// NoticeResponse: a warning or informational message. Nothing to do.
    Notice(NoticeResponse<'a>),
    /// NotificationResponse: a NOTIFY on a channel this session LISTENs to.
    /// Nothing to do.
    Notification(NotificationResponse<'a>),
    /// ReadyForQuery. `request` is the Sync, simple Query or FunctionCall it
    /// completes, `None` at the end of startup. The session is idle when no
    /// more requests are pending; send the next ones.
    Ready {
        /// The request this ends.
        request: Option<RequestId>,
        /// The transaction state.
        status: TransactionStatus,
    },
    /// ParseComplete for a Parse. Nothing to do.
    ParseComplete {
        /// The Parse.
        request: RequestId,
    },
    /// BindComplete for a Bind. Nothing to do.
    BindComplete {
        /// The Bind.
        request: RequestId,
    },
    /// CloseComplete for a Close. Nothing to do.
    CloseComplete {
        /// The Close.
        request: RequestId,
    },
    /// ParameterDescription for a Describe of a statement; its
    /// RowDescription or NoData follows.
    ParameterDescription {
        /// The Describe.
        request: RequestId,
        /// The parameter types.
        description: ParameterDescription<'a>,
    },
    /// RowDescription: for a Describe (which it completes), or at the start
    /// of a row-returning statement in a simple Query. Rows follow.
    RowDescription {
        /// The Describe or Query.
        request: RequestId,
        /// The columns, checked by the machine: iterating them yields no `Err`.
        description: RowDescription<'a>,
    },
    /// NoData: the described statement or portal returns no rows; completes
    /// the Describe.
    NoData {
        /// The Describe.
        request: RequestId,
    },
    /// One row of an Execute or a simple Query.
    DataRow {
        /// The Execute or Query.
        request: RequestId,
        /// The cells, borrowed from the input. The machine checked them all
        /// (a malformed row is a [`SessionError`](crate::session::SessionError)),
        /// so iterating them yields no `Err`.
        row: DataRow<'a>,
    },
    /// CommandComplete: a statement finished. Completes an Execute; in a
    /// simple Query, more statements may follow until `Ready`.
    CommandComplete {
        /// The Execute or Query.
        request: RequestId,
        /// The command tag.
        complete: CommandComplete<'a>,
    },
    /// EmptyQueryResponse: the query string was empty. Completes an Execute.
    EmptyQuery {
        /// The Execute or Query.
        request: RequestId,
    },
    /// PortalSuspended: the Execute's row limit was reached; Execute the
    /// portal again for more. Completes the Execute.
    PortalSuspended {
        /// The Execute.
        request: RequestId,
    },
    /// ErrorResponse. In the extended protocol it completes `request`, and the
    /// server skips every request up to the next Sync (each reported as
    /// [`Event::Skipped`]); in a simple Query or FunctionCall, `Ready` follows.
    /// `request` is `None` during startup (the session is then closed) and for
    /// a FATAL error outside any request. After a FATAL or PANIC error the
    /// session is closed: close the socket.
    Error {
        /// The request that failed.
        request: Option<RequestId>,
        /// The error, borrowed from the input.
        error: ErrorResponse<'a>,
    },
    /// The server skipped this request because an earlier one in the same
    /// pipeline failed (or, for a Sync sent before COPY FROM STDIN data,
    /// because the server ignores Sync during COPY). Fail it; send a Sync if
    /// none is pending.
    Skipped {
        /// The skipped request.
        request: RequestId,
    },
    /// CopyInResponse: the server waits for COPY data. Call
    /// [`send_copy_data`](super::Frontend::send_copy_data) any number of times,
    /// then [`send_copy_done`](super::Frontend::send_copy_done) or
    /// [`send_copy_fail`](super::Frontend::send_copy_fail). For an Execute,
    /// also send a Sync afterwards.
    CopyIn {
        /// The Execute or Query.
        request: RequestId,
        /// The formats.
        response: CopyInResponse<'a>,
    },
    /// CopyOutResponse: CopyData events follow, then CopyDone, then
    /// CommandComplete. Nothing to do.
    CopyOut {
        /// The Execute or Query.
        request: RequestId,
        /// The formats.
        response: CopyOutResponse<'a>,
    },
    /// CopyBothResponse (replication): data flows both ways; send with
    /// [`send_copy_data`](super::Frontend::send_copy_data), end with
    /// [`send_copy_done`](super::Frontend::send_copy_done).
    CopyBoth {
        /// The Execute or Query.
        request: RequestId,
        /// The formats.
        response: CopyBothResponse<'a>,
    },
    /// CopyData from the server during COPY TO STDOUT (or CopyBoth).
    CopyData {
        /// The Execute or Query.
        request: RequestId,
        /// The bytes, borrowed from the input.
        data: &'a [u8],
    },
    /// CopyDone from the server: no more CopyData; CommandComplete follows.
    CopyDone {
        /// The Execute or Query.
        request: RequestId,
    },
    /// FunctionCallResponse: the function's result (`None` for NULL);
    /// `Ready` follows.
    FunctionResult {
        /// The FunctionCall.
        request: RequestId,
        /// The result value.
        result: Option<&'a [u8]>,
    },
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent Terminate.
    Terminated,
    /// The server sent an error that ends the session (a startup error, or
    /// FATAL/PANIC).
    ServerError,
    /// The server broke the protocol or authentication failed; the
    /// [`SessionError`](crate::session::SessionError) said how.
    ProtocolError,
    /// The server closed the connection between messages without an error.
    PeerClosed,
    /// The server closed the connection in the middle of a message.
    Truncated,
}

/// What the session waits for, so the driver can apply timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WaitingFor {
    /// The caller must act: call `start`, answer `PasswordRequired`, or send
    /// COPY data.
    Caller,
    /// Answers from the server are due.
    Server,
    /// Nothing is pending: the session is idle (notifications may still come).
    Idle,
    /// The session is over.
    Closed,
}
