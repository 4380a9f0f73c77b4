//! `float4`, `float8`: shortest round-trip text (PostgreSQL 12+ default,
//! `extra_float_digits` ≥ 1), IEEE 754 big-endian binary.

use super::{FromValue, ToValue, fixed, trimmed};
use crate::error::{DecodeError, EncodeError};
use crate::format::Oid;
use crate::oid;
use crate::write::Sink;

/// The shortest round-trip digits of a finite float's magnitude, without
/// leading or trailing zeros, and the decimal exponent of the first one:
/// 1.5e-7 is `15` and -7; zero is `0` and 0.
struct Digits {
    buf: [u8; 24],
    len: usize,
    exponent: i32,
}

impl Digits {
    /// Reads a float printer's output: `123.0`, `0.00123`, `1e30`,
    /// `1.5e-7`, `5e+3` (decimal or exponential, no sign).
    fn parse(text: &[u8]) -> Result<Self, EncodeError> {
        let (mantissa, scale) = match text.iter().position(|&b| b == b'e' || b == b'E') {
            Some(at) => {
                let exponent = text.get(at + 1..).unwrap_or_default();
                let exponent = exponent.strip_prefix(b"+").unwrap_or(exponent);
                let scale: i32 = core::str::from_utf8(exponent)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or(EncodeError::InvalidValue)?;
                (text.get(..at).unwrap_or_default(), scale)
            }
            None => (text, 0),
        };
        let point = mantissa.iter().position(|&b| b == b'.').unwrap_or(mantissa.len());
        let mut digits = Digits { buf: [0; 24], len: 0, exponent: 0 };
        let mut first = None;
        for (i, &b) in mantissa.iter().enumerate() {
            if i == point {
                continue;
            }
            if !b.is_ascii_digit() {
                return Err(EncodeError::InvalidValue);
            }
            if first.is_none() {
                if b == b'0' {
                    continue;
                }
                // The power of ten of this digit's place.
                let (i, point) = (i as isize, point as isize);
                first = Some(if i < point { point - 1 - i } else { point - i });
            }
            *digits.buf.get_mut(digits.len).ok_or(EncodeError::InvalidValue)? = b;
            digits.len += 1;
        }
        while digits.len > 1 && digits.buf[digits.len - 1] == b'0' {
            digits.len -= 1;
        }
        match first {
            Some(place) => {
                let place = i32::try_from(place).map_err(|_| EncodeError::InvalidValue)?;
                digits.exponent = place.checked_add(scale).ok_or(EncodeError::InvalidValue)?;
            }
            None if mantissa.iter().any(u8::is_ascii_digit) => {
                digits.buf[0] = b'0';
                digits.len = 1;
            }
            None => return Err(EncodeError::InvalidValue),
        }
        Ok(digits)
    }

    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// Writes PostgreSQL's output for a finite float from its digits, given the
/// type's exponent switch point (`FLT_DIG` = 6, `DBL_DIG` = 15).
fn put_float<S: Sink>(out: &mut S, negative: bool, digits: &Digits, digits_limit: i32) -> Result<(), EncodeError> {
    let exp = digits.exponent;
    let digits = digits.as_bytes();
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
        out.put_slice(itoa::Buffer::new().format(e).as_bytes());
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
    // Exponential notation only: a bare "12" is refused.
    if !exponential.bytes().any(|b| b == b'e' || b == b'E') {
        return Err(EncodeError::InvalidValue);
    }
    let digits = Digits::parse(exponential.as_bytes())?;
    put_float(out, negative, &digits, if float4 { 6 } else { 15 })
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
                    const FIXED_BELOW: $t = 10i64.pow($dig) as $t;
                    let magnitude = v.abs();
                    let mut printer = ryu::Buffer::new();
                    let shortest = printer.format_finite(magnitude);
                    // Between 1e-4 and 10^digits both ryu and PostgreSQL write
                    // plain decimals with the same digits; ryu adds ".0" to
                    // whole numbers. Elsewhere the layouts differ: re-lay.
                    if (1e-4..FIXED_BELOW).contains(&magnitude) {
                        if v.is_sign_negative() {
                            out.put_u8(b'-');
                        }
                        out.put_slice(shortest.strip_suffix(".0").unwrap_or(shortest).as_bytes());
                    } else {
                        let digits = Digits::parse(shortest.as_bytes())?;
                        put_float(out, v.is_sign_negative(), &digits, $dig)?;
                    }
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
        // A tie between two shortest forms (the value is -1368175.25):
        // PostgreSQL 15 prints the even one; Rust's `{:e}` gives ...53.
        assert_text!(f32::from_bits(0xc9a7_037a), "-1.3681752e+06");
    }

