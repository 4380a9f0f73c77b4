//! What can go wrong, with the server's error fields when it said so.

use std::fmt;

use postwire_codec::backend::ErrorBody;
use postwire_codec::session::SessionError;

/// An ErrorResponse from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    /// `ERROR`, `FATAL`…
    pub severity: String,
    /// The SQLSTATE, e.g. `42P01`.
    pub code: String,
    /// The message.
    pub message: String,
    /// The detail, if any.
    pub detail: Option<String>,
    /// The hint, if any.
    pub hint: Option<String>,
    /// The 1-based character position in the query, if any.
    pub position: Option<u32>,
}

impl DbError {
    pub(crate) fn from_response(error: &ErrorBody<'_>) -> Self {
        let text = |s: Option<&str>| s.map(str::to_owned);
        DbError {
            severity: error.severity().unwrap_or("ERROR").to_owned(),
            code: error.code().map(|c| c.code().to_owned()).unwrap_or_default(),
            message: error.message().unwrap_or_default().to_owned(),
            detail: text(error.detail()),
            hint: text(error.hint()),
            position: error.position(),
        }
    }
}

/// Why a client call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an error.
    Db(Box<DbError>),
    /// The connection settings are unusable.
    Config(String),
    /// The socket failed.
    Io(std::io::Error),
    /// TLS could not be set up: the server refused it where `sslmode`
    /// requires it, the handshake failed, or its certificate is not trusted.
    Tls(String),
    /// The server broke the protocol, or login could not go on.
    Protocol(SessionError),
    /// The connection is closed (by the server, or after an error).
    Closed,
    /// A value could not be encoded or decoded.
    Value(String),
    /// An earlier query in the same batch failed, so the server skipped this one.
    Aborted,
}

impl ClientError {
    /// The SQLSTATE of a server error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Db(e) => Some(&e.code),
            _ => None,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Db(e) => write!(f, "{}: {} ({})", e.severity, e.message, e.code),
            ClientError::Config(e) => write!(f, "bad connection settings: {e}"),
            ClientError::Io(e) => write!(f, "connection failed: {e}"),
            ClientError::Tls(e) => write!(f, "TLS failed: {e}"),
            ClientError::Protocol(e) => write!(f, "protocol error: {e}"),
            ClientError::Closed => f.write_str("connection closed"),
            ClientError::Value(e) => write!(f, "bad value: {e}"),
            ClientError::Aborted => f.write_str("skipped: an earlier query in the batch failed"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        ClientError::Io(e)
    }
}

impl From<SessionError> for ClientError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Closed => ClientError::Closed,
            e => ClientError::Protocol(e),
        }
    }
}
