//! The fields of ErrorResponse and NoticeResponse: field kinds, severities,
//! and [`ErrorFields`], a builder for encoding without allocation.

use crate::sqlstate::SqlState;

macro_rules! error_field_kinds {
    ($($(#[$doc:meta])* $name:ident = $byte:literal,)*) => {
        /// The kind of an ErrorResponse/NoticeResponse field, by its type byte.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub enum ErrorField {
            $($(#[$doc])* $name,)*
        }

        impl ErrorField {
            /// Every kind, in the order [`ErrorFields`] writes them.
            pub const ALL: [ErrorField; error_field_kinds!(@count $($name)*)] = [$(ErrorField::$name,)*];

            /// The kind for a type byte; `None` for bytes this codec does not know
            /// (which clients should ignore).
            pub const fn from_byte(b: u8) -> Option<ErrorField> {
                match b {
                    $($byte => Some(ErrorField::$name),)*
                    _ => None,
                }
            }

            /// The type byte.
            pub const fn as_byte(self) -> u8 {
                match self {
                    $(ErrorField::$name => $byte,)*
                }
            }
        }
    };
    (@count $($name:ident)*) => { 0 $(+ error_field_kinds!(@one $name))* };
    (@one $name:ident) => { 1 };
}

error_field_kinds! {
    /// 'S': severity, possibly localized (`ERROR`, `FATAL`, …).
    Severity = b'S',
    /// 'V': severity, never localized (PostgreSQL 9.6+).
    SeverityNonLocalized = b'V',
    /// 'C': the SQLSTATE code.
    Code = b'C',
    /// 'M': the primary message.
    Message = b'M',
    /// 'D': an optional detail message.
    Detail = b'D',
    /// 'H': an optional hint.
    Hint = b'H',
    /// 'P': 1-based character index into the query string, in decimal.
    Position = b'P',
    /// 'p': like Position, into an internally generated query.
    InternalPosition = b'p',
    /// 'q': the internally generated query that failed.
    InternalQuery = b'q',
    /// 'W': the context (call stack) the error occurred in.
    Where = b'W',
    /// 's': schema name of the object involved.
    Schema = b's',
    /// 't': table name of the object involved.
    Table = b't',
    /// 'c': column name of the object involved.
    Column = b'c',
    /// 'd': data type name of the object involved.
    DataType = b'd',
    /// 'n': constraint name of the object involved.
    Constraint = b'n',
    /// 'F': source file that reported the error.
    File = b'F',
    /// 'L': source line that reported the error, in decimal.
    Line = b'L',
    /// 'R': source routine that reported the error.
    Routine = b'R',
}

/// An error or notice severity, as sent in the non-localized 'V' field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Severity {
    /// `ERROR`: the command failed.
    Error,
    /// `FATAL`: the session is ending.
    Fatal,
    /// `PANIC`: every session is ending.
    Panic,
    /// `WARNING` (notices).
    Warning,
    /// `NOTICE` (notices).
    Notice,
    /// `DEBUG` (notices).
    Debug,
    /// `INFO` (notices).
    Info,
    /// `LOG` (notices).
    Log,
}

impl Severity {
    /// The wire text, e.g. `"ERROR"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
            Severity::Panic => "PANIC",
            Severity::Warning => "WARNING",
            Severity::Notice => "NOTICE",
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Log => "LOG",
        }
    }

    /// The severity for its non-localized wire text.
    pub fn from_wire(s: &str) -> Option<Severity> {
        Some(match s {
            "ERROR" => Severity::Error,
            "FATAL" => Severity::Fatal,
            "PANIC" => Severity::Panic,
            "WARNING" => Severity::Warning,
            "NOTICE" => Severity::Notice,
            "DEBUG" => Severity::Debug,
            "INFO" => Severity::Info,
            "LOG" => Severity::Log,
            _ => return None,
        })
    }
}

