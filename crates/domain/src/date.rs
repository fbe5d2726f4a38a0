//! Partial dates: year only, month and year, or a full date. Elderly citizens' dates of
//! birth are often known only by year.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::error::Violation;

/// Today's date in Vietnam (UTC+7), from a UTC instant the caller reads from its clock.
/// Every "not in the future" check uses this, so a birth registered in the morning in
/// Hà Nội is not refused because UTC is still on the day before.
pub fn vietnam_today(now: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    (now + chrono::Duration::hours(7)).date_naive()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartialDate {
    Year(i32),
    YearMonth(i32, u32),
    Full(NaiveDate),
}

impl PartialDate {
    pub fn year(&self) -> i32 {
        match *self {
            PartialDate::Year(y) | PartialDate::YearMonth(y, _) => y,
            PartialDate::Full(d) => d.year(),
        }
    }

    pub fn month(&self) -> Option<u32> {
        match *self {
            PartialDate::Year(_) => None,
            PartialDate::YearMonth(_, m) => Some(m),
            PartialDate::Full(d) => Some(d.month()),
        }
    }

    /// The earliest real day this date can stand for.
    pub fn earliest(&self) -> NaiveDate {
        match *self {
            PartialDate::Year(y) => NaiveDate::from_ymd_opt(y, 1, 1).unwrap(),
            PartialDate::YearMonth(y, m) => NaiveDate::from_ymd_opt(y, m, 1).unwrap(),
            PartialDate::Full(d) => d,
        }
    }

    /// Rejects a date after `today` (a birth or death cannot be in the future).
    pub fn not_after(self, today: NaiveDate, field: &str) -> Result<Self, Violation> {
        if self.earliest() > today {
            return Err(Violation::new(
                field,
                "date.future",
                "Ngày không được ở tương lai",
                "the date must not be in the future",
            ));
        }
        Ok(self)
    }

    /// Age in whole years on `on`, counting an unknown month or day as the earliest one.
    pub fn age_on(&self, on: NaiveDate) -> i32 {
        let b = self.earliest();
        let mut age = on.year() - b.year();
        if (on.month(), on.day()) < (b.month(), b.day()) {
            age -= 1;
        }
        age
    }

    fn parse_parts(y: &str, m: Option<&str>, d: Option<&str>) -> Result<Self, Violation> {
        let num = |s: &str| -> Result<u32, Violation> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 4 {
                return Err(format_error());
            }
            s.parse().map_err(|_| format_error())
        };
        if y.len() != 4 {
            return Err(format_error());
        }
        let year = num(y)? as i32;
        if !(1800..=2200).contains(&year) {
            return Err(Violation::new(
                "date",
                "date.year_range",
                "Năm phải từ 1800 đến 2200",
                "the year must be between 1800 and 2200",
            ));
        }
        let Some(m) = m else { return Ok(PartialDate::Year(year)) };
        let month = num(m)?;
        if !(1..=12).contains(&month) {
            return Err(Violation::new(
                "date",
                "date.invalid_month",
                "Tháng phải từ 1 đến 12",
                "the month must be 1 to 12",
            ));
        }
        let Some(d) = d else { return Ok(PartialDate::YearMonth(year, month)) };
        let day = num(d)?;
        NaiveDate::from_ymd_opt(year, month, day).map(PartialDate::Full).ok_or_else(|| {
            Violation::new(
                "date",
                "date.invalid_day",
                format!("Ngày {day} không có trong tháng {month}/{year}"),
                format!("day {day} does not exist in {year}-{month:02}"),
            )
        })
    }
}

fn format_error() -> Violation {
    Violation::new(
        "date",
        "date.format",
        "Ngày phải có dạng YYYY, YYYY-MM, YYYY-MM-DD, MM/YYYY hoặc DD/MM/YYYY",
        "a date must be YYYY, YYYY-MM, YYYY-MM-DD, MM/YYYY or DD/MM/YYYY",
    )
}

impl FromStr for PartialDate {
    type Err = Violation;

