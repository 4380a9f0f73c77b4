//! `date`, `time`, `timetz`, `timestamp`, `timestamptz` in PostgreSQL's own
//! representation (days / microseconds from 2000-01-01), ISO text.

use core::fmt;

use super::civil::{MICROS_PER_DAY, civil_from_days, days_from_civil};
use super::{DateFields, FromValue, TimeFields, ToValue, fixed, put_display, trimmed};
use crate::error::{DecodeError, EncodeError};
use crate::format::Oid;
use crate::oid;
use crate::write::Sink;

/// Earliest `date`: 4714-11-24 BC (Julian day 0). `select date_send('4714-11-24 BC')`.
const DATE_MIN: i32 = -2_451_545;
/// Latest `date`: 5874897-12-31. `select date_send('5874897-12-31')`.
const DATE_MAX: i32 = 2_145_031_948;
/// Earliest `timestamp`: 4714-11-24 00:00 BC.
const TIMESTAMP_MIN: i64 = -211_813_488_000_000_000;
/// Latest `timestamp`: 294276-12-31 23:59:59.999999.
const TIMESTAMP_MAX: i64 = 9_223_371_331_199_999_999;
/// `timetz` offsets are limited to ±15:59:59.
const MAX_OFFSET_SECS: i32 = 15 * 3600 + 59 * 60 + 59;

/// A `date`: days since 2000-01-01; `i32::MAX`/`i32::MIN` are ±infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Date(pub i32);

/// A `time`: microseconds since midnight, 0 to 24:00:00 inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Time(pub i64);

/// A `timetz`: local time and its UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TimeTz {
    /// Local time.
    pub time: Time,
    /// Offset east of UTC in seconds (+05:30 is 19800). The wire stores the
    /// negation (seconds west); this field does not.
    pub offset_secs: i32,
}

/// A `timestamp` (without time zone): microseconds since 2000-01-01 00:00;
/// `i64::MAX`/`i64::MIN` are ±infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Timestamp(pub i64);

/// A `timestamptz`: microseconds since 2000-01-01 00:00 UTC; `i64::MAX`/`i64::MIN`
/// are ±infinity. Text output is in UTC (`+00`); text input honours offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TimestampTz(pub i64);

impl Date {
    /// `infinity`.
    pub const INFINITY: Date = Date(i32::MAX);
    /// `-infinity`.
    pub const NEG_INFINITY: Date = Date(i32::MIN);

    /// The date for calendar fields, if valid and within PostgreSQL's range.
    pub fn from_fields(f: DateFields) -> Option<Date> {
        if !f.is_valid() {
            return None;
        }
        let days = days_from_civil(i64::from(f.year), f.month, f.day);
        let days = i32::try_from(days).ok()?;
        (DATE_MIN..=DATE_MAX).contains(&days).then_some(Date(days))
    }

    /// Calendar fields; `None` for ±infinity.
    pub fn to_fields(self) -> Option<DateFields> {
        if self == Date::INFINITY || self == Date::NEG_INFINITY {
            return None;
        }
        let (year, month, day) = civil_from_days(i64::from(self.0));
        Some(DateFields { year: i32::try_from(year).ok()?, month, day })
    }

    fn is_valid(self) -> bool {
        self == Date::INFINITY || self == Date::NEG_INFINITY || (DATE_MIN..=DATE_MAX).contains(&self.0)
    }
}

impl Time {
    /// The time for clock fields, if valid.
    pub fn from_fields(f: TimeFields) -> Option<Time> {
        f.to_micros().map(Time)
    }

    /// Clock fields (`24:00:00` comes back as `00:00:00`).
    pub fn to_fields(self) -> TimeFields {
        TimeFields::from_micros(self.0)
    }

    fn is_valid(self) -> bool {
        (0..=MICROS_PER_DAY).contains(&self.0)
    }
}

