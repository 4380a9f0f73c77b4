//! `uuid`: 16 bytes; text is lowercase and hyphenated.

use super::{FromValue, ToValue, fixed, trimmed};
use crate::error::{DecodeError, EncodeError};
use crate::format::Oid;
use crate::oid;
use crate::write::Sink;

/// A `uuid` value: its 16 bytes in network order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Uuid(pub [u8; 16]);

impl ToValue for Uuid {
    const TYPE_OID: Oid = oid::UUID;
    const ARRAY_OID: Oid = oid::UUID_ARRAY;
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, &b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out.put_u8(b'-');
            }
            out.put_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
        Ok(())
    }
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        out.put_slice(&self.0);
        Ok(())
    }
}

impl FromValue<'_> for Uuid {
    /// Like `uuid_in`: 32 hex digits in any case, optionally in braces, with
    /// an optional hyphen after any group of four digits.
    fn decode_text(bytes: &[u8]) -> Result<Self, DecodeError> {
        let s = trimmed(bytes)?.as_bytes();
        let s = match s {
            [b'{', inner @ .., b'}'] => inner,
            _ => s,
        };
        let mut out = [0u8; 16];
        let mut n = 0usize; // hex digits read
        let mut prev_hyphen = true; // no hyphen first
        for &c in s {
            if c == b'-' {
                if prev_hyphen || !n.is_multiple_of(4) || n == 32 {
                    return Err(DecodeError::InvalidValue);
                }
                prev_hyphen = true;
                continue;
            }
            prev_hyphen = false;
            let v = (c as char).to_digit(16).ok_or(DecodeError::InvalidValue)? as u8;
            let byte = out.get_mut(n / 2).ok_or(DecodeError::InvalidValue)?;
            *byte = (*byte << 4) | v;
            n += 1;
        }
        if n != 32 || prev_hyphen {
            return Err(DecodeError::InvalidValue);
        }
        Ok(Uuid(out))
    }
    fn decode_binary(bytes: &[u8]) -> Result<Self, DecodeError> {
        fixed::<16>(bytes).map(Uuid)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::golden;
    use super::*;

    const BYTES: [u8; 16] = *b"\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11";

    #[test]
    fn golden_bytes() {
        // select uuid_send('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')
        golden(Uuid(BYTES), b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", &BYTES);
        // Both accepted by PostgreSQL 15.
        assert_eq!(Uuid::decode_text(b"A0EEBC99-9C0B4EF8-BB6D-6BB9BD380A11"), Ok(Uuid(BYTES)));
        assert_eq!(Uuid::decode_text(b"{a0eebc999c0b4ef8bb6d6bb9bd380a11}"), Ok(Uuid(BYTES)));
    }

    #[test]
    fn errors() {
        for bad in [
            &b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"[..],
            b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
            b"-a0eebc999c0b4ef8bb6d6bb9bd380a11",
            b"a0eebc999c0b4ef8bb6d6bb9bd380a11-",
            b"a0e-ebc999c0b4ef8bb6d6bb9bd380a11",
            b"a0eebc99--9c0b4ef8bb6d6bb9bd380a11",
            b"g0eebc999c0b4ef8bb6d6bb9bd380a11",
        ] {
            assert_eq!(Uuid::decode_text(bad), Err(DecodeError::InvalidValue));
        }
        assert_eq!(Uuid::decode_binary(&[0; 15]), Err(DecodeError::InvalidValue));
    }
}
