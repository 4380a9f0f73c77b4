//! `text` (and `varchar`, `name`, `bpchar`), `json`, `jsonb`, `"char"`.

use super::{FromValue, ToValue, fixed};
use crate::error::{DecodeError, EncodeError};
use crate::format::Oid;
use crate::oid;
use crate::read::utf8;
use crate::write::Sink;

/// Text values cannot hold NUL: the server rejects them in either format.
fn put_text<S: Sink>(out: &mut S, s: &str) -> Result<(), EncodeError> {
    if crate::read::find_nul(s.as_bytes()).is_some() {
        return Err(EncodeError::NulInString);
    }
    out.put_slice(s.as_bytes());
    Ok(())
}

/// Reads a text value: UTF-8 without NUL, which PostgreSQL reports as an
/// invalid byte sequence (22021) too.
fn text_value(bytes: &[u8]) -> Result<&str, DecodeError> {
    if crate::read::find_nul(bytes).is_some() {
        return Err(DecodeError::InvalidUtf8);
    }
    utf8(bytes)
}

/// `text`; the same bytes in both formats.
impl ToValue for str {
    const TYPE_OID: Oid = oid::TEXT;
    const ARRAY_OID: Oid = oid::TEXT_ARRAY;
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        put_text(out, self)
    }
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        put_text(out, self)
    }
}

/// Any text-like type (`text`, `varchar`, `name`, `bpchar`, `unknown`, `xml`…):
/// the UTF-8 bytes, borrowed.
impl<'a> FromValue<'a> for &'a str {
    fn decode_text(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        text_value(bytes)
    }
    fn decode_binary(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        text_value(bytes)
    }
}

/// A `json` value: the JSON text, unchecked (the server validates it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Json<'a>(pub &'a str);

impl ToValue for Json<'_> {
    const TYPE_OID: Oid = oid::JSON;
    const ARRAY_OID: Oid = oid::JSON_ARRAY;
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        put_text(out, self.0)
    }
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        put_text(out, self.0)
    }
}

impl<'a> FromValue<'a> for Json<'a> {
    fn decode_text(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        text_value(bytes).map(Json)
    }
    fn decode_binary(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        text_value(bytes).map(Json)
    }
}

/// A `jsonb` value: the JSON text; binary adds the format version byte 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Jsonb<'a>(pub &'a str);

/// The only `jsonb` binary format version.
const JSONB_VERSION: u8 = 1;

impl ToValue for Jsonb<'_> {
    const TYPE_OID: Oid = oid::JSONB;
    const ARRAY_OID: Oid = oid::JSONB_ARRAY;
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        put_text(out, self.0)
    }
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        out.put_u8(JSONB_VERSION);
        put_text(out, self.0)
    }
}

impl<'a> FromValue<'a> for Jsonb<'a> {
    fn decode_text(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        text_value(bytes).map(Jsonb)
    }
    fn decode_binary(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        match bytes.split_first() {
            Some((&JSONB_VERSION, json)) => text_value(json).map(Jsonb),
            _ => Err(DecodeError::InvalidValue),
        }
    }
}

/// A `"char"` value: one byte (0 is the empty string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PgChar(pub u8);

impl ToValue for PgChar {
    const TYPE_OID: Oid = oid::CHAR;
    const ARRAY_OID: Oid = oid::CHAR_ARRAY;
    /// Like `charout`: ASCII as itself, high-bit bytes as `\ooo`, 0 as nothing.
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        match self.0 {
            0 => {}
            b @ 1..=0x7f => out.put_u8(b),
            b => out.put_slice(&[b'\\', b'0' + (b >> 6), b'0' + ((b >> 3) & 7), b'0' + (b & 7)]),
        }
        Ok(())
    }
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        out.put_u8(self.0);
        Ok(())
    }
}

impl FromValue<'_> for PgChar {
    /// Like `charin`: `\ooo` octal, otherwise the first byte (empty is 0).
    fn decode_text(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes {
            [b'\\', a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7'] => {
                Ok(PgChar(((a - b'0') << 6) | ((b - b'0') << 3) | (c - b'0')))
            }
            [] => Ok(PgChar(0)),
            [b, ..] => Ok(PgChar(*b)),
        }
    }
    fn decode_binary(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes {
            [] => Ok(PgChar(0)),
            _ => Ok(PgChar(fixed::<1>(bytes)?[0])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{enc, golden};
    use super::*;
    use crate::format::Format;

    #[test]
    fn golden_bytes() {
        golden("a b", b"a b", b"a b");
        // select json_send('{"a":1}'), jsonb_send('{"a": 1}')
        golden(Json("{\"a\":1}"), b"{\"a\":1}", b"{\"a\":1}");
        golden(Jsonb("{\"a\": 1}"), b"{\"a\": 1}", b"\x01{\"a\": 1}");
        // select charsend('x'), '\351'::"char"
        golden(PgChar(b'x'), b"x", b"x");
        golden(PgChar(0xe9), b"\\351", b"\xe9");
    }

    #[test]
    fn errors() {
        assert_eq!(<&str>::decode_text(b"\xc3"), Err(DecodeError::InvalidUtf8));
        // Found by the values fuzz target: NUL decoded, then failed to encode.
        assert_eq!(<&str>::decode_binary(b"\0\x0c\x0c"), Err(DecodeError::InvalidUtf8));
        assert_eq!(Jsonb::decode_binary(b"\x01{\0}"), Err(DecodeError::InvalidUtf8));
        assert_eq!(Jsonb::decode_binary(b"\x02{}"), Err(DecodeError::InvalidValue));
        assert_eq!(Jsonb::decode_binary(b""), Err(DecodeError::InvalidValue));
        let mut buf = [0u8; 4];
        let mut sink = crate::write::SliceSink::new(&mut buf);
        assert_eq!("a\0".encode_text(&mut sink), Err(EncodeError::NulInString));
        let (b, n) = enc(&PgChar(0), Format::Text);
        assert_eq!(&b[..n], b"");
    }
}