macro_rules! timestamp_fields {
    ($t:ident) => {
        impl $t {
            /// `infinity`.
            pub const INFINITY: $t = $t(i64::MAX);
            /// `-infinity`.
            pub const NEG_INFINITY: $t = $t(i64::MIN);

            /// The timestamp for calendar and clock fields, if valid and in range.
            pub fn from_fields(date: DateFields, time: TimeFields) -> Option<$t> {
                let days = i64::from(Date::from_fields(date)?.0);
                let micros = days.checked_mul(MICROS_PER_DAY)?.checked_add(time.to_micros()?)?;
                (TIMESTAMP_MIN..=TIMESTAMP_MAX).contains(&micros).then_some($t(micros))
            }

            /// Calendar and clock fields; `None` for ±infinity.
            pub fn to_fields(self) -> Option<(DateFields, TimeFields)> {
                if self == $t::INFINITY || self == $t::NEG_INFINITY {
                    return None;
                }
                let days = self.0.div_euclid(MICROS_PER_DAY);
                let (year, month, day) = civil_from_days(days);
                let date = DateFields { year: i32::try_from(year).ok()?, month, day };
                Some((date, TimeFields::from_micros(self.0)))
            }

            fn is_valid(self) -> bool {
                self == $t::INFINITY || self == $t::NEG_INFINITY || (TIMESTAMP_MIN..=TIMESTAMP_MAX).contains(&self.0)
            }
        }
    };
}

timestamp_fields!(Timestamp);
timestamp_fields!(TimestampTz);

// ---- text output ----

struct DateText(DateFields);
impl fmt::Display for DateText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, _) = self.0.year_with_era();
        write!(f, "{year:04}-{:02}-{:02}", self.0.month, self.0.day)
    }
}

struct TimeText(TimeFields, bool);
impl fmt::Display for TimeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        let hour = if self.1 { 24 } else { t.hour };
        write!(f, "{hour:02}:{:02}:{:02}", t.minute, t.second)?;
        if t.micro != 0 {
            let mut micro = t.micro;
            let mut width = 6;
            while micro.is_multiple_of(10) {
                micro /= 10;
                width -= 1;
            }
            write!(f, ".{micro:0width$}")?;
        }
        Ok(())
    }
}

struct OffsetText(i32);
impl fmt::Display for OffsetText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let s = self.0.unsigned_abs();
        write!(f, "{sign}{:02}", s / 3600)?;
        if !s.is_multiple_of(3600) {
            write!(f, ":{:02}", s / 60 % 60)?;
        }
        if !s.is_multiple_of(60) {
            write!(f, ":{:02}", s % 60)?;
        }
        Ok(())
    }
}

fn put_infinity<S: Sink>(out: &mut S, positive: bool) {
    out.put_slice(if positive { b"infinity" } else { b"-infinity" });
}

fn put_timestamp<S: Sink>(out: &mut S, micros: i64, tz: bool) -> Result<(), EncodeError> {
    match Timestamp(micros).to_fields() {
        None => put_infinity(out, micros == i64::MAX),
        Some((d, t)) => {
            put_display(out, &DateText(d))?;
            out.put_u8(b' ');
            put_display(out, &TimeText(t, false))?;
            if tz {
                out.put_slice(b"+00");
            }
            if d.year_with_era().1 {
                out.put_slice(b" BC");
            }
        }
    }
    Ok(())
}

// ---- text input ----

