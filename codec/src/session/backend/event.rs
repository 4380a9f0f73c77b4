//! What the backend machine reports to its driver.

use crate::{
    frontend::{Bind, FunctionCall, Oids, ProtocolVersion, StartupParams},
    session::CloseReason,
};

/// A prepared statement's slot in the machine's table. Drivers may index their
/// own per-statement data by [`StatementId::index`]: a slot is reused only
/// after the statement is closed or replaced (a new Parse of the same name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StatementId(pub(crate) u16);

/// A portal's slot in the machine's table. Portals end with their transaction:
/// after a `ready_for_query` that reports Idle, every slot is free again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PortalId(pub(crate) u16);

impl StatementId {
    /// The slot number, below the machine's statement capacity.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl PortalId {
    /// The slot number, below the machine's portal capacity.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a Close message closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ClosedTarget {
    /// A prepared statement; its slot is free.
    Statement(StatementId),
    /// A portal; its slot is free.
    Portal(PortalId),
}

/// The result of one [`Backend::handle_input`](super::Backend::handle_input) call.
#[derive(Debug, Clone, Copy, PartialEq)]
#[must_use = "drop `consumed` bytes from the input and handle the event"]
pub struct Input<'a> {
    /// Input bytes the machine is done with. Drop them from the front of the
    /// buffer after handling `event` (it borrows from them).
    pub consumed: usize,
    /// What happened, if anything. `None`: read more input (at least
    /// `needed` bytes) — or, if a reply is due, answer it first.
    pub event: Option<Event<'a>>,
    /// With no event: the fewest further bytes that can make progress (0 when
    /// the machine is waiting for the driver, not for input).
    pub needed: usize,
}

/// Something the driver must act on. Each variant says what to do next; the
/// machine returns no further event until the current one is answered.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event<'a> {
    /// The client asked for TLS (SSLRequest). Call `accept_tls` (then transmit
    /// the `S`, run the TLS handshake, and feed decrypted bytes from then on) or
    /// `decline_tls`.
    TlsRequested,
    /// The connection opened with a TLS ClientHello (PostgreSQL 17 direct
    /// TLS). Nothing was consumed: hand the buffered bytes to the TLS server
    /// (ALPN `postgresql`), then call `tls_established` and feed decrypted
    /// bytes. Without TLS, close the connection.
    DirectTls,
    /// A CancelRequest. Cancel the query of the matching session, if the key
    /// matches; then close this connection. The session is over.
    CancelRequest {
        /// The target backend's process id.
        process_id: i32,
        /// The target's secret key (4 bytes in 3.0, up to 256 in 3.2).
        secret_key: &'a [u8],
    },
    /// A valid StartupMessage. Choose how this user authenticates and call
    /// `authenticate` (or `reject`).
    Startup {
        /// The protocol version the session will speak (3.0 or 3.2; a
        /// NegotiateProtocolVersion was queued if the client asked for more).
        version: ProtocolVersion,
        /// The user name.
        user: &'a str,
        /// The database (the user name when the client named none).
        database: &'a str,
        /// Every startup parameter, `_pq_.` options included.
        params: StartupParams<'a>,
    },
    /// A cleartext password arrived. Check it and call `password_verified`.
    PasswordReceived {
        /// The password, as the client sent it (its NUL stripped).
        password: &'a [u8],
    },
    /// An OAUTHBEARER token arrived (the validator callback). Check it (its
    /// signature or introspection, issuer, audience, expiry, scope) and that
    /// it authorizes the startup user, then call `oauth_verified`.
    OAuthToken {
        /// The bearer token, already checked to be RFC 6750 `b64token` text.
        token: &'a str,
    },
    /// The client has authenticated. Call `accept` (which sends the
    /// parameters, key data and first ReadyForQuery) or `reject`.
    Authenticated,
    /// A simple Query. Answer each statement (RowDescription, rows,
    /// CommandComplete; or EmptyQueryResponse; or COPY; an error ends the
    /// batch), then call `ready_for_query`.
    Query {
        /// The SQL text: any number of statements.
        sql: &'a str,
    },
    /// Parse. Prepare the statement, then call `parse_complete` with its
    /// parameter count, or `error`.
    Parse {
        /// Its slot (replacing any unnamed statement).
        statement: StatementId,
        /// Its name; empty for the unnamed statement.
        name: &'a str,
        /// The SQL text.
        query: &'a str,
        /// Parameter types the client declared (0: unspecified).
        param_types: Oids<'a>,
    },
    /// Bind. Create the portal, then call `bind_complete` or `error`. The
    /// parameter count was already checked against the statement.
    Bind {
        /// The new portal's slot.
        portal: PortalId,
        /// The statement it runs.
        statement: StatementId,
        /// The message: portal and statement names, parameters, formats.
        bind: Bind<'a>,
    },
    /// Describe of a statement. Call `parameter_description`, then
    /// `row_description` or `no_data`; or `error`.
    DescribeStatement {
        /// The statement.
        statement: StatementId,
    },
    /// Describe of a portal. Call `row_description` or `no_data`, or `error`.
    DescribePortal {
        /// The portal.
        portal: PortalId,
    },
    /// Execute. Send rows (`data_row`), then `command_complete`, or
    /// `portal_suspended` once `max_rows` rows are out and more remain, or
    /// `empty_query`, or `error`; or start a COPY.
    Execute {
        /// The portal.
        portal: PortalId,
        /// The row limit; 0 means all.
        max_rows: i32,
    },
    /// A statement or portal was closed; CloseComplete is already queued.
    /// Free what the driver kept for it. Nothing to answer.
    Closed {
        /// What was closed.
        target: ClosedTarget,
    },
    /// Sync: the end of an extended-query batch. Commit or roll back an
    /// implicit transaction, set the status, then call `ready_for_query`.
    Sync {
        /// Whether an error occurred since the last Sync (the machine skipped
        /// the messages in between).
        after_error: bool,
    },
    /// Flush: transmit everything pending now. Nothing to answer.
    Flush,
    /// A FunctionCall. Call `function_call_response` or `error`, then
    /// `ready_for_query`.
    FunctionCall {
        /// The call.
        call: FunctionCall<'a>,
    },
    /// COPY data from the client. Nothing to answer.
    CopyData {
        /// The bytes; chunk boundaries mean nothing.
        data: &'a [u8],
    },
    /// The client finished its COPY data. Call `command_complete` (then, for a
    /// simple Query, carry on with the batch and call `ready_for_query`).
    CopyDone,
    /// The copy-in ended with an error, already queued (57014 when the
    /// client sent CopyFail, 08P01 for an unexpected message). Discard what
    /// was copied. For a simple Query, call `ready_for_query`; after Execute,
    /// nothing (the machine skips to the Sync).
    CopyAborted {
        /// The client's CopyFail message; `None` when the copy was aborted
        /// for an unexpected message.
        client_message: Option<&'a str>,
    },
    /// The session is over: the client said Terminate, broke the protocol, or
    /// failed to authenticate (a FATAL error is then queued). Transmit what is
    /// pending, then close the connection.
    Ended {
        /// Why.
        reason: CloseReason,
    },
}
