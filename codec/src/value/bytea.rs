//! `bytea`: binary is the raw bytes; text is hex (`\x0a1b`), and on input
//! also the older escape format (`a\\b\001`).

use super::{FromValue, ToValue};
use crate::error::{DecodeError, EncodeError};
use crate::format::Oid;
use crate::oid;
use crate::write::Sink;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `bytea`, written in hex text format.
impl ToValue for [u8] {
    const TYPE_OID: Oid = oid::BYTEA;
    const ARRAY_OID: Oid = oid::BYTEA_ARRAY;
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        out.put_slice(b"\\x");
        for &b in self {
            out.put_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
        Ok(())
    }
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        out.put_slice(self);
        Ok(())
    }
}

/// A decoded `bytea`, borrowed from the input: the raw bytes (binary format)
/// or validated hex / escape text that is decoded on the fly.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Bytea<'a> {
    repr: Repr<'a>,
}

#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Repr<'a> {
    Raw(&'a [u8]),
    /// Hex digits after `\x`, with whitespace allowed between byte pairs.
    Hex(&'a [u8]),
    /// Escape format: `\\`, `\ooo`, or any other byte as itself.
    Escape(&'a [u8]),
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl<'a> Bytea<'a> {
    /// A `bytea` over raw bytes.
    pub const fn from_bytes(bytes: &'a [u8]) -> Self {
        Bytea { repr: Repr::Raw(bytes) }
    }

    /// The bytes, when they are stored as-is (binary format or plain escape text).
    pub fn as_slice(&self) -> Option<&'a [u8]> {
        match self.repr {
            Repr::Raw(b) => Some(b),
            Repr::Escape(b) if !b.contains(&b'\\') => Some(b),
            _ => None,
        }
    }

    /// The decoded bytes, one at a time.
    pub fn iter(&self) -> BytesIter<'a> {
        BytesIter { repr: self.repr }
    }

    /// The number of decoded bytes.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Decodes into `out`, returning the filled part; fails (writing nothing
    /// useful) when `out` is shorter than [`Bytea::len`].
    pub fn decode_into<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], EncodeError> {
        let required = self.len();
        let dst = out.get_mut(..required).ok_or(EncodeError::BufferTooSmall { required })?;
        for (d, s) in dst.iter_mut().zip(self.iter()) {
            *d = s;
        }
        Ok(dst)
    }
}

impl PartialEq for Bytea<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Bytea<'_> {}

impl ToValue for Bytea<'_> {
    const TYPE_OID: Oid = oid::BYTEA;
    const ARRAY_OID: Oid = oid::BYTEA_ARRAY;
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        out.put_slice(b"\\x");
        for b in self.iter() {
            out.put_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
        Ok(())
    }
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        match self.as_slice() {
            Some(b) => out.put_slice(b),
            None => self.iter().for_each(|b| out.put_u8(b)),
        }
        Ok(())
    }
}

impl<'a> FromValue<'a> for Bytea<'a> {
    /// Validates hex (`\x…`) or escape format text.
    fn decode_text(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let repr = match bytes {
            [b'\\', b'x', hex @ ..] => {
                // Whitespace may only sit between byte pairs.
                let mut half_byte = false;
                for &b in hex {
                    if b.is_ascii_whitespace() && !half_byte {
                        continue;
                    }
                    hex_val(b).ok_or(DecodeError::InvalidValue)?;
                    half_byte = !half_byte;
                }
                if half_byte {
                    return Err(DecodeError::InvalidValue);
                }
                Repr::Hex(hex)
            }
            _ => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    let used = match rest {
                        [b'\\', b'\\', ..] => 2,
                        [b'\\', b'0'..=b'3', b'0'..=b'7', b'0'..=b'7', ..] => 4,
                        [b'\\', ..] => return Err(DecodeError::InvalidValue),
                        _ => 1,
                    };
                    rest = rest.get(used..).unwrap_or(&[]);
                }
                Repr::Escape(bytes)
            }
        };
        Ok(Bytea { repr })
    }
    fn decode_binary(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        Ok(Bytea::from_bytes(bytes))
    }
}

/// The bytes of a [`Bytea`], decoded as they are read.
#[derive(Debug, Clone)]
pub struct BytesIter<'a> {
    repr: Repr<'a>,
}

impl Iterator for BytesIter<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        match &mut self.repr {
            Repr::Raw(b) => {
                let (&first, rest) = b.split_first()?;
                *b = rest;
                Some(first)
            }
            Repr::Hex(h) => {
                // Validated at decode: digits come in pairs between whitespace.
                let start = h.iter().position(|b| !b.is_ascii_whitespace())?;
                let &[hi, lo] = h.get(start..start + 2)? else { return None };
                let v = (hex_val(hi)? << 4) | hex_val(lo)?;
                *h = h.get(start + 2..).unwrap_or(&[]);
                Some(v)
            }
            Repr::Escape(e) => {
                let (v, used) = match *e {
                    [b'\\', b'\\', ..] => (b'\\', 2),
                    [b'\\', a, b, c, ..] => {
                        ((a.wrapping_sub(b'0') << 6) | (b.wrapping_sub(b'0') << 3) | c.wrapping_sub(b'0'), 4)
                    }
                    [b, ..] => (*b, 1),
                    [] => return None,
                };
                *e = e.get(used..).unwrap_or(&[]);
                Some(v)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::enc;
    use super::*;
    use crate::format::Format;

    #[test]
    fn golden_bytes() {
        // select byteasend('\x0001ff'), '\x0001ff'::bytea
        let v: &[u8] = b"\x00\x01\xff";
        let (b, n) = enc(v, Format::Text);
        assert_eq!(&b[..n], b"\\x0001ff");
        let (b, n) = enc(v, Format::Binary);
        assert_eq!(&b[..n], v);
        let d = Bytea::decode_text(b"\\x0001ff").unwrap();
        assert_eq!(d, Bytea::from_bytes(v));
        assert_eq!(d.len(), 3);
        let mut out = [0u8; 3];
        assert_eq!(d.decode_into(&mut out).unwrap(), v);
        assert_eq!(d.decode_into(&mut [0u8; 2]), Err(EncodeError::BufferTooSmall { required: 3 }));
        // select '\x 01 02'::bytea  →  \x0102
        assert!(Bytea::decode_text(b"\\x 01 02").unwrap().iter().eq([1, 2]));
        // select 'a\\b\001'::bytea  →  \x615c6201
        assert!(Bytea::decode_text(b"a\\\\b\\001").unwrap().iter().eq(*b"a\\b\x01"));
        assert_eq!(Bytea::decode_text(b"abc").unwrap().as_slice(), Some(&b"abc"[..]));
    }

    #[test]
    fn errors() {
        for bad in [&b"\\x0"[..], b"\\x0 1", b"\\xzz", b"a\\", b"a\\9", b"\\4000", b"\\00"] {
            assert_eq!(Bytea::decode_text(bad), Err(DecodeError::InvalidValue), "{bad:?}");
        }
    }
}
