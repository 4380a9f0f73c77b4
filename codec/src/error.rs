//! Decode and encode errors: small, `Copy`, heap-free.

use core::fmt;

use crate::sqlstate::SqlState;

/// Why bytes could not be decoded into a message or value.
///
/// Every variant maps to the SQLSTATE a backend reports for it
/// ([`DecodeError::sqlstate`]), so drivers can answer bad input with the right
/// `ErrorResponse` before closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DecodeError {
    /// A length field below the minimum (4 for a message, 8 for a startup packet).
    LengthTooSmall {
        /// The length the header announced.
        length: i32,
    },
    /// A length field above the configured limit; nothing was buffered for it.
    MessageTooLarge {
        /// The length the header announced.
        length: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A message type byte this decoder does not know (in this direction).
    UnknownMessageType {
        /// The type byte.
        tag: u8,
    },
    /// A field runs past the end of the message body.
    UnexpectedEnd,
    /// The body has bytes left after its last field.
    TrailingBytes,
    /// A C string has no terminating NUL inside the message.
    MissingNul,
    /// Text that must be UTF-8 is not.
    InvalidUtf8,
    /// A field holds a value the protocol does not allow (a negative count,
    /// an unknown format code, an unknown authentication request…).
    InvalidValue,
    /// A startup packet asks for a protocol version this codec does not know.
    UnsupportedProtocol {
        /// The major version (high 16 bits).
        major: u16,
        /// The minor version (low 16 bits).
        minor: u16,
    },
}

impl DecodeError {
    /// The SQLSTATE a PostgreSQL backend reports for this kind of bad input.
    ///
    /// ```
    /// use postwire_codec::{DecodeError, SqlState};
    /// assert_eq!(DecodeError::InvalidUtf8.sqlstate(), SqlState::CHARACTER_NOT_IN_REPERTOIRE);
    /// assert_eq!(DecodeError::MissingNul.sqlstate(), SqlState::PROTOCOL_VIOLATION);
    /// ```
    pub const fn sqlstate(&self) -> SqlState {
        match self {
            DecodeError::InvalidUtf8 => SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            DecodeError::UnsupportedProtocol { .. } => SqlState::FEATURE_NOT_SUPPORTED,
            _ => SqlState::PROTOCOL_VIOLATION,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::LengthTooSmall { length } => write!(f, "invalid message length {length}"),
            DecodeError::MessageTooLarge { length, limit } => {
                write!(f, "message length {length} exceeds the limit of {limit} bytes")
            }
            // Not `{:?}` on a char: its escaping brings Unicode tables into firmware.
            DecodeError::UnknownMessageType { tag } if tag.is_ascii_graphic() => {
                write!(f, "invalid message type '{}'", char::from(*tag))
            }
            DecodeError::UnknownMessageType { tag } => write!(f, "invalid message type {tag}"),
            DecodeError::UnexpectedEnd => f.write_str("insufficient data left in message"),
            DecodeError::TrailingBytes => f.write_str("invalid message format: trailing bytes"),
            DecodeError::MissingNul => f.write_str("invalid string in message: missing NUL"),
            DecodeError::InvalidUtf8 => f.write_str("invalid byte sequence for encoding \"UTF8\""),
            DecodeError::InvalidValue => f.write_str("invalid value in message"),
            DecodeError::UnsupportedProtocol { major, minor } => {
                write!(f, "unsupported frontend protocol {major}.{minor}")
            }
        }
    }
}

impl core::error::Error for DecodeError {}

/// Why a message or value could not be encoded.
///
/// On error, the caller's buffer holds no partial message: encoders check
/// everything, including the space needed, before writing a byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is too small; `required` bytes would fit the message.
    BufferTooSmall {
        /// The total size the message needs.
        required: usize,
    },
    /// A string sent as a C string contains a NUL byte.
    NulInString,
    /// A message or field is longer than `i32::MAX` bytes.
    TooLong,
    /// More than `i16::MAX` (or `u16::MAX` where the field is unsigned) items in a
    /// counted list: columns, parameters, format codes.
    TooManyItems,
    /// A value that the wire format cannot represent (a NaN numeric in a place
    /// that forbids it, a date out of range…).
    InvalidValue,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { required } => {
                write!(f, "output buffer too small: {required} bytes needed")
            }
            EncodeError::NulInString => f.write_str("string contains a NUL byte"),
            EncodeError::TooLong => f.write_str("field or message longer than i32::MAX bytes"),
            EncodeError::TooManyItems => f.write_str("too many items for a 16-bit count"),
            EncodeError::InvalidValue => f.write_str("value cannot be represented on the wire"),
        }
    }
}

impl core::error::Error for EncodeError {}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::ToString;

    use super::*;

    #[test]
    fn unknown_message_type_names_printable_tags_and_numbers_the_rest() {
        assert_eq!(DecodeError::UnknownMessageType { tag: b'x' }.to_string(), "invalid message type 'x'");
        assert_eq!(DecodeError::UnknownMessageType { tag: 0 }.to_string(), "invalid message type 0");
        assert_eq!(DecodeError::UnknownMessageType { tag: b' ' }.to_string(), "invalid message type 32");
    }
}
