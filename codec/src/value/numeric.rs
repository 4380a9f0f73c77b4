//! `numeric`: arbitrary-precision decimals, as a borrowed view.
//!
//! [`Numeric`] wraps whichever form it was decoded from (the text, the
//! base-10000 binary digits) or built from (an integer) and presents them all
//! in PostgreSQL's canonical form: the one `numeric_send` would produce after
//! the server read the value. So a text value can be re-sent as binary and the
//! other way round without allocating: base-10000 groups are computed on the
//! fly from the decimal digits, and text is written digit by digit.
//!
//! Binary layout (`numeric_send`): `u16` ndigits, `i16` weight (power of
//! 10000 of the first digit), `u16` sign, `u16` display scale, then ndigits
//! base-10000 digits.

use core::fmt;

use super::{FromValue, ToValue};
use crate::error::{DecodeError, EncodeError};
use crate::format::Oid;
use crate::oid;
use crate::write::Sink;

const SIGN_POSITIVE: u16 = 0x0000;
const SIGN_NEGATIVE: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_INFINITY: u16 = 0xD000;
const SIGN_NEG_INFINITY: u16 = 0xF000;
/// Largest display scale PostgreSQL stores.
const MAX_DSCALE: u16 = 0x3FFF;
/// `numeric_send` leaks header bits of the infinities into the scale field.
const INFINITY_WIRE_DSCALE: u16 = 0x20;
/// `numeric_in` rejects exponents of `INT_MAX / 2` or more.
const MAX_EXPONENT: i64 = (i32::MAX / 2) as i64;

/// What a [`Numeric`] is: a finite number's sign, or one of the special values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NumericSign {
    /// Zero or a positive number.
    Positive,
    /// A negative number (never zero: PostgreSQL has no negative zero).
    Negative,
    /// Not a number.
    NaN,
    /// `Infinity`.
    Infinity,
    /// `-Infinity`.
    NegativeInfinity,
}

impl NumericSign {
    /// The sign field of the binary format.
    pub const fn to_wire(self) -> u16 {
        match self {
            NumericSign::Positive => SIGN_POSITIVE,
            NumericSign::Negative => SIGN_NEGATIVE,
            NumericSign::NaN => SIGN_NAN,
            NumericSign::Infinity => SIGN_INFINITY,
            NumericSign::NegativeInfinity => SIGN_NEG_INFINITY,
        }
    }

    /// Reads the sign field of the binary format.
    pub const fn from_wire(v: u16) -> Option<Self> {
        Some(match v {
            SIGN_POSITIVE => NumericSign::Positive,
            SIGN_NEGATIVE => NumericSign::Negative,
            SIGN_NAN => NumericSign::NaN,
            SIGN_INFINITY => NumericSign::Infinity,
            SIGN_NEG_INFINITY => NumericSign::NegativeInfinity,
            _ => return None,
        })
    }

    /// Whether this is a finite number's sign.
    pub const fn is_finite(self) -> bool {
        matches!(self, NumericSign::Positive | NumericSign::Negative)
    }
}

/// Where the base-10000 digits come from.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// No digits (zero and the special values).
    Empty,
    /// Big-endian `u16` digits, leading and trailing zero groups removed;
    /// digits below the display scale are cut off when read.
    Binary(&'a [u8]),
    /// ASCII decimal digits around the point; `top` is the power of ten of
    /// the first digit of `int ++ frac`.
    Text { int: &'a [u8], frac: &'a [u8], top: i64 },
    /// An integer's magnitude.
    Int(u128),
}

