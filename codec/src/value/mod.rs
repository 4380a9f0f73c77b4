//! Values in PostgreSQL's text and binary formats, encoded into any [`Sink`]
//! and decoded from borrowed bytes, without allocation.
//!
//! [`ToValue`] writes a value (the bytes of a `Bind` parameter or a `DataRow`
//! column, without the length prefix); [`FromValue`] reads one back, borrowing
//! from the input where it can (`&str`, [`Bytea`], [`Array`]).
//! SQL NULL is not a value: it is the `-1` length around it, so callers map it
//! to `Option` themselves.
//!
//! | Rust | PostgreSQL |
//! |---|---|
//! | `bool` | `bool` |
//! | `i16`, `i32`, `i64` | `int2`, `int4`, `int8` |
//! | `f32`, `f64` | `float4`, `float8` |
//! | `u32` | `oid` |
//! | [`PgChar`] | `"char"` |
//! | `&str` | `text` (decodes `varchar`, `name`, `bpchar`, `unknown` too) |
//! | `&[u8]` (encode) / [`Bytea`] (decode) | `bytea` |
//! | [`Date`], [`Time`], [`TimeTz`], [`Timestamp`], [`TimestampTz`], [`Interval`] | date/time types |
//! | [`Numeric`] | `numeric` |
//! | [`Uuid`] | `uuid` |
//! | [`Json`], [`Jsonb`] | `json`, `jsonb` |
//! | [`ArrayOf`] (encode) / [`Array`] (decode) | one-dimensional arrays of the above |
//!
//! ```
//! use postwire_codec::value::{FromValue, ToValue};
//! use postwire_codec::write::SliceSink;
//! use postwire_codec::Format;
//!
//! let mut buf = [0u8; 16];
//! let mut sink = SliceSink::new(&mut buf);
//! 42i32.encode(Format::Text, &mut sink)?;
//! let n = sink.position();
//! assert_eq!(&buf[..n], b"42");
//! assert_eq!(i32::decode(Format::Text, &buf[..n])?, 42);
//! assert_eq!(i32::decode(Format::Binary, &[0, 0, 0, 42])?, 42);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use crate::error::{DecodeError, EncodeError};
use crate::format::{Format, Oid};
use crate::write::Sink;

mod array;
mod bool;
mod bytea;
mod civil;
mod datetime;
mod float;
mod int;
mod interval;
mod numeric;
mod text;
mod uuid;

pub use self::array::{Array, ArrayElement, ArrayItem, ArrayOf, ArrayValues, Elements, Unescaped};
pub use self::bytea::{Bytea, BytesIter};
pub use self::civil::{DateFields, TimeFields};
pub use self::datetime::{Date, Time, TimeTz, Timestamp, TimestampTz};
pub use self::float::float_text_from_exponential;
pub use self::interval::Interval;
pub use self::numeric::{Numeric, NumericDigits, NumericSign};

pub use self::text::{Json, Jsonb, PgChar};
pub use self::uuid::Uuid;

/// A Rust value that can be sent as a PostgreSQL value.
///
/// Encoders validate before writing and are deterministic, so they can run
/// in the count-then-write passes of [`crate::Encode`].
pub trait ToValue {
    /// The type OID to announce for this value (in `Parse`, `RowDescription`).
    const TYPE_OID: Oid;
    /// The OID of the array type of this type (0 if there is none).
    const ARRAY_OID: Oid;

    /// Writes the text format (format code 0).
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError>;

    /// Writes the binary format (format code 1).
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError>;

    /// Writes the value in `format`.
    #[inline]
    fn encode<S: Sink>(&self, format: Format, out: &mut S) -> Result<(), EncodeError> {
        match format {
            Format::Text => self.encode_text(out),
            Format::Binary => self.encode_binary(out),
        }
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    const TYPE_OID: Oid = T::TYPE_OID;
    const ARRAY_OID: Oid = T::ARRAY_OID;
    #[inline]
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        (**self).encode_text(out)
    }
    #[inline]
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        (**self).encode_binary(out)
    }
}

/// A Rust value that can be read from a PostgreSQL value, borrowing from it.
///
/// Bad input gives [`DecodeError::InvalidValue`] (or
/// [`DecodeError::InvalidUtf8`] for text that is not UTF-8), never a panic.
pub trait FromValue<'a>: Sized {
    /// Reads the text format (format code 0).
    fn decode_text(bytes: &'a [u8]) -> Result<Self, DecodeError>;

    /// Reads the binary format (format code 1).
    fn decode_binary(bytes: &'a [u8]) -> Result<Self, DecodeError>;

    /// Reads a value in `format`.
    #[inline]
    fn decode(format: Format, bytes: &'a [u8]) -> Result<Self, DecodeError> {
        match format {
            Format::Text => Self::decode_text(bytes),
            Format::Binary => Self::decode_binary(bytes),
        }
    }
}

/// Lets `write!` go straight into a [`Sink`].
pub(crate) struct FmtSink<'s, S>(pub(crate) &'s mut S);

impl<S: Sink> fmt::Write for FmtSink<'_, S> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.put_slice(s.as_bytes());
        Ok(())
    }
}

/// Writes a `Display` value into a sink.
pub(crate) fn put_display<S: Sink>(out: &mut S, v: &dyn fmt::Display) -> Result<(), EncodeError> {
    fmt::write(&mut FmtSink(out), format_args!("{v}")).map_err(|_| EncodeError::InvalidValue)
}

/// A fixed-size binary value: exactly `N` bytes or [`DecodeError::InvalidValue`].
#[inline]
pub(crate) fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], DecodeError> {
    bytes.try_into().map_err(|_| DecodeError::InvalidValue)
}

/// Text input as `&str`, with PostgreSQL's surrounding whitespace removed.
#[inline]
pub(crate) fn trimmed(bytes: &[u8]) -> Result<&str, DecodeError> {
    Ok(crate::read::utf8(bytes)?.trim_matches(|c: char| c.is_ascii_whitespace()))
}

/// A small stack buffer implementing `fmt::Write` (tests format into it).
#[cfg(test)]
pub(crate) struct StackBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

#[cfg(test)]
impl<const N: usize> StackBuf<N> {
    pub(crate) const fn new() -> Self {
        StackBuf { buf: [0; N], len: 0 }
    }
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

#[cfg(test)]
impl<const N: usize> fmt::Write for StackBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    /// Encodes into a fixed buffer, returning the bytes.
    pub(crate) fn enc<T: ToValue + ?Sized>(v: &T, format: Format) -> ([u8; 256], usize) {
        let mut buf = [0u8; 256];
        let mut sink = crate::write::SliceSink::new(&mut buf);
        v.encode(format, &mut sink).unwrap();
        assert!(!sink.overflowed());
        let n = sink.position();
        (buf, n)
    }

    /// Checks the text and binary encodings against golden bytes and decodes them back.
    pub(crate) fn golden<'a, T>(v: T, text: &'a [u8], binary: &'a [u8])
    where
        T: ToValue + FromValue<'a> + PartialEq + fmt::Debug,
    {
        let (b, n) = enc(&v, Format::Text);
        assert_eq!(core::str::from_utf8(&b[..n]).unwrap(), core::str::from_utf8(text).unwrap());
        let (b, n) = enc(&v, Format::Binary);
        assert_eq!(&b[..n], binary, "binary of {v:?}");
        assert_eq!(T::decode_text(text).unwrap(), v);
        assert_eq!(T::decode_binary(binary).unwrap(), v);
    }
}
