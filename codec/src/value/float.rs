//! `float4`, `float8`: shortest round-trip text (PostgreSQL 12+ default,
//! `extra_float_digits` ≥ 1), IEEE 754 big-endian binary.

use core::fmt::Write;

use super::{FromValue, StackBuf, ToValue, fixed, trimmed};
use crate::error::{DecodeError, EncodeError};
use crate::format::Oid;
use crate::oid;
use crate::write::Sink;

/// Writes PostgreSQL's output for a finite or special float, given Rust's
/// shortest `{:e}` form of its magnitude and the type's exponent switch point
/// (`FLT_DIG` = 6, `DBL_DIG` = 15).
fn put_float<S: Sink>(out: &mut S, negative: bool, sci: &[u8], digits_limit: i32) -> Result<(), EncodeError> {
    // `sci` looks like "1.2345e-7" or "5e3".
    let e_pos = sci.iter().position(|&b| b == b'e').ok_or(EncodeError::InvalidValue)?;
    let (mantissa, exp) = sci.split_at(e_pos);
    let exp: i32 = core::str::from_utf8(exp.get(1..).unwrap_or(&[]))
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(EncodeError::InvalidValue)?;
    let mut digits = [0u8; 24];
    let mut n = 0;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        *digits.get_mut(n).ok_or(EncodeError::InvalidValue)? = b;
        n += 1;
    }
    let digits = digits.get(..n).unwrap_or(&[]);
    if negative {
        out.put_u8(b'-');
    }
    if exp < -4 || exp >= digits_limit {
        let (first, rest) = digits.split_first().ok_or(EncodeError::InvalidValue)?;
        out.put_u8(*first);
        if !rest.is_empty() {
            out.put_u8(b'.');
            out.put_slice(rest);
        }
        out.put_u8(b'e');
        out.put_u8(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.put_u8(b'0');
        }
        super::put_display(out, &e)?;
    } else if exp < 0 {
        out.put_slice(b"0.");
        for _ in 0..(-exp - 1) {
            out.put_u8(b'0');
        }
        out.put_slice(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.put_slice(digits);
            for _ in digits.len()..int_len {
                out.put_u8(b'0');
            }
        } else {
            let (int, frac) = digits.split_at(int_len);
            out.put_slice(int);
            out.put_u8(b'.');
            out.put_slice(frac);
        }
    }
    Ok(())
}

/// PostgreSQL's text for a finite float (`float8out`, or `float4out` when
/// `float4`), laid out from the shortest round-trip digits of its magnitude
/// in exponential notation as another float printer writes them: Rust's
/// `{:e}` (`"1.5e-7"`, `"5e3"`) or JavaScript's `toExponential()`
/// (`"1.5e-7"`, `"5e+3"`). `negative` adds the sign (`-0` too).
///
/// For callers that already have such a printer: the WebAssembly package
/// uses the JavaScript engine's, which keeps Rust's float formatting out of
/// its module. [`ToValue::encode_text`] on `f32`/`f64` is this with Rust's.
///
/// ```
/// use postwire_codec::value::float_text_from_exponential;
/// use postwire_codec::write::SliceSink;
///
/// let mut buf = [0u8; 32];
/// let mut out = SliceSink::new(&mut buf);
/// float_text_from_exponential(&mut out, true, "1.25e+3", false)?;
/// float_text_from_exponential(&mut out, false, "1e+6", true)?;
/// let n = out.position();
/// assert_eq!(&buf[..n], b"-12501e+06");
/// # Ok::<(), postwire_codec::EncodeError>(())
/// ```
pub fn float_text_from_exponential<S: Sink>(
    out: &mut S,
    negative: bool,
    exponential: &str,
    float4: bool,
) -> Result<(), EncodeError> {
    put_float(out, negative, exponential.as_bytes(), if float4 { 6 } else { 15 })
}

macro_rules! float_value {
    ($t:ty, $oid:expr, $array:expr, $n:literal, $dig:literal) => {
        impl ToValue for $t {
            const TYPE_OID: Oid = $oid;
            const ARRAY_OID: Oid = $array;
            fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
                let v = *self;
                if v.is_nan() {
                    out.put_slice(b"NaN");
                } else if v.is_infinite() {
                    out.put_slice(if v < 0.0 { b"-Infinity" } else { b"Infinity" });
                } else {
                    let mut sci = StackBuf::<40>::new();
                    write!(sci, "{:e}", v.abs()).map_err(|_| EncodeError::InvalidValue)?;
                    put_float(out, v.is_sign_negative(), sci.as_bytes(), $dig)?;
                }
                Ok(())
            }
            fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
                out.put_slice(&self.to_bits().to_be_bytes());
                Ok(())
            }
        }

        impl FromValue<'_> for $t {
            /// Accepts decimal and exponent forms, `NaN`, `Infinity`, `inf`
            /// (any case, optional sign) and surrounding whitespace.
            fn decode_text(bytes: &[u8]) -> Result<Self, DecodeError> {
                let s = trimmed(bytes)?;
                let v: $t = s.parse().map_err(|_| DecodeError::InvalidValue)?;
                // PostgreSQL rejects out-of-range input instead of rounding it to infinity.
                let spelled_inf = s.bytes().any(|b| b.eq_ignore_ascii_case(&b'i'));
                if v.is_infinite() && !spelled_inf {
                    return Err(DecodeError::InvalidValue);
                }
                Ok(v)
            }
            fn decode_binary(bytes: &[u8]) -> Result<Self, DecodeError> {
                Ok(<$t>::from_be_bytes(fixed::<$n>(bytes)?))
            }
        }
    };
}

