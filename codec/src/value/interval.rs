//! `interval`: months, days and microseconds, kept apart as PostgreSQL does;
//! text in the default `postgres` IntervalStyle.

use core::fmt;

use super::{FromValue, ToValue, fixed, put_display, trimmed};
use crate::error::{DecodeError, EncodeError};
use crate::format::Oid;
use crate::oid;
use crate::write::Sink;

/// An `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Interval {
    /// Months (a year is 12).
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Microseconds.
    pub micros: i64,
}

impl fmt::Display for Interval {
    /// `1 year 2 mons 3 days 04:05:06.5`; a positive part after a negative
    /// one gets a `+`, as PostgreSQL prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut after_negative = false;
        let parts = [(self.months / 12, "year"), (self.months % 12, "mon"), (self.days, "day")];
        for (v, unit) in parts {
            if v == 0 {
                continue;
            }
            let sep = if first { "" } else { " " };
            let plus = if after_negative && v > 0 { "+" } else { "" };
            let s = if v == 1 { "" } else { "s" };
            write!(f, "{sep}{plus}{v} {unit}{s}")?;
            after_negative = v < 0;
            first = false;
        }
        if first || self.micros != 0 {
            let sep = if first { "" } else { " " };
            let sign = if self.micros < 0 {
                "-"
            } else if after_negative {
                "+"
            } else {
                ""
            };
            let m = self.micros.unsigned_abs();
            let secs = m / 1_000_000;
            write!(f, "{sep}{sign}{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)?;
            let mut frac = m % 1_000_000;
            if frac != 0 {
                let mut width = 6;
                while frac.is_multiple_of(10) {
                    frac /= 10;
                    width -= 1;
                }
                write!(f, ".{frac:0width$}")?;
            }
        }
        Ok(())
    }
}

impl ToValue for Interval {
    const TYPE_OID: Oid = oid::INTERVAL;
    const ARRAY_OID: Oid = oid::INTERVAL_ARRAY;
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        put_display(out, self)
    }
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        out.put_i64(self.micros);
        out.put_i32(self.days);
        out.put_i32(self.months);
        Ok(())
    }
}

fn bad<T>(_: T) -> DecodeError {
    DecodeError::InvalidValue
}

/// `[+-]H+:MM[:SS[.f]]` in microseconds.
fn parse_clock(tok: &str) -> Result<i64, DecodeError> {
    let (neg, body) = match tok.as_bytes().first() {
        Some(b'-') => (true, tok.get(1..).ok_or(DecodeError::InvalidValue)?),
        Some(b'+') => (false, tok.get(1..).ok_or(DecodeError::InvalidValue)?),
        _ => (false, tok),
    };
    let mut it = body.split(':');
    let h: i64 = it.next().ok_or(DecodeError::InvalidValue)?.parse().map_err(bad)?;
    let m: i64 = it.next().ok_or(DecodeError::InvalidValue)?.parse().map_err(bad)?;
    let s = it.next().unwrap_or("0");
    if it.next().is_some() || m > 59 || body.starts_with(['+', '-']) {
        return Err(DecodeError::InvalidValue);
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let whole: i64 = whole.parse().map_err(bad)?;
    if !(0..=59).contains(&whole) || m < 0 || h < 0 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::InvalidValue);
    }
    let mut micros = 0i64;
    for i in 0..6 {
        micros = micros * 10 + frac.as_bytes().get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    if frac.as_bytes().get(6).is_some_and(|&d| d >= b'5') {
        micros += 1;
    }
    // i128: the magnitude of i64::MIN microseconds does not fit an i64.
    let total = i128::from(h) * 3_600_000_000 + i128::from((m * 60 + whole) * 1_000_000 + micros);
    i64::try_from(if neg { -total } else { total }).map_err(bad)
}