/// A PostgreSQL `numeric` value, borrowed from its text or binary form (or
/// built from an integer), always seen in canonical form.
///
/// * [`Display`](fmt::Display) and the text encoding give `numeric_out`'s
///   output: `0`, `-1.50`, `0.0001`, `NaN`, `Infinity`, `-Infinity`.
/// * The binary encoding gives what `numeric_send` gives for the value:
///   leading and trailing zero digits removed, zero has no digits and a
///   positive sign, digits beyond the display scale dropped.
/// * Equality compares that canonical form, so `1.0` and `1.00` differ (they
///   have different scales) while `1e2` and `100` are equal.
///
/// Decoding validates everything (text syntax as PostgreSQL 15's
/// `numeric_in` accepts it; digit range, length, sign and scale of binary
/// input, and the weight and scale limits of the storage format), so the
/// accessors cannot fail afterwards.
///
/// ```
/// use postwire_codec::value::{FromValue, Numeric, ToValue};
/// use postwire_codec::write::SliceSink;
///
/// let n = Numeric::parse("  -1.5e1 ")?;
/// assert_eq!(n.to_string(), "-15");
/// let mut buf = [0u8; 16];
/// let mut sink = SliceSink::new(&mut buf);
/// n.encode_binary(&mut sink)?;
/// let len = sink.position();
/// assert_eq!(&buf[..len], b"\x00\x01\x00\x00\x40\x00\x00\x00\x00\x0f");
/// assert_eq!(Numeric::decode_binary(&buf[..len])?, n);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy)]
pub struct Numeric<'a> {
    sign: NumericSign,
    weight: i16,
    dscale: u16,
    ndigits: u16,
    source: Source<'a>,
}

impl<'a> Numeric<'a> {
    /// `NaN`.
    pub const NAN: Numeric<'static> = Numeric::special(NumericSign::NaN);
    /// `Infinity`.
    pub const INFINITY: Numeric<'static> = Numeric::special(NumericSign::Infinity);
    /// `-Infinity`.
    pub const NEG_INFINITY: Numeric<'static> = Numeric::special(NumericSign::NegativeInfinity);
    /// `0`.
    pub const ZERO: Numeric<'static> = Numeric::special(NumericSign::Positive);

    const fn special(sign: NumericSign) -> Numeric<'static> {
        Numeric { sign, weight: 0, dscale: 0, ndigits: 0, source: Source::Empty }
    }

    /// Parses PostgreSQL's text input (as `numeric_in` does): surrounding
    /// whitespace, an optional sign, digits with an optional point, an
    /// optional exponent (`e-3`), or `NaN`, `Infinity`, `inf` (any case, the
    /// infinities optionally signed).
    pub fn parse(s: &'a str) -> Result<Self, DecodeError> {
        parse_text(s.as_bytes())
    }

    /// Reads the binary format (`numeric_recv`'s input).
    pub fn from_binary(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        parse_binary(bytes)
    }

    /// The sign, or which special value this is.
    pub fn sign(&self) -> NumericSign {
        self.sign
    }

    /// Whether this is `NaN`.
    pub fn is_nan(&self) -> bool {
        self.sign == NumericSign::NaN
    }

    /// Whether this is `Infinity` or `-Infinity`.
    pub fn is_infinite(&self) -> bool {
        matches!(self.sign, NumericSign::Infinity | NumericSign::NegativeInfinity)
    }

    /// Whether this is a finite number.
    pub fn is_finite(&self) -> bool {
        self.sign.is_finite()
    }

    /// Whether this is zero (of any scale).
    pub fn is_zero(&self) -> bool {
        self.is_finite() && self.ndigits == 0
    }

    /// The power of 10000 of the first digit (0 for zero and special values).
    pub fn weight(&self) -> i16 {
        self.weight
    }

    /// The display scale: digits shown after the decimal point.
    pub fn scale(&self) -> u16 {
        self.dscale
    }

    /// The base-10000 digits, most significant first, each `0..=9999`; no
    /// leading or trailing zero digits.
    pub fn digits(&self) -> NumericDigits<'a> {
        NumericDigits { n: *self, next: 0, end: self.ndigits }
    }

    /// The digit at index `i` (power `weight - i`); `i < ndigits`.
    fn group(&self, i: u16) -> u16 {
        let power = i32::from(self.weight) - i32::from(i);
        match self.source {
            Source::Empty => 0,
            Source::Binary(raw) => truncate_to_scale(be_u16(raw, usize::from(i) * 2), power, self.dscale),
            Source::Text { int, frac, top } => {
                let low = i64::from(power) * 4;
                let mut v = 0u16;
                for e in (low..low + 4).rev() {
                    v = v * 10 + decimal_digit(int, frac, top, e);
                }
                v
            }
            Source::Int(mag) => {
                let mut m = mag;
                for _ in 0..power.max(0) {
                    m /= 10_000;
                }
                (m % 10_000) as u16
            }
        }
    }

    /// The digit at power `p` of 10000, or 0 outside the stored digits.
    fn group_at(&self, p: i32) -> u16 {
        let i = i32::from(self.weight) - p;
        match u16::try_from(i) {
            Ok(i) if i < self.ndigits => self.group(i),
            _ => 0,
        }
    }

    /// Writes `numeric_out`'s text.
    fn write_text<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        match self.sign {
            NumericSign::NaN => return w.write_str("NaN"),
            NumericSign::Infinity => return w.write_str("Infinity"),
            NumericSign::NegativeInfinity => return w.write_str("-Infinity"),
            NumericSign::Negative => w.write_str("-")?,
            NumericSign::Positive => {}
        }
        let weight = i32::from(self.weight);
        if weight < 0 {
            w.write_str("0")?;
        } else {
            let mut first = true;
            for p in (0..=weight).rev() {
                let g = self.group_at(p);
                if first {
                    write_group(w, g, first_group_width(g))?;
                    first = false;
                } else {
                    write_group(w, g, 4)?;
                }
            }
        }
        if self.dscale > 0 {
            w.write_str(".")?;
            let mut left = self.dscale;
            let mut p = -1;
            while left > 0 {
                let n = left.min(4);
                let g = self.group_at(p) / 10u16.pow(u32::from(4 - n));
                write_group(w, g, n)?;
                left -= n;
                p -= 1;
            }
        }
        Ok(())
    }

    fn canonical_eq(&self, other: &Numeric<'_>) -> bool {
        self.sign == other.sign
            && self.weight == other.weight
            && self.dscale == other.dscale
            && self.ndigits == other.ndigits
            && self.digits().eq(other.digits())
    }

    /// The integer value, if this is a finite number without a fractional part
    /// and fits in `i128`.
    pub fn to_i128(&self) -> Option<i128> {
        if !self.is_finite() || i32::from(self.weight) - i32::from(self.ndigits) + 1 < 0 {
            return None;
        }
        let mut acc: i128 = 0;
        for p in (0..=i32::from(self.weight)).rev() {
            let g = i128::from(self.group_at(p));
            // Accumulate negatively so i128::MIN fits.
            acc = acc.checked_mul(10_000)?.checked_sub(g)?;
        }
        if self.sign == NumericSign::Negative { Some(acc) } else { acc.checked_neg() }
    }

    /// The integer value, if this is a finite number without a fractional part
    /// and fits in `i64`.
    pub fn to_i64(&self) -> Option<i64> {
        self.to_i128().and_then(|v| i64::try_from(v).ok())
    }
}