/// A forward-only cursor over ASCII text input.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn eat(&mut self, b: u8) -> bool {
        match self.0.split_first() {
            Some((&c, rest)) if c == b => {
                self.0 = rest;
                true
            }
            _ => false,
        }
    }
    fn expect(&mut self, b: u8) -> Result<(), DecodeError> {
        if self.eat(b) { Ok(()) } else { Err(DecodeError::InvalidValue) }
    }
    /// 1 to `max` decimal digits.
    fn number(&mut self, max: usize) -> Result<i64, DecodeError> {
        let n = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > max {
            return Err(DecodeError::InvalidValue);
        }
        let (digits, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(digits.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    }
    /// Exactly two digits.
    fn two(&mut self) -> Result<i64, DecodeError> {
        match self.0 {
            [a @ b'0'..=b'9', b @ b'0'..=b'9', rest @ ..] => {
                self.0 = rest;
                Ok(i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            }
            _ => Err(DecodeError::InvalidValue),
        }
    }
    /// An optional `.fraction`, rounded to microseconds (half up, like PostgreSQL).
    fn fraction(&mut self) -> Result<i64, DecodeError> {
        if !self.eat(b'.') {
            return Ok(0);
        }
        let n = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        let (digits, rest) = self.0.split_at(n);
        self.0 = rest;
        let mut micros = 0i64;
        for i in 0..6 {
            micros = micros * 10 + digits.get(i).map_or(0, |d| i64::from(d - b'0'));
        }
        if digits.get(6).is_some_and(|&d| d >= b'5') {
            micros += 1;
        }
        Ok(micros)
    }
    fn strip_suffix(&mut self, suffix: &[u8]) -> bool {
        let n = self.0.len().saturating_sub(suffix.len());
        match self.0.split_at_checked(n) {
            Some((head, tail)) if tail.eq_ignore_ascii_case(suffix) => {
                self.0 = head;
                true
            }
            _ => false,
        }
    }
}

/// `YYYY-MM-DD`, the year astronomical given the BC flag.
fn parse_date(c: &mut Cursor<'_>, bc: bool) -> Result<i64, DecodeError> {
    let year = c.number(9)?;
    c.expect(b'-')?;
    let month = c.two()?;
    c.expect(b'-')?;
    let day = c.two()?;
    let year = if bc { 1 - year } else { year };
    let f = DateFields {
        year: i32::try_from(year).map_err(|_| DecodeError::InvalidValue)?,
        month: u8::try_from(month).map_err(|_| DecodeError::InvalidValue)?,
        day: u8::try_from(day).map_err(|_| DecodeError::InvalidValue)?,
    };
    if year == 0 || !f.is_valid() {
        // "0000" is not a year in BC/AD numbering.
        return Err(DecodeError::InvalidValue);
    }
    let d = Date::from_fields(f).ok_or(DecodeError::InvalidValue)?;
    Ok(i64::from(d.0))
}

/// `HH:MM[:SS[.ffffff]]` in microseconds; 24:00:00 and leap second 60 allowed.
fn parse_time(c: &mut Cursor<'_>) -> Result<i64, DecodeError> {
    let hour = c.two()?;
    c.expect(b':')?;
    let minute = c.two()?;
    let (second, frac) = if c.eat(b':') { (c.two()?, c.fraction()?) } else { (0, 0) };
    if hour > 24 || minute > 59 || second > 60 {
        return Err(DecodeError::InvalidValue);
    }
    let micros = ((hour * 60 + minute) * 60 + second) * 1_000_000 + frac;
    if micros > MICROS_PER_DAY {
        return Err(DecodeError::InvalidValue);
    }
    Ok(micros)
}

/// An optional `±HH[:MM[:SS]]` or `Z`, in seconds east of UTC.
fn parse_offset(c: &mut Cursor<'_>) -> Result<Option<i32>, DecodeError> {
    if c.eat(b'Z') || c.eat(b'z') {
        return Ok(Some(0));
    }
    let negative = if c.eat(b'+') {
        false
    } else if c.eat(b'-') {
        true
    } else {
        return Ok(None);
    };
    let hours = c.two()?;
    let minutes = if c.eat(b':') { c.two()? } else { 0 };
    let seconds = if c.eat(b':') { c.two()? } else { 0 };
    if minutes > 59 || seconds > 59 {
        return Err(DecodeError::InvalidValue);
    }
    let secs = (hours * 3600 + minutes * 60 + seconds) as i32;
    if secs > MAX_OFFSET_SECS {
        return Err(DecodeError::InvalidValue);
    }
    Ok(Some(if negative { -secs } else { secs }))
}

fn infinity(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("infinity") || s.eq_ignore_ascii_case("+infinity") {
        Some(true)
    } else if s.eq_ignore_ascii_case("-infinity") {
        Some(false)
    } else {
        None
    }
}

/// `date[ T]time[offset][ BC]` → (local micros, offset east).
fn parse_timestamp(bytes: &[u8]) -> Result<(i64, Option<i32>), DecodeError> {
    let mut c = Cursor(trimmed(bytes)?.as_bytes());
    let bc = c.strip_suffix(b" BC");
    let days = parse_date(&mut c, bc)?;
    if !(c.eat(b' ') || c.eat(b'T')) {
        return Err(DecodeError::InvalidValue);
    }
    let time = parse_time(&mut c)?;
    let offset = parse_offset(&mut c)?;
    if !c.0.is_empty() {
        return Err(DecodeError::InvalidValue);
    }
    let micros = days.checked_mul(MICROS_PER_DAY).and_then(|m| m.checked_add(time)).ok_or(DecodeError::InvalidValue)?;
    Ok((micros, offset))
}

fn checked_timestamp(micros: i64) -> Result<i64, DecodeError> {
    if (TIMESTAMP_MIN..=TIMESTAMP_MAX).contains(&micros) { Ok(micros) } else { Err(DecodeError::InvalidValue) }
}

// ---- impls ----

impl ToValue for Date {
    const TYPE_OID: Oid = oid::DATE;
    const ARRAY_OID: Oid = oid::DATE_ARRAY;
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        if !self.is_valid() {
            return Err(EncodeError::InvalidValue);
        }
        match self.to_fields() {
            None => put_infinity(out, *self == Date::INFINITY),
            Some(d) => {
                put_display(out, &DateText(d))?;
                if d.year_with_era().1 {
                    out.put_slice(b" BC");
                }
            }
        }
        Ok(())
    }
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        if !self.is_valid() {
            return Err(EncodeError::InvalidValue);
        }
        out.put_i32(self.0);
        Ok(())
    }
}