float_value!(f32, oid::FLOAT4, oid::FLOAT4_ARRAY, 4, 6);
float_value!(f64, oid::FLOAT8, oid::FLOAT8_ARRAY, 8, 15);

#[cfg(test)]
mod tests {
    use super::super::test_util::{enc, golden};
    use super::*;
    use crate::format::Format;

    fn text<T: ToValue>(v: T) -> ([u8; 256], usize) {
        enc(&v, Format::Text)
    }

    macro_rules! assert_text {
        ($v:expr, $s:expr) => {{
            let (b, n) = text($v);
            assert_eq!(core::str::from_utf8(&b[..n]).unwrap(), $s);
        }};
    }

    #[test]
    fn golden_bytes() {
        // select float8send(0.1), float4send(1.5), float8send('-Infinity')
        golden(0.1f64, b"0.1", b"\x3f\xb9\x99\x99\x99\x99\x99\x9a");
        golden(1.5f32, b"1.5", b"\x3f\xc0\x00\x00");
        golden(f64::NEG_INFINITY, b"-Infinity", b"\xff\xf0\x00\x00\x00\x00\x00\x00");
    }

    #[test]
    fn text_matches_postgres() {
        // Each checked with `select 'x'::float8` / `::float4` on PostgreSQL 15.
        assert_text!(1e15f64, "1e+15");
        assert_text!(1e14f64, "100000000000000");
        assert_text!(1e-5f64, "1e-05");
        assert_text!(1e-4f64, "0.0001");
        assert_text!(1e6f32, "1e+06");
        assert_text!(123456f32, "123456");
        assert_text!(0.1f32, "0.1");
        assert_text!(1.5e-45f32, "1e-45");
        assert_text!(-0.0f64, "-0");
        assert_text!(0.0f64, "0");
        assert_text!(f64::MAX, "1.7976931348623157e+308");
        assert_text!(-123.456f64, "-123.456");
        assert_text!(1.0f64 / 3.0, "0.3333333333333333");
        assert_text!(f32::NAN, "NaN");
        assert_text!(f32::INFINITY, "Infinity");
        assert_text!(12345678.9f64, "12345678.9");
        assert_text!(100f32, "100");
    }

    #[test]
    fn text_from_other_printers() {
        fn from_exp(negative: bool, e: &str, float4: bool) -> std::string::String {
            let mut buf = [0u8; 64];
            let mut sink = crate::write::SliceSink::new(&mut buf);
            float_text_from_exponential(&mut sink, negative, e, float4).unwrap();
            let n = sink.position();
            std::string::String::from_utf8(buf[..n].to_vec()).unwrap()
        }
        // JavaScript's `toExponential()` writes the exponent's sign.
        for v in [1e15f64, 1e14, 1e-5, 1e-4, 0.0, -0.0, f64::MAX, -123.456, 1.0 / 3.0, 12345678.9, 5e-324] {
            let (b, n) = text(v);
            let rust = std::format!("{:e}", v.abs());
            let js = rust.replace("e", "e+").replace("e+-", "e-");
            for e in [rust, js] {
                assert_eq!(from_exp(v.is_sign_negative(), &e, false).as_bytes(), &b[..n], "{e}");
            }
        }
        for v in [1e6f32, 123456.0, 0.1, 1.5e-45, 100.0, -3.4028235e38] {
            let (b, n) = text(v);
            let e = std::format!("{:e}", v.abs());
            assert_eq!(from_exp(v.is_sign_negative(), &e, true).as_bytes(), &b[..n], "{e}");
        }
        let mut buf = [0u8; 8];
        assert!(float_text_from_exponential(&mut crate::write::SliceSink::new(&mut buf), false, "12", false).is_err());
    }

    #[test]
    fn text_input() {
        assert_eq!(f64::decode_text(b" -Infinity "), Ok(f64::NEG_INFINITY));
        assert_eq!(f64::decode_text(b"inf"), Ok(f64::INFINITY));
        assert!(f64::decode_text(b"NaN").unwrap().is_nan());
        assert_eq!(f64::decode_text(b"1e400"), Err(DecodeError::InvalidValue));
        assert_eq!(f32::decode_text(b"1e39"), Err(DecodeError::InvalidValue));
        assert_eq!(f64::decode_text(b"x"), Err(DecodeError::InvalidValue));
    }
}