/// Keeps only the decimal digits of `d` (at power `power` of 10000) that a
/// display scale of `dscale` shows.
fn truncate_to_scale(d: u16, power: i32, dscale: u16) -> u16 {
    if power >= 0 {
        return d;
    }
    // Decimal places before this group.
    let before = (-power - 1) * 4;
    let shown = (i32::from(dscale) - before).clamp(0, 4);
    let unit = [10_000, 1000, 100, 10, 1][shown as usize];
    d / unit * unit
}

fn first_group_width(g: u16) -> u16 {
    match g {
        1000.. => 4,
        100.. => 3,
        10.. => 2,
        _ => 1,
    }
}

/// Writes the low `width` decimal digits of `g`, zero-padded.
fn write_group<W: fmt::Write>(w: &mut W, g: u16, width: u16) -> fmt::Result {
    let digits =
        [b'0' + (g / 1000 % 10) as u8, b'0' + (g / 100 % 10) as u8, b'0' + (g / 10 % 10) as u8, b'0' + (g % 10) as u8];
    let from = 4usize.saturating_sub(usize::from(width));
    let s = core::str::from_utf8(digits.get(from..).unwrap_or(&[])).map_err(|_| fmt::Error)?;
    w.write_str(s)
}

/// The decimal digit at power `e` of ten in `int ++ frac` whose first digit
/// is at power `top`.
fn decimal_digit(int: &[u8], frac: &[u8], top: i64, e: i64) -> u16 {
    let Some(j) = top.checked_sub(e).and_then(|j| usize::try_from(j).ok()) else {
        return 0;
    };
    let b = match j.checked_sub(int.len()) {
        None => int.get(j),
        Some(k) => frac.get(k),
    };
    b.map_or(0, |b| u16::from(b.wrapping_sub(b'0')) % 10)
}