    /// Accepts ISO forms (`1950`, `1950-03`, `1950-03-07`) and the Vietnamese forms
    /// (`03/1950`, `07/03/1950`, day first).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.contains('/') {
            let p: Vec<&str> = s.split('/').collect();
            return match p.as_slice() {
                [m, y] => Self::parse_parts(y, Some(m), None),
                [d, m, y] => Self::parse_parts(y, Some(m), Some(d)),
                _ => Err(format_error()),
            };
        }
        let p: Vec<&str> = s.split('-').collect();
        match p.as_slice() {
            [y] => Self::parse_parts(y, None, None),
            [y, m] => Self::parse_parts(y, Some(m), None),
            [y, m, d] => Self::parse_parts(y, Some(m), Some(d)),
            _ => Err(format_error()),
        }
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartialDate::Year(y) => write!(f, "{y:04}"),
            PartialDate::YearMonth(y, m) => write!(f, "{y:04}-{m:02}"),
            PartialDate::Full(d) => write!(f, "{}", d.format("%Y-%m-%d")),
        }
    }
}

impl PartialDate {
    /// Vietnamese display: `07/03/1950`, `03/1950` or `1950`.
    pub fn display_vi(&self) -> String {
        match self {
            PartialDate::Year(y) => format!("{y}"),
            PartialDate::YearMonth(y, m) => format!("{m:02}/{y}"),
            PartialDate::Full(d) => d.format("%d/%m/%Y").to_string(),
        }
    }
}

impl PartialOrd for PartialDate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.earliest().cmp(&other.earliest()))
    }
}

impl Serialize for PartialDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PartialDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|v: Violation| serde::de::Error::custom(v.message_en))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_all_forms() {
        assert_eq!("1950".parse::<PartialDate>().unwrap(), PartialDate::Year(1950));
        assert_eq!("1950-03".parse::<PartialDate>().unwrap(), PartialDate::YearMonth(1950, 3));
        assert_eq!("03/1950".parse::<PartialDate>().unwrap(), PartialDate::YearMonth(1950, 3));
        let d = "07/03/1950".parse::<PartialDate>().unwrap();
        assert_eq!(d.to_string(), "1950-03-07");
        assert_eq!(d.display_vi(), "07/03/1950");
    }

    #[test]
    fn names_the_rule_that_failed() {
        assert_eq!("2023-02-29".parse::<PartialDate>().unwrap_err().rule, "date.invalid_day");
        assert_eq!("2023-13".parse::<PartialDate>().unwrap_err().rule, "date.invalid_month");
        assert_eq!("23-01-01".parse::<PartialDate>().unwrap_err().rule, "date.format");
        assert_eq!("abcd".parse::<PartialDate>().unwrap_err().rule, "date.format");
        assert_eq!("1700".parse::<PartialDate>().unwrap_err().rule, "date.year_range");
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(
            "2027".parse::<PartialDate>().unwrap().not_after(today, "dob").unwrap_err().rule,
            "date.future"
        );
    }

    #[test]
    fn age_counts_birthdays() {
        let d: PartialDate = "2000-06-15".parse().unwrap();
        assert_eq!(d.age_on(NaiveDate::from_ymd_opt(2025, 6, 14).unwrap()), 24);
        assert_eq!(d.age_on(NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()), 25);
    }

    proptest! {
        #[test]
        fn display_round_trips(y in 1800i32..2200, m in 1u32..=12, d in 1u32..=28, kind in 0..3) {
            let date = match kind {
                0 => PartialDate::Year(y),
                1 => PartialDate::YearMonth(y, m),
                _ => PartialDate::Full(NaiveDate::from_ymd_opt(y, m, d).unwrap()),
            };
            prop_assert_eq!(date.to_string().parse::<PartialDate>().unwrap(), date);
            prop_assert_eq!(date.display_vi().parse::<PartialDate>().unwrap(), date);
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = s.parse::<PartialDate>();
        }
    }
}