/// The fields of an error or notice to encode, borrowed, no allocation.
///
/// Encoding writes 'S' and 'V' (both from `severity`), 'C', 'M', then each
/// optional field that is `Some`, in [`ErrorField::ALL`] order.
///
/// ```
/// use postwire_codec::backend::{ErrorFields, ErrorResponse, Severity};
/// use postwire_codec::{Encode, SqlState};
/// let fields = ErrorFields { hint: Some("check the spelling"), ..ErrorFields::new(
///     Severity::Error, SqlState::from_code("42P01").unwrap(), "relation \"t\" does not exist") };
/// let mut buf = [0u8; 128];
/// let n = ErrorResponse::from(&fields).encode(&mut buf).unwrap();
/// assert!(buf[..n].starts_with(b"E\0\0\0\x4bSERROR\0VERROR\0C42P01\0M"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ErrorFields<'a> {
    /// 'S' and 'V'.
    pub severity: Severity,
    /// 'C'.
    pub code: SqlState,
    /// 'M'.
    pub message: &'a str,
    /// 'D'.
    pub detail: Option<&'a str>,
    /// 'H'.
    pub hint: Option<&'a str>,
    /// 'P': a decimal 1-based character index (see [`Decimal`] to format one).
    pub position: Option<&'a str>,
    /// 'p': a decimal character index into `internal_query`.
    pub internal_position: Option<&'a str>,
    /// 'q'.
    pub internal_query: Option<&'a str>,
    /// 'W'.
    pub context: Option<&'a str>,
    /// 's'.
    pub schema: Option<&'a str>,
    /// 't'.
    pub table: Option<&'a str>,
    /// 'c'.
    pub column: Option<&'a str>,
    /// 'd'.
    pub data_type: Option<&'a str>,
    /// 'n'.
    pub constraint: Option<&'a str>,
    /// 'F'.
    pub file: Option<&'a str>,
    /// 'L': a decimal line number.
    pub line: Option<&'a str>,
    /// 'R'.
    pub routine: Option<&'a str>,
}

impl<'a> ErrorFields<'a> {
    /// The three required fields; every optional one `None`.
    pub const fn new(severity: Severity, code: SqlState, message: &'a str) -> Self {
        ErrorFields {
            severity,
            code,
            message,
            detail: None,
            hint: None,
            position: None,
            internal_position: None,
            internal_query: None,
            context: None,
            schema: None,
            table: None,
            column: None,
            data_type: None,
            constraint: None,
            file: None,
            line: None,
            routine: None,
        }
    }

    /// The text that field `kind` is encoded with, if present.
    pub fn get(&self, kind: ErrorField) -> Option<&str> {
        match kind {
            ErrorField::Severity | ErrorField::SeverityNonLocalized => Some(self.severity.as_str()),
            ErrorField::Code => Some(self.code.code()),
            ErrorField::Message => Some(self.message),
            ErrorField::Detail => self.detail,
            ErrorField::Hint => self.hint,
            ErrorField::Position => self.position,
            ErrorField::InternalPosition => self.internal_position,
            ErrorField::InternalQuery => self.internal_query,
            ErrorField::Where => self.context,
            ErrorField::Schema => self.schema,
            ErrorField::Table => self.table,
            ErrorField::Column => self.column,
            ErrorField::DataType => self.data_type,
            ErrorField::Constraint => self.constraint,
            ErrorField::File => self.file,
            ErrorField::Line => self.line,
            ErrorField::Routine => self.routine,
        }
    }
}

/// A `u32` formatted in decimal on the stack, for the numeric fields
/// ('P', 'p', 'L') of [`ErrorFields`].
///
/// ```
/// use postwire_codec::backend::Decimal;
/// assert_eq!(Decimal::new(4_294_967_295).as_str(), "4294967295");
/// assert_eq!(Decimal::new(0).as_str(), "0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    digits: [u8; 10],
    start: u8,
}

impl Decimal {
    /// Formats `n`.
    pub const fn new(mut n: u32) -> Self {
        let mut digits = [b'0'; 10];
        let mut start = 10;
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Decimal { digits, start: start as u8 }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        let digits = self.digits.get(usize::from(self.start)..).unwrap_or_default();
        core::str::from_utf8(digits).unwrap_or("0")
    }
}