/// Iterator over the base-10000 digits of a [`Numeric`], from
/// [`Numeric::digits`].
#[derive(Clone)]
pub struct NumericDigits<'a> {
    n: Numeric<'a>,
    next: u16,
    end: u16,
}

impl Iterator for NumericDigits<'_> {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        if self.next >= self.end {
            return None;
        }
        let d = self.n.group(self.next);
        self.next += 1;
        Some(d)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.end.saturating_sub(self.next));
        (n, Some(n))
    }
}

impl DoubleEndedIterator for NumericDigits<'_> {
    fn next_back(&mut self) -> Option<u16> {
        if self.next >= self.end {
            return None;
        }
        self.end -= 1;
        Some(self.n.group(self.end))
    }
}

impl ExactSizeIterator for NumericDigits<'_> {}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r')
}

fn strip_prefix_ignore_case<'s>(s: &'s [u8], prefix: &[u8]) -> Option<&'s [u8]> {
    let (head, tail) = s.split_at_checked(prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then_some(tail)
}

fn parse_text(bytes: &[u8]) -> Result<Numeric<'_>, DecodeError> {
    const BAD: DecodeError = DecodeError::InvalidValue;
    let mut s = bytes;
    while let [b, rest @ ..] = s {
        if !is_c_space(*b) {
            break;
        }
        s = rest;
    }
    // Same order as numeric_in: the long spellings win over `inf`.
    let specials: [(&[u8], NumericSign); 7] = [
        (b"NaN", NumericSign::NaN),
        (b"Infinity", NumericSign::Infinity),
        (b"+Infinity", NumericSign::Infinity),
        (b"-Infinity", NumericSign::NegativeInfinity),
        (b"inf", NumericSign::Infinity),
        (b"+inf", NumericSign::Infinity),
        (b"-inf", NumericSign::NegativeInfinity),
    ];
    let (n, rest) = match specials.iter().find_map(|(p, sign)| Some((*sign, strip_prefix_ignore_case(s, p)?))) {
        Some((sign, rest)) => (Numeric::special(sign), rest),
        None => parse_decimal(s)?,
    };
    if !rest.iter().all(|&b| is_c_space(b)) {
        return Err(BAD);
    }
    Ok(n)
}

/// Parses a finite decimal at the start of `s`, returning it and the rest.
fn parse_decimal(s: &[u8]) -> Result<(Numeric<'_>, &[u8]), DecodeError> {
    const BAD: DecodeError = DecodeError::InvalidValue;
    let (negative, s) = match s {
        [b'+', rest @ ..] => (false, rest),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    let int_len = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let (int, after) = s.split_at(int_len);
    let (frac, rest) = match after {
        [b'.', tail @ ..] => {
            let n = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            tail.split_at(n)
        }
        _ => (&[][..], after),
    };
    if int.is_empty() && frac.is_empty() {
        return Err(BAD);
    }
    if rest.first() == Some(&b'.') {
        return Err(BAD);
    }
    let (exponent, rest) = match rest {
        [b'e' | b'E', tail @ ..] => parse_exponent(tail)?,
        _ => (0, rest),
    };

    let int_digits = i64::try_from(int.len()).map_err(|_| BAD)?;
    let frac_digits = i64::try_from(frac.len()).map_err(|_| BAD)?;
    let top = int_digits - 1 + exponent;
    let dscale = u16::try_from((frac_digits - exponent).max(0)).ok().filter(|&d| d <= MAX_DSCALE).ok_or(BAD)?;

    let all = || int.iter().chain(frac.iter());
    let first = all().position(|&b| b != b'0');
    let last = match frac.iter().rposition(|&b| b != b'0') {
        Some(k) => Some(int.len() + k),
        None => int.iter().rposition(|&b| b != b'0'),
    };
    let (sign, weight, ndigits) = match (first, last) {
        (Some(first), Some(last)) => {
            let first = i64::try_from(first).map_err(|_| BAD)?;
            let last = i64::try_from(last).map_err(|_| BAD)?;
            let high = (top - first).div_euclid(4);
            let low = (top - last).div_euclid(4);
            let weight = i16::try_from(high).map_err(|_| BAD)?;
            let ndigits = u16::try_from(high - low + 1).map_err(|_| BAD)?;
            let sign = if negative { NumericSign::Negative } else { NumericSign::Positive };
            (sign, weight, ndigits)
        }
        _ => (NumericSign::Positive, 0, 0),
    };
    Ok((Numeric { sign, weight, dscale, ndigits, source: Source::Text { int, frac, top } }, rest))
}

/// Parses the exponent like C's `strtol`: leading whitespace, optional sign,
/// at least one digit.
fn parse_exponent(s: &[u8]) -> Result<(i64, &[u8]), DecodeError> {
    let mut s = s;
    while let [b, rest @ ..] = s {
        if !is_c_space(*b) {
            break;
        }
        s = rest;
    }
    let (negative, s) = match s {
        [b'+', rest @ ..] => (false, rest),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return Err(DecodeError::InvalidValue);
    }
    let (digits, rest) = s.split_at(n);
    let magnitude = digits.iter().fold(0i64, |acc, &b| acc.saturating_mul(10).saturating_add(i64::from(b - b'0')));
    if magnitude >= MAX_EXPONENT {
        return Err(DecodeError::InvalidValue);
    }
    Ok((if negative { -magnitude } else { magnitude }, rest))
}

/// The big-endian `u16` at `at` (0 past the end; callers check lengths first).
fn be_u16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at.saturating_add(2)) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

