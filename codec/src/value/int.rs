//! `int2`, `int4`, `int8` and `oid`: decimal text, big-endian binary.

use super::{FromValue, ToValue, fixed, trimmed};
use crate::error::{DecodeError, EncodeError};
use crate::format::Oid;
use crate::oid;
use crate::write::Sink;

macro_rules! int_value {
    ($t:ty, $oid:expr, $array:expr, $n:literal) => {
        impl ToValue for $t {
            const TYPE_OID: Oid = $oid;
            const ARRAY_OID: Oid = $array;
            fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
                out.put_slice(itoa::Buffer::new().format(*self).as_bytes());
                Ok(())
            }
            fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
                out.put_slice(&self.to_be_bytes());
                Ok(())
            }
        }

        impl FromValue<'_> for $t {
            fn decode_text(bytes: &[u8]) -> Result<Self, DecodeError> {
                trimmed(bytes)?.parse().map_err(|_| DecodeError::InvalidValue)
            }
            fn decode_binary(bytes: &[u8]) -> Result<Self, DecodeError> {
                Ok(<$t>::from_be_bytes(fixed::<$n>(bytes)?))
            }
        }
    };
}

int_value!(i16, oid::INT2, oid::INT2_ARRAY, 2);
int_value!(i32, oid::INT4, oid::INT4_ARRAY, 4);
int_value!(i64, oid::INT8, oid::INT8_ARRAY, 8);

/// `oid`: unsigned 32-bit.
impl ToValue for u32 {
    const TYPE_OID: Oid = oid::OID;
    const ARRAY_OID: Oid = oid::OID_ARRAY;
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        out.put_slice(itoa::Buffer::new().format(*self).as_bytes());
        Ok(())
    }
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        out.put_u32(*self);
        Ok(())
    }
}

impl FromValue<'_> for u32 {
    /// Like PostgreSQL's `oidin`, a negative 32-bit input wraps (`-1` is 4294967295).
    fn decode_text(bytes: &[u8]) -> Result<Self, DecodeError> {
        let s = trimmed(bytes)?;
        s.parse::<u32>().or_else(|_| s.parse::<i32>().map(|v| v as u32)).map_err(|_| DecodeError::InvalidValue)
    }
    fn decode_binary(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(u32::from_be_bytes(fixed::<4>(bytes)?))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::golden;
    use super::*;

    #[test]
    fn golden_bytes() {
        // select int2send(-2), int4send(5), int8send(-9223372036854775808), oidsend(4294967295)
        golden(-2i16, b"-2", b"\xff\xfe");
        golden(5i32, b"5", b"\x00\x00\x00\x05");
        golden(i64::MIN, b"-9223372036854775808", b"\x80\x00\x00\x00\x00\x00\x00\x00");
        golden(u32::MAX, b"4294967295", b"\xff\xff\xff\xff");
    }

    fn text<T: ToValue>(v: T) -> std::string::String {
        let (b, n) = super::super::test_util::enc(&v, crate::format::Format::Text);
        std::string::String::from_utf8(b[..n].to_vec()).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn text_is_the_decimal_form(a: i16, b: i32, c: i64, d: u32) {
            proptest::prop_assert_eq!(text(a), std::format!("{a}"));
            proptest::prop_assert_eq!(text(b), std::format!("{b}"));
            proptest::prop_assert_eq!(text(c), std::format!("{c}"));
            proptest::prop_assert_eq!(text(d), std::format!("{d}"));
        }
    }

    #[test]
    fn text_input() {
        assert_eq!(i32::decode_text(b"  +12 "), Ok(12));
        assert_eq!(u32::decode_text(b"-1"), Ok(u32::MAX));
        assert_eq!(i16::decode_text(b"32768"), Err(DecodeError::InvalidValue));
        assert_eq!(i32::decode_text(b""), Err(DecodeError::InvalidValue));
        assert_eq!(i32::decode_text(b"1 2"), Err(DecodeError::InvalidValue));
        assert_eq!(i64::decode_binary(b"\0\0\0\0"), Err(DecodeError::InvalidValue));
    }
}