impl FromValue<'_> for Date {
    /// ISO `YYYY-MM-DD[ BC]`, `infinity`, `-infinity`.
    fn decode_text(bytes: &[u8]) -> Result<Self, DecodeError> {
        let s = trimmed(bytes)?;
        if let Some(positive) = infinity(s) {
            return Ok(if positive { Date::INFINITY } else { Date::NEG_INFINITY });
        }
        let mut c = Cursor(s.as_bytes());
        let bc = c.strip_suffix(b" BC");
        let days = parse_date(&mut c, bc)?;
        if !c.0.is_empty() {
            return Err(DecodeError::InvalidValue);
        }
        i32::try_from(days).map(Date).map_err(|_| DecodeError::InvalidValue)
    }
    fn decode_binary(bytes: &[u8]) -> Result<Self, DecodeError> {
        let d = Date(i32::from_be_bytes(fixed::<4>(bytes)?));
        if d.is_valid() { Ok(d) } else { Err(DecodeError::InvalidValue) }
    }
}

impl ToValue for Time {
    const TYPE_OID: Oid = oid::TIME;
    const ARRAY_OID: Oid = oid::TIME_ARRAY;
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        if !self.is_valid() {
            return Err(EncodeError::InvalidValue);
        }
        put_display(out, &TimeText(self.to_fields(), self.0 == MICROS_PER_DAY))
    }
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        if !self.is_valid() {
            return Err(EncodeError::InvalidValue);
        }
        out.put_i64(self.0);
        Ok(())
    }
}

impl FromValue<'_> for Time {
    /// `HH:MM[:SS[.ffffff]]`.
    fn decode_text(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut c = Cursor(trimmed(bytes)?.as_bytes());
        let t = parse_time(&mut c)?;
        if !c.0.is_empty() {
            return Err(DecodeError::InvalidValue);
        }
        Ok(Time(t))
    }
    fn decode_binary(bytes: &[u8]) -> Result<Self, DecodeError> {
        let t = Time(i64::from_be_bytes(fixed::<8>(bytes)?));
        if t.is_valid() { Ok(t) } else { Err(DecodeError::InvalidValue) }
    }
}

impl TimeTz {
    fn is_valid(&self) -> bool {
        self.time.is_valid() && (-MAX_OFFSET_SECS..=MAX_OFFSET_SECS).contains(&self.offset_secs)
    }
}

impl ToValue for TimeTz {
    const TYPE_OID: Oid = oid::TIMETZ;
    const ARRAY_OID: Oid = oid::TIMETZ_ARRAY;
    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        if !self.is_valid() {
            return Err(EncodeError::InvalidValue);
        }
        put_display(out, &TimeText(self.time.to_fields(), self.time.0 == MICROS_PER_DAY))?;
        put_display(out, &OffsetText(self.offset_secs))
    }
    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        if !self.is_valid() {
            return Err(EncodeError::InvalidValue);
        }
        out.put_i64(self.time.0);
        out.put_i32(-self.offset_secs);
        Ok(())
    }
}

