//! Calendar arithmetic (proleptic Gregorian, as PostgreSQL uses) between
//! day counts from 2000-01-01 and year/month/day fields.

/// A calendar date. `year` is astronomical: 0 is 1 BC, -1 is 2 BC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DateFields {
    /// Astronomical year: 2024 is AD 2024, 0 is 1 BC, -43 is 44 BC.
    pub year: i32,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
}

/// A time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TimeFields {
    /// 0–23 (24 only as `24:00:00` in a `time`).
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–59.
    pub second: u8,
    /// Microseconds, 0–999 999.
    pub micro: u32,
}

impl DateFields {
    /// The year as PostgreSQL prints it with its era: `(44, true)` for 44 BC.
    pub const fn year_with_era(&self) -> (u32, bool) {
        if self.year <= 0 { ((1 - self.year as i64) as u32, true) } else { (self.year as u32, false) }
    }

    /// Whether the fields name a real day (month 1–12, day within the month).
    pub const fn is_valid(&self) -> bool {
        self.month >= 1 && self.month <= 12 && self.day >= 1 && self.day <= days_in_month(self.year as i64, self.month)
    }
}

impl TimeFields {
    /// Microseconds since midnight, if every field is in range.
    pub const fn to_micros(&self) -> Option<i64> {
        if self.hour > 23 || self.minute > 59 || self.second > 59 || self.micro > 999_999 {
            return None;
        }
        Some(((self.hour as i64 * 60 + self.minute as i64) * 60 + self.second as i64) * 1_000_000 + self.micro as i64)
    }

    /// Splits microseconds since midnight (taken modulo one day).
    pub const fn from_micros(micros: i64) -> TimeFields {
        let m = micros.rem_euclid(MICROS_PER_DAY);
        let secs = m / 1_000_000;
        TimeFields {
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
            micro: (m % 1_000_000) as u32,
        }
    }
}

pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Whether `year` (astronomical) is a leap year.
pub(crate) const fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub(crate) const fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to 2000-01-01.
const UNIX_TO_PG_DAYS: i64 = 10_957;

/// Days since 2000-01-01 of a valid date. Exact for any `i32` year.
pub(crate) const fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    // Count from March so the leap day ends the year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 - UNIX_TO_PG_DAYS
}

/// The date `days` after 2000-01-01; (year, month, day). Exact for `|days| < 2^50`.
pub(crate) const fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + UNIX_TO_PG_DAYS + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_days() {
        // select '2024-01-31'::date - '2000-01-01'::date  →  8796
        assert_eq!(days_from_civil(2024, 1, 31), 8796);
        assert_eq!(days_from_civil(2000, 1, 1), 0);
        // select '4713-11-24 BC'::date - '2000-01-01'::date  →  -2451179
        assert_eq!(days_from_civil(-4712, 11, 24), -2_451_179);
        // select date_send('4714-11-24 BC')  →  \xffda97a7 (the earliest date)
        assert_eq!(days_from_civil(-4713, 11, 24), -2_451_545);
        // select '0001-01-01 BC'::date - '2000-01-01'::date  →  -730485
        assert_eq!(days_from_civil(0, 1, 1), -730_485);
        assert_eq!(civil_from_days(-730_485), (0, 1, 1));
        assert_eq!(civil_from_days(8796), (2024, 1, 31));
    }

    #[test]
    fn every_day_round_trips() {
        let mut days = days_from_civil(-401, 1, 1);
        for year in -401..=2401i64 {
            for month in 1..=12u8 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(days_from_civil(year, month, day), days);
                    assert_eq!(civil_from_days(days), (year, month, day));
                    days += 1;
                }
            }
        }
    }
}