fn parse_binary(bytes: &[u8]) -> Result<Numeric<'_>, DecodeError> {
    const BAD: DecodeError = DecodeError::InvalidValue;
    let (header, raw) = bytes.split_at_checked(8).ok_or(BAD)?;
    let field = |at: usize| be_u16(header, at);
    let ndigits = usize::from(field(0));
    let weight = field(2) as i16;
    let sign = NumericSign::from_wire(field(4)).ok_or(BAD)?;
    let dscale = field(6);
    if dscale > MAX_DSCALE || raw.len() != ndigits * 2 {
        return Err(BAD);
    }
    if (0..ndigits).any(|i| be_u16(raw, i * 2) > 9999) {
        return Err(BAD);
    }
    if !sign.is_finite() {
        // numeric_recv ignores everything else of a special value.
        return Ok(Numeric::special(sign));
    }
    // Like numeric_recv: drop digits hidden by the scale, then zero groups.
    let visible = |i: usize| {
        let d = be_u16(raw, i * 2);
        let power = i32::from(weight) - i32::try_from(i).unwrap_or(i32::MAX);
        truncate_to_scale(d, power, dscale) != 0
    };
    let first = (0..ndigits).position(visible);
    let last = (0..ndigits).rposition(visible);
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(Numeric { dscale, ..Numeric::ZERO });
    };
    let new_weight = i32::from(weight) - i32::try_from(first).map_err(|_| BAD)?;
    Ok(Numeric {
        sign,
        weight: i16::try_from(new_weight).map_err(|_| BAD)?,
        dscale,
        ndigits: u16::try_from(last - first + 1).map_err(|_| BAD)?,
        source: Source::Binary(raw.get(first * 2..(last + 1) * 2).ok_or(BAD)?),
    })
}

impl fmt::Display for Numeric<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f)
    }
}

impl fmt::Debug for Numeric<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Numeric({self})")
    }
}

impl PartialEq<Numeric<'_>> for Numeric<'_> {
    fn eq(&self, other: &Numeric<'_>) -> bool {
        self.canonical_eq(other)
    }
}

impl Eq for Numeric<'_> {}

impl ToValue for Numeric<'_> {
    const TYPE_OID: Oid = oid::NUMERIC;
    const ARRAY_OID: Oid = oid::NUMERIC_ARRAY;

    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        self.write_text(&mut super::FmtSink(out)).map_err(|_| EncodeError::InvalidValue)
    }

    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        let dscale = match self.sign {
            NumericSign::Infinity | NumericSign::NegativeInfinity => INFINITY_WIRE_DSCALE,
            _ => self.dscale,
        };
        out.put_u16(self.ndigits);
        out.put_i16(self.weight);
        out.put_u16(self.sign.to_wire());
        out.put_u16(dscale);
        for d in self.digits() {
            out.put_u16(d);
        }
        Ok(())
    }
}

