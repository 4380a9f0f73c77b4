//! `bool`: text `t`/`f`, binary one byte.

use super::{FromValue, ToValue, fixed, trimmed};
use crate::error::{DecodeError, EncodeError};
use crate::format::Oid;
use crate::oid;
use crate::write::Sink;

impl ToValue for bool {
    const TYPE_OID: Oid = oid::BOOL;
    const ARRAY_OID: Oid = oid::BOOL_ARRAY;
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        out.put_u8(if *self { b't' } else { b'f' });
        Ok(())
    }
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        out.put_u8(u8::from(*self));
        Ok(())
    }
}

/// Whether `input` is a case-insensitive prefix of `word`, at least `min` long.
fn prefix_of(input: &str, word: &str, min: usize) -> bool {
    input.len() >= min && word.get(..input.len()).is_some_and(|w| w.eq_ignore_ascii_case(input))
}

impl FromValue<'_> for bool {
    /// Accepts PostgreSQL's spellings: any case-insensitive prefix of `true`,
    /// `false`, `yes`, `no`; `on`, `off` (or `of`); `1`, `0`; surrounding
    /// whitespace is ignored.
    fn decode_text(bytes: &[u8]) -> Result<Self, DecodeError> {
        let s = trimmed(bytes)?;
        if prefix_of(s, "true", 1) || prefix_of(s, "yes", 1) || prefix_of(s, "on", 2) || s == "1" {
            Ok(true)
        } else if prefix_of(s, "false", 1) || prefix_of(s, "no", 1) || prefix_of(s, "off", 2) || s == "0" {
            Ok(false)
        } else {
            Err(DecodeError::InvalidValue)
        }
    }
    fn decode_binary(bytes: &[u8]) -> Result<Self, DecodeError> {
        let [b] = fixed::<1>(bytes)?;
        Ok(b != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::golden;
    use super::*;

    #[test]
    fn golden_bytes() {
        // select boolsend(true), boolsend(false)  →  \x01, \x00
        golden(true, b"t", b"\x01");
        golden(false, b"f", b"\x00");
    }

    #[test]
    fn spellings() {
        for s in ["t", "TRUE", "tr", "yes", "Y", "on", "ON", " 1 ", "true\n"] {
            assert_eq!(bool::decode_text(s.as_bytes()), Ok(true), "{s}");
        }
        for s in ["f", "False", "n", "NO", "off", "of", "0"] {
            assert_eq!(bool::decode_text(s.as_bytes()), Ok(false), "{s}");
        }
        for s in ["", "o", "2", "truex", "yess", "onn", "\u{e9}"] {
            assert_eq!(bool::decode_text(s.as_bytes()), Err(DecodeError::InvalidValue), "{s}");
        }
        assert_eq!(bool::decode_binary(b""), Err(DecodeError::InvalidValue));
        assert_eq!(bool::decode_binary(b"\x01\x00"), Err(DecodeError::InvalidValue));
        assert_eq!(bool::decode_text(b"\xff"), Err(DecodeError::InvalidUtf8));
    }
}
