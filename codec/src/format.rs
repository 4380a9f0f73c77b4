//! Format codes and OIDs shared by messages and values.

use crate::error::DecodeError;

/// A PostgreSQL object identifier (type OIDs, table OIDs).
pub type Oid = u32;

/// The format of a value on the wire: format code 0 (text) or 1 (binary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(i16)]
pub enum Format {
    /// Format code 0: the type's text output.
    #[default]
    Text = 0,
    /// Format code 1: the type's binary send/receive form.
    Binary = 1,
}

impl Format {
    /// The format for a wire format code; anything but 0 and 1 is invalid.
    #[inline]
    pub const fn from_code(code: i16) -> Result<Format, DecodeError> {
        match code {
            0 => Ok(Format::Text),
            1 => Ok(Format::Binary),
            _ => Err(DecodeError::InvalidValue),
        }
    }

    /// The wire format code.
    #[inline]
    pub const fn code(self) -> i16 {
        self as i16
    }
}