impl<'a> FromValue<'a> for Numeric<'a> {
    fn decode_text(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        parse_text(bytes)
    }

    fn decode_binary(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        parse_binary(bytes)
    }
}

impl From<i128> for Numeric<'static> {
    fn from(v: i128) -> Self {
        let mag = v.unsigned_abs();
        if mag == 0 {
            return Numeric::ZERO;
        }
        let mut groups = 0u16;
        let mut trailing_zero_groups = 0u16;
        let mut m = mag;
        let mut seen_nonzero = false;
        while m > 0 {
            if m.is_multiple_of(10_000) && !seen_nonzero {
                trailing_zero_groups += 1;
            } else {
                seen_nonzero = true;
            }
            m /= 10_000;
            groups += 1;
        }
        Numeric {
            sign: if v < 0 { NumericSign::Negative } else { NumericSign::Positive },
            weight: groups as i16 - 1,
            dscale: 0,
            ndigits: groups - trailing_zero_groups,
            source: Source::Int(mag),
        }
    }
}

impl From<i64> for Numeric<'static> {
    fn from(v: i64) -> Self {
        Numeric::from(i128::from(v))
    }
}

impl From<i32> for Numeric<'static> {
    fn from(v: i32) -> Self {
        Numeric::from(i128::from(v))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::{String, ToString};
    use std::vec::Vec;

    use super::*;
    use crate::format::Format;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn encoded(n: &Numeric<'_>, format: Format) -> Vec<u8> {
        let mut buf = std::vec![0u8; 200_000];
        let mut sink = crate::write::SliceSink::new(&mut buf);
        n.encode(format, &mut sink).unwrap();
        assert!(!sink.overflowed());
        let len = sink.position();
        buf.truncate(len);
        buf
    }

    /// (input text, `input::numeric::text`, `numeric_send(input::numeric)`),
    /// each taken from PostgreSQL 15.
    const GOLDEN: &[(&str, &str, &str)] = &[
        ("0", "0", "0000000000000000"),
        ("0.00", "0.00", "0000000000000002"),
        ("-0.0", "0.0", "0000000000000001"),
        ("-0e5", "0", "0000000000000000"),
        ("100", "100", "00010000000000000064"),
        ("1e3", "1000", "000100000000000003e8"),
        ("-0.0010", "-0.0010", "0001ffff40000004000a"),
        ("1", "1", "00010000000000000001"),
        ("-1.50", "-1.50", "000200004000000200011388"),
        ("10000", "10000", "00010001000000000001"),
        ("0.0001", "0.0001", "0001ffff000000040001"),
        ("NaN", "NaN", "00000000c0000000"),
        ("nan", "NaN", "00000000c0000000"),
        ("Infinity", "Infinity", "00000000d0000020"),
        ("infinity", "Infinity", "00000000d0000020"),
        ("-Infinity", "-Infinity", "00000000f0000020"),
        (" -inf ", "-Infinity", "00000000f0000020"),
        ("-INF", "-Infinity", "00000000f0000020"),
        ("12345.6789", "12345.6789", "0003000100000004000109291a85"),
        ("1e-20", "0.00000000000000000001", "0001fffb000000140001"),
        ("99999999", "99999999", "0002000100000000270f270f"),
        ("12345678", "12345678", "000200010000000004d2162e"),
        (
            "1e100",
            "10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            "00010019000000000001",
        ),
        (
            "123456789012345678901234567890.123456789",
            "123456789012345678901234567890.123456789",
            "000b000700000009000c0d801ed204d2162e23340d801ed204d2162e2328",
        ),
        ("0.000001", "0.000001", "0001fffe000000060064"),
        ("1.5e-5", "0.000015", "0001fffe0000000605dc"),
        ("-9223372036854775808", "-9223372036854775808", "0005000440000000039a0d2c0170156516b0"),
        (
            "170141183460469231731687303715884105727",
            "170141183460469231731687303715884105727",
            "000a00090000000000aa0583209a01d5090d0c601c871bf620da165f",
        ),
        ("3.14159265358979323846", "3.14159265358979323846", "00060000000000140003058724310e051efc0f06"),
        ("-99999.99990000", "-99999.99990000", "00030001400000080009270f270f"),
        (
            "0.00000000000000000000000000000000000001234",
            "0.00000000000000000000000000000000000001234",
            "0002fff600000029007b0fa0",
        ),
        ("5e-1", "0.5", "0001ffff000000011388"),
        (".5", "0.5", "0001ffff000000011388"),
        ("-.5", "-0.5", "0001ffff400000011388"),
        ("5.", "5", "00010000000000000005"),
        ("  +12.e2 ", "1200", "000100000000000004b0"),
        ("1e 5", "100000", "0001000100000000000a"),
        ("\u{b}1\u{b}", "1", "00010000000000000001"),
        ("-12.345e2", "-1234.5", "000200004000000104d21388"),
        ("0.000000000000000000000000001e27", "1", "00010000000000000001"),
        ("+000123.4500", "123.4500", "0002000000000004007b1194"),
        ("987654321e-30", "0.000000000000000000000987654321", "0003fffa0000001e03db198f0834"),
        ("0.1e-3", "0.0001", "0001ffff000000040001"),
        ("1.23E+2", "123", "0001000000000000007b"),
    ];

    #[test]
    fn golden_pairs() {
        for &(input, text, binary) in GOLDEN {
            let binary = hex(binary);
            let from_text = Numeric::decode_text(input.as_bytes()).unwrap();
            assert_eq!(from_text.to_string(), text, "{input:?}");
            assert_eq!(encoded(&from_text, Format::Text), text.as_bytes(), "{input:?}");
            assert_eq!(encoded(&from_text, Format::Binary), binary, "{input:?}");
            let from_binary = Numeric::decode_binary(&binary).unwrap();
            assert_eq!(from_binary, from_text, "{input:?}");
            assert_eq!(from_binary.to_string(), text, "{input:?}");
            assert_eq!(encoded(&from_binary, Format::Binary), binary, "{input:?}");
            let canonical = Numeric::decode_text(text.as_bytes()).unwrap();
            assert_eq!(canonical, from_text, "{input:?}");
        }
    }

    #[test]
    fn extremes() {
        // '1e-16383', '0e-16383', '1e131071', '1e-200' on PostgreSQL 15.
        let cases: [(&str, &str, String); 4] = [
            ("1e-16383", "0001f00000003fff000a", String::from("0.") + &"0".repeat(16382) + "1"),
            ("0e-16383", "0000000000003fff", String::from("0.") + &"0".repeat(16383)),
            ("1e131071", "00017fff0000000003e8", String::from("1") + &"0".repeat(131071)),
            ("1e-200", "0001ffce000000c80001", String::from("0.") + &"0".repeat(199) + "1"),
        ];
        for (input, binary, text) in cases {
            let n = Numeric::parse(input).unwrap();
            assert_eq!(encoded(&n, Format::Binary), hex(binary), "{input}");
            assert_eq!(n.to_string(), text, "{input}");
            let b = hex(binary);
            assert_eq!(Numeric::decode_binary(&b).unwrap().to_string(), text);
        }
        // Overflow of the storage format.
        for input in ["1e-16384", "0e-16384", "1e131072", "0e1073741823", "1e99999999999999999999"] {
            assert_eq!(Numeric::parse(input), Err(DecodeError::InvalidValue), "{input}");
        }
        assert_eq!(Numeric::parse("0e1073741822").unwrap().to_string(), "0");
        assert_eq!(Numeric::parse("0e-1073741822"), Err(DecodeError::InvalidValue));
    }

    #[test]
    fn bad_text() {
        for input in [
            "", " ", "1e+ 5", "1e", ".e5", "1..2", "1.2.3", "+NaN", "-NaN", "infinit", "1_000", "0x10", "--1", "+",
            "-", ".", "1 2", "1e5.5", "١", "NaN x", "e5", "1,5",
        ] {
            assert_eq!(Numeric::decode_text(input.as_bytes()), Err(DecodeError::InvalidValue), "{input:?}");
        }
        assert_eq!(Numeric::decode_text(b"\xff"), Err(DecodeError::InvalidValue));
    }

    #[test]
    fn binary_validation() {
        let ok = hex("000200004000000200011388");
        // Truncation at every position, and a trailing byte.
        for n in 0..ok.len() {
            assert_eq!(Numeric::decode_binary(&ok[..n]), Err(DecodeError::InvalidValue), "{n}");
        }
        let mut long = ok.clone();
        long.push(0);
        assert_eq!(Numeric::decode_binary(&long), Err(DecodeError::InvalidValue));
        // Digit 10000, bad sign, scale above 0x3FFF.
        for bad in ["00010000000000002710", "0001000000000000002710", "00010000100000000001", "0000000000004000"] {
            let b = hex(bad);
            assert_eq!(Numeric::decode_binary(&b), Err(DecodeError::InvalidValue), "{bad}");
        }
        // Special values ignore weight, scale and (valid) digits.
        assert!(Numeric::decode_binary(&hex("00010005c00000070001")).unwrap().is_nan());
        assert_eq!(Numeric::decode_binary(&hex("00000000d0000000")).unwrap(), Numeric::INFINITY);
    }

    #[test]
    fn binary_is_canonicalised_like_numeric_recv() {
        // Leading and trailing zero digits, a negative zero, digits hidden by the
        // scale: each loaded with COPY FROM (FORMAT binary) into PostgreSQL 15
        // and read back as text and with numeric_send.
        let cases = [
            ("0003000100000000000000010000", "1", "00010000000000000001"),
            ("000200004000000000000000", "0", "0000000000000000"),
            ("0002ffff4000000200000001", "0.00", "0000000000000002"),
            ("00020000000000000001162e", "1", "00010000000000000001"),
            ("00020000000000020001162e", "1.56", "0002000000000002000115e0"),
            ("0002000040000003000104d2", "-1.123", "0002000040000003000104ce"),
            ("00018000000000000001", "0", "0000000000000000"),
            ("00020005000000000000270f", "99990000000000000000", "0001000400000000270f"),
        ];
        for (raw, text, canonical) in cases {
            let raw = hex(&raw.replace(' ', ""));
            let n = Numeric::decode_binary(&raw).expect(text);
            assert_eq!(n.to_string(), text, "{raw:?}");
            assert_eq!(encoded(&n, Format::Binary), hex(canonical), "{text}");
        }
    }

    #[test]
    fn accessors() {
        let n = Numeric::parse("-12345.6789").unwrap();
        assert_eq!(n.sign(), NumericSign::Negative);
        assert_eq!(n.weight(), 1);
        assert_eq!(n.scale(), 4);
        assert_eq!(n.digits().collect::<Vec<_>>(), [1, 2345, 6789]);
        assert_eq!(n.digits().rev().collect::<Vec<_>>(), [6789, 2345, 1]);
        assert_eq!(n.digits().len(), 3);
        assert!(n.is_finite() && !n.is_nan() && !n.is_infinite() && !n.is_zero());
        assert!(Numeric::parse("0.000").unwrap().is_zero());
        assert_eq!(Numeric::parse("1e8").unwrap().digits().collect::<Vec<_>>(), [1]);
        assert_eq!(std::format!("{:?}", Numeric::NAN), "Numeric(NaN)");
        assert_eq!(<Numeric<'_> as ToValue>::TYPE_OID, 1700);
        assert_eq!(<Numeric<'_> as ToValue>::ARRAY_OID, 1231);
    }

    #[test]
    fn integers() {
        for v in [
            0i128,
            1,
            -1,
            9999,
            10_000,
            -100_000_000,
            12_345_678,
            i64::MIN.into(),
            i64::MAX.into(),
            i128::MIN,
            i128::MAX,
        ] {
            let n = Numeric::from(v);
            let text = v.to_string();
            assert_eq!(n.to_string(), text);
            assert_eq!(n, Numeric::parse(&text).unwrap(), "{v}");
            assert_eq!(n.to_i128(), Some(v));
        }
        assert_eq!(Numeric::from(-5i64).to_i64(), Some(-5));
        assert_eq!(Numeric::parse("1.00").unwrap().to_i64(), Some(1));
        assert_eq!(Numeric::parse("1.5").unwrap().to_i64(), None);
        assert_eq!(Numeric::parse("1e30").unwrap().to_i64(), None);
        assert_eq!(Numeric::parse("1e30").unwrap().to_i128(), Some(10i128.pow(30)));
        assert_eq!(Numeric::parse("1e40").unwrap().to_i128(), None);
        assert_eq!(Numeric::NAN.to_i64(), None);
    }
}