impl FromValue<'_> for TimeTz {
    /// `HH:MM[:SS[.ffffff]]±HH[:MM[:SS]]`.
    fn decode_text(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut c = Cursor(trimmed(bytes)?.as_bytes());
        let time = Time(parse_time(&mut c)?);
        let offset_secs = parse_offset(&mut c)?.ok_or(DecodeError::InvalidValue)?;
        if !c.0.is_empty() {
            return Err(DecodeError::InvalidValue);
        }
        Ok(TimeTz { time, offset_secs })
    }
    fn decode_binary(bytes: &[u8]) -> Result<Self, DecodeError> {
        let b = fixed::<12>(bytes)?;
        let (t, z) = b.split_at(8);
        let time = Time(i64::from_be_bytes(fixed::<8>(t)?));
        let west = i32::from_be_bytes(fixed::<4>(z)?);
        let v = TimeTz { time, offset_secs: west.checked_neg().ok_or(DecodeError::InvalidValue)? };
        if v.is_valid() { Ok(v) } else { Err(DecodeError::InvalidValue) }
    }
}

macro_rules! timestamp_value {
    ($t:ident, $oid:expr, $array:expr, $tz:literal) => {
        impl ToValue for $t {
            const TYPE_OID: Oid = $oid;
            const ARRAY_OID: Oid = $array;
            fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
                if !self.is_valid() {
                    return Err(EncodeError::InvalidValue);
                }
                put_timestamp(out, self.0, $tz)
            }
            fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
                if !self.is_valid() {
                    return Err(EncodeError::InvalidValue);
                }
                out.put_i64(self.0);
                Ok(())
            }
        }

        impl FromValue<'_> for $t {
            /// ISO `YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM]][ BC]` (`T` also
            /// separates), `infinity`, `-infinity`. An offset converts a
            /// `timestamptz` to UTC; a `timestamp` ignores it, as PostgreSQL does.
            fn decode_text(bytes: &[u8]) -> Result<Self, DecodeError> {
                if let Some(positive) = infinity(trimmed(bytes)?) {
                    return Ok(if positive { $t::INFINITY } else { $t::NEG_INFINITY });
                }
                let (local, offset) = parse_timestamp(bytes)?;
                let micros = if $tz {
                    let off = i64::from(offset.unwrap_or(0)) * 1_000_000;
                    local.checked_sub(off).ok_or(DecodeError::InvalidValue)?
                } else {
                    local
                };
                checked_timestamp(micros).map($t)
            }
            fn decode_binary(bytes: &[u8]) -> Result<Self, DecodeError> {
                let v = $t(i64::from_be_bytes(fixed::<8>(bytes)?));
                if v.is_valid() { Ok(v) } else { Err(DecodeError::InvalidValue) }
            }
        }
    };
}

timestamp_value!(Timestamp, oid::TIMESTAMP, oid::TIMESTAMP_ARRAY, false);
timestamp_value!(TimestampTz, oid::TIMESTAMPTZ, oid::TIMESTAMPTZ_ARRAY, true);

#[cfg(test)]
mod tests {
    use super::super::test_util::golden;
    use super::*;

