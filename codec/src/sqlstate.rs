//! SQLSTATE error codes. PLACEHOLDER: being generated from the errcodes appendix.

/// A five-character SQLSTATE code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SqlState([u8; 5]);

impl SqlState {
    /// 08P01
    pub const PROTOCOL_VIOLATION: SqlState = SqlState(*b"08P01");
    /// 22021
    pub const CHARACTER_NOT_IN_REPERTOIRE: SqlState = SqlState(*b"22021");
    /// 0A000
    pub const FEATURE_NOT_SUPPORTED: SqlState = SqlState(*b"0A000");

    /// The code as text.
    pub const fn code(&self) -> &str {
        match core::str::from_utf8(&self.0) {
            Ok(s) => s,
            Err(_) => "XX000",
        }
    }
}