impl FromValue<'_> for Interval {
    /// The `postgres` IntervalStyle output: `N year(s)`, `N mon(s)`,
    /// `N day(s)` (also `hour`, `min`, `sec`) and a `[+-]HH:MM:SS[.f]` clock.
    fn decode_text(bytes: &[u8]) -> Result<Self, DecodeError> {
        let s = trimmed(bytes)?;
        let mut v = Interval::default();
        let mut toks = s.split_ascii_whitespace();
        let mut any = false;
        while let Some(tok) = toks.next() {
            any = true;
            if tok.contains(':') {
                let c = parse_clock(tok)?;
                v.micros = v.micros.checked_add(c).ok_or(DecodeError::InvalidValue)?;
                continue;
            }
            let n: i64 = tok.parse().map_err(bad)?;
            let unit = toks.next().ok_or(DecodeError::InvalidValue)?;
            let unit = unit.strip_suffix('s').unwrap_or(unit);
            let add = |field: i64, factor: i64| {
                n.checked_mul(factor).and_then(|x| x.checked_add(field)).ok_or(DecodeError::InvalidValue)
            };
            let is = |name: &str| unit.eq_ignore_ascii_case(name);
            if is("year") {
                v.months = i32::try_from(add(v.months.into(), 12)?).map_err(bad)?;
            } else if is("mon") {
                v.months = i32::try_from(add(v.months.into(), 1)?).map_err(bad)?;
            } else if is("day") {
                v.days = i32::try_from(add(v.days.into(), 1)?).map_err(bad)?;
            } else if is("hour") {
                v.micros = add(v.micros, 3_600_000_000)?;
            } else if is("min") {
                v.micros = add(v.micros, 60_000_000)?;
            } else if is("sec") {
                v.micros = add(v.micros, 1_000_000)?;
            } else {
                return Err(DecodeError::InvalidValue);
            }
        }
        if any { Ok(v) } else { Err(DecodeError::InvalidValue) }
    }
    fn decode_binary(bytes: &[u8]) -> Result<Self, DecodeError> {
        let b = fixed::<16>(bytes)?;
        let (m, rest) = b.split_at(8);
        let (d, mo) = rest.split_at(4);
        Ok(Interval {
            micros: i64::from_be_bytes(fixed::<8>(m)?),
            days: i32::from_be_bytes(fixed::<4>(d)?),
            months: i32::from_be_bytes(fixed::<4>(mo)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::golden;
    use super::*;

    fn iv(months: i32, days: i32, micros: i64) -> Interval {
        Interval { months, days, micros }
    }

    #[test]
    fn golden_bytes() {
        // select interval_send('1 year 2 mons 3 days 04:05:06.5')
        golden(
            iv(14, 3, 14_706_500_000),
            b"1 year 2 mons 3 days 04:05:06.5",
            b"\x00\x00\x00\x03\x6c\x93\x61\xa0\x00\x00\x00\x03\x00\x00\x00\x0e",
        );
        // Each text checked with `select interval '…'` on PostgreSQL 15.
        golden(
            iv(-10, -3, 14_706_500_000),
            b"-10 mons -3 days +04:05:06.5",
            b"\x00\x00\x00\x03\x6c\x93\x61\xa0\xff\xff\xff\xfd\xff\xff\xff\xf6",
        );
        golden(iv(0, 0, 0), b"00:00:00", &[0; 16]);
        golden(iv(0, 0, -1_000_000), b"-00:00:01", b"\xff\xff\xff\xff\xff\xf0\xbd\xc0\0\0\0\0\0\0\0\0");
        golden(iv(0, 1, -1_000_000), b"1 day -00:00:01", b"\xff\xff\xff\xff\xff\xf0\xbd\xc0\0\0\0\x01\0\0\0\0");
        golden(
            iv(13, 1, 3_600_000_000),
            b"1 year 1 mon 1 day 01:00:00",
            b"\0\0\0\x00\xd6\x93\xa4\x00\0\0\0\x01\0\0\0\x0d",
        );
        golden(iv(0, 0, 360_000_000_001), b"100:00:00.000001", b"\0\0\0\x53\xd1\xac\x10\x01\0\0\0\0\0\0\0\0");
    }

    #[test]
    fn text_input() {
        assert_eq!(Interval::decode_text(b"2 hours 3 mins"), Ok(iv(0, 0, 7_380_000_000)));
        for v in [iv(i32::MIN, i32::MIN, i64::MIN), iv(i32::MAX, i32::MAX, i64::MAX)] {
            let mut text = super::super::StackBuf::<128>::new();
            core::fmt::Write::write_fmt(&mut text, format_args!("{v}")).unwrap();
            let mut bin = [0u8; 16];
            bin[..8].copy_from_slice(&v.micros.to_be_bytes());
            bin[8..12].copy_from_slice(&v.days.to_be_bytes());
            bin[12..].copy_from_slice(&v.months.to_be_bytes());
            golden(v, text.as_bytes(), &bin);
        }
        for bad in [&b""[..], b"1", b"1 fortnight", b"1:60", b"x days", b"--1:00"] {
            assert_eq!(Interval::decode_text(bad), Err(DecodeError::InvalidValue), "{bad:?}");
        }
    }
}
