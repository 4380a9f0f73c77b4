//! Sans-IO connection state machines (frontend side; the backend side is
//! written separately).
//!
//! PLACEHOLDER from the frontend-session branch: the lead's `session/mod.rs`
//! replaces this file; only [`SessionError`] and the module list live here.

pub mod frontend;
pub mod output;

use core::fmt;

use crate::{DecodeError, EncodeError, SqlState};

pub use output::OutputBuffer;

/// Why a session machine refused input or a call.
///
/// Errors caused by the peer (`Decode`, `UnexpectedMessage`, `Auth`) close the
/// session; errors caused by the caller (`OutOfOrder`, `Encode`, `OutputFull`)
/// change nothing and the session goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SessionError {
    /// The peer sent bytes that are not a valid message. The session is closed.
    Decode(DecodeError),
    /// The peer sent a valid message that the protocol does not allow now
    /// (its type byte). The session is closed.
    UnexpectedMessage {
        /// The offending message's type byte.
        tag: u8,
    },
    /// Authentication cannot go on (frontend). The session is closed.
    Auth(AuthError),
    /// The caller called a method the protocol does not allow in this state;
    /// nothing changed.
    OutOfOrder,
    /// A message could not be encoded (a NUL in a string, too many items…);
    /// nothing changed.
    Encode(EncodeError),
    /// The output buffer has no room for the message: transmit
    /// [`pending`](OutputBuffer::pending) output, consume it, and call again.
    /// `needed` is the message's whole size; if it exceeds the buffer's
    /// capacity, the call can never succeed with this buffer.
    OutputFull {
        /// Bytes the message needs.
        needed: usize,
    },
    /// Too many requests wait for answers (the machine's queue capacity);
    /// nothing changed: read answers first.
    QueueFull,
    /// The session is closed; nothing more can be sent or received.
    Closed,
}

/// Why authentication failed on the client side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AuthError {
    /// The server asked for a method this client does not implement
    /// (Kerberos, GSSAPI, SSPI, or a SASL list without SCRAM-SHA-256);
    /// the value is the authentication request code.
    UnsupportedMethod(i32),
    /// Channel binding is required but the server or the connection cannot do it.
    ChannelBindingRequired,
    /// The server's SCRAM iteration count is above the configured cap.
    TooManyIterations(u32),
    /// The server's SCRAM messages are malformed or do not match ours
    /// (nonce, channel binding, server signature).
    ScramFailed,
    /// The server accepted us without completing the SASL exchange it started,
    /// or sent SASL messages out of order.
    IncompleteExchange,
}

impl SessionError {
    /// The SQLSTATE that fits this error when it is reported to a user.
    pub const fn sqlstate(&self) -> SqlState {
        match self {
            SessionError::Decode(e) => e.sqlstate(),
            SessionError::Auth(_) => SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
            SessionError::Closed => SqlState::CONNECTION_DOES_NOT_EXIST,
            _ => SqlState::PROTOCOL_VIOLATION,
        }
    }

    /// Whether the error ended the session (caused by the peer).
    pub const fn is_fatal(&self) -> bool {
        matches!(
            self,
            SessionError::Decode(_)
                | SessionError::UnexpectedMessage { .. }
                | SessionError::Auth(_)
                | SessionError::Closed
        )
    }
}

impl From<DecodeError> for SessionError {
    fn from(e: DecodeError) -> Self {
        SessionError::Decode(e)
    }
}

impl From<EncodeError> for SessionError {
    fn from(e: EncodeError) -> Self {
        SessionError::Encode(e)
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Decode(e) => write!(f, "invalid message from peer: {e}"),
            SessionError::UnexpectedMessage { tag } => {
                write!(f, "unexpected message type {:?} from peer", char::from(*tag))
            }
            SessionError::Auth(e) => write!(f, "authentication failed: {e:?}"),
            SessionError::OutOfOrder => f.write_str("call not allowed in the current protocol state"),
            SessionError::Encode(e) => write!(f, "cannot encode message: {e}"),
            SessionError::OutputFull { needed } => write!(f, "output buffer full: {needed} bytes needed"),
            SessionError::QueueFull => f.write_str("too many requests waiting for answers"),
            SessionError::Closed => f.write_str("session closed"),
        }
    }
}

impl core::error::Error for SessionError {}
