//! Sans-IO connection state machines: [`backend::Backend`] (the server side of
//! one connection) and the frontend (the client side).
//!
//! Both follow one call order, in a loop:
//! 1. `handle_input(&buffered)`: reads at most one message and returns how many
//!    bytes it took and, maybe, an event borrowing from those bytes;
//! 2. answer the event with the machine's typed methods (each queues whole
//!    messages in the machine's output buffer, or fails and changes nothing);
//! 3. transmit `pending_output()`, then `consume_output(n)`;
//! 4. drop the consumed input and go to 1 (read more bytes when no event came).
//!
//! No I/O, clock or randomness lives here: the driver brings them.

pub mod backend;
pub mod frontend;
mod names;
pub mod output;

pub use output::{OutputBuffer, OutputFull, PushError};

use core::fmt;

use crate::{EncodeError, SqlState, error::DecodeError};

/// Why a state-machine call failed. Calls that fail change nothing, except
/// where the variant says the session was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SessionError {
    /// The output buffer has no room for the message: transmit
    /// `pending_output()`, consume it, and call again.
    OutputFull(OutputFull),
    /// The message could not be encoded (a NUL in a string, too many columns…).
    Encode(EncodeError),
    /// The call does not fit the protocol state: a DataRow before a
    /// RowDescription, a second ReadyForQuery, a reply when none is due…
    OutOfOrder,
    /// A DataRow has a different number of columns than its RowDescription.
    ColumnCountMismatch {
        /// Columns in the RowDescription.
        expected: usize,
        /// Cells in the row.
        got: usize,
    },
    /// The session has ended; only transmitting what is pending remains.
    Closed,
    /// The peer sent bytes that are not a valid message (frontend). The
    /// session is closed.
    Decode(DecodeError),
    /// The peer sent a valid message the protocol does not allow now
    /// (frontend). The session is closed.
    UnexpectedMessage {
        /// The offending message's type byte.
        tag: u8,
    },
    /// Authentication cannot go on (frontend). The session is closed.
    Auth(AuthError),
    /// Too many requests wait for answers (the frontend's queue capacity);
    /// nothing changed: read answers first.
    QueueFull,
}

/// Why authentication failed on the client side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AuthError {
    /// The server asked for a method this client does not implement
    /// (Kerberos, GSSAPI, SSPI, or a SASL list without a mechanism we speak);
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
    /// Whether retrying after transmitting pending output can succeed.
    pub const fn is_output_full(&self) -> bool {
        matches!(self, SessionError::OutputFull(_))
    }

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

impl From<OutputFull> for SessionError {
    fn from(e: OutputFull) -> Self {
        SessionError::OutputFull(e)
    }
}

impl From<PushError> for SessionError {
    fn from(e: PushError) -> Self {
        match e {
            PushError::Full(f) => SessionError::OutputFull(f),
            PushError::Encode(e) => SessionError::Encode(e),
        }
    }
}

impl From<EncodeError> for SessionError {
    fn from(e: EncodeError) -> Self {
        match e {
            EncodeError::BufferTooSmall { required } => SessionError::OutputFull(OutputFull { needed: required }),
            e => SessionError::Encode(e),
        }
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::OutputFull(o) => write!(f, "output buffer full: {} bytes needed", o.needed),
            SessionError::Encode(e) => write!(f, "cannot encode message: {e}"),
            SessionError::OutOfOrder => f.write_str("message not allowed in the current protocol state"),
            SessionError::ColumnCountMismatch { expected, got } => {
                write!(f, "row has {got} columns, its description {expected}")
            }
            SessionError::Closed => f.write_str("session closed"),
            SessionError::Decode(e) => write!(f, "invalid message from peer: {e}"),
            SessionError::UnexpectedMessage { tag } => {
                write!(f, "unexpected message type 0x{tag:02X} from peer")
            }
            SessionError::Auth(e) => write!(f, "authentication failed: {e:?}"),
            SessionError::QueueFull => f.write_str("too many requests waiting for answers"),
        }
    }
}

impl core::error::Error for SessionError {}

/// Why a session ended: the last thing the machine reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer said goodbye (Terminate), or closed between messages.
    Finished,
    /// The peer closed the connection in the middle of a message.
    Truncated,
    /// The peer broke the protocol; the machine queued a FATAL error for it.
    ProtocolViolation(Violation),
    /// Authentication failed; a FATAL 28P01 (or similar) was queued.
    AuthenticationFailed,
    /// The connection was a CancelRequest; nothing is sent back.
    CancelRequest,
    /// The driver rejected or ended the session (`reject`, `terminate`, or a
    /// FATAL `error`) with a FATAL error.
    Rejected,
}

/// A protocol violation by the peer, with the SQLSTATE it is reported with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Violation {
    /// Bytes that do not decode as the expected message.
    Malformed(DecodeError),
    /// A message type that is not allowed at this point.
    UnexpectedMessage {
        /// The type byte.
        tag: u8,
    },
    /// A startup packet without a `user` parameter.
    NoUser,
    /// Unencrypted bytes pipelined after an SSLRequest or GSSENCRequest.
    DataAfterEncryptionRequest,
    /// A SASL message (SCRAM or OAUTHBEARER) that breaks its mechanism's
    /// rules: malformed, wrong mechanism, channel-binding or nonce mismatch.
    Sasl(crate::auth::SaslError),
}

impl Violation {
    /// The SQLSTATE reported for this violation.
    pub const fn sqlstate(&self) -> SqlState {
        match self {
            Violation::Malformed(e) => e.sqlstate(),
            Violation::NoUser => SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
            Violation::Sasl(e) => e.sqlstate(),
            Violation::UnexpectedMessage { .. } | Violation::DataAfterEncryptionRequest => SqlState::PROTOCOL_VIOLATION,
        }
    }
}