    /// The plain-decimal shortcut writes what laying out the digits would.
    #[test]
    fn plain_decimal_shortcut_agrees_with_the_general_layout() {
        fn general(negative: bool, shortest: &str, dig: i32) -> std::vec::Vec<u8> {
            let mut buf = [0u8; 64];
            let mut sink = crate::write::SliceSink::new(&mut buf);
            put_float(&mut sink, negative, &Digits::parse(shortest.as_bytes()).unwrap(), dig).unwrap();
            let n = sink.position();
            buf[..n].to_vec()
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut doubles = std::vec![1e-4, 1e15, 1e14, 0.1, 1.0, 123.25, 999_999_999_999_999.9, -0.5, -7.0];
        doubles.extend([1e-4f64.next_down(), 1e-4f64.next_up(), 1e15f64.next_down()]);
        for _ in 0..200_000 {
            // Spread over the magnitudes around the range, whole numbers too.
            let exp = (next() % 24) as i32 - 6;
            let v = (next() >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi(exp);
            doubles.extend([v, -v, v.trunc()]);
        }
        for v in doubles {
            let (b, n) = text(v);
            let expected = general(v.is_sign_negative(), ryu::Buffer::new().format_finite(v.abs()), 15);
            assert_eq!(&b[..n], &expected[..], "{v:e}");
        }
        let mut floats = std::vec![1e-4f32, 1e6, 1e5, 999_999.94, -0.25, 1e-4f32.next_down(), 1e6f32.next_down()];
        for _ in 0..200_000 {
            let exp = (next() % 14) as i32 - 6;
            let v = (next() >> 40) as f32 / (1u32 << 24) as f32 * 10f32.powi(exp);
            floats.extend([v, -v, v.trunc()]);
        }
        for v in floats {
            let (b, n) = text(v);
            let expected = general(v.is_sign_negative(), ryu::Buffer::new().format_finite(v.abs()), 6);
            assert_eq!(&b[..n], &expected[..], "{v:e}");
        }
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
    fn digits_from_every_form_a_printer_writes() {
        fn parsed(text: &str) -> (std::string::String, i32) {
            let d = Digits::parse(text.as_bytes()).unwrap();
            (std::string::String::from_utf8(d.as_bytes().to_vec()).unwrap(), d.exponent)
        }
        // ryu's forms, then Rust's `{:e}` and JavaScript's.
        assert_eq!(parsed("123456.0"), ("123456".into(), 5));
        assert_eq!(parsed("12.34"), ("1234".into(), 1));
        assert_eq!(parsed("0.00123"), ("123".into(), -3));
        assert_eq!(parsed("1e30"), ("1".into(), 30));
        assert_eq!(parsed("1.5e-7"), ("15".into(), -7));
        assert_eq!(parsed("0.0"), ("0".into(), 0));
        assert_eq!(parsed("0e0"), ("0".into(), 0));
        assert_eq!(parsed("5e+3"), ("5".into(), 3));
        assert_eq!(parsed("100.0"), ("1".into(), 2));
        for bad in ["", ".", "e5", "1.2.3", "1e", "1ex", "-1.0", "1e99999999999"] {
            assert!(Digits::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    /// The text before ryu: Rust's shortest `{:e}`, laid out the same way.
    fn via_rust_exponential(v: f64, float4: bool) -> std::string::String {
        if v.is_nan() || v.is_infinite() {
            let (b, n) = if float4 { text(v as f32) } else { text(v) };
            return std::string::String::from_utf8(b[..n].to_vec()).unwrap();
        }
        let mut buf = [0u8; 64];
        let mut sink = crate::write::SliceSink::new(&mut buf);
        let e = if float4 { std::format!("{:e}", (v as f32).abs()) } else { std::format!("{:e}", v.abs()) };
        float_text_from_exponential(&mut sink, v.is_sign_negative(), &e, float4).unwrap();
        let n = sink.position();
        std::string::String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        /// Ours reads back as the same float and is no longer than Rust's
        /// shortest `{:e}` laid out the same way. The digits may differ on
        /// a tie: ryu, like PostgreSQL (whose float output is ryu), rounds
        /// half to even there.
        #[test]
        fn text_is_shortest_and_round_trips(bits: u64, bits4: u32) {
            let v = f64::from_bits(bits);
            let (b, n) = text(v);
            let ours = core::str::from_utf8(&b[..n]).unwrap();
            let back: f64 = ours.parse().unwrap();
            proptest::prop_assert!(back.to_bits() == v.to_bits() || (v.is_nan() && back.is_nan()), "{ours}");
            proptest::prop_assert!(ours.len() <= via_rust_exponential(v, false).len(), "{ours}");
            let v4 = f32::from_bits(bits4);
            let (b, n) = text(v4);
            let ours = core::str::from_utf8(&b[..n]).unwrap();
            let back: f32 = ours.parse().unwrap();
            proptest::prop_assert!(back.to_bits() == v4.to_bits() || (v4.is_nan() && back.is_nan()), "{ours}");
            proptest::prop_assert!(ours.len() <= via_rust_exponential(v4 as f64, true).len(), "{ours}");
        }
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
