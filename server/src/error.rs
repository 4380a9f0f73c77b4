//! Errors: what handlers report to clients, and why a connection ended.

use std::fmt;

use postwire_codec::SqlState;
use postwire_codec::backend::{Decimal, ErrorFields, Severity};
use postwire_codec::session::SessionError;

/// An error to report to the client as an ErrorResponse: the SQLSTATE, the
/// message, and optional detail, hint and position.
///
/// Handlers return it to fail the current statement (severity ERROR, the
/// session goes on) or, built with [`PgError::fatal`], to end the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgError {
    /// ERROR (the statement fails) or FATAL (the session ends).
    pub severity: Severity,
    /// The SQLSTATE, e.g. [`SqlState::SYNTAX_ERROR`].
    pub code: SqlState,
    /// The primary message.
    pub message: String,
    /// An optional detail line.
    pub detail: Option<String>,
    /// An optional hint.
    pub hint: Option<String>,
    /// A 1-based character position in the query text.
    pub position: Option<u32>,
}

impl PgError {
    /// An ERROR with `code` and `message`.
    pub fn new(code: SqlState, message: impl Into<String>) -> Self {
        PgError { severity: Severity::Error, code, message: message.into(), detail: None, hint: None, position: None }
    }

    /// A FATAL error: the session ends after it is sent.
    pub fn fatal(code: SqlState, message: impl Into<String>) -> Self {
        PgError { severity: Severity::Fatal, ..PgError::new(code, message) }
    }

    /// 0A000 `<what> is not supported`.
    pub fn not_supported(what: &str) -> Self {
        PgError::new(SqlState::FEATURE_NOT_SUPPORTED, format!("{what} is not supported"))
    }

    /// 57014 `canceling statement due to user request`, as PostgreSQL reports a
    /// cancelled query.
    pub fn query_canceled() -> Self {
        PgError::new(SqlState::QUERY_CANCELED, "canceling statement due to user request")
    }

    /// Adds a detail line.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds the 1-based character position of the error in the query.
    pub fn with_position(mut self, position: u32) -> Self {
        self.position = Some(position);
        self
    }

    /// Whether the session ends with this error.
    pub fn is_fatal(&self) -> bool {
        matches!(self.severity, Severity::Fatal | Severity::Panic)
    }

    /// The position as wire text, to pass to [`fields`](Self::fields).
    pub(crate) fn position_text(&self) -> Option<Decimal> {
        self.position.map(Decimal::new)
    }

    /// The wire fields of this error.
    pub(crate) fn fields<'a>(&'a self, position: Option<&'a Decimal>) -> ErrorFields<'a> {
        ErrorFields {
            detail: self.detail.as_deref(),
            hint: self.hint.as_deref(),
            position: position.map(Decimal::as_str),
            ..ErrorFields::new(self.severity, self.code, &self.message)
        }
    }
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.severity.as_str(), self.message, self.code.code())
    }
}

impl std::error::Error for PgError {}

/// Why a connection's task ended abnormally. A client that says Terminate, or
/// closes between messages, ends it normally (`Ok`).
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectionError {
    /// Reading from or writing to the client failed.
    Io(std::io::Error),
    /// The TLS handshake failed.
    Tls(std::io::Error),
    /// The state machine refused a call: a handler answered out of order
    /// (a bug in the handler or the driver), or a message could not be encoded.
    Session(SessionError),
    /// A single message needs more output buffer than the configured maximum.
    MessageTooLarge {
        /// Bytes the message needs.
        needed: usize,
    },
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::Io(e) => write!(f, "i/o error: {e}"),
            ConnectionError::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            ConnectionError::Session(e) => write!(f, "protocol state error: {e}"),
            ConnectionError::MessageTooLarge { needed } => {
                write!(f, "a message of {needed} bytes exceeds the output buffer limit")
            }
        }
    }
}

impl std::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectionError::Io(e) | ConnectionError::Tls(e) => Some(e),
            ConnectionError::Session(e) => Some(e),
            ConnectionError::MessageTooLarge { .. } => None,
        }
    }
}

impl From<std::io::Error> for ConnectionError {
    fn from(e: std::io::Error) -> Self {
        ConnectionError::Io(e)
    }
}

impl From<SessionError> for ConnectionError {
    fn from(e: SessionError) -> Self {
        ConnectionError::Session(e)
    }
}