    #[test]
    fn golden_bytes() {
        // select date_send('2024-01-31'), date_send('infinity'), date_send('-infinity')
        golden(Date(8796), b"2024-01-31", b"\x00\x00\x22\x5c");
        golden(Date::INFINITY, b"infinity", b"\x7f\xff\xff\xff");
        golden(Date::NEG_INFINITY, b"-infinity", b"\x80\x00\x00\x00");
        // select date_send('4714-11-24 BC'), date_send('5874897-12-31')
        golden(Date(DATE_MIN), b"4714-11-24 BC", b"\xff\xda\x97\xa7");
        golden(Date(DATE_MAX), b"5874897-12-31", b"\x7f\xda\x97\x0c");
        // select time_send('13:45:10.123456')
        golden(Time(49_510_123_456), b"13:45:10.123456", b"\x00\x00\x00\x0b\x87\x08\x87\xc0");
        golden(Time(MICROS_PER_DAY), b"24:00:00", &MICROS_PER_DAY.to_be_bytes());
        // select timetz_send('13:45:10+05:30')
        golden(
            TimeTz { time: Time(49_510_000_000), offset_secs: 19800 },
            b"13:45:10+05:30",
            b"\x00\x00\x00\x0b\x87\x06\xa5\x80\xff\xff\xb2\xa8",
        );
        // select timestamp_send('2024-01-31 13:45:10.5'), timestamptz_send('2024-01-31 13:45:10.5+00')
        golden(Timestamp(760_023_910_500_000), b"2024-01-31 13:45:10.5", b"\x00\x02\xb3\x3c\xdb\x34\xc6\xa0");
        golden(TimestampTz(760_023_910_500_000), b"2024-01-31 13:45:10.5+00", b"\x00\x02\xb3\x3c\xdb\x34\xc6\xa0");
        // select timestamptz_send('4714-11-24 00:00:00 BC'), timestamptz_send('294276-12-31 23:59:59.999999')
        golden(TimestampTz(TIMESTAMP_MIN), b"4714-11-24 00:00:00+00 BC", b"\xfd\x0f\x7c\xc1\x41\x1f\xa0\x00");
        golden(Timestamp(TIMESTAMP_MAX), b"294276-12-31 23:59:59.999999", b"\x7f\xff\xff\x5b\xb3\xb2\x9f\xff");
        golden(Timestamp::INFINITY, b"infinity", b"\x7f\xff\xff\xff\xff\xff\xff\xff");
    }

    #[test]
    fn text_input() {
        // select '2024-01-31 13:45:10.5+05:30'::timestamptz  →  2024-01-31 08:15:10.5+00
        let t = TimestampTz::decode_text(b"2024-01-31 13:45:10.5+05:30").unwrap();
        assert_eq!(TimestampTz::decode_text(b"2024-01-31 08:15:10.5+00").unwrap(), t);
        // select '2024-01-31T13:45:10.1234567'::timestamp  →  ...10.123457
        assert_eq!(
            Timestamp::decode_text(b"2024-01-31T13:45:10.1234567"),
            Timestamp::decode_text(b"2024-01-31 13:45:10.123457")
        );
        // select '0044-03-15 12:00:00.25 BC'::timestamp
        let bc = Timestamp::decode_text(b"0044-03-15 12:00:00.25 BC").unwrap();
        let (d, t) = bc.to_fields().unwrap();
        assert_eq!((d.year, d.month, d.day, t.hour, t.micro), (-43, 3, 15, 12, 250_000));
        assert_eq!(Date::decode_text(b"0044-03-15 BC").unwrap().to_fields().unwrap().year, -43);
        // select '23:59:60'::time  →  24:00:00
        assert_eq!(Time::decode_text(b"23:59:60"), Ok(Time(MICROS_PER_DAY)));
        assert_eq!(Date::decode_text(b" -Infinity "), Ok(Date::NEG_INFINITY));
        // select '13:45:10-08:00:30'::timetz
        let tz = TimeTz::decode_text(b"13:45:10-08:00:30").unwrap();
        assert_eq!(tz.offset_secs, -(8 * 3600 + 30));
        for bad in [&b"2024-02-30"[..], b"2024-13-01", b"0000-01-01", b"2024-1-01", b"4714-11-23 BC", b"x"] {
            assert_eq!(Date::decode_text(bad), Err(DecodeError::InvalidValue), "{bad:?}");
        }
        for bad in [&b"24:00:01"[..], b"12:60:00", b"1:00", b"12:00:00+16"] {
            assert!(TimeTz::decode_text(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Date::decode_binary(b"\xff\xda\x97\xa6"), Err(DecodeError::InvalidValue));
        assert_eq!(Timestamp::decode_text(b"294277-01-01 00:00:00"), Err(DecodeError::InvalidValue));
    }

    #[test]
    fn fields() {
        let d = DateFields { year: 2024, month: 2, day: 29 };
        let t = TimeFields { hour: 23, minute: 59, second: 59, micro: 999_999 };
        let ts = Timestamp::from_fields(d, t).unwrap();
        assert_eq!(ts.to_fields(), Some((d, t)));
        assert_eq!(Date::from_fields(DateFields { year: 2023, month: 2, day: 29 }), None);
        assert_eq!(
            Date::from_fields(DateFields { year: -4, month: 2, day: 29 }).map(|d| d.to_fields()),
            Some(Some(DateFields { year: -4, month: 2, day: 29 }))
        );
    }
}
