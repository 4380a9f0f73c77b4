//! SQLSTATE error codes. PLACEHOLDER constants: the full table is being generated
//! from the errcodes appendix.

use core::fmt;

/// A five-character SQLSTATE code (digits and upper-case letters).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SqlState([u8; 5]);

impl SqlState {
    /// 08P01 protocol_violation
    pub const PROTOCOL_VIOLATION: SqlState = SqlState(*b"08P01");
    /// 22021 character_not_in_repertoire
    pub const CHARACTER_NOT_IN_REPERTOIRE: SqlState = SqlState(*b"22021");
    /// 0A000 feature_not_supported
    pub const FEATURE_NOT_SUPPORTED: SqlState = SqlState(*b"0A000");

    /// A code from its text; `None` unless it is five digits or upper-case letters.
    ///
    /// ```
    /// use postwire_codec::SqlState;
    /// assert_eq!(SqlState::from_code("08P01"), Some(SqlState::PROTOCOL_VIOLATION));
    /// assert_eq!(SqlState::from_code("08p01"), None);
    /// ```
    pub const fn from_code(code: &str) -> Option<SqlState> {
        match Self::from_bytes(code.as_bytes()) {
            Some(s) => Some(s),
            None => None,
        }
    }

    /// A code from its bytes; `None` unless it is five digits or upper-case letters.
    pub const fn from_bytes(code: &[u8]) -> Option<SqlState> {
        let [a, b, c, d, e] = match code {
            [a, b, c, d, e] => [*a, *b, *c, *d, *e],
            _ => return None,
        };
        let bytes = [a, b, c, d, e];
        let mut i = 0;
        while i < 5 {
            if !(bytes[i].is_ascii_digit() || bytes[i].is_ascii_uppercase()) {
                return None;
            }
            i += 1;
        }
        Some(SqlState(bytes))
    }

    /// The code as text, e.g. `"08P01"`.
    pub const fn code(&self) -> &str {
        match core::str::from_utf8(&self.0) {
            Ok(s) => s,
            // Unreachable: constructors only admit ASCII.
            Err(_) => "XX000",
        }
    }

    /// The code's bytes.
    pub const fn as_bytes(&self) -> &[u8; 5] {
        &self.0
    }

    /// The class: the first two characters, e.g. `"08"` for connection exceptions.
    pub const fn class(&self) -> &str {
        match self.code().split_at_checked(2) {
            Some((class, _)) => class,
            None => "XX",
        }
    }
}

impl fmt::Debug for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SqlState({})", self.code())
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for SqlState {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.code())
    }
}
